// Unix plumbing (issue 17, item 4), end to end through the binary: `-o -` writes the text
// outputs (embed's, classify's, vep's and score's TSV tables, track's bedGraph) to standard
// output, byte for
// byte what the file output holds; names ending in .tsv.gz / .bedgraph.gz are bgzip (BGZF)
// files that decompress to those same bytes; failures leave nothing behind.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "test_util.hpp"

using namespace dnamba;
using test::q;

namespace {

const std::string k_model = test::testdata("models/tiny-caduceus");
const std::string k_example = test::testdata("example/example.fa");

// gzip -dc: reads every member of a multi-member (BGZF) file.
std::string gunzip(const std::string& path) {
    const std::string out = path + ".decompressed";
    REQUIRE(std::system(("gzip -dc " + q(path) + " > " + q(out)).c_str()) == 0);
    std::string s = test::read_file(out);
    std::filesystem::remove(out);
    return s;
}

// BGZF: gzip with FEXTRA (flags 4) holding the "BC" subfield, and the 28-byte empty EOF block.
void check_bgzf(const std::string& path) {
    INFO(path);
    const std::string z = test::read_file(path);
    REQUIRE(z.size() > 28 + 18);
    CHECK(static_cast<unsigned char>(z[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(z[1]) == 0x8b);
    CHECK(static_cast<unsigned char>(z[3]) == 0x04);
    CHECK(z.substr(12, 2) == "BC");
    const std::string eof("\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00\x42\x43\x02\x00\x1b\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00", 28);
    CHECK(z.substr(z.size() - 28) == eof);
}

// Nothing in `dir` but `keep` (no output, no temporary file).
void check_only(const std::string& dir, const std::vector<std::string>& keep) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        INFO("left in " << dir << ": " << name);
        CHECK(std::find(keep.begin(), keep.end(), name) != keep.end());
    }
}

// `args -o -` writes `want` (the bytes of the file output) to standard output, its messages
// (`err_has`) to stderr, and no file named "-".
void check_stdout(const std::string& args, const std::string& want, const std::string& err_has) {
    INFO(args);
    const auto r = test::run_dnamba(args + " -o -");
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == want);
    CHECK_THAT(r.err, Catch::Contains(err_has));
    CHECK_FALSE(test::file_exists("-"));
}

// A small two-class genome (GC-rich vs AT-rich 200-bp segments) and a k-mer head on it.
struct Classified {
    std::string dir, fasta, bed, head;
};

Classified make_head(const std::string& name) {
    Classified c;
    c.dir = test::scratch_dir(name);
    c.fasta = c.dir + "/g.fa";
    c.bed = c.dir + "/r.bed";
    c.head = c.dir + "/k.head";
    std::string fa, bed;
    unsigned state = 7;
    for (int chrom = 1; chrom <= 3; ++chrom) {
        std::string seq;
        for (int seg = 0; seg < 8; ++seg) {
            const bool gc = seg % 2 == 0;
            const int start = static_cast<int>(seq.size());
            for (int i = 0; i < 200; ++i) {
                state = state * 1103515245u + 12345u;
                const bool strong = (state >> 16) % 100 < (gc ? 75u : 25u);
                seq += strong ? "GC"[(state >> 8) & 1] : "AT"[(state >> 8) & 1];
            }
            bed += "chr" + std::to_string(chrom) + "\t" + std::to_string(start) + "\t" + std::to_string(start + 200) +
                   "\t" + (gc ? "gc" : "at") + "\n";
        }
        fa += ">chr" + std::to_string(chrom) + "\n" + seq + "\n";
    }
    test::write_file(c.fasta, fa);
    test::write_file(c.bed, bed);
    const auto r = test::run_dnamba("train-head -i " + q(c.fasta) + " --regions " + q(c.bed) +
                                    " --features kmer:2 --folds 2 -o " + q(c.head));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return c;
}

}  // namespace

TEST_CASE("plumbing: -o - writes the TSV tables and the bedGraph to standard output", "[cli][plumbing]") {
    const std::string dir = test::scratch_dir("plumb_stdout");
    const std::string m = " -m " + q(k_model) + " -i " + q(k_example) + " --threads 1";
    auto r = test::run_dnamba("embed" + m + " -o " + q(dir + "/e.tsv"));
    REQUIRE(r.exit_code == 0);
    const std::string table = test::read_file(dir + "/e.tsv");
    // the provenance line, then the header
    REQUIRE(table.rfind("#dnamba {", 0) == 0);
    REQUIRE(table.find("\nname\tchrom\tstart\tend\tstrand\te0") == table.find('\n'));
    r = test::run_dnamba("embed" + m + " -o -");
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == table);                                      // the same bytes
    CHECK_THAT(r.err, Catch::Contains("dnamba embed: wrote -"));  // messages stay on stderr
    CHECK_FALSE(test::file_exists("-"));

    // binary formats need a file: --pool none (.npz only) refuses -, nothing is written
    r = test::run_dnamba("embed" + m + " --pool none -o -");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(".npz") && Catch::Contains("standard output"));
    CHECK(r.out.empty());
    CHECK_FALSE(test::file_exists("-"));
    r = test::run_dnamba("embed --help");
    CHECK_THAT(r.out, Catch::Contains("with -o - the TSV table goes to standard"));

    // classify: - is the calls table; track: - is the bedGraph
    const Classified c = make_head("plumb_stdout_cls");
    const std::string cls = "classify --head " + q(c.head) + " -i " + q(c.fasta) + " --regions " + q(c.bed);
    r = test::run_dnamba(cls + " -o " + q(c.dir + "/calls.tsv"));
    REQUIRE(r.exit_code == 0);
    const std::string calls = test::read_file(c.dir + "/calls.tsv");
    REQUIRE(calls.rfind("#dnamba {", 0) == 0);
    REQUIRE(calls.find("\nname\tchrom\tstart\tend\tstrand\tp_at\tp_gc\tpredicted\n") == calls.find('\n'));
    r = test::run_dnamba(cls + " -o -");
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == calls);
    const std::string trk = "track --calls " + q(c.dir + "/calls.tsv") + " --genome " + q(c.fasta) + " --class gc";
    r = test::run_dnamba(trk + " -o " + q(c.dir + "/gc.bedgraph"));
    REQUIRE(r.exit_code == 0);
    const std::string bedgraph = test::read_file(c.dir + "/gc.bedgraph");
    REQUIRE(bedgraph.rfind("track type=bedGraph", 0) == 0);
    r = test::run_dnamba(trk + " -o -");
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == bedgraph);
    CHECK_THAT(r.err, Catch::Contains("dnamba track:"));
    CHECK_FALSE(test::file_exists("-"));
}

TEST_CASE("plumbing: .tsv.gz and .bedgraph.gz are bgzip files of the same bytes, written atomically",
          "[cli][plumbing]") {
    const std::string dir = test::scratch_dir("plumb_gz");
    const std::string m = " -m " + q(k_model) + " -i " + q(k_example) + " --threads 1";
    auto r = test::run_dnamba("embed" + m + " -o " + q(dir + "/e.tsv"));
    REQUIRE(r.exit_code == 0);
    r = test::run_dnamba("embed" + m + " -o " + q(dir + "/e.tsv.gz"));
    REQUIRE(r.exit_code == 0);
    check_bgzf(dir + "/e.tsv.gz");
    CHECK(gunzip(dir + "/e.tsv.gz") == test::read_file(dir + "/e.tsv"));
    check_only(dir, {"e.tsv", "e.tsv.gz"});  // no temporary left

    // a run that fails after the output was opened leaves neither the .gz nor its temporary
    test::write_file(dir + "/bad.fa", ">ok\nACGTACGT\n>broken\n>next\nACGT\n");
    r = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(dir + "/bad.fa") + " -o " + q(dir + "/bad.tsv.gz"));
    CHECK(r.exit_code == 3);
    check_only(dir, {"e.tsv", "e.tsv.gz", "bad.fa"});
    // ... and a failure does not replace an existing .gz
    const std::string before = test::read_file(dir + "/e.tsv.gz");
    r = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(dir + "/bad.fa") + " -o " + q(dir + "/e.tsv.gz"));
    CHECK(r.exit_code == 3);
    CHECK(test::read_file(dir + "/e.tsv.gz") == before);
    check_only(dir, {"e.tsv", "e.tsv.gz", "bad.fa"});
    r = test::run_dnamba("embed" + m + " -o " + q(dir + "/no/such/dir/e.tsv.gz"));
    CHECK(r.exit_code == 6);
    CHECK_THAT(r.err, Catch::Contains("no/such/dir"));

    const Classified c = make_head("plumb_gz_cls");
    const std::string cls = "classify --head " + q(c.head) + " -i " + q(c.fasta) + " --regions " + q(c.bed);
    REQUIRE(test::run_dnamba(cls + " -o " + q(c.dir + "/calls.tsv")).exit_code == 0);
    REQUIRE(test::run_dnamba(cls + " -o " + q(c.dir + "/calls.tsv.gz")).exit_code == 0);
    check_bgzf(c.dir + "/calls.tsv.gz");
    CHECK(gunzip(c.dir + "/calls.tsv.gz") == test::read_file(c.dir + "/calls.tsv"));
    const std::string trk = "track --calls " + q(c.dir + "/calls.tsv") + " --genome " + q(c.fasta) + " --class gc";
    REQUIRE(test::run_dnamba(trk + " -o " + q(c.dir + "/gc.bedgraph")).exit_code == 0);
    REQUIRE(test::run_dnamba(trk + " -o " + q(c.dir + "/gc.bedgraph.gz")).exit_code == 0);
    check_bgzf(c.dir + "/gc.bedgraph.gz");
    CHECK(gunzip(c.dir + "/gc.bedgraph.gz") == test::read_file(c.dir + "/gc.bedgraph"));
    // an unknown class fails before anything is written
    r = test::run_dnamba("track --calls " + q(c.dir + "/calls.tsv") + " --genome " + q(c.fasta) +
                         " --class nope -o " + q(c.dir + "/x.bedgraph.gz"));
    CHECK(r.exit_code == 2);
    CHECK_FALSE(test::file_exists(c.dir + "/x.bedgraph.gz"));
    for (const auto& e : std::filesystem::directory_iterator(c.dir))
        CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("plumbing: vep and score write their TSV to standard output and .tsv.gz, score's bedGraph to .bedgraph.gz",
          "[cli][plumbing][vep]") {
    const std::string dir = test::scratch_dir("plumb_vep");
    const std::string genome = test::testdata("vep/genome.fa"), vcf = test::testdata("vep/variants.vcf");
    const std::string m = " -m " + q(test::testdata("golden/a_caduceus_ph")) + " -i " + q(genome) + " --threads 1";
    const std::string vep = "vep" + m + " --vcf " + q(vcf) + " --window 64 --scores masked-llr,llr";
    auto r = test::run_dnamba(vep + " -o " + q(dir + "/v.tsv"));
    REQUIRE(r.exit_code == 0);
    const std::string table = test::read_file(dir + "/v.tsv");
    REQUIRE(table.rfind("chrom\tpos\tref\talt\tmasked-llr\tllr\nchr1\t1\tA\tC\t", 0) == 0);
    check_stdout(vep, table, "dnamba vep: wrote -");
    // the VCF itself from standard input, the table to standard output
    r = test::run_dnamba("vep" + m + " --vcf - --window 64 --scores masked-llr,llr -o - < " + q(vcf));
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == table);
    r = test::run_dnamba(vep + " -o " + q(dir + "/v.tsv.gz"));
    REQUIRE(r.exit_code == 0);
    check_bgzf(dir + "/v.tsv.gz");
    CHECK(gunzip(dir + "/v.tsv.gz") == table);
    // a failure (--strict: the fixture has symbolic ALTs) leaves no .tsv.gz and no temporary
    r = test::run_dnamba(vep + " --strict -o " + q(dir + "/strict.tsv.gz"));
    CHECK(r.exit_code == 3);
    CHECK(r.out.empty());
    check_only(dir, {"v.tsv", "v.tsv.gz"});

    const std::string score = "score" + m + " --region chr2 --track entropy";
    REQUIRE(test::run_dnamba(score + " -o " + q(dir + "/s.tsv")).exit_code == 0);
    const std::string per_base = test::read_file(dir + "/s.tsv");
    REQUIRE(per_base.rfind("name\tchrom\tpos\tbase\tentropy\n", 0) == 0);
    CHECK(std::count(per_base.begin(), per_base.end(), '\n') == 151);
    check_stdout(score, per_base, "dnamba score: 1 row(s), 150 bases");
    REQUIRE(test::run_dnamba(score + " -o " + q(dir + "/s.tsv.gz")).exit_code == 0);
    check_bgzf(dir + "/s.tsv.gz");
    CHECK(gunzip(dir + "/s.tsv.gz") == per_base);
    REQUIRE(test::run_dnamba(score + " -o " + q(dir + "/s.bedgraph")).exit_code == 0);
    REQUIRE(test::run_dnamba(score + " -o " + q(dir + "/s.bedgraph.gz")).exit_code == 0);
    check_bgzf(dir + "/s.bedgraph.gz");
    const std::string bedgraph = test::read_file(dir + "/s.bedgraph");
    REQUIRE(bedgraph.rfind("track type=bedGraph name=\"dnamba entropy\"\nchr2\t0\t1\t", 0) == 0);
    CHECK(gunzip(dir + "/s.bedgraph.gz") == bedgraph);
    check_only(dir, {"v.tsv", "v.tsv.gz", "s.tsv", "s.tsv.gz", "s.bedgraph", "s.bedgraph.gz"});
}
