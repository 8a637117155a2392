// CPU engine properties beyond the golden cases: thread-count independence, reverse-
// complement equivariance/invariance, pooling, and operator edge cases.
#include <catch2/catch.hpp>
#include <random>

#include "cpu/ops.hpp"
#include "dnamba/embed.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/error.hpp"
#include "dnamba/tokenizer.hpp"
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
