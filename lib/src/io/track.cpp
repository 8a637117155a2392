// Genome browser tracks (bedGraph or bigWig) of scored intervals such as sliding windows.
//
// add() only stores the intervals (24 bytes each, per chromosome); commit() turns each
// chromosome's intervals into a flat, non-overlapping track with one sweep over the sorted
// interval starts and a min-heap of the open intervals' ends (O(n log n), memory O(depth)):
// every segment between consecutive interval boundaries that is covered at all gets the
// mean of the values covering it, adjacent segments with exactly equal values are merged,
// uncovered gaps are left out. The output goes through AtomicOutputFile: the temporary file
// is created by the constructor (an unwritable directory fails before any work) and renamed
// onto the final path by commit(). For bigWig, libBigWig opens the temporary path itself.
#include <sys/types.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <queue>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dnamba/error.hpp"
#include "io/text_util.hpp"
#include "dnamba/io.hpp"
#include "io/track.hpp"
#include "io/atomic_output.hpp"
#include "io/provenance.hpp"

// bigWig.h pulls in <curl/curl.h> unless NOCURL is defined. Nothing here uses remote files,
// and NOCURL only drops a CURL* member from a union of pointers inside URL_t (its layout is
// unchanged), so the curl-enabled Debian libBigWig is used without libcurl's headers.
#ifndef NOCURL
#define NOCURL
#endif
#include <bigWig.h>

namespace dnamba {
namespace {

struct Interval {
    std::int64_t start;
    std::int64_t end;
    float value;
};

constexpr std::int64_t k_bigwig_max_coord = 0xFFFFFFFFLL;  // coordinates are uint32 in bigWig

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::uint32_t float_bits(float v) {
    std::uint32_t u;
    std::memcpy(&u, &v, sizeof u);
    return u;
}

// Total order (start, end, value bits): the track does not depend on the order of add().
bool interval_less(const Interval& a, const Interval& b) {
    if (a.start != b.start) return a.start < b.start;
    if (a.end != b.end) return a.end < b.end;
    return float_bits(a.value) < float_bits(b.value);
}

// The mean of the values covering a position, updated as intervals open and close. Finite
// values are summed in double with Neumaier compensation; NaN and infinities are counted
// apart, so that one non-finite window does not poison the segments after it closes.
class CoverMean {
public:
    void add(float v) { update(v, +1); }
    void remove(float v) { update(v, -1); }
    void reset() { *this = CoverMean(); }
    [[nodiscard]] float mean() const {
        if (nan_ > 0 || (pos_inf_ > 0 && neg_inf_ > 0)) return std::nanf("");
        if (pos_inf_ > 0) return INFINITY;
        if (neg_inf_ > 0) return -INFINITY;
        const std::int64_t n = count_ - nan_ - pos_inf_ - neg_inf_;
        return static_cast<float>((sum_ + comp_) / static_cast<double>(n));
    }

private:
    void update(float v, int sign) {
        count_ += sign;
        if (std::isnan(v)) {
            nan_ += sign;
        } else if (std::isinf(v)) {
            (v > 0 ? pos_inf_ : neg_inf_) += sign;
        } else {
            const double x = sign * static_cast<double>(v);
            const double t = sum_ + x;
            comp_ += std::fabs(sum_) >= std::fabs(x) ? (sum_ - t) + x : (x - t) + sum_;
            sum_ = t;
        }
    }

    double sum_ = 0.0;
    double comp_ = 0.0;
    std::int64_t count_ = 0, nan_ = 0, pos_inf_ = 0, neg_inf_ = 0;
};

// Joins contiguous segments with exactly equal values (==: NaN segments stay separate, 0.0
// and -0.0 merge). Calls sink(start, end, value) once per output row.
template <class Sink>
class SegmentMerger {
public:
    explicit SegmentMerger(Sink& sink) : sink_(sink) {}
    void push(std::int64_t start, std::int64_t end, float value) {
        if (open_ && start == end_ && value == value_) {
            end_ = end;
            return;
        }
        flush();
        open_ = true;
        start_ = start;
        end_ = end;
        value_ = value;
    }
    void flush() {
        if (open_) sink_(start_, end_, value_);
        open_ = false;
    }

private:
    Sink& sink_;
    bool open_ = false;
    std::int64_t start_ = 0, end_ = 0;
    float value_ = 0.0f;
};

// Sorts one chromosome's intervals and emits its merged, non-overlapping segments.
template <class Sink>
void sweep(std::vector<Interval>& iv, Sink& sink) {
    std::sort(iv.begin(), iv.end(), interval_less);
    struct Open {
        std::int64_t end;
        float value;
    };
    auto later_end = [](const Open& a, const Open& b) {
        if (a.end != b.end) return a.end > b.end;
        return float_bits(a.value) > float_bits(b.value);
    };
    std::priority_queue<Open, std::vector<Open>, decltype(later_end)> open(later_end);
    SegmentMerger<Sink> merger(sink);
    CoverMean cover;
    std::size_t i = 0;
    std::int64_t pos = 0;
    while (i < iv.size() || !open.empty()) {
        if (open.empty()) {
            cover.reset();  // exact zero again after every gap
            pos = iv[i].start;
        }
        for (; i < iv.size() && iv[i].start == pos; ++i) {
            open.push({iv[i].end, iv[i].value});
            cover.add(iv[i].value);
        }
        std::int64_t next = open.top().end;
        if (i < iv.size() && iv[i].start < next) next = iv[i].start;
        merger.push(pos, next, cover.mean());
        pos = next;
        while (!open.empty() && open.top().end == pos) {
            cover.remove(open.top().value);
            open.pop();
        }
    }
    merger.flush();
}

void append_int(std::string& line, std::int64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    line.append(buf, r.ptr);
}

void append_float(std::string& line, float v) {
    char buf[48];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    line.append(buf, r.ptr);
}

// Owns a bigWigFile_t; bwClose() finalizes (index, zoom levels) and frees it.
struct BigWigCloser {
    void operator()(bigWigFile_t* fp) const noexcept { bwClose(fp); }
};
using BigWigPtr = std::unique_ptr<bigWigFile_t, BigWigCloser>;

// libBigWig treats "http://", "https://" and "ftp://" names as URLs when reading.
std::string local_name(const std::string& path) { return path.empty() || path[0] == '/' ? path : "./" + path; }

}  // namespace

TrackFormat track_format_for_path(const std::string& path) {
    const std::string p = io_detail::lower_case(path);
    if (is_stdout_path(p)) return TrackFormat::bedgraph;  // "-": bedGraph on standard output
    if (ends_with(p, ".bedgraph") || ends_with(p, ".bg") || ends_with(p, ".bedgraph.gz") || ends_with(p, ".bg.gz"))
        return TrackFormat::bedgraph;
    if (ends_with(p, ".bw") || ends_with(p, ".bigwig")) return TrackFormat::bigwig;
    throw Error(ErrorKind::usage, path + ": unknown track format; expected a file name ending in .bedGraph or .bg "
                                         "(bedGraph; add .gz for bgzip-compressed, or - for standard output) or .bw or .bigWig (bigWig)");
}

struct TrackWriter::Impl {
    std::string path;
    TrackFormat format;
    std::string track_name;
    std::string provenance;
    std::vector<std::pair<std::string, std::int64_t>> chroms;
    std::unordered_map<std::string, std::size_t> chrom_index;
    std::vector<std::vector<Interval>> intervals;  // per chrom, in chrom_sizes order
    std::size_t last_chrom = 0;                    // cache for runs of adds on one chrom
    std::unique_ptr<AtomicOutputFile> out;
    bool committed = false;

    [[noreturn]] void fail_add(const std::string& chrom, std::int64_t start, std::int64_t end,
                               const std::string& why) const {
        throw Error(ErrorKind::input, path + ": cannot add interval " + chrom + ":" + std::to_string(start) + "-" +
                                          std::to_string(end) + " to the track: " + why);
    }

    void write_bedgraph();
    void write_bigwig();
    void check_bigwig(const std::string& temp);
    [[noreturn]] void fail_bigwig(const std::string& temp, const std::string& what) const {
        throw Error(ErrorKind::io, path + ": cannot write bigWig (temporary file " + temp + "): " + what);
    }
};

TrackWriter::TrackWriter(const std::string& path, std::vector<std::pair<std::string, std::int64_t>> chrom_sizes,
                         const std::string& track_name, const std::string& provenance)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.path = path;
    m.provenance = provenance;
    for (char& c : m.provenance)
        if (c == '\n' || c == '\r') c = ' ';
    m.format = track_format_for_path(path);
    m.track_name = track_name;
    for (char& c : m.track_name) {
        if (c == '"') c = '\'';
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    m.chroms = std::move(chrom_sizes);
    if (m.format == TrackFormat::bigwig && m.chroms.empty()) {
        throw Error(ErrorKind::usage, path + ": cannot write a bigWig track without any chromosome");
    }
    m.chrom_index.reserve(m.chroms.size());
    for (std::size_t i = 0; i < m.chroms.size(); ++i) {
        const auto& [name, length] = m.chroms[i];
        if (name.empty()) throw Error(ErrorKind::input, path + ": empty chromosome name in the track's chromosome list");
        if (length < 0) {
            throw Error(ErrorKind::input, path + ": chromosome " + name + " has a negative length (" +
                                              std::to_string(length) + ")");
        }
        if (m.format == TrackFormat::bigwig && length > k_bigwig_max_coord) {
            throw Error(ErrorKind::usage, path + ": chromosome " + name + " is " + std::to_string(length) +
                                              " bp long, above the bigWig limit of 4294967295; write a bedGraph "
                                              "track (.bedGraph) instead");
        }
        if (!m.chrom_index.emplace(name, i).second) {
            throw Error(ErrorKind::input, path + ": chromosome " + name + " is listed twice");
        }
    }
    m.intervals.resize(m.chroms.size());
    // bedGraph is text: "-" and ".gz" as AtomicOutputFile's TextOutput; bigWig is a plain file.
    m.out = std::make_unique<AtomicOutputFile>(
        path, m.format == TrackFormat::bedgraph ? TextOutput::yes : TextOutput::no);
}

TrackWriter::~TrackWriter() = default;  // the AtomicOutputFile removes an uncommitted temp

void TrackWriter::add(const std::string& chrom, std::int64_t start, std::int64_t end, float value) {
    Impl& m = *impl_;
    if (m.committed) throw std::logic_error("TrackWriter::add() after commit() for " + m.path);
    std::size_t ci = m.last_chrom;
    if (ci >= m.chroms.size() || m.chroms[ci].first != chrom) {
        const auto it = m.chrom_index.find(chrom);
        if (it == m.chrom_index.end()) {
            std::string known;
            for (std::size_t i = 0; i < m.chroms.size() && i < 5; ++i) known += (i ? ", " : "") + m.chroms[i].first;
            if (m.chroms.size() > 5) known += ", ... (" + std::to_string(m.chroms.size()) + " in all)";
            if (m.chroms.empty()) known = "none";
            m.fail_add(chrom, start, end, "unknown chromosome \"" + chrom + "\" (known: " + known + ")");
        }
        ci = m.last_chrom = it->second;
    }
    const std::int64_t length = m.chroms[ci].second;
    if (start < 0) m.fail_add(chrom, start, end, "negative start");
    if (start >= end) m.fail_add(chrom, start, end, "empty interval (start >= end)");
    if (end > length) {
        m.fail_add(chrom, start, end, "it ends past the end of " + chrom + " (length " + std::to_string(length) + ")");
    }
    m.intervals[ci].push_back({start, end, value});
}

void TrackWriter::commit() {
    Impl& m = *impl_;
    if (m.committed) throw std::logic_error("TrackWriter::commit() called twice for " + m.path);
    m.committed = true;  // even on failure: no add() or second commit() afterwards
    if (m.format == TrackFormat::bedgraph) {
        m.write_bedgraph();
    } else {
        m.write_bigwig();
    }
    m.out->commit();
}

void TrackWriter::Impl::write_bedgraph() {
    constexpr std::size_t k_flush = 1u << 20;
    std::string buf;
    buf.reserve(k_flush + 256);
    if (!track_name.empty()) buf += "track type=bedGraph name=\"" + track_name + "\"\n";
    if (!provenance.empty()) buf += k_provenance_line + provenance + "\n";  // a comment to browsers
    for (std::size_t ci = 0; ci < chroms.size(); ++ci) {
        const std::string& name = chroms[ci].first;
        auto sink = [&](std::int64_t s, std::int64_t e, float v) {
            buf += name;
            buf += '\t';
            append_int(buf, s);
            buf += '\t';
            append_int(buf, e);
            buf += '\t';
            append_float(buf, v);
            buf += '\n';
            if (buf.size() >= k_flush) {
                out->write(buf.data(), buf.size());
                buf.clear();
            }
        };
        sweep(intervals[ci], sink);
        std::vector<Interval>().swap(intervals[ci]);  // free as we go
    }
    out->write(buf.data(), buf.size());
    out->finish();
}

void TrackWriter::Impl::write_bigwig() {
    // The file is written by libBigWig under the temporary name AtomicOutputFile created
    // (closed first, reopened and truncated by bwOpen), so the rename, the removal on failure
    // and the signal-handler cleanup all stay AtomicOutputFile's.
    out->finish();
    const std::string temp = out->temp_path();
    const auto fail = [this, &temp](const std::string& what) { fail_bigwig(temp, what); };

    // The chromosome B+ tree must be sorted by name for readers that search it (UCSC tools
    // with more than one tree block), and the data must follow the tree's order.
    std::vector<std::size_t> order(chroms.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return std::strcmp(chroms[a].first.c_str(), chroms[b].first.c_str()) < 0; });
    std::vector<const char*> names;
    std::vector<std::uint32_t> lengths;
    for (const std::size_t ci : order) {
        names.push_back(chroms[ci].first.c_str());
        lengths.push_back(static_cast<std::uint32_t>(chroms[ci].second));
    }

    {
        BigWigPtr bw(bwOpen(local_name(temp).c_str(), nullptr, "w"));
        if (!bw) fail("bwOpen failed");
        if (const int rc = bwCreateHdr(bw.get(), 10)) fail("bwCreateHdr failed (" + std::to_string(rc) + ")");
        bw->cl = bwCreateChromList(names.data(), lengths.data(), static_cast<std::int64_t>(names.size()));
        if (!bw->cl) fail("bwCreateChromList failed (out of memory?)");
        if (const int rc = bwWriteHdr(bw.get())) fail("bwWriteHdr failed (" + std::to_string(rc) + ")");

        constexpr std::size_t k_batch = 1u << 15;
        std::vector<std::uint32_t> starts, ends;
        std::vector<float> values;
        starts.reserve(k_batch);
        ends.reserve(k_batch);
        values.reserve(k_batch);
        bool seeded = false;
        for (const std::size_t ci : order) {
            const char* name = chroms[ci].first.c_str();
            bool chrom_started = false;
            auto flush = [&]() {
                if (values.empty()) return;
                if (!seeded) {
                    // libBigWig's running min/max starts at (DBL_MAX, DBL_MIN) and updates
                    // max only when the value is not a new min: seed both with a real value.
                    const auto v = std::find_if(values.begin(), values.end(), [](float x) { return !std::isnan(x); });
                    if (v != values.end()) {
                        bw->hdr->minVal = bw->hdr->maxVal = *v;
                        seeded = true;
                    }
                }
                const auto n = static_cast<std::uint32_t>(values.size());
                int rc;
                if (!chrom_started) {
                    const std::vector<const char*> chrom_names(values.size(), name);
                    rc = bwAddIntervals(bw.get(), chrom_names.data(), starts.data(), ends.data(), values.data(), n);
                    chrom_started = true;
                } else {
                    rc = bwAppendIntervals(bw.get(), starts.data(), ends.data(), values.data(), n);
                }
                if (rc) fail("adding intervals of " + std::string(name) + " failed (" + std::to_string(rc) + ")");
                if (std::ferror(bw->URL->x.fp)) fail(std::string("write failed: ") + std::strerror(errno));
                starts.clear();
                ends.clear();
                values.clear();
            };
            auto sink = [&](std::int64_t s, std::int64_t e, float v) {
                starts.push_back(static_cast<std::uint32_t>(s));
                ends.push_back(static_cast<std::uint32_t>(e));
                values.push_back(v);
                if (values.size() >= k_batch) flush();
            };
            sweep(intervals[ci], sink);
            flush();
            std::vector<Interval>().swap(intervals[ci]);
        }
        if (std::fflush(bw->URL->x.fp) != 0 || std::ferror(bw->URL->x.fp)) {
            fail(std::string("write failed: ") + std::strerror(errno));
        }
    }  // bwClose: writes the index and zoom levels; it reports errors only on stderr, so:
    check_bigwig(temp);
}

// Reopens the finished file with libBigWig's reader: header, chromosome list and index must
// all read back, which catches a truncated file (e.g. a full disk during bwClose).
void TrackWriter::Impl::check_bigwig(const std::string& temp) {
    BigWigPtr bw(bwOpen(local_name(temp).c_str(), nullptr, "r"));
    if (!bw || !bw->hdr || !bw->cl || bw->cl->nKeys != static_cast<std::int64_t>(chroms.size())) {
        fail_bigwig(temp, "the finished file does not read back (disk full?)");
    }
}

}  // namespace dnamba
