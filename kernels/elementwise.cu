// Elementwise device operations (see elementwise.hpp): one thread per element, grid-stride loops.
#include "device_common.cuh"
#include "elementwise.hpp"

namespace dnamba::kernels {
namespace {

constexpr int k_threads = 256;

unsigned blocks_for(std::size_t n) {
    const std::size_t b = (n + k_threads - 1) / k_threads;
    return static_cast<unsigned>(b < 65535u * 16u ? (b == 0 ? 1 : b) : 65535u * 16u);
}

__global__ void embed_kernel(const int* ids, int L, const float* E, int d, const int* comp, bool rcps, float* out) {
    const int C = rcps ? 2 * d : d;
    for (std::size_t i = blockIdx.x * (std::size_t)blockDim.x + threadIdx.x; i < (std::size_t)L * C;
         i += (std::size_t)gridDim.x * blockDim.x) {
        const std::size_t t = i / C;
        const int j = static_cast<int>(i % C);
        out[i] = j < d ? E[(std::size_t)ids[t] * d + j] : E[(std::size_t)comp[ids[t]] * d + (2 * d - 1 - j)];
    }
}

template <typename V>
__global__ void bias_kernel(V* y, int L, int n, int ld, const float* bias, float scale) {
    for (std::size_t i = blockIdx.x * (std::size_t)blockDim.x + threadIdx.x; i < (std::size_t)L * n;
         i += (std::size_t)gridDim.x * blockDim.x) {
        const std::size_t t = i / n;
        const int j = static_cast<int>(i % n);
        V* p = y + t * ld + j;
        store_f(p, load_f(p) + scale * bias[j]);
    }
}

template <typename V>
__global__ void combine_kernel(V* a, int lda, const V* b, int ldb, int L, int n, bool multiply) {
    for (std::size_t i = blockIdx.x * (std::size_t)blockDim.x + threadIdx.x; i < (std::size_t)L * n;
         i += (std::size_t)gridDim.x * blockDim.x) {
        const std::size_t t = i / n;
        const int j = static_cast<int>(i % n);
        V* p = a + t * lda + j;
        const float x = load_f(p), y = load_f(b + t * ldb + j);
        store_f(p, multiply ? x * y : x + y);
    }
}

}  // namespace

Status embed_rows(const int* ids, int L, const float* E, int d, const int* complement, bool rcps,
                       float* out) noexcept {
    embed_kernel<<<blocks_for((std::size_t)L * d * (rcps ? 2 : 1)), k_threads>>>(ids, L, E, d, complement, rcps, out);
    return launch_status("embed_rows");
}

Status add_bias(float* y, int L, int n, int ld, const float* bias, float scale) noexcept {
    bias_kernel<<<blocks_for((std::size_t)L * n), k_threads>>>(y, L, n, ld, bias, scale);
    return launch_status("add_bias");
}

Status add_bias(bf16* y, int L, int n, int ld, const float* bias, float scale) noexcept {
    bias_kernel<<<blocks_for((std::size_t)L * n), k_threads>>>(device_ptr(y), L, n, ld, bias, scale);
    return launch_status("add_bias");
}

Status combine_rows(float* a, int lda, const float* b, int ldb, int L, int n, bool multiply) noexcept {
    combine_kernel<<<blocks_for((std::size_t)L * n), k_threads>>>(a, lda, b, ldb, L, n, multiply);
    return launch_status("combine_rows");
}

Status combine_rows(bf16* a, int lda, const bf16* b, int ldb, int L, int n, bool multiply) noexcept {
    combine_kernel<<<blocks_for((std::size_t)L * n), k_threads>>>(device_ptr(a), lda, device_ptr(b), ldb, L, n,
                                                                   multiply);
    return launch_status("combine_rows");
}

}  // namespace dnamba::kernels
