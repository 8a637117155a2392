// [gpu] The CUDA engine against the CPU engine: every golden checkpoint (all layouts and
// variants) and the shipped pretrained model in fp32 (one chunk and many small chunks) and
// bf16, random weights at awkward lengths, packed batches against single sequences, chunk
// sizes against each other, and pooling on the device. Built with the CUDA kernels; without a GPU each test says
// so and checks nothing.
#ifdef DNAMBA_HAVE_CUDA
#include <catch2/catch.hpp>
#include <algorithm>
#include <filesystem>
#include <memory>
#include <random>

#include "dnamba/embed.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/tokenizer.hpp"
#include "test_util.hpp"

using namespace dnamba;

namespace {

bool gpu_present() {
    if (cuda_device_count() > 0) return true;
    WARN("no CUDA device: this [gpu] test checks nothing here (run it on the GPU machine)");
    return false;
}

std::vector<std::int32_t> random_ids(std::size_t n, std::mt19937& g) {
    std::vector<std::int32_t> ids(n);
    for (auto& id : ids) id = 7 + static_cast<std::int32_t>(g() % 5);
    return ids;
}

// The CPU engine and three CUDA engines of one model: the whole input as one chunk, chunks of
// `chunk_rows` (the scan state carried between them), and bf16 in chunks of 4096 rows.
struct EngineSet {
    std::unique_ptr<Engine> cpu, gpu, chunked, bf16;
    EngineSet(const Model& model, std::size_t chunk_rows) {
        cpu = make_cpu_engine(model, EngineOptions{});
        gpu = make_engine(model, parse_device("cuda"), EngineOptions{});
        EngineOptions small;
        small.chunk_rows = chunk_rows;
        chunked = make_engine(model, parse_device("cuda"), small);
        EngineOptions half;
        half.precision = Precision::bf16;
        half.chunk_rows = 4096;
        bf16 = make_engine(model, parse_device("cuda"), half);
    }
};

}  // namespace

TEST_CASE("cuda engine: golden checkpoints and the pretrained model match the CPU engine within 1e-5", "[gpu]") {
    if (!gpu_present()) return;
    std::vector<std::string> dirs;
    for (const auto& e : std::filesystem::directory_iterator(test::testdata("golden")))
        if (e.is_directory()) dirs.push_back(e.path().string());
    std::sort(dirs.begin(), dirs.end());
    dirs.push_back(test::testdata("../models/caduceus-ps-1m-debian"));
    const auto inputs = test::read_fasta_simple(test::testdata("golden/inputs.fa"));
    for (const auto& dir : dirs) {
        const Model model = load_model(dir);
        auto cpu = make_cpu_engine(model, EngineOptions{});
        auto gpu = make_engine(model, parse_device("auto"), EngineOptions{});  // auto picks the GPU
        CHECK_THAT(gpu->description(), Catch::Contains("cuda:0") && Catch::Contains("fp32"));
        EngineOptions small;
        small.chunk_rows = 37;
        auto chunked = make_engine(model, parse_device("cuda"), small);
        EngineOptions half;
        half.precision = Precision::bf16;
        auto bf16 = make_engine(model, parse_device("cuda"), half);
        CHECK_THAT(bf16->description(), Catch::Contains("bf16"));
        for (const auto& [name, seq] : inputs) {
            INFO(dir << " sequence " << name << " (" << seq.size() << " bases)");
            const auto ids = tokenize(seq, false);
            const Matrix want = cpu->forward(ids);
            const double err = test::rel_error(gpu->forward(ids), want);
            const double err_chunked = test::rel_error(chunked->forward(ids), want);
            const double err_bf16 = test::rel_error(bf16->forward(ids), want);
            INFO("relative error " << err << ", in chunks of 37 rows " << err_chunked << ", bf16 " << err_bf16);
            CHECK(err < 1e-5);
            CHECK(err_chunked < 1e-5);
            CHECK(err_bf16 < 2e-2);
        }
    }
}

TEST_CASE("cuda engine: awkward lengths and packed batches (random weights)", "[gpu]") {
    if (!gpu_present()) return;
    ModelConfig c = preset_config("caduceus-1k");
    c.d_model = 64;
    c.d_inner = 128;
    c.dt_rank = 4;
    c.n_layer = 2;
    for (const bool rcps : {false, true}) {
        c.rcps = rcps;
        c.fused_add_norm = rcps;
        const Model model = make_random_model(c, 3);
        const EngineSet engines(model, 1000);
        const auto &cpu = engines.cpu, &gpu = engines.gpu, &chunked = engines.chunked, &bf16 = engines.bf16;
        std::mt19937 g(5);
        std::vector<std::vector<std::int32_t>> seqs;
        for (const std::size_t L : {1, 3, 2047, 2049, 5000, 70001}) {
            seqs.push_back(random_ids(L, g));
            INFO("rcps " << rcps << " L " << L);
            const Matrix want = cpu->forward(seqs.back());
            const Matrix got = gpu->forward(seqs.back());
            const double err = test::rel_error(got, want);
            const double err_chunked = test::rel_error(chunked->forward(seqs.back()), got);
            const double err_bf16 = test::rel_error(bf16->forward(seqs.back()), want);
            INFO("relative error " << err << "; chunks of 1000 rows vs one chunk " << err_chunked << "; bf16 "
                                   << err_bf16);
            CHECK(err < 1e-5);
            CHECK(err_chunked < 1e-5);
            CHECK(err_bf16 < 2e-2);
        }
        // packed: each sequence's rows equal its single run (within rounding)
        std::vector<std::int32_t> packed;
        std::vector<std::size_t> lengths;
        for (std::size_t i = 0; i + 1 < seqs.size(); ++i) {  // all but the 70001 one
            packed.insert(packed.end(), seqs[i].begin(), seqs[i].end());
            lengths.push_back(seqs[i].size());
        }
        const Matrix all = gpu->forward_packed(packed, lengths);
        Eigen::Index row = 0;
        for (std::size_t i = 0; i < lengths.size(); ++i) {
            const auto n = static_cast<Eigen::Index>(lengths[i]);
            const Matrix single = gpu->forward(seqs[i]);
            INFO("rcps " << rcps << " packed sequence " << i);
            CHECK(test::rel_error(Matrix(all.middleRows(row, n)), single) < 1e-6);
            row += n;
        }
        // the per-row layout (sequence bounds, resets) is uploaded only when the lengths change:
        // as many rows as one sequence, then the packing again, then other tokens in the packing
        {
            INFO("rcps " << rcps << " layout kept between passes");
            const std::vector<std::size_t> as_one{packed.size()};
            CHECK(test::rel_error(gpu->forward_packed(packed, as_one), cpu->forward(packed)) < 1e-5);
            CHECK(test::rel_error(gpu->forward_packed(packed, lengths), all) < 1e-6);
            const std::vector<std::int32_t> reversed(packed.rbegin(), packed.rend());
            CHECK(test::rel_error(gpu->forward_packed(reversed, lengths), cpu->forward_packed(reversed, lengths)) < 1e-5);
        }
        // pooled on the device (chunks of 1000 rows: sequences span chunks) = mean of the rows
        const Matrix pooled = chunked->forward_pooled_mean(packed, lengths);
        REQUIRE(pooled.rows() == static_cast<Eigen::Index>(lengths.size()));
        row = 0;
        for (std::size_t i = 0; i < lengths.size(); ++i) {
            const auto n = static_cast<Eigen::Index>(lengths[i]);
            const Matrix mean = all.middleRows(row, n).colwise().mean();
            INFO("rcps " << rcps << " pooled sequence " << i);
            CHECK(test::rel_error(Matrix(pooled.row(static_cast<Eigen::Index>(i))), mean) < 1e-5);
            row += n;
        }
    }
}

TEST_CASE("cuda engine: the full-width shape (d_model 256, d_inner 512) matches the CPU engine", "[gpu]") {
    if (!gpu_present()) return;
    // the width every preset has: the shape at which the scan's automatic choice is meant to
    // become the one-pass kernel (kernels/PERF_NOTES.md entry 21); the models above are narrower
    ModelConfig c = preset_config("caduceus-131k");
    c.n_layer = 2;
    for (const bool rcps : {false, true}) {
        c.rcps = rcps;
        c.fused_add_norm = rcps;
        const Model model = make_random_model(c, 7);
        const EngineSet engines(model, 3000);
        const auto &cpu = engines.cpu, &gpu = engines.gpu, &chunked = engines.chunked, &bf16 = engines.bf16;
        std::mt19937 g(8);
        std::vector<std::int32_t> packed;
        std::vector<std::size_t> lengths;
        for (const std::size_t L : {1, 2049, 9001}) {
            const std::vector<std::int32_t> ids = random_ids(L, g);
            packed.insert(packed.end(), ids.begin(), ids.end());
            lengths.push_back(L);
            INFO("rcps " << rcps << " L " << L);
            const Matrix want = cpu->forward(ids);
            const double err = test::rel_error(gpu->forward(ids), want);
            const double err_chunked = test::rel_error(chunked->forward(ids), want);
            const double err_bf16 = test::rel_error(bf16->forward(ids), want);
            INFO("relative error " << err << "; chunks of 3000 rows " << err_chunked << "; bf16 " << err_bf16);
            CHECK(err < 1e-5);
            CHECK(err_chunked < 1e-5);
            CHECK(err_bf16 < 2e-2);
        }
        // packed (resets inside the scan's tiles): each sequence's rows as its single run
        const Matrix all = gpu->forward_packed(packed, lengths);
        const Matrix want_all = cpu->forward_packed(packed, lengths);
        INFO("rcps " << rcps << " packed");
        CHECK(test::rel_error(all, want_all) < 1e-5);
        // a batch of equal sequences: with DNAMBA_SEGMENTS=1 an input of several chunks is chunked
        // at sequence ends (by default a wave of the scan's blocks: 198 sequences of 700 rows on a
        // 132-SM card at 6 output blocks an SM, so 198 + 198 + 4 here), and the scan runs whole
        // sequences without the carry where that pays (ScanArgsT::segment_rows: the first two
        // chunks); without it, the chunk plan and scan as for any packing
        const std::vector<std::int32_t> batch = random_ids(400 * 700, g);
        const std::vector<std::size_t> equal(400, 700);
        const Matrix want_batch = cpu->forward_packed(batch, equal);
        const double eb = test::rel_error(gpu->forward_packed(batch, equal), want_batch);
        const double eb_chunked = test::rel_error(chunked->forward_packed(batch, equal), want_batch);
        EngineOptions half;  // bf16 with the default chunk plan
        half.precision = Precision::bf16;
        const double eb_bf16 = test::rel_error(make_engine(model, parse_device("cuda"), half)->forward_packed(batch, equal),
                                               want_batch);
        INFO("400 x 700: relative error " << eb << "; chunks of 3000 rows " << eb_chunked << "; bf16 " << eb_bf16);
        CHECK(eb < 1e-5);
        CHECK(eb_chunked < 1e-5);
        CHECK(eb_bf16 < 2e-2);
    }
}
TEST_CASE("cuda engine: two engines on one GPU (cuda:0,0) and cuda:all embed as one engine does", "[gpu][multi]") {
    if (!gpu_present()) return;
    const Model model = load_model(test::testdata("models/tiny-caduceus"));
    const std::string dir = test::scratch_dir("cuda_multi_engine");
    std::mt19937 g(11);
    std::string fa;
    for (int i = 0; i < 30; ++i) {
        fa += ">r" + std::to_string(i) + "\n";
        for (int k = 0; k < 200 + 50 * (i % 4); ++k) fa += "ACGT"[g() % 4];
        fa += "\n";
    }
    test::write_file(dir + "/in.fa", fa);
    InputOptions in;
    in.path = dir + "/in.fa";
    in.windows.window = 100;
    in.windows.stride = 50;
    EmbedOptions opt;
    opt.pool = PoolMode::mean;
    opt.batch_tokens = 300;  // dozens of passes, spread over the engines
    opt.progress = false;
    EngineOptions eo;
    eo.precision = Precision::bf16;
    const Engines one = make_engines(model, parse_device("cuda:0"), eo);
    const Engines two = make_engines(model, parse_device("cuda:0,0"), eo);
    const Engines all = make_engines(model, parse_device("cuda:all"), eo);
    REQUIRE(two.size() == 2);
    CHECK(all.size() == static_cast<std::size_t>(cuda_device_count()));
    CHECK_THAT(two.description(), Catch::StartsWith("2 engines (cuda:0,cuda:0)"));
    const std::string missing = "cuda:" + std::to_string(cuda_device_count());  // one past the last GPU
    CHECK_THAT(test::error_of([&] { (void)make_engines(model, parse_device("cuda:0," + missing.substr(5)), eo); },
                              ErrorKind::device),
               Catch::Contains("there is no " + missing));
    (void)embed_input(one, model, in, dir + "/one.tsv", opt);
    (void)embed_input(two, model, in, dir + "/two.tsv", opt);
    (void)embed_input(all, model, in, dir + "/all.tsv", opt);
    const auto want = test::read_tsv(dir + "/one.tsv");
    for (const char* name : {"/two.tsv", "/all.tsv"}) {
        INFO(name);
        const auto got = test::read_tsv(dir + name);
        REQUIRE(got.size() == want.size());
        double worst = 0;
        for (std::size_t r = 0; r < want.size(); ++r) {
            REQUIRE(got[r].size() == want[r].size());
            CHECK(got[r][0] == want[r][0]);  // rows in input order
            for (std::size_t c = 5; c < want[r].size() && r > 0; ++c)
                worst = std::max(worst, std::abs(std::stod(got[r][c]) - std::stod(want[r][c])));
        }
        CHECK(worst < 1e-6);  // the same kernels on the same shapes: the same values
    }
}

#endif  // DNAMBA_HAVE_CUDA
