// Elementwise device operations (see elementwise.hpp): a thread per column, blocks striding over rows.
#include <algorithm>

#include "device_common.cuh"
#include "elementwise.hpp"

namespace dnamba::kernels {
namespace {

constexpr int k_threads = 256;

// Row-wise launches: threads along a row's columns, blocks of rows striding down the matrix (no
// division per element, coalesced rows); grid.y capped at the hardware's 65,535.
struct RowGrid {
    dim3 blocks, threads;
};
RowGrid row_grid(std::size_t rows, int cols) {
    const int t = cols >= k_threads ? k_threads : ((cols + 31) / 32) * 32;
    const unsigned col_blocks = static_cast<unsigned>((cols + t - 1) / t);
    const std::size_t want = std::max<std::size_t>(1, std::min<std::size_t>(rows, 65535));
    return {dim3(col_blocks, static_cast<unsigned>(want)), dim3(static_cast<unsigned>(t > 0 ? t : 32))};
}

__global__ void embed_kernel(const int* ids, int L, const float* E, int d, const int* comp, bool rcps, float* out) {
    const int C = rcps ? 2 * d : d;
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= C) return;
    for (int t = blockIdx.y; t < L; t += gridDim.y) {
        const int id = ids[t];
        out[(std::size_t)t * C + j] = j < d ? E[(std::size_t)id * d + j] : E[(std::size_t)comp[id] * d + (2 * d - 1 - j)];
    }
}

template <typename V>
__global__ void bias_kernel(V* y, int L, int n, int ld, const float* bias, float scale) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) return;
    const float b = scale * bias[j];
    for (int t = blockIdx.y; t < L; t += gridDim.y) {
        V* p = y + (std::size_t)t * ld + j;
        store_f(p, load_f(p) + b);
    }
}

template <typename V>
__global__ void combine_kernel(V* a, int lda, const V* b, int ldb, int L, int n, bool multiply) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) return;
    for (int t = blockIdx.y; t < L; t += gridDim.y) {
        V* p = a + (std::size_t)t * lda + j;
        const float x = load_f(p), y = load_f(b + (std::size_t)t * ldb + j);
        store_f(p, multiply ? x * y : x + y);
    }
}

}  // namespace

Status embed_rows(const int* ids, int L, const float* E, int d, const int* complement, bool rcps,
                       float* out) noexcept {
    if (L <= 0 || d <= 0) return {};
    const RowGrid g = row_grid(L, rcps ? 2 * d : d);
    embed_kernel<<<g.blocks, g.threads>>>(ids, L, E, d, complement, rcps, out);
    return launch_status("embed_rows");
}

Status add_bias(float* y, int L, int n, int ld, const float* bias, float scale) noexcept {
    if (L <= 0 || n <= 0) return {};
    const RowGrid g = row_grid(L, n);
    bias_kernel<<<g.blocks, g.threads>>>(y, L, n, ld, bias, scale);
    return launch_status("add_bias");
}

Status add_bias(bf16* y, int L, int n, int ld, const float* bias, float scale) noexcept {
    if (L <= 0 || n <= 0) return {};
    const RowGrid g = row_grid(L, n);
    bias_kernel<<<g.blocks, g.threads>>>(device_ptr(y), L, n, ld, bias, scale);
    return launch_status("add_bias");
}

Status combine_rows(float* a, int lda, const float* b, int ldb, int L, int n, bool multiply) noexcept {
    if (L <= 0 || n <= 0) return {};
    const RowGrid g = row_grid(L, n);
    combine_kernel<<<g.blocks, g.threads>>>(a, lda, b, ldb, L, n, multiply);
    return launch_status("combine_rows");
}

Status combine_rows(bf16* a, int lda, const bf16* b, int ldb, int L, int n, bool multiply) noexcept {
    if (L <= 0 || n <= 0) return {};
    const RowGrid g = row_grid(L, n);
    combine_kernel<<<g.blocks, g.threads>>>(device_ptr(a), lda, device_ptr(b), ldb, L, n, multiply);
    return launch_status("combine_rows");
}

}  // namespace dnamba::kernels
