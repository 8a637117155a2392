// Tests of the record readers (dnamba/input.hpp, open_record_reader): FASTA, FASTQ, SAM,
// BAM and CRAM, detected from content, against the hand-written reads of
// testdata/reads/reads.sam (see its make_fixtures.sh): read filters, orientation, alignment
// coordinates, regions through the BAM/CRAM index, CRAM references, standard input (a child
// process with a pipe on fd 0), and every malformed-input error.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "test_util.hpp"

using namespace dnamba;
namespace fs = std::filesystem;

namespace {

std::string reads(const std::string& name) { return test::testdata("reads/" + name); }

// The hand-written reads of reads.sam, in file (coordinate) order.
struct Expected {
    const char* name;
    int flag;
    const char* stored;    // SEQ as in the SAM (reference strand)
    const char* original;  // as sequenced (reverse complement of SEQ for flag 16)
    const char* chrom;
    std::int64_t start, end;
    char strand;
};
const std::vector<Expected> k_reads = {
    {"r01_fwd", 0, "GGATGTATCTGGAATAACCTAAAGGCCCCC", "GGATGTATCTGGAATAACCTAAAGGCCCCC", "chr1", 10, 40, '+'},
    {"r02_rev", 16, "GCTGTGGTGCCTCTGACGTCTCGCT", "AGCGAGACGTCAGAGGCACCACAGC", "chr1", 100, 125, '-'},
    {"r03_qcfail", 512, "GTTCAATTTTTGTGGCAAAT", "GTTCAATTTTTGTGGCAAAT", "chr1", 200, 220, '+'},
    // 5S10M2D10M: 25 bases, 22 reference bases
    {"r04_clip", 0, "TTTTTCTATGGAGACAACCCCATGC", "TTTTTCTATGGAGACAACCCCATGC", "chr1", 250, 272, '+'},
    {"r05_dup", 1024, "GAGTGTGCTGTGTTTCCCTG", "GAGTGTGCTGTGTTTCCCTG", "chr2", 10, 30, '+'},
    {"r06_secondary", 256, "TGGTAGGCCCAGAGGACGAG", "TGGTAGGCCCAGAGGACGAG", "chr2", 50, 70, '+'},
    {"r07_noseq", 0, "", "", "chr2", 100, 120, '+'},
    {"r08_supp", 2048, "TTTGTGCCACGACTCCTTTG", "TTTGTGCCACGACTCCTTTG", "chr2", 150, 170, '+'},
    {"r09_mapq0", 16, "TCAGGACGCATAAAGTGCGTGGGC", "GCCCACGCACTTTATGCGTCCTGA", "chr2", 180, 204, '-'},
    {"r10_rev_n", 16, "GGGCGCACGNTGCTGCGGTG", "CACCGCAGCANCGTGCGCCC", "chr2", 200, 220, '-'},
    {"r11_unmapped", 4, "GATTACAGATTACANNGATTACA", "GATTACAGATTACANNGATTACA", "*", 0, 0, '.'},
};

const Expected& expected(const std::string& name) {
    for (const auto& e : k_reads)
        if (name == e.name) return e;
    FAIL("no expected read " << name);
    return k_reads[0];
}

struct ReadAll {
    std::vector<InputRecord> records;
    InputFormat format = InputFormat::fasta;
    std::size_t skipped = 0;
};

ReadAll read_all(const std::string& path, const ReaderOptions& options = {}) {
    auto reader = open_record_reader(path, options);
    ReadAll out;
    out.format = reader->format();
    InputRecord rec;
    while (reader->next(rec)) out.records.push_back(rec);
    InputRecord extra;
    CHECK_FALSE(reader->next(extra));  // stays at the end
    out.skipped = reader->records_skipped();
    return out;
}

std::vector<std::string> names(const ReadAll& r) {
    std::vector<std::string> out;
    for (const auto& rec : r.records) out.push_back(rec.name);
    return out;
}

// The Error thrown by opening and reading `path` to the end (fails the test if none).
Error read_error(const std::string& path, const ReaderOptions& options = {}) {
    try {
        (void)read_all(path, options);
    } catch (const Error& e) {
        return e;
    }
    FAIL("no error reading " << path);
    return Error(ErrorKind::usage, "unreachable");
}

void put_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

void put_gzip(const std::string& path, const std::string& bytes) {
    gzFile g = gzopen(path.c_str(), "wb");
    REQUIRE(g != nullptr);
    REQUIRE(gzwrite(g, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
    REQUIRE(gzclose(g) == Z_OK);
}

// Runs `fn` with stderr redirected to a file; returns what was written.
std::string capture_stderr(const std::string& dir, const std::function<void()>& fn) {
    const std::string path = dir + "/stderr.txt";
    std::fflush(stderr);
    const int saved = ::dup(2);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    ::dup2(fd, 2);
    ::close(fd);
    try {
        fn();
    } catch (...) {
        std::fflush(stderr);
        ::dup2(saved, 2);
        ::close(saved);
        throw;
    }
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    return test::read_file(path);
}

// Reads `path` to the end: "format\n" then one line per record "name chrom start end strand
// seq", then "error: <kind> <message>" if reading stopped at an error.
std::string render_or_error(const std::string& path, const ReaderOptions& options = {}) {
    std::ostringstream o;
    try {
        auto reader = open_record_reader(path, options);
        o << input_format_name(reader->format()) << "\n";
        InputRecord r;
        while (reader->next(r))
            o << r.name << " " << r.chrom << " " << r.start << " " << r.end << " " << r.strand << " " << r.seq << "\n";
    } catch (const Error& e) {
        o << "error: " << static_cast<int>(e.kind()) << " " << e.what() << "\n";
    }
    return o.str();
}

// Reads standard input in a child process whose fd 0 is a pipe fed with `bytes` (so the
// input is unseekable, as from `zcat x | dnamba`). Returns render_or_error("-").
std::string read_stdin(const std::string& dir, const std::string& bytes, const ReaderOptions& options = {}) {
    const std::string out_path = dir + "/stdin_result.txt";
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[1]);
        ::dup2(fds[0], 0);
        ::close(fds[0]);
        const int err = ::open((dir + "/stdin_stderr.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (err >= 0) ::dup2(err, 2);  // warnings of the child: not checked here
        const std::string result = render_or_error("-", options);
        std::ofstream f(out_path, std::ios::binary);
        f << result;
        f.close();
        ::_exit(0);
    }
    ::close(fds[0]);
    // a child that stops reading early (an error) must not kill us with SIGPIPE
    struct sigaction ignore {}, previous {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &previous);
    std::size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t w = ::write(fds[1], bytes.data() + written, bytes.size() - written);
        if (w <= 0) break;  // the child stopped reading (an error): fine
        written += static_cast<std::size_t>(w);
    }
    ::close(fds[1]);
    ::sigaction(SIGPIPE, &previous, nullptr);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    return test::read_file(out_path);
}

// The same rendering as read_stdin, for a path.
std::string render(const std::string& path, const ReaderOptions& options = {}) {
    const ReadAll all = read_all(path, options);
    std::ostringstream o;
    o << input_format_name(all.format) << "\n";
    for (const auto& r : all.records)
        o << r.name << " " << r.chrom << " " << r.start << " " << r.end << " " << r.strand << " " << r.seq << "\n";
    return o.str();
}

ReaderOptions with_reference() {
    ReaderOptions o;
    o.reference = reads("ref.fa");
    return o;
}

}  // namespace

TEST_CASE("input_format_name", "[readers]") {
    CHECK(std::string(input_format_name(InputFormat::fasta)) == "FASTA");
    CHECK(std::string(input_format_name(InputFormat::fastq)) == "FASTQ");
    CHECK(std::string(input_format_name(InputFormat::sam)) == "SAM");
    CHECK(std::string(input_format_name(InputFormat::bam)) == "BAM");
    CHECK(std::string(input_format_name(InputFormat::cram)) == "CRAM");
}

TEST_CASE("SAM: default filter skips secondary and supplementary; reads as sequenced", "[readers]") {
    const std::string dir = test::scratch_dir("readers_sam_default");
    ReadAll all;
    const std::string err = capture_stderr(dir, [&] { all = read_all(reads("reads.sam")); });
    CHECK(all.format == InputFormat::sam);
    CHECK(names(all) == std::vector<std::string>{"r01_fwd", "r02_rev", "r03_qcfail", "r04_clip", "r05_dup",
                                                 "r09_mapq0", "r10_rev_n", "r11_unmapped"});
    CHECK(all.skipped == 2);  // r06_secondary, r08_supp (r07_noseq is warned about, not counted)
    for (const auto& rec : all.records) {
        INFO(rec.name);
        const Expected& e = expected(rec.name);
        CHECK(rec.seq == e.original);
        CHECK(rec.chrom == e.chrom);
        CHECK(rec.start == e.start);
        CHECK(rec.end == e.end);
        CHECK(rec.strand == e.strand);
        CHECK(rec.is_alignment);
    }
    // the read without SEQ: one counted warning naming it
    CHECK_THAT(err, Catch::Contains("1 record(s) with no stored sequence") && Catch::Contains("r07_noseq") &&
                        Catch::Contains("reads.sam"));
}

TEST_CASE("SAM: orientation reference keeps the stored SEQ", "[readers]") {
    const std::string dir = test::scratch_dir("readers_orientation");
    ReaderOptions o;
    o.orientation = ReadOrientation::reference;
    ReadAll all, original;
    (void)capture_stderr(dir, [&] {
        all = read_all(reads("reads.sam"), o);
        original = read_all(reads("reads.sam"));
    });
    REQUIRE(all.records.size() == 8);
    for (const auto& rec : all.records) {
        INFO(rec.name);
        CHECK(rec.seq == expected(rec.name).stored);
        CHECK(rec.strand == expected(rec.name).strand);  // the strand does not depend on orientation
    }
    // spot checks, literally: r02_rev stored vs as sequenced
    CHECK(all.records[1].seq == "GCTGTGGTGCCTCTGACGTCTCGCT");
    CHECK(original.records[1].seq == "AGCGAGACGTCAGAGGCACCACAGC");
}

TEST_CASE("SAM: every filter", "[readers]") {
    const std::string dir = test::scratch_dir("readers_filters");
    SECTION("nothing filtered: secondary and supplementary included") {
        ReaderOptions o;
        o.filter.skip_secondary = false;
        o.filter.skip_supplementary = false;
        ReadAll all;
        (void)capture_stderr(dir, [&] { all = read_all(reads("reads.sam"), o); });
        CHECK(names(all) == std::vector<std::string>{"r01_fwd", "r02_rev", "r03_qcfail", "r04_clip", "r05_dup",
                                                     "r06_secondary", "r08_supp", "r09_mapq0", "r10_rev_n",
                                                     "r11_unmapped"});
        CHECK(all.skipped == 0);
    }
    SECTION("everything filtered") {
        ReaderOptions o;
        o.filter.skip_qcfail = true;
        o.filter.skip_duplicate = true;
        o.filter.skip_unmapped = true;
        o.filter.min_mapq = 1;
        ReadAll all;
        (void)capture_stderr(dir, [&] { all = read_all(reads("reads.sam"), o); });
        CHECK(names(all) == std::vector<std::string>{"r01_fwd", "r02_rev", "r04_clip", "r10_rev_n"});
        CHECK(all.skipped == 6);  // secondary, supplementary, qcfail, dup, mapq0, unmapped
    }
    SECTION("min_mapq applies to mapped reads only") {
        ReaderOptions o;
        o.filter.min_mapq = 40;  // r10_rev_n has 37; the unmapped read (MAPQ 0) stays
        ReadAll all;
        (void)capture_stderr(dir, [&] { all = read_all(reads("reads.sam"), o); });
        CHECK(names(all) == std::vector<std::string>{"r01_fwd", "r02_rev", "r03_qcfail", "r04_clip", "r05_dup",
                                                     "r11_unmapped"});
        CHECK(all.skipped == 4);
    }
}

TEST_CASE("SAM, BAM and CRAM (with its reference) give the same records", "[readers]") {
    const std::string dir = test::scratch_dir("readers_same");
    for (const auto orientation : {ReadOrientation::original, ReadOrientation::reference}) {
        ReaderOptions o = with_reference();
        o.orientation = orientation;
        o.filter.skip_secondary = false;
        o.filter.skip_supplementary = false;
        ReadAll sam, bam, cram;
        (void)capture_stderr(dir, [&] {
            sam = read_all(reads("reads.sam"), o);
            bam = read_all(reads("reads.bam"), o);
            cram = read_all(reads("reads.cram"), o);
        });
        CHECK(sam.format == InputFormat::sam);
        CHECK(bam.format == InputFormat::bam);
        CHECK(cram.format == InputFormat::cram);
        REQUIRE(sam.records.size() == 10);
        REQUIRE(bam.records.size() == sam.records.size());
        REQUIRE(cram.records.size() == sam.records.size());
        for (std::size_t i = 0; i < sam.records.size(); ++i) {
            for (const ReadAll* other : {&bam, &cram}) {
                const InputRecord& a = sam.records[i];
                const InputRecord& b = other->records[i];
                INFO(a.name << " vs " << b.name);
                CHECK(a.name == b.name);
                CHECK(a.seq == b.seq);
                CHECK(a.chrom == b.chrom);
                CHECK(a.start == b.start);
                CHECK(a.end == b.end);
                CHECK(a.strand == b.strand);
                CHECK(a.is_alignment == b.is_alignment);
            }
        }
    }
}

TEST_CASE("CRAM: no reference fails at once with a clear message; a wrong one fails too", "[readers]") {
    // Make sure htslib's default (the EBI server) would be the fallback, then check we never
    // wait on it: the reader must point REF_PATH elsewhere itself.
    ::unsetenv("REF_PATH");
    ::unsetenv("REF_CACHE");
    const auto t0 = std::chrono::steady_clock::now();
    const Error e = read_error(reads("reads.cram"));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(seconds < 5.0);
    CHECK(e.kind() == ErrorKind::usage);
    CHECK_THAT(e.what(), Catch::Contains("reads.cram") &&
                             Catch::Contains("CRAM needs the reference it was made against: pass --reference FILE"));
    // it fails at open, before any record is returned
    CHECK_THROWS_AS(open_record_reader(reads("reads.cram"), ReaderOptions{}), Error);
    const char* ref_path = std::getenv("REF_PATH");
    CHECK(ref_path != nullptr);

    SECTION("a reference of other sequences") {
        ReaderOptions o;
        o.reference = test::testdata("regions/genome.fa");  // has chr1/chr2, other bases and lengths
        const Error w = read_error(reads("reads.cram"), o);
        CHECK(w.kind() == ErrorKind::input);
        CHECK_THAT(w.what(), Catch::Contains("reads.cram") && Catch::Contains("genome.fa"));
    }
    SECTION("a reference that does not exist") {
        ReaderOptions o;
        o.reference = reads("no_such_ref.fa");
        const Error w = read_error(reads("reads.cram"), o);
        CHECK(w.kind() == ErrorKind::input);
        CHECK_THAT(w.what(), Catch::Contains("no_such_ref.fa"));
    }
}

TEST_CASE("BAM/CRAM regions: reads overlapping each region, in region order", "[readers]") {
    const std::string dir = test::scratch_dir("readers_regions");
    auto region_names = [&](const std::string& path, std::vector<std::string> regions) {
        ReaderOptions o = with_reference();
        o.regions = std::move(regions);
        ReadAll all;
        (void)capture_stderr(dir, [&] { all = read_all(path, o); });
        return names(all);
    };
    for (const std::string file : {"reads.bam", "reads.cram"}) {
        INFO(file);
        const std::string path = reads(file);
        // 1-based inclusive 101-130 = [100, 130): only r02_rev (100-125)
        CHECK(region_names(path, {"chr1:101-130"}) == std::vector<std::string>{"r02_rev"});
        // [14, 60): r05_dup (10-30); r06_secondary (50-70) overlaps but is filtered
        CHECK(region_names(path, {"chr2:15-60"}) == std::vector<std::string>{"r05_dup"});
        // a whole contig (r07_noseq has no bases; secondary/supplementary filtered)
        CHECK(region_names(path, {"chr2"}) == std::vector<std::string>{"r05_dup", "r09_mapq0", "r10_rev_n"});
        // regions in the order given; a read overlapping two regions comes twice; a region
        // past the end of its contig is empty
        CHECK(region_names(path, {"chr2:201-201", "chr1:20-30", "chr1:1-15", "chr1:1,000-1,100"}) ==
              std::vector<std::string>{"r09_mapq0", "r10_rev_n", "r01_fwd", "r01_fwd"});
        // boundaries: [272, 300) misses r04_clip, which ends at 272 (deletion included)
        CHECK(region_names(path, {"chr1:273-300"}).empty());
        CHECK(region_names(path, {"chr1:272-272"}) == std::vector<std::string>{"r04_clip"});
        // "*": the unmapped reads
        CHECK(region_names(path, {"*"}) == std::vector<std::string>{"r11_unmapped"});
    }
    // coordinates of a region read are those of its alignment
    ReaderOptions o;
    o.regions = {"chr1:101-130"};
    const ReadAll one = read_all(reads("reads.bam"), o);
    REQUIRE(one.records.size() == 1);
    CHECK(one.records[0].chrom == "chr1");
    CHECK(one.records[0].start == 100);
    CHECK(one.records[0].end == 125);
    CHECK(one.records[0].strand == '-');
    CHECK(one.records[0].seq == "AGCGAGACGTCAGAGGCACCACAGC");
}

TEST_CASE("regions: errors", "[readers]") {
    const std::string dir = test::scratch_dir("readers_region_errors");
    SECTION("an unindexed BAM is a usage error naming samtools index") {
        const std::string bam = dir + "/reads.bam";
        fs::copy_file(reads("reads.bam"), bam);
        ReaderOptions o;
        o.regions = {"chr1"};
        const Error e = read_error(bam, o);
        CHECK(e.kind() == ErrorKind::usage);
        CHECK_THAT(e.what(), Catch::Contains(bam + " has no index (.bai/.csi): run samtools index " + bam +
                                             ", or drop --region"));
        // without regions the same file reads fine
        (void)capture_stderr(dir, [&] { CHECK(read_all(bam).records.size() == 8); });
    }
    SECTION("an unindexed CRAM names .crai") {
        const std::string cram = dir + "/reads.cram";
        fs::copy_file(reads("reads.cram"), cram);
        ReaderOptions o = with_reference();
        o.regions = {"chr1"};
        const Error e = read_error(cram, o);
        CHECK(e.kind() == ErrorKind::usage);
        CHECK_THAT(e.what(), Catch::Contains(".crai"));
    }
    SECTION("an unknown contig is an input error naming it, before any read") {
        ReaderOptions o;
        o.regions = {"chr1:1-100", "chrX:1-10"};
        try {
            (void)open_record_reader(reads("reads.bam"), o);
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::input);
            CHECK_THAT(e.what(), Catch::Contains("chrX") && Catch::Contains("chr1, chr2"));
        }
    }
    SECTION("an unparsable region is a usage error") {
        ReaderOptions o;
        o.regions = {"chr1:100-50"};
        const Error e = read_error(reads("reads.bam"), o);
        CHECK(e.kind() == ErrorKind::usage);
        CHECK_THAT(e.what(), Catch::Contains("chr1:100-50"));
    }
    SECTION("regions on SAM, FASTQ and FASTA are usage errors") {
        ReaderOptions o;
        o.regions = {"chr1"};
        for (const std::string file : {"reads.sam", "reads.fastq", "reads.fastq.gz", "reads.fa.gz", "ref.fa"}) {
            INFO(file);
            const Error e = read_error(reads(file), o);
            CHECK(e.kind() == ErrorKind::usage);
            CHECK_THAT(e.what(), Catch::Contains("indexed BAM/CRAM"));
        }
    }
}

TEST_CASE("FASTQ and FASTA: plain, gzip, bgzip; equal to the BAM reads as sequenced", "[readers]") {
    const std::string dir = test::scratch_dir("readers_fastq");
    ReadAll bam;
    (void)capture_stderr(dir, [&] { bam = read_all(reads("reads.bam")); });
    const ReadAll fq = read_all(reads("reads.fastq"));
    const ReadAll fqgz = read_all(reads("reads.fastq.gz"));
    const ReadAll fagz = read_all(reads("reads.fa.gz"));
    CHECK(fq.format == InputFormat::fastq);
    CHECK(fqgz.format == InputFormat::fastq);
    CHECK(fagz.format == InputFormat::fasta);
    REQUIRE(fq.records.size() == 8);
    for (const ReadAll* other : std::initializer_list<const ReadAll*>{&fqgz, &fagz, &bam}) {
        REQUIRE(other->records.size() == fq.records.size());
        for (std::size_t i = 0; i < fq.records.size(); ++i) {
            CHECK(other->records[i].name == fq.records[i].name);
            CHECK(other->records[i].seq == fq.records[i].seq);
        }
    }
    for (const auto& rec : fq.records) {
        INFO(rec.name);
        CHECK(rec.seq == expected(rec.name).original);
        CHECK(rec.chrom == rec.name);
        CHECK(rec.start == 0);
        CHECK(rec.end == static_cast<std::int64_t>(rec.seq.size()));
        CHECK(rec.strand == '+');
        CHECK_FALSE(rec.is_alignment);
    }
    // The reference FASTA itself (plain, through FastaReader)
    const ReadAll ref = read_all(reads("ref.fa"));
    CHECK(ref.format == InputFormat::fasta);
    REQUIRE(names(ref) == std::vector<std::string>{"chr1", "chr2"});
    CHECK(ref.records[0].seq.size() == 300);
    CHECK(ref.records[1].seq.size() == 250);
    CHECK(ref.records[0].seq.substr(10, 30) == expected("r01_fwd").stored);
}

TEST_CASE("FASTQ: accepted shapes", "[readers]") {
    const std::string dir = test::scratch_dir("readers_fastq_shapes");
    const std::string path = dir + "/x.fastq";
    SECTION("comments, CR-LF, '+name', blank lines between records, an empty read, wrapped lines") {
        put_file(path,
                 "@a desc here\r\nACGT\r\n+\r\nIIII\r\n"
                 "\n"
                 "@b\nAC\nGTN\n+b\nII\nIII\n"
                 "@empty\n\n+\n\n"
                 "@c\nacgu\n+c more\n@@@@\n");
        const ReadAll all = read_all(path);
        CHECK(all.format == InputFormat::fastq);
        REQUIRE(names(all) == std::vector<std::string>{"a", "b", "empty", "c"});
        CHECK(all.records[0].seq == "ACGT");
        CHECK(all.records[1].seq == "ACGTN");
        CHECK(all.records[2].seq.empty());
        CHECK(all.records[3].seq == "acgu");  // case kept; quality may start with '@'
    }
    SECTION("blank lines before the first record (htslib does not classify it)") {
        put_file(path, "\n\n@a\nACGT\n+\nIIII\n");
        const ReadAll all = read_all(path);
        CHECK(all.format == InputFormat::fastq);
        CHECK(names(all) == std::vector<std::string>{"a"});
    }
    SECTION("the same, gzip-compressed") {
        put_gzip(path + ".gz", "\n@a\nACGT\n+\nIIII\n");
        CHECK(names(read_all(path + ".gz")) == std::vector<std::string>{"a"});
    }
}

TEST_CASE("FASTQ: malformed records name the record", "[readers]") {
    const std::string dir = test::scratch_dir("readers_fastq_bad");
    const std::string path = dir + "/bad.fastq";
    struct Case {
        const char* what;
        std::string text;
        std::vector<std::string> message;
    };
    const std::vector<Case> cases = {
        {"quality shorter", "@a\nACGT\n+\nIIII\n@b\nACGTA\n+\nIII\n@c\nA\n+\nI\n",
         {"record 2 'b'", "quality length 3 differs from sequence length 5", "line 8"}},
        {"quality longer", "@a\nACGT\n+\nIIIII\n", {"record 1 'a'", "quality length 5 differs from sequence length 4"}},
        {"truncated before quality", "@a\nACGT\n+\nIIII\n@b\nACGT\n+\n", {"truncated", "record 2 'b'"}},
        {"truncated before '+'", "@a\nACGT\n+\nIIII\n@b\nACGT\n", {"truncated", "record 2 'b'", "'+'"}},
        {"missing '+' and quality", "@a\nACGT\n@b\nACGT\n+\nIIII\n", {"record 1 'a'", "new header"}},
        {"'+' names another read", "@a\nACGT\n+x\nIIII\n", {"record 1 'a'", "'x'"}},
        {"bad base", "@a\nAC GT\n+\nIIIII\n", {"record 1 'a'", "line 2", "unexpected character"}},
        {"bad quality byte", "@a\nACGT\n+\nII\x01I\n", {"record 1 'a'", "quality"}},
        {"header without name", "@\nACGT\n+\nIIII\n", {"record 1", "no name"}},
        {"junk between records", "@a\nACGT\n+\nIIII\nhello\n", {"line 5", "'hello'", "after record 1"}},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        put_file(path, c.text);
        const Error e = read_error(path);
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains(path));
        for (const auto& m : c.message) CHECK_THAT(e.what(), Catch::Contains(m));
    }
    // errors are sticky: the next call throws the same
    put_file(path, "@a\nACGT\n+\nIII\n");
    auto reader = open_record_reader(path, {});
    InputRecord r;
    CHECK_THROWS_AS(reader->next(r), Error);
    CHECK_THROWS_WITH(reader->next(r), Catch::Contains("quality length 3"));
}

TEST_CASE("truncated and corrupt compressed input", "[readers]") {
    const std::string dir = test::scratch_dir("readers_truncated");
    SECTION("a BAM cut short") {
        const std::string bam = test::read_file(reads("reads.bam"));
        for (const std::size_t keep : {bam.size() / 2, bam.size() - 28}) {  // mid-file; just the EOF block gone
            INFO(keep);
            const std::string path = dir + "/cut.bam";
            put_file(path, bam.substr(0, keep));
            const Error e = read_error(path);
            CHECK(e.kind() == ErrorKind::input);
            CHECK_THAT(e.what(), Catch::Contains(path) && Catch::Contains("truncated"));
        }
    }
    SECTION("a BAM with a corrupt record block names the record") {
        std::string bam = test::read_file(reads("reads.bam"));
        // the records' BGZF block starts after the header block; damage its deflate data
        const std::size_t second_block = bam.find(std::string("\x1f\x8b\x08\x04", 4), 4);
        REQUIRE(second_block != std::string::npos);
        for (std::size_t i = second_block + 30; i < second_block + 60; ++i) bam[i] = static_cast<char>(bam[i] ^ 0x5a);
        const std::string path = dir + "/corrupt.bam";
        put_file(path, bam);
        const Error e = read_error(path);
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains(path) && Catch::Contains("record 1") && Catch::Contains("corrupt"));
        // the same from a pipe (no up-front end-of-file check there)
        CHECK_THAT(read_stdin(dir, bam), Catch::Contains("error: 1 <stdin>: record 1: truncated or corrupt BAM data"));
    }
    SECTION("a gzip FASTQ cut short names the record") {
        std::string text;
        for (int i = 0; i < 2000; ++i) text += "@read" + std::to_string(i) + "\nACGTACGTACGTACGTACGT\n+\nIIIIIIIIIIIIIIIIIIII\n";
        const std::string full = dir + "/full.fastq.gz";
        put_gzip(full, text);
        const std::string gz = test::read_file(full);
        const std::string path = dir + "/cut.fastq.gz";
        put_file(path, gz.substr(0, gz.size() / 2));
        const Error e = read_error(path);
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains(path) && Catch::Contains("record ") && Catch::Contains("truncated"));
    }
    SECTION("a bgzip FASTA without its end-of-file block") {
        const std::string fa = test::read_file(reads("reads.fa.gz"));
        const std::string path = dir + "/cut.fa.gz";
        put_file(path, fa.substr(0, fa.size() - 28));
        const Error e = read_error(path);
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains(path) && Catch::Contains("truncated"));
    }
    SECTION("a CRAM cut short") {
        // reads.cram ends with two 38-byte EOF containers (see testdata/reads/README.md)
        const std::string cram = test::read_file(reads("reads.cram"));
        for (const std::size_t cut : {76, 100}) {  // both EOF containers gone; into the data container
            INFO(cut);
            const std::string path = dir + "/cut.cram";
            put_file(path, cram.substr(0, cram.size() - cut));
            const Error e = read_error(path, with_reference());
            CHECK(e.kind() == ErrorKind::input);
            CHECK_THAT(e.what(), Catch::Contains(path));
        }
    }
    SECTION("from a pipe, a cut at a block boundary is found at the end") {
        const std::string bam = test::read_file(reads("reads.bam"));
        CHECK_THAT(read_stdin(dir, bam.substr(0, bam.size() - 28)),
                   Catch::Contains("error: 1 <stdin>: the BAM data ends without its end-of-file marker after "
                                   "record 11 ('r11_unmapped'): the file is truncated"));
        CHECK_THAT(read_stdin(dir, bam.substr(0, 300)),
                   Catch::Contains("error: 1 <stdin>: record 1: truncated or corrupt BAM data"));
        const std::string fa = test::read_file(reads("reads.fa.gz"));
        CHECK_THAT(read_stdin(dir, fa.substr(0, fa.size() - 28)),
                   Catch::Contains("error: 1 <stdin>: truncated file") && Catch::Contains("'r11_unmapped'"));
    }
}

TEST_CASE("open_record_reader: missing, empty and unrecognised files", "[readers]") {
    const std::string dir = test::scratch_dir("readers_open");
    SECTION("missing file") {
        const std::string path = dir + "/nope.bam";
        const Error e = read_error(path);
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains(path) && Catch::Contains("No such file"));
    }
    SECTION("a directory") {
        const Error e = read_error(dir);
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains(dir));
    }
    SECTION("empty path") { CHECK(read_error("").kind() == ErrorKind::input); }
    SECTION("empty files give zero records") {
        put_file(dir + "/empty.fa", "");
        put_file(dir + "/blank.fa", "\n\n  \n");
        put_gzip(dir + "/empty.fa.gz", "");
        for (const std::string f : {"empty.fa", "blank.fa", "empty.fa.gz"}) {
            INFO(f);
            CHECK(read_all(dir + "/" + f).records.empty());
        }
    }
    SECTION("unrecognised binary data") {
        put_file(dir + "/random.bin", std::string("\x00\x01\x02\x03\xff\xfe\x10\x80garbage\x00\x00", 17));
        const Error e = read_error(dir + "/random.bin");
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains("random.bin") && Catch::Contains("not a sequence file"));
    }
    SECTION("other htslib formats are named") {
        put_file(dir + "/x.vcf", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
        const Error e = read_error(dir + "/x.vcf");
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains("VCF") && Catch::Contains("expected FASTA, FASTQ, SAM, BAM or CRAM"));
        const Error i = read_error(reads("reads.bam.bai"));
        CHECK_THAT(i.what(), Catch::Contains("not a sequence file"));
    }
    SECTION("unrecognised text") {
        put_file(dir + "/notes.txt", "hello world\nthis is not a sequence\n");
        const Error e = read_error(dir + "/notes.txt");
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains("notes.txt") && Catch::Contains("'hello world'"));
    }
    SECTION("xz data is named") {
        put_file(dir + "/x.fa.xz", std::string("\xfd" "7zXZ\x00\x00\x04\xe6\xd6\xb4\x46\x02\x00\x21\x01", 16));
        const Error e = read_error(dir + "/x.fa.xz");
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains("xz"));
    }
    SECTION("a malformed SAM line names the record and the line") {
        put_file(dir + "/bad.sam",
                 "@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:100\nr1\t0\tchr1\t5\t60\t4M\t*\t0\t0\tACGT\tIIII\n"
                 "r2\t0\tchr1\tfive\t60\t4M\t*\t0\t0\tACGT\tIIII\n");
        const Error e = read_error(dir + "/bad.sam");
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains("bad.sam: record 2 (after 'r1') (line 4): malformed SAM record"));
        // the good first record comes out; then the error, every time
        auto reader = open_record_reader(dir + "/bad.sam", {});
        InputRecord r;
        CHECK(reader->next(r));
        CHECK(r.name == "r1");
        CHECK_THROWS_WITH(reader->next(r), Catch::Contains("record 2 (after 'r1')"));
        CHECK_THROWS_WITH(reader->next(r), Catch::Contains("record 2 (after 'r1')"));
    }
    SECTION("FASTA errors come from FastaReader, naming the file") {
        put_file(dir + "/bad.fa", ">a\nACGT\n>\nACGT\n");
        const Error e = read_error(dir + "/bad.fa");
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains("bad.fa") && Catch::Contains("no name"));
    }
}

TEST_CASE("standard input: every format detected from a pipe", "[readers]") {
    const std::string dir = test::scratch_dir("readers_stdin");
    ReaderOptions all_reads;
    for (const std::string file : {"reads.sam", "reads.bam", "reads.fastq", "reads.fastq.gz", "reads.fa.gz", "ref.fa"}) {
        INFO(file);
        std::string expected;
        (void)capture_stderr(dir, [&] { expected = render(reads(file)); });
        CHECK(read_stdin(dir, test::read_file(reads(file))) == expected);
    }
    // CRAM from a pipe, with its reference
    std::string expected;
    (void)capture_stderr(dir, [&] { expected = render(reads("reads.cram"), with_reference()); });
    CHECK(read_stdin(dir, test::read_file(reads("reads.cram")), with_reference()) == expected);
    // FASTA on stdin is parsed here (FastaReader cannot take over a peeked stream): same rules
    CHECK(read_stdin(dir, "\xef\xbb\xbf>a desc\r\nAC GT\r\n\nac\n>b\nN\n") ==
          "FASTA\na a 0 6 + ACGTac\nb b 0 1 + N\n");
    CHECK(read_stdin(dir, "\n\n>a\nACGT\n") == "FASTA\na a 0 4 + ACGT\n");
    CHECK(read_stdin(dir, "") == "FASTA\n");  // empty: zero records
    CHECK_THAT(read_stdin(dir, ">a\n>b\nACGT\n"), Catch::Contains("error: 1 <stdin>: line 1 (record 1 'a'): header with no sequence"));
    CHECK_THAT(read_stdin(dir, "@a\nACGT\n+\nIII\n"), Catch::Contains("error: 1 <stdin>") && Catch::Contains("record 1 'a'"));
    // regions need a file
    ReaderOptions regions;
    regions.regions = {"chr1"};
    CHECK_THAT(read_stdin(dir, test::read_file(reads("reads.bam")), regions), Catch::Contains("error: 0 ") && Catch::Contains("standard input"));
}

// One FASTA grammar (lib/src/io/fasta_grammar.hpp) behind both FASTA paths: a regular file
// goes to FastaReader, the same bytes on a pipe to the stream reader. Each text below is read
// both ways and must give the same records, or the same error after the file's name.
TEST_CASE("FASTA: a regular file and the same bytes on a pipe parse alike", "[readers]") {
    const std::string dir = test::scratch_dir("readers_fasta_grammar");
    const std::string path = dir + "/x.fa";
    // Format detection looks at the first 1 KiB; bytes it would call binary go after it.
    const std::string long_record = ">long\n" + std::string(1500, 'A') + "\n";
    const std::string long_row = "long long 0 1500 + " + std::string(1500, 'A') + "\n";
    struct Case {
        const char* what;
        std::string text;
        std::string expected;  // after "FASTA\n", with the file named <stdin>
    };
    const std::vector<Case> cases = {
        {"CRLF, blank lines, a BOM", "\xef\xbb\xbf\r\n>a x\r\nAC\r\n\r\ngt\r\n>b\r\nN\r\n",
         "a a 0 4 + ACgt\nb b 0 1 + N\n"},
        {"blanks between '>' and the name, tabs in the header", ">  \tname\tthe description\nACGT\n",
         "name name 0 4 + ACGT\n"},
        {"blanks inside sequence lines", ">a\n A C\tG T \r\n\t\n",
         "a a 0 4 + ACGT\n"},
        {"vertical tab and form feed are blanks", long_record + ">a\nA\vC\fG\n", long_row + "a a 0 3 + ACG\n"},
        {"';' lines and punctuation are residues", ">a\n;not a comment\nAC*-.\n",
         "a a 0 17 + ;notacommentAC*-.\n"},
        {"no final newline", ">a\nAC\n>b\nGT", "a a 0 2 + AC\nb b 0 2 + GT\n"},
        {"'>' with no name", ">a\nAC\n> \t\nGT\n",
         "a a 0 2 + AC\nerror: 1 <stdin>: line 3 (record 2): header has no name; expected '>name [description]'\n"},
        {"a header with no sequence", ">a\n\n>b\nAC\n",
         "error: 1 <stdin>: line 1 (record 1 'a'): header with no sequence; expected sequence lines after the "
         "header\n"},
        {"a header with no sequence at the end", ">a\nAC\n>b desc\n \r\n",
         "a a 0 2 + AC\nerror: 1 <stdin>: line 3 (record 2 'b'): header with no sequence; expected sequence "
         "lines after the header\n"},
        {"a NUL byte", long_record + std::string(">a\nAC\0GT\n", 10),
         long_row + "error: 1 <stdin>: line 4 (record 2 'a'): unexpected byte \\x00 in sequence; expected "
                    "sequence letters (is this a binary or corrupt file?)\n"},
        {"a non-ASCII byte", ">a\nAC\xc3\xa9GT\n",
         "error: 1 <stdin>: line 2 (record 1 'a'): unexpected byte \\xc3 in sequence; expected sequence "
         "letters (is this a binary or corrupt file?)\n"},
    };
    // The file read through its path, rendered as read_stdin renders the pipe.
    auto from_file = [&](const std::string& text) {
        put_file(path, text);
        std::string rendered = render_or_error(path);
        const std::size_t named = rendered.find(path + ": ");
        if (named != std::string::npos) rendered.replace(named, path.size(), "<stdin>");
        return rendered;
    };
    for (const auto& c : cases) {
        INFO(c.what);
        CHECK(from_file(c.text) == "FASTA\n" + c.expected);
        CHECK(read_stdin(dir, c.text) == "FASTA\n" + c.expected);
    }
    // A gzip file cut inside its first block: detection decompresses a '>' and calls it FASTA,
    // the BGZF layer finds too few bytes for gzip and reads the raw bytes. Both paths now say
    // what it looks like (the pipe path used to leave the hint out).
    put_gzip(dir + "/full.fa.gz", ">a\nACGT\n");
    const std::string cut = test::read_file(dir + "/full.fa.gz").substr(0, 14);
    const std::string expected = from_file(cut);
    CHECK_THAT(expected, Catch::StartsWith("FASTA\nerror: 1 <stdin>: line 1: not a FASTA file: expected a header "
                                           "line starting with '>' but found '\\x1f\\x8b") &&
                             Catch::EndsWith("'; this looks like a truncated or corrupt gzip file\n"));
    CHECK(read_stdin(dir, cut) == expected);
}
