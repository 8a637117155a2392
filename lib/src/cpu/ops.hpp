// CPU operators of the Mamba forward pass (private to lib/src). Each is the reference twin of
// a kernel in kernels/; all parallelise with OpenMP over independent rows or channels only,
// so a result never depends on the thread count.
#pragma once

#include <vector>

#include "dnamba/model.hpp"

namespace dnamba::cpu {

// Packed sequences: row t belongs to the sequence occupying rows [begin[t], end[t]).
struct Segments {
    std::vector<Eigen::Index> begin;
    std::vector<Eigen::Index> end;
    [[nodiscard]] static Segments single(Eigen::Index rows);
    [[nodiscard]] static Segments from_lengths(const std::vector<std::size_t>& lengths);
};

// Y = X * W^T (+ bias), W in PyTorch [out, in] layout. Rows are processed in fixed blocks,
// each a multiple of 8 rows (padded) so that every row takes the same GEMM code path: a row's
// result never depends on its neighbours, the block partition or the thread count.
void linear(const Matrix& X, const Matrix& W, const Vector* bias, Matrix& Y);

// Row-wise RMSNorm / LayerNorm of X[:, col0 : col0+d] into Y[:, ycol0 : ycol0+d]. When
// `reverse_weight` the weight/bias are applied channel-reversed (the rc(norm(rc(x))) of RCPS).
void norm_rows(const Matrix& X, int col0, int d, const Vector& w, const Vector& b, NormKind kind, float eps,
               bool reverse_weight, Matrix& Y, int ycol0);

// Causal depthwise conv1d + SiLU over the x half of xz (columns [0, d_inner)), into U.
// `reverse`: the conv of the length-flipped sequence, read in original order. The conv never
// reads across a segment boundary (zero padding at each sequence's edges).
void conv1d_silu(const Matrix& xz, const Matrix& conv_w, const Vector& conv_b, bool reverse, const Segments& seg,
                 Matrix& U);

// delta = softplus(dt * dt_proj^T + dt_bias), dt = first dt_rank columns of x_dbl.
void delta_softplus(const Matrix& x_dbl, const Matrix& dt_proj, const Vector& dt_bias, Matrix& delta);

// The selective scan with fp32 state, D skip and SiLU(z) gate:
//   h_t = exp(delta_t * A) h_{t-1} + delta_t * B_t * u_t ;  y_t = (C_t . h_t + D u_t) * silu(z_t)
// B_t, C_t are columns [dt_rank, dt_rank+N) and [dt_rank+N, dt_rank+2N) of x_dbl; z is
// columns [d_inner, 2 d_inner) of xz. `reverse` runs t from L-1 down to 0. The state starts at
// zero at each segment's first row (last row when reversed). Writes Y [L x d_inner].
void selective_scan(const Matrix& U, const Matrix& delta, const Matrix& A, const Vector& D, const Matrix& x_dbl,
                    int dt_rank, const Matrix& xz, bool reverse, const Segments& seg, Matrix& Y);

}  // namespace dnamba::cpu
