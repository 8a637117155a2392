// FastaReader: the FASTA grammar (io/fasta_grammar.hpp) over a path opened through htslib's
// BGZF layer (plain, gzip and bgzip input; "-" for stdin). htslib does the decompression;
// this file turns read failures into messages naming the file, line and record.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "io/fasta_grammar.hpp"
#include "io/line_reader.hpp"
#include "io/text_util.hpp"

namespace dnamba {

struct FastaReader::Impl final : io_detail::FastaLines {
    std::string path;     // as given
    std::string display;  // for messages: the path, or "<stdin>"
    io_detail::LineReader lines;
    std::size_t records = 0;
    bool at_end = false;
    std::string error;  // once set, next() rethrows it

    explicit Impl(const std::string& p)
        : path(p), display(p == "-" ? "<stdin>" : p), lines(io_detail::open_bgzf_text(p, display)) {}

    bool next_line(std::string_view& line, const std::string& record_name) override {
        using Status = io_detail::LineReader::Status;
        switch (lines.read(line)) {
        case Status::line: return true;
        // No end-of-file-block check here: open_record_reader makes it when it opens a file.
        case Status::end:
        case Status::truncated: return false;
        case Status::error: break;
        }
        read_failure(record_name);
    }
    void unread_line() override { lines.push_back(); }
    [[nodiscard]] std::uint64_t line_number() const override { return lines.line_no(); }
    [[noreturn]] void fail(const std::string& what) override {
        error = display + ": " + what;
        throw Error(ErrorKind::input, error);
    }

    // Where the failed read was: "line 12 (in record 3 'chr2')", or "line 1" before a record.
    std::string context(const std::string& record_name) const {
        std::string c = "line " + std::to_string(lines.line_no() + 1);
        if (!record_name.empty()) c += " (in record " + std::to_string(records + 1) + " '" + record_name + "')";
        return c;
    }

    [[noreturn]] void read_failure(const std::string& record_name) {
        if (lines.compressed()) {
            fail("corrupt or truncated compressed data at " + context(record_name) +
                 " (gzip/bgzip stream ended early or failed to decompress)");
        }
        fail(std::string("read error at ") + context(record_name) + ": " +
             (errno ? std::strerror(errno) : "I/O error"));
    }
};

FastaReader::FastaReader(const std::string& path) {
    if (path.empty()) throw Error(ErrorKind::input, "empty input path (use '-' for standard input)");
    impl_ = std::make_unique<Impl>(path);
}

FastaReader::~FastaReader() = default;

bool FastaReader::next(SequenceRecord& rec) {
    Impl& s = *impl_;
    if (!s.error.empty()) throw Error(ErrorKind::input, s.error);
    if (s.at_end) return false;
    if (!io_detail::fasta_read_record(s, s.records, rec.name, rec.seq)) {
        s.at_end = true;  // stdin from a terminal would wait for more input
        return false;
    }
    ++s.records;
    return true;
}

std::size_t FastaReader::records_read() const noexcept { return impl_->records; }

const std::string& FastaReader::path() const noexcept { return impl_->path; }

}  // namespace dnamba
