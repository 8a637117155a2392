// open_input(): composes records, regions and windows into one stream of InputItems.
//
// Sources, by option:
//   --region/--regions on a FASTA   regions fetched through the FASTA index (minus strand:
//                                   reverse complement), optionally tiled into windows
//   --region on an indexed BAM/CRAM reads overlapping the regions (the record reader)
//   --window on a FASTA file        every sequence tiled through the index, one window in
//                                   memory at a time (bounded memory for whole genomes)
//   anything else                   records as they stream (FASTA/FASTQ/SAM/BAM/CRAM, stdin),
//                                   tiled in memory when --window is given
#include <sys/stat.h>

#include <charconv>
#include <limits>

#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "dnamba/log.hpp"
#include "dnamba/tokenizer.hpp"

namespace dnamba {
namespace {

bool is_regular_file(const std::string& path) {
    struct stat st {};
    return path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// 1,000,001: a position with thousands commas, as samtools writes and reads them.
std::string with_commas(std::int64_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && digits[i - 1] != '-' && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

// The name of a region row without a name of its own, and how messages show a region: the
// samtools region of its bases (1-based inclusive, "chr1:1,000,001-1,010,000", which --region and
// samtools take back as they are) and the strand in parentheses ("(-)", also taken by --region).
// The rows' start/end columns stay 0-based half-open.
std::string region_label(const std::string& chrom, std::int64_t start, std::int64_t end, char strand) {
    return chrom + ":" + with_commas(start + 1) + "-" + with_commas(end) + "(" + strand + ")";
}

// Emits the windows of one parent sequence (a record or a region) in order. The parent's
// bases are either held (`seq`) or fetched per window through `fasta`.
class Tiler {
public:
    void reset(RowInfo parent, std::string seq, const WindowSpec& spec, const IndexedFasta* fasta = nullptr) {
        parent_ = std::move(parent);
        seq_ = std::move(seq);
        fasta_ = fasta;
        const std::int64_t length = parent_.end - parent_.start;
        bounds_ = spec.window > 0 ? window_bounds(length, spec)
                                  : std::vector<std::pair<std::int64_t, std::int64_t>>{{0, length}};
        next_ = 0;
        whole_ = spec.window <= 0;
    }

    // fetch false: the row and base count only (a skipped or planned item).
    bool next(InputItem& item, bool fetch) {
        if (next_ >= bounds_.size()) return false;
        const auto [ws, we] = bounds_[next_];
        item.row.chrom = parent_.chrom;
        item.row.strand = parent_.strand;
        // Window offsets run along the embedded strand; on '-' they count from the end.
        if (parent_.strand == '-') {
            item.row.start = parent_.end - we;
            item.row.end = parent_.end - ws;
        } else {
            item.row.start = parent_.start + ws;
            item.row.end = parent_.start + we;
        }
        item.row.name = whole_ ? parent_.name : parent_.name + "/" + std::to_string(next_);
        item.bases = static_cast<std::uint64_t>(we - ws);
        if (!fetch) {
            item.seq.clear();
        } else if (fasta_) {
            item.seq = fasta_->fetch(item.row.chrom, item.row.start, item.row.end);
            if (item.row.strand == '-') item.seq = reverse_complement(item.seq);
        } else if (whole_) {
            item.seq = std::move(seq_);  // the one item of an untiled record: no copy
        } else {
            item.seq = seq_.substr(static_cast<std::size_t>(ws), static_cast<std::size_t>(we - ws));
        }
        ++next_;
        return true;
    }

private:
    RowInfo parent_;
    std::string seq_;
    const IndexedFasta* fasta_ = nullptr;
    std::vector<std::pair<std::int64_t, std::int64_t>> bounds_;
    std::size_t next_ = 0;
    bool whole_ = true;
};

// The row range and lengths-only mode shared by every source: produce() yields items in
// input order, told whether their bases are wanted.
class RangedSource : public InputSource {
public:
    explicit RangedSource(const InputOptions& o) : first_(o.first_row), end_(o.end_row), lengths_only_(o.lengths_only) {}

    bool next(InputItem& item) final {
        while (index_ < end_) {
            const bool wanted = index_ >= first_;
            if (!produce(item, wanted && !lengths_only_)) return false;
            item.index = index_++;
            if (wanted) return true;
        }
        return false;
    }

protected:
    [[nodiscard]] virtual bool produce(InputItem& item, bool fetch) = 0;

private:
    std::uint64_t first_, end_;
    bool lengths_only_;
    std::uint64_t index_ = 0;
};

// Records from any sequence file, tiled in memory when windows are asked for.
class RecordSource final : public RangedSource {
public:
    explicit RecordSource(const InputOptions& o)
        : RangedSource(o), options_(o), reader_(open_record_reader(o.path, o.reader)) {}

    bool produce(InputItem& item, bool fetch) override {
        while (!tiler_.next(item, fetch)) {
            InputRecord rec;
            if (!reader_->next(rec)) {
                if (reader_->records_skipped())
                    log_info(std::to_string(reader_->records_skipped()) + " read(s) skipped by the read filters");
                return false;
            }
            if (rec.seq.empty()) {
                if (++empty_ == 1) log_warning(options_.path + ": record " + rec.name + " has no bases; skipped");
                continue;
            }
            RowInfo row;
            row.name = rec.name;
            if (options_.windows.window <= 0 && rec.is_alignment) {
                // a whole read keeps the reference span of its alignment in its row
                row.chrom = rec.chrom;
                row.start = rec.start;
                row.end = rec.end;
                row.strand = rec.strand;
                item.row = std::move(row);
                item.bases = rec.seq.size();
                item.seq = fetch ? std::move(rec.seq) : std::string();
                return true;
            }
            // a FASTA/FASTQ record, or windows of a read: coordinates along the record itself
            row.chrom = rec.name;
            row.start = 0;
            row.end = static_cast<std::int64_t>(rec.seq.size());
            row.strand = '+';
            tiler_.reset(row, std::move(rec.seq), options_.windows);
        }
        return true;
    }

    std::optional<std::uint64_t> total_bases() const override { return std::nullopt; }
    std::string describe() const override {
        return (options_.path == "-" ? std::string("<stdin>") : options_.path) + " (" +
               input_format_name(reader_->format()) + ")";
    }

private:
    InputOptions options_;
    std::unique_ptr<RecordReader> reader_;
    Tiler tiler_;
    std::size_t empty_ = 0;
};

// Every sequence of an indexed FASTA, tiled into windows fetched one at a time.
class GenomeWindowSource final : public RangedSource {
public:
    explicit GenomeWindowSource(const InputOptions& o)
        : RangedSource(o), options_(o), fasta_(o.path), names_(fasta_.names()) {
        // the bases of the selected rows (--rows), for progress
        std::uint64_t total = 0, row = 0;
        for (const auto& n : names_) {
            for (const auto& [s, e] : window_bounds(fasta_.length(n), options_.windows)) {
                if (row >= o.first_row && row < o.end_row) total += static_cast<std::uint64_t>(e - s);
                ++row;
            }
        }
        total_ = total;
    }

    bool produce(InputItem& item, bool fetch) override {
        while (!tiler_.next(item, fetch)) {
            if (chrom_ >= names_.size()) return false;
            const std::string& name = names_[chrom_++];
            RowInfo parent;
            parent.name = name;
            parent.chrom = name;
            parent.start = 0;
            parent.end = fasta_.length(name);
            tiler_.reset(parent, "", options_.windows, &fasta_);
        }
        return true;
    }

    std::optional<std::uint64_t> total_bases() const override { return total_; }
    std::string describe() const override { return options_.path + " (indexed FASTA, windows)"; }

private:
    InputOptions options_;
    IndexedFasta fasta_;
    std::vector<std::string> names_;
    std::size_t chrom_ = 0;
    Tiler tiler_;
    std::uint64_t total_ = 0;
};

// BED regions, then --region strings, fetched through the FASTA index.
class RegionSource final : public RangedSource {
public:
    explicit RegionSource(const InputOptions& o) : RangedSource(o), options_(o), fasta_(o.path) {
        for (const auto& text : o.region_texts) explicit_.push_back(parse_region(text));
    }

    ~RegionSource() override {
        if (clipped_)
            log_warning(std::to_string(clipped_) + " region(s) ran past the end of their sequence and were clipped "
                        "(use --strict to make this an error)");
    }

    bool produce(InputItem& item, bool fetch) override {
        while (!tiler_.next(item, fetch)) {
            Region r;
            if (!next_region(r)) return false;
            const std::string where = r.source.empty() ? "" : r.source + ": ";
            if (!fasta_.has(r.chrom)) (void)fasta_.length(r.chrom);  // throws, listing the names
            const std::int64_t length = fasta_.length(r.chrom);
            if (r.start >= length)
                fail(ErrorKind::input, where + "region " + region_label(r.chrom, r.start, r.end, r.strand) +
                                           " starts past the end of " + r.chrom + " (length " + std::to_string(length) +
                                           ")");
            if (r.end > length) {
                if (options_.strict && r.end != std::numeric_limits<std::int64_t>::max())
                    fail(ErrorKind::input, where + "region " + region_label(r.chrom, r.start, r.end, r.strand) +
                                               " runs past the end of " + r.chrom + " (length " +
                                               std::to_string(length) + "); drop --strict to clip it");
                if (r.end != std::numeric_limits<std::int64_t>::max()) ++clipped_;
                r.end = length;
            }
            const char strand = r.strand == '-' ? '-' : '+';
            RowInfo parent;
            parent.chrom = r.chrom;
            parent.start = r.start;
            parent.end = r.end;
            parent.strand = strand;
            parent.name = r.name.empty() ? region_label(r.chrom, r.start, r.end, strand) : r.name;
            tiler_.reset(parent, "", options_.windows, &fasta_);
        }
        return true;
    }

    std::optional<std::uint64_t> total_bases() const override { return std::nullopt; }
    std::string describe() const override { return options_.path + " (indexed FASTA, regions)"; }

private:
    bool next_region(Region& r) {
        while (bed_index_ < options_.bed_files.size()) {
            if (!bed_) bed_ = std::make_unique<BedReader>(options_.bed_files[bed_index_]);
            if (bed_->next(r)) return true;
            bed_.reset();
            ++bed_index_;
        }
        if (explicit_index_ < explicit_.size()) {
            r = explicit_[explicit_index_++];
            return true;
        }
        return false;
    }

    InputOptions options_;
    IndexedFasta fasta_;
    std::vector<Region> explicit_;
    std::size_t explicit_index_ = 0;
    std::size_t bed_index_ = 0;
    std::unique_ptr<BedReader> bed_;
    Tiler tiler_;
    std::size_t clipped_ = 0;
};

}  // namespace

ReadOrientation parse_read_orientation(const std::string& text) {
    if (text == "original") return ReadOrientation::original;
    if (text == "reference") return ReadOrientation::reference;
    fail(ErrorKind::usage, "--read-orientation " + text + ": expected original or reference");
}

TailMode parse_tail(const std::string& text) {
    if (text == "keep") return TailMode::keep;
    if (text == "drop") return TailMode::drop;
    fail(ErrorKind::usage, "--tail " + text + ": expected keep or drop");
}

std::pair<std::uint64_t, std::uint64_t> parse_row_range(const std::string& text) {
    const auto bad = [&](const std::string& why) {
        fail(ErrorKind::usage, "--rows " + text + ": " + why + " (expected FIRST:END, 0-based, END exclusive)");
    };
    const auto colon = text.find(':');
    if (colon == std::string::npos) bad("no ':'");
    const auto number = [&](const std::string& part, std::uint64_t empty_value) -> std::uint64_t {
        if (part.empty()) return empty_value;
        std::uint64_t v = 0;
        const auto r = std::from_chars(part.data(), part.data() + part.size(), v);
        if (r.ec != std::errc() || r.ptr != part.data() + part.size()) bad("'" + part + "' is not a row number");
        return v;
    };
    const std::uint64_t first = number(text.substr(0, colon), 0);
    const std::uint64_t end = number(text.substr(colon + 1), UINT64_MAX);
    if (first >= end) bad("the range is empty");
    return {first, end};
}

std::unique_ptr<InputSource> open_input(const InputOptions& options) {
    if (options.first_row >= options.end_row) fail(ErrorKind::usage, "the row range is empty");
    if (options.path.empty()) fail(ErrorKind::usage, "no input given (--input FILE, or - for standard input)");
    if (options.windows.window < 0) fail(ErrorKind::usage, "--window must be positive");
    if (options.windows.window == 0 && options.windows.stride != 0)
        fail(ErrorKind::usage, "--stride needs --window");
    if (options.windows.window > 0) (void)window_bounds(1, options.windows);  // validates stride

    const bool regions = !options.bed_files.empty() || !options.region_texts.empty();
    if (regions) {
        if (options.path == "-")
            fail(ErrorKind::usage, "--regions/--region need an indexed FASTA (or indexed BAM/CRAM) file, not standard input");
        // Alignments: --region selects reads overlapping it through the BAM/CRAM index.
        ReaderOptions plain;
        plain.reference = options.reader.reference;
        const auto probe = open_record_reader(options.path, plain);
        const InputFormat format = probe->format();
        if (format == InputFormat::bam || format == InputFormat::cram || format == InputFormat::sam) {
            if (!options.bed_files.empty())
                fail(ErrorKind::usage, "--regions (BED) applies to a FASTA input; for reads in regions use --region");
            InputOptions o = options;
            o.reader.regions = options.region_texts;
            return std::make_unique<RecordSource>(o);
        }
        if (format != InputFormat::fasta)
            fail(ErrorKind::usage, options.path + " is " + input_format_name(format) +
                                       ": --regions/--region need a FASTA genome or an indexed BAM/CRAM");
        return std::make_unique<RegionSource>(options);
    }
    if (options.windows.window > 0 && is_regular_file(options.path)) {
        const auto probe = open_record_reader(options.path, ReaderOptions{});
        if (probe->format() == InputFormat::fasta) {
            try {
                return std::make_unique<GenomeWindowSource>(options);
            } catch (const Error& e) {
                // not indexable (plain gzip, read-only directory): stream records instead
                log_info(std::string("windows without the FASTA index (") + e.what() + "): records are read whole");
            }
        }
    }
    return std::make_unique<RecordSource>(options);
}

}  // namespace dnamba
