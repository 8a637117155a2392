// kernels/engine_ops.hpp — the remaining device operations of the forward pass: GEMMs
// through cuBLASLt, the (RCPS) embedding gather, biases and direction combines, and
// per-sequence sums for pooling on the device. No CUDA types; device pointers, row-major
// matrices; T is float or bf16; every function returns "" or the error text and does not
// wait for the GPU.
#pragma once

#include <cstddef>
#include <string>

#include "dtype.hpp"

namespace dnamba::kernels {

// Y[L, out] (row stride ldy) = X[L, in] (row stride ldx) * W^T (+ Y when `accumulate`),
// W: [out, in] row-major (PyTorch layout). fp32 accumulation in both precisions (fp32: no
// TF32). Plans (layouts, algorithm) are cached per shape.
[[nodiscard]] std::string gemm_xwt(const float* X, int ldx, const float* W, int out, int in, int L, float* Y, int ldy,
                                   bool accumulate) noexcept;
[[nodiscard]] std::string gemm_xwt(const bf16* X, int ldx, const bf16* W, int out, int in, int L, bf16* Y, int ldy,
                                   bool accumulate) noexcept;
// Device bytes of the GEMM workspace (allocated on the first GEMM).
[[nodiscard]] std::size_t gemm_workspace_bytes() noexcept;

// out[t, 0:d] = E[ids[t]]; with `rcps` also out[t, d:2d] = reverse(E[complement[ids[t]]]).
[[nodiscard]] std::string embed_rows(const int* ids, int L, const float* E, int d, const int* complement, bool rcps,
                                     float* out) noexcept;

// y[t, j] += scale * bias[j], y: L rows of stride ld, n columns.
[[nodiscard]] std::string add_bias(float* y, int L, int n, int ld, const float* bias, float scale) noexcept;
[[nodiscard]] std::string add_bias(bf16* y, int L, int n, int ld, const float* bias, float scale) noexcept;

// a[t, j] += b[t, j] (multiply: a[t, j] *= b[t, j]) for L rows, n columns (strides lda, ldb).
[[nodiscard]] std::string combine_rows(float* a, int lda, const float* b, int ldb, int L, int n,
                                       bool multiply) noexcept;
[[nodiscard]] std::string combine_rows(bf16* a, int lda, const bf16* b, int ldb, int L, int n, bool multiply) noexcept;

// Column sums per sequence for pooling, in double and in a fixed order (deterministic), in
// two steps: partial[i, :] = the sums of x rows [sub_begin[i], sub_end[i]) for each of `subs`
// sub-pieces (x: rows of C floats; partial: subs x C); then for each piece p,
// sums[piece_seq[p], :] += partial[piece_first[p]], ..., partial[piece_first[p+1] - 1].
[[nodiscard]] std::string add_row_sums(const float* x, int C, int subs, const int* sub_begin, const int* sub_end,
                                       double* partial, int pieces, const int* piece_seq, const int* piece_first,
                                       double* sums) noexcept;

// Zero `bytes` of device memory (queued).
[[nodiscard]] std::string fill_zero(void* ptr, std::size_t bytes) noexcept;

// cudaSetDevice for the calling thread.
[[nodiscard]] std::string set_device(int device) noexcept;

}  // namespace dnamba::kernels
