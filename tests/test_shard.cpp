// Shards: row ranges of every input kind, shard plans, and merged shard outputs that equal a
// single run byte for byte (TSV, NPY, NPZ, classify calls and tracks), with the failures a
// pipeline meets (missing, truncated or mismatched shard outputs; shards of another model or
// options, damaged or given twice).
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "dnamba/shard.hpp"
#include "io/npz_reader.hpp"
#include "io/npz_writer.hpp"
#include "test_util.hpp"

using namespace dnamba;
using test::q;

namespace {

const std::string k_model = test::testdata("models/tiny-caduceus");
// chrA (5,000 bp), chrB (1,234 bp), chrC (77 bp) of random bases, and a BED with plus and
// minus regions, one longer than a window, and a repeated name.
struct Genome {
    std::string dir, fasta, bed;
};

Genome make_genome(const std::string& name) {
    Genome g;
    g.dir = test::scratch_dir(name);
    g.fasta = g.dir + "/genome.fa";
    g.bed = g.dir + "/regions.bed";
    std::mt19937 rng(7);
    std::string fa;
    for (const auto& [chrom, len] : std::vector<std::pair<std::string, int>>{{"chrA", 5000}, {"chrB", 1234}, {"chrC", 77}}) {
        std::string seq;
        for (int i = 0; i < len; ++i) seq += "ACGT"[rng() % 4];
        fa += ">" + chrom + "\n";
        for (std::size_t i = 0; i < seq.size(); i += 70) fa += seq.substr(i, 70) + "\n";
    }
    test::write_file(g.fasta, fa);
    test::write_file(g.bed,
                     "chrA\t100\t900\tr1\t0\t+\n"
                     "chrB\t0\t1234\tr2\t0\t-\n"
                     "chrA\t2000\t2100\tdup\t0\t+\n"
                     "chrC\t5\t70\tdup\t0\t-\n"
                     "chrA\t4000\t5000\tdup\t0\t+\n");
    return g;
}

struct Row {
    std::string name, chrom, seq;
    std::int64_t start, end;
    std::uint64_t bases;
    bool operator==(const Row& o) const {
        return name == o.name && chrom == o.chrom && seq == o.seq && start == o.start && end == o.end && bases == o.bases;
    }
};

std::vector<Row> rows_of(InputOptions o) {
    std::vector<Row> out;
    auto source = open_input(o);
    InputItem item;
    while (source->next(item))
        out.push_back(Row{item.row.name, item.row.chrom, item.seq, item.row.start, item.row.end, item.bases});
    return out;
}

std::vector<InputOptions> input_kinds(const Genome& g) {
    std::vector<InputOptions> kinds;
    InputOptions o;
    o.path = g.fasta;
    o.windows = WindowSpec{300, 200, TailMode::keep};
    kinds.push_back(o);  // genome windows through the index
    o.bed_files = {g.bed};
    kinds.push_back(o);  // windows of regions, both strands
    o.windows = WindowSpec{};
    kinds.push_back(o);  // whole regions
    InputOptions reads;
    reads.path = test::testdata("reads/reads.bam");
    kinds.push_back(reads);  // reads, default filters
    reads.reader.filter.skip_unmapped = true;
    reads.windows = WindowSpec{10, 10, TailMode::drop};
    kinds.push_back(reads);  // windows of filtered reads
    InputOptions fq;
    fq.path = test::testdata("reads/reads.fastq");
    kinds.push_back(fq);
    return kinds;
}

}  // namespace

TEST_CASE("shard: --rows ranges parse", "[shard]") {
    CHECK(parse_row_range("3:10") == std::make_pair<std::uint64_t, std::uint64_t>(3, 10));
    CHECK(parse_row_range("5:") == std::make_pair<std::uint64_t, std::uint64_t>(5, UINT64_MAX));
    CHECK(parse_row_range(":4") == std::make_pair<std::uint64_t, std::uint64_t>(0, 4));
    for (const char* bad : {"", "7", "4:4", "9:3", "a:3", "1:2x", "-1:3", "1:2:3"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_row_range(bad), Error);
    }
}

TEST_CASE("shard: row ranges of every input kind add up to the whole input", "[shard]") {
    const Genome g = make_genome("shard_ranges");
    for (const InputOptions& kind : input_kinds(g)) {
        INFO(kind.path << " windows " << kind.windows.window << " beds " << kind.bed_files.size());
        const auto whole = rows_of(kind);
        REQUIRE(whole.size() >= 4);
        for (const auto& r : whole) CHECK(r.bases == r.seq.size());

        // lengths only: same rows and base counts, no bases
        InputOptions lengths = kind;
        lengths.lengths_only = true;
        const auto listed = rows_of(lengths);
        REQUIRE(listed.size() == whole.size());
        for (std::size_t i = 0; i < whole.size(); ++i) {
            CHECK(listed[i].name == whole[i].name);
            CHECK(listed[i].bases == whole[i].bases);
            CHECK(listed[i].seq.empty());
        }

        // cut at every pair of points: each range gives exactly its slice of the whole
        const std::uint64_t n = whole.size();
        for (std::uint64_t a = 0; a < n; a += 2) {
            for (std::uint64_t b = a + 1; b <= n + 1; b += 3) {
                InputOptions part = kind;
                part.first_row = a;
                part.end_row = b;
                const auto got = rows_of(part);
                const std::vector<Row> want(whole.begin() + static_cast<long>(a),
                                            whole.begin() + static_cast<long>(std::min(b, n)));
                CHECK(got == want);
            }
        }
        InputOptions past = kind;
        past.first_row = n;
        CHECK(rows_of(past).empty());
        // progress totals (known for genome windows) count the selected rows only
        InputOptions mid = kind;
        mid.first_row = 1;
        mid.end_row = n - 1;
        if (const auto total = open_input(mid)->total_bases()) {
            std::uint64_t want = 0;
            for (std::uint64_t i = 1; i + 1 < n; ++i) want += whole[i].bases;
            CHECK(*total == want);
        }
    }
}

TEST_CASE("shard: plans are contiguous, balanced, deterministic and never split a row", "[shard]") {
    const Genome g = make_genome("shard_plan");
    for (const InputOptions& kind : input_kinds(g)) {
        InputOptions lengths = kind;
        lengths.lengths_only = true;
        const auto whole = rows_of(lengths);
        std::uint64_t total = 0, longest = 0;
        for (const auto& r : whole) {
            total += r.bases;
            longest = std::max(longest, r.bases);
        }
        for (const std::uint64_t limit : {std::uint64_t{1}, std::uint64_t{250}, std::uint64_t{1000}, total, total * 5}) {
            INFO(kind.path << " limit " << limit);
            const auto plan = plan_shards(kind, ShardLimits{limit, 0});
            REQUIRE(!plan.empty());
            CHECK(plan.size() <= (total + limit - 1) / limit);
            std::uint64_t next = 0, bases = 0;
            for (const auto& s : plan) {
                CHECK(s.first_row == next);
                CHECK(s.end_row > s.first_row);
                CHECK(s.first_name == whole[s.first_row].name);
                CHECK(s.last_name == whole[s.end_row - 1].name);
                std::uint64_t b = 0;
                for (auto i = s.first_row; i < s.end_row; ++i) b += whole[i].bases;
                CHECK(s.bases == b);
                // near-equal: a shard holds at most the per-shard target plus one row
                const std::uint64_t n_target = (total + limit - 1) / limit;
                CHECK(s.bases <= (total + n_target - 1) / n_target + longest);
                // a shard closes at the row that reaches its target: without that row it is short
                CHECK(s.bases - whole[s.end_row - 1].bases < (total + n_target - 1) / n_target);
                next = s.end_row;
                bases += s.bases;
            }
            CHECK(next == whole.size());
            CHECK(bases == total);
            const auto again = plan_shards(kind, ShardLimits{limit, 0});
            REQUIRE(again.size() == plan.size());
            for (std::size_t i = 0; i < plan.size(); ++i) CHECK(again[i].end_row == plan[i].end_row);
        }
        // by rows: ceil(N / limit) shards of floor or ceil of N / shards rows
        const auto by_rows = plan_shards(kind, ShardLimits{0, 3});
        CHECK(by_rows.size() == (whole.size() + 2) / 3);
        for (const auto& s : by_rows) CHECK(s.end_row - s.first_row <= 3);
    }
    InputOptions regions;
    regions.path = g.fasta;
    regions.bed_files = {g.bed};
    CHECK_THROWS_AS(plan_shards(regions, ShardLimits{}), Error);
    CHECK_THROWS_AS(plan_shards(regions, ShardLimits{10, 10}), Error);
    InputOptions empty_bed = regions;
    test::write_file(g.dir + "/empty.bed", "# nothing\n");
    empty_bed.bed_files = {g.dir + "/empty.bed"};
    CHECK_THROWS_WITH(plan_shards(empty_bed, ShardLimits{10, 0}), Catch::Contains("no rows"));
}

TEST_CASE("shard: plan + embed --rows + merge equals one run, byte for byte (tsv, npy, npz)", "[shard][cli]") {
    const Genome g = make_genome("shard_merge");
    const std::string inputs[] = {
        "-i " + q(g.fasta) + " --window 300 --stride 200",
        "-i " + q(g.fasta) + " --regions " + q(g.bed) + " --window 400",  // repeated names across shards
        "-i " + q(test::testdata("reads/reads.bam")) + " --skip-unmapped",
    };
    int case_no = 0;
    for (const auto& in : inputs) {
        const std::string dir = g.dir + "/case" + std::to_string(case_no++);
        std::filesystem::create_directories(dir);
        const bool reads = in.find("reads.bam") != std::string::npos;
        auto r = test::run_dnamba("plan " + in + (reads ? " --shard-rows 3" : " --shard-bases 900") + " -o " + q(dir + "/plan.tsv"));
        REQUIRE(r.exit_code == 0);
        // the plan's rows
        std::vector<std::string> ranges;
        {
            std::istringstream plan(test::read_file(dir + "/plan.tsv"));
            std::string line;
            std::getline(plan, line);
            CHECK(line == "shard\tfirst_row\tend_row\trows\tbases\tfirst\tlast");
            while (std::getline(plan, line)) {
                std::istringstream f(line);
                std::string shard, a, b;
                f >> shard >> a >> b;
                ranges.push_back(a + ":" + b);
            }
        }
        REQUIRE(ranges.size() >= 3);
        for (const std::string ext : {"tsv", "npy", "npz"}) {
            INFO(in << " ." << ext);
            const std::string whole = dir + "/whole." + ext;
            // the CPU engine: only it merges byte for byte (the GPU engine's last bits follow the packing)
            r = test::run_dnamba("embed --device cpu -m " + q(k_model) + " " + in + " -q -o " + q(whole) + (ext == "npz" ? "" : " --pool max"));
            REQUIRE(r.exit_code == 0);
            std::string shards;
            for (std::size_t s = 0; s < ranges.size(); ++s) {
                const std::string out = dir + "/s" + std::to_string(s) + "." + ext;
                r = test::run_dnamba("embed --device cpu -m " + q(k_model) + " " + in + " --rows " + ranges[s] + " -q --threads 1 -o " +
                                     q(out) + (ext == "npz" ? "" : " --pool max"));
                REQUIRE(r.exit_code == 0);
                shards += " " + q(out);
            }
            const std::string merged = dir + "/merged." + ext;
            r = test::run_dnamba("merge -o " + q(merged) + shards);
            REQUIRE(r.exit_code == 0);
            CHECK_THAT(r.err, Catch::Contains(std::to_string(ranges.size()) + " shard(s)"));
            CHECK(test::read_file(merged) == test::read_file(whole));
            if (ext == "npy") CHECK(test::read_file(dir + "/merged.names.tsv") == test::read_file(dir + "/whole.names.tsv"));
        }
    }
}

TEST_CASE("shard: merged classify calls and the track drawn from them equal one run", "[shard][cli]") {
    const Genome g = make_genome("shard_classify");
    // a k-mer head: GC-rich vs other windows of the random genome, labelled by GC count
    std::string bed;
    const auto seqs = test::read_fasta_simple(g.fasta);
    for (const auto& [chrom, seq] : seqs) {
        for (std::size_t s = 0; s + 100 <= seq.size(); s += 100) {
            int gc = 0;
            for (std::size_t i = s; i < s + 100; ++i) gc += seq[i] == 'G' || seq[i] == 'C';
            bed += chrom + "\t" + std::to_string(s) + "\t" + std::to_string(s + 100) + "\t" + (gc >= 50 ? "gc" : "at") + "\n";
        }
    }
    test::write_file(g.dir + "/labels.bed", bed);
    const std::string head = g.dir + "/gc.head";
    auto r = test::run_dnamba("train-head -i " + q(g.fasta) + " --regions " + q(g.dir + "/labels.bed") +
                              " --features kmer:2 --folds 3 -q -o " + q(head));
    REQUIRE(r.exit_code == 0);
    const std::string in = "-i " + q(g.fasta) + " --window 300 --stride 100";
    r = test::run_dnamba("plan " + in + " --shard-bases 1500 -o " + q(g.dir + "/plan.tsv"));
    REQUIRE(r.exit_code == 0);
    std::string shards;
    std::istringstream plan(test::read_file(g.dir + "/plan.tsv"));
    std::string line;
    std::getline(plan, line);
    int n = 0;
    while (std::getline(plan, line)) {
        std::istringstream f(line);
        std::string shard, a, b;
        f >> shard >> a >> b;
        const std::string out = g.dir + "/calls" + shard + ".tsv";
        r = test::run_dnamba("classify --head " + q(head) + " " + in + " --rows " + a + ":" + b + " -q -o " + q(out));
        REQUIRE(r.exit_code == 0);
        shards += " " + q(out);
        ++n;
    }
    REQUIRE(n >= 4);
    r = test::run_dnamba("merge -o " + q(g.dir + "/calls.tsv") + shards);
    REQUIRE(r.exit_code == 0);
    r = test::run_dnamba("classify --head " + q(head) + " " + in + " -q -o " + q(g.dir + "/whole.tsv"));
    REQUIRE(r.exit_code == 0);
    CHECK(test::read_file(g.dir + "/calls.tsv") == test::read_file(g.dir + "/whole.tsv"));
    for (const std::string ext : {"bedgraph", "bw"}) {
        INFO(ext);
        r = test::run_dnamba("classify --head " + q(head) + " " + in + " -q -o " + q(g.dir + "/whole." + ext));
        REQUIRE(r.exit_code == 0);
        r = test::run_dnamba("track --calls " + q(g.dir + "/calls.tsv") + " --genome " + q(g.fasta) + " -o " +
                             q(g.dir + "/merged." + ext));
        REQUIRE(r.exit_code == 0);
        CHECK(test::read_file(g.dir + "/merged." + ext) == test::read_file(g.dir + "/whole." + ext));
    }
    // the other class, by name, is 1 - p
    r = test::run_dnamba("track --calls " + q(g.dir + "/calls.tsv") + " --genome " + q(g.fasta) + " --class at -o " +
                         q(g.dir + "/at.bedgraph"));
    CHECK(r.exit_code == 0);
    r = test::run_dnamba("track --calls " + q(g.dir + "/calls.tsv") + " --genome " + q(g.fasta) + " --class nope -o " +
                         q(g.dir + "/nope.bedgraph"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("at, gc"));
    CHECK_FALSE(test::file_exists(g.dir + "/nope.bedgraph"));
    r = test::run_dnamba("track --calls " + q(g.fasta) + " --genome " + q(g.fasta) + " -o " + q(g.dir + "/bad.bedgraph"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains(g.fasta + ":1"));
    CHECK_FALSE(test::file_exists(g.dir + "/bad.bedgraph"));
}

TEST_CASE("shard: merge refuses missing, truncated and mismatched shards, leaving no output", "[shard][cli]") {
    const Genome g = make_genome("shard_merge_errors");
    const std::string d = g.dir;
    const std::string base = "embed -m " + q(k_model) + " -i " + q(g.fasta) + " --window 500 -q";
    REQUIRE(test::run_dnamba(base + " --rows 0:3 -o " + q(d + "/a.tsv")).exit_code == 0);
    REQUIRE(test::run_dnamba(base + " --rows 3:6 -o " + q(d + "/b.tsv")).exit_code == 0);
    REQUIRE(test::run_dnamba(base + " --rows 3:6 --rc average -o " + q(d + "/c.tsv")).exit_code == 0);
    REQUIRE(test::run_dnamba(base + " --rows 0:3 -o " + q(d + "/a.npz")).exit_code == 0);
    REQUIRE(test::run_dnamba(base + " --rows 3:6 --rc average -o " + q(d + "/c.npz")).exit_code == 0);
    const std::string out = d + "/out.tsv";
    struct Case {
        std::string args;
        int code;
        std::string message;
    };
    std::string truncated = test::read_file(d + "/b.tsv");
    truncated.pop_back();
    test::write_file(d + "/t.tsv", truncated);
    test::write_file(d + "/e.tsv", "");
    test::write_file(d + "/z.npz", "PK\x03\x04 not really");
    const Case cases[] = {
        {q(d + "/a.tsv") + " " + q(d + "/missing.tsv"), 3, d + "/missing.tsv: cannot open"},
        {q(d + "/a.tsv") + " " + q(d + "/c.tsv"), 3, d + "/c.tsv: not made like " + d + "/a.tsv (" + d + "/a.tsv vs this shard: rc none vs average)"},
        {q(d + "/a.tsv") + " " + q(d + "/t.tsv"), 3, "incomplete"},
        {q(d + "/a.tsv") + " " + q(d + "/e.tsv"), 3, "empty file"},
        {q(d + "/a.tsv") + " " + q(d + "/a.npz"), 2, "extension"},
        {"", 2, "no shard outputs"},
    };
    for (const auto& c : cases) {
        INFO(c.args);
        const auto r = test::run_dnamba("merge -o " + q(out) + " " + c.args);
        CHECK(r.exit_code == c.code);
        CHECK_THAT(r.err, Catch::Contains(c.message));
        CHECK_FALSE(test::file_exists(out));
    }
    auto r = test::run_dnamba("merge -o " + q(d + "/out.npz") + " " + q(d + "/a.npz") + " " + q(d + "/c.npz"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("channels"));
    r = test::run_dnamba("merge -o " + q(d + "/out.npz") + " " + q(d + "/a.npz") + " " + q(d + "/z.npz"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains(d + "/z.npz"));
    CHECK_FALSE(test::file_exists(d + "/out.npz"));
}

TEST_CASE("shard: option errors (--rows, plan sizes, --precision)", "[shard][cli]") {
    const Genome g = make_genome("shard_options");
    const std::string base = "embed -m " + q(k_model) + " -i " + q(g.fasta) + " --window 500 -o " + q(g.dir + "/o.tsv");
    auto r = test::run_dnamba(base + " --rows 5:5");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--rows 5:5"));
    r = test::run_dnamba(base + " --precision bf16 --device cpu");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("bf16 runs on the GPU engine only"));
    r = test::run_dnamba(base + " --precision fp64");
    CHECK(r.exit_code == 2);
    CHECK_FALSE(test::file_exists(g.dir + "/o.tsv"));
    r = test::run_dnamba("plan -i " + q(g.fasta) + " --window 500 -o " + q(g.dir + "/p.tsv"));
    CHECK(r.exit_code == 2);
    r = test::run_dnamba("plan -i " + q(g.fasta) + " --window 500 --shard-bases 10 --shard-rows 2 -o " + q(g.dir + "/p.tsv"));
    CHECK(r.exit_code == 2);
    r = test::run_dnamba("plan -i " + q(g.fasta) + " --window 500 --rows 0:2 --shard-rows 2 -o " + q(g.dir + "/p.tsv"));
    CHECK(r.exit_code == 2);
    CHECK_FALSE(test::file_exists(g.dir + "/p.tsv"));
    r = test::run_dnamba("index " + q(g.dir + "/nope.fa"));
    CHECK(r.exit_code == 3);
    r = test::run_dnamba("index " + q(g.fasta));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("3 sequence(s), 6311 bases"));
}

// Provenance (README: Provenance of outputs): shards record the dnamba version, the model's
// fingerprint and the options, and a checksum of their rows; merge refuses a shard made by
// another model or with other options, a damaged one and the same one twice, naming the file.
TEST_CASE("shard: merge refuses shards of another model or options, damaged shards and copies", "[shard][cli][merge]") {
    const Genome g = make_genome("shard_provenance");
    const std::string d = g.dir;
    // the same model under another fingerprint: config.json with one more newline
    const std::string other = d + "/other-model";
    std::filesystem::create_directories(other);
    std::filesystem::copy_file(k_model + "/model.safetensors", other + "/model.safetensors");
    test::write_file(other + "/config.json", test::read_file(k_model + "/config.json") + "\n");
    const std::string base = " -i " + q(g.fasta) + " --window 500 -q";
    auto embed = [&](const std::string& model, const std::string& args, const std::string& out) {
        const auto r = test::run_dnamba("embed --device cpu -m " + q(model) + base + " " + args + " -o " + q(d + "/" + out));
        REQUIRE(r.exit_code == 0);
    };
    for (const std::string ext : {"tsv", "npy"}) {
        embed(k_model, "--rows 0:3", "a." + ext);
        embed(k_model, "--rows 3:6", "b." + ext);
        embed(other, "--rows 3:6", "model." + ext);
        embed(k_model, "--rows 3:6 --pool max", "pool." + ext);
        embed(k_model, "--rows 3:6 --add-sep", "sep." + ext);
    }
    embed(k_model, "--rows 0:3", "a.npz");
    embed(k_model, "--rows 3:6", "b.npz");
    embed(other, "--rows 3:6", "model.npz");
    REQUIRE(test::run_dnamba("embed --device cpu -m " + q(k_model) + " -i " + q(g.fasta) + " --window 400 -q --rows 3:6 -o " +
                             q(d + "/window.npz")).exit_code == 0);

    // what a shard records
    const nlohmann::json p = nlohmann::json::parse(test::read_tsv_provenance(d + "/a.tsv"));
    CHECK(p["dnamba"] == DNAMBA_VERSION);
    CHECK(p["model"] == model_fingerprint(k_model));
    CHECK(p["pool"] == "mean");
    CHECK(p["rc"] == "none");
    CHECK(p["add_sep"] == false);
    CHECK(p["precision"] == "fp32");
    CHECK(p["window"] == 500);
    CHECK(p["stride"] == 500);
    CHECK(test::read_tsv_provenance(d + "/a.names.tsv") == test::read_tsv_provenance(d + "/a.tsv"));
    const std::string a_tsv = test::read_file(d + "/a.tsv");
    CHECK(a_tsv.rfind("#dnamba {\"dnamba\":", 0) == 0);
    CHECK_THAT(a_tsv, Catch::Contains("\n#dnamba-end {\"rows\":3,\"crc32\":\""));
    CHECK(a_tsv.back() == '\n');

    // damaged: one digit of one value (TSV), one byte of the array (NPY)
    std::string tsv = test::read_file(d + "/b.tsv");
    const std::size_t digit = tsv.find_last_of("0123456789", tsv.rfind("#dnamba-end") - 2);  // the last row's last value
    tsv[digit] = tsv[digit] == '9' ? '8' : static_cast<char>(tsv[digit] + 1);
    test::write_file(d + "/damaged.tsv", tsv);
    std::string npy = test::read_file(d + "/b.npy");
    npy[npy.size() - 3] = static_cast<char>(npy[npy.size() - 3] ^ 0x10);
    test::write_file(d + "/damaged.npy", npy);
    std::filesystem::copy_file(d + "/b.names.tsv", d + "/damaged.names.tsv");
    for (const std::string ext : {"tsv", "npy"}) {
        std::filesystem::copy_file(d + "/b." + ext, d + "/copy." + ext);
        if (ext == "npy") std::filesystem::copy_file(d + "/b.names.tsv", d + "/copy.names.tsv");
    }
    std::filesystem::copy_file(d + "/b.npz", d + "/copy.npz");

    struct Case {
        std::string ext, second;
        int code;
        std::vector<std::string> message;
    };
    const Case cases[] = {
        {"tsv", "model", 3, {"/model.tsv: not made like ", "model " + model_fingerprint(k_model) + " vs " + model_fingerprint(other)}},
        {"tsv", "pool", 3, {"/pool.tsv: not made like ", "pool mean vs max"}},
        {"tsv", "sep", 3, {"/sep.tsv: not made like ", "add_sep false vs true"}},
        {"tsv", "damaged", 3, {"/damaged.tsv:", "does not match its checksum", "changed or damaged"}},
        {"tsv", "copy", 2, {"/copy.tsv holds the same rows as ", "/b.tsv (3 row(s)", "the same shard given twice"}},
        {"npy", "model", 3, {"/model.npy: not made like ", "model " + model_fingerprint(k_model) + " vs "}},
        {"npy", "pool", 3, {"/pool.npy: not made like ", "pool mean vs max"}},
        {"npy", "damaged", 3, {"/damaged.names.tsv:", "does not match its checksum", "/damaged.npy's data or these rows"}},
        {"npy", "copy", 2, {"/copy.npy holds the same rows as ", "the same shard given twice"}},
        {"npz", "model", 3, {"/model.npz: not made like ", "model " + model_fingerprint(k_model) + " vs "}},
        {"npz", "window", 3, {"/window.npz: not made like ", "stride 500 vs 400, window 500 vs 400"}},
    };
    for (const auto& c : cases) {
        const std::string out = d + "/out." + c.ext;
        const std::string args = q(d + "/a." + c.ext) + " " + q(d + "/b." + c.ext) + " " + q(d + "/" + c.second + "." + c.ext);
        INFO(args);
        const auto r = test::run_dnamba("merge -o " + q(out) + " " + args);
        CHECK(r.exit_code == c.code);
        for (const auto& m : c.message) CHECK_THAT(r.err, Catch::Contains(m));
        CHECK_FALSE(test::file_exists(out));
    }
    // the shards of one job merge, and the merged output records the same provenance
    for (const std::string ext : {"tsv", "npy"}) {
        const auto r = test::run_dnamba("merge -o " + q(d + "/ab." + ext) + " " + q(d + "/a." + ext) + " " + q(d + "/b." + ext));
        REQUIRE(r.exit_code == 0);
        const std::string table = ext == "tsv" ? d + "/ab.tsv" : d + "/ab.names.tsv";
        CHECK(test::read_tsv_provenance(table) == test::read_tsv_provenance(d + "/a.tsv"));
        CHECK(test::read_tsv(table).size() == 7);  // header + 6 rows
    }

    // shards from before provenance (no #dnamba lines) still merge, with a warning
    auto strip = [](const std::string& text) {
        std::string out, line;
        std::istringstream in(text);
        while (std::getline(in, line))
            if (line.rfind("#dnamba", 0) != 0) out += line + "\n";
        return out;
    };
    test::write_file(d + "/old_a.tsv", strip(test::read_file(d + "/a.tsv")));
    test::write_file(d + "/old_b.tsv", strip(test::read_file(d + "/b.tsv")));
    auto r = test::run_dnamba("merge -o " + q(d + "/old.tsv") + " " + q(d + "/old_a.tsv") + " " + q(d + "/old_b.tsv"));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("old_a.tsv: the shard records no provenance"));
    CHECK(test::read_file(d + "/old.tsv") == strip(test::read_file(d + "/ab.tsv")));
    // ... but not with shards that have it: an old and a new shard are not one job's
    r = test::run_dnamba("merge -o " + q(d + "/mixed.tsv") + " " + q(d + "/old_a.tsv") + " " + q(d + "/b.tsv"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("/b.tsv: not made like ") && Catch::Contains("no provenance vs some"));
    // a shard cut short after its last row (no closing line) is refused
    std::string cut = test::read_file(d + "/b.tsv");
    cut.resize(cut.rfind("#dnamba-end"));
    test::write_file(d + "/cut.tsv", cut);
    r = test::run_dnamba("merge -o " + q(d + "/cut_out.tsv") + " " + q(d + "/a.tsv") + " " + q(d + "/cut.tsv"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("/cut.tsv: ends without its closing #dnamba-end line after 3 row(s)"));
}

TEST_CASE("shard: .npz shards from before the row table still merge, repeats renumbered", "[shard][merge]") {
    const std::string d = test::scratch_dir("shard_old_npz");
    io_detail::NpzOptions old;
    old.row_table = false;  // as dnamba wrote archives before the table
    auto write = [&](const std::string& path, const std::vector<std::string>& names) {
        io_detail::NpzWriter w(path, old);
        w.begin(2);
        for (std::size_t i = 0; i < names.size(); ++i) {
            const std::vector<float> v(2 * (i + 1), static_cast<float>(i));
            w.write(RowInfo{names[i], "chr", 0, 0, '+'}, v.data(), i + 1);
        }
        w.commit();
    };
    write(d + "/a.npz", {"x", "x"});  // keys x, x~2
    write(d + "/b.npz", {"x"});
    CHECK(merge_shard_outputs({d + "/a.npz", d + "/b.npz"}, d + "/out.npz") == 3);
    std::vector<std::string> keys;
    std::vector<std::int64_t> ends;
    std::string provenance = "unset";
    io_detail::npz_for_each(d + "/out.npz", [&](io_detail::NpzMember& m) {
        REQUIRE(m.has_row);  // the merged archive has the table
        keys.push_back(m.key);
        CHECK(m.row.name == "x");
        CHECK(m.row.chrom == "x");  // unknown coordinates: the whole-record convention
        ends.push_back(m.row.end);
    }, &provenance);
    CHECK(keys == std::vector<std::string>{"x", "x~2", "x~3"});
    CHECK(ends == std::vector<std::int64_t>{1, 2, 1});
    CHECK(provenance.empty());
}
