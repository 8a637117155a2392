// Device operations of the forward pass besides the scan, conv and norms (see engine_ops.hpp).
// Elementwise kernels: one thread per element, grid-stride loops. GEMMs: cuBLASLt, one plan
// (operation, layouts, heuristic algorithm) per shape and alignment, made once and cached.
#include <cublasLt.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

#include "device_common.cuh"
#include "engine_ops.hpp"

namespace dnamba::kernels {
namespace {

constexpr int k_threads = 256;
constexpr std::size_t k_gemm_workspace = 32u << 20;

unsigned blocks_for(std::size_t n) {
    const std::size_t b = (n + k_threads - 1) / k_threads;
    return static_cast<unsigned>(b < 65535u * 16u ? (b == 0 ? 1 : b) : 65535u * 16u);
}

// ---- cuBLASLt ------------------------------------------------------------------------------

// (bf16, out, in, L, ldx, ldy, accumulate, alignment of W, X, Y)
using GemmKey = std::tuple<bool, int, int, int, int, int, bool, int, int, int>;

struct GemmPlan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t w = nullptr, x = nullptr, y = nullptr;
    cublasLtMatmulAlgo_t algo{};
};

struct Blas {
    std::mutex mutex;
    cublasLtHandle_t handle = nullptr;
    void* workspace = nullptr;
    std::map<GemmKey, GemmPlan> plans;
};

Blas& blas() {
    static Blas b;
    return b;
}

std::string lt_error(cublasStatus_t s, const char* what) {
    return std::string("cuBLASLt ") + what + ": " + cublasGetStatusString(s);
}

#define DNAMBA_LT_RETURN(call, what)                                  \
    do {                                                              \
        const cublasStatus_t dnamba_s = (call);                       \
        if (dnamba_s != CUBLAS_STATUS_SUCCESS) return lt_error(dnamba_s, what); \
    } while (0)

int alignment(const void* p) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    int bytes = 1;
    while (bytes < 256 && (a & static_cast<std::uintptr_t>(bytes)) == 0) bytes <<= 1;
    return bytes;
}

std::string make_plan(Blas& b, const GemmKey& key, GemmPlan& plan) {
    const auto [is_bf16, out, in, L, ldx, ldy, accumulate, align_w, align_x, align_y] = key;
    const cudaDataType_t type = is_bf16 ? CUDA_R_16BF : CUDA_R_32F;
    DNAMBA_LT_RETURN(cublasLtMatmulDescCreate(&plan.op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "matmul description");
    const cublasOperation_t transpose = CUBLAS_OP_T;
    DNAMBA_LT_RETURN(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof transpose),
                     "transpose");
    // column-major view: Y^T (out x L) = (W stored as in x out)^T * X^T (in x L)
    DNAMBA_LT_RETURN(cublasLtMatrixLayoutCreate(&plan.w, type, in, out, in), "W layout");
    DNAMBA_LT_RETURN(cublasLtMatrixLayoutCreate(&plan.x, type, in, L, ldx), "X layout");
    DNAMBA_LT_RETURN(cublasLtMatrixLayoutCreate(&plan.y, type, out, L, ldy), "Y layout");
    cublasLtMatmulPreference_t pref = nullptr;
    DNAMBA_LT_RETURN(cublasLtMatmulPreferenceCreate(&pref), "preference");
    const std::uint64_t ws = k_gemm_workspace;
    const std::uint32_t aw = align_w, ax = align_x, ay = align_y;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &aw, sizeof aw);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &ax, sizeof ax);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &ay, sizeof ay);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &ay, sizeof ay);
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t s =
        cublasLtMatmulAlgoGetHeuristic(b.handle, plan.op, plan.w, plan.x, plan.y, plan.y, pref, 1, &result, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (s != CUBLAS_STATUS_SUCCESS) return lt_error(s, "algorithm heuristic");
    if (found == 0)
        return "cuBLASLt: no GEMM algorithm for " + std::to_string(L) + " x " + std::to_string(in) + " -> " +
               std::to_string(out) + (is_bf16 ? " (bf16)" : " (fp32)");
    plan.algo = result.algo;
    (void)accumulate;
    return "";
}

template <typename T>
std::string gemm_any(const T* X, int ldx, const T* W, int out, int in, int L, T* Y, int ldy, bool accumulate) noexcept {
    if (L <= 0 || out <= 0 || in <= 0) return "gemm_xwt: empty matrix";
    Blas& b = blas();
    std::lock_guard<std::mutex> lock(b.mutex);
    if (!b.handle) {
        DNAMBA_LT_RETURN(cublasLtCreate(&b.handle), "create");
        DNAMBA_CUDA_RETURN(cudaMalloc(&b.workspace, k_gemm_workspace));
    }
    const GemmKey key{sizeof(T) == 2, out, in, L, ldx, ldy, accumulate, alignment(W), alignment(X), alignment(Y)};
    auto it = b.plans.find(key);
    if (it == b.plans.end()) {
        GemmPlan plan;
        const std::string e = make_plan(b, key, plan);
        if (!e.empty()) return e;
        it = b.plans.emplace(key, plan).first;
    }
    const GemmPlan& p = it->second;
    const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    DNAMBA_LT_RETURN(cublasLtMatmul(b.handle, p.op, &one, W, p.w, X, p.x, &beta, Y, p.y, Y, p.y, &p.algo, b.workspace,
                                    k_gemm_workspace, 0),
                     "matmul");
    return "";
}

// ---- elementwise ---------------------------------------------------------------------------

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

std::string gemm_xwt(const float* X, int ldx, const float* W, int out, int in, int L, float* Y, int ldy,
                     bool accumulate) noexcept {
    return gemm_any(X, ldx, W, out, in, L, Y, ldy, accumulate);
}

std::string gemm_xwt(const bf16* X, int ldx, const bf16* W, int out, int in, int L, bf16* Y, int ldy,
                     bool accumulate) noexcept {
    return gemm_any(X, ldx, W, out, in, L, Y, ldy, accumulate);
}

std::size_t gemm_workspace_bytes() noexcept { return blas().workspace ? k_gemm_workspace : 0; }

std::string embed_rows(const int* ids, int L, const float* E, int d, const int* complement, bool rcps,
                       float* out) noexcept {
    embed_kernel<<<blocks_for((std::size_t)L * d * (rcps ? 2 : 1)), k_threads>>>(ids, L, E, d, complement, rcps, out);
    return launch_status("embed_rows");
}

std::string add_bias(float* y, int L, int n, int ld, const float* bias, float scale) noexcept {
    bias_kernel<<<blocks_for((std::size_t)L * n), k_threads>>>(y, L, n, ld, bias, scale);
    return launch_status("add_bias");
}

std::string add_bias(bf16* y, int L, int n, int ld, const float* bias, float scale) noexcept {
    bias_kernel<<<blocks_for((std::size_t)L * n), k_threads>>>(device_ptr(y), L, n, ld, bias, scale);
    return launch_status("add_bias");
}

std::string combine_rows(float* a, int lda, const float* b, int ldb, int L, int n, bool multiply) noexcept {
    combine_kernel<<<blocks_for((std::size_t)L * n), k_threads>>>(a, lda, b, ldb, L, n, multiply);
    return launch_status("combine_rows");
}

std::string combine_rows(bf16* a, int lda, const bf16* b, int ldb, int L, int n, bool multiply) noexcept {
    combine_kernel<<<blocks_for((std::size_t)L * n), k_threads>>>(device_ptr(a), lda, device_ptr(b), ldb, L, n,
                                                                   multiply);
    return launch_status("combine_rows");
}

std::string add_row_sums(const float* x, int C, int subs, const int* sub_begin, const int* sub_end, double* partial,
                         int pieces, const int* piece_seq, const int* piece_first, double* sums) noexcept {
    if (pieces <= 0 || subs <= 0) return "";
    const int threads = 128;
    const unsigned col_blocks = static_cast<unsigned>((C + threads - 1) / threads);
    sub_sums_kernel<<<dim3(static_cast<unsigned>(subs), col_blocks), threads>>>(x, C, sub_begin, sub_end, partial);
    const std::string e = launch_status("add_row_sums");
    if (!e.empty()) return e;
    piece_sums_kernel<<<dim3(static_cast<unsigned>(pieces), col_blocks), threads>>>(C, partial, piece_seq, piece_first,
                                                                                    sums);
    return launch_status("add_row_sums");
}

std::string fill_zero(void* ptr, std::size_t bytes) noexcept {
    DNAMBA_CUDA_RETURN(cudaMemsetAsync(ptr, 0, bytes, 0));
    return "";
}

std::string set_device(int device) noexcept {
    DNAMBA_CUDA_RETURN(cudaSetDevice(device));
    return "";
}

}  // namespace dnamba::kernels
