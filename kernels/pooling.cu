// Per-sequence column sums for pooling on the device (see pooling.hpp): in double, in a fixed
// order (deterministic for any packing): sub-piece sums, then ordered sums per sequence.
#include "device_common.cuh"
#include "pooling.hpp"

namespace dnamba::kernels {
namespace {

__global__ void sub_sums_kernel(const float* x, int C, const int* begin, const int* end, double* partial) {
    const int i = blockIdx.x;
    const int j = blockIdx.y * blockDim.x + threadIdx.x;
    if (j >= C) return;
    double acc = 0.0;
    for (int t = begin[i]; t < end[i]; ++t) acc += x[(std::size_t)t * C + j];
    partial[(std::size_t)i * C + j] = acc;
}

__global__ void piece_sums_kernel(int C, const double* partial, const int* seq, const int* first, double* sums) {
    const int p = blockIdx.x;
    const int j = blockIdx.y * blockDim.x + threadIdx.x;
    if (j >= C) return;
    double acc = sums[(std::size_t)seq[p] * C + j];
    for (int i = first[p]; i < first[p + 1]; ++i) acc += partial[(std::size_t)i * C + j];
    sums[(std::size_t)seq[p] * C + j] = acc;
}

}  // namespace

Status add_row_sums(const float* x, int C, int subs, const int* sub_begin, const int* sub_end, double* partial,
                         int pieces, const int* piece_seq, const int* piece_first, double* sums) noexcept {
    if (pieces <= 0 || subs <= 0) return "";
    const int threads = 128;
    const unsigned col_blocks = static_cast<unsigned>((C + threads - 1) / threads);
    sub_sums_kernel<<<dim3(static_cast<unsigned>(subs), col_blocks), threads>>>(x, C, sub_begin, sub_end, partial);
    const Status e = launch_status("add_row_sums");
    if (!e.ok()) return e;
    piece_sums_kernel<<<dim3(static_cast<unsigned>(pieces), col_blocks), threads>>>(C, partial, piece_seq, piece_first,
                                                                                    sums);
    return launch_status("add_row_sums");
}

}  // namespace dnamba::kernels
