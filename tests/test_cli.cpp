// End-to-end tests: the real `dnamba` binary on the bundled example and golden models, its
// outputs checked against the library, and its failures (exit code, message, no output).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "dnamba/embed.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/io.hpp"
#include "test_util.hpp"

using namespace dnamba;
using test::q;

namespace {

const std::string k_model = test::testdata("models/tiny-caduceus");
const std::string k_example = test::testdata("example/example.fa");

bool python_has_numpy() { return std::system("python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("cli: help, version and unknown commands", "[cli]") {
    auto r = test::run_dnamba("--help");
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("embed") && Catch::Contains("exit codes"));
    r = test::run_dnamba("embed --help");
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("--pool") && Catch::Contains("--rc") && Catch::Contains("--device"));
    r = test::run_dnamba("frobnicate");
    CHECK(r.exit_code == 2);
    r = test::run_dnamba("embed --model " + q(k_model));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("dnamba embed: error:") && Catch::Contains("input"));
}

TEST_CASE("cli: info describes the checkpoint", "[cli]") {
    const auto r = test::run_dnamba("info --model " + q(k_model));
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("caduceus") && Catch::Contains("rcps             yes") &&
                          Catch::Contains("d_model          32") && Catch::Contains("parameters") &&
                          Catch::Contains("F32"));
    const Model m = load_model(k_model);
    CHECK_THAT(r.out, Catch::Contains(std::to_string(m.parameter_count)));
}

TEST_CASE("cli: embed pooled TSV equals the library and pooling of the per-position NPZ", "[cli]") {
    const std::string dir = test::scratch_dir("cli_embed");
    for (const char* rc : {"none", "average"}) {
        INFO("rc " << rc);
        const std::string tsv = dir + "/out_" + rc + ".tsv", npz = dir + "/out_" + rc + ".npz";
        auto r = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(k_example) + " -o " + q(tsv) +
                                  " --pool mean --threads 2 --rc " + rc);
        REQUIRE(r.exit_code == 0);
        CHECK_THAT(r.err, Catch::Contains("wrote " + tsv));
        r = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(k_example) + " -o " + q(npz) +
                             " --pool none --threads 1 --rc " + rc);
        REQUIRE(r.exit_code == 0);

        const Model model = load_model(k_model);
        auto engine = make_cpu_engine(model, EngineOptions{});
        const auto records = test::read_fasta_simple(k_example);
        const auto rows = test::read_tsv(tsv);
        const auto arrays = test::read_npz_simple(npz);
        const int C = embedding_channels(model.config, std::string(rc) == "none" ? RcMode::none : RcMode::average);
        REQUIRE(rows.size() == records.size() + 1);
        REQUIRE(arrays.size() == records.size());
        CHECK(rows[0][0] == "name");
        CHECK(rows[0][4] == "strand");
        CHECK(rows[0][5] == "e0");
        CHECK(rows[0].size() == static_cast<std::size_t>(5 + C));
        for (std::size_t i = 1; i < rows.size(); ++i) {
            const auto& row = rows[i];
            INFO("record " << row[0]);
            REQUIRE(records.count(row[0]) == 1);
            const std::string& seq = records.at(row[0]);
            CHECK(row[1] == row[0]);
            CHECK(row[2] == "0");
            CHECK(row[3] == std::to_string(seq.size()));
            CHECK(row[4] == "+");
            const Matrix per_pos = embed_sequence(*engine, model, seq,
                                                  std::string(rc) == "none" ? RcMode::none : RcMode::average, false);
            const Vector pooled = pool_rows(per_pos, PoolMode::mean);
            Vector from_tsv(C);
            for (int c = 0; c < C; ++c) from_tsv[c] = std::stof(row[5 + c]);
            CHECK(test::rel_error(Matrix(from_tsv.transpose()), Matrix(pooled.transpose())) < 1e-6);
            REQUIRE(arrays.count(row[0]) == 1);
            const Matrix& a = arrays.at(row[0]);
            REQUIRE(a.rows() == static_cast<Eigen::Index>(seq.size()));
            REQUIRE(a.cols() == C);
            CHECK(test::rel_error(a, per_pos) < 1e-6);
            // pooled output == pooling of the per-position output (threads 2 vs 1 as well)
            CHECK(test::rel_error(Matrix(from_tsv.transpose()), Matrix(a.colwise().mean())) < 1e-6);
        }
    }
    if (python_has_numpy()) {
        const std::string py = "python3 -c \"import numpy as np; z = np.load('" + dir +
                               "/out_none.npz'); assert len(z.files) >= 4; a = z[z.files[0]]; "
                               "assert a.dtype == np.float32 and a.ndim == 2 and a.shape[1] == 64\"";
        CHECK(std::system(py.c_str()) == 0);
    } else {
        WARN("numpy not available: numpy.load check of the .npz skipped");
    }
}

TEST_CASE("cli: embed .npy writes the matrix and a names index", "[cli]") {
    const std::string dir = test::scratch_dir("cli_npy");
    const std::string npy = dir + "/emb.npy";
    const auto r = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(k_example) + " -o " + q(npy) +
                                    " --rc average --pool max -q");
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());  // --quiet
    REQUIRE(test::file_exists(npy));
    REQUIRE(test::file_exists(npy_names_path(npy)));
    const auto names = test::read_tsv(npy_names_path(npy));
    const auto records = test::read_fasta_simple(k_example);
    CHECK(names.size() == records.size() + 1);
    const std::string bytes = test::read_file(npy);
    CHECK(bytes.compare(0, 6, "\x93NUMPY") == 0);
    CHECK_THAT(bytes.substr(0, 128), Catch::Contains("'shape': (" + std::to_string(records.size()) + ", 32)"));
}

TEST_CASE("cli: gzip FASTA input gives the same result", "[cli]") {
    const std::string dir = test::scratch_dir("cli_gz");
    const std::string gz = dir + "/example.fa.gz";
    REQUIRE(std::system(("gzip -c " + q(k_example) + " > " + q(gz)).c_str()) == 0);
    auto a = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(k_example) + " -o " + q(dir + "/a.tsv"));
    auto b = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(gz) + " -o " + q(dir + "/b.tsv"));
    REQUIRE(a.exit_code == 0);
    REQUIRE(b.exit_code == 0);
    CHECK(test::read_file(dir + "/a.tsv") == test::read_file(dir + "/b.tsv"));
}

TEST_CASE("cli: bad input fails clearly and leaves no output", "[cli]") {
    const std::string dir = test::scratch_dir("cli_bad");
    const std::string out = dir + "/out.tsv";
    auto expect_failure = [&](const std::string& args, int code, const std::string& message) {
        INFO(args);
        const auto r = test::run_dnamba(args);
        CHECK(r.exit_code == code);
        CHECK_THAT(r.err, Catch::Contains(message));
        CHECK_FALSE(test::file_exists(out));
        for (const auto& e : std::filesystem::directory_iterator(dir))  // no temp files either
            CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
    };
    const std::string m = " -m " + q(k_model);
    expect_failure("embed" + m + " -i " + q(dir + "/missing.fa") + " -o " + q(out), 3, "missing.fa");

    test::write_file(dir + "/empty.fa", "");
    expect_failure("embed" + m + " -i " + q(dir + "/empty.fa") + " -o " + q(out), 3, "no sequences");

    // a good record first, then a header without sequence: the partial output must vanish
    test::write_file(dir + "/nohdr.fa", ">ok\nACGTACGT\n>broken\n>next\nACGT\n");
    expect_failure("embed" + m + " -i " + q(dir + "/nohdr.fa") + " -o " + q(out), 3, "broken");

    test::write_file(dir + "/notseq.dat", std::string("\x01\x02\x03 not a sequence file \xff\xfe", 27));
    expect_failure("embed" + m + " -i " + q(dir + "/notseq.dat") + " -o " + q(out), 3, "notseq.dat");

    // FASTQ whose quality line does not match its sequence
    test::write_file(dir + "/badq.fq", "@read1\nACGT\n+\nIIII\n@read2\nACGTA\n+\nII\n");
    expect_failure("embed" + m + " -i " + q(dir + "/badq.fq") + " -o " + q(out), 3, "read2");

    expect_failure("embed" + m + " -i " + q(k_example) + " -o " + q(out) + " --pool none", 2, ".npz");
    expect_failure("embed" + m + " -i " + q(k_example) + " -o " + q(dir + "/out.csv"), 2, ".csv");
    expect_failure("embed" + m + " -i " + q(k_example) + " -o " + q(out) + " --rc sometimes", 2, "--rc");
    expect_failure("embed" + m + " -i " + q(k_example) + " -o " + q(out) + " --device tpu", 2, "--device");
    if (cuda_device_count() == 0)  // no GPU (or no kernels in this build): a device error naming CUDA
        expect_failure("embed" + m + " -i " + q(k_example) + " -o " + q(out) + " --device cuda", 5, "CUDA");
    expect_failure("embed" + m + " -i " + q(k_example) + " -o " + q(out) + " --device cuda:99", 5, "CUDA");
    expect_failure("embed -m " + q(dir) + " -i " + q(k_example) + " -o " + q(out), 4, "config.json");
    expect_failure("embed" + m + " -i " + q(k_example) + " -o " + q(dir + "/no/such/dir/out.tsv"), 6, "no/such/dir");

    // truncated gzip
    const std::string gz = dir + "/trunc.fa.gz";
    REQUIRE(std::system(("gzip -c " + q(k_example) + " | head -c 200 > " + q(gz)).c_str()) == 0);
    expect_failure("embed" + m + " -i " + q(gz) + " -o " + q(out), 3, "trunc.fa.gz");
}

TEST_CASE("cli: corrupt checkpoints give exit code 4 naming the file", "[cli]") {
    const std::string dir = test::scratch_dir("cli_corrupt_model");
    const std::string model = dir + "/model";
    std::filesystem::create_directories(model);
    std::filesystem::copy_file(k_model + "/config.json", model + "/config.json");
    const std::string weights = test::read_file(k_model + "/model.safetensors");
    test::write_file(model + "/model.safetensors", weights.substr(0, weights.size() / 2));
    const std::string out = dir + "/out.tsv";
    auto r = test::run_dnamba("embed -m " + q(model) + " -i " + q(k_example) + " -o " + q(out));
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Catch::Contains("model.safetensors") && Catch::Contains("truncated"));
    CHECK_FALSE(test::file_exists(out));
    r = test::run_dnamba("info -m " + q(model));
    CHECK(r.exit_code == 4);

    // Header variants: bad JSON, offsets past the data, wrong byte size for the dtype.
    auto with_header = [&](const std::string& header, const std::string& data) {
        std::string bytes(8, '\0');
        const std::uint64_t n = header.size();
        std::memcpy(bytes.data(), &n, 8);
        test::write_file(model + "/model.safetensors", bytes + header + data);
    };
    const std::vector<std::pair<std::string, std::string>> variants = {
        {"{\"w\": [1, 2", "not valid JSON"},
        {R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,64]}})", "past the end"},
        {R"({"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,16]}})", "needs 8"},
    };
    for (const auto& [header, message] : variants) {
        INFO(header);
        with_header(header, std::string(16, '\0'));
        r = test::run_dnamba("embed -m " + q(model) + " -i " + q(k_example) + " -o " + q(out));
        CHECK(r.exit_code == 4);
        CHECK_THAT(r.err, Catch::Contains("model.safetensors") && Catch::Contains(message));
        CHECK_FALSE(test::file_exists(out));
    }
}

TEST_CASE("cli: embed reads FASTA from standard input", "[cli]") {
    const std::string dir = test::scratch_dir("cli_stdin");
    const auto a = test::run_dnamba("embed -m " + q(k_model) + " -i - -o " + q(dir + "/a.tsv") + " < " + q(k_example));
    const auto b = test::run_dnamba("embed -m " + q(k_model) + " -i " + q(k_example) + " -o " + q(dir + "/b.tsv"));
    REQUIRE(a.exit_code == 0);
    REQUIRE(b.exit_code == 0);
    CHECK(test::read_file(dir + "/a.tsv") == test::read_file(dir + "/b.tsv"));
}

TEST_CASE("cli: bench prints time, throughput and peak RSS", "[cli]") {
    const auto r = test::run_dnamba("bench --preset caduceus-1k --length 300 --repeat 1 --device cpu");
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("throughput") && Catch::Contains("nt/s") && Catch::Contains("peak RSS") &&
                          Catch::Contains("n_layer 4"));
    CHECK(test::run_dnamba("bench --preset nope").exit_code == 2);
    // option errors: exit 2 with the option named
    for (const std::string& bad : {std::string("--lengths 300,x"), std::string("--lengths 300,,5"),
                                   std::string("--chunk-rows -1"), std::string("--precision fp64"),
                                   std::string("--precision bf16 --device cpu")}) {
        INFO(bad);
        const auto e = test::run_dnamba("bench --preset caduceus-1k --repeat 1 " + bad);
        CHECK(e.exit_code == 2);
        CHECK_THAT(e.err, Catch::Contains(bad.substr(0, bad.find(' '))));
    }
    // a scaling series appends one TSV line per length
    const std::string dir = test::scratch_dir("cli_bench");
    const auto s = test::run_dnamba("bench --preset caduceus-1k --lengths 50,70 --repeat 1 --device cpu -q --tsv " +
                                    q(dir + "/b.tsv"));
    REQUIRE(s.exit_code == 0);
    const auto rows = test::read_tsv(dir + "/b.tsv");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0][2] == "50");
    CHECK(rows[1][2] == "70");
    CHECK(std::stod(rows[1][4]) > 0.0);
}

namespace {

// The "N parameters" of a bench header line.
long long bench_parameters(const std::string& out) {
    const auto end = out.find(" parameters");
    REQUIRE(end != std::string::npos);
    const auto begin = out.rfind(' ', end - 1) + 1;
    return std::stoll(out.substr(begin, end - begin));
}

std::string bench_checksum(const std::string& out) {
    const auto at = out.find("checksum ");
    REQUIRE(at != std::string::npos);
    return out.substr(at, out.find('\n', at) - at);
}

}  // namespace

TEST_CASE("cli: bench --model times a checkpoint directory", "[cli]") {
    const std::string args = " --length 300 --repeat 1 --device cpu";
    const auto r = test::run_dnamba("bench --model " + q(k_model) + args);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("model tiny-caduceus [caduceus (Hugging Face)]: d_model 32, n_layer 2") &&
                          Catch::Contains("rcps (64 channels)") && Catch::Contains("length 300 nt") &&
                          Catch::Contains("run 1: ") && Catch::Contains("throughput"));
    CHECK(bench_parameters(r.out) == load_model(k_model).parameter_count);

    // --random-weights reads only config.json: a directory without model.safetensors will do
    const std::string dir = test::scratch_dir("cli_bench_model");
    std::filesystem::create_directories(dir + "/config-only");
    std::filesystem::copy_file(k_model + "/config.json", dir + "/config-only/config.json");
    const auto rnd = test::run_dnamba("bench --model " + q(dir + "/config-only/") + " --random-weights" + args +
                                      " --tsv " + q(dir + "/b.tsv"));
    REQUIRE(rnd.exit_code == 0);
    CHECK_THAT(rnd.out, Catch::Contains("model config-only [caduceus (Hugging Face), random weights]: d_model 32"));
    CHECK(bench_checksum(rnd.out) != bench_checksum(r.out));
    const auto rows = test::read_tsv(dir + "/b.tsv");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0][0] == "config-only [caduceus (Hugging Face), random weights]");
    CHECK(rows[0][2] == "300");
    // ... and without it the weights file is needed
    const auto no_weights = test::run_dnamba("bench --model " + q(dir + "/config-only") + args);
    CHECK(no_weights.exit_code == 4);
    CHECK_THAT(no_weights.err, Catch::Contains("model.safetensors"));

    const auto both = test::run_dnamba("bench --model " + q(k_model) + " --preset caduceus-1k" + args);
    CHECK(both.exit_code == 2);
    CHECK_THAT(both.err, Catch::Contains("--model and --preset"));
    const auto alone = test::run_dnamba("bench --preset caduceus-1k --random-weights" + args);
    CHECK(alone.exit_code == 2);
    CHECK_THAT(alone.err, Catch::Contains("--random-weights needs --model"));
    const auto missing = test::run_dnamba("bench --model " + q(dir + "/no-such-model") + args);
    CHECK(missing.exit_code != 0);
    CHECK_THAT(missing.err, Catch::Contains(dir + "/no-such-model"));
    CHECK(missing.out.find("run 1:") == std::string::npos);
}

TEST_CASE("cli: bench --count runs copies through the pipeline, batching changing nothing", "[cli]") {
    const std::string args = "bench --model " + q(k_model) + " --length 300 --repeat 1 --device cpu";
    const auto one = test::run_dnamba(args);
    const auto two_passes = test::run_dnamba(args + " --count 6 --batch-tokens 900");
    const auto one_pass = test::run_dnamba(args + " --count 6 --batch-tokens 1800");
    REQUIRE(one.exit_code == 0);
    REQUIRE(two_passes.exit_code == 0);
    REQUIRE(one_pass.exit_code == 0);
    CHECK_THAT(two_passes.out, Catch::Contains("6 sequences of 300 nt per run, 3 per pass"));
    CHECK_THAT(one_pass.out, Catch::Contains("6 sequences of 300 nt per run, 6 per pass"));
    // the checksum sums each pass's rows, so the two batchings round that sum differently: compare
    // to the printed 6 digits; six copies of one sequence give six times its checksum
    const double single = std::stod(bench_checksum(one.out).substr(9));
    const double six = std::stod(bench_checksum(one_pass.out).substr(9));
    CHECK(std::stod(bench_checksum(two_passes.out).substr(9)) == Approx(six).epsilon(1e-5));
    CHECK(six == Approx(6 * single).epsilon(1e-5));
    CHECK(single != 0.0);
}

TEST_CASE("cli: bench RCPS presets", "[cli]") {
    const auto ps = test::run_dnamba("bench --preset caduceus-ps-1k --length 200 --repeat 1 --device cpu");
    REQUIRE(ps.exit_code == 0);
    CHECK_THAT(ps.out, Catch::Contains("preset caduceus-ps-1k: d_model 256, n_layer 4") &&
                           Catch::Contains("rcps (512 channels)") && Catch::Contains("run 1: "));
    const auto plain = test::run_dnamba("bench --preset caduceus-1k --length 200 --repeat 1 --device cpu");
    REQUIRE(plain.exit_code == 0);
    CHECK(plain.out.find("rcps") == std::string::npos);
    // RCPS runs the same weights on both strands: no extra parameters
    CHECK(bench_parameters(ps.out) == bench_parameters(plain.out));

    const ModelConfig c = preset_config("caduceus-ps-131k");
    CHECK(c.rcps);
    CHECK(c.n_layer == 16);
    CHECK(c.d_model == 256);
    CHECK(c.combine == Combine::add);
    CHECK(c.weight_tie);
    // the complement map of the bundled RCPS checkpoints
    CHECK(c.complement_map == load_model_config(k_model).complement_map);
    CHECK(preset_config("caduceus-ps-1k").n_layer == 4);

    const auto help = test::run_dnamba("bench --help");
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Catch::Contains("caduceus-ps-131k") && Catch::Contains("caduceus-ps-1k") &&
                             Catch::Contains("--model") && Catch::Contains("--random-weights"));
    const auto unknown = test::run_dnamba("bench --preset nope");
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("caduceus-131k") && Catch::Contains("caduceus-1k") &&
                                Catch::Contains("caduceus-ps-131k") && Catch::Contains("caduceus-ps-1k"));
}
