// kernels/pooling.hpp — per-sequence sums for mean pooling on the device.
// No CUDA types; device pointers, row-major matrices; T is float or bf16; every function
// returns a Status and does not wait for the GPU.
#pragma once

#include <cstddef>

#include "dtype.hpp"
#include "status.hpp"

namespace dnamba::kernels {

// Column sums per sequence for pooling, in double and in a fixed order (deterministic), in
// two steps: partial[i, :] = the sums of x rows [sub_begin[i], sub_end[i]) for each of `subs`
// sub-pieces (x: rows of C floats; partial: subs x C); then for each piece p,
// sums[piece_seq[p], :] += partial[piece_first[p]], ..., partial[piece_first[p+1] - 1].
[[nodiscard]] Status add_row_sums(const float* x, int C, int subs, const int* sub_begin, const int* sub_end,
                                       double* partial, int pieces, const int* piece_seq, const int* piece_first,
                                       double* sums) noexcept;

}  // namespace dnamba::kernels
