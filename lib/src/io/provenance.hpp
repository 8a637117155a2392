// io/provenance.hpp (private) — what made an output, as stored in it: a JSON object's text
// (embed_provenance, embed.hpp) in the first line of a TSV table or .names.tsv
// ("#dnamba <json>"), the .npz member dnamba/provenance, the bedGraph header; and a TSV's
// closing line "#dnamba-end {"rows":N,"crc32":"xxxxxxxx"}", the checksum of what lies between.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace dnamba {

constexpr const char* k_provenance_line = "#dnamba ";       // + JSON, the first line
constexpr const char* k_provenance_end_line = "#dnamba-end ";  // + JSON, the last line

// "#dnamba-end {"crc32":"<hex>","rows":N}\n"
[[nodiscard]] std::string provenance_end_line(std::uint64_t rows, std::uint32_t crc);

// The line's JSON text when `line` starts with `prefix`, else "" (not such a line).
[[nodiscard]] std::string provenance_text(const std::string& line, const char* prefix);

// How two provenance texts differ, for a message: "" when they agree (the same keys and
// values), else the differing keys in alphabetical order, e.g. "model 0123456789abcdef vs
// fedcba9876543210, pool max vs mean" ("no provenance vs some" when one is ""). Error(input) naming `where` when a text is not JSON.
[[nodiscard]] std::string provenance_difference(const std::string& a, const std::string& b, const std::string& where);

// The rows and CRC-32 of a "#dnamba-end" line's JSON; Error(input) naming `where` when malformed.
struct ProvenanceEnd {
    std::uint64_t rows = 0;
    std::uint32_t crc = 0;
};
[[nodiscard]] ProvenanceEnd parse_provenance_end(const std::string& json_text, const std::string& where);

// Reads a dnamba text table (embeddings, calls, .names.tsv) line by line: an optional
// "#dnamba" first line (the provenance), the column header, the rows, and - when the first
// line was there - the closing "#dnamba-end" line, whose row count and CRC-32 next() checks
// when it reaches it. Tables from before provenance (no first line) read as they always did.
class TableReader {
public:
    // Opens `path` and reads up to the header. Error(input) "<path>: cannot open" or
    // "<path>: empty file, expected <what>". `strict`: a last line without '\n' is an error
    // even in a table without provenance (merge: a shard cut short).
    TableReader(const std::string& path, const std::string& what, bool strict = false);

    [[nodiscard]] const std::string& provenance() const noexcept { return provenance_; }  // "" if none
    [[nodiscard]] const std::string& header() const noexcept { return header_; }
    [[nodiscard]] std::uint64_t line_no() const noexcept { return line_no_; }  // of the last line read (1-based)
    [[nodiscard]] std::uint32_t rows_crc() const noexcept { return crc_; }     // of the rows read so far

    // The checksum covers bytes with CRC `crc` before the rows, `what` (e.g. "x.npy's data");
    // call before the first next().
    void checksum_prefix(std::uint32_t crc, const std::string& what) {
        prefix_crc_ = crc;
        prefix_what_ = what;
    }
    // The next row (without its '\n'; empty lines too); false at the end. Error(input) naming
    // the file and line for: a last line without '\n' (truncated; with provenance or strict), a table with provenance that
    // ends without its closing line, a closing line whose rows or CRC-32 do not match (the
    // table was changed or damaged), lines after the closing line.
    [[nodiscard]] bool next(std::string& line);

private:
    std::string path_;
    std::ifstream in_;
    std::string provenance_, header_, prefix_what_;
    std::uint64_t line_no_ = 0, rows_ = 0, bytes_ = 0;
    std::uint32_t crc_ = 0, prefix_crc_ = 0;
    bool strict_ = false;
    bool done_ = false;
};

}  // namespace dnamba
