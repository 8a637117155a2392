// VCF/BCF reading and writing through htslib (io/vcf.hpp).
//
// Reading: text VCF lines are read with hts_getline and parsed with vcf_parse, so that a
// malformed line can be quoted in the error; BCF records come from bcf_read. Region queries go
// through the tabix (.tbi/.csi) or BCF (.csi) index, one merged region at a time, in the
// index's contig order, keeping only records whose POS lies in the region (so a record is read
// once even when it overlaps two regions).
// Writing: htslib writes under the temporary name AtomicOutputFile created (closed first,
// reopened by hts_open), and the index is built into a second temporary, so the rename, the
// removal on failure and the signal cleanup stay AtomicOutputFile's.
// Concatenation (vcf_concatenate): each input through a VcfReader, its header checked against
// the first's, its records written with the first header (the same text gives the same contig
// and INFO ids) by one VcfWriter.
#include "io/vcf.hpp"

#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/kstring.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "dnamba/log.hpp"
#include "io/atomic_output.hpp"
#include "io/hts_util.hpp"

namespace dnamba {

void BcfRecordFree::operator()(bcf1_t* r) const noexcept { bcf_destroy(r); }

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shown_line(const kstring_t& line) {
    std::string s(line.s ? line.s : "", line.l);
    for (char& c : s)
        if (c == '\t') c = ' ';
    return s.size() > 200 ? s.substr(0, 200) + "..." : s;
}

}  // namespace

struct VcfReader::Impl {
    std::string path;
    htsFile* fp = nullptr;
    bcf_hdr_t* hdr = nullptr;
    bool text = true;  // VCF text (else BCF)
    std::size_t header_lines = 0;
    std::size_t records = 0;
    std::mutex mutex;
    kstring_t line = {0, 0, nullptr};
    // region queries
    bool regional = false;
    tbx_t* tbx = nullptr;
    hts_idx_t* idx = nullptr;
    struct Query {
        int tid;
        std::int64_t start, end;
    };
    std::vector<Query> queries;
    std::size_t next_query = 0;
    hts_itr_t* itr = nullptr;

    ~Impl() {
        if (itr) hts_itr_destroy(itr);
        if (tbx) tbx_destroy(tbx);
        if (idx) hts_idx_destroy(idx);
        if (hdr) bcf_hdr_destroy(hdr);
        if (fp) hts_close(fp);
        free(line.s);
    }

    [[noreturn]] void malformed(const std::string& why) const {
        std::string where = path + ": record " + std::to_string(records + 1);
        if (text && !regional && header_lines) where += " (line " + std::to_string(header_lines + records + 1) + ")";
        fail(ErrorKind::input, where + ": " + why);
    }

    // htslib declares an undefined contig or tag itself (with a warning) and flags the record;
    // such a record is usable. Anything else flagged is an error.
    static bool bad_errcode(const bcf1_t* r) { return (r->errcode & ~(BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF)) != 0; }

    // What htslib accepts but a record must have: a position, a REF.
    void check_record(bcf1_t* r, const std::string& shown) const {
        if (r->pos < 0) malformed("POS is not a number >= 1: " + shown);
        if (bcf_unpack(r, BCF_UN_STR | BCF_UN_INFO) != 0) malformed("cannot unpack the record: " + shown);
        if (r->n_allele < 1 || !r->d.allele[0] || !*r->d.allele[0] || std::string(r->d.allele[0]) == ".")
            malformed("no REF allele (fewer than 5 columns?): " + shown);
    }

    // Parses `line` into r; Error(input) quoting the line when htslib rejects it.
    void parse_text(bcf1_t* r) {
        const std::string shown = shown_line(line);  // vcf_parse cuts the line into fields in place
        if (vcf_parse(&line, hdr, r) != 0 || bad_errcode(r))
            malformed("malformed VCF line (htslib's message above): " + shown);
        check_record(r, shown);
    }

    bool read_stream(bcf1_t* r) {
        if (text) {
            const int ret = hts_getline(fp, 2 /* KS_SEP_LINE */, &line);
            if (ret == -1) return false;
            if (ret < -1) malformed("read error (truncated or corrupt compressed file?)");
            if (line.l == 0) return read_stream(r);  // a blank line
            parse_text(r);
            return true;
        }
        const int ret = bcf_read(fp, hdr, r);
        if (ret == -1) return false;
        if (ret < -1 || bad_errcode(r)) malformed("malformed BCF record (htslib's message above)");
        check_record(r, "(BCF)");
        return true;
    }

    bool read_region(bcf1_t* r) {
        for (;;) {
            if (!itr) {
                if (next_query >= queries.size()) return false;
                const Query& q = queries[next_query++];
                itr = tbx ? tbx_itr_queryi(tbx, q.tid, q.start, q.end) : bcf_itr_queryi(idx, q.tid, q.start, q.end);
                if (!itr) fail(ErrorKind::input, path + ": index query failed");
            }
            const Query& q = queries[next_query - 1];
            int ret;
            if (tbx) {
                ret = tbx_itr_next(fp, tbx, itr, &line);
                if (ret >= 0) parse_text(r);
            } else {
                ret = bcf_itr_next(fp, itr, r);
                if (ret >= 0 && bad_errcode(r)) malformed("malformed BCF record (htslib's message above)");
                if (ret >= 0) check_record(r, "(BCF)");
            }
            if (ret < -1) malformed("read error through the index (a stale index, or a corrupt file?)");
            if (ret == -1) {
                hts_itr_destroy(itr);
                itr = nullptr;
                continue;
            }
            if (r->pos >= q.start && r->pos < q.end) return true;  // POS inside: read once
        }
    }
};

namespace {
// A BCF states its header text's length in its first 9 bytes (after "BCF\2\2"), and htslib
// allocates that much before it reads a byte of it: a damaged file can ask for gigabytes. Refuse
// a length the file cannot hold (deflate expands at most ~1032 times, so a compressed file bounds
// it too). Standard input is not checked (it cannot be read twice).
void check_bcf_header_length(const std::string& path, bool compressed) {
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) return;  // htslib's own read reports what is wrong
    BGZF* b = bgzf_open(path.c_str(), "r");
    if (!b) return;
    unsigned char head[9];
    const bool whole = bgzf_read(b, head, sizeof head) == static_cast<ssize_t>(sizeof head);
    bgzf_close(b);
    if (!whole) return;
    const std::uint64_t declared = static_cast<std::uint64_t>(head[5]) | static_cast<std::uint64_t>(head[6]) << 8 |
                                   static_cast<std::uint64_t>(head[7]) << 16 | static_cast<std::uint64_t>(head[8]) << 24;
    const std::uint64_t room = compressed ? 1032 * static_cast<std::uint64_t>(size) : size;
    if (declared > room)
        fail(ErrorKind::input, path + ": damaged BCF: its header claims " + std::to_string(declared) +
                                   " bytes of text, more than the " + std::to_string(size) + "-byte file can hold");
}
}  // namespace

VcfReader::VcfReader(const std::string& path, const std::vector<Region>& regions) : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.path = path;
    m.fp = hts_open(path.c_str(), "r");
    if (!m.fp) fail(ErrorKind::input, path + ": cannot open the VCF/BCF file");
    const htsFormat* f = hts_get_format(m.fp);
    if (f->format != vcf && f->format != bcf)
        fail(ErrorKind::input, path + ": not a VCF or BCF file (htslib detects " +
                                   hts_format_name(*f) + ")");
    m.text = f->format == vcf;
    if (!m.text && path != "-") check_bcf_header_length(path, f->compression != no_compression);
    m.hdr = bcf_hdr_read(m.fp);
    if (!m.hdr) fail(ErrorKind::input, path + ": no valid VCF header (htslib's message above)");
    if (m.text && path != "-") {  // the header's lines as in the file (htslib adds some of its own)
        htsFile* again = hts_open(path.c_str(), "r");
        kstring_t ks = {0, 0, nullptr};
        while (again && hts_getline(again, 2 /* KS_SEP_LINE */, &ks) >= 0 && ks.l > 0 && ks.s[0] == '#') m.header_lines++;
        free(ks.s);
        if (again) hts_close(again);
    }
    if (regions.empty()) return;

    m.regional = true;
    const std::string how = "sort, compress and index it: bcftools sort -Oz -o x.vcf.gz " + path +
                            " && tabix -p vcf x.vcf.gz (or bcftools index)";
    if (path == "-") fail(ErrorKind::usage, "--region/--regions need an indexed VCF file, not standard input");
    if (f->compression != bgzf)
        fail(ErrorKind::usage, path + ": --region/--regions need a bgzip-compressed, sorted and indexed VCF/BCF; " + how);
    if (m.text) m.tbx = tbx_index_load3(path.c_str(), nullptr, HTS_IDX_SILENT_FAIL);
    else m.idx = bcf_index_load3(path.c_str(), nullptr, HTS_IDX_SILENT_FAIL);
    if (!m.tbx && !m.idx)
        fail(ErrorKind::usage, path + ": --region/--regions need an index (" + path + (m.text ? ".tbi or .csi" : ".csi") +
                                   ") and none was found; " + how);
    // the regions per contig (in the index's order), merged
    for (const Region& r : regions) {
        const int tid = m.tbx ? tbx_name2id(m.tbx, r.chrom.c_str()) : bcf_hdr_name2id(m.hdr, r.chrom.c_str());
        if (tid < 0) continue;  // no record on that contig
        const std::int64_t end = std::min<std::int64_t>(r.end, HTS_POS_MAX - 1);
        if (end > r.start) m.queries.push_back({tid, r.start, end});
    }
    std::sort(m.queries.begin(), m.queries.end(), [](const Impl::Query& a, const Impl::Query& b) {
        return a.tid != b.tid ? a.tid < b.tid : a.start < b.start;
    });
    std::vector<Impl::Query> merged;
    for (const auto& q : m.queries) {
        if (!merged.empty() && merged.back().tid == q.tid && q.start <= merged.back().end)
            merged.back().end = std::max(merged.back().end, q.end);
        else merged.push_back(q);
    }
    m.queries = std::move(merged);
}

VcfReader::~VcfReader() = default;

BcfRecordPtr VcfReader::next() {
    Impl& m = *impl_;
    BcfRecordPtr r(bcf_init());
    if (!r) throw std::bad_alloc();
    {
        std::lock_guard<std::mutex> lock(m.mutex);
        if (!(m.regional ? m.read_region(r.get()) : m.read_stream(r.get()))) return nullptr;
    }
    m.records++;
    return r;
}

bcf_hdr_t* VcfReader::header() noexcept { return impl_->hdr; }
std::mutex& VcfReader::header_mutex() noexcept { return impl_->mutex; }
const std::string& VcfReader::path() const noexcept { return impl_->path; }
std::size_t VcfReader::records_read() const noexcept { return impl_->records; }

bool is_vcf_output(const std::string& path) {
    const std::string p = lower(path);
    return ends_with(p, ".vcf.gz") || ends_with(p, ".vcf.bgz") || ends_with(p, ".vcf") || ends_with(p, ".bcf");
}

VariantOutputFormat variant_output_format(const std::string& path) {
    const std::string p = lower(path);
    if (ends_with(p, ".vcf.gz") || ends_with(p, ".vcf.bgz")) return VariantOutputFormat::vcf_gz;
    if (ends_with(p, ".vcf")) return VariantOutputFormat::vcf;
    if (ends_with(p, ".bcf")) return VariantOutputFormat::bcf;
    if (is_tsv_output(path)) return VariantOutputFormat::tsv;  // also .tsv.gz and "-" (standard output)
    fail(ErrorKind::usage, path + ": unknown output extension; expected .vcf, .vcf.gz, .bcf, .tsv or .tsv.gz, or - "
                                  "(the TSV on standard output)");
}

struct VcfWriter::Impl {
    std::string path;
    VariantOutputFormat format;
    bcf_hdr_t* hdr = nullptr;
    std::unique_ptr<AtomicOutputFile> out, index;
    htsFile* fp = nullptr;
    std::size_t records = 0;

    ~Impl() {
        if (fp) hts_close(fp);
    }
};

VcfWriter::VcfWriter(const std::string& path, VariantOutputFormat format, bcf_hdr_t* header)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.path = path;
    m.format = format;
    m.hdr = header;
    m.out = std::make_unique<AtomicOutputFile>(path);
    if (format != VariantOutputFormat::vcf) m.index = std::make_unique<AtomicOutputFile>(index_path());
    m.out->finish();  // htslib reopens the temporary by name
    const char* mode = format == VariantOutputFormat::vcf ? "w" : format == VariantOutputFormat::vcf_gz ? "wz" : "wb";
    m.fp = hts_open(m.out->temp_path().c_str(), mode);
    if (!m.fp) fail(ErrorKind::io, path + ": cannot open the output for writing");
    if (bcf_hdr_write(m.fp, m.hdr) != 0) fail(ErrorKind::io, path + ": cannot write the VCF header");
}

VcfWriter::~VcfWriter() = default;

std::string VcfWriter::index_path() const {
    return impl_->path + (impl_->format == VariantOutputFormat::bcf ? ".csi" : ".tbi");
}

void VcfWriter::write(bcf1_t* record) {
    if (bcf_write(impl_->fp, impl_->hdr, record) != 0) fail(ErrorKind::io, impl_->path + ": write failed");
    impl_->records++;
}

bool VcfWriter::commit() {
    Impl& m = *impl_;
    const int rc = hts_close(m.fp);
    m.fp = nullptr;
    if (rc != 0) fail(ErrorKind::io, m.path + ": write failed on close");
    bool indexed = false;
    if (m.index) {
        m.index->finish();
        const int min_shift = m.format == VariantOutputFormat::bcf ? 14 : 0;  // CSI for BCF, TBI for VCF.gz
        if (bcf_index_build3(m.out->temp_path().c_str(), m.index->temp_path().c_str(), min_shift, 0) == 0) {
            indexed = true;
        } else {
            log_warning(m.path + ": not indexed: its records are not sorted by position (as in the input); "
                                 "sort it (bcftools sort) to index it");
        }
    }
    m.out->commit();
    if (indexed) m.index->commit();
    return indexed;
}

namespace {

// The header as VCF text lines (htslib's formatting, the same for a VCF and a BCF input).
std::vector<std::string> header_lines(bcf_hdr_t* hdr) {
    kstring_t ks = {0, 0, nullptr};
    if (bcf_hdr_format(hdr, 0, &ks) != 0) {
        free(ks.s);
        fail(ErrorKind::io, "cannot format a VCF header");
    }
    std::vector<std::string> lines;
    std::size_t from = 0;
    const std::string text(ks.s ? ks.s : "", ks.l);
    free(ks.s);
    while (from < text.size()) {
        const std::size_t to = std::min(text.find('\n', from), text.size());
        lines.push_back(text.substr(from, to - from));
        from = to + 1;
    }
    return lines;
}

}  // namespace

std::uint64_t vcf_concatenate(const std::vector<std::string>& inputs, const std::string& output) {
    if (inputs.empty()) fail(ErrorKind::usage, "no VCF files to concatenate");
    const VariantOutputFormat format = variant_output_format(output);
    if (format == VariantOutputFormat::tsv) fail(ErrorKind::usage, output + ": not a VCF or BCF output name");
    // the first reader's header is the output's: it lives until the writer is done
    VcfReader first(inputs[0], {});
    const std::vector<std::string> header = header_lines(first.header());
    VcfWriter writer(output, format, first.header());
    std::uint64_t records = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        std::unique_ptr<VcfReader> other;
        if (i > 0) {
            other = std::make_unique<VcfReader>(inputs[i], std::vector<Region>{});
            const std::vector<std::string> lines = header_lines(other->header());
            const auto [a, b] = std::mismatch(header.begin(), header.end(), lines.begin(), lines.end());
            if (a != header.end() || b != lines.end())
                fail(ErrorKind::input, inputs[i] + ": its VCF header differs from that of " + inputs[0] + " (" +
                                           (a != header.end() ? "'" + *a + "'" : std::string("nothing")) + " there, " +
                                           (b != lines.end() ? "'" + *b + "'" : std::string("nothing")) +
                                           " here); every shard must come from the same run");
        }
        VcfReader& reader = i > 0 ? *other : first;
        while (const BcfRecordPtr r = reader.next()) {
            writer.write(r.get());
            records++;
        }
    }
    writer.commit();
    return records;
}

}  // namespace dnamba
