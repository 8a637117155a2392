// FASTA reading over htslib's BGZF layer (plain, gzip and bgzip input; "-" for stdin).
//
// htslib does the decompression; the parsing is our own, line by line with bgzf_getline,
// rather than kseq.h: kseq silently skips anything before the first '>' or '@', accepts
// FASTQ records, treats a '+' line as the start of qualities and cannot report which line
// was wrong. A genomics tool given the wrong file should say so, naming file, line and
// record, instead of embedding garbage.
#include <htslib/bgzf.h>
#include <htslib/hts_log.h>
#include <htslib/kstring.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "io/text_util.hpp"

namespace dnamba {
namespace {

bool is_blank(const char* s, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const char c = s[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\v' && c != '\f') return false;
    }
    return true;
}

// Printable rendering of the start of a line for error messages.
std::string snippet(const char* s, std::size_t n) { return io_detail::printable(std::string_view(s, n), 24); }

bool starts_with(const char* s, std::size_t n, const char* prefix) {
    const std::size_t m = std::strlen(prefix);
    return n >= m && std::memcmp(s, prefix, m) == 0;
}

// Why the first non-blank line of a file is not a FASTA header, with a hint when the
// content is recognisably something else.
std::string not_fasta_hint(const char* s, std::size_t n) {
    if (n > 0 && s[0] == '@') return "this looks like FASTQ; dnamba reads FASTA only (convert with e.g. `seqtk seq -A`)";
    if (starts_with(s, n, "\x1f\x8b")) return "this looks like a truncated or corrupt gzip file";
    if (starts_with(s, n, "BZh")) return "this looks like bzip2 data; only gzip and bgzip compression are supported";
    if (starts_with(s, n, "\xfd" "7zXZ")) return "this looks like xz data; only gzip and bgzip compression are supported";
    if (starts_with(s, n, "BAM\x01") || starts_with(s, n, "CRAM")) return "this looks like BAM/CRAM, not FASTA";
    for (std::size_t i = 0; i < n && i < 256; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) return "this looks like binary data, not FASTA";
    }
    return "a FASTA file must start with a '>' header line";
}

}  // namespace

struct FastaReader::Impl {
    std::string path;     // as given
    std::string display;  // for messages: the path, or "<stdin>"
    BGZF* fp = nullptr;
    kstring_t line{0, 0, nullptr};
    std::uint64_t line_no = 0;
    std::size_t records = 0;
    bool started = false;
    bool at_end = false;
    std::string pending_header;  // the next record's header line, already read
    std::uint64_t pending_line = 0;
    std::string error;  // once set, next() rethrows it

    ~Impl() {
        if (fp) bgzf_close(fp);
        std::free(line.s);
    }

    [[noreturn]] void fail(const std::string& what) {
        error = display + ": " + what;
        throw Error(ErrorKind::input, error);
    }

    // Where we are, for read errors: "after record 3 'chr2'" style context.
    std::string context(const std::string& current_name) const {
        std::string c = "line " + std::to_string(line_no + 1);
        if (!current_name.empty()) c += " (in record " + std::to_string(records + 1) + " '" + current_name + "')";
        return c;
    }

    // Reads one line into `line` (no '\n', trailing '\r' removed). False at end of input.
    bool read_line(const std::string& current_name) {
        const int r = bgzf_getline(fp, '\n', &line);
        if (r == -1) return false;
        if (r < -1) {
            if (bgzf_compression(fp) != 0) {
                fail("corrupt or truncated compressed data at " + context(current_name) +
                     " (gzip/bgzip stream ended early or failed to decompress)");
            }
            fail(std::string("read error at ") + context(current_name) + ": " +
                 (errno ? std::strerror(errno) : "I/O error"));
        }
        ++line_no;
        if (line.l > 0 && line.s[line.l - 1] == '\r') line.s[--line.l] = '\0';
        return true;
    }

    // Appends the residues of the current line to `seq`, dropping whitespace. Rejects
    // control and non-ASCII bytes: they mean binary data, never a sequence.
    void append_sequence(std::string& seq, const std::string& name) {
        const auto* p = reinterpret_cast<const unsigned char*>(line.s);
        const std::size_t n = line.l;
        std::size_t i = 0;
        while (i < n && p[i] > 0x20 && p[i] < 0x7f) ++i;  // fast path: a clean line
        seq.append(line.s, i);
        for (; i < n; ++i) {
            const unsigned char c = p[i];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') continue;
            if (c < 0x20 || c >= 0x7f) {
                fail("line " + std::to_string(line_no) + " (record " + std::to_string(records + 1) + " '" + name +
                     "'): unexpected byte " + snippet(reinterpret_cast<const char*>(p + i), 1) +
                     " in sequence; expected sequence letters (is this a binary or corrupt file?)");
            }
            seq.push_back(static_cast<char>(c));
        }
    }
};

FastaReader::FastaReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
    if (path.empty()) throw Error(ErrorKind::input, "empty input path (use '-' for standard input)");
    impl_->path = path;
    impl_->display = path == "-" ? "<stdin>" : path;
    impl_->fp = io_detail::open_bgzf_text(path, impl_->display);
}

FastaReader::~FastaReader() = default;

bool FastaReader::next(SequenceRecord& rec) {
    Impl& s = *impl_;
    if (!s.error.empty()) throw Error(ErrorKind::input, s.error);
    if (s.at_end) return false;

    if (!s.started) {
        s.started = true;
        while (s.read_line({})) {
            char* text = s.line.s;
            std::size_t n = s.line.l;
            if (s.line_no == 1 && starts_with(text, n, "\xef\xbb\xbf")) {  // UTF-8 BOM from some editors
                text += 3;
                n -= 3;
            }
            if (is_blank(text, n)) continue;
            if (text[0] != '>') {
                s.fail("line " + std::to_string(s.line_no) + ": not a FASTA file: expected a header line starting with '>' but found '" +
                       snippet(text, n) + "'; " + not_fasta_hint(text, n));
            }
            s.pending_header.assign(text, n);
            s.pending_line = s.line_no;
            break;
        }
    }
    if (s.pending_header.empty()) {  // end of input (or an empty file)
        s.at_end = true;
        return false;
    }

    // Name: first word after '>' (leading blanks tolerated).
    const std::string& h = s.pending_header;
    std::size_t b = 1;
    while (b < h.size() && (h[b] == ' ' || h[b] == '\t')) ++b;
    std::size_t e = b;
    while (e < h.size() && !std::isspace(static_cast<unsigned char>(h[e]))) ++e;
    const std::uint64_t header_line = s.pending_line;
    if (e == b) {
        s.fail("line " + std::to_string(header_line) + " (record " + std::to_string(s.records + 1) +
               "): header has no name; expected '>name [description]'");
    }
    rec.name.assign(h, b, e - b);
    rec.seq.clear();
    s.pending_header.clear();

    while (s.read_line(rec.name)) {
        if (s.line.l > 0 && s.line.s[0] == '>') {
            s.pending_header.assign(s.line.s, s.line.l);
            s.pending_line = s.line_no;
            break;
        }
        s.append_sequence(rec.seq, rec.name);
    }
    if (rec.seq.empty()) {
        s.fail("line " + std::to_string(header_line) + " (record " + std::to_string(s.records + 1) + " '" + rec.name +
               "'): header with no sequence; expected sequence lines after the header");
    }
    ++s.records;
    return true;
}

std::size_t FastaReader::records_read() const noexcept { return impl_->records; }

const std::string& FastaReader::path() const noexcept { return impl_->path; }

}  // namespace dnamba
