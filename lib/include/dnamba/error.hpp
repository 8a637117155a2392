// dnamba/error.hpp — the one exception type the library throws.
//
// Every failure inside libdnamba is a dnamba::Error carrying a category; the CLI catches
// it once, prints "dnamba <cmd>: error: <what>" and exits with exit_code(category).
// Messages name the file, record, region or tensor and say what was expected.
#pragma once

#include <stdexcept>
#include <string>

namespace dnamba {

enum class ErrorKind {
    usage,   // bad command-line option or combination        -> exit 2
    input,   // unreadable / malformed sequence or region input -> exit 3
    model,   // checkpoint or config problem                    -> exit 4
    device,  // compute device unavailable or failed            -> exit 5
    io,      // cannot write an output                          -> exit 6
};

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }

private:
    ErrorKind kind_;
};

// Process exit code for a category (documented in `dnamba --help` and README.md).
[[nodiscard]] constexpr int exit_code(ErrorKind kind) noexcept {
    switch (kind) {
    case ErrorKind::usage: return 2;
    case ErrorKind::input: return 3;
    case ErrorKind::model: return 4;
    case ErrorKind::device: return 5;
    case ErrorKind::io: return 6;
    }
    return 1;
}

[[noreturn]] inline void fail(ErrorKind kind, const std::string& message) { throw Error(kind, message); }

}  // namespace dnamba
