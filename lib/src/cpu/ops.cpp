// CPU operators (see ops.hpp). Vectorised through Eigen's fixed-size arrays, whose exp /
// log1p use the SIMD packet math of the target (AVX2 by default, AVX-512 with DNAMBA_NATIVE).
#include "cpu/ops.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <vector>

namespace dnamba::cpu {
namespace {

// Fixed row blocking: the partition of rows is independent of the thread count.
constexpr Eigen::Index k_row_block = 256;

constexpr int k_lanes = Eigen::internal::packet_traits<float>::size;

template <int W>
using Lanes = Eigen::Array<float, W, 1>;

// Scan over channels [c0, c0+W) for all t. h holds d_state vectors of W lanes.
template <int W>
void scan_block(int c0, const Matrix& U, const Matrix& delta, const Matrix& AT, const Vector& D, const Matrix& x_dbl,
                int dt_rank, const Matrix& xz, bool reverse, Matrix& Y) {
    using V = Lanes<W>;
    const Eigen::Index L = U.rows();
    const int N = static_cast<int>(AT.rows());
    const int di = static_cast<int>(U.cols());
    std::vector<V, Eigen::aligned_allocator<V>> h(static_cast<std::size_t>(N), V::Zero());
    std::vector<V, Eigen::aligned_allocator<V>> a(static_cast<std::size_t>(N));
    for (int n = 0; n < N; ++n) a[n] = Eigen::Map<const V>(AT.data() + n * AT.cols() + c0);
    const V d_skip = Eigen::Map<const V>(D.data() + c0);
    for (Eigen::Index step = 0; step < L; ++step) {
        const Eigen::Index t = reverse ? L - 1 - step : step;
        const V dt = Eigen::Map<const V>(delta.data() + t * di + c0);
        const V u = Eigen::Map<const V>(U.data() + t * di + c0);
        const float* b = x_dbl.data() + t * x_dbl.cols() + dt_rank;
        const float* c = b + N;
        const V du = dt * u;
        V acc = V::Zero();
        for (int n = 0; n < N; ++n) {
            h[n] = (dt * a[n]).exp() * h[n] + du * b[n];
            acc += h[n] * c[n];
        }
        const V z = Eigen::Map<const V>(xz.data() + t * xz.cols() + di + c0);
        const V gate = z / ((-z).exp() + 1.0f);
        Eigen::Map<V>(Y.data() + t * di + c0) = (acc + d_skip * u) * gate;
    }
}

}  // namespace

void linear(const Matrix& X, const Matrix& W, const Vector* bias, Matrix& Y) {
    const Eigen::Index L = X.rows();
    Y.resize(L, W.rows());
    const Eigen::Index blocks = (L + k_row_block - 1) / k_row_block;
#pragma omp parallel for schedule(dynamic, 1)
    for (Eigen::Index blk = 0; blk < blocks; ++blk) {
        const Eigen::Index r0 = blk * k_row_block;
        const Eigen::Index n = std::min(k_row_block, L - r0);
        Y.middleRows(r0, n).noalias() = X.middleRows(r0, n) * W.transpose();
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

void conv1d_silu(const Matrix& xz, const Matrix& conv_w, const Vector& conv_b, bool reverse, Matrix& U) {
    const Eigen::Index L = xz.rows();
    const Eigen::Index di = conv_w.rows();
    const int K = static_cast<int>(conv_w.cols());
    U.resize(L, di);
    // Column k of the filter as a contiguous vector over channels.
    Matrix wt = conv_w.transpose();  // [K, di]
    const Vector bias = conv_b.size() ? conv_b : Vector::Zero(di);
#pragma omp parallel for schedule(static)
    for (Eigen::Index t = 0; t < L; ++t) {
        Eigen::ArrayXf acc = bias.array();
        for (int k = 0; k < K; ++k) {
            // forward: out[t] = sum_k w[k] x[t-(K-1)+k]; reverse: out[t] = sum_k w[k] x[t+(K-1)-k]
            const Eigen::Index s = reverse ? t + (K - 1) - k : t - (K - 1) + k;
            if (s < 0 || s >= L) continue;
            acc += wt.row(k).transpose().array() * xz.row(s).head(di).transpose().array();
        }
        U.row(t) = (acc / ((-acc).exp() + 1.0f)).transpose();
    }
}

void delta_softplus(const Matrix& x_dbl, const Matrix& dt_proj, const Vector& dt_bias, Matrix& delta) {
    const Eigen::Index L = x_dbl.rows();
    const Eigen::Index R = dt_proj.cols();
    delta.resize(L, dt_proj.rows());
    const Eigen::Index blocks = (L + k_row_block - 1) / k_row_block;
#pragma omp parallel for schedule(dynamic, 1)
    for (Eigen::Index blk = 0; blk < blocks; ++blk) {
        const Eigen::Index r0 = blk * k_row_block;
        const Eigen::Index n = std::min(k_row_block, L - r0);
        auto out = delta.middleRows(r0, n);
        out.noalias() = x_dbl.block(r0, 0, n, R) * dt_proj.transpose();
        out.rowwise() += dt_bias.transpose();
        // torch.nn.functional.softplus(beta=1, threshold=20)
        auto a = out.array();
        a = (a > 20.0f).select(a, a.exp().log1p());
    }
}

void selective_scan(const Matrix& U, const Matrix& delta, const Matrix& A, const Vector& D, const Matrix& x_dbl,
                    int dt_rank, const Matrix& xz, bool reverse, Matrix& Y) {
    const int di = static_cast<int>(U.cols());
    Y.resize(U.rows(), di);
    const Matrix AT = A.transpose();  // [N, di]: a lane vector per state
    const int full = di / k_lanes;
#pragma omp parallel for schedule(dynamic, 1)
    for (int blk = 0; blk < full + (di % k_lanes); ++blk) {
        if (blk < full) {
            scan_block<k_lanes>(blk * k_lanes, U, delta, AT, D, x_dbl, dt_rank, xz, reverse, Y);
        } else {
            scan_block<1>(full * k_lanes + (blk - full), U, delta, AT, D, x_dbl, dt_rank, xz, reverse, Y);
        }
    }
}

}  // namespace dnamba::cpu
