"""The exceptions dnamba raises: one class per category of the library's ``dnamba::Error``
(lib/include/dnamba/error.hpp), each carrying the library's message, which names the file,
record, region or tensor at fault. The CLI exits with ``exit_code`` for the same error."""


class Error(Exception):
    """Base class of every error dnamba reports."""

    exit_code = 1


class UsageError(Error, ValueError):
    """A bad argument or combination of arguments (the CLI's exit code 2)."""

    exit_code = 2


class InputError(Error):
    """Unreadable or malformed sequence or region input (exit code 3)."""

    exit_code = 3


class ModelError(Error):
    """A checkpoint or head the library cannot use (exit code 4)."""

    exit_code = 4


class DeviceError(Error):
    """The compute device is unavailable or failed (exit code 5)."""

    exit_code = 5


class OutputError(Error, OSError):
    """An output could not be written (exit code 6)."""

    exit_code = 6


__all__ = ["Error", "UsageError", "InputError", "ModelError", "DeviceError", "OutputError"]
