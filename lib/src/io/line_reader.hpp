// Lines of a text stream over htslib's BGZF layer (plain, gzip, bgzip), for the text
// readers: FastaReader and the FASTA/FASTQ readers of open_record_reader. Private to
// lib/src/io.
#pragma once

#include <htslib/bgzf.h>
#include <htslib/kstring.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace dnamba::io_detail {

// Lines with a one-line push-back, CR-LF tolerated; read failures are reported as a Status
// and turned into Error(input) by the owner (which knows the file and the record).
class LineReader {
public:
    // Takes ownership of `fp` (bgzf_close on destruction).
    explicit LineReader(BGZF* fp) : fp_(fp) {}
    ~LineReader() {
        if (fp_) bgzf_close(fp_);
        std::free(buf_.s);
    }
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    enum class Status { line, end, error, truncated };

    // Reads the next line into `line` (no '\n', one trailing '\r' removed; valid until the
    // next call). `truncated`: a bgzip stream that ended without its end-of-file block.
    Status read(std::string_view& line) {
        if (pushed_back_) {
            pushed_back_ = false;
            line = std::string_view(buf_.s ? buf_.s : "", buf_.l);
            return Status::line;
        }
        const int r = bgzf_getline(fp_, '\n', &buf_);
        // A bgzip stream cut at a block boundary ends "cleanly"; htslib notes the missing
        // end-of-file block (the check that works on pipes, where seeking to it cannot).
        if (r == -1) return fp_->no_eof_block && bgzf_compression(fp_) == 2 ? Status::truncated : Status::end;
        if (r < -1) return Status::error;
        ++line_no_;
        if (buf_.l > 0 && buf_.s[buf_.l - 1] == '\r') buf_.s[--buf_.l] = '\0';
        line = std::string_view(buf_.s ? buf_.s : "", buf_.l);
        return Status::line;
    }
    // The next read() returns the line last returned again.
    void push_back() { pushed_back_ = true; }
    // Number of the line last returned (1-based).
    [[nodiscard]] std::uint64_t line_no() const { return line_no_; }
    [[nodiscard]] bool compressed() const { return bgzf_compression(fp_) != 0; }

private:
    BGZF* fp_;
    kstring_t buf_{0, 0, nullptr};
    std::uint64_t line_no_ = 0;
    bool pushed_back_ = false;
};

}  // namespace dnamba::io_detail
