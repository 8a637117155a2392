// [gpu] Every CUDA kernel against its CPU twin (lib/src/cpu/ops.hpp) on random inputs of
// awkward sizes: the selective scan (both directions, packed sequences, independence of the
// time-chunk size), conv1d + SiLU (both directions, packed) and its fusion with x_proj and
// delta (conv_proj, against the three kernels, in place as the engine runs it), the fused residual add +
// RMSNorm/LayerNorm (RCPS half swap, channel-reversed weights, rows updated/pending). Built only with the CUDA kernels; on a machine without a GPU
// each test says so and checks nothing.
#ifdef DNAMBA_HAVE_CUDA
#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <cmath>
#include <type_traits>

#include "conv.hpp"
#include "cpu/ops.hpp"
#include "dtype.hpp"
#include "elementwise.hpp"
#include "gemm.hpp"
#include "norm.hpp"
#include "pooling.hpp"
#include "runtime.hpp"
#include "scan.hpp"
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
    Matrix download(Eigen::Index rows, Eigen::Index cols) const {
        Matrix m(rows, cols);
        REQUIRE(kernels::copy_to_host(m.data(), ptr, static_cast<std::size_t>(m.size()) * sizeof(float)) == "");
        return m;
    }
};

Matrix random_matrix(Eigen::Index r, Eigen::Index c, std::mt19937& g, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    Matrix m(r, c);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = d(g);
    return m;
}

// Host values as T (float, or bf16 rounded to nearest even) on the device.
template <typename T>
struct DeviceValues {
    T* ptr = nullptr;
    DeviceValues(const float* data, std::size_t n) {
        void* p = nullptr;
        REQUIRE(kernels::device_alloc(&p, n * sizeof(T)) == "");
        ptr = static_cast<T*>(p);
        if (!data) return;
        std::vector<T> v(n);
        for (std::size_t i = 0; i < n; ++i) {
            if constexpr (std::is_same_v<T, float>) v[i] = data[i];
            else v[i] = kernels::to_bf16(data[i]);
        }
        REQUIRE(kernels::copy_to_device(ptr, v.data(), n * sizeof(T)) == "");
    }
    ~DeviceValues() { kernels::device_free(ptr); }
    Matrix download(Eigen::Index rows, Eigen::Index cols) const {
        std::vector<T> v(static_cast<std::size_t>(rows * cols));
        REQUIRE(kernels::copy_to_host(v.data(), ptr, v.size() * sizeof(T)) == "");
        Matrix m(rows, cols);
        for (std::size_t i = 0; i < v.size(); ++i) {
            if constexpr (std::is_same_v<T, float>) m.data()[i] = v[i];
            else m.data()[i] = kernels::to_float(v[i]);
        }
        return m;
    }
};

// The values a bf16 kernel sees.
Matrix bf16_rounded(const Matrix& m) {
    Matrix r = m;
    for (Eigen::Index i = 0; i < r.size(); ++i) r.data()[i] = kernels::to_float(kernels::to_bf16(r.data()[i]));
    return r;
}

// Which of the scan's two kernels runs, and its tuning knob.
struct ScanMode {
    kernels::ScanAlgorithm algorithm = kernels::ScanAlgorithm::automatic;
    int chunk = 0;  // chunked: rows per chunk (0: default)
    int warps = 0;  // one pass: warps per channel (0: default)
    int segments = 0;  // ScanArgsT::segment_rows (the caller's promise of a reset every that many rows)
};
const ScanMode k_automatic{};
const ScanMode k_one_pass4{kernels::ScanAlgorithm::one_pass, 0, 4};
const ScanMode k_one_pass8{kernels::ScanAlgorithm::one_pass, 0, 8};
const ScanMode k_chunked{kernels::ScanAlgorithm::chunked, 0, 0};
const ScanMode k_chunked97{kernels::ScanAlgorithm::chunked, 97, 0};

// Rows [r0, r0 + n) of the scan, in the given order, starting from the state in `state` when
// `state_in` (the rows' resets sliced from the packing); the final state is left in `state`.
// With `bias` the delta given is the raw dt and the kernel adds the bias and takes softplus.
template <typename T>
Matrix gpu_scan(const Matrix& U, const Matrix& delta, const Matrix& A, const Vector& D, const Matrix& x_dbl, int dt_rank,
                const Matrix& xz, bool reverse, const std::vector<std::size_t>& lengths, const ScanMode& mode,
                const Vector* bias = nullptr, int r0 = 0, int n = -1, DeviceMatrix* state = nullptr,
                bool state_in = false, const Matrix* y_before = nullptr, bool in_place = false) {
    const int di = static_cast<int>(U.cols()), N = static_cast<int>(A.cols());
    if (n < 0) n = static_cast<int>(U.rows()) - r0;
    const auto rows = [&](const Matrix& m) { return Matrix(m.middleRows(r0, n)); };
    const Matrix Us = rows(U), Ds = rows(delta), Xs = rows(x_dbl), Zs = rows(xz);
    const Matrix Y0 = y_before ? rows(*y_before) : Matrix();
    DeviceValues<T> u(Us.data(), Us.size()), dt(Ds.data(), Ds.size()), xd(Xs.data(), Xs.size()), z(Zs.data(), Zs.size()),
        y(y_before ? Y0.data() : nullptr, Us.size());
    DeviceMatrix a(A.data(), A.size()), d(D.data(), D.size()), ws(nullptr, kernels::scan_workspace_floats(n, di, N, mode.chunk));
    std::unique_ptr<DeviceMatrix> b;
    if (bias) b = std::make_unique<DeviceMatrix>(bias->data(), bias->size());
    std::vector<unsigned char> reset(U.rows(), 0);
    std::size_t offset = 0;
    for (std::size_t len : lengths) {  // the first row of each sequence in scan order
        reset[reverse ? offset + len - 1 : offset] = 1;
        offset += len;
    }
    void* r = nullptr;
    REQUIRE(kernels::device_alloc(&r, static_cast<std::size_t>(n)) == "");
    REQUIRE(kernels::copy_to_device(r, reset.data() + r0, static_cast<std::size_t>(n)) == "");
    // in_place: the engine's shared chunk arrays: delta in xz's x half, y written over its z half
    Matrix XZ = Zs;
    if (in_place) XZ.leftCols(di) = Ds;
    std::unique_ptr<DeviceValues<T>> xzd;
    if (in_place) xzd = std::make_unique<DeviceValues<T>>(XZ.data(), XZ.size());
    kernels::ScanArgsT<T> args;
    args.length = n;
    args.d_inner = di;
    args.d_state = N;
    args.u = u.ptr;
    args.delta = dt.ptr;
    args.delta_bias = b ? b->ptr : nullptr;
    args.delta_softplus = bias != nullptr;
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
    args.accumulate = y_before != nullptr;
    args.state_in = state && state_in ? state->ptr : nullptr;
    args.state_out = state ? state->ptr : nullptr;
    args.workspace = ws.ptr;
    args.algorithm = mode.algorithm;
    args.chunk = mode.chunk;
    args.warps_per_channel = mode.warps;
    args.segment_rows = mode.segments;
    if (in_place) {
        args.delta = xzd->ptr;
        args.ld_delta = 2 * di;
        args.z = xzd->ptr + di;
        args.y = xzd->ptr + di;
        args.ld_y = 2 * di;
    }
    REQUIRE(kernels::selective_scan(args) == "");
    REQUIRE(kernels::device_synchronize() == "");
    kernels::device_free(r);
    if (in_place) return Matrix(xzd->download(n, 2 * di).rightCols(di));
    return y.download(n, di);
}

// Random inputs of one scan: u, delta (already positive), A (negative), D, x_dbl (dt_rank
// columns, then B and C), xz (x, then the gate z).
struct ScanInputs {
    Matrix U, delta, A;
    Vector D;
    Matrix x_dbl, xz;
};
ScanInputs random_scan_inputs(int L, int di, int N, int dt_rank, std::mt19937& g) {
    ScanInputs s;
    s.U = random_matrix(L, di, g, -1, 1);
    s.delta = random_matrix(L, di, g, 0.001f, 0.2f);
    s.A = random_matrix(di, N, g, -8, -0.1f);
    s.D = random_matrix(di, 1, g, -1, 1);
    s.x_dbl = random_matrix(L, dt_rank + 2 * N, g, -1, 1);
    s.xz = random_matrix(L, 2 * di, g, -2, 2);
    return s;
}

// The packings the conv tests run over L rows: one sequence, short ones at both ends, and from
// 100 rows a boundary inside a tile of rows.
std::vector<std::vector<std::size_t>> conv_packings(int L) {
    std::vector<std::vector<std::size_t>> packings = {{static_cast<std::size_t>(L)}};
    if (L >= 3) packings.push_back({2, static_cast<std::size_t>(L - 3), 1});
    if (L >= 100) packings.push_back({static_cast<std::size_t>(L / 2 + 5), static_cast<std::size_t>(L - L / 2 - 5)});
    return packings;
}

// A packing's per-row sequence bounds (cpu::Segments) and their device copies, freed on scope exit.
struct DeviceSegments {
    cpu::Segments seg;
    int *begin = nullptr, *end = nullptr;
    explicit DeviceSegments(const std::vector<std::size_t>& lengths) : seg(cpu::Segments::from_lengths(lengths)) {
        const std::vector<int> sb(seg.begin.begin(), seg.begin.end()), se(seg.end.begin(), seg.end.end());
        void *pb = nullptr, *pe = nullptr;
        REQUIRE(kernels::device_alloc(&pb, sb.size() * sizeof(int)) == "");
        REQUIRE(kernels::device_alloc(&pe, se.size() * sizeof(int)) == "");
        begin = static_cast<int*>(pb);
        end = static_cast<int*>(pe);
        REQUIRE(kernels::copy_to_device(begin, sb.data(), sb.size() * sizeof(int)) == "");
        REQUIRE(kernels::copy_to_device(end, se.data(), se.size() * sizeof(int)) == "");
    }
    ~DeviceSegments() {
        kernels::device_free(begin);
        kernels::device_free(end);
    }
};

// The conv over all L rows of x (rows of 2 * d_inner: x, then z) into U, K taps.
template <typename T>
kernels::ConvArgs<T> whole_conv(const T* x, int d_inner, int L, int K, const float* w, const float* bias, bool reverse,
                                const DeviceSegments& s, T* U) {
    kernels::ConvArgs<T> a;
    a.x = x;
    a.ld_x = 2 * d_inner;
    a.w = w;
    a.bias = bias;
    a.length = a.total_rows = L;
    a.d_inner = d_inner;
    a.kernel = K;
    a.reverse = reverse;
    a.seg_begin = s.begin;
    a.seg_end = s.end;
    a.U = U;
    return a;
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
    for (const int N : {16, 5, 33}) {  // state slots 16, 8, 64
        for (const int L : {1, 3, 2047, 2049, 5000, 70001}) {
            const ScanInputs in = random_scan_inputs(L, di, N, dt_rank, g);
            const Matrix &U = in.U, &delta = in.delta, &A = in.A, &x_dbl = in.x_dbl, &xz = in.xz;
            const Vector& D = in.D;
            std::vector<std::vector<std::size_t>> packings = {{static_cast<std::size_t>(L)}};
            if (L >= 3) packings.push_back({1, static_cast<std::size_t>(L / 2), static_cast<std::size_t>(L - 1 - L / 2)});
            for (const auto& lengths : packings) {
                for (const bool reverse : {false, true}) {
                    INFO("N " << N << " L " << L << " sequences " << lengths.size() << " reverse " << reverse);
                    Matrix want;
                    cpu::selective_scan(U, delta, A, D, x_dbl, dt_rank, xz, reverse, cpu::Segments::from_lengths(lengths),
                                        want);
                    // the one-pass scan in both block shapes and the chunked scan (two chunk sizes)
                    for (const ScanMode& mode : {k_one_pass4, k_one_pass8, k_chunked, k_chunked97}) {
                        if (mode.chunk > 0 && L < 2047) continue;
                        INFO("algorithm " << static_cast<int>(mode.algorithm) << " chunk " << mode.chunk << " warps "
                                          << mode.warps);
                        const Matrix got = gpu_scan<float>(U, delta, A, D, x_dbl, dt_rank, xz, reverse, lengths, mode);
                        const double err = test::rel_error(got, want);
                        INFO("relative error " << err);
                        CHECK(err < 1e-5);
                    }
                }
            }
        }
    }
}
TEST_CASE("cuda: the scan in chunks with carried state, fused softplus, and in bf16", "[gpu]") {
    if (!have_gpu()) return;
    std::mt19937 g(14);
    const int N = 16;
    // (64, 4): u/dt/z rows 16-byte aligned, B/C rows aligned in fp32 only; (136, 16): the engine's
    // layout (both aligned in either type) with a last block of 8 channels; (40, 3): neither
    struct Shape {
        int di, dt_rank;
    };
    for (const Shape shape : {Shape{64, 4}, Shape{136, 16}, Shape{40, 3}})
    for (const int L : {3, 2049, 70001}) {
        const int di = shape.di, dt_rank = shape.dt_rank;
        INFO("d_inner " << di << " dt_rank " << dt_rank);
        const Matrix U = random_matrix(L, di, g, -1, 1);
        const Matrix raw = random_matrix(L, di, g, -6, 1);  // dt before bias and softplus
        const Vector bias = random_matrix(di, 1, g, -1, 0.5f);
        Matrix delta = raw;
        for (Eigen::Index t = 0; t < L; ++t)
            for (int d = 0; d < di; ++d) {
                const float v = raw(t, d) + bias(d);
                delta(t, d) = v > 20.0f ? v : std::log1p(std::exp(v));
            }
        const Matrix A = random_matrix(di, N, g, -8, -0.1f);
        const Vector D = random_matrix(di, 1, g, -1, 1);
        const Matrix x_dbl = random_matrix(L, dt_rank + 2 * N, g, -1, 1);
        const Matrix xz = random_matrix(L, 2 * di, g, -2, 2);
        const std::vector<std::size_t> lengths =
            L >= 3 ? std::vector<std::size_t>{1, static_cast<std::size_t>(L / 2), static_cast<std::size_t>(L - 1 - L / 2)}
                   : std::vector<std::size_t>{static_cast<std::size_t>(L)};
        const cpu::Segments seg = cpu::Segments::from_lengths(lengths);
        for (const bool reverse : {false, true}) {
            for (const ScanMode& mode : {k_automatic, k_one_pass4, k_chunked}) {
                // the one-pass scan refuses B/C rows not aligned for its 4-byte copies (dt_rank 3)
                if (mode.algorithm == kernels::ScanAlgorithm::one_pass && dt_rank % 2 != 0) continue;
                INFO("L " << L << " reverse " << reverse << " algorithm " << static_cast<int>(mode.algorithm));
                Matrix want;
                cpu::selective_scan(U, delta, A, D, x_dbl, dt_rank, xz, reverse, seg, want);
                const Matrix fused = gpu_scan<float>(U, raw, A, D, x_dbl, dt_rank, xz, reverse, lengths, mode, &bias);
                CHECK(test::rel_error(fused, want) < 1e-5);
                // accumulate: the scan's rows added to what y holds (the bidirectional add)
                const Matrix y0 = random_matrix(L, di, g, -1, 1);
                const Matrix summed =
                    gpu_scan<float>(U, raw, A, D, x_dbl, dt_rank, xz, reverse, lengths, mode, &bias, 0, -1, nullptr, false, &y0);
                CHECK(test::rel_error(summed, Matrix(want + y0)) < 1e-5);
                // rows [0, cut) and [cut, L) as two calls, in scan order, the state carried between them
                const int cut = L / 3 + 1;
                DeviceMatrix state(nullptr, static_cast<std::size_t>(di) * N);
                Matrix chunked(L, di);
                const int first = reverse ? cut : 0, first_n = reverse ? L - cut : cut;
                const int second = reverse ? 0 : cut, second_n = reverse ? cut : L - cut;
                chunked.middleRows(first, first_n) =
                    gpu_scan<float>(U, raw, A, D, x_dbl, dt_rank, xz, reverse, lengths, mode, &bias, first, first_n, &state, false);
                if (second_n > 0)
                    chunked.middleRows(second, second_n) = gpu_scan<float>(U, raw, A, D, x_dbl, dt_rank, xz, reverse, lengths, mode,
                                                                           &bias, second, second_n, &state, true);
                const double ec = test::rel_error(chunked, want);
                INFO("two calls with carried state: relative error " << ec);
                CHECK(ec < 1e-5);
                // bf16 inputs and output, fp32 state: against the CPU scan of the rounded inputs
                Matrix delta_b = bf16_rounded(raw);
                for (Eigen::Index t = 0; t < L; ++t)
                    for (int d = 0; d < di; ++d) {
                        const float v = delta_b(t, d) + bias(d);
                        delta_b(t, d) = v > 20.0f ? v : std::log1p(std::exp(v));
                    }
                Matrix want_b;
                cpu::selective_scan(bf16_rounded(U), delta_b, A, D, bf16_rounded(x_dbl), dt_rank, bf16_rounded(xz), reverse,
                                    seg, want_b);
                const Matrix got_b =
                    gpu_scan<kernels::bf16>(U, raw, A, D, x_dbl, dt_rank, xz, reverse, lengths, mode, &bias);
                const double eb = test::rel_error(got_b, want_b);
                INFO("bf16: relative error " << eb);
                CHECK(eb < 5e-3);
                const Matrix summed_b = gpu_scan<kernels::bf16>(U, raw, A, D, x_dbl, dt_rank, xz, reverse, lengths, mode,
                                                                &bias, 0, -1, nullptr, false, &y0);
                CHECK(test::rel_error(summed_b, Matrix(want_b + bf16_rounded(y0))) < 5e-3);
                // the engine's shared arrays (delta and y rows 2 d_inner apart, y over z): the same
                // values to the bit (the one-pass scan runs contiguous rows only)
                if (mode.algorithm != kernels::ScanAlgorithm::one_pass) {
                    const Matrix strided = gpu_scan<float>(U, raw, A, D, x_dbl, dt_rank, xz, reverse, lengths, mode,
                                                           &bias, 0, -1, nullptr, false, nullptr, true);
                    CHECK((strided - fused).cwiseAbs().maxCoeff() == 0.0f);
                    const Matrix strided_b = gpu_scan<kernels::bf16>(U, raw, A, D, x_dbl, dt_rank, xz, reverse, lengths,
                                                                     mode, &bias, 0, -1, nullptr, false, nullptr, true);
                    CHECK((strided_b - got_b).cwiseAbs().maxCoeff() == 0.0f);
                }
            }
        }
    }
}

TEST_CASE("cuda: the scan over whole segments (a batch of equal sequences) matches the CPU and the chunked scan",
          "[gpu]") {
    if (!have_gpu()) return;
    std::mt19937 g(23);
    const int di = 136, dt_rank = 16;  // the engine's row layout, a last block of 8 channels
    for (const int N : {16, 5})
    for (const int p : {1, 37, 64, 1000}) {
        // `count` sequences of p rows after one of p + 13: a first call takes the first 13 rows in
        // scan order, the second the rest, its first segment continuing from the carried state
        const int count = p == 1000 ? 150 : 300;
        const int head = p + 13, L = head + count * p;
        const ScanInputs in = random_scan_inputs(L, di, N, dt_rank, g);
        for (const bool reverse : {false, true}) {
            std::vector<std::size_t> lengths(static_cast<std::size_t>(count), static_cast<std::size_t>(p));
            lengths.insert(reverse ? lengths.end() : lengths.begin(), static_cast<std::size_t>(head));
            INFO("N " << N << " segment rows " << p << " reverse " << reverse);
            Matrix want;
            cpu::selective_scan(in.U, in.delta, in.A, in.D, in.x_dbl, dt_rank, in.xz, reverse,
                                cpu::Segments::from_lengths(lengths), want);
            const int first = reverse ? L - 13 : 0, second = reverse ? 0 : 13, n = L - 13;
            const auto two_calls = [&](const ScanMode& mode, Matrix& states) {
                DeviceMatrix state(nullptr, static_cast<std::size_t>(di) * N);
                Matrix y(L, di);
                y.middleRows(first, 13) = gpu_scan<float>(in.U, in.delta, in.A, in.D, in.x_dbl, dt_rank, in.xz, reverse,
                                                          lengths, k_chunked, nullptr, first, 13, &state, false);
                y.middleRows(second, n) = gpu_scan<float>(in.U, in.delta, in.A, in.D, in.x_dbl, dt_rank, in.xz, reverse,
                                                          lengths, mode, nullptr, second, n, &state, true);
                states = state.download(di, N);
                return y;
            };
            const ScanMode segments{kernels::ScanAlgorithm::segments, 0, 0, p};
            Matrix s_seg, s_chunked, s_auto;
            const Matrix got = two_calls(segments, s_seg);
            const double err = test::rel_error(got, want);
            INFO("segments: relative error " << err);
            CHECK(err < 1e-5);
            // the final state (state_in and state_out one buffer) against the chunked scan's
            const Matrix chunked = two_calls(k_chunked, s_chunked);
            CHECK(test::rel_error(chunked, want) < 1e-5);
            CHECK(test::rel_error(s_seg, s_chunked) < 1e-5);
            CHECK(s_seg.cwiseAbs().maxCoeff() > 0.0f);
            // automatic with the promise: whichever it picks, the same rows
            const Matrix automatic = two_calls(ScanMode{kernels::ScanAlgorithm::automatic, 0, 0, p}, s_auto);
            CHECK(test::rel_error(automatic, want) < 1e-5);
            CHECK(test::rel_error(s_auto, s_chunked) < 1e-5);
            // bf16 in one call over whole sequences (rows head.. / ..L - head), accumulating, against
            // the chunked scan of the same rows
            const int r0 = reverse ? 0 : head, rn = L - head;
            const Matrix y0 = random_matrix(L, di, g, -1, 1);
            const Matrix seg_b = gpu_scan<kernels::bf16>(in.U, in.delta, in.A, in.D, in.x_dbl, dt_rank, in.xz, reverse,
                                                         lengths, segments, nullptr, r0, rn, nullptr, false, &y0);
            const Matrix chunked_b = gpu_scan<kernels::bf16>(in.U, in.delta, in.A, in.D, in.x_dbl, dt_rank, in.xz,
                                                             reverse, lengths, k_chunked, nullptr, r0, rn, nullptr, false,
                                                             &y0);
            const double eb = test::rel_error(seg_b, chunked_b);
            INFO("bf16, accumulating: relative difference " << eb);
            CHECK(eb < 5e-3);
            CHECK(test::rel_error(seg_b, Matrix(want.middleRows(r0, rn) + y0.middleRows(r0, rn))) < 1e-2);
        }
    }
    // the promise is needed, and must not be negative
    const ScanInputs in = random_scan_inputs(100, 16, 4, 2, g);
    DeviceMatrix u(in.U.data(), in.U.size()), dt(in.delta.data(), in.delta.size()), a(in.A.data(), in.A.size()),
        xd(in.x_dbl.data(), in.x_dbl.size()), y(nullptr, in.U.size()), ws(nullptr, kernels::scan_workspace_floats(100, 16, 4, 0));
    kernels::ScanArgs args;
    args.length = 100;
    args.d_inner = 16;
    args.d_state = 4;
    args.u = u.ptr;
    args.delta = dt.ptr;
    args.A = a.ptr;
    args.B = xd.ptr + 2;
    args.C = xd.ptr + 6;
    args.ld_bc = 10;
    args.y = y.ptr;
    args.workspace = ws.ptr;
    args.algorithm = kernels::ScanAlgorithm::segments;
    CHECK(kernels::selective_scan(args).message().find("needs segment_rows") != std::string::npos);
    args.segment_rows = -5;
    CHECK(kernels::selective_scan(args).message().find("segment_rows must be 0 or more") != std::string::npos);
    args.segment_rows = 10;
    CHECK(kernels::selective_scan(args) == "");
    CHECK(kernels::device_synchronize() == "");
    CHECK(kernels::scan_segments_per_wave(1000, 512) >= 1);
    CHECK(kernels::scan_segments_per_wave(1, 512) == 64 * kernels::scan_segments_per_wave(64, 512));
}

TEST_CASE("cuda: where the one-pass scan runs, and the chunked scan where it does not", "[gpu]") {
    if (!have_gpu()) return;
    std::mt19937 g(15);
    // bf16 B/C rows at an odd element offset (dt_rank 3): no 4-byte copies, so no one-pass kernel
    const int di = 40, dt_rank = 3, N = 16, L = 3001;
    const ScanInputs in = random_scan_inputs(L, di, N, dt_rank, g);
    const Matrix &U = in.U, &delta = in.delta, &A = in.A, &x_dbl = in.x_dbl, &xz = in.xz;
    const Vector& D = in.D;
    const std::vector<std::size_t> lengths{1000, 2001};
    DeviceValues<kernels::bf16> xd(x_dbl.data(), x_dbl.size());
    kernels::ScanArgsT<kernels::bf16> probe;
    probe.length = L;
    probe.d_inner = di;
    probe.d_state = N;
    probe.B = xd.ptr + dt_rank;
    probe.C = xd.ptr + dt_rank + N;
    probe.ld_bc = dt_rank + 2 * N;
    CHECK_FALSE(kernels::scan_one_pass_runs(probe));
    probe.B = xd.ptr + 4;  // an even offset and row stride: 4-byte copies, the one-pass kernel runs
    probe.C = xd.ptr + 4 + N;
    probe.ld_bc = 36;
    CHECK(kernels::scan_one_pass_runs(probe));
    // Δ or y rows strided (the engine's shared chunk arrays): the one-pass kernel runs contiguous rows only
    probe.ld_delta = 2 * di;
    CHECK_FALSE(kernels::scan_one_pass_runs(probe));
    probe.ld_delta = 0;
    probe.ld_y = 2 * di;
    CHECK_FALSE(kernels::scan_one_pass_runs(probe));
    probe.ld_y = 0;
    Matrix want;
    cpu::selective_scan(bf16_rounded(U), bf16_rounded(delta), A, D, bf16_rounded(x_dbl), dt_rank, bf16_rounded(xz), false,
                        cpu::Segments::from_lengths(lengths), want);
    const Matrix got = gpu_scan<kernels::bf16>(U, delta, A, D, x_dbl, dt_rank, xz, false, lengths, k_automatic);
    CHECK(test::rel_error(got, want) < 5e-3);
    probe.B = xd.ptr + dt_rank;  // asked for where it does not run: an error, not a wrong answer
    probe.C = xd.ptr + dt_rank + N;
    probe.ld_bc = dt_rank + 2 * N;
    probe.algorithm = kernels::ScanAlgorithm::one_pass;
    probe.u = probe.delta = probe.B;
    probe.y = xd.ptr;
    probe.A = reinterpret_cast<const float*>(xd.ptr);
    CHECK(kernels::selective_scan(probe) != "");
    // row strides shorter than a row are refused before anything runs
    probe.algorithm = kernels::ScanAlgorithm::automatic;
    probe.ld_delta = di - 1;
    CHECK(kernels::selective_scan(probe) == "selective_scan: row strides too small");
    probe.ld_delta = 0;
    probe.ld_y = -1;
    CHECK(kernels::selective_scan(probe) == "selective_scan: row strides too small");
}

TEST_CASE("cuda: conv1d + SiLU matches the CPU engine's (both directions, packed sequences)", "[gpu]") {
    if (!have_gpu()) return;
    std::mt19937 g(12);
    const int K = 4;
    // 45 channels: one channel per thread; 64: aligned channel pairs (the vector path)
    for (const int di : {45, 64})
    for (const int L : {1, 3, 2047, 5000, 70001}) {
        const Matrix xz = random_matrix(L, 2 * di, g, -2, 2);
        const Matrix w = random_matrix(di, K, g, -1, 1);
        const Vector b = random_matrix(di, 1, g, -1, 1);
        for (const auto& lengths : conv_packings(L)) {
            const DeviceSegments ds(lengths);
            const cpu::Segments& seg = ds.seg;
            DeviceMatrix dx(xz.data(), xz.size()), dw(w.data(), w.size()), db(b.data(), b.size()), du(nullptr, L * di);
            for (const bool reverse : {false, true}) {
                INFO("d_inner " << di << " L " << L << " sequences " << lengths.size() << " reverse " << reverse);
                Matrix want;
                cpu::conv1d_silu(xz, w, b, reverse, seg, want);
                // the whole sequence: x holds every row (the window test below changes that)
                const auto whole = [&](auto* x, auto* U) {
                    return whole_conv(static_cast<const std::remove_pointer_t<decltype(x)>*>(x), di, L, K, dw.ptr, db.ptr,
                                      reverse, ds, U);
                };
                kernels::ConvArgs<float> c = whole(dx.ptr, du.ptr);
                REQUIRE(kernels::conv1d_silu(c) == "");
                REQUIRE(kernels::device_synchronize() == "");
                Matrix got(L, di);
                REQUIRE(kernels::copy_to_host(got.data(), du.ptr, got.size() * sizeof(float)) == "");
                const double err = test::rel_error(got, want);
                INFO("relative error " << err);
                CHECK(err < 1e-5);
                if (L >= 5) {
                    // a window of rows [r0, r1) read from x rows [r0-3, r1+3) only (a chunk with halo)
                    const int r0 = L / 3, r1 = L - L / 4, x0 = std::max(0, r0 - (K - 1));
                    const int x1 = std::min(L, r1 + K - 1);
                    const Matrix xs = xz.middleRows(x0, x1 - x0);
                    DeviceMatrix dxs(xs.data(), xs.size()), dus(nullptr, (r1 - r0) * di);
                    c.x = dxs.ptr;
                    c.x_row0 = x0;
                    c.row0 = r0;
                    c.length = r1 - r0;
                    c.U = dus.ptr;
                    REQUIRE(kernels::conv1d_silu(c) == "");
                    Matrix part(r1 - r0, di);
                    REQUIRE(kernels::copy_to_host(part.data(), dus.ptr, part.size() * sizeof(float)) == "");
                    CHECK(test::rel_error(part, Matrix(want.middleRows(r0, r1 - r0))) < 1e-5);
                    // and in bf16: inputs rounded, output within bf16 rounding
                    DeviceValues<kernels::bf16> bx(xz.data(), xz.size()), bu(nullptr, static_cast<std::size_t>(L) * di);
                    const kernels::ConvArgs<kernels::bf16> cb = whole(bx.ptr, bu.ptr);
                    REQUIRE(kernels::conv1d_silu(cb) == "");
                    Matrix want_b;
                    cpu::conv1d_silu(bf16_rounded(xz), w, b, reverse, seg, want_b);
                    const double eb = test::rel_error(bu.download(L, di), want_b);
                    INFO("bf16 relative error " << eb);
                    CHECK(eb < 5e-3);
                }
            }
        }
    }
}

TEST_CASE("cuda: conv_proj (conv1d + SiLU, x_proj and delta in one kernel) matches the three kernels", "[gpu]") {
    if (!have_gpu()) return;
    using kernels::bf16;
    std::mt19937 g(31);
    const int K = 4;
    struct Shape {
        int di, R, N;
    };
    // the 131k shape; dt_rank 3 (odd x_dbl rows) at d_inner 208 (26 blocks of 8 channels, 104 conv
    // work items for 256 threads); dt_rank 17 (two k-steps, fewer x_proj columns than the dt
    // tile's) at d_inner 64, also over 70,001 rows: its in-place window then spans ~600 blocks,
    // several waves, so a block's halo rows can be overwritten by a neighbour that already ran;
    // the widest d_inner it runs
    for (const Shape sh : {Shape{512, 16, 16}, Shape{208, 3, 16}, Shape{64, 17, 1}, Shape{1024, 32, 16}})
        for (const int L : {1, 63, 64, 65, 1000, 5003, 70001}) {
            if ((sh.di == 1024 && L > 1000) || (sh.di != 64 && L > 5003)) continue;
            const int di = sh.di, n_proj = sh.R + 2 * sh.N;
            const Matrix xz = random_matrix(L, 2 * di, g, -2, 2);
            const Matrix w = random_matrix(di, K, g, -1, 1);
            const Vector b = random_matrix(di, 1, g, -1, 1);
            const Matrix Wx = random_matrix(n_proj, di, g, -0.15f, 0.15f);
            const Matrix Wdt = random_matrix(di, sh.R, g, -1.5f, 1.5f);
            Vector dtb(di);
            for (int c = 0; c < di; ++c) dtb[c] = -6.0f + 12.0f * static_cast<float>(c % 97) / 96.0f;
            DeviceValues<bf16> x(xz.data(), xz.size()), wx(Wx.data(), Wx.size()), wdt(Wdt.data(), Wdt.size());
            DeviceMatrix cw(w.data(), w.size()), cb(b.data(), b.size()), db(dtb.data(), dtb.size());
            for (const auto& lengths : conv_packings(L)) {
                const DeviceSegments ds(lengths);
                for (const bool reverse : {false, true}) {
                    INFO("d_inner " << di << " dt_rank " << sh.R << " L " << L << " sequences " << lengths.size()
                                    << " reverse " << reverse);
                    kernels::ConvArgs<bf16> c = whole_conv<bf16>(x.ptr, di, L, K, cw.ptr, cb.ptr, reverse, ds, nullptr);
                    // the three kernels
                    DeviceValues<bf16> u3(nullptr, static_cast<std::size_t>(L) * di),
                        x3(nullptr, static_cast<std::size_t>(L) * n_proj), d3(nullptr, static_cast<std::size_t>(L) * di);
                    c.U = u3.ptr;
                    REQUIRE(kernels::conv1d_silu(c) == "");
                    REQUIRE(kernels::gemm_xwt(u3.ptr, di, wx.ptr, n_proj, di, L, x3.ptr, n_proj, false) == "");
                    REQUIRE(kernels::scan_delta(x3.ptr, n_proj, wdt.ptr, db.ptr, di, sh.R, L, d3.ptr, di) == "");
                    // the fused kernel
                    DeviceValues<bf16> u1(nullptr, static_cast<std::size_t>(L) * di),
                        x1(nullptr, static_cast<std::size_t>(L) * n_proj), d1(nullptr, static_cast<std::size_t>(L) * di),
                        halo(nullptr, kernels::conv_proj_halo_elements(L, di));
                    kernels::ConvProjArgs f;
                    f.conv = c;
                    f.conv.U = u1.ptr;
                    f.x_proj = wx.ptr;
                    f.n_proj = n_proj;
                    f.x_dbl = x1.ptr;
                    f.ld_dbl = n_proj;
                    f.dt_proj = wdt.ptr;
                    f.dt_bias = db.ptr;
                    f.dt_rank = sh.R;
                    f.delta = d1.ptr;
                    f.ld_delta = di;
                    f.halo = halo.ptr;
                    REQUIRE(kernels::conv_proj_runs(f));
                    REQUIRE(kernels::conv_proj(f) == "");
                    REQUIRE(kernels::device_synchronize() == "");
                    const Matrix u_want = u3.download(L, di), u_got = u1.download(L, di);
                    CHECK(test::rel_error(u_got, u_want) == 0.0);  // conv1d_silu's arithmetic, to the bit
                    // x_dbl: the CPU product of the same bf16 u and weights, rounded (the sums'
                    // order differs from cuBLASLt's, so against the CPU rather than bit for bit)
                    Matrix x_want;
                    cpu::linear(u_got, bf16_rounded(Wx), nullptr, x_want);
                    const Matrix x_got = x1.download(L, n_proj);
                    const double ex = test::rel_error(x_got, bf16_rounded(x_want));
                    INFO("x_dbl relative error " << ex << " (three kernels: "
                                                 << test::rel_error(x3.download(L, n_proj), bf16_rounded(x_want)) << ")");
                    CHECK(ex < 4e-3);
                    // delta from the fused kernel's own x_dbl: scan_delta's values to the bit
                    DeviceValues<bf16> d_from(nullptr, static_cast<std::size_t>(L) * di);
                    REQUIRE(kernels::scan_delta(x1.ptr, n_proj, wdt.ptr, db.ptr, di, sh.R, L, d_from.ptr, di) == "");
                    const Matrix d_got = d1.download(L, di);
                    CHECK(test::rel_error(d_got, d_from.download(L, di)) == 0.0);
                    CHECK(test::rel_error(d_got, d3.download(L, di)) < 2e-2);
                    if (lengths.size() == 1 && !reverse) {
                        // no conv bias, no dt bias, no sequence bounds: as the three kernels without them
                        kernels::ConvProjArgs q = f;
                        q.conv.bias = nullptr;
                        q.conv.seg_begin = q.conv.seg_end = nullptr;
                        q.dt_bias = nullptr;
                        REQUIRE(kernels::conv_proj(q) == "");
                        kernels::ConvArgs<bf16> c0 = q.conv;
                        c0.U = u3.ptr;
                        REQUIRE(kernels::conv1d_silu(c0) == "");
                        REQUIRE(kernels::scan_delta(x1.ptr, n_proj, wdt.ptr, nullptr, di, sh.R, L, d_from.ptr, di) == "");
                        CHECK(test::rel_error(u1.download(L, di), u3.download(L, di)) == 0.0);
                        CHECK(test::rel_error(d1.download(L, di), d_from.download(L, di)) == 0.0);
                    }
                    if (L < 65) continue;
                    // the engine's shared chunk arrays: x holds rows [x0, x1) of the input, the call's
                    // rows are [r0, r1), and delta goes over the x half of those rows in place (x_dbl's
                    // rows here 2 wider than its columns)
                    const int r0 = L / 3, r1 = L - L / 4, x0 = std::max(0, r0 - (K - 1)), x1r = std::min(L, r1 + K - 1);
                    const Matrix xs = xz.middleRows(x0, x1r - x0);
                    DeviceValues<bf16> xw(xs.data(), xs.size()), uw(nullptr, static_cast<std::size_t>(r1 - r0) * di),
                        xdw(nullptr, static_cast<std::size_t>(r1 - r0) * (n_proj + 2)),
                        hw(nullptr, kernels::conv_proj_halo_elements(r1 - r0, di));
                    kernels::ConvProjArgs p = f;
                    p.conv.x = xw.ptr;
                    p.conv.x_row0 = x0;
                    p.conv.row0 = r0;
                    p.conv.length = r1 - r0;
                    p.conv.U = uw.ptr;
                    p.x_dbl = xdw.ptr;
                    p.ld_dbl = n_proj + 2;
                    p.delta = xw.ptr + static_cast<std::size_t>(r0 - x0) * 2 * di;
                    p.ld_delta = 2 * di;
                    p.halo = hw.ptr;
                    REQUIRE(kernels::conv_proj_runs(p));
                    REQUIRE(kernels::conv_proj(p) == "");
                    const Matrix xw_after = xw.download(x1r - x0, 2 * di);
                    CHECK(test::rel_error(uw.download(r1 - r0, di), Matrix(u_got.middleRows(r0, r1 - r0))) == 0.0);
                    CHECK(test::rel_error(Matrix(xdw.download(r1 - r0, n_proj + 2).leftCols(n_proj)),
                                          Matrix(x_got.middleRows(r0, r1 - r0))) == 0.0);
                    CHECK(test::rel_error(Matrix(xw_after.block(r0 - x0, 0, r1 - r0, di)),
                                          Matrix(d_got.middleRows(r0, r1 - r0))) == 0.0);
                    // rows outside the call's, and the z half of its rows, are left as they were
                    CHECK(test::rel_error(Matrix(xw_after.topRows(r0 - x0)), bf16_rounded(xs.topRows(r0 - x0))) == 0.0);
                    CHECK(test::rel_error(Matrix(xw_after.bottomRows(x1r - r1)), bf16_rounded(xs.bottomRows(x1r - r1))) ==
                          0.0);
                    CHECK(test::rel_error(Matrix(xw_after.block(r0 - x0, di, r1 - r0, di)),
                                          bf16_rounded(xs.block(r0 - x0, di, r1 - r0, di))) == 0.0);
                }
            }
        }
    // what it does not run, and says so
    kernels::ConvProjArgs bad;
    bad.conv.d_inner = 24;  // not a multiple of 16
    bad.conv.kernel = 4;
    bad.dt_rank = 4;
    bad.n_proj = 12;
    CHECK_FALSE(kernels::conv_proj_runs(bad));
    CHECK(kernels::conv_proj(bad) == "conv_proj: empty input");
    bad.conv.length = bad.conv.total_rows = 10;
    CHECK(kernels::conv_proj(bad) == "conv_proj: missing buffer");
    DeviceValues<bf16> buf(nullptr, 4096);
    DeviceMatrix fbuf(nullptr, 256);
    bad.conv.x = bad.conv.U = bad.x_dbl = bad.delta = bad.halo = buf.ptr;
    bad.x_proj = bad.dt_proj = buf.ptr;
    bad.conv.w = fbuf.ptr;
    CHECK(kernels::conv_proj(bad) == "conv_proj: shapes or alignment it does not run (see conv_proj_runs)");
}

TEST_CASE("cuda: fused residual add + RMSNorm/LayerNorm rows match the CPU (swap, reversed weights, pending rows)",
          "[gpu]") {
    if (!have_gpu()) return;
    std::mt19937 g(13);
    // C = 2d (the RCPS stream: swap and both halves) and, at d 256, C = d (the plain stream)
    for (const int halves : {2, 1})
    for (const int d : {1, 31, 32, 256, 300}) {
        if (halves == 1 && d != 256) continue;
        const int L = 777, C = halves * d;
        const Matrix X = random_matrix(L, C, g, -3, 3), H = random_matrix(L, C, g, -1, 1);
        const Vector w = random_matrix(d, 1, g, 0.5f, 1.5f);
        const Vector b = random_matrix(d, 1, g, -1, 1);
        DeviceMatrix dh(H.data(), H.size()), dw(w.data(), w.size()), db(b.data(), b.size()), dy(nullptr, X.size());
        for (const bool add : {false, true}) {
            for (const bool swap : {false, true}) {
                if (swap && halves == 1) continue;
                // the updated stream: X (+ H), halves swapped
                Matrix R = add ? Matrix(X + H) : X;
                if (swap) R = (Matrix(L, C) << R.rightCols(d), R.leftCols(d)).finished();
                for (const bool layer : {false, true}) {
                    for (const int col0 : {0, d}) {
                        if (col0 == d && halves == 1) continue;
                        const bool rev = col0 == d;
                        INFO("d " << d << " add " << add << " swap " << swap << " layer_norm " << layer << " col0 "
                                  << col0);
                        Matrix want = Matrix::Zero(L, d);
                        cpu::norm_rows(R, col0, d, w, layer ? b : Vector(), layer ? NormKind::layer : NormKind::rms, 1e-5f,
                                       rev, want, 0);
                        // rows [100, 700) normalised; [200, 400) updated now, [100, 200) already
                        // updated, [400, 700) pending (updated values used, not written)
                        const int e0 = 100, e1 = 700, u0 = 200, u1 = 400;
                        Matrix start = X;
                        start.middleRows(e0, u0 - e0) = R.middleRows(e0, u0 - e0);
                        DeviceMatrix dr(start.data(), start.size());
                        // the arguments of this case, for either element type of hidden rows and output
                        const auto args = [&](float* residual, const auto* hidden, auto* y) {
                            kernels::AddNormArgs<std::remove_const_t<std::remove_pointer_t<decltype(hidden)>>,
                                                 std::remove_pointer_t<decltype(y)>>
                                a;
                            a.residual = residual;
                            a.hidden = add ? hidden : nullptr;
                            a.C = C;
                            a.d = d;
                            a.swap_halves = swap;
                            a.row0 = e0;
                            a.length = e1 - e0;
                            a.update_begin = u0;
                            a.update_end = u1;
                            a.col0 = col0;
                            a.weight = dw.ptr;
                            a.bias = layer ? db.ptr : nullptr;
                            a.layer_norm = layer;
                            a.reverse_weight = rev;
                            a.y = y;
                            a.ld_y = d;
                            return a;
                        };
                        REQUIRE(kernels::add_norm_rows(args(dr.ptr, static_cast<const float*>(dh.ptr), dy.ptr)) == "");
                        REQUIRE(kernels::device_synchronize() == "");
                        Matrix got(e1 - e0, d), after(L, C);
                        REQUIRE(kernels::copy_to_host(got.data(), dy.ptr, got.size() * sizeof(float)) == "");
                        REQUIRE(kernels::copy_to_host(after.data(), dr.ptr, after.size() * sizeof(float)) == "");
                        const double err = test::rel_error(got, Matrix(want.middleRows(e0, e1 - e0)));
                        INFO("relative error " << err);
                        CHECK(err < 1e-5);
                        CHECK(after.middleRows(e0, u1 - e0) == R.middleRows(e0, u1 - e0));  // updated rows written
                        CHECK(after.middleRows(u1, L - u1) == X.middleRows(u1, L - u1));    // pending rows untouched
                        CHECK(after.topRows(e0) == X.topRows(e0));
                        // bf16 hidden rows and output (the engine's bf16 mode): within bf16 rounding (not
                        // for rows of 1 or 31 values, where a rounded X + H near 0 can flip a value's sign)
                        if (d < 32) continue;
                        DeviceValues<kernels::bf16> hb(H.data(), H.size()), yb(nullptr, static_cast<std::size_t>(L) * d);
                        DeviceMatrix dr2(start.data(), start.size());
                        REQUIRE(kernels::add_norm_rows(args(dr2.ptr, static_cast<const kernels::bf16*>(hb.ptr), yb.ptr)) == "");
                        const double err_b = test::rel_error(yb.download(e1 - e0, d), Matrix(want.middleRows(e0, e1 - e0)));
                        INFO("bf16: relative error " << err_b);
                        CHECK(err_b < 1e-2);
                    }
                }
            }
        }
    }
}

// ---- the other device ops against their CPU twins (the backend-ops harness) ----------------

namespace {

// A device copy of a host vector of any element type, freed on scope exit.
template <typename T>
struct DeviceBuffer {
    T* ptr = nullptr;
    std::size_t n = 0;
    explicit DeviceBuffer(const std::vector<T>& host) : n(host.size()) {
        void* p = nullptr;
        REQUIRE(kernels::device_alloc(&p, std::max<std::size_t>(n, 1) * sizeof(T)) == "");
        ptr = static_cast<T*>(p);
        if (n) REQUIRE(kernels::copy_to_device(ptr, host.data(), n * sizeof(T)) == "");
    }
    ~DeviceBuffer() { kernels::device_free(ptr); }
    std::vector<T> download() const {
        std::vector<T> v(n);
        if (n) REQUIRE(kernels::copy_to_host(v.data(), ptr, n * sizeof(T)) == "");
        return v;
    }
};

const int k_awkward_rows[] = {1, 3, 2047, 2049, 5000, 70001};

}  // namespace

TEST_CASE("cuda ops: GEMMs (fp32, bf16, strided, accumulating) match cpu::linear at awkward sizes", "[gpu]") {
    if (!have_gpu()) return;
    std::mt19937 g(21);
    struct Shape {
        int in, out;
    };
    for (const Shape sh : {Shape{37, 48}, Shape{256, 1024}})
        for (const int L : k_awkward_rows) {
            if (sh.in == 256 && L > 5000) continue;  // the CPU reference would dominate the test
            INFO("L " << L << " in " << sh.in << " out " << sh.out);
            const int ldx = sh.in + 5, ldy = sh.out + 3;
            const Matrix Xs = random_matrix(L, ldx, g, -1, 1);  // rows of ldx values, in used
            const Matrix W = random_matrix(sh.out, sh.in, g, -0.5f, 0.5f);
            const Matrix Y0 = random_matrix(L, ldy, g, -1, 1);
            Matrix want;
            cpu::linear(Matrix(Xs.leftCols(sh.in)), W, nullptr, want);
            // fp32, strided rows, then accumulating into Y
            DeviceMatrix x(Xs.data(), Xs.size()), w(W.data(), W.size()), y(Y0.data(), Y0.size());
            REQUIRE(kernels::gemm_xwt(x.ptr, ldx, w.ptr, sh.out, sh.in, L, y.ptr, ldy, false) == "");
            Matrix got(L, ldy);
            REQUIRE(kernels::copy_to_host(got.data(), y.ptr, got.size() * sizeof(float)) == "");
            CHECK(test::rel_error(Matrix(got.leftCols(sh.out)), want) < 1e-5);
            CHECK(test::rel_error(Matrix(got.rightCols(3)), Matrix(Y0.rightCols(3))) == 0.0);  // padding untouched
            REQUIRE(kernels::gemm_xwt(x.ptr, ldx, w.ptr, sh.out, sh.in, L, y.ptr, ldy, true) == "");
            REQUIRE(kernels::copy_to_host(got.data(), y.ptr, got.size() * sizeof(float)) == "");
            CHECK(test::rel_error(Matrix(got.leftCols(sh.out)), Matrix(2.0f * want)) < 1e-5);
            // bf16 in and out, fp32 accumulation: against the CPU product of the rounded inputs
            DeviceValues<kernels::bf16> xb(Xs.data(), Xs.size()), wb(W.data(), W.size()), yb(nullptr, Y0.size());
            REQUIRE(kernels::gemm_xwt(xb.ptr, ldx, wb.ptr, sh.out, sh.in, L, yb.ptr, ldy, false) == "");
            Matrix want_b;
            cpu::linear(Matrix(bf16_rounded(Xs).leftCols(sh.in)), bf16_rounded(W), nullptr, want_b);
            CHECK(test::rel_error(Matrix(yb.download(L, ldy).leftCols(sh.out)), want_b) < 1e-2);
        }
}

TEST_CASE("cuda ops: the scan's delta (dt_proj + bias + softplus) matches cpu::delta_softplus", "[gpu]") {
    if (!have_gpu()) return;
    std::mt19937 g(23);
    struct Shape {
        int di, R;
    };
    // the 131k shape (512, 16), odd channel counts (the last thread's second channel missing),
    // every rounded-up rank (3 -> 8, 16, 17 -> 32, 32), and the widest rank fused
    for (const Shape sh : {Shape{512, 16}, Shape{37, 3}, Shape{136, 17}, Shape{1025, 32}, Shape{64, 8}})
        for (const int L : k_awkward_rows) {
            if (sh.di > 512 && L > 5000) continue;
            INFO("L " << L << " d_inner " << sh.di << " dt_rank " << sh.R);
            const int ldx = sh.R + 2 * 16 + 1;  // x_proj's output rows: dt, B, C (+1: odd strides too)
            const Matrix Xs = random_matrix(L, ldx, g, -1, 1);
            const Matrix W = random_matrix(sh.di, sh.R, g, -1.5f, 1.5f);
            Vector bias(sh.di);
            for (int c = 0; c < sh.di; ++c) bias[c] = -6.0f + 12.0f * static_cast<float>(c % 97) / 96.0f;
            // softplus across its whole range: below, around and above the threshold of 20
            Matrix want;
            cpu::delta_softplus(Xs, W, bias, want);
            DeviceMatrix x(Xs.data(), Xs.size()), w(W.data(), W.size()), b(bias.data(), bias.size()),
                out(nullptr, static_cast<std::size_t>(L) * sh.di);
            REQUIRE(kernels::scan_delta(x.ptr, ldx, w.ptr, b.ptr, sh.di, sh.R, L, out.ptr, sh.di) == "");
            Matrix got(L, sh.di);
            REQUIRE(kernels::copy_to_host(got.data(), out.ptr, got.size() * sizeof(float)) == "");
            CHECK(test::rel_error(got, want) < 1e-6);
            if (sh.R == 16) {  // weights not 16-byte aligned: the scalar loads instead of the vector ones
                DeviceMatrix w_odd(nullptr, W.size() + 1);
                REQUIRE(kernels::copy_to_device(w_odd.ptr + 1, W.data(), W.size() * sizeof(float)) == "");
                REQUIRE(kernels::scan_delta(x.ptr, ldx, w_odd.ptr + 1, b.ptr, sh.di, sh.R, L, out.ptr, sh.di) == "");
                Matrix got_odd(L, sh.di);
                REQUIRE(kernels::copy_to_host(got_odd.data(), out.ptr, got_odd.size() * sizeof(float)) == "");
                CHECK(test::rel_error(got_odd, want) < 1e-6);
            }
            // bf16 in and out: against the CPU on the rounded inputs, then rounded
            DeviceValues<kernels::bf16> xb(Xs.data(), Xs.size()), wb(W.data(), W.size()),
                ob(nullptr, static_cast<std::size_t>(L) * sh.di);
            REQUIRE(kernels::scan_delta(xb.ptr, ldx, wb.ptr, b.ptr, sh.di, sh.R, L, ob.ptr, sh.di) == "");
            Matrix want_b;
            cpu::delta_softplus(bf16_rounded(Xs), bf16_rounded(W), bias, want_b);
            const Matrix got_b = ob.download(L, sh.di);
            CHECK(test::rel_error(got_b, bf16_rounded(want_b)) < 4e-3);
            if (sh.R % 2 == 0) {  // x_proj's rows as the engine lays them out (even stride, 4-byte pairs)
                const Matrix Xe = Xs.leftCols(sh.R + 2 * 16);
                DeviceValues<kernels::bf16> xe(Xe.data(), Xe.size());
                REQUIRE(kernels::scan_delta(xe.ptr, sh.R + 2 * 16, wb.ptr, b.ptr, sh.di, sh.R, L, ob.ptr, sh.di) == "");
                const Matrix got_e = ob.download(L, sh.di);
                INFO("even row stride: relative error " << test::rel_error(got_e, bf16_rounded(want_b)));
                CHECK(test::rel_error(got_e, bf16_rounded(want_b)) < 4e-3);
            }
            // no bias: the softplus of the product alone
            REQUIRE(kernels::scan_delta(x.ptr, ldx, w.ptr, nullptr, sh.di, sh.R, L, out.ptr, sh.di) == "");
            REQUIRE(kernels::copy_to_host(got.data(), out.ptr, got.size() * sizeof(float)) == "");
            cpu::delta_softplus(Xs, W, Vector::Zero(sh.di), want);
            CHECK(test::rel_error(got, want) < 1e-6);
        }
    // what it refuses
    DeviceMatrix x(nullptr, 64), o(nullptr, 64);
    CHECK(kernels::scan_delta(x.ptr, 40, x.ptr, nullptr, 8, 33, 1, o.ptr, 8) == "scan_delta: dt_rank must be 1..32");
    CHECK(kernels::scan_delta(x.ptr, 4, x.ptr, nullptr, 8, 8, 1, o.ptr, 8) == "scan_delta: row strides too small");
}

TEST_CASE("cuda ops: embedding gather (plain and RCPS), bias, combines and pooling sums match the CPU", "[gpu]") {
    if (!have_gpu()) return;
    std::mt19937 g(22);
    const int vocab = 12, d = 37;
    const Matrix E = random_matrix(vocab, d, g, -1, 1);
    const std::vector<int> complement = {0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11};
    for (const int L : k_awkward_rows) {
        INFO("L " << L);
        std::uniform_int_distribution<int> token(0, vocab - 1);
        std::vector<int> ids(static_cast<std::size_t>(L));
        for (int& t : ids) t = token(g);
        // the gather of cpu/engine_cpu.cpp: E[id], and for RCPS the reversed row of E[complement[id]]
        for (const bool rcps : {false, true}) {
            const int C = rcps ? 2 * d : d;
            Matrix want(L, C);
            for (int t = 0; t < L; ++t) {
                want.row(t).head(d) = E.row(ids[static_cast<std::size_t>(t)]);
                if (rcps) want.row(t).tail(d) = E.row(complement[static_cast<std::size_t>(ids[t])]).reverse();
            }
            DeviceBuffer<int> did(ids), dcomp(complement);
            DeviceMatrix de(E.data(), E.size()), out(nullptr, static_cast<std::size_t>(L) * C);
            REQUIRE(kernels::embed_rows(did.ptr, L, de.ptr, d, dcomp.ptr, rcps, out.ptr) == "");
            Matrix got(L, C);
            REQUIRE(kernels::copy_to_host(got.data(), out.ptr, got.size() * sizeof(float)) == "");
            CHECK(test::rel_error(got, want) == 0.0);
        }
        // y[:, :n] += 1.5 * bias with row stride ld; a[:, :n] += / *= b (strides lda, ldb)
        const int n = 45, ld = 50;
        const Matrix Y = random_matrix(L, ld, g, -1, 1), B = random_matrix(L, ld + 2, g, -1, 1);
        const Vector bias = random_matrix(n, 1, g, -1, 1);
        Matrix want_bias = Y;
        want_bias.leftCols(n).rowwise() += 1.5f * bias.transpose();
        DeviceMatrix dy(Y.data(), Y.size()), db(bias.data(), bias.size()), dB(B.data(), B.size());
        REQUIRE(kernels::add_bias(dy.ptr, L, n, ld, db.ptr, 1.5f) == "");
        Matrix got(L, ld);
        REQUIRE(kernels::copy_to_host(got.data(), dy.ptr, got.size() * sizeof(float)) == "");
        CHECK(test::rel_error(got, want_bias) < 1e-7);
        for (const bool multiply : {false, true}) {
            Matrix want_c = want_bias;
            if (multiply) want_c.leftCols(n) = want_bias.leftCols(n).cwiseProduct(B.leftCols(n));
            else want_c.leftCols(n) += B.leftCols(n);
            DeviceMatrix da(want_bias.data(), want_bias.size());
            REQUIRE(kernels::combine_rows(da.ptr, ld, dB.ptr, ld + 2, L, n, multiply) == "");
            REQUIRE(kernels::copy_to_host(got.data(), da.ptr, got.size() * sizeof(float)) == "");
            CHECK(test::rel_error(got, want_c) < 1e-7);
            // bf16: the same on rounded values, within bf16 rounding of the result
            DeviceValues<kernels::bf16> ab(want_bias.data(), want_bias.size()), bb(B.data(), B.size());
            REQUIRE(kernels::combine_rows(ab.ptr, ld, bb.ptr, ld + 2, L, n, multiply) == "");
            Matrix want_cb = bf16_rounded(want_bias);
            const Matrix Bb = bf16_rounded(B);
            if (multiply) want_cb.leftCols(n) = want_cb.leftCols(n).cwiseProduct(Bb.leftCols(n));
            else want_cb.leftCols(n) += Bb.leftCols(n);
            CHECK(test::rel_error(ab.download(L, ld), want_cb) < 5e-3);
        }
        // pooling sums: sequences packed back to back, each cut into sub-pieces of <= 256 rows
        const int Cp = 37;
        const Matrix X = random_matrix(L, Cp, g, -1, 1);
        std::vector<std::size_t> lengths = {static_cast<std::size_t>(L)};
        if (L >= 3) lengths = {1, static_cast<std::size_t>(L / 2), static_cast<std::size_t>(L - 1 - L / 2)};
        std::vector<int> sub_begin, sub_end, piece_seq, piece_first;
        std::size_t start = 0;
        for (std::size_t s = 0; s < lengths.size(); ++s) {
            piece_seq.push_back(static_cast<int>(s));
            piece_first.push_back(static_cast<int>(sub_begin.size()));
            for (std::size_t r = start; r < start + lengths[s]; r += 256) {
                sub_begin.push_back(static_cast<int>(r));
                sub_end.push_back(static_cast<int>(std::min(start + lengths[s], r + 256)));
            }
            start += lengths[s];
        }
        piece_first.push_back(static_cast<int>(sub_begin.size()));
        DeviceMatrix dx(X.data(), X.size());
        DeviceBuffer<int> dsb(sub_begin), dse(sub_end), dps(piece_seq), dpf(piece_first);
        DeviceBuffer<double> partial(std::vector<double>(sub_begin.size() * Cp, -1.0));
        DeviceBuffer<double> sums(std::vector<double>(lengths.size() * Cp, 0.0));
        REQUIRE(kernels::add_row_sums(dx.ptr, Cp, static_cast<int>(sub_begin.size()), dsb.ptr, dse.ptr, partial.ptr,
                                      static_cast<int>(piece_seq.size()), dps.ptr, dpf.ptr, sums.ptr) == "");
        const std::vector<double> got_sums = sums.download();
        start = 0;
        double worst = 0.0;
        for (std::size_t s = 0; s < lengths.size(); ++s) {
            for (int j = 0; j < Cp; ++j) {
                double want_sum = 0.0;
                for (std::size_t r = start; r < start + lengths[s]; ++r) want_sum += X(static_cast<Eigen::Index>(r), j);
                worst = std::max(worst, std::abs(got_sums[s * Cp + static_cast<std::size_t>(j)] - want_sum) /
                                            std::max(1.0, std::abs(want_sum)));
            }
            start += lengths[s];
        }
        INFO("pooling sums: worst relative difference " << worst);
        CHECK(worst < 1e-12);
    }
}

#endif  // DNAMBA_HAVE_CUDA
