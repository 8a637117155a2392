// kernels/gemm.hpp — GEMMs of the forward pass through cuBLASLt.
// No CUDA types; device pointers, row-major matrices; T is float or bf16; every function
// returns a Status and does not wait for the GPU.
#pragma once

#include <cstddef>

#include "dtype.hpp"
#include "status.hpp"

namespace dnamba::kernels {

// Y[L, out] (row stride ldy) = X[L, in] (row stride ldx) * W^T (+ Y when `accumulate`),
// W: [out, in] row-major (PyTorch layout). fp32 accumulation in both precisions (fp32: no
// TF32). Plans (layouts, algorithm) are cached per shape.
[[nodiscard]] Status gemm_xwt(const float* X, int ldx, const float* W, int out, int in, int L, float* Y, int ldy,
                                   bool accumulate) noexcept;
[[nodiscard]] Status gemm_xwt(const bf16* X, int ldx, const bf16* W, int out, int in, int L, bf16* Y, int ldy,
                                   bool accumulate) noexcept;
// Device bytes of the GEMM workspace (allocated on the first GEMM).
[[nodiscard]] std::size_t gemm_workspace_bytes() noexcept;

}  // namespace dnamba::kernels
