// The composed input (records, regions, windows) and the three-stage embed pipeline:
// coordinates and names of rows, strand handling, order, batching that changes nothing,
// error propagation. Fixtures are written per test from known sequences.
#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>
#include <random>

#include "dnamba/classify.hpp"
#include "dnamba/embed.hpp"
#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "dnamba/tokenizer.hpp"
#include "pipeline/run_batched.hpp"
#include "test_util.hpp"

using namespace dnamba;
using test::q;
using test::random_dna;

namespace {

const std::string k_model = test::testdata("models/tiny-caduceus");

struct Genome {
    std::string dir, fasta;
    std::string chr1, chr2;
};

// chr1 (1000 bp) and chr2 (700 bp), 60-column lines, no index yet.
Genome make_genome(const std::string& name) {
    Genome g;
    g.dir = test::scratch_dir(name);
    g.fasta = g.dir + "/genome.fa";
    g.chr1 = random_dna(1000, 1);
    g.chr2 = random_dna(700, 2);
    std::string text;
    for (const auto& [n, s] : {std::pair<std::string, std::string>{"chr1", g.chr1}, {"chr2", g.chr2}}) {
        text += ">" + n + " test\n";
        for (std::size_t i = 0; i < s.size(); i += 60) text += s.substr(i, 60) + "\n";
    }
    test::write_file(g.fasta, text);
    return g;
}

std::vector<InputItem> drain(const InputOptions& o) {
    auto src = open_input(o);
    std::vector<InputItem> items;
    InputItem it;
    while (src->next(it)) items.push_back(it);
    return items;
}

}  // namespace

TEST_CASE("input: windows tile FASTA records with exact coordinates", "[input]") {
    const Genome g = make_genome("in_windows");
    InputOptions o;
    o.path = g.fasta;
    o.windows.window = 400;
    o.windows.stride = 300;
    const auto items = drain(o);
    // chr1: 0-400 300-700 600-1000 (reaches the end); chr2: 0-400 300-700
    REQUIRE(items.size() == 5);
    CHECK(items[0].row.name == "chr1/0");
    CHECK(items[2].row.start == 600);
    CHECK(items[2].row.end == 1000);
    CHECK(items[2].seq == g.chr1.substr(600, 400));
    CHECK(items[4].row.chrom == "chr2");
    CHECK(items[4].row.start == 300);
    CHECK(items[4].row.end == 700);
    CHECK(items[4].seq == g.chr2.substr(300, 400));
    for (std::size_t i = 0; i < items.size(); ++i) CHECK(items[i].index == i);
    CHECK(std::filesystem::exists(g.fasta + ".fai"));  // index built on demand

    o.windows.tail = TailMode::drop;
    o.windows.stride = 400;
    const auto dropped = drain(o);  // chr1: 0-400 400-800; chr2: 0-400
    REQUIRE(dropped.size() == 3);
    CHECK(dropped[1].row.end == 800);
    CHECK(dropped[2].row.name == "chr2/0");
}

TEST_CASE("input: regions from BED and --region, minus strand reverse-complemented", "[input]") {
    const Genome g = make_genome("in_regions");
    test::write_file(g.dir + "/r.bed", "track name=x\n# comment\nchr1\t10\t20\tpeakA\t0\t+\nchr2\t100\t130\t.\t0\t-\n");
    InputOptions o;
    o.path = g.fasta;
    o.bed_files = {g.dir + "/r.bed"};
    o.region_texts = {"chr1:1,001-1,010"};  // past the end of chr1 (1000): nothing left -> error
    CHECK_THROWS_AS(drain(o), Error);
    o.region_texts = {"chr1:991-1,010"};    // clipped to 990-1000
    const auto items = drain(o);
    REQUIRE(items.size() == 3);
    CHECK(items[0].row.name == "peakA");
    CHECK(items[0].seq == g.chr1.substr(10, 10));
    CHECK(items[1].row.name == "chr2:101-130(-)");  // 1-based inclusive, as --region takes it back
    CHECK(items[1].row.strand == '-');
    CHECK(items[1].seq == reverse_complement(g.chr2.substr(100, 30)));
    CHECK(items[2].row.start == 990);
    CHECK(items[2].row.end == 1000);
    CHECK(items[2].row.name == "chr1:991-1,000(+)");
    // A row name pasted back as --region gives the same row: the same bases on the same strand.
    o.bed_files.clear();
    o.region_texts = {items[1].row.name, "chr1:1-1,000"};
    const auto again = drain(o);
    REQUIRE(again.size() == 2);
    CHECK(again[0].row.name == items[1].row.name);
    CHECK((again[0].row.start == 100 && again[0].row.end == 130 && again[0].row.strand == '-'));
    CHECK(again[0].seq == items[1].seq);
    CHECK(again[1].row.name == "chr1:1-1,000(+)");
    o.region_texts = {"chr1:991-1,010"};
    o.strict = true;
    CHECK_THROWS_AS(drain(o), Error);
}

TEST_CASE("input: windows inside a minus-strand region run along the embedded strand", "[input]") {
    const Genome g = make_genome("in_minus_windows");
    InputOptions o;
    o.path = g.fasta;
    o.region_texts = {"chr1:101-350"};  // [100, 350) on '+' via the string form
    o.windows.window = 100;
    const auto plus = drain(o);
    REQUIRE(plus.size() == 3);
    CHECK(plus[2].row.start == 300);
    CHECK(plus[2].row.end == 350);
    test::write_file(g.dir + "/m.bed", "chr1\t100\t350\tm\t0\t-\n");
    o.region_texts.clear();
    o.bed_files = {g.dir + "/m.bed"};
    const auto minus = drain(o);
    REQUIRE(minus.size() == 3);
    const std::string rc = reverse_complement(g.chr1.substr(100, 250));
    CHECK(minus[0].row.name == "m/0");
    CHECK(minus[0].row.start == 250);  // the first 100 bases of the reverse strand
    CHECK(minus[0].row.end == 350);
    CHECK(minus[0].seq == rc.substr(0, 100));
    CHECK(minus[2].row.start == 100);
    CHECK(minus[2].row.end == 150);
    CHECK(minus[2].seq == rc.substr(200, 50));
}

TEST_CASE("input: bad region input is refused clearly", "[input]") {
    const Genome g = make_genome("in_bad");
    InputOptions o;
    o.path = g.fasta;
    o.region_texts = {"chrZ:1-10"};
    try {
        (void)drain(o);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK_THAT(std::string(e.what()), Catch::Contains("chrZ") && Catch::Contains("chr1"));
    }
    o.region_texts.clear();
    o.path = "-";
    o.bed_files = {g.dir + "/x.bed"};
    CHECK_THROWS_AS(open_input(o), Error);
}

TEST_CASE("pipeline: output does not depend on batching, threads or queue depth", "[pipeline]") {
    const Genome g = make_genome("pipe_batch");
    const Model model = load_model(k_model);
    InputOptions in;
    in.path = g.fasta;
    in.windows.window = 150;
    in.windows.stride = 70;
    std::string reference;
    for (std::size_t batch : {1u, 100u, 1000u, 1000000u}) {
        for (int threads : {1, 2}) {
            INFO("batch " << batch << " threads " << threads);
            EngineOptions eo;
            eo.threads = threads;
            auto engine = make_cpu_engine(model, eo);
            EmbedOptions opt;
            opt.pool = PoolMode::mean;
            opt.rc = RcMode::average;
            opt.batch_tokens = batch;
            opt.queue_depth = batch == 1 ? 1 : 3;
            opt.progress = false;
            const std::string out = g.dir + "/o_" + std::to_string(batch) + "_" + std::to_string(threads) + ".tsv";
            const auto s = embed_input(*engine, model, in, out, opt);
            CHECK(s.records == 23);  // chr1: 14 windows, chr2: 9
            const std::string text = test::read_file(out);
            if (reference.empty()) reference = text;
            CHECK(text == reference);
        }
    }
    // and a window's row equals embedding that substring alone
    auto engine = make_cpu_engine(model, EngineOptions{});
    const auto rows = test::read_tsv(g.dir + "/o_1_1.tsv");
    REQUIRE(rows.size() == 24);
    CHECK(rows[3][0] == "chr1/2");
    CHECK(rows[3][2] == "140");
    const Vector want = pool_rows(embed_sequence(*engine, model, g.chr1.substr(140, 150), RcMode::average, false),
                                  PoolMode::mean);
    for (int c = 0; c < 32; ++c) CHECK(std::stof(rows[3][5 + c]) == want[c]);
}

TEST_CASE("pipeline: a failure mid-stream leaves no output and reports the record", "[pipeline]") {
    const std::string dir = test::scratch_dir("pipe_fail");
    std::string text;
    for (int i = 0; i < 50; ++i) text += ">r" + std::to_string(i) + "\n" + random_dna(300, 10 + i) + "\n";
    text += ">broken\n>after\nACGT\n";
    test::write_file(dir + "/in.fa", text);
    const Model model = load_model(k_model);
    auto engine = make_cpu_engine(model, EngineOptions{});
    InputOptions in;
    in.path = dir + "/in.fa";
    EmbedOptions opt;
    opt.batch_tokens = 600;
    opt.progress = false;
    try {
        (void)embed_input(*engine, model, in, dir + "/out.tsv", opt);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK_THAT(std::string(e.what()), Catch::Contains("broken"));
    }
    CHECK_FALSE(test::file_exists(dir + "/out.tsv"));
    for (const auto& e : std::filesystem::directory_iterator(dir))
        CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("cli: regions, windows and per-position output through the binary", "[cli][pipeline]") {
    const Genome g = make_genome("cli_regions");
    test::write_file(g.dir + "/peaks.bed", "chr1\t10\t110\tp1\t0\t+\nchr2\t50\t250\tp2\t0\t-\n");
    auto r = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(g.fasta) + " --regions " + q(g.dir + "/peaks.bed") +
                              " --pool none -o " + q(g.dir + "/p.npz"));
    REQUIRE(r.exit_code == 0);
    const auto arrays = test::read_npz_simple(g.dir + "/p.npz");
    REQUIRE(arrays.size() == 2);
    const Model model = load_model(k_model);
    auto engine = make_cpu_engine(model, EngineOptions{});
    const Matrix want = embed_sequence(*engine, model, reverse_complement(g.chr2.substr(50, 200)), RcMode::none, false);
    CHECK(test::rel_error(arrays.at("p2"), want) < 1e-6);

    r = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(g.fasta) + " --region chr2:1,001-2,000 -o " +
                         q(g.dir + "/x.tsv"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("past the end"));
    for (const char* bad : {"--window 0", "--window 100 --stride 0", "--stride 5", "--window -3", "--tail maybe"}) {
        INFO(bad);
        r = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(g.fasta) + " " + bad + " -o " + q(g.dir + "/y.tsv"));
        CHECK(r.exit_code == 2);
        CHECK_FALSE(test::file_exists(g.dir + "/y.tsv"));
    }
    r = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(g.fasta) + " --window 300 --stride 200 -o " +
                         q(g.dir + "/tiles.npy") + " -q");
    REQUIRE(r.exit_code == 0);
    const auto names = test::read_tsv(g.dir + "/tiles.names.tsv");
    REQUIRE(names.size() == 1 + 5 + 3);  // chr1: 0 200 400 600 800(-1000); chr2: 0 200 400(-700)
    CHECK(names[5][1] == "chr1/4");
    CHECK(names[5][3] == "800");
    CHECK(names[5][4] == "1000");
}

TEST_CASE("cli: reads from BAM, CRAM, FASTQ and stdin, with orientation and filters", "[cli][pipeline]") {
    const std::string dir = test::scratch_dir("cli_reads");
    const std::string reads = test::testdata("reads");
    // the CPU engine: rows are compared with the CPU engine's values digit for digit
    const std::string m = "embed --device cpu -m " + q(k_model) + " --pool mean ";
    auto r = test::run_dnamba(m + "-i " + q(reads + "/reads.bam") + " -o " + q(dir + "/bam.tsv"));
    REQUIRE(r.exit_code == 0);
    const auto rows = test::read_tsv(dir + "/bam.tsv");
    // default filters drop secondary and supplementary; the read without SEQ is skipped
    std::vector<std::string> names;
    for (std::size_t i = 1; i < rows.size(); ++i) names.push_back(rows[i][0]);
    CHECK(names == std::vector<std::string>{"r01_fwd", "r02_rev", "r03_qcfail", "r04_clip", "r05_dup", "r09_mapq0",
                                            "r10_rev_n", "r11_unmapped"});
    // r02_rev: chr1:101 (1-based), 25M, reverse strand -> 0-based [100, 125) '-'
    CHECK(rows[2][1] == "chr1");
    CHECK(rows[2][2] == "100");
    CHECK(rows[2][3] == "125");
    CHECK(rows[2][4] == "-");
    CHECK(rows[8][1] == "*");
    CHECK(rows[8][4] == ".");

    // orientation: as sequenced (default) = reverse complement of the stored SEQ of r02_rev
    const Model model = load_model(k_model);
    auto engine = make_cpu_engine(model, EngineOptions{});
    const std::string stored = "GCTGTGGTGCCTCTGACGTCTCGCT";
    const Vector sequenced = pool_rows(embed_sequence(*engine, model, reverse_complement(stored), RcMode::none, false),
                                       PoolMode::mean);
    for (int c = 0; c < 64; ++c) CHECK(std::stof(rows[2][5 + c]) == sequenced[c]);
    r = test::run_dnamba(m + "-i " + q(reads + "/reads.bam") + " --read-orientation reference -o " + q(dir + "/ref.tsv"));
    REQUIRE(r.exit_code == 0);
    const auto ref_rows = test::read_tsv(dir + "/ref.tsv");
    const Vector as_stored = pool_rows(embed_sequence(*engine, model, stored, RcMode::none, false), PoolMode::mean);
    for (int c = 0; c < 64; ++c) CHECK(std::stof(ref_rows[2][5 + c]) == as_stored[c]);

    // the same reads through CRAM (with its reference) and through a pipe on stdin
    r = test::run_dnamba(m + "-i " + q(reads + "/reads.cram") + " --reference " + q(reads + "/ref.fa") + " -o " +
                         q(dir + "/cram.tsv"));
    REQUIRE(r.exit_code == 0);
    CHECK(test::read_file(dir + "/cram.tsv") == test::read_file(dir + "/bam.tsv"));
    r = test::run_dnamba(m + "-i - -o " + q(dir + "/stdin.tsv") + " < " + q(reads + "/reads.bam"));
    REQUIRE(r.exit_code == 0);
    CHECK(test::read_file(dir + "/stdin.tsv") == test::read_file(dir + "/bam.tsv"));

    // filters and regions
    r = test::run_dnamba(m + "-i " + q(reads + "/reads.bam") + " --skip-qcfail --skip-duplicates --min-mapq 1 -o " +
                         q(dir + "/f.tsv"));
    REQUIRE(r.exit_code == 0);
    CHECK(test::read_tsv(dir + "/f.tsv").size() == 1 + 5);  // r01 r02 r04 r10 r11 (unmapped kept)
    r = test::run_dnamba(m + "-i " + q(reads + "/reads.bam") + " --region chr1:90-110 -o " + q(dir + "/reg.tsv"));
    REQUIRE(r.exit_code == 0);
    const auto reg = test::read_tsv(dir + "/reg.tsv");
    REQUIRE(reg.size() == 2);
    CHECK(reg[1][0] == "r02_rev");

    // FASTQ of the same reads
    r = test::run_dnamba(m + "-i " + q(reads + "/reads.fastq.gz") + " -o " + q(dir + "/fq.tsv"));
    REQUIRE(r.exit_code == 0);
}

TEST_CASE("cli: bad region and read inputs fail clearly with no output", "[cli][pipeline]") {
    const std::string dir = test::scratch_dir("cli_bad_inputs");
    const std::string out = dir + "/out.tsv";
    const std::string m = "embed -m " + q(k_model) + " ";
    auto expect_failure = [&](const std::string& args, int code, const std::string& message) {
        INFO(args);
        const auto r = test::run_dnamba(m + args + " -o " + q(out));
        CHECK(r.exit_code == code);
        CHECK_THAT(r.err, Catch::Contains(message));
        CHECK_FALSE(test::file_exists(out));
    };
    const std::string regions = test::testdata("regions");
    const std::string reads = test::testdata("reads");
    expect_failure("-i " + q(regions + "/genome.fa") + " --regions " + q(regions + "/bad_start_gt_end.bed"), 3,
                   "bad_start_gt_end.bed:3");
    expect_failure("-i " + q(regions + "/genome.fa") + " --regions " + q(regions + "/bad_negative.bed"), 3,
                   "bad_negative.bed:3");
    expect_failure("-i " + q(regions + "/genome_gzip.fa.gz") + " --region chr1:1-10", 3, "bgzip");
    // a BAM without an index, given --region
    std::filesystem::copy_file(reads + "/reads.bam", dir + "/noindex.bam");
    expect_failure("-i " + q(dir + "/noindex.bam") + " --region chr1:1-50", 2, "index");
    expect_failure("-i " + q(reads + "/reads.cram"), 2, "--reference");

    // unknown characters are embedded as [UNK] with a warning that counts them
    test::write_file(dir + "/iupac.fa", ">s\nACGTRYKMACGT\n");
    const auto r = test::run_dnamba(m + "-i " + q(dir + "/iupac.fa") + " -o " + q(dir + "/ok.tsv"));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("4 character(s)") && Catch::Contains("[UNK]"));
}

// ---- the batching seam itself (pipeline/run_batched.hpp) ----------------------------------

namespace {

// Items of the given lengths, named by their index.
class LengthsSource final : public InputSource {
public:
    explicit LengthsSource(std::vector<std::size_t> lengths) : lengths_(std::move(lengths)) {}
    bool next(InputItem& item) override {
        if (at_ == lengths_.size()) return false;
        item = InputItem{};
        item.row.name = std::to_string(at_);
        item.seq.assign(lengths_[at_++], 'A');
        return true;
    }
    std::optional<std::uint64_t> total_bases() const override { return std::nullopt; }
    std::string describe() const override { return "lengths"; }

private:
    std::vector<std::size_t> lengths_;
    std::size_t at_ = 0;
};

// run_batched with one worker (the seam without an engine).
template <typename Compute, typename Write>
void run_one(InputSource& source, const pipeline::BatchBudget& budget, Compute&& compute, Write&& write) {
    pipeline::run_batched(
        source, budget, std::vector<std::string>{"worker"},
        [&](std::size_t, std::vector<InputItem>& items) { return compute(items); }, write);
}

}  // namespace

TEST_CASE("pipeline: run_batched packs by the token budget with the per-item extra, keeps order, stops on errors",
          "[pipeline]") {
    // 10 + 1 tokens an item in a budget of 22: two items a batch; an item over the budget alone
    std::vector<std::size_t> lengths(9, 10);
    lengths[4] = 40;
    LengthsSource source(lengths);
    std::vector<std::vector<std::string>> batches;
    run_one(
        source, pipeline::BatchBudget{22, 1, 1},
        [](std::vector<InputItem>& items) {
            std::vector<std::string> names;
            for (const auto& it : items) names.push_back(it.row.name);
            return names;
        },
        [&](std::vector<std::string>& names) { batches.push_back(names); });
    const std::vector<std::vector<std::string>> want = {{"0", "1"}, {"2", "3"}, {"4"}, {"5", "6"}, {"7", "8"}};
    CHECK(batches == want);
    // without the extra token three items fit (30 <= 30)
    LengthsSource three(std::vector<std::size_t>(6, 10));
    std::size_t n_batches = 0;
    run_one(
        three, pipeline::BatchBudget{30, 0, 2}, [](std::vector<InputItem>& items) { return items.size(); },
        [&](std::size_t& n) {
            CHECK(n == 3);
            ++n_batches;
        });
    CHECK(n_batches == 2);
    // an exception in the compute step reaches the caller, and nothing is written after it
    LengthsSource many(std::vector<std::size_t>(200, 10));
    std::size_t written = 0;
    CHECK_THROWS_WITH(run_one(
                          many, pipeline::BatchBudget{10, 0, 2},
                          [](std::vector<InputItem>& items) {
                              if (items.front().row.name == "57") fail(ErrorKind::input, "item 57 is bad");
                              return std::stoi(items.front().row.name);
                          },
                          [&](int& i) {
                              CHECK(i == static_cast<int>(written));
                              ++written;
                          }),
                      Catch::Contains("item 57 is bad"));
    CHECK(written <= 57);
}

TEST_CASE("pipeline: classify features run through the same seam: [SEP] counted in the budget, any batching "
          "gives the same rows, unknown bases warned about",
          "[pipeline][classify]") {
    const Genome g = make_genome("pipe_features");
    const Model model = load_model(k_model);
    auto engine = make_cpu_engine(model, EngineOptions{});
    const Engines engines(*engine);
    InputOptions in;
    in.path = g.fasta;
    in.windows.window = 150;
    in.windows.stride = 70;
    FeatureSpec spec;
    spec.kmer = 2;
    Matrix reference;
    for (const std::size_t batch : {151u, 302u, 1000000u}) {
        INFO("batch tokens " << batch);
        EmbedOptions eo;
        eo.add_sep = true;
        eo.batch_tokens = batch;
        std::vector<std::size_t> sizes;
        std::vector<Vector> rows;
        extract_features(in, spec, &engines, &model, eo, [&](FeatureBatch& b) {
            sizes.push_back(b.rows.size());
            for (Eigen::Index i = 0; i < b.X.rows(); ++i) rows.emplace_back(b.X.row(i).transpose());
        });
        REQUIRE(rows.size() == 23);
        // 150 bases + [SEP] = 151 tokens: one window a pass at 151 and two at 302 (not three)
        if (batch == 151u) CHECK(sizes == std::vector<std::size_t>(23, 1));
        if (batch == 302u) CHECK(sizes.front() == 2);
        Matrix X(23, rows.front().size());
        for (std::size_t i = 0; i < rows.size(); ++i) X.row(static_cast<Eigen::Index>(i)) = rows[i].transpose();
        if (reference.size() == 0) reference = X;
        CHECK(test::rel_error(X, reference) == 0.0);
    }
    // a base other than A/C/G/T/N is counted and warned about, as embed does
    const std::string dir = test::scratch_dir("pipe_features_unknown");
    std::string fa = ">r\n", bed;
    for (int i = 0; i < 8; ++i) {
        fa += (i == 3 ? random_dna(49, 30 + i) + "R" : random_dna(50, 30 + i));
        bed += "r\t" + std::to_string(50 * i) + "\t" + std::to_string(50 * i + 50) + "\t" + (i % 2 ? "a" : "b") + "\n";
    }
    test::write_file(dir + "/in.fa", fa + "\n");
    test::write_file(dir + "/in.bed", bed);
    const auto r = test::run_dnamba("train-head -m " + q(k_model) + " -i " + q(dir + "/in.fa") + " --regions " +
                                    q(dir + "/in.bed") + " --folds 2 --device cpu -o " + q(dir + "/x.head"));
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("1 character(s) other than A/C/G/T/N were embedded as [UNK]"));
}
