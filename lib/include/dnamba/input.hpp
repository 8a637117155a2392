// dnamba/input.hpp — every sequence input a subcommand accepts, behind one interface.
//
// Records come from FASTA/FASTQ (plain, gzip, bgzip) or SAM/BAM/CRAM (htslib), "-" being
// standard input with the format detected; regions come from BED files or samtools-style
// strings and are fetched through the FASTA index; windows tile records or regions.
// open_input() composes them into a stream of InputItems in input order.
#pragma once

#include <cstdint>
#include <utility>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dnamba/io.hpp"

namespace dnamba {

// ---- records (FASTA/FASTQ/SAM/BAM/CRAM) ------------------------------------------------

enum class ReadOrientation { original, reference };

// "original" | "reference" (--read-orientation). Throws Error(usage) otherwise.
[[nodiscard]] ReadOrientation parse_read_orientation(const std::string& text);

struct ReadFilter {
    bool skip_secondary = true;
    bool skip_supplementary = true;
    bool skip_qcfail = false;
    bool skip_duplicate = false;
    bool skip_unmapped = false;
    int min_mapq = 0;  // applies to mapped reads only
};

struct ReaderOptions {
    std::string reference;                  // FASTA for CRAM decoding (--reference)
    ReadFilter filter;
    // BAM stores reverse-strand reads reverse-complemented: `original` restores the read as
    // sequenced, `reference` keeps the stored (reference-strand) sequence.
    ReadOrientation orientation = ReadOrientation::original;
    std::vector<std::string> regions;       // indexed BAM/CRAM only: reads overlapping these
};

// One sequence record. For alignments, chrom/start/end/strand describe the alignment
// (unmapped: chrom "*", start/end 0, strand '.'); `seq` is as sequenced or as stored
// according to ReaderOptions::orientation.
struct InputRecord {
    std::string name;
    std::string seq;
    std::string chrom;
    std::int64_t start = 0;
    std::int64_t end = 0;
    char strand = '+';
    bool is_alignment = false;
};

enum class InputFormat { fasta, fastq, sam, bam, cram };
[[nodiscard]] const char* input_format_name(InputFormat format) noexcept;

class RecordReader {
public:
    virtual ~RecordReader() = default;
    // Next record; false at end. Throws Error(input) naming file and record on bad data.
    [[nodiscard]] virtual bool next(InputRecord& record) = 0;
    [[nodiscard]] virtual InputFormat format() const = 0;
    [[nodiscard]] virtual std::size_t records_skipped() const = 0;  // by the read filter
};

// Opens `path` ("-" = stdin), detecting the format from its content. Throws Error(input) for
// missing/unreadable/unrecognised files, Error(usage) for options that do not fit the format
// (regions on FASTA/FASTQ or on an unindexed BAM, CRAM without a usable reference).
[[nodiscard]] std::unique_ptr<RecordReader> open_record_reader(const std::string& path, const ReaderOptions& options);

// ---- regions ---------------------------------------------------------------------------

// 0-based half-open [start, end) on `chrom`; strand '+', '-' or '.' (treated as '+').
struct Region {
    std::string chrom;
    std::int64_t start = 0;
    std::int64_t end = 0;
    char strand = '+';
    std::string name;        // BED name column, or "" (then the row name is chrom:start+1-end(strand), 1-based)
    std::string source;      // "file.bed:12" or "--region" for messages
    std::vector<std::string> fields;  // BED: every column of the line as written (labels, groups)
};

// samtools-style "chr2:1,000,001-1,131,072" (1-based inclusive), "chr2:1000" (to the end),
// "chr2" (whole), optionally followed by a strand, "chr2:1,001-2,000(-)" (the reverse complement;
// how rows of unnamed regions are named). Throws Error(usage) naming the text.
[[nodiscard]] Region parse_region(const std::string& text);

// BED 3–12 columns; skips blank, '#', "track" and "browser" lines. Throws Error(input) naming
// file and line for malformed lines (too few columns, non-numeric or negative coordinates,
// start > end, bad strand).
class BedReader {
public:
    explicit BedReader(const std::string& path);  // plain or gzip
    ~BedReader();
    [[nodiscard]] bool next(Region& region);
private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Random access to a FASTA through its .fai (htslib faidx; bgzip with .gzi too). Builds the
// index when missing and the directory is writable; a clear Error(input) otherwise.
class IndexedFasta {
public:
    explicit IndexedFasta(const std::string& path);
    ~IndexedFasta();
    [[nodiscard]] bool has(const std::string& chrom) const;
    [[nodiscard]] std::int64_t length(const std::string& chrom) const;  // throws Error(input) if absent
    // Bases [start, end) of chrom, as stored (case kept). Throws Error(input) on failure.
    [[nodiscard]] std::string fetch(const std::string& chrom, std::int64_t start, std::int64_t end) const;
    [[nodiscard]] std::vector<std::string> names() const;      // in file order
    [[nodiscard]] std::int64_t total_length() const;
private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---- windows ---------------------------------------------------------------------------

enum class TailMode { keep, drop };

// "keep" | "drop" (--tail). Throws Error(usage) otherwise.
[[nodiscard]] TailMode parse_tail(const std::string& text);

struct WindowSpec {
    std::int64_t window = 0;  // 0: no tiling
    std::int64_t stride = 0;  // 0: = window
    TailMode tail = TailMode::keep;
};

// Window starts over [0, length): start = 0, stride, 2*stride, ... while start < length;
// each window is [start, min(start + window, length)); with TailMode::drop windows shorter
// than `window` are dropped (a record shorter than the window then gives none). Windows
// whose start lies inside the previous window's tail are not emitted once a window has
// reached the end. Throws Error(usage) for window <= 0 or stride < 0.
[[nodiscard]] std::vector<std::pair<std::int64_t, std::int64_t>> window_bounds(std::int64_t length,
                                                                               const WindowSpec& spec);

// ---- the composed input ----------------------------------------------------------------

struct InputOptions {
    std::string path;                        // -i
    ReaderOptions reader;
    std::vector<std::string> bed_files;      // --regions
    std::vector<std::string> region_texts;   // --region
    WindowSpec windows;
    bool strict = false;                     // region past the end: error instead of clip
    // Only the items [first_row, end_row) of the input order (0-based, after read filters):
    // one shard of a `dnamba plan`. Items before first_row are counted but their bases are
    // never fetched; reading stops at end_row.
    std::uint64_t first_row = 0;
    std::uint64_t end_row = UINT64_MAX;
    // Items carry their row and base count but no bases (InputItem::seq stays empty):
    // enumerating a whole genome's windows for planning costs no sequence I/O.
    bool lengths_only = false;
};

// "A:B" (rows A to B-1), "A:" (from A to the end) or ":B". Throws Error(usage) naming the text.
[[nodiscard]] std::pair<std::uint64_t, std::uint64_t> parse_row_range(const std::string& text);

// One unit of work: the bases to embed and the row that names it.
struct InputItem {
    RowInfo row;
    std::string seq;          // minus-strand regions already reverse-complemented
    std::uint64_t bases = 0;  // length of seq (also set when InputOptions::lengths_only)
    std::uint64_t index = 0;  // position in input order (counting rows before first_row)
};

class InputSource {
public:
    virtual ~InputSource() = default;
    [[nodiscard]] virtual bool next(InputItem& item) = 0;
    // Total bases that will be produced, when known up front (indexed FASTA); for progress.
    [[nodiscard]] virtual std::optional<std::uint64_t> total_bases() const = 0;
    [[nodiscard]] virtual std::string describe() const = 0;  // "reads.bam (BAM)"
};

// Validates option combinations (Error(usage)) and opens the input.
[[nodiscard]] std::unique_ptr<InputSource> open_input(const InputOptions& options);

}  // namespace dnamba
