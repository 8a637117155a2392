// kernels/conv_norm.hpp — the causal depthwise conv1d + SiLU and the fused residual add +
// row norm on the GPU.
// No CUDA types; all pointers are device pointers; each function returns "" on success or
// the error text, and does not wait for the kernel to finish. CPU twins: cpu::conv1d_silu
// and cpu::norm_rows after the residual add (lib/src/cpu/ops.hpp, cpu/engine_cpu.cpp); parity
// tests in tests/test_cuda_kernels.cpp.
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

// The fused residual add + norm of a block, for rows g = row0 .. row0+length-1 of the residual
// stream (fp32, rows of C floats):
//   rows in [update_begin, update_end) (global rows): residual += hidden (hidden null: no add),
//     then, with `swap_halves`, the column halves [0, d) and [d, 2d) trade places (the fused
//     RCPS block); the row is written back;
//   rows at or after update_end: not updated yet; their updated values are used, not written;
//   rows before update_begin: already updated.
// Then y[t, 0:d] (row stride ld_y) = RMSNorm (bias ignored) or LayerNorm of the updated row's
// columns [col0, col0+d), eps inside the square root, weight and bias applied channel-reversed
// when `reverse_weight` (RCPS). An empty update range ([x, x)) only normalises. One warp per row.
template <typename H, typename T>
struct AddNormArgs {
    float* residual = nullptr;
    const H* hidden = nullptr;
    int C = 0, d = 0;
    bool swap_halves = false;
    int row0 = 0, length = 0;
    int update_begin = 0, update_end = 0;
    int col0 = 0;
    const float* weight = nullptr;
    const float* bias = nullptr;
    bool layer_norm = false;
    float eps = 1e-5f;
    bool reverse_weight = false;
    T* y = nullptr;
    int ld_y = 0;
};
[[nodiscard]] std::string add_norm_rows(const AddNormArgs<float, float>& args) noexcept;
[[nodiscard]] std::string add_norm_rows(const AddNormArgs<bf16, bf16>& args) noexcept;
[[nodiscard]] std::string add_norm_rows(const AddNormArgs<bf16, float>& args) noexcept;

}  // namespace dnamba::kernels
