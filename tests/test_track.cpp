// Tests of the genome-track writer (io/track.hpp): the segment arithmetic of overlapping
// windows against hand-computed answers, the exact bedGraph text, bigWig files read back with
// libBigWig's own reader (intervals, per-base values, zoom-level and header summaries), the
// atomic-output behaviour, and every error case.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "dnamba/error.hpp"
#include "io/track.hpp"

// See lib/src/io/track.cpp: bigWig.h without curl's headers.
#ifndef NOCURL
#define NOCURL
#endif
#include <bigWig.h>

using namespace dnamba;
namespace fs = std::filesystem;

namespace {

using ChromSizes = std::vector<std::pair<std::string, std::int64_t>>;

std::string track_dir(const std::string& name) {
    // per process: ctest runs test cases in parallel processes that share helper names
    const fs::path p = fs::path(DNAMBA_TEST_TMP) / ("track" + std::to_string(::getpid())) / name;
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> dir_entries(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

struct Iv {
    std::string chrom;
    std::int64_t start, end;
    float value;
};

struct Row {
    std::string chrom;
    std::int64_t start, end;
    float value;
    bool operator==(const Row& o) const {
        return chrom == o.chrom && start == o.start && end == o.end && value == o.value;
    }
};

std::ostream& operator<<(std::ostream& os, const Row& r) {
    return os << r.chrom << ':' << r.start << '-' << r.end << '=' << r.value;
}

// Writes `ivs` as a bedGraph (no track line) and returns its text.
std::string bedgraph_of(const ChromSizes& sizes, const std::vector<Iv>& ivs, const std::string& name = "") {
    const std::string path = track_dir("bg_of") + "/t.bedGraph";
    TrackWriter w(path, sizes, name);
    for (const auto& iv : ivs) w.add(iv.chrom, iv.start, iv.end, iv.value);
    w.commit();
    return slurp(path);
}

std::vector<Row> parse_bedgraph(const std::string& text) {
    std::vector<Row> rows;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("track ", 0) == 0) continue;
        std::istringstream f(line);
        Row r;
        std::string v;
        f >> r.chrom >> r.start >> r.end >> v;
        r.value = std::stof(v);
        rows.push_back(r);
    }
    return rows;
}

std::vector<Row> rows_of(const ChromSizes& sizes, const std::vector<Iv>& ivs) {
    return parse_bedgraph(bedgraph_of(sizes, ivs));
}

Error error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    FAIL("no dnamba::Error thrown");
    return Error(ErrorKind::usage, "");
}

struct BwCloser {
    void operator()(bigWigFile_t* f) const { bwClose(f); }
};
using BwPtr = std::unique_ptr<bigWigFile_t, BwCloser>;

BwPtr open_bigwig(const std::string& path) {
    BwPtr bw(bwOpen(path.c_str(), nullptr, "r"));
    REQUIRE(bw);
    return bw;
}

// Every interval libBigWig reads back for one chromosome.
std::vector<Row> bigwig_rows(bigWigFile_t* bw, const std::string& chrom, std::uint32_t length) {
    std::vector<Row> rows;
    bwOverlappingIntervals_t* o = bwGetOverlappingIntervals(bw, chrom.c_str(), 0, length);
    REQUIRE(o != nullptr);
    for (std::uint32_t i = 0; i < o->l; ++i) rows.push_back({chrom, o->start[i], o->end[i], o->value[i]});
    bwDestroyOverlappingIntervals(o);
    return rows;
}

std::uint32_t bigwig_chrom_length(bigWigFile_t* bw, const std::string& chrom) {
    for (std::int64_t i = 0; i < bw->cl->nKeys; ++i) {
        if (chrom == bw->cl->chrom[i]) return bw->cl->len[i];
    }
    FAIL("chromosome " << chrom << " not in the bigWig");
    return 0;
}

}  // namespace

TEST_CASE("track format from the path's extension", "[track]") {
    CHECK(track_format_for_path("a.bedGraph") == TrackFormat::bedgraph);
    CHECK(track_format_for_path("dir/a.bedgraph") == TrackFormat::bedgraph);
    CHECK(track_format_for_path("a.BG") == TrackFormat::bedgraph);
    CHECK(track_format_for_path("a.bw") == TrackFormat::bigwig);
    CHECK(track_format_for_path("/x/a.bigWig") == TrackFormat::bigwig);
    CHECK(track_format_for_path("a.BIGWIG") == TrackFormat::bigwig);
    for (const std::string bad : {"a.bed", "a.wig", "a", "a.bw.gz", ""}) {
        const Error e = error_of([&] { (void)track_format_for_path(bad); });
        CHECK(e.kind() == ErrorKind::usage);
        CHECK_THAT(e.what(), Catch::Contains(".bw") && Catch::Contains(".bedGraph"));
    }
    CHECK(error_of([] { TrackWriter w(track_dir("ext") + "/t.txt", {{"c", 10}}); }).kind() == ErrorKind::usage);
    CHECK(dir_entries(fs::path(DNAMBA_TEST_TMP) / ("track" + std::to_string(::getpid())) / "ext").empty());
}

TEST_CASE("track: two overlapping windows give three segments (exact bedGraph text)", "[track]") {
    const ChromSizes sizes{{"chr1", 1000}};
    CHECK(bedgraph_of(sizes, {{"chr1", 0, 100, 1.0f}, {"chr1", 50, 150, 3.0f}}, "my track") ==
          "track type=bedGraph name=\"my track\"\n"
          "chr1\t0\t50\t1\n"
          "chr1\t50\t100\t2\n"
          "chr1\t100\t150\t3\n");
    // No track line without a name; quotes in the name cannot break the line.
    CHECK(bedgraph_of(sizes, {{"chr1", 0, 100, 1.0f}}) == "chr1\t0\t100\t1\n");
    CHECK(bedgraph_of(sizes, {{"chr1", 0, 100, 1.0f}}, "a\"b") == "track type=bedGraph name=\"a'b\"\nchr1\t0\t100\t1\n");
    // Shortest round-trip float text; add order does not matter.
    CHECK(bedgraph_of(sizes, {{"chr1", 10, 20, 1.0f / 3.0f}, {"chr1", 0, 10, 0.1f}, {"chr1", 20, 30, -2.5e-7f}}) ==
          "chr1\t0\t10\t0.1\nchr1\t10\t20\t0.33333334\nchr1\t20\t30\t-2.5e-07\n");
}

TEST_CASE("track: sliding windows with stride < window are averaged per step", "[track]") {
    const ChromSizes sizes{{"c", 250}};
    // window 100, stride 50: [0,100)=1 [50,150)=2 [100,200)=4 [150,250)=8
    CHECK(rows_of(sizes, {{"c", 0, 100, 1}, {"c", 50, 150, 2}, {"c", 100, 200, 4}, {"c", 150, 250, 8}}) ==
          std::vector<Row>{{"c", 0, 50, 1}, {"c", 50, 100, 1.5f}, {"c", 100, 150, 3}, {"c", 150, 200, 6},
                           {"c", 200, 250, 8}});
    // window 100, stride 40 (steps not aligned with window ends): [0,100)=1 [40,140)=2 [80,180)=3
    CHECK(rows_of(sizes, {{"c", 80, 180, 3}, {"c", 0, 100, 1}, {"c", 40, 140, 2}}) ==
          std::vector<Row>{{"c", 0, 40, 1}, {"c", 40, 80, 1.5f}, {"c", 80, 100, 2}, {"c", 100, 140, 2.5f},
                           {"c", 140, 180, 3}});
    // window 100, stride 25: up to four windows deep; values 4 8 12 16 20
    // breakpoints every 25: means of the covering windows
    CHECK(rows_of(sizes, {{"c", 0, 100, 4}, {"c", 25, 125, 8}, {"c", 50, 150, 12}, {"c", 75, 175, 16},
                          {"c", 100, 200, 20}}) ==
          std::vector<Row>{{"c", 0, 25, 4},
                           {"c", 25, 50, 6},     // (4+8)/2
                           {"c", 50, 75, 8},     // (4+8+12)/3
                           {"c", 75, 100, 10},   // (4+8+12+16)/4
                           {"c", 100, 125, 14},  // (8+12+16+20)/4
                           {"c", 125, 150, 16},  // (12+16+20)/3
                           {"c", 150, 175, 18},  // (16+20)/2
                           {"c", 175, 200, 20}});
    // The same window twice (e.g. both strands) and a nested window.
    CHECK(rows_of(sizes, {{"c", 0, 100, 1}, {"c", 0, 100, 2}, {"c", 20, 30, 4.5f}}) ==
          std::vector<Row>{{"c", 0, 20, 1.5f}, {"c", 20, 30, 2.5f}, {"c", 30, 100, 1.5f}});
}

TEST_CASE("track: adjacent equal values merge, gaps stay out", "[track]") {
    const ChromSizes sizes{{"c", 1000}};
    CHECK(rows_of(sizes, {{"c", 0, 10, 5}, {"c", 10, 20, 5}, {"c", 20, 30, 6}}) ==
          std::vector<Row>{{"c", 0, 20, 5}, {"c", 20, 30, 6}});
    // Overlapping windows of one value: one row.
    CHECK(rows_of(sizes, {{"c", 0, 100, 2}, {"c", 50, 150, 2}, {"c", 100, 200, 2}}) ==
          std::vector<Row>{{"c", 0, 200, 2}});
    // A mean that equals the next window's value merges with it.
    CHECK(rows_of(sizes, {{"c", 0, 100, 1}, {"c", 50, 100, 3}, {"c", 100, 200, 2}}) ==
          std::vector<Row>{{"c", 0, 50, 1}, {"c", 50, 200, 2}});
    // Equal values across a gap are not merged; uncovered bases are absent.
    CHECK(rows_of(sizes, {{"c", 10, 20, 5}, {"c", 30, 40, 5}, {"c", 40, 45, 7}, {"c", 900, 1000, 1}}) ==
          std::vector<Row>{{"c", 10, 20, 5}, {"c", 30, 40, 5}, {"c", 40, 45, 7}, {"c", 900, 1000, 1}});
    // Non-finite values do not poison the windows after them.
    CHECK(rows_of(sizes, {{"c", 0, 10, INFINITY}, {"c", 5, 15, 1}, {"c", 15, 20, 1}}) ==
          std::vector<Row>{{"c", 0, 10, INFINITY}, {"c", 10, 20, 1}});
}

TEST_CASE("track: chromosomes in chrom_sizes order whatever the add order", "[track]") {
    const ChromSizes sizes{{"chr2", 100}, {"chr10", 100}, {"chr1", 100}, {"chrEmpty", 100}, {"chrM", 50}};
    CHECK(bedgraph_of(sizes, {{"chrM", 0, 50, 9},
                              {"chr1", 50, 60, 2},
                              {"chr1", 0, 10, 1},
                              {"chr10", 0, 100, 3},
                              {"chr2", 90, 100, 4},
                              {"chr2", 0, 10, 5}}) ==
          "chr2\t0\t10\t5\nchr2\t90\t100\t4\n"
          "chr10\t0\t100\t3\n"
          "chr1\t0\t10\t1\nchr1\t50\t60\t2\n"
          "chrM\t0\t50\t9\n");
    // An empty track is a valid (empty) file.
    CHECK(bedgraph_of(sizes, {}) == "");
    // Coordinates beyond 32 bits are fine in bedGraph.
    CHECK(bedgraph_of({{"big", 6000000000LL}}, {{"big", 4500000000LL, 5999999999LL, 1}}) ==
          "big\t4500000000\t5999999999\t1\n");
}

TEST_CASE("track: bigWig reads back equal to the bedGraph", "[track]") {
    const std::string dir = track_dir("bigwig");
    const ChromSizes sizes{{"chrB", 400000}, {"chrA", 1000}, {"chrUn", 500}, {"chr_short", 60}};
    // Sliding windows, window 40 stride 10 with varied values, enough segments for several
    // batches and many blocks; a few windows on chrA and chr_short; nothing on chrUn.
    std::vector<Iv> ivs;
    for (std::int64_t s = 0; s + 40 <= 400000; s += 10) {
        ivs.push_back({"chrB", s, s + 40, static_cast<float>((s / 10) % 97) * 0.25f - 3.0f});
    }
    ivs.push_back({"chrA", 100, 200, 7.5f});
    ivs.push_back({"chrA", 150, 250, 2.5f});
    ivs.push_back({"chrA", 600, 1000, -1.0f});
    ivs.push_back({"chr_short", 0, 60, 0.5f});
    // Reverse order of adds, to be sorted by the writer.
    std::reverse(ivs.begin(), ivs.end());

    const std::string bw_path = dir + "/t.bw", bg_path = dir + "/t.bedGraph";
    {
        TrackWriter bw(bw_path, sizes, "t");
        TrackWriter bg(bg_path, sizes, "t");
        for (const auto& iv : ivs) {
            bw.add(iv.chrom, iv.start, iv.end, iv.value);
            bg.add(iv.chrom, iv.start, iv.end, iv.value);
        }
        CHECK_FALSE(fs::exists(bw_path));
        bw.commit();
        bg.commit();
    }
    CHECK(dir_entries(dir) == std::vector<std::string>{"t.bedGraph", "t.bw"});
    const std::vector<Row> expect = parse_bedgraph(slurp(bg_path));
    REQUIRE(expect.size() > 40000);

    CHECK(bwIsBigWig(bw_path.c_str(), nullptr) == 1);
    BwPtr bw = open_bigwig(bw_path);
    REQUIRE(bw->cl->nKeys == 4);
    for (const auto& [name, length] : sizes) CHECK(bigwig_chrom_length(bw.get(), name) == length);

    // Intervals per chromosome, exactly the bedGraph's rows.
    std::map<std::string, std::vector<Row>> by_chrom;
    for (const auto& r : expect) by_chrom[r.chrom].push_back(r);
    for (const auto& [name, length] : sizes) {
        const std::vector<Row> got = bigwig_rows(bw.get(), name, static_cast<std::uint32_t>(length));
        CHECK(got.size() == by_chrom[name].size());
        CHECK(got == by_chrom[name]);
    }

    // Per-base values of chrA against the segments (NaN where uncovered).
    {
        bwOverlappingIntervals_t* v = bwGetValues(bw.get(), "chrA", 0, 1000, 1);
        REQUIRE(v != nullptr);
        REQUIRE(v->l == 1000);
        for (std::uint32_t i = 0; i < 1000; ++i) {
            float want = NAN;
            if (i >= 100 && i < 150) want = 7.5f;
            if (i >= 150 && i < 200) want = 5.0f;
            if (i >= 200 && i < 250) want = 2.5f;
            if (i >= 600) want = -1.0f;
            if (std::isnan(want)) {
                CHECK(std::isnan(v->value[i]));
            } else {
                CHECK(v->value[i] == want);
            }
        }
        bwDestroyOverlappingIntervals(v);
    }

    // bigWigInfo-style summaries: the header's whole-file summary and per-chromosome means
    // from the zoom levels (bwStats) and from the full data, against the bedGraph.
    double covered = 0, sum = 0;
    float lo = INFINITY, hi = -INFINITY;
    std::map<std::string, std::pair<double, double>> chrom_cov_sum;
    for (const auto& r : expect) {
        const double len = static_cast<double>(r.end - r.start);
        covered += len;
        sum += len * r.value;
        lo = std::min(lo, r.value);
        hi = std::max(hi, r.value);
        chrom_cov_sum[r.chrom].first += len;
        chrom_cov_sum[r.chrom].second += len * r.value;
    }
    CHECK(bw->hdr->nLevels > 0);
    CHECK(bw->hdr->nBasesCovered == static_cast<std::uint64_t>(covered));
    CHECK(bw->hdr->minVal == lo);
    CHECK(bw->hdr->maxVal == hi);
    CHECK(bw->hdr->sumData == Approx(sum).epsilon(1e-5));
    for (const auto& [name, cs] : chrom_cov_sum) {
        const auto length = static_cast<std::uint32_t>(bigwig_chrom_length(bw.get(), name));
        const double want = cs.second / cs.first;
        double* zoom = bwStats(bw.get(), name.c_str(), 0, length, 1, mean);
        double* full = bwStatsFromFull(bw.get(), name.c_str(), 0, length, 1, mean);
        double* cov_full = bwStatsFromFull(bw.get(), name.c_str(), 0, length, 1, coverage);
        REQUIRE(zoom != nullptr);
        REQUIRE(full != nullptr);
        REQUIRE(cov_full != nullptr);
        INFO(name);
        CHECK(zoom[0] == Approx(want).epsilon(1e-4).margin(1e-6));
        CHECK(full[0] == Approx(want).epsilon(1e-6).margin(1e-9));
        CHECK(cov_full[0] == Approx(cs.first / length));
        std::free(zoom);
        std::free(full);
        std::free(cov_full);
    }
}

TEST_CASE("track: bigWig header min/max with decreasing and all-negative values", "[track]") {
    // libBigWig's own running min/max misses the max when values only decrease.
    const std::string path = track_dir("minmax") + "/t.bw";
    {
        TrackWriter w(path, {{"c", 100}});
        w.add("c", 0, 10, -1.0f);
        w.add("c", 10, 20, -2.0f);
        w.add("c", 20, 30, -3.0f);
        w.commit();
    }
    BwPtr bw = open_bigwig(path);
    CHECK(bw->hdr->minVal == -3.0);
    CHECK(bw->hdr->maxVal == -1.0);
    CHECK(bigwig_rows(bw.get(), "c", 100) == std::vector<Row>{{"c", 0, 10, -1}, {"c", 10, 20, -2}, {"c", 20, 30, -3}});
}

TEST_CASE("track: bigWig with no intervals", "[track]") {
    const std::string path = track_dir("bw_empty") + "/t.bw";
    {
        TrackWriter w(path, {{"c", 100}, {"d", 200}});
        w.commit();
    }
    BwPtr bw = open_bigwig(path);
    CHECK(bw->cl->nKeys == 2);
    CHECK(bw->hdr->nBasesCovered == 0);
}

TEST_CASE("track: no file before commit, none after an uncommitted destruction", "[track]") {
    for (const std::string ext : {".bedGraph", ".bw"}) {
        INFO(ext);
        const std::string dir = track_dir("atomic");
        const std::string path = dir + "/out" + ext;
        {
            TrackWriter w(path, {{"c", 100}});
            w.add("c", 0, 50, 1);
            CHECK_FALSE(fs::exists(path));
        }
        CHECK(dir_entries(dir).empty());  // temp file removed too
        {
            TrackWriter w(path, {{"c", 100}});
            w.add("c", 0, 50, 1);
            CHECK_FALSE(fs::exists(path));
            w.commit();
            CHECK(fs::exists(path));
            CHECK_THROWS_AS(w.commit(), std::logic_error);
            CHECK_THROWS_AS(w.add("c", 0, 10, 1), std::logic_error);
        }
        CHECK(dir_entries(dir) == std::vector<std::string>{"out" + ext});
        // An existing file is replaced only by a committed track.
        {
            TrackWriter w(path, {{"c", 100}});
            w.add("c", 0, 100, 2);
        }
        CHECK(dir_entries(dir) == std::vector<std::string>{"out" + ext});
        if (ext == ".bedGraph") CHECK(slurp(path) == "track type=bedGraph name=\"dnamba\"\nc\t0\t50\t1\n");
    }
}

TEST_CASE("track: errors", "[track]") {
    const std::string dir = track_dir("errors");
    const ChromSizes sizes{{"chr1", 1000}, {"chr2", 500}, {"chr3", 10}, {"chr4", 10}, {"chr5", 10}, {"chr6", 10}};
    for (const std::string ext : {".bedGraph", ".bw"}) {
        INFO(ext);
        TrackWriter w(dir + "/t" + ext, sizes);
        Error e = error_of([&] { w.add("chrX", 0, 10, 1); });
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains("\"chrX\"") && Catch::Contains("chr1, chr2") &&
                                 Catch::Contains("6 in all") && Catch::Contains("t" + ext));
        e = error_of([&] { w.add("chr1", 10, 10, 1); });
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains("empty") && Catch::Contains("chr1:10-10"));
        CHECK(error_of([&] { w.add("chr1", 20, 10, 1); }).kind() == ErrorKind::input);
        e = error_of([&] { w.add("chr2", 400, 501, 1); });
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains("length 500"));
        e = error_of([&] { w.add("chr1", -5, 10, 1); });
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains("negative"));
        w.add("chr2", 400, 500, 1);  // the writer still works after rejected adds
        w.add("chr1", 0, 1000, 2);
        w.commit();
        CHECK(fs::exists(dir + "/t" + ext));
    }

    // bigWig coordinates are 32-bit: longer chromosomes are a usage error; bedGraph is fine.
    const ChromSizes huge{{"chr1", 100}, {"huge", 4294967296LL}};
    Error e = error_of([&] { TrackWriter w(dir + "/h.bw", huge); });
    CHECK(e.kind() == ErrorKind::usage);
    CHECK_THAT(e.what(), Catch::Contains("huge") && Catch::Contains("4294967296"));
    { TrackWriter ok(dir + "/h.bw", {{"max", 4294967295LL}}); }
    { TrackWriter ok(dir + "/h.bedGraph", huge); }
    CHECK(error_of([&] { TrackWriter w(dir + "/e.bw", {}); }).kind() == ErrorKind::usage);
    CHECK(error_of([&] { TrackWriter w(dir + "/d.bedGraph", {{"a", 10}, {"a", 20}}); }).kind() == ErrorKind::input);
    CHECK(error_of([&] { TrackWriter w(dir + "/n.bedGraph", {{"a", -1}}); }).kind() == ErrorKind::input);

    // Unwritable destinations fail at construction with Error(io).
    for (const std::string ext : {".bedGraph", ".bw"}) {
        e = error_of([&] { TrackWriter w(dir + "/no/such/dir/t" + ext, sizes); });
        CHECK(e.kind() == ErrorKind::io);
        CHECK_THAT(e.what(), Catch::Contains("no/such/dir/t" + ext));
    }
    CHECK(dir_entries(dir) == std::vector<std::string>{"t.bedGraph", "t.bw"});
}
