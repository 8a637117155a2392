// CPU engine properties beyond the golden cases: thread-count independence, reverse-
// complement equivariance/invariance, pooling, and operator edge cases; engine selection
// (what the GPU engine can run, and --device auto falling back to the CPU).
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>

#include "cpu/ops.hpp"
#include "cuda/engine_cuda.hpp"
#include "dnamba/embed.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/error.hpp"
#include "dnamba/tokenizer.hpp"
#include "pipeline/embed_batch.hpp"
#include "test_util.hpp"

using namespace dnamba;

namespace {

std::string random_dna(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, 'A');
    for (auto& c : s) c = "ACGTACGTACGTN"[rng() % 13];
    return s;
}

// Flip rows (sequence positions).
Matrix flip_rows(const Matrix& m) { return m.colwise().reverse(); }

}  // namespace

TEST_CASE("engine: results do not depend on the thread count", "[engine]") {
    for (const char* name : {"a_caduceus_ph", "c_caduceus_ps_fused", "b_caduceus_ewmul_ln"}) {
        INFO(name);
        const Model model = load_model(test::testdata(std::string("golden/") + name));
        EngineOptions one, two, three;
        one.threads = 1;
        two.threads = 2;
        three.threads = 3;
        const auto ids = tokenize(random_dna(3001, 5), false);
        const Matrix h1 = make_cpu_engine(model, one)->forward(ids);
        const Matrix h2 = make_cpu_engine(model, two)->forward(ids);
        const Matrix h3 = make_cpu_engine(model, three)->forward(ids);
        // Rows and channels are partitioned independently of the thread count: bit-identical.
        CHECK((h1.array() == h2.array()).all());
        CHECK((h1.array() == h3.array()).all());
    }
}

TEST_CASE("engine: a sequence's result does not depend on other calls", "[engine]") {
    const Model model = load_model(test::testdata("golden/a_caduceus_ph"));
    auto engine = make_cpu_engine(model, EngineOptions{});
    const auto ids = tokenize(random_dna(500, 1), false);
    const Matrix first = engine->forward(ids);
    (void)engine->forward(tokenize(random_dna(2000, 2), false));  // buffers resized and reused
    const Matrix again = engine->forward(ids);
    CHECK((first.array() == again.array()).all());
}

TEST_CASE("engine: a sequence packed with others gives bit-identical rows", "[engine][batch]") {
    for (const char* name : {"a_caduceus_ph", "c_caduceus_ps_fused", "d_caduceus_ps_ln_untied", "b_caduceus_ewmul_ln",
                             "j_hf_mamba_tied"}) {
        INFO(name);
        const Model model = load_model(test::testdata(std::string("golden/") + name));
        auto engine = make_cpu_engine(model, EngineOptions{});
        // awkward lengths so sequences straddle the 256-row GEMM blocks and the 64-step scan chunks
        const std::vector<std::size_t> lengths = {1, 3, 300, 7, 257, 64, 1000, 2, 129};
        std::vector<std::vector<std::int32_t>> seqs;
        std::vector<std::int32_t> packed;
        for (std::size_t i = 0; i < lengths.size(); ++i) {
            seqs.push_back(tokenize(random_dna(lengths[i], 100 + static_cast<unsigned>(i)), false));
            packed.insert(packed.end(), seqs.back().begin(), seqs.back().end());
        }
        const Matrix all = engine->forward_packed(packed, lengths);
        REQUIRE(all.rows() == static_cast<Eigen::Index>(packed.size()));
        Eigen::Index offset = 0;
        for (std::size_t i = 0; i < seqs.size(); ++i) {
            INFO("sequence " << i << " of length " << lengths[i]);
            const Matrix alone = engine->forward(seqs[i]);
            const Matrix part = all.middleRows(offset, alone.rows());
            CHECK((part.array() == alone.array()).all());
            offset += alone.rows();
        }
    }
    const Model model = load_model(test::testdata("golden/a_caduceus_ph"));
    auto engine = make_cpu_engine(model, EngineOptions{});
    CHECK_THROWS_AS(engine->forward_packed({7, 8, 9}, {2, 2}), Error);
    CHECK_THROWS_AS(engine->forward_packed({7, 8, 9}, {3, 0}), Error);
}

TEST_CASE("engine: RCPS models are reverse-complement equivariant", "[engine][rc]") {
    // H(rc(s)) == rc(H(s)): flip positions and channels.
    for (const char* name : {"c_caduceus_ps_fused", "d_caduceus_ps_ln_untied"}) {
        INFO(name);
        const Model model = load_model(test::testdata(std::string("golden/") + name));
        REQUIRE(model.config.rcps);
        auto engine = make_cpu_engine(model, EngineOptions{});
        const std::string s = random_dna(777, 3);
        const Matrix h = engine->forward(tokenize(s, false));
        const Matrix hr = engine->forward(tokenize(reverse_complement(s), false));
        const Matrix rc_h = h.colwise().reverse().rowwise().reverse();
        CHECK(test::rel_error(hr, rc_h) < 1e-5);
    }
}

TEST_CASE("embed: --rc average is strand-invariant for RCPS and non-RCPS models", "[engine][rc]") {
    for (const char* name : {"c_caduceus_ps_fused", "a_caduceus_ph", "h_mamba_ssm_rms", "b_caduceus_ewmul_ln"}) {
        INFO(name);
        const Model model = load_model(test::testdata(std::string("golden/") + name));
        auto engine = make_cpu_engine(model, EngineOptions{});
        const std::string s = random_dna(640, 11);
        const std::string r = reverse_complement(s);
        const Matrix e = embed_sequence(*engine, model, s, RcMode::average, false);
        const Matrix er = embed_sequence(*engine, model, r, RcMode::average, false);
        REQUIRE(e.cols() == model.config.d_model);
        REQUIRE(e.rows() == 640);
        // per position: equal after flipping along the sequence
        CHECK(test::rel_error(er, flip_rows(e)) < 1e-5);
        // pooled: mean and max are strand-invariant
        CHECK(test::rel_error(Matrix(pool_rows(er, PoolMode::mean).transpose()),
                              Matrix(pool_rows(e, PoolMode::mean).transpose())) < 1e-5);
        CHECK(test::rel_error(Matrix(pool_rows(er, PoolMode::max).transpose()),
                              Matrix(pool_rows(e, PoolMode::max).transpose())) < 1e-5);
        // and --rc none is not (the test would be vacuous otherwise)
        const Matrix n = embed_sequence(*engine, model, s, RcMode::none, false);
        const Matrix nr = embed_sequence(*engine, model, r, RcMode::none, false);
        CHECK(test::rel_error(Matrix(pool_rows(nr, PoolMode::mean).transpose()),
                              Matrix(pool_rows(n, PoolMode::mean).transpose())) > 1e-3);
    }
}

TEST_CASE("embed: pooled means through forward_pooled_mean equal pooling embed_batch (every rc mode)", "[engine][rc]") {
    // the path the GPU engine takes for --pool mean (reduced on the device), here through the
    // Engine's default forward_pooled_mean on the CPU engine
    for (const char* name : {"c_caduceus_ps_fused", "a_caduceus_ph"}) {
        const Model model = load_model(test::testdata(std::string("golden/") + name));
        auto engine = make_cpu_engine(model, EngineOptions{});
        const std::string a = random_dna(300, 1), b = random_dna(57, 2), c = random_dna(1, 3);
        const std::vector<std::string_view> seqs = {a, b, c};
        for (const RcMode rc : {RcMode::none, RcMode::average}) {
            for (const bool sep : {false, true}) {
                INFO(name << " rc " << (rc == RcMode::none ? "none" : "average") << " add_sep " << sep);
                std::size_t unknown_full = 0, unknown_mean = 0;
                const auto full = embed_batch(*engine, model, seqs, rc, sep, &unknown_full);
                const auto mean = embed_batch_mean(*engine, model, seqs, rc, sep, &unknown_mean);
                REQUIRE(mean.size() == seqs.size());
                CHECK(unknown_mean == unknown_full);
                for (std::size_t i = 0; i < seqs.size(); ++i) {
                    REQUIRE(mean[i].rows() == 1);
                    REQUIRE(mean[i].cols() == full[i].cols());
                    CHECK(test::rel_error(mean[i], Matrix(pool_rows(full[i], PoolMode::mean).transpose())) < 1e-6);
                }
            }
        }
    }
}

TEST_CASE("embed: --rc average with --add-sep keeps [SEP] last", "[engine][rc]") {
    const Model model = load_model(test::testdata("golden/a_caduceus_ph"));
    auto engine = make_cpu_engine(model, EngineOptions{});
    const std::string s = random_dna(50, 4);
    const Matrix e = embed_sequence(*engine, model, s, RcMode::average, true);
    const Matrix er = embed_sequence(*engine, model, reverse_complement(s), RcMode::average, true);
    REQUIRE(e.rows() == 51);
    CHECK(test::rel_error(Matrix(er.topRows(50)), flip_rows(e.topRows(50))) < 1e-5);
    CHECK(test::rel_error(Matrix(er.row(50)), Matrix(e.row(50))) < 1e-5);
}

TEST_CASE("embed: pooling modes", "[engine]") {
    Matrix x(3, 2);
    x << 1, -4, 3, 5, -2, 0.5;
    CHECK(pool_rows(x, PoolMode::mean).isApprox(Vector((Vector(2) << 2.0f / 3.0f, 0.5f).finished())));
    CHECK(pool_rows(x, PoolMode::max) == (Vector(2) << 3, 5).finished());
    CHECK(pool_rows(x, PoolMode::first) == (Vector(2) << 1, -4).finished());
    CHECK(pool_rows(x, PoolMode::last) == (Vector(2) << -2, 0.5).finished());
    CHECK_THROWS_AS(parse_pool("median"), Error);
    CHECK_THROWS_AS(parse_rc("both"), Error);
}

TEST_CASE("engine: bad token ids and empty input are refused", "[engine]") {
    const Model model = load_model(test::testdata("golden/a_caduceus_ph"));
    auto engine = make_cpu_engine(model, EngineOptions{});
    CHECK_THROWS_AS(engine->forward({}), Error);
    CHECK_THROWS_AS(engine->forward({7, 99}), Error);
}

TEST_CASE("ops: reverse conv equals the forward conv of the flipped sequence", "[engine][ops]") {
    std::mt19937 rng(9);
    std::normal_distribution<float> nd;
    for (int L : {1, 3, 5, 64}) {
        const int di = 11;
        Matrix xz(L, 2 * di), w(di, 4);
        Vector b(di);
        for (Eigen::Index i = 0; i < xz.size(); ++i) xz.data()[i] = nd(rng);
        for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = nd(rng);
        for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = nd(rng);
        Matrix fwd_of_flipped, rev;
        cpu::conv1d_silu(Matrix(xz.colwise().reverse()), w, b, false, cpu::Segments::single(L), fwd_of_flipped);
        cpu::conv1d_silu(xz, w, b, true, cpu::Segments::single(L), rev);
        CHECK(test::rel_error(rev, Matrix(fwd_of_flipped.colwise().reverse())) < 1e-6);
    }
}

TEST_CASE("ops: the vectorised scan matches a scalar reference at awkward sizes", "[engine][ops]") {
    std::mt19937 rng(10);
    std::normal_distribution<float> nd;
    std::uniform_real_distribution<float> ud(0.001f, 0.5f);
    for (int di : {1, 3, 8, 13, 37}) {
        for (int L : {1, 3, 70, 2049}) {
            const int N = 5, R = 2;
            Matrix U(L, di), delta(L, di), A(di, N), x_dbl(L, R + 2 * N), xz(L, 2 * di), Y;
            Vector D(di);
            for (Eigen::Index i = 0; i < U.size(); ++i) U.data()[i] = nd(rng);
            for (Eigen::Index i = 0; i < delta.size(); ++i) delta.data()[i] = ud(rng);
            for (Eigen::Index i = 0; i < A.size(); ++i) A.data()[i] = -std::abs(nd(rng)) - 0.1f;
            for (Eigen::Index i = 0; i < x_dbl.size(); ++i) x_dbl.data()[i] = nd(rng);
            for (Eigen::Index i = 0; i < xz.size(); ++i) xz.data()[i] = nd(rng);
            for (Eigen::Index i = 0; i < D.size(); ++i) D.data()[i] = nd(rng);
            for (bool reverse : {false, true}) {
                cpu::selective_scan(U, delta, A, D, x_dbl, R, xz, reverse, cpu::Segments::single(L), Y);
                Matrix ref(L, di);
                for (int c = 0; c < di; ++c) {
                    std::vector<double> h(N, 0.0);
                    for (int s = 0; s < L; ++s) {
                        const int t = reverse ? L - 1 - s : s;
                        double y = 0;
                        for (int n = 0; n < N; ++n) {
                            h[n] = std::exp(double(delta(t, c)) * A(c, n)) * h[n] +
                                   double(delta(t, c)) * x_dbl(t, R + n) * U(t, c);
                            y += h[n] * x_dbl(t, R + N + n);
                        }
                        const double z = xz(t, di + c);
                        ref(t, c) = static_cast<float>((y + D(c) * U(t, c)) * z / (1.0 + std::exp(-z)));
                    }
                }
                INFO("di " << di << " L " << L << " reverse " << reverse);
                CHECK(test::rel_error(Y, ref) < 1e-5);
            }
        }
    }
}

TEST_CASE("engine selection: the GPU engine accepts the presets and every bundled config", "[engine][device]") {
    for (const char* name : {"caduceus-131k", "caduceus-1k"}) {
        INFO(name);
        CHECK(cuda_engine_unsupported_reason(preset_config(name)) == "");
    }
    std::vector<std::string> dirs;
    for (const char* parent : {"models", "golden"})
        for (const auto& e : std::filesystem::directory_iterator(test::testdata(parent)))
            if (std::filesystem::exists(e.path() / "config.json")) dirs.push_back(e.path().string());
    dirs.push_back(test::testdata("../models/caduceus-ps-1m-debian"));
    CHECK(dirs.size() >= 14);  // tiny-caduceus, 12 golden checkpoints, the shipped model
    for (const auto& dir : dirs) {
        INFO(dir);
        const std::string path = dir + "/config.json";
        CHECK(cuda_engine_unsupported_reason(parse_model_config(test::read_file(path), path)) == "");
    }
    // the limits themselves are inside the range
    ModelConfig c = preset_config("caduceus-1k");
    for (int v : {1, 5, 64}) {
        c.d_state = v;
        CHECK(cuda_engine_unsupported_reason(c) == "");
    }
    c.d_state = 16;
    for (int v : {1, 8}) {
        c.d_conv = v;
        CHECK(cuda_engine_unsupported_reason(c) == "");
    }
}

TEST_CASE("engine selection: what the GPU engine cannot run is named with its value and limit", "[engine][device]") {
    const ModelConfig base = preset_config("caduceus-1k");
    ModelConfig c = base;
    c.d_state = 65;
    CHECK(cuda_engine_unsupported_reason(c) == "d_state 65 > 64, the most the GPU scan supports");
    c.d_state = 128;
    CHECK(cuda_engine_unsupported_reason(c) == "d_state 128 > 64, the most the GPU scan supports");
    c = base;
    c.d_conv = 9;
    CHECK(cuda_engine_unsupported_reason(c) == "d_conv 9 > 8, the most taps the GPU conv1d supports");
    c = base;
    c.d_state = 0;
    CHECK(cuda_engine_unsupported_reason(c) == "d_state 0 < 1, the least the GPU engine supports");
    c = base;
    c.dt_rank = 0;
    CHECK_THAT(cuda_engine_unsupported_reason(c), Catch::StartsWith("dt_rank 0 < 1"));
    c = base;
    c.d_inner = k_cuda_max_grid_channels;  // 65535 * 128 = 8388480: still one launch
    CHECK(cuda_engine_unsupported_reason(c) == "");
    c.d_inner = k_cuda_max_grid_channels + 1;
    CHECK_THAT(cuda_engine_unsupported_reason(c),
               Catch::StartsWith("d_inner 8388481 > 8388480, the most channels one GPU conv1d launch covers"));
    c = base;
    c.rcps = true;  // 2 * 4194241 = 8388482 hidden channels
    c.d_model = 4194241;
    CHECK_THAT(cuda_engine_unsupported_reason(c),
               Catch::StartsWith("d_model 4194241 with RCPS = hidden channels 8388482 > 8388480"));
    c.rcps = false;
    CHECK(cuda_engine_unsupported_reason(c) == "");
}

TEST_CASE("engine selection: --device auto runs a model the GPU engine cannot run on the CPU engine",
          "[engine][device]") {
    ModelConfig c = preset_config("caduceus-1k");
    c.d_model = 16;
    c.d_inner = 32;
    c.dt_rank = 2;
    c.n_layer = 1;
    c.d_conv = 9;  // the CPU conv takes any width
    const Model model = make_random_model(c, 3);
    auto engine = make_engine(model, parse_device("auto"), EngineOptions{});
    CHECK_THAT(engine->description(), Catch::Contains("cpu"));
    const auto ids = tokenize(random_dna(101, 7), false);
    const Matrix got = engine->forward(ids);
    const Matrix want = make_cpu_engine(model, EngineOptions{})->forward(ids);
    REQUIRE(got.rows() == 101);
    REQUIRE(got.cols() == 16);
    CHECK((got.array() == want.array()).all());

    // d_state 65 is chosen away from the GPU the same way (the CPU scan stops at 64 as well,
    // at the first forward pass: cpu::selective_scan)
    ModelConfig wide = c;
    wide.d_conv = 4;
    wide.d_state = 65;
    const Model wide_model = make_random_model(wide, 4);
    CHECK_THAT(make_engine(wide_model, parse_device("auto"), EngineOptions{})->description(), Catch::Contains("cpu"));

    // bf16 needs the GPU engine: the error says why the CPU engine runs instead
    EngineOptions half;
    half.precision = Precision::bf16;
    try {
        (void)make_engine(model, parse_device("auto"), half);
        FAIL("bf16 on the CPU engine was accepted");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::usage);
        CHECK_THAT(e.what(), Catch::StartsWith("--precision bf16 runs on the GPU engine only, and "));
        if (cuda_device_count() > 0)
            CHECK_THAT(e.what(), Catch::Contains("the GPU engine cannot run this model (d_conv 9 > 8"));
        else
            CHECK_THAT(e.what(), Catch::Contains("no usable GPU was found"));
    }

    // asked for by name, the GPU engine is refused with the reason (builds without the kernels:
    // the device error they always give)
    try {
        (void)make_engine(model, parse_device("cuda:0"), EngineOptions{});
        FAIL("--device cuda accepted a model the GPU engine cannot run");
    } catch (const Error& e) {
#ifdef DNAMBA_HAVE_CUDA
        CHECK(e.kind() == ErrorKind::usage);
        CHECK(std::string(e.what()) ==
              "--device cuda:0: the GPU engine cannot run this model (d_conv 9 > 8, the most taps the GPU conv1d "
              "supports); use --device cpu");
#else
        CHECK(e.kind() == ErrorKind::device);
        CHECK_THAT(e.what(), Catch::Contains("built without the CUDA kernels") && Catch::Contains("use --device cpu"));
#endif
    }
}
