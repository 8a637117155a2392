// kernels/conv.hpp — the causal depthwise conv1d + SiLU on the GPU.
// No CUDA types; all pointers are device pointers; each function returns a Status and does not
// wait for the kernel to finish. CPU twin: cpu::conv1d_silu (lib/src/cpu/ops.hpp); parity tests
// in tests/test_cuda_kernels.cpp.
#pragma once

#include "dtype.hpp"
#include "status.hpp"

namespace dnamba::kernels {

// The most taps (d_conv) the conv runs (held in registers, instantiated 1..this).
inline constexpr int k_conv_max_taps = 8;

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
[[nodiscard]] Status conv1d_silu(const ConvArgs<float>& args) noexcept;
[[nodiscard]] Status conv1d_silu(const ConvArgs<bf16>& args) noexcept;

}  // namespace dnamba::kernels
