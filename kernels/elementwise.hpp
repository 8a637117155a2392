// kernels/elementwise.hpp — the (RCPS) embedding gather, biases and direction combines.
// No CUDA types; device pointers, row-major matrices; T is float or bf16; every function
// returns a Status and does not wait for the GPU.
#pragma once

#include <cstddef>

#include "dtype.hpp"
#include "status.hpp"

namespace dnamba::kernels {

// out[t, 0:d] = E[ids[t]]; with `rcps` also out[t, d:2d] = reverse(E[complement[ids[t]]]).
[[nodiscard]] Status embed_rows(const int* ids, int L, const float* E, int d, const int* complement, bool rcps,
                                     float* out) noexcept;

// y[t, j] += scale * bias[j], y: L rows of stride ld, n columns.
[[nodiscard]] Status add_bias(float* y, int L, int n, int ld, const float* bias, float scale) noexcept;
[[nodiscard]] Status add_bias(bf16* y, int L, int n, int ld, const float* bias, float scale) noexcept;

// a[t, j] += b[t, j] (multiply: a[t, j] *= b[t, j]) for L rows, n columns (strides lda, ldb).
[[nodiscard]] Status combine_rows(float* a, int lda, const float* b, int ldb, int L, int n,
                                       bool multiply) noexcept;
[[nodiscard]] Status combine_rows(bf16* a, int lda, const bf16* b, int ldb, int L, int n, bool multiply) noexcept;

}  // namespace dnamba::kernels
