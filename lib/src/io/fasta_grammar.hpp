// The FASTA grammar: the one set of rules behind every FASTA reader (FastaReader on a path,
// and open_record_reader's reader for stdin and pipes). Private to lib/src/io.
//
// A FASTA file is blank lines, then records. A record is a header line and the sequence
// lines after it, up to the next line starting with '>' or the end of input.
//   header    '>' NAME [DESCRIPTION]: NAME is the first word after '>' (blanks between '>'
//             and the name tolerated); the description is not kept. No name is an error.
//   sequence  every printable ASCII byte but space is a residue, kept as written (case
//             included; ';' and '*' too: no alphabet check here, the tokenizer maps unknown
//             letters to [UNK]); blanks (space, tab, CR, VT, FF) are dropped, so blank lines
//             are nothing; any other byte (NUL and control bytes, DEL, non-ASCII) means binary
//             or corrupt data and is an error. A header without residues is an error.
//   lines     end at '\n' with one '\r' before it dropped (CR-LF); a UTF-8 byte-order mark
//             on line 1 is ignored; the first non-blank line must be a header, else "not a
//             FASTA file" with a hint when it looks like FASTQ, compressed data, BAM or binary.
// Messages start "line N" and name the record where there is one: "record K 'name'" (K from 1).
//
// Our own parser rather than kseq.h: kseq silently skips anything before the first '>' or
// '@', accepts FASTQ records, treats a '+' line as the start of qualities and cannot report
// which line was wrong. A genomics tool given the wrong file should say so, naming file,
// line and record, instead of embedding garbage. Header-only, so that the fuzz targets,
// which compile fasta_reader.cpp on its own, get it too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "io/text_util.hpp"

namespace dnamba::io_detail {

// Where a FASTA parse gets its lines and sends its errors. Each reader supplies its own: the
// file name in messages, the wording of read errors, errors that stay (sticky).
class FastaLines {
public:
    virtual ~FastaLines() = default;
    // The next line into `line` (no '\n', one trailing '\r' removed; valid until the next
    // call); false at the end of input. `record_name` is the record being read ("" before
    // its header), for read-error messages. Throws Error(input) on a read error.
    virtual bool next_line(std::string_view& line, const std::string& record_name) = 0;
    // Makes next_line() return the line last returned again (the next record's header).
    virtual void unread_line() = 0;
    // 1-based number of the line last returned.
    [[nodiscard]] virtual std::uint64_t line_number() const = 0;
    // Throws Error(input) "<file>: <what>"; every later read of this input throws it again.
    [[noreturn]] virtual void fail(const std::string& what) = 0;
};

// Reads the next record of `lines` into `name` and `seq` (their contents replaced). Returns
// false at the clean end of input (an empty or all-blank input is zero records, not an
// error). `records_before` counts the records already read, for "record K" in messages.
// Every malformed input goes to lines.fail() with "line N (record K 'name'): ...".
[[nodiscard]] inline bool fasta_read_record(FastaLines& lines, std::size_t records_before, std::string& name,
                                            std::string& seq);

// The pieces shared with the other line formats (FASTQ, format detection):

// True if `line` holds only blanks (space, tab, CR, VT, FF), or nothing.
[[nodiscard]] inline bool is_blank_line(std::string_view line);
// Drops a UTF-8 byte-order mark from the start of line 1 (editors write one); other lines
// are left alone.
inline void skip_byte_order_mark(std::string_view& line, std::uint64_t line_number);
// The first word after a header's marker character ('>', '@' or '+'), blanks between the
// marker and the word tolerated; "" if there is none.
[[nodiscard]] inline std::string header_first_word(std::string_view header);

// ---- implementation ----------------------------------------------------------------------

namespace fasta_detail {

inline bool is_blank_byte(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Printable ASCII but space: what a sequence line keeps.
inline bool is_residue(unsigned char c) { return c > 0x20 && c < 0x7f; }

// Ends a name: a blank, or a newline (never inside a line, but a word ends there too).
inline bool ends_word(char c) { return is_blank_byte(static_cast<unsigned char>(c)) || c == '\n'; }

// Printable rendering of the start of a line for error messages.
inline std::string snippet(std::string_view s) { return printable(s, 24); }

inline bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Why the first non-blank line of an input is not a FASTA header, with a hint when the
// content is recognisably something else.
inline std::string not_fasta_hint(std::string_view s) {
    if (starts_with(s, "@")) return "this looks like FASTQ; dnamba reads FASTA only (convert with e.g. `seqtk seq -A`)";
    if (starts_with(s, "\x1f\x8b")) return "this looks like a truncated or corrupt gzip file";
    if (starts_with(s, "BZh")) return "this looks like bzip2 data; only gzip and bgzip compression are supported";
    if (starts_with(s, "\xfd" "7zXZ")) return "this looks like xz data; only gzip and bgzip compression are supported";
    if (starts_with(s, "BAM\x01") || starts_with(s, "CRAM")) return "this looks like BAM/CRAM, not FASTA";
    for (std::size_t i = 0; i < s.size() && i < 256; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) return "this looks like binary data, not FASTA";
    }
    return "a FASTA file must start with a '>' header line";
}

// "line N (record K 'name')", or "line N (record K)" before the name is known.
inline std::string where(std::uint64_t line, std::size_t records_before, const std::string& name) {
    return "line " + std::to_string(line) + " (record " + std::to_string(records_before + 1) +
           (name.empty() ? "" : " '" + name + "'") + ")";
}

// The next non-blank line, which must be a header; false at the end of input. After a
// record the next line is always a header (the sequence loop stops at one), so only the
// first non-blank line of the input can fail here.
inline bool read_header(FastaLines& lines, std::string_view& line) {
    do {
        if (!lines.next_line(line, {})) return false;
        skip_byte_order_mark(line, lines.line_number());
    } while (is_blank_line(line));
    if (line[0] != '>')
        lines.fail("line " + std::to_string(lines.line_number()) +
                   ": not a FASTA file: expected a header line starting with '>' but found '" + snippet(line) +
                   "'; " + not_fasta_hint(line));
    return true;
}

// Appends the residues of one sequence line to `seq`, clean runs at a time; a byte that is
// neither a residue nor a blank fails naming the line and the record.
inline void append_residues(FastaLines& lines, std::string_view line, std::size_t records_before,
                            const std::string& name, std::string& seq) {
    std::size_t i = 0;
    while (i < line.size()) {
        std::size_t run = i;
        while (run < line.size() && is_residue(static_cast<unsigned char>(line[run]))) ++run;
        seq.append(line.data() + i, run - i);
        if (run == line.size()) return;
        if (!is_blank_byte(static_cast<unsigned char>(line[run])))
            lines.fail(where(lines.line_number(), records_before, name) + ": unexpected byte " +
                       snippet(line.substr(run, 1)) +
                       " in sequence; expected sequence letters (is this a binary or corrupt file?)");
        i = run + 1;
    }
}

}  // namespace fasta_detail

inline bool is_blank_line(std::string_view line) {
    for (const char c : line)
        if (!fasta_detail::is_blank_byte(static_cast<unsigned char>(c))) return false;
    return true;
}

inline void skip_byte_order_mark(std::string_view& line, std::uint64_t line_number) {
    if (line_number == 1 && fasta_detail::starts_with(line, "\xef\xbb\xbf")) line.remove_prefix(3);
}

inline std::string header_first_word(std::string_view header) {
    std::size_t b = 1;
    while (b < header.size() && (header[b] == ' ' || header[b] == '\t')) ++b;
    std::size_t e = b;
    while (e < header.size() && !fasta_detail::ends_word(header[e])) ++e;
    return std::string(header.substr(b, e - b));
}

inline bool fasta_read_record(FastaLines& lines, std::size_t records_before, std::string& name, std::string& seq) {
    std::string_view line;
    if (!fasta_detail::read_header(lines, line)) return false;
    const std::uint64_t header_line = lines.line_number();
    std::string header_name = header_first_word(line);
    if (header_name.empty())
        lines.fail(fasta_detail::where(header_line, records_before, {}) +
                   ": header has no name; expected '>name [description]'");
    name = std::move(header_name);
    seq.clear();
    while (lines.next_line(line, name)) {
        if (!line.empty() && line[0] == '>') {
            lines.unread_line();
            break;
        }
        fasta_detail::append_residues(lines, line, records_before, name, seq);
    }
    if (seq.empty())
        lines.fail(fasta_detail::where(header_line, records_before, name) +
                   ": header with no sequence; expected sequence lines after the header");
    return true;
}

}  // namespace dnamba::io_detail
