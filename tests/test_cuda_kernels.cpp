// [gpu] Every CUDA kernel against its CPU twin (lib/src/cpu/ops.hpp) on random inputs of
// awkward sizes: the selective scan (both directions, packed sequences, independence of the
// time-chunk size), conv1d + SiLU (both directions, packed), RMSNorm/LayerNorm (plain and
// channel-reversed weights). Built only with the CUDA kernels; on a machine without a GPU
// each test says so and checks nothing.
#ifdef DNAMBA_HAVE_CUDA
#include <catch2/catch.hpp>
#include <random>

#include "conv_norm.hpp"
#include "cpu/ops.hpp"
#include "device_query.hpp"
#include "selective_scan.hpp"
#include "test_util.hpp"

using namespace dnamba;

namespace {

// A device copy of a host matrix, freed on scope exit.
struct DeviceMatrix {
    float* ptr = nullptr;
    explicit DeviceMatrix(const float* data, std::size_t n) {
        void* p = nullptr;
        REQUIRE(kernels::device_alloc(&p, n * sizeof(float)) == "");
        ptr = static_cast<float*>(p);
        if (data) REQUIRE(kernels::copy_to_device(ptr, data, n * sizeof(float)) == "");
    }
    ~DeviceMatrix() { kernels::device_free(ptr); }
};

Matrix random_matrix(Eigen::Index r, Eigen::Index c, std::mt19937& g, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    Matrix m(r, c);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = d(g);
    return m;
}

Matrix gpu_scan(const Matrix& U, const Matrix& delta, const Matrix& A, const Vector& D, const Matrix& x_dbl, int dt_rank,
                const Matrix& xz, bool reverse, const std::vector<std::size_t>& lengths, int chunk) {
    const int L = static_cast<int>(U.rows()), di = static_cast<int>(U.cols()), N = static_cast<int>(A.cols());
    DeviceMatrix u(U.data(), U.size()), dt(delta.data(), delta.size()), a(A.data(), A.size()), d(D.data(), D.size()),
        xd(x_dbl.data(), x_dbl.size()), z(xz.data(), xz.size()), y(nullptr, U.size()),
        ws(nullptr, kernels::scan_workspace_floats(L, di, N, chunk));
    std::vector<unsigned char> reset(static_cast<std::size_t>(L), 0);
    std::size_t offset = 0;
    for (std::size_t len : lengths) {  // the first row of each sequence in scan order
        reset[reverse ? offset + len - 1 : offset] = 1;
        offset += len;
    }
    void* r = nullptr;
    REQUIRE(kernels::device_alloc(&r, reset.size()) == "");
    REQUIRE(kernels::copy_to_device(r, reset.data(), reset.size()) == "");
    kernels::ScanArgs args;
    args.length = L;
    args.d_inner = di;
    args.d_state = N;
    args.u = u.ptr;
    args.delta = dt.ptr;
    args.A = a.ptr;
    args.D = d.ptr;
    args.B = xd.ptr + dt_rank;
    args.C = xd.ptr + dt_rank + N;
    args.ld_bc = static_cast<int>(x_dbl.cols());
    args.z = z.ptr + di;
    args.ld_z = static_cast<int>(xz.cols());
    args.reset = static_cast<const unsigned char*>(r);
    args.reverse = reverse;
    args.y = y.ptr;
    args.workspace = ws.ptr;
    args.chunk = chunk;
    REQUIRE(kernels::selective_scan(args) == "");
    REQUIRE(kernels::device_synchronize() == "");
    Matrix out(L, di);
    REQUIRE(kernels::copy_to_host(out.data(), y.ptr, out.size() * sizeof(float)) == "");
    kernels::device_free(r);
    return out;
}

bool have_gpu() {
    if (kernels::device_count() > 0) return true;
    WARN("no CUDA device: this [gpu] test checks nothing here (run it on the GPU machine)");
    return false;
}

}  // namespace

TEST_CASE("cuda: the selective scan matches the CPU engine's (awkward lengths, both directions, packed)", "[gpu]") {
    if (!have_gpu()) return;
    std::mt19937 g(11);
    const int di = 40, dt_rank = 3;
    for (const int N : {16, 5}) {
        for (const int L : {1, 3, 2047, 2049, 5000, 70001}) {
            const Matrix U = random_matrix(L, di, g, -1, 1);
            const Matrix delta = random_matrix(L, di, g, 0.001f, 0.2f);
            const Matrix A = random_matrix(di, N, g, -8, -0.1f);
            const Vector D = random_matrix(di, 1, g, -1, 1);
            const Matrix x_dbl = random_matrix(L, dt_rank + 2 * N, g, -1, 1);
            const Matrix xz = random_matrix(L, 2 * di, g, -2, 2);
            std::vector<std::vector<std::size_t>> packings = {{static_cast<std::size_t>(L)}};
            if (L >= 3) packings.push_back({1, static_cast<std::size_t>(L / 2), static_cast<std::size_t>(L - 1 - L / 2)});
            for (const auto& lengths : packings) {
                for (const bool reverse : {false, true}) {
                    INFO("N " << N << " L " << L << " sequences " << lengths.size() << " reverse " << reverse);
                    Matrix want;
                    cpu::selective_scan(U, delta, A, D, x_dbl, dt_rank, xz, reverse, cpu::Segments::from_lengths(lengths),
                                        want);
                    const Matrix got = gpu_scan(U, delta, A, D, x_dbl, dt_rank, xz, reverse, lengths, 0);
                    const double err = test::rel_error(got, want);
                    INFO("relative error " << err);
                    CHECK(err < 1e-5);
                    if (L >= 2047) {  // the time-chunk size changes nothing beyond rounding
                        const Matrix other = gpu_scan(U, delta, A, D, x_dbl, dt_rank, xz, reverse, lengths, 97);
                        CHECK(test::rel_error(other, got) < 1e-6);
                    }
                }
            }
        }
    }
}
TEST_CASE("cuda: conv1d + SiLU matches the CPU engine's (both directions, packed sequences)", "[gpu]") {
    if (!have_gpu()) return;
    std::mt19937 g(12);
    const int di = 45, K = 4;
    for (const int L : {1, 3, 2047, 5000}) {
        const Matrix xz = random_matrix(L, 2 * di, g, -2, 2);
        const Matrix w = random_matrix(di, K, g, -1, 1);
        const Vector b = random_matrix(di, 1, g, -1, 1);
        std::vector<std::vector<std::size_t>> packings = {{static_cast<std::size_t>(L)}};
        if (L >= 3) packings.push_back({2, static_cast<std::size_t>(L - 3), 1});
        for (const auto& lengths : packings) {
            const cpu::Segments seg = cpu::Segments::from_lengths(lengths);
            std::vector<int> sb(seg.begin.begin(), seg.begin.end()), se(seg.end.begin(), seg.end.end());
            DeviceMatrix dx(xz.data(), xz.size()), dw(w.data(), w.size()), db(b.data(), b.size()), du(nullptr, L * di);
            void *pb = nullptr, *pe = nullptr;
            REQUIRE(kernels::device_alloc(&pb, sb.size() * sizeof(int)) == "");
            REQUIRE(kernels::device_alloc(&pe, se.size() * sizeof(int)) == "");
            REQUIRE(kernels::copy_to_device(pb, sb.data(), sb.size() * sizeof(int)) == "");
            REQUIRE(kernels::copy_to_device(pe, se.data(), se.size() * sizeof(int)) == "");
            for (const bool reverse : {false, true}) {
                INFO("L " << L << " sequences " << lengths.size() << " reverse " << reverse);
                Matrix want;
                cpu::conv1d_silu(xz, w, b, reverse, seg, want);
                REQUIRE(kernels::conv1d_silu(dx.ptr, 2 * di, dw.ptr, db.ptr, L, di, K, reverse,
                                             static_cast<const int*>(pb), static_cast<const int*>(pe), du.ptr) == "");
                REQUIRE(kernels::device_synchronize() == "");
                Matrix got(L, di);
                REQUIRE(kernels::copy_to_host(got.data(), du.ptr, got.size() * sizeof(float)) == "");
                const double err = test::rel_error(got, want);
                INFO("relative error " << err);
                CHECK(err < 1e-5);
            }
            kernels::device_free(pb);
            kernels::device_free(pe);
        }
    }
}

TEST_CASE("cuda: RMSNorm and LayerNorm rows match the CPU engine's (plain and reversed weights)", "[gpu]") {
    if (!have_gpu()) return;
    std::mt19937 g(13);
    for (const int d : {1, 31, 32, 256, 300}) {
        const int L = 777;
        const Matrix X = random_matrix(L, 2 * d, g, -3, 3);
        const Vector w = random_matrix(d, 1, g, 0.5f, 1.5f);
        const Vector b = random_matrix(d, 1, g, -1, 1);
        DeviceMatrix dx(X.data(), X.size()), dw(w.data(), w.size()), db(b.data(), b.size()), dy(nullptr, X.size());
        for (const bool layer : {false, true}) {
            for (const bool rev : {false, true}) {
                INFO("d " << d << " layer_norm " << layer << " reversed weight " << rev);
                Matrix want = Matrix::Zero(L, 2 * d);
                cpu::norm_rows(X, d, d, w, layer ? b : Vector(), layer ? NormKind::layer : NormKind::rms, 1e-5f, rev, want, 0);
                REQUIRE(kernels::norm_rows(dx.ptr, 2 * d, d, d, dw.ptr, layer ? db.ptr : nullptr, layer, 1e-5f, rev, L,
                                           dy.ptr, 2 * d, 0) == "");
                REQUIRE(kernels::device_synchronize() == "");
                Matrix got(L, 2 * d);
                REQUIRE(kernels::copy_to_host(got.data(), dy.ptr, got.size() * sizeof(float)) == "");
                const double err = test::rel_error(Matrix(got.leftCols(d)), Matrix(want.leftCols(d)));
                INFO("relative error " << err);
                CHECK(err < 1e-5);
            }
        }
    }
}
#endif  // DNAMBA_HAVE_CUDA
