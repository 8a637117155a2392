// Regions: samtools-style region strings, BED files, random access to an indexed FASTA, and
// window tiling (the "regions" and "windows" parts of dnamba/input.hpp).
//
// Conventions (all coordinates 0-based half-open, as in BED):
//   parse_region("chr2:1,000,001-1,131,072") -> chr2 [1000000, 1131072)
//   parse_region("chr2:1000")               -> chr2 [999, kToEnd)
//   parse_region("chr2")                     -> chr2 [0, kToEnd)
//   parse_region("chr2:1,001-2,000(-)")      -> chr2 [1000, 2000), strand '-'
// kToEnd = INT64_MAX is the "to the end of the contig" sentinel: Region::end holds it when the
// text gave no end, and the caller clips it to the contig length (it is never a real end).
// A contig name containing ':' (HLA-A*01:01) is written in braces, as samtools accepts:
// "{HLA-A*01:01}:1-10" or "{HLA-A*01:01}"; without braces the text after the last ':' is
// always read as coordinates.
//
// BED lines are split on tabs when the line has one (so a name may contain spaces, as the BED
// spec allows), otherwise on runs of spaces. Plain, gzip and bgzip files are read through
// htslib's BGZF layer, like FASTA.
//
// IndexedFasta wraps htslib faidx. faidx silently clamps out-of-range requests, so every range
// is checked here first; the 64-bit contig lengths come from the .fai itself (htslib 1.16 has
// no 64-bit faidx_seq_len). Before building an index, the FASTA is checked for layouts that
// faidx indexes but then reads wrongly (see check_indexable); an existing index is checked
// against the FASTA (fai_inconsistency) and rebuilt when it does not match; indexes are
// built under temporary names and renamed (fai_build_atomic).
#include <htslib/bgzf.h>
#include <htslib/faidx.h>
#include <htslib/hts_log.h>
#include <htslib/kstring.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "io/atomic_output.hpp"
#include "io/text_util.hpp"
#include "dnamba/io.hpp"
#include "dnamba/log.hpp"

namespace dnamba {
namespace {

constexpr std::int64_t kToEnd = std::numeric_limits<std::int64_t>::max();

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

using io_detail::printable;

bool has_control_byte(std::string_view s) {
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) return true;
    }
    return false;
}

// ---- parse_region ----------------------------------------------------------------------

enum class NumStatus { ok, empty, bad, too_large };

// A samtools position: digits with optional thousands commas ("1,000,001"), > 0 not checked.
NumStatus parse_position(std::string_view s, std::int64_t& value) {
    if (s.empty()) return NumStatus::empty;
    if (s.front() < '0' || s.front() > '9') return NumStatus::bad;
    std::int64_t v = 0;
    for (const char c : s) {
        if (c == ',') continue;
        if (c < '0' || c > '9') return NumStatus::bad;
        const int d = c - '0';
        if (v > (kToEnd - d) / 10) return NumStatus::too_large;
        v = v * 10 + d;
    }
    value = v;
    return NumStatus::ok;
}

[[noreturn]] void region_error(const std::string& text, const std::string& why) {
    throw Error(ErrorKind::usage, "--region '" + printable(text, 80) + "': " + why +
                                      " (expected chrom, chrom:start or chrom:start-end, 1-based inclusive, "
                                      "e.g. chr2:1,000,001-1,131,072; write a contig name containing ':' as {name})");
}

// ---- BED -------------------------------------------------------------------------------

enum class CoordStatus { ok, empty, negative, bad, too_large };

// A BED coordinate: plain non-negative decimal integer (a leading '+' tolerated).
CoordStatus parse_coord(std::string_view s, std::int64_t& value) {
    if (s.empty()) return CoordStatus::empty;
    std::size_t i = 0;
    if (s[0] == '+') i = 1;
    if (s[0] == '-') {  // "-5" is negative, "-" or "-x" just not a number
        if (s.size() == 1) return CoordStatus::bad;
        for (std::size_t k = 1; k < s.size(); ++k) {
            if (s[k] < '0' || s[k] > '9') return CoordStatus::bad;
        }
        return CoordStatus::negative;
    }
    if (i == s.size()) return CoordStatus::bad;
    std::int64_t v = 0;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c < '0' || c > '9') return CoordStatus::bad;
        const int d = c - '0';
        if (v > (kToEnd - d) / 10) return CoordStatus::too_large;
        v = v * 10 + d;
    }
    value = v;
    return CoordStatus::ok;
}

bool word_is(std::string_view line, std::string_view word) {
    if (line.size() < word.size() || line.compare(0, word.size(), word) != 0) return false;
    return line.size() == word.size() || is_space(line[word.size()]);
}

// Columns of a BED line: split on tabs when there is one (fields trimmed of spaces, trailing
// empty fields dropped), otherwise on whitespace runs.
void split_bed_line(std::string_view line, std::vector<std::string_view>& fields) {
    fields.clear();
    if (line.find('\t') != std::string_view::npos) {
        std::size_t start = 0;
        while (true) {
            const std::size_t tab = line.find('\t', start);
            const std::string_view f = line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
            fields.push_back(trim(f));
            if (tab == std::string_view::npos) break;
            start = tab + 1;
        }
        while (!fields.empty() && fields.back().empty()) fields.pop_back();
        return;
    }
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i])) ++i;
        if (i == line.size()) break;
        std::size_t j = i;
        while (j < line.size() && !is_space(line[j])) ++j;
        fields.push_back(line.substr(i, j - i));
        i = j;
    }
}

// ---- IndexedFasta helpers ---------------------------------------------------------------

std::string parent_dir(const std::string& path) {
    const std::filesystem::path p(path);
    const std::filesystem::path parent = p.parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// ---- .fai checks and atomic builds ------------------------------------------------------

// Whitespace only (what may follow the last sequence of a FASTA).
bool all_blank(const std::string& s) {
    for (const char c : s)
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t') return false;
    return true;
}

// Reads uncompressed bytes of a plain or bgzip FASTA at arbitrary offsets (bgzip through its
// .gzi). read() returns fewer bytes at the end of the data; ok() is false once a seek failed.
class FastaBytes {
public:
    FastaBytes(const std::string& path, bool bgzipped) : bgzipped_(bgzipped) {
        fp_ = bgzf_open(path.c_str(), "r");
        if (fp_ && bgzipped_ && bgzf_index_load(fp_, path.c_str(), ".gzi") != 0) {
            bgzf_close(fp_);
            fp_ = nullptr;
        }
    }
    ~FastaBytes() {
        if (fp_) bgzf_close(fp_);
    }
    FastaBytes(const FastaBytes&) = delete;
    FastaBytes& operator=(const FastaBytes&) = delete;
    [[nodiscard]] bool ok() const { return fp_ != nullptr; }
    std::string read(std::uint64_t offset, std::size_t bytes) {
        if (!fp_) return {};
        std::string buf(bytes, '\0');
        // Uncompressed offsets for both (bgzf_seek takes virtual offsets, even on plain files).
        if (bgzf_useek(fp_, static_cast<off_t>(offset), SEEK_SET) < 0) return {};
        const ssize_t got = bgzf_read(fp_, buf.data(), bytes);
        buf.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
        return buf;
    }

private:
    BGZF* fp_ = nullptr;
    bool bgzipped_ = false;
};

// Why the existing `fai_path` does not describe `path`, or "" when it is consistent: every
// line well-formed, records in file order without overlap, each starting just after its
// ">name" header line, and nothing but blank lines after the last record (a truncated .fai
// lists fewer sequences than the FASTA has: regions and plans would silently skip the rest).
// Costs a few small reads per record; bgzip files check the first and last records' headers.
std::string fai_inconsistency(const std::string& path, const std::string& fai_path, bool bgzipped) {
    std::ifstream in(fai_path);
    if (!in) return "it cannot be read";
    struct Entry {
        std::string name;
        std::uint64_t length, offset, line_bases, line_width;
    };
    std::vector<Entry> entries;
    std::string line;
    std::uint64_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.empty()) continue;
        if (in.eof()) return "line " + std::to_string(line_no) + " is incomplete (no newline: an interrupted write?)";
        std::vector<std::string_view> f;
        std::string_view rest(line);
        while (true) {
            const std::size_t tab = rest.find('\t');
            f.push_back(rest.substr(0, tab));
            if (tab == std::string_view::npos) break;
            rest.remove_prefix(tab + 1);
        }
        Entry e{};
        std::int64_t v[4] = {};
        bool numeric = f.size() == 5 && !f[0].empty();
        for (int k = 0; numeric && k < 4; ++k) numeric = parse_coord(f[static_cast<std::size_t>(k + 1)], v[k]) == CoordStatus::ok;
        if (!numeric) return "line " + std::to_string(line_no) + " is not a FASTA index line (name, length, offset, line bases, line bytes)";
        e.name = std::string(f[0]);
        e.length = static_cast<std::uint64_t>(v[0]);
        e.offset = static_cast<std::uint64_t>(v[1]);
        e.line_bases = static_cast<std::uint64_t>(v[2]);
        e.line_width = static_cast<std::uint64_t>(v[3]);
        if (e.length > 0 && (e.line_bases == 0 || e.line_width < e.line_bases))
            return "line " + std::to_string(line_no) + " has impossible line sizes";
        entries.push_back(std::move(e));
    }
    if (entries.empty()) return "it lists no sequences";
    FastaBytes bytes(path, bgzipped);
    if (!bytes.ok()) return bgzipped ? "the FASTA or its .gzi cannot be read" : "the FASTA cannot be read";
    std::uint64_t previous_end = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const Entry& e = entries[i];
        if (e.offset < previous_end)
            return "sequence " + e.name + " starts at byte " + std::to_string(e.offset) + ", inside the one before it";
        const std::uint64_t span = e.length == 0 ? 0
                                                 : (e.length / e.line_bases) * e.line_width + e.length % e.line_bases;
        const std::uint64_t prior_end = previous_end;
        previous_end = e.offset + span;
        const bool check_header = !bgzipped || i < 16 || i + 1 == entries.size();
        if (!check_header) continue;
        const std::uint64_t back = std::min<std::uint64_t>(e.offset, 512);
        const std::string before = bytes.read(e.offset - back, static_cast<std::size_t>(back));
        if (before.size() != back || before.empty() || before.back() != '\n')
            return "sequence " + e.name + " does not start after a header line at byte " + std::to_string(e.offset) +
                   " (the FASTA changed or is shorter?)";
        // The header line runs from the '\n' before it (or the start of the file) to `before`'s end.
        const std::size_t prev = before.size() >= 2 ? before.rfind('\n', before.size() - 2) : std::string::npos;
        if (prev == std::string::npos && back < e.offset) continue;  // a header longer than we read: not checked
        const std::size_t header_at = prev == std::string::npos ? 0 : prev + 1;
        const std::string header = before.substr(header_at);
        // Between the record before and this header: blank lines only (a length in the index
        // shorter than the sequence leaves bases here).
        const std::uint64_t window_start = e.offset - back;
        if (i > 0 && (prior_end < window_start ||
                      !all_blank(before.substr(static_cast<std::size_t>(prior_end - window_start),
                                               header_at - std::min<std::size_t>(header_at, static_cast<std::size_t>(prior_end - window_start))))))
            return "sequence " + entries[i - 1].name + " is longer in the FASTA than its index says (" +
                   std::to_string(entries[i - 1].length) + " bases; the FASTA changed since it was indexed?)";
        const std::string want = ">" + e.name;
        if (header.compare(0, want.size(), want) != 0 ||
            (header.size() > want.size() && !std::isspace(static_cast<unsigned char>(header[want.size()]))))
            return "sequence " + e.name + " is not the record at byte " + std::to_string(e.offset) +
                   " (the FASTA changed since it was indexed?)";
    }
    // After the last record: only blank lines, up to the end of the data.
    constexpr std::size_t k_tail = 1 << 16;
    const std::string tail = bytes.read(previous_end, k_tail);
    if (!all_blank(tail) || tail.size() == k_tail)
        return "the FASTA has data after the last indexed sequence " + entries.back().name +
               " (the index is truncated or the FASTA grew)";
    if (!bgzipped) {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && previous_end > static_cast<std::uint64_t>(st.st_size))
            return "sequence " + entries.back().name + " runs past the end of the FASTA (the FASTA is truncated or changed)";
    } else if (previous_end > 0 && bytes.read(previous_end - 1, 1).size() != 1) {
        return "sequence " + entries.back().name + " runs past the end of the FASTA (the FASTA is truncated or changed)";
    }
    return "";
}

// fai_build3 into temporary names beside the FASTA (AtomicOutputFile: removed on failure,
// on exceptions and on SIGINT/SIGTERM), renamed into place only when complete, .gzi first:
// an interrupted build never leaves a partial index under its final name.
// Returns htslib's result (0 on success) and errno in `err`.
int fai_build_atomic(const std::string& path, const std::string& fai_path, const std::string& gzi_path, bool bgzipped,
                     int& err) {
    AtomicOutputFile fai_out(fai_path);
    std::unique_ptr<AtomicOutputFile> gzi_out;
    if (bgzipped) gzi_out = std::make_unique<AtomicOutputFile>(gzi_path);
    // htslib writes the temporary files by name (replacing the empty files just created);
    // finish() below only closes our handles, which hold nothing.
    errno = 0;
    const int rc = fai_build3(path.c_str(), fai_out.temp_path().c_str(), gzi_out ? gzi_out->temp_path().c_str() : nullptr);
    err = errno;
    if (rc != 0) return rc;
    if (gzi_out) gzi_out->commit();
    fai_out.commit();
    return 0;
}

// Checks, before htslib indexes `path`, that faidx will map positions to the right bytes.
// faidx records each record's bases and bytes per line from its first line and then only
// checks the byte length of later lines, so a line holding spaces or control characters
// inside the sequence (bases in groups of ten, stray bytes) gets indexed and later fetches
// return shifted bases. Required here: a name right after '>', unique names, sequence lines
// of graph characters (trailing blanks and CR tolerated), every line but the last of a record
// with the same bases and bytes as the first, no blank line inside a record. Returns the
// first problem ("line N (record 'x'): ...") or "" when the file is fine.
std::string check_indexable(const std::string& path) {
    BGZF* fp = bgzf_open(path.c_str(), "r");
    if (!fp) return {};
    kstring_t line{0, 0, nullptr};
    std::uint64_t line_no = 0;
    std::string record;
    std::unordered_map<std::string, std::uint64_t> seen;  // name -> header line
    std::int64_t width_bytes = -1, width_bases = -1;      // of the record's first sequence line
    std::uint64_t short_line = 0;  // a line shorter than the first (must be the last), 0: none
    bool seen_header = false;
    std::string problem;
    const std::string rewrap = "; rewrap it with plain sequence lines (e.g. `seqtk seq -l 60 in.fa > out.fa`)";
    int r;
    while (problem.empty() && (r = bgzf_getline(fp, '\n', &line)) >= 0) {
        ++line_no;
        const std::string at = "line " + std::to_string(line_no);
        std::string_view l(line.s ? line.s : "", line.l);
        if (!l.empty() && l[0] == '>') {
            seen_header = true;
            if (l.size() < 2 || is_space(l[1])) {
                problem = at + ": header has no name right after '>'";
                break;
            }
            std::size_t name_end = 1;
            while (name_end < l.size() && !is_space(l[name_end])) ++name_end;
            record.assign(l.substr(1, name_end - 1));
            if (has_control_byte(record)) {
                problem = at + ": control byte in the sequence name '" + printable(record) + "'";
                break;
            }
            const auto [it, fresh] = seen.emplace(record, line_no);
            if (!fresh) {
                problem = at + ": duplicate sequence name '" + printable(record) + "' (first at line " +
                          std::to_string(it->second) + "); regions could not say which one they mean";
                break;
            }
            width_bytes = width_bases = -1;
            short_line = 0;
            continue;
        }
        const auto bytes = static_cast<std::int64_t>(l.size());
        std::string_view bases = l;
        while (!bases.empty() && is_space(bases.back())) bases.remove_suffix(1);
        if (!seen_header) {
            if (bases.empty()) continue;
            problem = at + ": not FASTA: expected a '>' header line, found '" + printable(l, 24) + "'";
            break;
        }
        const std::string where = at + " (record '" + printable(record) + "'): ";
        for (const char ch : bases) {
            if (std::isgraph(static_cast<unsigned char>(ch)) == 0) {
                problem = where + "byte '" + printable(std::string_view(&ch, 1)) +
                          "' inside the sequence; an indexed FASTA needs lines of sequence letters only" + rewrap;
                break;
            }
        }
        if (!problem.empty()) break;
        const auto nb = static_cast<std::int64_t>(bases.size());
        if (short_line != 0) {
            if (nb > 0) {
                problem = "line " + std::to_string(short_line) + " (record '" + printable(record) +
                          "'): a blank line or a line shorter than the record's first, followed by more sequence at "
                          "line " + std::to_string(line_no) +
                          "; an indexed FASTA needs every line of a record but the last to be the same length" + rewrap;
            }
            continue;
        }
        if (width_bases < 0) {
            if (nb == 0) {
                short_line = line_no;  // blank line right after the header
            } else {
                width_bytes = bytes;
                width_bases = nb;
            }
            continue;
        }
        if (nb > width_bases || bytes > width_bytes) {
            problem = where + "a line of " + std::to_string(nb) + " bases after lines of " + std::to_string(width_bases) +
                      "; an indexed FASTA needs every line of a record but the last to be the same length" + rewrap;
        } else if (nb < width_bases || bytes < width_bytes) {
            short_line = line_no;
        }
    }
    std::free(line.s);
    bgzf_close(fp);
    return problem;
}

// Why htslib failed to index a file check_indexable() passed: FastaReader's view, if any.
std::string diagnose_unindexable(const std::string& path) {
    try {
        FastaReader reader(path);
        SequenceRecord rec;
        while (reader.next(rec)) {
        }
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

}  // namespace

// ---- parse_region ----------------------------------------------------------------------

Region parse_region(const std::string& text) {
    std::string_view t = trim(text);
    if (t.empty()) region_error(text, "empty region");
    if (has_control_byte(t)) region_error(text, "control character in the region");
    // A strand suffix after coordinates, "chr1:11-20(-)", as region rows are named: the region on
    // that strand (SAM contig names cannot hold parentheses; "{name}" protects a FASTA name that does).
    char strand = '+';
    if (t.size() > 3 && t.back() == ')' && t[t.size() - 3] == '(' && (t[t.size() - 2] == '+' || t[t.size() - 2] == '-') &&
        t.find(':', t.front() == '{' ? t.find('}') : 0) != std::string_view::npos) {
        strand = t[t.size() - 2];
        t.remove_suffix(3);
    }

    std::string_view chrom;
    std::string_view coords;  // after the ':' (empty view + no colon: whole contig)
    bool has_coords = false;
    if (t.front() == '{') {
        const std::size_t close = t.find('}');
        if (close == std::string_view::npos) region_error(text, "'{' without a closing '}'");
        chrom = t.substr(1, close - 1);
        const std::string_view rest = t.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') region_error(text, "expected ':' or the end after '}'");
            coords = rest.substr(1);
            has_coords = true;
        }
    } else {
        const std::size_t colon = t.rfind(':');
        if (colon == std::string_view::npos) {
            chrom = t;
        } else {
            chrom = t.substr(0, colon);
            coords = t.substr(colon + 1);
            has_coords = true;
        }
    }
    if (chrom.empty()) region_error(text, "no contig name");
    for (const char c : chrom) {
        if (is_space(c)) region_error(text, "contig name '" + printable(chrom) + "' contains whitespace");
    }

    Region region;
    region.chrom.assign(chrom);
    region.start = 0;
    region.end = kToEnd;
    region.strand = strand;
    region.source = "--region";
    if (!has_coords) return region;

    if (coords.empty()) region_error(text, "no position after ':'");
    const std::size_t dash = coords.find('-');
    const std::string_view start_text = coords.substr(0, dash);
    std::int64_t start = 0;
    switch (parse_position(start_text, start)) {
    case NumStatus::ok: break;
    case NumStatus::empty: region_error(text, "start is missing or negative; positions are 1-based");
    case NumStatus::bad: region_error(text, "start '" + printable(start_text) + "' is not a number");
    case NumStatus::too_large: region_error(text, "start '" + printable(start_text) + "' is too large");
    }
    if (start == 0) region_error(text, "start 0: positions are 1-based, the first base is 1");
    region.start = start - 1;
    if (dash == std::string_view::npos) return region;

    const std::string_view end_text = coords.substr(dash + 1);
    if (end_text.empty()) return region;  // "chr2:1000-": to the end, as samtools
    std::int64_t end = 0;
    switch (parse_position(end_text, end)) {
    case NumStatus::ok: break;
    case NumStatus::empty:  // unreachable: end_text is not empty
    case NumStatus::bad: region_error(text, "end '" + printable(end_text) + "' is not a number");
    case NumStatus::too_large: region_error(text, "end '" + printable(end_text) + "' is too large");
    }
    if (end < start) {
        region_error(text, "end " + std::to_string(end) + " is before start " + std::to_string(start));
    }
    region.end = end;
    return region;
}

// ---- BedReader -------------------------------------------------------------------------

struct BedReader::Impl {
    std::string display;  // the path, or "<stdin>"
    BGZF* fp = nullptr;
    kstring_t line{0, 0, nullptr};
    std::uint64_t line_no = 0;
    std::uint64_t data_lines = 0;  // non-comment lines returned so far
    std::vector<std::string_view> fields;
    std::string error;  // once set, next() rethrows it

    ~Impl() {
        if (fp) bgzf_close(fp);
        std::free(line.s);
    }

    [[noreturn]] void fail(const std::string& what) {
        error = display + ":" + std::to_string(line_no) + ": " + what;
        throw Error(ErrorKind::input, error);
    }

    std::int64_t coord(std::size_t column, const char* what) {
        const std::string_view f = fields[column];
        std::int64_t v = 0;
        std::string hint;
        if (data_lines == 0) hint = "; a header line must start with '#', 'track' or 'browser'";
        switch (parse_coord(f, v)) {
        case CoordStatus::ok: return v;
        case CoordStatus::empty: fail(std::string(what) + " (column " + std::to_string(column + 1) + ") is empty");
        case CoordStatus::negative: fail(std::string(what) + " " + printable(f) + " is negative; BED coordinates are >= 0");
        case CoordStatus::too_large: fail(std::string(what) + " " + printable(f) + " is too large");
        case CoordStatus::bad: break;
        }
        fail(std::string(what) + " '" + printable(f) + "' (column " + std::to_string(column + 1) +
             ") is not a non-negative integer" + hint);
    }
};

BedReader::BedReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
    if (path.empty()) throw Error(ErrorKind::input, "empty BED path (use '-' for standard input)");
    impl_->display = path == "-" ? "<stdin>" : path;
    impl_->fp = io_detail::open_bgzf_text(path, impl_->display);
}

BedReader::~BedReader() = default;

bool BedReader::next(Region& region) {
    Impl& s = *impl_;
    if (!s.error.empty()) throw Error(ErrorKind::input, s.error);
    if (!s.fp) return false;
    while (true) {
        const int r = bgzf_getline(s.fp, '\n', &s.line);
        if (r == -1) {
            bgzf_close(s.fp);
            s.fp = nullptr;
            return false;
        }
        if (r < -1) {
            ++s.line_no;
            s.fail(bgzf_compression(s.fp) != 0 ? "corrupt or truncated compressed data" : "read error");
        }
        ++s.line_no;
        std::string_view l(s.line.s ? s.line.s : "", s.line.l);
        if (s.line_no == 1 && l.size() >= 3 && l.compare(0, 3, "\xef\xbb\xbf") == 0) l.remove_prefix(3);  // BOM
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        const std::string_view content = trim(l);
        if (content.empty() || content.front() == '#' || word_is(content, "track") || word_is(content, "browser")) {
            continue;
        }
        for (const char ch : l) {
            const auto c = static_cast<unsigned char>(ch);
            if ((c < 0x20 && c != '\t' && c != '\r' && c != '\v' && c != '\f') || c == 0x7f) {
                s.fail("unexpected byte " + printable(std::string_view(&ch, 1)) +
                       "; expected a text BED line (is this a binary or corrupt file?)");
            }
        }
        split_bed_line(l, s.fields);
        if (s.fields.size() < 3) {
            s.fail("expected at least 3 columns (chrom, start, end), found " + std::to_string(s.fields.size()) + ": '" +
                   printable(content) + "'");
        }
        if (s.fields[0].empty()) s.fail("chrom (column 1) is empty");
        const std::int64_t start = s.coord(1, "start");
        const std::int64_t end = s.coord(2, "end");
        if (start > end) {
            s.fail("start " + std::to_string(start) + " is greater than end " + std::to_string(end));
        }
        if (start == end) {
            s.fail("empty interval (start == end == " + std::to_string(start) +
                   "): it has no bases to embed (BED is 0-based half-open: one base at position p is p to p+1)");
        }
        char strand = '+';
        if (s.fields.size() >= 6) {
            const std::string_view f = s.fields[5];
            if (f.empty() || f == ".") {
                strand = '.';
            } else if (f == "+" || f == "-") {
                strand = f[0];
            } else {
                s.fail("strand '" + printable(f) + "' (column 6) is not '+', '-' or '.'");
            }
        }
        region.chrom.assign(s.fields[0]);
        region.start = start;
        region.end = end;
        region.strand = strand;
        if (s.fields.size() >= 4 && s.fields[3] != ".") {
            region.name.assign(s.fields[3]);
        } else {
            region.name.clear();
        }
        region.source = s.display + ":" + std::to_string(s.line_no);
        region.fields.assign(s.fields.begin(), s.fields.end());
        ++s.data_lines;
        return true;
    }
}

// ---- IndexedFasta ----------------------------------------------------------------------

struct IndexedFasta::Impl {
    std::string path;
    faidx_t* fai = nullptr;
    std::vector<std::string> names;  // file order
    std::vector<std::int64_t> lengths;
    std::unordered_map<std::string, std::size_t> index;
    std::int64_t total = 0;
    mutable std::mutex mutex;  // faidx reads through one shared BGZF handle

    ~Impl() {
        if (fai) fai_destroy(fai);
    }

    [[noreturn]] void fail(const std::string& what) const { throw Error(ErrorKind::input, path + ": " + what); }

    std::size_t lookup(const std::string& chrom) const {
        const auto it = index.find(chrom);
        if (it != index.end()) return it->second;
        std::string msg = "chrom " + chrom + " is not in " + path + " (it has ";
        const std::size_t shown = names.size() < 5 ? names.size() : 5;
        for (std::size_t i = 0; i < shown; ++i) msg += (i ? ", " : "") + names[i];
        if (names.size() > shown) msg += ", … " + std::to_string(names.size()) + " in all";
        if (names.empty()) msg += "no sequences";
        msg += ")";
        // The usual cause: "chr1" against an Ensembl-style "1" genome, or the reverse.
        std::string alt;
        if (chrom.size() > 3 && chrom.compare(0, 3, "chr") == 0) {
            alt = chrom.substr(3);
        } else {
            alt = "chr" + chrom;
        }
        if (index.count(alt)) msg += "; did you mean " + alt + "?";
        throw Error(ErrorKind::input, msg);
    }
};

IndexedFasta::IndexedFasta(const std::string& path) : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.path = path;
    if (path.empty()) throw Error(ErrorKind::input, "empty FASTA path");
    if (path == "-") throw Error(ErrorKind::input, "regions need an indexed FASTA file; standard input cannot be indexed");
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) s.fail(std::string("cannot open: ") + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) s.fail(std::string("cannot open: ") + std::strerror(EISDIR));
    hts_set_log_level(HTS_LOG_OFF);

    // Compression: plain and bgzip can be indexed, plain gzip cannot.
    bool bgzipped = false;
    {
        errno = 0;
        BGZF* fp = bgzf_open(path.c_str(), "r");
        if (!fp) {
            const int e = errno;
            s.fail(std::string("cannot open: ") + (e ? std::strerror(e) : "not readable"));
        }
        const int c = bgzf_compression(fp);
        if (c == 1) {
            bgzf_close(fp);
            s.fail("is gzip-compressed but not with bgzip, so it cannot be indexed for random access; recompress "
                   "with `bgzip` (zcat " + path + " | bgzip > out.fa.gz) or decompress it");
        }
        // The first non-blank line must be a FASTA header (faidx would index FASTQ too).
        kstring_t line{0, 0, nullptr};
        std::uint64_t line_no = 0;
        std::string first;
        int r;
        while ((r = bgzf_getline(fp, '\n', &line)) >= 0) {
            ++line_no;
            const std::string_view l = trim(std::string_view(line.s ? line.s : "", line.l));
            if (l.empty()) continue;
            first.assign(l.substr(0, 64));
            break;
        }
        std::free(line.s);
        bgzf_close(fp);
        if (first.empty() && r < -1) s.fail("corrupt or truncated compressed data (or a read error)");
        if (first.empty()) s.fail("has no sequences (empty FASTA?)");
        if (first[0] != '>') {
            s.fail("line " + std::to_string(line_no) + ": not FASTA: expected a '>' header line, found '" +
                   printable(first, 24) + "'" +
                   (first[0] == '@' ? "; this looks like FASTQ, and regions need an indexed FASTA reference" : ""));
        }
        bgzipped = c == 2;
    }

    const std::string fai_path = path + ".fai";
    const std::string gzi_path = path + ".gzi";
    bool need_build = !path_exists(fai_path) || (bgzipped && !path_exists(gzi_path));
    // An existing index is checked against the FASTA: a truncated or stale one would make
    // regions, windows and plans skip sequences or read the wrong bases without a word.
    const std::string stale = need_build ? std::string() : fai_inconsistency(path, fai_path, bgzipped);
    if (!stale.empty()) need_build = true;
    if (need_build) {
        const std::string dir = parent_dir(path);
        const std::string missing = !path_exists(fai_path) ? fai_path : gzi_path;
        if (::access(dir.c_str(), W_OK) != 0) {
            if (!stale.empty())
                s.fail("its index " + fai_path + " does not match it (" + stale + ") and it cannot be rebuilt because "
                       "the directory " + dir + " is not writable; delete the index or run `samtools faidx " + path +
                       "` where it can be written");
            s.fail("has no index (" + missing + ") and it cannot be built because the directory " + dir +
                   " is not writable; index it where it can be written (`samtools faidx " + path +
                   "`) or copy the FASTA to a writable directory");
        }
        if (const std::string problem = check_indexable(path); !problem.empty()) {
            s.fail("cannot build the FASTA index: " + problem);
        }
        if (!stale.empty())
            log_warning(fai_path + " does not match " + path + " (" + stale + "); rebuilding it");
        else
            log_info("indexing " + path + " (writing " + fai_path + (bgzipped ? " and " + gzi_path : std::string()) + ")");
        int e = 0;
        if (fai_build_atomic(path, fai_path, gzi_path, bgzipped, e) != 0) {
            std::string why = diagnose_unindexable(path);
            if (why.empty()) why = e ? std::strerror(e) : "htslib faidx rejected the file";
            s.fail("cannot build the FASTA index: " + why);
        }
    } else {
        struct stat fst {};
        if (::stat(fai_path.c_str(), &fst) == 0 && fst.st_mtime < st.st_mtime) {
            log_warning(fai_path + " is older than " + path + "; if the FASTA changed, delete the index (it is rebuilt) "
                        "or run `samtools faidx " + path + "`");
        }
    }

    s.fai = fai_load3(path.c_str(), nullptr, nullptr, 0);
    if (!s.fai) {
        s.fail("cannot load its index " + fai_path + (bgzipped ? " / " + gzi_path : std::string()) +
               " (corrupt?); delete it to have it rebuilt, or run `samtools faidx " + path + "`");
    }

    // Names and 64-bit lengths from the .fai text (same order as faidx_iseq).
    std::ifstream in(fai_path);
    std::string line;
    std::uint64_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        const std::size_t t1 = line.find('\t');
        const std::size_t t2 = t1 == std::string::npos ? std::string::npos : line.find('\t', t1 + 1);
        std::int64_t len = 0;
        if (t1 == std::string::npos || t2 == std::string::npos ||
            parse_coord(std::string_view(line).substr(t1 + 1, t2 - t1 - 1), len) != CoordStatus::ok) {
            s.fail("its index " + fai_path + " is malformed at line " + std::to_string(line_no) +
                   "; delete it to have it rebuilt");
        }
        std::string name = line.substr(0, t1);
        if (s.index.count(name)) continue;  // htslib keeps the first of duplicate names too
        s.index.emplace(name, s.names.size());
        s.names.push_back(std::move(name));
        s.lengths.push_back(len);
        s.total += len;
    }
    if (static_cast<int>(s.names.size()) != faidx_nseq(s.fai)) {
        s.fail("its index " + fai_path + " could not be read consistently; delete it to have it rebuilt");
    }
    for (std::size_t i = 0; i < s.names.size(); ++i) {
        if (s.names[i] != faidx_iseq(s.fai, static_cast<int>(i))) {
            s.fail("its index " + fai_path + " could not be read consistently; delete it to have it rebuilt");
        }
    }
    if (s.names.empty()) s.fail("has no sequences (empty FASTA?)");
}

IndexedFasta::~IndexedFasta() = default;

bool IndexedFasta::has(const std::string& chrom) const { return impl_->index.count(chrom) != 0; }

std::int64_t IndexedFasta::length(const std::string& chrom) const { return impl_->lengths[impl_->lookup(chrom)]; }

std::string IndexedFasta::fetch(const std::string& chrom, std::int64_t start, std::int64_t end) const {
    const Impl& s = *impl_;
    const std::int64_t length = s.lengths[s.lookup(chrom)];
    const auto range = [&] { return chrom + ":" + std::to_string(start) + "-" + std::to_string(end); };
    if (start < 0 || end < start) s.fail("invalid range " + range() + " (0-based half-open)");
    if (end > length) {
        s.fail("range " + range() + " (0-based half-open) runs past the end of " + chrom + " (length " +
               std::to_string(length) + ")");
    }
    if (start == end) return {};
    hts_pos_t got = 0;
    char* seq = nullptr;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        seq = faidx_fetch_seq64(s.fai, chrom.c_str(), start, end - 1, &got);  // htslib: inclusive end
    }
    if (!seq || got != end - start) {
        std::free(seq);
        s.fail("could not read " + range() + " (0-based half-open): got " + std::to_string(got < 0 ? 0 : got) +
               " of " + std::to_string(end - start) +
               " bases; the file may be truncated or its index stale (delete " + s.path + ".fai to rebuild it)");
    }
    std::string out(seq, static_cast<std::size_t>(got));
    std::free(seq);
    return out;
}

std::vector<std::string> IndexedFasta::names() const { return impl_->names; }

std::int64_t IndexedFasta::total_length() const { return impl_->total; }

// ---- windows ---------------------------------------------------------------------------

std::vector<std::pair<std::int64_t, std::int64_t>> window_bounds(std::int64_t length, const WindowSpec& spec) {
    if (spec.window <= 0) {
        throw Error(ErrorKind::usage, "--window must be a positive number of bases (got " + std::to_string(spec.window) + ")");
    }
    if (spec.stride < 0) {
        throw Error(ErrorKind::usage,
                    "--stride must be >= 0 (0 means the window size; got " + std::to_string(spec.stride) + ")");
    }
    const std::int64_t window = spec.window;
    const std::int64_t stride = spec.stride == 0 ? window : spec.stride;
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    std::int64_t start = 0;
    while (start < length) {
        const std::int64_t end = window >= length - start ? length : start + window;
        if (end - start == window || spec.tail == TailMode::keep) out.emplace_back(start, end);
        if (end == length || stride >= length - start) break;
        start += stride;
    }
    return out;
}

}  // namespace dnamba
