// CPU operators (see ops.hpp). Vectorised through Eigen's fixed-size arrays, whose exp /
// log1p use the SIMD packet math of the target (AVX2 by default, AVX-512 with DNAMBA_NATIVE).
#include "cpu/ops.hpp"

#include <omp.h>

#include <Eigen/Core>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif
#include <algorithm>
#include <cmath>
#include <vector>

#include "dnamba/error.hpp"

namespace dnamba::cpu {
namespace {

// Fixed row blocking: the partition of rows is independent of the thread count.
constexpr Eigen::Index k_row_block = 256;

constexpr int k_lanes = Eigen::internal::packet_traits<float>::size;

template <int W>
using Lanes = Eigen::Array<float, W, 1>;

}  // namespace

// X_rows * W^T into Y_rows. Eigen switches code paths by shape: GEMV for one row, a lazy
// coefficient product for tiny shapes, and a k-vectorised tail for rows beyond a multiple of
// the packet size, each rounding differently. Blocks are therefore padded to a multiple of 8
// rows and at least 32, so every row goes through the same packed-GEMM kernel.
template <typename In, typename Out>
void gemm_rows(const In& x, const Matrix& W, Out y) {
    const Eigen::Index n = x.rows();
    if (n % 8 == 0 && n >= 32) {
        y.noalias() = x * W.transpose();
        return;
    }
    const Eigen::Index padded = std::max<Eigen::Index>(32, (n + 7) / 8 * 8);
    Matrix xp = Matrix::Zero(padded, x.cols());
    xp.topRows(n) = x;
    Matrix yp(padded, W.rows());
    yp.noalias() = xp * W.transpose();
    y = yp.topRows(n);
}

Segments Segments::single(Eigen::Index rows) {
    Segments s;
    s.begin.assign(static_cast<std::size_t>(rows), 0);
    s.end.assign(static_cast<std::size_t>(rows), rows);
    return s;
}

Segments Segments::from_lengths(const std::vector<std::size_t>& lengths) {
    Segments s;
    Eigen::Index offset = 0;
    for (std::size_t len : lengths) {
        const auto n = static_cast<Eigen::Index>(len);
        s.begin.insert(s.begin.end(), len, offset);
        s.end.insert(s.end.end(), len, offset + n);
        offset += n;
    }
    return s;
}

void linear(const Matrix& X, const Matrix& W, const Vector* bias, Matrix& Y) {
    const Eigen::Index L = X.rows();
    Y.resize(L, W.rows());
    const Eigen::Index blocks = (L + k_row_block - 1) / k_row_block;
#pragma omp parallel for schedule(dynamic, 1)
    for (Eigen::Index blk = 0; blk < blocks; ++blk) {
        const Eigen::Index r0 = blk * k_row_block;
        const Eigen::Index n = std::min(k_row_block, L - r0);
        gemm_rows(X.middleRows(r0, n), W, Y.middleRows(r0, n));
        if (bias && bias->size()) Y.middleRows(r0, n).rowwise() += bias->transpose();
    }
}

void norm_rows(const Matrix& X, int col0, int d, const Vector& w, const Vector& b, NormKind kind, float eps,
               bool reverse_weight, Matrix& Y, int ycol0) {
    const Eigen::Index L = X.rows();
    Vector weight = reverse_weight ? Vector(w.reverse()) : w;
    Vector bias = b.size() ? (reverse_weight ? Vector(b.reverse()) : b) : Vector::Zero(d);
#pragma omp parallel for schedule(static)
    for (Eigen::Index t = 0; t < L; ++t) {
        const auto x = X.row(t).segment(col0, d).array();
        auto y = Y.row(t).segment(ycol0, d).array();
        if (kind == NormKind::rms) {
            const float ms = x.square().sum() / static_cast<float>(d);
            const float r = 1.0f / std::sqrt(ms + eps);
            y = x * r * weight.transpose().array();
        } else {
            const float mean = x.sum() / static_cast<float>(d);
            const float var = (x - mean).square().sum() / static_cast<float>(d);
            const float r = 1.0f / std::sqrt(var + eps);
            y = (x - mean) * r * weight.transpose().array() + bias.transpose().array();
        }
    }
}

// torch softplus (threshold 20): log1p(exp(x)), or x above 20. Written as
// max(x, 0) + log1p(exp(-|x|)), equal to rounding (above 20 the second term is below half an
// ulp of x) and free of select(), which Eigen 3.4 evaluates one coefficient at a time.
template <int W>
inline Lanes<W> softplus(const Lanes<W>& x) {
    return x.max(0.0f) + (-x.abs()).exp().log1p();
}

// exp(x) for x <= 0, the scan's only transcendental (x = delta * A, delta > 0, A < 0), is
// a quarter of the CPU forward pass. Eigen's generic pexp guards the whole float range; here
// inputs are clamped at -87.3 (results below 2^-126 are 0 for the state update anyway) and
// the Cephes expf polynomial (about 1 ulp) is applied with a plain exponent insert.
template <int W>
inline Lanes<W> exp_nonpositive(const Lanes<W>& x) {
    return x.exp();
}

#if defined(__AVX512F__)
template <>
inline Lanes<16> exp_nonpositive<16>(const Lanes<16>& in) {
    __m512 x = _mm512_max_ps(_mm512_loadu_ps(in.data()), _mm512_set1_ps(-87.3f));
    const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23);
    Lanes<16> out;
    _mm512_storeu_ps(out.data(), _mm512_mul_ps(p, _mm512_castsi512_ps(e)));
    return out;
}
#endif
#if defined(__AVX2__) && defined(__FMA__)
template <>
inline Lanes<8> exp_nonpositive<8>(const Lanes<8>& in) {
    __m256 x = _mm256_max_ps(_mm256_loadu_ps(in.data()), _mm256_set1_ps(-87.3f));
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    Lanes<8> out;
    _mm256_storeu_ps(out.data(), _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
    return out;
}
#endif

template <int W>
inline Lanes<W> silu(const Lanes<W>& x) {
    return x / ((-x).exp() + 1.0f);
}

// Applies f to lanes of a contiguous float range in place (full vectors, then a scalar tail).
template <typename F>
inline void for_lanes(float* p, Eigen::Index n, F f) {
    Eigen::Index i = 0;
    for (; i + k_lanes <= n; i += k_lanes) Eigen::Map<Lanes<k_lanes>>(p + i) = f(Lanes<k_lanes>(Eigen::Map<Lanes<k_lanes>>(p + i)));
    for (; i < n; ++i) {
        Lanes<1> one;
        one(0) = p[i];
        p[i] = f(one)(0);
    }
}

void conv1d_silu(const Matrix& xz, const Matrix& conv_w, const Vector& conv_b, bool reverse, const Segments& seg,
                 Matrix& U) {
    const Eigen::Index L = xz.rows();
    const Eigen::Index di = conv_w.rows();
    const int K = static_cast<int>(conv_w.cols());
    U.resize(L, di);
    const Matrix wt = conv_w.transpose();  // [K, di]: filter tap k as a contiguous channel vector
    const Vector bias = conv_b.size() ? conv_b : Vector::Zero(di);
#pragma omp parallel for schedule(static)
    for (Eigen::Index t = 0; t < L; ++t) {
        auto acc = U.row(t);
        acc = bias.transpose();
        const Eigen::Index lo = seg.begin[static_cast<std::size_t>(t)], hi = seg.end[static_cast<std::size_t>(t)];
        for (int k = 0; k < K; ++k) {
            // forward: out[t] = sum_k w[k] x[t-(K-1)+k]; reverse: out[t] = sum_k w[k] x[t+(K-1)-k]
            const Eigen::Index s = reverse ? t + (K - 1) - k : t - (K - 1) + k;
            if (s < lo || s >= hi) continue;
            acc.array() += wt.row(k).array() * xz.row(s).head(di).array();
        }
        for_lanes(U.data() + t * di, di, [](const auto& v) { return silu(v); });
    }
}

void delta_softplus(const Matrix& x_dbl, const Matrix& dt_proj, const Vector& dt_bias, Matrix& delta) {
    const Eigen::Index L = x_dbl.rows();
    const Eigen::Index R = dt_proj.cols();
    const Eigen::Index di = dt_proj.rows();
    delta.resize(L, di);
    const Eigen::Index blocks = (L + k_row_block - 1) / k_row_block;
#pragma omp parallel for schedule(dynamic, 1)
    for (Eigen::Index blk = 0; blk < blocks; ++blk) {
        const Eigen::Index r0 = blk * k_row_block;
        const Eigen::Index n = std::min(k_row_block, L - r0);
        auto out = delta.middleRows(r0, n);
        gemm_rows(x_dbl.block(r0, 0, n, R), dt_proj, out);
        out.rowwise() += dt_bias.transpose();
        for_lanes(delta.data() + r0 * di, n * di, [](const auto& v) { return softplus(v); });
    }
}

namespace {

// Scan over channels [c0, c0+W) for steps [s0, s1) (step s is t = s, or L-1-s when
// reversed). The state h (d_state vectors of W lanes) lives in `state` between calls.
template <int W>
void scan_block(int c0, Eigen::Index s0, Eigen::Index s1, float* state, const Matrix& U, const Matrix& delta,
                const Matrix& AT, const Vector& D, const Matrix& x_dbl, int dt_rank, const Matrix& xz, bool reverse,
                const Segments& seg, Matrix& Y) {
    using V = Lanes<W>;
    constexpr int k_max_state = 64;
    const Eigen::Index L = U.rows();
    const int N = static_cast<int>(AT.rows());
    const int di = static_cast<int>(U.cols());
    V h[k_max_state];
    V a[k_max_state];
    for (int n = 0; n < N; ++n) {
        h[n] = Eigen::Map<const V>(state + n * W);
        a[n] = Eigen::Map<const V>(AT.data() + n * AT.cols() + c0);
    }
    const V d_skip = Eigen::Map<const V>(D.data() + c0);
    for (Eigen::Index step = s0; step < s1; ++step) {
        const Eigen::Index t = reverse ? L - 1 - step : step;
        // a new sequence starts here: its state starts at zero
        const bool fresh = reverse ? seg.end[static_cast<std::size_t>(t)] == t + 1 : seg.begin[static_cast<std::size_t>(t)] == t;
        if (fresh)
            for (int n = 0; n < N; ++n) h[n] = V::Zero();
        const V dt = Eigen::Map<const V>(delta.data() + t * di + c0);
        const V u = Eigen::Map<const V>(U.data() + t * di + c0);
        const float* b = x_dbl.data() + t * x_dbl.cols() + dt_rank;
        const float* c = b + N;
        const V du = dt * u;
        V acc = V::Zero();
        for (int n = 0; n < N; ++n) {
            h[n] = exp_nonpositive<W>(dt * a[n]) * h[n] + du * b[n];
            acc += h[n] * c[n];
        }
        const V z = Eigen::Map<const V>(xz.data() + t * xz.cols() + di + c0);
        Eigen::Map<V>(Y.data() + t * di + c0) = (acc + d_skip * u) * silu<W>(z);
    }
    for (int n = 0; n < N; ++n) Eigen::Map<V>(state + n * W) = h[n];
}

}  // namespace

void selective_scan(const Matrix& U, const Matrix& delta, const Matrix& A, const Vector& D, const Matrix& x_dbl,
                    int dt_rank, const Matrix& xz, bool reverse, const Segments& seg, Matrix& Y) {
    const int di = static_cast<int>(U.cols());
    const int N = static_cast<int>(A.cols());
    if (N > 64) fail(ErrorKind::model, "d_state " + std::to_string(N) + " is larger than the supported 64");
    const Eigen::Index L = U.rows();
    Y.resize(L, di);
    const Matrix AT = A.transpose();  // [N, di]: a lane vector per state
    const int full = di / k_lanes;
    const int units = full + di % k_lanes;  // full-width blocks, then single channels
    std::vector<float> state(static_cast<std::size_t>(N) * static_cast<std::size_t>(di), 0.0f);
    // Each thread owns a contiguous range of channel blocks for the whole sequence and walks
    // time in chunks, so the rows of a chunk stay in cache while it sweeps its blocks (a
    // block-at-a-time walk over all L rows is TLB- and cache-miss bound). Channels are
    // independent, so the partition never changes a result.
    constexpr Eigen::Index k_time_chunk = 64;
#pragma omp parallel
    {
        const int nthreads = omp_get_num_threads();
        const int tid = omp_get_thread_num();
        const int u0 = static_cast<int>(static_cast<long>(units) * tid / nthreads);
        const int u1 = static_cast<int>(static_cast<long>(units) * (tid + 1) / nthreads);
        for (Eigen::Index s0 = 0; s0 < L; s0 += k_time_chunk) {
            const Eigen::Index s1 = std::min(L, s0 + k_time_chunk);
            for (int unit = u0; unit < u1; ++unit) {
                if (unit < full) {
                    const int c0 = unit * k_lanes;
                    scan_block<k_lanes>(c0, s0, s1, state.data() + static_cast<std::size_t>(c0) * N, U, delta, AT,
                                        D, x_dbl, dt_rank, xz, reverse, seg, Y);
                } else {
                    const int c0 = full * k_lanes + (unit - full);
                    scan_block<1>(c0, s0, s1, state.data() + static_cast<std::size_t>(c0) * N, U, delta, AT, D,
                                  x_dbl, dt_rank, xz, reverse, seg, Y);
                }
            }
        }
    }
}

}  // namespace dnamba::cpu
