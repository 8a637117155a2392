// Causal depthwise conv1d + SiLU and row norms (see conv_norm.hpp). Both are memory-bound
// elementwise/row kernels: one thread per (row, channel) for the conv, one warp per row for
// the norms (two warp reductions: sum and sum of squares of the centred values).
#include <cuda_runtime.h>

#include "conv_norm.hpp"

namespace dnamba::kernels {
namespace {

__global__ void conv1d_silu_kernel(const float* x, int ld_x, const float* w, const float* bias, int length,
                                   int d_inner, int K, bool reverse, const int* seg_begin, const int* seg_end,
                                   float* U) {
    const int blocks_per_row = (d_inner + blockDim.x - 1) / blockDim.x;
    const int t = blockIdx.x / blocks_per_row;
    const int d = (blockIdx.x % blocks_per_row) * blockDim.x + threadIdx.x;
    if (d >= d_inner) return;
    const int lo = seg_begin ? seg_begin[t] : 0;
    const int hi = seg_end ? seg_end[t] : length;
    float acc = bias ? bias[d] : 0.0f;
    for (int k = 0; k < K; ++k) {
        const int s = reverse ? t + (K - 1) - k : t - (K - 1) + k;
        if (s < lo || s >= hi) continue;
        acc += w[d * K + k] * x[(size_t)s * ld_x + d];
    }
    U[(size_t)t * d_inner + d] = acc / (1.0f + expf(-acc));
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__global__ void norm_rows_kernel(const float* x, int ld_x, int col0, int d, const float* weight, const float* bias,
                                 bool layer_norm, float eps, bool reverse_weight, int length, float* y, int ld_y,
                                 int ycol0) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= length) return;
    const float* xr = x + (size_t)row * ld_x + col0;
    float* yr = y + (size_t)row * ld_y + ycol0;
    float sum = 0.0f;
    for (int i = lane; i < d; i += 32) sum += xr[i];
    const float mean = layer_norm ? warp_sum(sum) / d : 0.0f;
    float sq = 0.0f;
    for (int i = lane; i < d; i += 32) {
        const float c = xr[i] - mean;
        sq += c * c;
    }
    const float r = rsqrtf(warp_sum(sq) / d + eps);
    for (int i = lane; i < d; i += 32) {
        const int wi = reverse_weight ? d - 1 - i : i;
        float v = (xr[i] - mean) * r * weight[wi];
        if (layer_norm && bias) v += bias[wi];
        yr[i] = v;
    }
}

std::string check_launch() {
    const cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? std::string() : std::string("kernel launch: ") + cudaGetErrorString(e);
}

}  // namespace

std::string conv1d_silu(const float* x, int ld_x, const float* w, const float* bias, int length, int d_inner,
                        int kernel, bool reverse, const int* seg_begin, const int* seg_end, float* U) noexcept {
    if (length <= 0 || d_inner <= 0 || kernel <= 0) return "conv1d_silu: empty input";
    const int threads = 128;
    const long long blocks = (long long)((d_inner + threads - 1) / threads) * length;
    if (blocks > 0x7fffffffLL) return "conv1d_silu: input too long for one launch";
    conv1d_silu_kernel<<<(unsigned)blocks, threads>>>(x, ld_x, w, bias, length, d_inner, kernel, reverse, seg_begin,
                                                     seg_end, U);
    return check_launch();
}

std::string norm_rows(const float* x, int ld_x, int col0, int d, const float* weight, const float* bias,
                      bool layer_norm, float eps, bool reverse_weight, int length, float* y, int ld_y,
                      int ycol0) noexcept {
    if (length <= 0 || d <= 0) return "norm_rows: empty input";
    const int rows_per_block = 4;
    norm_rows_kernel<<<(length + rows_per_block - 1) / rows_per_block, 32 * rows_per_block>>>(
        x, ld_x, col0, d, weight, bias, layer_norm, eps, reverse_weight, length, y, ld_y, ycol0);
    return check_launch();
}

}  // namespace dnamba::kernels
