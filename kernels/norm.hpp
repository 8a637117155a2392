// kernels/norm.hpp — the fused residual add + row norm (RMSNorm / LayerNorm) on the GPU.
// No CUDA types; all pointers are device pointers; each function returns a Status and does not
// wait for the kernel to finish. CPU twin: cpu::norm_rows after the residual add
// (lib/src/cpu/ops.hpp, cpu/engine_cpu.cpp); parity test in tests/test_cuda_kernels.cpp.
#pragma once

#include "dtype.hpp"
#include "status.hpp"

namespace dnamba::kernels {

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
[[nodiscard]] Status add_norm_rows(const AddNormArgs<float, float>& args) noexcept;
[[nodiscard]] Status add_norm_rows(const AddNormArgs<bf16, bf16>& args) noexcept;
[[nodiscard]] Status add_norm_rows(const AddNormArgs<bf16, float>& args) noexcept;

}  // namespace dnamba::kernels
