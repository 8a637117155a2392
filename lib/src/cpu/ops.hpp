// CPU operators of the Mamba forward pass (private to lib/src). Each is the reference twin of
// a kernel in kernels/; all parallelise with OpenMP over independent rows or channels only,
// so a result never depends on the thread count.
#pragma once

#include "dnamba/model.hpp"

namespace dnamba::cpu {

// Y = X * W^T (+ bias), W in PyTorch [out, in] layout. Rows are processed in fixed blocks.
void linear(const Matrix& X, const Matrix& W, const Vector* bias, Matrix& Y);

// Row-wise RMSNorm / LayerNorm of X[:, col0 : col0+d] into Y[:, ycol0 : ycol0+d]. When
// `reverse_weight` the weight/bias are applied channel-reversed (the rc(norm(rc(x))) of RCPS).
void norm_rows(const Matrix& X, int col0, int d, const Vector& w, const Vector& b, NormKind kind, float eps,
               bool reverse_weight, Matrix& Y, int ycol0);

// Causal depthwise conv1d + SiLU over the x half of xz (columns [0, d_inner)), into U.
// `reverse`: the conv of the length-flipped sequence, read in original order.
void conv1d_silu(const Matrix& xz, const Matrix& conv_w, const Vector& conv_b, bool reverse, Matrix& U);

// delta = softplus(dt * dt_proj^T + dt_bias), dt = first dt_rank columns of x_dbl.
void delta_softplus(const Matrix& x_dbl, const Matrix& dt_proj, const Vector& dt_bias, Matrix& delta);

// The selective scan with fp32 state, D skip and SiLU(z) gate:
//   h_t = exp(delta_t * A) h_{t-1} + delta_t * B_t * u_t ;  y_t = (C_t . h_t + D u_t) * silu(z_t)
// B_t, C_t are columns [dt_rank, dt_rank+N) and [dt_rank+N, dt_rank+2N) of x_dbl; z is
// columns [d_inner, 2 d_inner) of xz. `reverse` runs t from L-1 down to 0. Writes Y [L x d_inner].
void selective_scan(const Matrix& U, const Matrix& delta, const Matrix& A, const Vector& D, const Matrix& x_dbl,
                    int dt_rank, const Matrix& xz, bool reverse, Matrix& Y);

}  // namespace dnamba::cpu
