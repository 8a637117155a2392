// kernels/engine_ops.hpp — the remaining device operations of the forward pass: GEMMs
// through cuBLAS, the (RCPS) embedding gather, residual updates with the RCPS half swap, the
// reverse-complement flip of a hidden half, bias + softplus, and elementwise combines. No CUDA
// types; device pointers, row-major matrices; every function returns "" or the error text and
// does not wait for the GPU.
#pragma once

#include <cstddef>
#include <string>

namespace dnamba::kernels {

// Y[L, out] (row stride ldy) = X[L, in] (row stride ldx) * W^T, W: [out, in] row-major
// (PyTorch layout). fp32 with fp32 accumulation (TF32 off).
[[nodiscard]] std::string gemm_xwt(const float* X, int ldx, const float* W, int out, int in, int L, float* Y,
                                   int ldy) noexcept;

// out[t, 0:d] = E[ids[t]]; with `rcps` also out[t, d:2d] = reverse(E[complement[ids[t]]]).
[[nodiscard]] std::string embed_rows(const int* ids, int L, const float* E, int d, const int* complement, bool rcps,
                                     float* out) noexcept;

// residual = first ? hidden : residual + hidden (L x C); then, when `swap_halves`, the column
// halves [0, d) and [d, 2d) of the residual trade places (the fused RCPS block).
[[nodiscard]] std::string residual_update(float* residual, const float* hidden, int L, int C, bool first,
                                          bool swap_halves, int d) noexcept;

// dst[t, dcol0 + j] = src[mirror(t), col0 + d-1-j], mirror(t) = seg_begin[t] + seg_end[t] - 1 - t:
// the reverse complement of a hidden half, per packed sequence.
[[nodiscard]] std::string flip_both(const float* src, int ld_src, int col0, int d, const int* seg_begin,
                                    const int* seg_end, int L, float* dst, int ld_dst, int dcol0) noexcept;

// x[t, j] = softplus(x[t, j] + bias[j]) (torch's, threshold 20), x: L x n contiguous.
[[nodiscard]] std::string bias_softplus(float* x, int L, int n, const float* bias) noexcept;

// y[t, j] += scale * bias[j], y: L rows of stride ld, n columns.
[[nodiscard]] std::string add_bias(float* y, int L, int n, int ld, const float* bias, float scale) noexcept;

// dst[t, dcol0 : dcol0+n] = src[t, col0 : col0+n] for L rows (strides in floats).
[[nodiscard]] std::string copy_columns(const float* src, int ld_src, int col0, int n, int L, float* dst, int ld_dst,
                                       int dcol0) noexcept;

// cudaSetDevice for the calling thread.
[[nodiscard]] std::string set_device(int device) noexcept;

// a[i] += b[i] (multiply: a[i] *= b[i]) for n floats.
[[nodiscard]] std::string add_inplace(float* a, const float* b, std::size_t n) noexcept;
[[nodiscard]] std::string mul_inplace(float* a, const float* b, std::size_t n) noexcept;

}  // namespace dnamba::kernels
