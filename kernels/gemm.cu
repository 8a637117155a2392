// GEMMs through cuBLASLt (see gemm.hpp): one plan (operation, layouts, heuristic algorithm) per
// shape and alignment, made once and cached with a handle and workspace per device (the
// workspace is device memory; engines on several GPUs in one process each get their own), each
// behind a mutex. Engines that share a device share its workspace safely: all of them queue on
// that device's default stream, so their GEMMs run one after the other.
// A plan's algorithm is cuBLASLt's first heuristic choice; with DNAMBA_GEMM=tuned in the
// environment it is the fastest of the heuristic's first k_tune_candidates offers, timed on the
// plan's first call (for benchmarks and diagnosis: timing may choose differently from one run to
// the next, and a GEMM's last bits follow its algorithm). DNAMBA_GEMM_REPORT=1 prints each tuned
// plan's times to stderr.
#include <cublasLt.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "device_common.cuh"
#include "gemm.hpp"

namespace dnamba::kernels {
namespace {

constexpr std::size_t k_gemm_workspace = 32u << 20;
constexpr int k_tune_candidates = 8;
constexpr int k_tune_repeat = 5;

bool gemm_tuned() noexcept {
    static const bool v = env_equals("DNAMBA_GEMM", "tuned");
    return v;
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

constexpr int k_max_devices = 64;

// The cuBLASLt state of the calling thread's current device (null if it cannot be asked).
Blas* blas() {
    static Blas per_device[k_max_devices];
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= k_max_devices) {
        (void)cudaGetLastError();
        return nullptr;
    }
    return &per_device[dev];
}

Status lt_error(cublasStatus_t s, const char* what) {
    std::string m = std::string("cuBLASLt ") + what + ": " + cublasGetStatusString(s);
    return s == CUBLAS_STATUS_ALLOC_FAILED ? Status::out_of_memory(std::move(m)) : Status(std::move(m));
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

// The plan's operation and layouts, and the heuristic's first `want` algorithms (best first).
Status make_plan(Blas& b, const GemmKey& key, GemmPlan& plan, int want,
                 std::vector<cublasLtMatmulHeuristicResult_t>& found_algos) {
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
    found_algos.assign(static_cast<std::size_t>(want), cublasLtMatmulHeuristicResult_t{});
    int found = 0;
    const cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(b.handle, plan.op, plan.w, plan.x, plan.y, plan.y, pref,
                                                            want, found_algos.data(), &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (s != CUBLAS_STATUS_SUCCESS) return lt_error(s, "algorithm heuristic");
    if (found == 0)
        return "cuBLASLt: no GEMM algorithm for " + std::to_string(L) + " x " + std::to_string(in) + " -> " +
               std::to_string(out) + (is_bf16 ? " (bf16)" : " (fp32)");
    found_algos.resize(static_cast<std::size_t>(found));
    plan.algo = found_algos[0].algo;
    (void)accumulate;
    return {};
}

// DNAMBA_GEMM=tuned: each candidate timed (one warm-up, then k_tune_repeat runs) on the call's
// own operands; the fastest becomes the plan's algorithm. An accumulating GEMM is timed into a
// copy of Y, so Y keeps its contents for the real call (without memory for the copy the plan keeps
// the heuristic's choice). A candidate that fails is passed over.
Status tune_plan(Blas& b, const GemmKey& key, GemmPlan& plan,
                 const std::vector<cublasLtMatmulHeuristicResult_t>& cands, const void* W, const void* X, void* Y,
                 std::size_t y_bytes) {
    const auto [is_bf16, out, in, L, ldx, ldy, accumulate, align_w, align_x, align_y] = key;
    void* target = Y;
    if (accumulate) {  // no room for the copy: keep the heuristic's choice
        if (cudaMalloc(&target, y_bytes) != cudaSuccess) {
            (void)cudaGetLastError();
            return {};
        }
        DNAMBA_CUDA_RETURN(cudaMemcpy(target, Y, y_bytes, cudaMemcpyDeviceToDevice));
    }
    cudaEvent_t start = nullptr, stop = nullptr;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    std::vector<float> us(cands.size(), -1.0f);
    std::size_t best = 0;
    for (std::size_t i = 0; i < cands.size(); ++i) {
        const auto run = [&] {
            return cublasLtMatmul(b.handle, plan.op, &one, W, plan.w, X, plan.x, &beta, target, plan.y, target,
                                  plan.y, &cands[i].algo, b.workspace, k_gemm_workspace, 0);
        };
        if (run() != CUBLAS_STATUS_SUCCESS) continue;
        cudaEventRecord(start, 0);
        bool ok = true;
        for (int r = 0; r < k_tune_repeat && ok; ++r) ok = run() == CUBLAS_STATUS_SUCCESS;
        cudaEventRecord(stop, 0);
        float ms = 0.0f;
        if (!ok || cudaEventSynchronize(stop) != cudaSuccess || cudaEventElapsedTime(&ms, start, stop) != cudaSuccess)
            continue;
        us[i] = 1000.0f * ms / k_tune_repeat;
        if (us[best] < 0.0f || us[i] < us[best]) best = i;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    if (accumulate) cudaFree(target);
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return std::string("cuBLASLt tuning: ") + cudaGetErrorString(e);
    if (us[best] >= 0.0f) plan.algo = cands[best].algo;
    if (const char* r = std::getenv("DNAMBA_GEMM_REPORT"); r && *r && std::strcmp(r, "0") != 0) {
        std::fprintf(stderr, "dnamba: gemm %d x %d -> %d (%s%s): candidate us", L, in, out, is_bf16 ? "bf16" : "fp32",
                     accumulate ? ", accumulate" : "");
        for (float t : us) std::fprintf(stderr, " %.1f", t);
        std::fprintf(stderr, "; chose %zu\n", best);
    }
    return {};
}

template <typename T>
Status gemm_any(const T* X, int ldx, const T* W, int out, int in, int L, T* Y, int ldy, bool accumulate) noexcept {
    if (L <= 0 || out <= 0 || in <= 0) return "gemm_xwt: empty matrix";
    Blas* device_blas = blas();
    if (!device_blas) return "gemm_xwt: no current CUDA device (or more than 64)";
    Blas& b = *device_blas;
    std::lock_guard<std::mutex> lock(b.mutex);
    if (!b.handle) {
        DNAMBA_LT_RETURN(cublasLtCreate(&b.handle), "create");
        DNAMBA_CUDA_RETURN(cudaMalloc(&b.workspace, k_gemm_workspace));
    }
    const GemmKey key{sizeof(T) == 2, out, in, L, ldx, ldy, accumulate, alignment(W), alignment(X), alignment(Y)};
    auto it = b.plans.find(key);
    if (it == b.plans.end()) {
        GemmPlan plan;
        std::vector<cublasLtMatmulHeuristicResult_t> cands;
        Status e = make_plan(b, key, plan, gemm_tuned() ? k_tune_candidates : 1, cands);
        if (!e.ok()) return e;
        if (cands.size() > 1) {
            e = tune_plan(b, key, plan, cands, W, X, Y, sizeof(T) * ((size_t)ldy * (L - 1) + out));
            if (!e.ok()) return e;
        }
        it = b.plans.emplace(key, plan).first;
    }
    const GemmPlan& p = it->second;
    const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    DNAMBA_LT_RETURN(cublasLtMatmul(b.handle, p.op, &one, W, p.w, X, p.x, &beta, Y, p.y, Y, p.y, &p.algo, b.workspace,
                                    k_gemm_workspace, 0),
                     "matmul");
    return {};
}

}  // namespace

Status gemm_xwt(const float* X, int ldx, const float* W, int out, int in, int L, float* Y, int ldy,
                     bool accumulate) noexcept {
    return gemm_any(X, ldx, W, out, in, L, Y, ldy, accumulate);
}

Status gemm_xwt(const bf16* X, int ldx, const bf16* W, int out, int in, int L, bf16* Y, int ldy,
                     bool accumulate) noexcept {
    return gemm_any(X, ldx, W, out, in, L, Y, ldy, accumulate);
}

std::size_t gemm_workspace_bytes() noexcept {
    Blas* b = blas();
    if (!b) return 0;
    std::lock_guard<std::mutex> lock(b->mutex);
    return b->workspace ? k_gemm_workspace : 0;
}

}  // namespace dnamba::kernels
