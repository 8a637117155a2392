// Tests of regions input (dnamba/input.hpp, "regions" and "windows"): samtools-style region
// strings, BED files (every accepted shape and each malformed one), the htslib-indexed FASTA
// (exact bases from plain and bgzip files, index building, errors) and window tiling.
// Fixtures: testdata/regions (made by testdata/regions/make_fixtures.sh).
#include <catch2/catch.hpp>
#include <htslib/bgzf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "dnamba/log.hpp"
#include "test_util.hpp"

using namespace dnamba;
namespace fs = std::filesystem;
using dnamba::test::read_fasta_simple;
using dnamba::test::read_file;
using dnamba::test::scratch_dir;
using dnamba::test::testdata;
using dnamba::test::write_file;

namespace {

constexpr std::int64_t kToEnd = std::numeric_limits<std::int64_t>::max();

std::string fixture(const std::string& name) { return testdata("regions/" + name); }

Error region_error(const std::string& text) {
    try {
        const Region r = parse_region(text);
        FAIL("no error for --region '" << text << "' (got " << r.chrom << " " << r.start << " " << r.end << ")");
    } catch (const Error& e) {
        return e;
    }
    return Error(ErrorKind::model, "unreachable");
}

std::vector<Region> read_bed(const std::string& path) {
    BedReader reader(path);
    std::vector<Region> out;
    Region r;
    while (reader.next(r)) out.push_back(r);
    return out;
}

Error bed_error(const std::string& path) {
    try {
        (void)read_bed(path);
    } catch (const Error& e) {
        return e;
    }
    FAIL("no error reading " << path);
    return Error(ErrorKind::model, "unreachable");
}

template <typename F>
Error error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    FAIL("no error thrown");
    return Error(ErrorKind::model, "unreachable");
}

struct ExpectedRegion {
    std::string chrom;
    std::int64_t start, end;
    char strand;
    std::string name;
    int line;
};

// good.bed, line by line (see make_fixtures.sh).
const std::vector<ExpectedRegion> kGoodBed = {
    {"chr1", 0, 10, '+', "", 4},
    {"chr1", 55, 65, '+', "across_line", 5},
    {"chr2", 100, 130, '-', "softmasked", 7},
    {"chr2", 195, 215, '+', "with N", 8},
    {"chrM", 0, 70, '.', "", 9},
    {"chr1", 10, 20, '+', "bed12", 10},
    {"chr2", 5, 15, '-', "spaced", 11},
    {"chr1", 20, 30, '-', "crlf", 12},
    {"HLA-A*01:01", 0, 30, '+', "hla", 14},
    {"chr1", 290, 300, '+', "last_no_newline", 15},
};

void check_good_bed(const std::string& path, const std::string& display) {
    const std::vector<Region> got = read_bed(path);
    REQUIRE(got.size() == kGoodBed.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("region " << i);
        CHECK(got[i].chrom == kGoodBed[i].chrom);
        CHECK(got[i].start == kGoodBed[i].start);
        CHECK(got[i].end == kGoodBed[i].end);
        CHECK(got[i].strand == kGoodBed[i].strand);
        CHECK(got[i].name == kGoodBed[i].name);
        CHECK(got[i].source == display + ":" + std::to_string(kGoodBed[i].line));
    }
}

void put_bgzip(const std::string& path, const std::string& bytes) {
    BGZF* f = bgzf_open(path.c_str(), "w");
    REQUIRE(f != nullptr);
    REQUIRE(bgzf_write(f, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    REQUIRE(bgzf_close(f) == 0);
}

using Bounds = std::vector<std::pair<std::int64_t, std::int64_t>>;

}  // namespace

// ---- parse_region ----------------------------------------------------------------------

TEST_CASE("parse_region: samtools forms, 1-based inclusive text to 0-based half-open", "[regions]") {
    SECTION("commas") {
        const Region r = parse_region("chr2:1,000,001-1,131,072");
        CHECK(r.chrom == "chr2");
        CHECK(r.start == 1000000);
        CHECK(r.end == 1131072);
        CHECK(r.strand == '+');
        CHECK(r.name.empty());
        CHECK(r.source == "--region");
    }
    SECTION("plain numbers, one base") {
        const Region r = parse_region("chr1:11-20");
        CHECK((r.chrom == "chr1" && r.start == 10 && r.end == 20));
        const Region one = parse_region("chr1:5-5");
        CHECK((one.start == 4 && one.end == 5));
    }
    SECTION("start only: to the end (INT64_MAX sentinel)") {
        const Region r = parse_region("chr2:1000");
        CHECK((r.chrom == "chr2" && r.start == 999 && r.end == kToEnd));
        const Region dash = parse_region("chr2:1,000-");
        CHECK((dash.start == 999 && dash.end == kToEnd));
    }
    SECTION("whole contig") {
        const Region r = parse_region("chr2");
        CHECK((r.chrom == "chr2" && r.start == 0 && r.end == kToEnd));
        const Region spaced = parse_region("  chrX:1-3\n");
        CHECK((spaced.chrom == "chrX" && spaced.start == 0 && spaced.end == 3));
    }
    SECTION("names containing ':' in braces") {
        const Region r = parse_region("{HLA-A*01:01}:1-10");
        CHECK((r.chrom == "HLA-A*01:01" && r.start == 0 && r.end == 10));
        const Region whole = parse_region("{HLA-A*01:01}");
        CHECK((whole.chrom == "HLA-A*01:01" && whole.start == 0 && whole.end == kToEnd));
        // Without braces the text after the last ':' is coordinates (documented).
        const Region bare = parse_region("HLA-A*01:01");
        CHECK((bare.chrom == "HLA-A*01" && bare.start == 0 && bare.end == kToEnd));
    }
    SECTION("a strand suffix, as unnamed region rows are named") {
        const Region minus = parse_region("chr2:1,000,001-1,131,072(-)");
        CHECK((minus.chrom == "chr2" && minus.start == 1000000 && minus.end == 1131072 && minus.strand == '-'));
        const Region plus = parse_region("{HLA-A*01:01}:1-10(+)");
        CHECK((plus.chrom == "HLA-A*01:01" && plus.start == 0 && plus.end == 10 && plus.strand == '+'));
        // Without coordinates the parentheses are part of the name.
        const Region whole = parse_region("odd(-)");
        CHECK((whole.chrom == "odd(-)" && whole.end == kToEnd && whole.strand == '+'));
    }
}

TEST_CASE("parse_region: errors are usage errors naming the text", "[regions]") {
    struct Case {
        std::string text;
        std::string why;
    };
    const std::vector<Case> cases = {
        {"", "empty region"},
        {"   ", "empty region"},
        {"chr2:0-10", "1-based"},
        {"chr2:0", "1-based"},
        {"chr2:-5-10", "negative"},
        {"chr2:10-5", "end 5 is before start 10"},
        {"chr2:1x0-200", "'1x0' is not a number"},
        {"chr2:100-2k", "'2k' is not a number"},
        {"chr2:1.5-3", "is not a number"},
        {"chr2:100-200-300", "is not a number"},
        {"chr2:", "no position after ':'"},
        {":1-10", "no contig name"},
        {"{}:1-10", "no contig name"},
        {"{chr2:1-10", "without a closing '}'"},
        {"{chr2}1-10", "after '}'"},
        {"chr2:99999999999999999999", "too large"},
        {"chr2:1-99999999999999999999", "too large"},
        {"chr 2:1-5", "whitespace"},
        {"chr2:abc", "not a number"},
        {"chr2:1-10(x)", "'10(x)' is not a number"},
    };
    for (const Case& c : cases) {
        INFO("text '" << c.text << "'");
        const Error e = region_error(c.text);
        CHECK(e.kind() == ErrorKind::usage);
        const std::string msg = e.what();
        CHECK_THAT(msg, Catch::Contains("--region '" + c.text + "'"));
        CHECK_THAT(msg, Catch::Contains(c.why));
    }
}

// ---- BED -------------------------------------------------------------------------------

TEST_CASE("BED: every accepted line shape, plain, gzip and bgzip", "[regions]") {
    SECTION("plain") { check_good_bed(fixture("good.bed"), fixture("good.bed")); }
    SECTION("gzip") { check_good_bed(fixture("good.bed.gz"), fixture("good.bed.gz")); }
    SECTION("bgzip") {
        const std::string dir = scratch_dir("regions/bgzip_bed");
        const std::string path = dir + "/good.bed.gz";
        put_bgzip(path, read_file(fixture("good.bed")));
        check_good_bed(path, path);
    }
    SECTION("empty and comment-only files give no regions") {
        const std::string dir = scratch_dir("regions/empty_bed");
        write_file(dir + "/empty.bed", "");
        CHECK(read_bed(dir + "/empty.bed").empty());
        write_file(dir + "/comments.bed", "#x\ntrack\nbrowser hide all\n\n \t\n");
        CHECK(read_bed(dir + "/comments.bed").empty());
    }
    SECTION("extra columns beyond 12 (BED+) are ignored; trailing tab is fine") {
        const std::string dir = scratch_dir("regions/extra_bed");
        write_file(dir + "/x.bed", "chr1\t1\t2\tn\t0\t-\t1\t2\t0\t1\t1\t0\textra\tmore\nchr1\t3\t4\t\n");
        const std::vector<Region> r = read_bed(dir + "/x.bed");
        REQUIRE(r.size() == 2);
        CHECK((r[0].strand == '-' && r[0].name == "n"));
        CHECK((r[1].start == 3 && r[1].end == 4 && r[1].name.empty() && r[1].strand == '+'));
    }
}

TEST_CASE("BED: each malformed file fails with file:line and the reason", "[regions]") {
    struct Case {
        std::string file;
        std::string why;
    };
    const std::vector<Case> cases = {
        {"bad_start_gt_end.bed", "start 50 is greater than end 40"},
        {"bad_negative.bed", "start -5 is negative"},
        {"bad_missing_column.bed", "expected at least 3 columns (chrom, start, end), found 2"},
        {"bad_strand.bed", "strand 'forward' (column 6) is not '+', '-' or '.'"},
        {"bad_nonnumeric.bed", "end '2O0' (column 3) is not a non-negative integer"},
        {"bad_empty_interval.bed", "empty interval (start == end == 10)"},
    };
    for (const Case& c : cases) {
        INFO(c.file);
        const Error e = bed_error(fixture(c.file));
        CHECK(e.kind() == ErrorKind::input);
        const std::string msg = e.what();
        CHECK_THAT(msg, Catch::StartsWith(fixture(c.file) + ":3: "));
        CHECK_THAT(msg, Catch::Contains(c.why));
    }
}

TEST_CASE("BED: other failures", "[regions]") {
    const std::string dir = scratch_dir("regions/bed_errors");
    SECTION("missing file") {
        const Error e = error_of([&] { BedReader r(dir + "/nope.bed"); });
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(std::string(e.what()), Catch::Contains("nope.bed: cannot open"));
    }
    SECTION("an unmarked header line gets a hint") {
        write_file(dir + "/h.bed", "chrom\tstart\tend\nchr1\t0\t5\n");
        const std::string msg = bed_error(dir + "/h.bed").what();
        CHECK_THAT(msg, Catch::Contains("h.bed:1: start 'start' (column 2) is not a non-negative integer"));
        CHECK_THAT(msg, Catch::Contains("a header line must start with '#'"));
    }
    SECTION("binary data") {
        write_file(dir + "/b.bed", std::string("chr1\t0\t5\nBAM\x01\x00\x07", 15));
        const std::string msg = bed_error(dir + "/b.bed").what();
        CHECK_THAT(msg, Catch::Contains("b.bed:2: unexpected byte"));
    }
    SECTION("empty chrom, spaces-only separators with too few columns") {
        write_file(dir + "/c.bed", "\t0\t5\n");
        CHECK_THAT(std::string(bed_error(dir + "/c.bed").what()), Catch::Contains("c.bed:1: chrom (column 1) is empty"));
        write_file(dir + "/d.bed", "chr1 5\n");
        CHECK_THAT(std::string(bed_error(dir + "/d.bed").what()), Catch::Contains("d.bed:1: expected at least 3 columns"));
    }
    SECTION("truncated gzip") {
        const std::string gz = read_file(fixture("good.bed.gz"));
        write_file(dir + "/t.bed.gz", gz.substr(0, gz.size() / 2));
        const Error e = bed_error(dir + "/t.bed.gz");
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(std::string(e.what()), Catch::Contains("corrupt or truncated compressed data"));
    }
    SECTION("after an error, next() keeps throwing it") {
        BedReader reader(fixture("bad_strand.bed"));
        Region r;
        CHECK(reader.next(r));
        CHECK_THROWS_AS(reader.next(r), Error);
        CHECK_THROWS_WITH(reader.next(r), Catch::Contains("bad_strand.bed:3:"));
    }
}

// ---- IndexedFasta ----------------------------------------------------------------------

namespace {

void check_genome(const IndexedFasta& fa) {
    const auto truth = read_fasta_simple(fixture("genome.fa"));
    CHECK(fa.names() == std::vector<std::string>{"chr1", "chr2", "chrM", "HLA-A*01:01"});
    CHECK(fa.length("chr1") == 300);
    CHECK(fa.length("chr2") == 250);
    CHECK(fa.length("chrM") == 70);
    CHECK(fa.length("HLA-A*01:01") == 30);
    CHECK(fa.total_length() == 650);
    CHECK(fa.has("chr2"));
    CHECK_FALSE(fa.has("chr3"));
    // Known bases (literal, independent of any parser).
    CHECK(fa.fetch("chr1", 0, 10) == "CTGGACACGG");
    CHECK(fa.fetch("chr1", 55, 65) == "GTGCGATCGG");  // across a line break (60 per line)
    CHECK(fa.fetch("chr1", 299, 300) == "T");
    CHECK(fa.fetch("chr2", 98, 102) == "CAtt");  // case kept
    CHECK(fa.fetch("chr2", 198, 212) == "TCNNNNNNNNNNCG");
    CHECK(fa.fetch("chrM", 0, 70) == "GGGTGTCTCCAGTGTTAAACAGAACCCATTACCATCTGGATAGCTTTCCTGTCCTAAACCACGCGACAGA");
    CHECK(fa.fetch("HLA-A*01:01", 0, 30) == "CCCGGAAGAAAACATTAGTAATTTCGATAA");
    CHECK(fa.fetch("chr1", 7, 7).empty());
    // Every range of a sweep against the simple parser of test_util.hpp.
    for (const auto& [name, seq] : truth) {
        const auto len = static_cast<std::int64_t>(seq.size());
        REQUIRE(fa.length(name) == len);
        for (std::int64_t s = 0; s < len; s += 7) {
            for (std::int64_t e = s; e <= len; e += 13) {
                INFO(name << ":" << s << "-" << e);
                REQUIRE(fa.fetch(name, s, e) == seq.substr(s, e - s));
            }
            REQUIRE(fa.fetch(name, s, len) == seq.substr(s));
        }
    }
}

}  // namespace

TEST_CASE("IndexedFasta: exact bases from plain and bgzip FASTA", "[regions]") {
    SECTION("plain") {
        IndexedFasta fa(fixture("genome.fa"));
        check_genome(fa);
    }
    SECTION("bgzip") {
        IndexedFasta fa(fixture("genome.fa.gz"));
        check_genome(fa);
    }
}

TEST_CASE("IndexedFasta: builds a missing index", "[regions]") {
    set_log_quiet(true);
    const std::string dir = scratch_dir("regions/build_index");
    SECTION("plain: .fai identical to samtools faidx's") {
        fs::copy_file(fixture("genome.fa"), dir + "/genome.fa");
        {
            IndexedFasta fa(dir + "/genome.fa");
            check_genome(fa);
        }
        REQUIRE(fs::exists(dir + "/genome.fa.fai"));
        CHECK(read_file(dir + "/genome.fa.fai") == read_file(fixture("genome.fa.fai")));
    }
    SECTION("bgzip: .fai and .gzi") {
        fs::copy_file(fixture("genome.fa.gz"), dir + "/genome.fa.gz");
        {
            IndexedFasta fa(dir + "/genome.fa.gz");
            check_genome(fa);
        }
        CHECK(read_file(dir + "/genome.fa.gz.fai") == read_file(fixture("genome.fa.gz.fai")));
        CHECK(fs::exists(dir + "/genome.fa.gz.gzi"));
    }
    SECTION("bgzip with a .fai but no .gzi") {
        fs::copy_file(fixture("genome.fa.gz"), dir + "/genome.fa.gz");
        fs::copy_file(fixture("genome.fa.gz.fai"), dir + "/genome.fa.gz.fai");
        IndexedFasta fa(dir + "/genome.fa.gz");
        CHECK(fa.fetch("chr2", 98, 102) == "CAtt");
        CHECK(fs::exists(dir + "/genome.fa.gz.gzi"));
    }
    SECTION("CRLF lines, trailing blanks, a blank line before the next record, no final newline") {
        write_file(dir + "/crlf.fa", ">a desc\r\nACGTA\r\nCCGGT\r\nTT\r\n\r\n>b\r\nGGGA  \r\nTTAC  \r\nA");
        IndexedFasta fa(dir + "/crlf.fa");
        CHECK(fa.names() == std::vector<std::string>{"a", "b"});
        CHECK(fa.fetch("a", 0, 12) == "ACGTACCGGTTT");
        CHECK(fa.fetch("a", 4, 7) == "ACC");
        CHECK(fa.fetch("b", 0, 9) == "GGGATTACA");
        CHECK(fa.fetch("b", 3, 6) == "ATT");
    }
    SECTION("read-only directory: a clear error") {
        if (::geteuid() == 0) {
            WARN("running as root: a read-only directory is still writable; not tested");
        } else {
            fs::create_directories(dir + "/ro");
            fs::copy_file(fixture("genome.fa"), dir + "/ro/genome.fa");
            REQUIRE(::chmod((dir + "/ro").c_str(), 0555) == 0);
            const Error e = error_of([&] { IndexedFasta fa(dir + "/ro/genome.fa"); });
            ::chmod((dir + "/ro").c_str(), 0755);
            CHECK(e.kind() == ErrorKind::input);
            CHECK_THAT(std::string(e.what()), Catch::Contains("has no index"));
            CHECK_THAT(std::string(e.what()), Catch::Contains("is not writable"));
            CHECK_THAT(std::string(e.what()), Catch::Contains("samtools faidx"));
        }
    }
    set_log_quiet(false);
}

TEST_CASE("IndexedFasta: errors", "[regions]") {
    set_log_quiet(true);
    const std::string dir = scratch_dir("regions/fasta_errors");
    SECTION("absent chrom lists the names") {
        IndexedFasta fa(fixture("genome.fa"));
        const Error e = error_of([&] { (void)fa.length("chrZ"); });
        CHECK(e.kind() == ErrorKind::input);
        CHECK(std::string(e.what()) ==
              "chrom chrZ is not in " + fixture("genome.fa") + " (it has chr1, chr2, chrM, HLA-A*01:01)");
        const Error f = error_of([&] { (void)fa.fetch("chrZ", 0, 1); });
        CHECK_THAT(std::string(f.what()), Catch::Contains("chrom chrZ is not in"));
        const Error hint = error_of([&] { (void)fa.length("1"); });
        CHECK_THAT(std::string(hint.what()), Catch::EndsWith("did you mean chr1?"));
    }
    SECTION("absent chrom with many contigs: first five, then the count") {
        std::string text;
        for (int i = 1; i <= 7; ++i) text += ">c" + std::to_string(i) + "\nACGT\n";
        write_file(dir + "/many.fa", text);
        IndexedFasta fa(dir + "/many.fa");
        const std::string msg = error_of([&] { (void)fa.length("x"); }).what();
        CHECK_THAT(msg, Catch::Contains("(it has c1, c2, c3, c4, c5, … 7 in all)"));
    }
    SECTION("ranges outside the contig") {
        IndexedFasta fa(fixture("genome.fa"));
        const std::string past = error_of([&] { (void)fa.fetch("chr1", 290, 301); }).what();
        CHECK_THAT(past, Catch::Contains("range chr1:290-301"));
        CHECK_THAT(past, Catch::Contains("past the end of chr1 (length 300)"));
        CHECK_THAT(std::string(error_of([&] { (void)fa.fetch("chr1", -1, 5); }).what()),
                   Catch::Contains("invalid range chr1:-1-5"));
        CHECK_THAT(std::string(error_of([&] { (void)fa.fetch("chr1", 10, 5); }).what()),
                   Catch::Contains("invalid range chr1:10-5"));
    }
    SECTION("plain gzip cannot be indexed") {
        const Error e = error_of([&] { IndexedFasta fa(fixture("genome_gzip.fa.gz")); });
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(std::string(e.what()), Catch::Contains("genome_gzip.fa.gz: is gzip-compressed but not with bgzip"));
        CHECK_THAT(std::string(e.what()), Catch::Contains("recompress with `bgzip`"));
        CHECK_FALSE(fs::exists(fixture("genome_gzip.fa.gz.fai")));
    }
    SECTION("missing file") {
        const Error e = error_of([&] { IndexedFasta fa(dir + "/nope.fa"); });
        CHECK_THAT(std::string(e.what()), Catch::Contains("nope.fa: cannot open"));
    }
    SECTION("lines of different lengths cannot be indexed: the line is named") {
        write_file(dir + "/ragged.fa", ">a\nACGT\nACGT\n>b\nACGT\nAC\nACGT\n");
        const std::string msg = error_of([&] { IndexedFasta fa(dir + "/ragged.fa"); }).what();
        CHECK_THAT(msg, Catch::Contains("cannot build the FASTA index"));
        CHECK_THAT(msg, Catch::Contains("line 6 (record 'b')"));
        CHECK_FALSE(fs::exists(dir + "/ragged.fa.fai"));
    }
    SECTION("layouts faidx would index but read wrongly are refused before indexing") {
        struct Case {
            std::string text;
            std::string why;
        };
        const std::vector<Case> cases = {
            // Bases in groups of ten: faidx maps positions onto the spaces.
            {">a\nACGTACGTAC GTACGTACGT\nACGTACGTAC GTACGTACGT\nAC\n", "line 2 (record 'a'): byte ' ' inside the sequence"},
            // Same bytes per line, fewer bases: every later position would shift.
            {">a\nACGT\nA\x01GT\nACGT\n", "line 3 (record 'a'): byte '\\x01' inside the sequence"},
            {">a\nACGT\n>b\nGG\n>a\nTT\n", "line 5: duplicate sequence name 'a' (first at line 1)"},
            {"> a\nACGT\n", "line 1: header has no name right after '>'"},
            {">a\nACGT\n\nACGT\n", "line 3 (record 'a'): a blank line or a line shorter than the record's first, "
                                     "followed by more sequence at line 4"},
            {">a\nACGT\nACGTA\n", "line 3 (record 'a'): a line of 5 bases after lines of 4"},
        };
        for (const Case& c : cases) {
            INFO(c.text);
            write_file(dir + "/bad.fa", c.text);
            const std::string msg = error_of([&] { IndexedFasta fa(dir + "/bad.fa"); }).what();
            CHECK_THAT(msg, Catch::Contains("bad.fa: cannot build the FASTA index: " + c.why));
            CHECK_FALSE(fs::exists(dir + "/bad.fa.fai"));
        }
    }
    SECTION("truncated bgzip") {
        const std::string gz = read_file(fixture("genome.fa.gz"));
        write_file(dir + "/cut.fa.gz", gz.substr(0, gz.size() / 2));
        CHECK_THAT(std::string(error_of([&] { IndexedFasta fa(dir + "/cut.fa.gz"); }).what()),
                   Catch::Contains("cut.fa.gz: corrupt or truncated compressed data"));
    }
    SECTION("empty FASTA") {
        write_file(dir + "/empty.fa", "\n\n");
        CHECK_THAT(std::string(error_of([&] { IndexedFasta fa(dir + "/empty.fa"); }).what()),
                   Catch::Contains("empty.fa: has no sequences"));
    }
    SECTION("not FASTA") {
        write_file(dir + "/reads.fq", "@r1\nACGT\n+\nIIII\n");
        const std::string msg = error_of([&] { IndexedFasta fa(dir + "/reads.fq"); }).what();
        CHECK_THAT(msg, Catch::Contains("reads.fq: line 1: not FASTA"));
        CHECK_THAT(msg, Catch::Contains("looks like FASTQ"));
        CHECK_FALSE(fs::exists(dir + "/reads.fq.fai"));
        CHECK_THAT(msg, Catch::Contains("not FASTA"));
    }
    SECTION("a corrupt index is rebuilt (issue #17; more cases in test_hardening.cpp)") {
        fs::copy_file(fixture("genome.fa"), dir + "/genome.fa");
        write_file(dir + "/genome.fa.fai", "chr1\tnot-a-number\t1\t2\n");
        const IndexedFasta fa(dir + "/genome.fa");
        CHECK(fa.names().size() == 4);
        CHECK(read_file(dir + "/genome.fa.fai") == read_file(fixture("genome.fa.fai")));
    }
    set_log_quiet(false);
}

// ---- windows ---------------------------------------------------------------------------

TEST_CASE("window_bounds: table of cases", "[regions]") {
    const auto w = [](std::int64_t window, std::int64_t stride, TailMode tail = TailMode::keep) {
        WindowSpec s;
        s.window = window;
        s.stride = stride;
        s.tail = tail;
        return s;
    };
    // Overlapping: stops once a window reaches the end.
    CHECK(window_bounds(2500, w(1000, 500)) == Bounds{{0, 1000}, {500, 1500}, {1000, 2000}, {1500, 2500}});
    CHECK(window_bounds(2500, w(1000, 500, TailMode::drop)) == Bounds{{0, 1000}, {500, 1500}, {1000, 2000}, {1500, 2500}});
    // Tiling with a short tail: kept or dropped.
    CHECK(window_bounds(2300, w(1000, 1000)) == Bounds{{0, 1000}, {1000, 2000}, {2000, 2300}});
    CHECK(window_bounds(2300, w(1000, 1000, TailMode::drop)) == Bounds{{0, 1000}, {1000, 2000}});
    // Shorter than one window.
    CHECK(window_bounds(500, w(1000, 1000)) == Bounds{{0, 500}});
    CHECK(window_bounds(500, w(1000, 1000, TailMode::drop)).empty());
    // Stride 0 = window.
    CHECK(window_bounds(2300, w(1000, 0)) == Bounds{{0, 1000}, {1000, 2000}, {2000, 2300}});
    CHECK(window_bounds(2000, w(1000, 0, TailMode::drop)) == Bounds{{0, 1000}, {1000, 2000}});
    // Overlap with a short last window; exact multiple; stride > window leaves gaps.
    CHECK(window_bounds(2300, w(1000, 500)) == Bounds{{0, 1000}, {500, 1500}, {1000, 2000}, {1500, 2300}});
    CHECK(window_bounds(2300, w(1000, 500, TailMode::drop)) == Bounds{{0, 1000}, {500, 1500}, {1000, 2000}});
    CHECK(window_bounds(2000, w(1000, 1000)) == Bounds{{0, 1000}, {1000, 2000}});
    CHECK(window_bounds(2500, w(1000, 1500)) == Bounds{{0, 1000}, {1500, 2500}});
    CHECK(window_bounds(2200, w(1000, 1500)) == Bounds{{0, 1000}, {1500, 2200}});
    CHECK(window_bounds(1200, w(1000, 1500)) == Bounds{{0, 1000}});
    CHECK(window_bounds(1, w(1, 1)) == Bounds{{0, 1}});
    CHECK(window_bounds(0, w(1000, 0)).empty());
    // No overflow near INT64_MAX.
    const std::int64_t big = std::numeric_limits<std::int64_t>::max();
    CHECK(window_bounds(big, w(big - 1, big)) == Bounds{{0, big - 1}, });
    CHECK(window_bounds(big, w(big, 0)) == Bounds{{0, big}});
    CHECK(window_bounds(10, w(big, big)) == Bounds{{0, 10}});

    // Errors name the option.
    const Error zero = error_of([&] { (void)window_bounds(100, w(0, 0)); });
    CHECK(zero.kind() == ErrorKind::usage);
    CHECK_THAT(std::string(zero.what()), Catch::Contains("--window"));
    CHECK_THAT(std::string(error_of([&] { (void)window_bounds(100, w(-5, 0)); }).what()), Catch::Contains("--window"));
    const Error neg = error_of([&] { (void)window_bounds(100, w(10, -1)); });
    CHECK(neg.kind() == ErrorKind::usage);
    CHECK_THAT(std::string(neg.what()), Catch::Contains("--stride"));
}
