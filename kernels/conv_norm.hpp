// kernels/conv_norm.hpp — the causal depthwise conv1d + SiLU and the row norms on the GPU.
// No CUDA types; all pointers are device pointers; each function returns "" on success or
// the error text, and does not wait for the kernel to finish. CPU twins: cpu::conv1d_silu
// and cpu::norm_rows (lib/src/cpu/ops.hpp); parity tests in tests/test_cuda_kernels.cpp.
#pragma once

#include <string>

#include "dtype.hpp"

namespace dnamba::kernels {

// Output rows g = row0 .. row0+length-1 of a sequence of total_rows rows (global row numbers):
//   U[g - row0, d] = silu(bias[d] + sum_k w[d, k] * x[s, d]),  s = g-(K-1)+k, or g+(K-1)-k when
// `reverse` (the conv of the flipped sequence, read in original order). Row s of x is at
// x + (s - x_row0) * ld_x: x may hold only a window of the sequence, which must cover every
// tap that is inside [seg_begin[g], seg_end[g]) (whole-sequence arrays, global rows; null: one
// sequence [0, total_rows)); taps outside it are zero, so the conv never reaches across a
// packed sequence. w: [d_inner, K] row-major; bias may be null. T: float or bf16.
template <typename T>
struct ConvArgs {
    const T* x = nullptr;
    int ld_x = 0;
    int x_row0 = 0;
    const float* w = nullptr;
    const float* bias = nullptr;
    int row0 = 0;
    int length = 0;
    int total_rows = 0;
    int d_inner = 0;
    int kernel = 0;
    bool reverse = false;
    const int* seg_begin = nullptr;
    const int* seg_end = nullptr;
    T* U = nullptr;  // [length, d_inner] contiguous
};
[[nodiscard]] std::string conv1d_silu(const ConvArgs<float>& args) noexcept;
[[nodiscard]] std::string conv1d_silu(const ConvArgs<bf16>& args) noexcept;

// Row-wise RMSNorm (bias ignored) or LayerNorm of the fp32 x[t, col0 : col0+d] (row stride
// ld_x) into y[t, ycol0 : ycol0+d] (row stride ld_y), eps inside the square root;
// `reverse_weight` applies weight and bias channel-reversed (RCPS). One warp per row.
[[nodiscard]] std::string norm_rows(const float* x, int ld_x, int col0, int d, const float* weight, const float* bias,
                                    bool layer_norm, float eps, bool reverse_weight, int length, float* y, int ld_y,
                                    int ycol0) noexcept;
[[nodiscard]] std::string norm_rows(const float* x, int ld_x, int col0, int d, const float* weight, const float* bias,
                                    bool layer_norm, float eps, bool reverse_weight, int length, bf16* y, int ld_y,
                                    int ycol0) noexcept;

}  // namespace dnamba::kernels
