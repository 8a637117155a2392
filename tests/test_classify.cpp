// End-to-end classification: train-head and classify through the binary on a synthetic genome
// with a known answer (GC-rich vs AT-rich segments), embedding and k-mer features,
// precomputed embeddings, the model fingerprint check, and tracks.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "dnamba/classify.hpp"
#include "io/embedding_table.hpp"
#include "test_util.hpp"

using namespace dnamba;
using test::q;

namespace {

const std::string k_model = test::testdata("models/tiny-caduceus");
struct Task {
    std::string dir, fasta, train_bed, test_bed;
};

// chr1..chr7 made of 400-bp segments alternating GC-rich (70% GC) and AT-rich (30% GC);
// BED lines label each segment (column 4) with chromosome as the group (column 5); chr7 is held out.
Task make_task(const std::string& name) {
    Task t;
    t.dir = test::scratch_dir(name);
    t.fasta = t.dir + "/genome.fa";
    t.train_bed = t.dir + "/train.bed";
    t.test_bed = t.dir + "/test.bed";
    std::mt19937 rng(42);
    std::string fa, train, test;
    for (int chrom = 1; chrom <= 7; ++chrom) {
        std::string seq;
        const std::string cname = "chr" + std::to_string(chrom);
        for (int seg = 0; seg < 24; ++seg) {
            const bool gc = seg % 2 == 0;
            const int start = static_cast<int>(seq.size());
            for (int i = 0; i < 400; ++i) {
                const bool strong = std::uniform_real_distribution<double>(0, 1)(rng) < (gc ? 0.7 : 0.3);
                seq += strong ? "GC"[rng() % 2] : "AT"[rng() % 2];
            }
            const std::string line = cname + "\t" + std::to_string(start) + "\t" + std::to_string(start + 400) + "\t" +
                                     (gc ? "gc_rich" : "at_rich") + "\t" + cname + "\t+\n";
            (chrom == 7 ? test : train) += line;
        }
        fa += ">" + cname + "\n";
        for (std::size_t i = 0; i < seq.size(); i += 60) fa += seq.substr(i, 60) + "\n";
    }
    test::write_file(t.fasta, fa);
    test::write_file(t.train_bed, train);
    test::write_file(t.test_bed, test);
    return t;
}

double cv_accuracy(const std::string& out) {
    const auto p = out.find("\nCV");
    REQUIRE(p != std::string::npos);
    const auto a = out.find("accuracy", p);
    return std::stod(out.substr(a + 9));
}

}  // namespace

TEST_CASE("classify: k-mer head separates GC-rich from AT-rich regions", "[classify]") {
    const Task t = make_task("cls_kmer");
    auto r = test::run_dnamba("train-head -i " + q(t.fasta) + " --regions " + q(t.train_bed) +
                              " --features kmer:3 --folds 3 --group-column 5 --test-regions " + q(t.test_bed) + " -o " +
                              q(t.dir + "/gc.head"));
    REQUIRE(r.exit_code == 0);
    INFO(r.out);
    CHECK(cv_accuracy(r.out) >= 0.95);
    CHECK_THAT(r.out, Catch::Contains("held-out") && Catch::Contains("AUROC"));
    r = test::run_dnamba("classify --head " + q(t.dir + "/gc.head") + " -i " + q(t.fasta) + " --regions " +
                         q(t.test_bed) + " -o " + q(t.dir + "/calls.tsv"));
    REQUIRE(r.exit_code == 0);
    const auto rows = test::read_tsv(t.dir + "/calls.tsv");
    REQUIRE(rows.size() == 25);
    CHECK(rows[0] == std::vector<std::string>{"name", "chrom", "start", "end", "strand", "p_at_rich", "p_gc_rich",
                                              "predicted"});
    int correct = 0;
    for (std::size_t i = 1; i < rows.size(); ++i) {
        const bool gc = (i - 1) % 2 == 0;
        correct += rows[i][7] == (gc ? "gc_rich" : "at_rich");
        CHECK(std::stof(rows[i][5]) + std::stof(rows[i][6]) == Approx(1.0f).margin(1e-5));
    }
    CHECK(correct >= 23);
}

// Head files carry a CRC-32 of their tensors: a damaged head is refused, naming it. The outputs
// of classify record what made them: the head (its file's CRC-32), features, model, options.
TEST_CASE("classify: a damaged head is refused; calls and bedGraph record their provenance", "[classify]") {
    const Task t = make_task("cls_provenance");
    const std::string head = t.dir + "/gc.head";
    auto r = test::run_dnamba("train-head -i " + q(t.fasta) + " --regions " + q(t.train_bed) +
                              " --features kmer:2 --folds 3 -q -o " + q(head));
    REQUIRE(r.exit_code == 0);
    std::string bytes = test::read_file(head);
    bytes[bytes.size() - 1] = static_cast<char>(bytes[bytes.size() - 1] ^ 0x01);  // scale's last float: one bit
    test::write_file(t.dir + "/damaged.head", bytes);
    r = test::run_dnamba("classify --head " + q(t.dir + "/damaged.head") + " -i " + q(t.fasta) + " --regions " +
                         q(t.test_bed) + " -o " + q(t.dir + "/x.tsv"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains(t.dir + "/damaged.head: not a valid dnamba head file: the tensor data is damaged"));
    CHECK_FALSE(test::file_exists(t.dir + "/x.tsv"));

    const std::string head_crc = [&] {
        char text[9];
        const std::string h = test::read_file(head);
        std::snprintf(text, sizeof text, "%08lx",
                      static_cast<unsigned long>(crc32(0, reinterpret_cast<const Bytef*>(h.data()), static_cast<uInt>(h.size()))));
        return std::string(text);
    }();
    for (const std::string out : {"calls.tsv", "calls.bedgraph"}) {
        INFO(out);
        r = test::run_dnamba("classify --head " + q(head) + " -i " + q(t.fasta) + " --window 400 --stride 200 -q -o " +
                             q(t.dir + "/" + out));
        REQUIRE(r.exit_code == 0);
        const std::string text = test::read_file(t.dir + "/" + out);
        const std::size_t first_line = text.find('\n');
        // the calls table starts with it; the bedGraph has it right after its track line
        const std::string line = out == "calls.tsv" ? text.substr(0, first_line)
                                                    : text.substr(first_line + 1, text.find('\n', first_line + 1) - first_line - 1);
        REQUIRE(line.rfind("#dnamba {", 0) == 0);
        const nlohmann::json p = nlohmann::json::parse(line.substr(8));
        CHECK(p["dnamba"] == DNAMBA_VERSION);
        CHECK(p["model"] == "");  // a k-mer head uses no model
        CHECK(p["head"] == head_crc);
        CHECK(p["features"] == "kmer:2");
        CHECK(p["window"] == 400);
        CHECK(p["stride"] == 200);
    }
    // the track drawn from the calls table carries the table's provenance
    r = test::run_dnamba("track --calls " + q(t.dir + "/calls.tsv") + " --genome " + q(t.fasta) + " -o " +
                         q(t.dir + "/drawn.bedgraph"));
    REQUIRE(r.exit_code == 0);
    CHECK(test::read_file(t.dir + "/drawn.bedgraph") == test::read_file(t.dir + "/calls.bedgraph"));
}

TEST_CASE("classify: embedding head, precomputed embeddings, fingerprint check, tracks", "[classify]") {
    const Task t = make_task("cls_emb");
    const std::string head = t.dir + "/emb.head";
    auto r = test::run_dnamba("train-head -m " + q(k_model) + " -i " + q(t.fasta) + " --regions " + q(t.train_bed) +
                              " --rc average --folds 3 -o " + q(head));
    REQUIRE(r.exit_code == 0);
    const double acc_model = cv_accuracy(r.out);

    // the same features from a precomputed table give the same cross-validation
    r = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(t.fasta) + " --regions " + q(t.train_bed) +
                         " --rc average -o " + q(t.dir + "/emb.tsv"));
    REQUIRE(r.exit_code == 0);
    r = test::run_dnamba("train-head -m " + q(k_model) + " --embeddings " + q(t.dir + "/emb.tsv") + " --regions " +
                         q(t.train_bed) + " --rc average --folds 3 -o " + q(t.dir + "/pre.head"));
    REQUIRE(r.exit_code == 0);
    CHECK(cv_accuracy(r.out) == acc_model);
    // ... and without --rc average the head would record rc none and classify could not use it:
    // refused, saying which --rc the table was made with
    r = test::run_dnamba("train-head -m " + q(k_model) + " --embeddings " + q(t.dir + "/emb.tsv") + " --regions " +
                         q(t.train_bed) + " --folds 3 -o " + q(t.dir + "/none.head"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains(t.dir + "/emb.tsv: ") && Catch::Contains("pass --rc average"));
    CHECK_FALSE(test::file_exists(t.dir + "/none.head"));

    // a different model is refused
    r = test::run_dnamba("classify -m " + q(test::testdata("golden/c_caduceus_ps_fused")) + " --head " + q(head) +
                         " -i " + q(t.fasta) + " --regions " + q(t.test_bed) + " -o " + q(t.dir + "/x.tsv"));
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Catch::Contains("fingerprint"));
    CHECK_FALSE(test::file_exists(t.dir + "/x.tsv"));

    // a bedGraph along sliding windows: sorted, non-overlapping, values are probabilities
    r = test::run_dnamba("classify -m " + q(k_model) + " --head " + q(head) + " -i " + q(t.fasta) +
                         " --window 400 --stride 200 --class gc_rich -o " + q(t.dir + "/gc.bedgraph"));
    REQUIRE(r.exit_code == 0);
    const auto lines = test::read_tsv(t.dir + "/gc.bedgraph");
    REQUIRE(lines.size() > 10);
    std::string chrom;
    long last_end = -1;
    for (const auto& l : lines) {
        if (l[0].rfind("track", 0) == 0) continue;
        REQUIRE(l.size() == 4);
        const long s = std::stol(l[1]), e = std::stol(l[2]);
        if (l[0] == chrom) CHECK(s >= last_end);
        CHECK(e > s);
        const float v = std::stof(l[3]);
        CHECK(v >= 0.0f);
        CHECK(v <= 1.0f);
        chrom = l[0];
        last_end = e;
    }
    r = test::run_dnamba("classify -m " + q(k_model) + " --head " + q(head) + " -i " + q(t.fasta) +
                         " --window 400 --stride 200 -o " + q(t.dir + "/gc.bw"));
    REQUIRE(r.exit_code == 0);
    const std::string bw = test::read_file(t.dir + "/gc.bw");
    REQUIRE(bw.size() > 4);
    CHECK(static_cast<unsigned char>(bw[0]) == 0x26);  // bigWig magic 0x888FFC26, little-endian
    CHECK(static_cast<unsigned char>(bw[3]) == 0x88);
    r = test::run_dnamba("classify -m " + q(k_model) + " --head " + q(head) + " -i " + q(t.fasta) +
                         " --window 400 --class nope -o " + q(t.dir + "/n.bw"));
    CHECK(r.exit_code == 2);
}

TEST_CASE("train-head: bad labels and options are refused", "[classify]") {
    const Task t = make_task("cls_bad");
    test::write_file(t.dir + "/one.bed", "chr1\t0\t100\tx\nchr1\t100\t200\tx\n");
    auto r = test::run_dnamba("train-head -i " + q(t.fasta) + " --regions " + q(t.dir + "/one.bed") +
                              " --features kmer:2 -o " + q(t.dir + "/h"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("at least two classes"));
    r = test::run_dnamba("train-head -i " + q(t.fasta) + " --regions " + q(t.train_bed) +
                         " --features kmer:2 --label-column 9 -o " + q(t.dir + "/h"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("no column 9"));
    r = test::run_dnamba("train-head -i " + q(t.fasta) + " --regions " + q(t.train_bed) + " --features kmer:12 -o " +
                         q(t.dir + "/h"));
    CHECK(r.exit_code == 2);
    r = test::run_dnamba("train-head -i " + q(t.fasta) + " --regions " + q(t.train_bed) + " -o " + q(t.dir + "/h"));
    CHECK(r.exit_code == 2);  // embedding features without a model
    CHECK_FALSE(test::file_exists(t.dir + "/h"));
}

TEST_CASE("precomputed .npy embeddings: what numpy writes is read, defects name the file", "[classify]") {
    const std::string dir = test::scratch_dir("cls_npy");
    // A version 2.0 .npy (numpy writes it for headers over 64 KiB; the parser takes any size)
    // of a 2x3 float32 matrix, dict padded to 64 bytes, and its names table.
    auto npy = [](int major, const std::string& dict, const std::vector<float>& data) {
        std::string padded = dict;
        while ((12 + padded.size() + 1) % 64 != 0) padded += ' ';
        padded += '\n';
        std::string out("\x93NUMPY", 6);
        out += static_cast<char>(major);
        out += '\0';
        const std::uint32_t len = static_cast<std::uint32_t>(padded.size());
        out.append(reinterpret_cast<const char*>(&len), 4);
        out += padded;
        out.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
        return out;
    };
    const std::vector<float> values = {0.5f, 1.5f, -2.0f, 3.0f, 4.25f, -5.0f};
    const std::string path = dir + "/emb.npy";
    test::write_file(path, npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", values));
    test::write_file(npy_names_path(path), "index\tname\tchrom\tstart\tend\tstrand\n0\tr0\tchr1\t0\t400\t+\n"
                                           "1\tr1\tchr1\t400\t800\t-\n");
    const EmbeddingTable t = read_embedding_table(path);
    REQUIRE(t.X.rows() == 2);
    REQUIRE(t.X.cols() == 3);
    CHECK(std::vector<float>(t.X.data(), t.X.data() + 6) == values);
    REQUIRE(t.rows.size() == 2);
    CHECK(t.rows[1].name == "r1");
    CHECK(t.rows[1].start == 400);
    CHECK(t.rows[1].strand == '-');

    // through train-head: exit 3 (input), the file and the defect named, no head written
    const Task task = make_task("cls_npy_task");
    auto refused = [&](const std::string& name, const std::string& bytes, const std::string& what) {
        const std::string bad = dir + "/" + name;
        test::write_file(bad, bytes);
        test::write_file(npy_names_path(bad), test::read_file(npy_names_path(path)));
        const auto r = test::run_dnamba("train-head -m " + q(k_model) + " --embeddings " + q(bad) + " --regions " +
                                        q(task.train_bed) + " --rc average -o " + q(dir + "/x.head"));
        CHECK(r.exit_code == 3);
        CHECK_THAT(r.err, Catch::Contains(bad + ": ") && Catch::Contains(what));
        CHECK_FALSE(test::file_exists(dir + "/x.head"));
    };
    refused("fortran.npy", npy(2, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", values), "Fortran order");
    refused("f8.npy", npy(3, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", values),
            "unsupported dtype '<f8'");
    refused("short.npy", npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", {1.0f}),
            "truncated data");
    refused("flat.npy", npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", values), "2-D");
}
