// kernels/conv.hpp — the causal depthwise conv1d + SiLU on the GPU.
// No CUDA types; all pointers are device pointers; each function returns a Status and does not
// wait for the kernel to finish. CPU twin: cpu::conv1d_silu (lib/src/cpu/ops.hpp); parity tests
// in tests/test_cuda_kernels.cpp.
#pragma once

#include <cstddef>

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

// conv1d_silu, x_proj and the scan's delta in one kernel, in bf16 (conv_proj.cu): for the
// output rows of `conv`,
//   conv.U   = conv1d_silu's output (to the bit),
//   x_dbl[t] = U[t] . x_proj^T             (bf16, fp32 sums; [n_proj, d_inner] weights),
//   delta[t] = softplus(x_dbl[t, :dt_rank] . dt_proj^T + dt_bias)  (scan_delta's; dt_bias may be null),
// where the three kernels would read u and x_dbl back from memory. delta may lie exactly over
// the x columns of the call's own rows (delta row t on x row row0 + t, as in the engine's shared
// chunk arrays; any other overlap would race): the rows of halo each block needs from its
// neighbours are copied to `halo` (conv_proj_halo_elements of them) first.
// conv_proj_runs says whether it runs these arguments: d_conv 4, d_inner a multiple of 16 up to
// k_conv_proj_max_inner and its 64-row tile within the shared memory the device lets a block
// have, dt_rank 1..32, x, U, delta and halo 16-byte aligned with row strides in 16 bytes.
// conv_proj_enabled: whether the engine uses it, DNAMBA_FUSED=1 in the environment (off by
// default: correct, but slower than the three kernels as measured in session 18;
// kernels/PERF_NOTES.md entries 53 and 55). Elsewhere the engine runs the three kernels.
inline constexpr int k_conv_proj_max_inner = 1024;
struct ConvProjArgs {
    ConvArgs<bf16> conv;
    const bf16* x_proj = nullptr;
    int n_proj = 0;  // dt_rank + 2 d_state
    bf16* x_dbl = nullptr;
    int ld_dbl = 0;
    const bf16* dt_proj = nullptr;  // [d_inner, dt_rank]
    const float* dt_bias = nullptr;
    int dt_rank = 0;
    bf16* delta = nullptr;
    int ld_delta = 0;
    bf16* halo = nullptr;
};
[[nodiscard]] bool conv_proj_runs(const ConvProjArgs& args) noexcept;
[[nodiscard]] bool conv_proj_enabled() noexcept;
[[nodiscard]] std::size_t conv_proj_halo_elements(int length, int d_inner) noexcept;
[[nodiscard]] Status conv_proj(const ConvProjArgs& args) noexcept;

}  // namespace dnamba::kernels
