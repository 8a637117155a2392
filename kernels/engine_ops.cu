// Device operations of the forward pass besides the scan, conv and norms (see engine_ops.hpp).
// All elementwise: one thread per element, grid-stride loops.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <mutex>

#include "engine_ops.hpp"

namespace dnamba::kernels {
namespace {

constexpr int k_threads = 256;

unsigned blocks_for(std::size_t n) {
    const std::size_t b = (n + k_threads - 1) / k_threads;
    return static_cast<unsigned>(b < 65535u * 16u ? (b == 0 ? 1 : b) : 65535u * 16u);
}

std::string launched() {
    const cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? std::string() : std::string("kernel launch: ") + cudaGetErrorString(e);
}

// One cuBLAS handle for the process, made on first use (fp32 math: no TF32).
cublasHandle_t blas(std::string& error) {
    static std::once_flag once;
    static cublasHandle_t handle = nullptr;
    static cublasStatus_t status = CUBLAS_STATUS_SUCCESS;
    std::call_once(once, [] {
        status = cublasCreate(&handle);
        if (status == CUBLAS_STATUS_SUCCESS) status = cublasSetMathMode(handle, CUBLAS_PEDANTIC_MATH);
    });
    if (status != CUBLAS_STATUS_SUCCESS) error = std::string("cuBLAS: ") + cublasGetStatusString(status);
    return handle;
}

__global__ void embed_kernel(const int* ids, int L, const float* E, int d, const int* comp, bool rcps, float* out) {
    const int C = rcps ? 2 * d : d;
    for (std::size_t i = blockIdx.x * (std::size_t)blockDim.x + threadIdx.x; i < (std::size_t)L * C;
         i += (std::size_t)gridDim.x * blockDim.x) {
        const int t = static_cast<int>(i / C), j = static_cast<int>(i % C);
        out[i] = j < d ? E[(std::size_t)ids[t] * d + j] : E[(std::size_t)comp[ids[t]] * d + (2 * d - 1 - j)];
    }
}

__global__ void residual_kernel(float* r, const float* h, int L, int C, bool first, bool swap, int d) {
    for (std::size_t i = blockIdx.x * (std::size_t)blockDim.x + threadIdx.x; i < (std::size_t)L * C;
         i += (std::size_t)gridDim.x * blockDim.x) {
        const std::size_t t = i / C;
        const int j = static_cast<int>(i % C);
        if (swap) {  // each thread owns a pair (j, j+d) of the first half
            if (j >= d) continue;
            const std::size_t a = t * C + j, b = a + d;
            const float va = first ? h[a] : r[a] + h[a];
            const float vb = first ? h[b] : r[b] + h[b];
            r[a] = vb;
            r[b] = va;
        } else {
            r[i] = first ? h[i] : r[i] + h[i];
        }
    }
}

__global__ void flip_kernel(const float* src, int ld_src, int col0, int d, const int* sb, const int* se, int L,
                            float* dst, int ld_dst, int dcol0) {
    for (std::size_t i = blockIdx.x * (std::size_t)blockDim.x + threadIdx.x; i < (std::size_t)L * d;
         i += (std::size_t)gridDim.x * blockDim.x) {
        const int t = static_cast<int>(i / d), j = static_cast<int>(i % d);
        const int mirror = sb[t] + se[t] - 1 - t;
        dst[(std::size_t)t * ld_dst + dcol0 + j] = src[(std::size_t)mirror * ld_src + col0 + d - 1 - j];
    }
}

__global__ void softplus_kernel(float* x, int L, int n, const float* bias) {
    for (std::size_t i = blockIdx.x * (std::size_t)blockDim.x + threadIdx.x; i < (std::size_t)L * n;
         i += (std::size_t)gridDim.x * blockDim.x) {
        const float v = x[i] + bias[i % n];
        x[i] = fmaxf(v, 0.0f) + log1pf(expf(-fabsf(v)));
    }
}

__global__ void bias_kernel(float* y, int L, int n, int ld, const float* bias, float scale) {
    for (std::size_t i = blockIdx.x * (std::size_t)blockDim.x + threadIdx.x; i < (std::size_t)L * n;
         i += (std::size_t)gridDim.x * blockDim.x) {
        const std::size_t t = i / n;
        const int j = static_cast<int>(i % n);
        y[t * ld + j] += scale * bias[j];
    }
}

__global__ void add_kernel(float* a, const float* b, std::size_t n, bool multiply) {
    for (std::size_t i = blockIdx.x * (std::size_t)blockDim.x + threadIdx.x; i < n; i += (std::size_t)gridDim.x * blockDim.x)
        a[i] = multiply ? a[i] * b[i] : a[i] + b[i];
}

}  // namespace

std::string gemm_xwt(const float* X, int ldx, const float* W, int out, int in, int L, float* Y, int ldy) noexcept {
    std::string error;
    cublasHandle_t h = blas(error);
    if (!error.empty()) return error;
    const float one = 1.0f, zero = 0.0f;
    // column-major view: Y^T (out x L) = W (as stored: in x out, transposed) * X^T (in x L)
    const cublasStatus_t s = cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, out, L, in, &one, W, in, X, ldx, &zero, Y, ldy);
    if (s != CUBLAS_STATUS_SUCCESS) return std::string("cublasSgemm: ") + cublasGetStatusString(s);
    return "";
}

std::string embed_rows(const int* ids, int L, const float* E, int d, const int* complement, bool rcps,
                       float* out) noexcept {
    embed_kernel<<<blocks_for((std::size_t)L * d * (rcps ? 2 : 1)), k_threads>>>(ids, L, E, d, complement, rcps, out);
    return launched();
}

std::string residual_update(float* residual, const float* hidden, int L, int C, bool first, bool swap_halves,
                            int d) noexcept {
    residual_kernel<<<blocks_for((std::size_t)L * C), k_threads>>>(residual, hidden, L, C, first, swap_halves, d);
    return launched();
}

std::string flip_both(const float* src, int ld_src, int col0, int d, const int* seg_begin, const int* seg_end, int L,
                      float* dst, int ld_dst, int dcol0) noexcept {
    flip_kernel<<<blocks_for((std::size_t)L * d), k_threads>>>(src, ld_src, col0, d, seg_begin, seg_end, L, dst, ld_dst,
                                                                dcol0);
    return launched();
}

std::string bias_softplus(float* x, int L, int n, const float* bias) noexcept {
    softplus_kernel<<<blocks_for((std::size_t)L * n), k_threads>>>(x, L, n, bias);
    return launched();
}

std::string add_bias(float* y, int L, int n, int ld, const float* bias, float scale) noexcept {
    bias_kernel<<<blocks_for((std::size_t)L * n), k_threads>>>(y, L, n, ld, bias, scale);
    return launched();
}

std::string copy_columns(const float* src, int ld_src, int col0, int n, int L, float* dst, int ld_dst,
                         int dcol0) noexcept {
    const cudaError_t e = cudaMemcpy2DAsync(dst + dcol0, (size_t)ld_dst * sizeof(float), src + col0,
                                            (size_t)ld_src * sizeof(float), (size_t)n * sizeof(float), (size_t)L,
                                            cudaMemcpyDeviceToDevice);
    return e == cudaSuccess ? std::string() : std::string("cudaMemcpy2DAsync: ") + cudaGetErrorString(e);
}

std::string set_device(int device) noexcept {
    const cudaError_t e = cudaSetDevice(device);
    return e == cudaSuccess ? std::string() : std::string("cudaSetDevice: ") + cudaGetErrorString(e);
}

std::string add_inplace(float* a, const float* b, std::size_t n) noexcept {
    add_kernel<<<blocks_for(n), k_threads>>>(a, b, n, false);
    return launched();
}

std::string mul_inplace(float* a, const float* b, std::size_t n) noexcept {
    add_kernel<<<blocks_for(n), k_threads>>>(a, b, n, true);
    return launched();
}

}  // namespace dnamba::kernels
