// kernels/conv_norm.hpp — the causal depthwise conv1d + SiLU and the row norms on the GPU.
// No CUDA types; all pointers are device pointers; each function returns "" on success or
// the error text, and does not wait for the kernel to finish. CPU twins: cpu::conv1d_silu
// and cpu::norm_rows (lib/src/cpu/ops.hpp); parity tests in tests/test_cuda_kernels.cpp.
#pragma once

#include <string>

namespace dnamba::kernels {

// U[t, d] = silu(bias[d] + sum_k w[d, k] * x[s, d]) with s = t-(K-1)+k, or t+(K-1)-k when
// `reverse` (the conv of the flipped sequence, read in original order). x_t = x + t * ld_x.
// Taps outside [seg_begin[t], seg_end[t]) are zero (no read across a packed sequence);
// null segment arrays mean one sequence. w: [d_inner, K] row-major; bias may be null.
[[nodiscard]] std::string conv1d_silu(const float* x, int ld_x, const float* w, const float* bias, int length,
                                      int d_inner, int kernel, bool reverse, const int* seg_begin,
                                      const int* seg_end, float* U) noexcept;

// Row-wise RMSNorm (bias ignored) or LayerNorm of x[t, col0 : col0+d] (row stride ld_x) into
// y[t, ycol0 : ycol0+d] (row stride ld_y), eps inside the square root; `reverse_weight`
// applies weight and bias channel-reversed (RCPS). One warp per row.
[[nodiscard]] std::string norm_rows(const float* x, int ld_x, int col0, int d, const float* weight, const float* bias,
                                    bool layer_norm, float eps, bool reverse_weight, int length, float* y, int ld_y,
                                    int ycol0) noexcept;

}  // namespace dnamba::kernels
