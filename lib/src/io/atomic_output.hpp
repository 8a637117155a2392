// io/atomic_output.hpp (private) — the one way dnamba writes a file: under a temporary name,
// renamed onto the final name only when complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

struct BGZF;  // htslib

namespace dnamba {

// What a text output (TSV table, bedGraph) may also be: "-" is standard output (nothing to
// rename or remove; commit() flushes it), and a name ending in ".gz" is written
// bgzip-compressed (htslib BGZF) under the temporary name and renamed like any other. Binary
// writers keep the default, for which "-" and ".gz" are plain file names.
enum class TextOutput { no, yes };

// True for "-" and for names ending in ".gz" (case-insensitive): what TextOutput::yes changes.
[[nodiscard]] bool is_stdout_path(const std::string& path) noexcept;
[[nodiscard]] bool is_gz_path(const std::string& path) noexcept;

// One output file written under a temporary name in the same directory
// ("<dir>/.<base>.tmp.<pid>") and renamed onto the final path by commit(). Destroying it
// without commit() removes the temporary file, so a failed run never leaves a file under the
// final name (and never replaces an existing one). Same directory => rename is atomic. A final
// path that is an existing character device, FIFO or socket (/dev/null, /dev/full) is written in
// place instead: nothing to rename, nothing to remove.
class AtomicOutputFile {
public:
    // Creates the temporary file (permissions as for a normal new file: 0666 & ~umask).
    // Throws Error(io) naming the final path if the final path is a directory or the
    // temporary file cannot be created (missing or read-only directory, ...).
    explicit AtomicOutputFile(const std::string& final_path, TextOutput text = TextOutput::no);
    // Closes and removes the temporary file unless commit() succeeded. Never throws.
    ~AtomicOutputFile();
    AtomicOutputFile(const AtomicOutputFile&) = delete;
    AtomicOutputFile& operator=(const AtomicOutputFile&) = delete;

    // The buffered stream to write to; owned by this object, valid until finish()/commit().
    // Callers may seek in it (fseeko) to patch headers. Throws std::logic_error once closed, and
    // for standard output or a compressed output (write() is the only way to those).
    [[nodiscard]] std::FILE* file();
    // fwrite of `bytes` bytes that throws Error(io) "<final>: write failed: <strerror>" at
    // once on a short write (e.g. disk full) instead of letting a long run continue.
    void write(const void* data, std::size_t bytes);
    // Flushes and closes the temporary file without renaming it, throwing Error(io) on any
    // write error (ferror, fflush or fclose failure). Lets a writer with several files check
    // all of them before renaming any. Calling it again does nothing.
    void finish();
    // finish() if not done yet, then renames the temporary file onto the final path
    // (replacing an existing file). Throws Error(io) on failure; the temporary file is then
    // removed. Throws std::logic_error if called twice.
    void commit();

    [[nodiscard]] bool committed() const noexcept { return committed_; }
    [[nodiscard]] const std::string& final_path() const noexcept { return final_path_; }
    [[nodiscard]] const std::string& temp_path() const noexcept { return temp_path_; }

private:
    void fail_io(const std::string& what);  // closes + removes the temp file, throws Error(io)

    std::string final_path_;
    std::string temp_path_;
    std::FILE* file_ = nullptr;
    BGZF* bgzf_ = nullptr;      // a ".gz" text output: writes go through BGZF, file_ stays null
    bool to_stdout_ = false;    // "-" as a text output: writes go to stdout, no temporary file
    bool direct_ = false;       // the final path is a device or pipe: written in place, temp_path_ == final_path_
    std::vector<char> buffer_;  // stdio buffer; bigger than the default for large arrays
    int registry_slot_ = -1;    // slot in the signal-cleanup registry, -1 when not registered
    std::uint64_t registry_state_ = 0;  // our registration's state word in that slot
    bool committed_ = false;
};

}  // namespace dnamba
