// The fused selective scan (see selective_scan.hpp), parallel in time by chunks:
//   1. chunk summaries: every chunk scans its rows from a zero state, giving the affine map
//      h_end = P * h_start + S of the chunk (P = product of the decays since the last reset);
//   2. carried states: one pass along the chunks gives each chunk's true starting state;
//   3. outputs: every chunk scans again from its starting state and writes y.
// One thread owns one channel and keeps its d_state states in registers (a template over the
// state count rounded up to a power of two); B_t and C_t are read by every thread of a block
// (broadcast loads). All arithmetic is fp32.
#include <cuda_runtime.h>

#include <string>

#include "selective_scan.hpp"

namespace dnamba::kernels {
namespace {

constexpr int k_threads = 128;

std::string cuda_error(cudaError_t e, const char* what) {
    return std::string(what) + ": " + cudaGetErrorString(e);
}

#define DNAMBA_CUDA_RETURN(call)                                                   \
    do {                                                                           \
        const cudaError_t dnamba_e = (call);                                       \
        if (dnamba_e != cudaSuccess)                                               \
            return cuda_error(dnamba_e, __FILE__ ":" DNAMBA_STRINGIFY(__LINE__) " " #call); \
    } while (0)
#define DNAMBA_STRINGIFY2(x) #x
#define DNAMBA_STRINGIFY(x) DNAMBA_STRINGIFY2(x)

__device__ __forceinline__ int row_at(int s, int length, bool reverse) { return reverse ? length - 1 - s : s; }

template <int NS>
__global__ void scan_chunk_summaries(ScanArgs a, int chunk, int n_chunks, float* P, float* S) {
    const int d = blockIdx.x * blockDim.x + threadIdx.x;
    const int c = blockIdx.y;
    if (d >= a.d_inner) return;
    float A[NS], h[NS], p[NS];
#pragma unroll
    for (int n = 0; n < NS; ++n) {
        A[n] = n < a.d_state ? a.A[d * a.d_state + n] : 0.0f;
        h[n] = 0.0f;
        p[n] = 1.0f;
    }
    const int s0 = c * chunk, s1 = min(a.length, s0 + chunk);
    for (int s = s0; s < s1; ++s) {
        const int t = row_at(s, a.length, a.reverse);
        const float dt = a.delta[(size_t)t * a.d_inner + d];
        const float du = dt * a.u[(size_t)t * a.d_inner + d];
        const float* Bt = a.B + (size_t)t * a.ld_bc;
        const bool restart = a.reset != nullptr && a.reset[t] != 0;
#pragma unroll
        for (int n = 0; n < NS; ++n) {
            if (n >= a.d_state) break;
            const float decay = __expf(dt * A[n]);
            if (restart) {
                h[n] = 0.0f;
                p[n] = 0.0f;
            }
            h[n] = decay * h[n] + du * Bt[n];
            p[n] *= decay;
        }
    }
    const size_t base = ((size_t)c * a.d_inner + d) * a.d_state;
#pragma unroll
    for (int n = 0; n < NS; ++n) {
        if (n >= a.d_state) break;
        P[base + n] = p[n];
        S[base + n] = h[n];
    }
    (void)n_chunks;
}

// One thread per (channel, state): the carry is a short sequential walk over the chunks.
__global__ void scan_carry(int d_inner, int d_state, int n_chunks, const float* P, const float* S, float* H) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const int per_chunk = d_inner * d_state;
    if (i >= per_chunk) return;
    float h = 0.0f;
    for (int c = 0; c < n_chunks; ++c) {
        const size_t at = (size_t)c * per_chunk + i;
        H[at] = h;
        h = P[at] * h + S[at];
    }
}

template <int NS>
__global__ void scan_outputs(ScanArgs a, int chunk, const float* H) {
    const int d = blockIdx.x * blockDim.x + threadIdx.x;
    const int c = blockIdx.y;
    if (d >= a.d_inner) return;
    float A[NS], h[NS];
    const size_t base = ((size_t)c * a.d_inner + d) * a.d_state;
#pragma unroll
    for (int n = 0; n < NS; ++n) {
        A[n] = n < a.d_state ? a.A[d * a.d_state + n] : 0.0f;
        h[n] = n < a.d_state ? H[base + n] : 0.0f;
    }
    const float Dd = a.D ? a.D[d] : 0.0f;
    const int s0 = c * chunk, s1 = min(a.length, s0 + chunk);
    for (int s = s0; s < s1; ++s) {
        const int t = row_at(s, a.length, a.reverse);
        const float uu = a.u[(size_t)t * a.d_inner + d];
        const float dt = a.delta[(size_t)t * a.d_inner + d];
        const float du = dt * uu;
        const float* Bt = a.B + (size_t)t * a.ld_bc;
        const float* Ct = a.C + (size_t)t * a.ld_bc;
        const bool restart = a.reset != nullptr && a.reset[t] != 0;
        float y = 0.0f;
#pragma unroll
        for (int n = 0; n < NS; ++n) {
            if (n >= a.d_state) break;
            if (restart) h[n] = 0.0f;
            h[n] = __expf(dt * A[n]) * h[n] + du * Bt[n];
            y += Ct[n] * h[n];
        }
        y += Dd * uu;
        if (a.z) {
            const float zz = a.z[(size_t)t * a.ld_z + d];
            y *= zz / (1.0f + __expf(-zz));
        }
        a.y[(size_t)t * a.d_inner + d] = y;
    }
}

template <int NS>
std::string launch(const ScanArgs& a, int chunk) {
    const int n_chunks = (a.length + chunk - 1) / chunk;
    const size_t per = (size_t)n_chunks * a.d_inner * a.d_state;
    float* P = a.workspace;
    float* S = P + per;
    float* H = S + per;
    const dim3 block(k_threads);
    const dim3 grid((a.d_inner + k_threads - 1) / k_threads, n_chunks);
    scan_chunk_summaries<NS><<<grid, block>>>(a, chunk, n_chunks, P, S);
    DNAMBA_CUDA_RETURN(cudaGetLastError());
    scan_carry<<<(a.d_inner * a.d_state + k_threads - 1) / k_threads, block>>>(a.d_inner, a.d_state, n_chunks, P, S, H);
    DNAMBA_CUDA_RETURN(cudaGetLastError());
    scan_outputs<NS><<<grid, block>>>(a, chunk, H);
    DNAMBA_CUDA_RETURN(cudaGetLastError());
    return "";
}

}  // namespace

std::string device_alloc(void** ptr, std::size_t bytes) noexcept {
    DNAMBA_CUDA_RETURN(cudaMalloc(ptr, bytes == 0 ? 1 : bytes));
    return "";
}

void device_free(void* ptr) noexcept {
    if (ptr) cudaFree(ptr);
}

std::string copy_to_device(void* dst, const void* src, std::size_t bytes) noexcept {
    DNAMBA_CUDA_RETURN(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
    return "";
}

std::string copy_to_host(void* dst, const void* src, std::size_t bytes) noexcept {
    DNAMBA_CUDA_RETURN(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
    return "";
}

std::string host_alloc_pinned(void** ptr, std::size_t bytes) noexcept {
    DNAMBA_CUDA_RETURN(cudaMallocHost(ptr, bytes == 0 ? 1 : bytes));
    return "";
}

void host_free_pinned(void* ptr) noexcept {
    if (ptr) cudaFreeHost(ptr);
}

std::string device_synchronize() noexcept {
    DNAMBA_CUDA_RETURN(cudaDeviceSynchronize());
    return "";
}

int scan_default_chunk(int length) noexcept {
    // about 256 chunks for long inputs: with d_inner 512 that is 1,024 blocks of 128 threads
    // (enough to fill an H100), while the carried-state walk stays short; at least 64 rows
    const int chunk = (length + 255) / 256;
    return chunk < 64 ? 64 : chunk;
}

std::size_t scan_workspace_floats(int length, int d_inner, int d_state, int chunk) noexcept {
    if (chunk <= 0) chunk = scan_default_chunk(length);
    const std::size_t n_chunks = (static_cast<std::size_t>(length) + chunk - 1) / chunk;
    return 3 * n_chunks * static_cast<std::size_t>(d_inner) * static_cast<std::size_t>(d_state);
}

std::string selective_scan(const ScanArgs& a) noexcept {
    if (a.length <= 0 || a.d_inner <= 0) return "selective_scan: empty input";
    if (a.d_state < 1 || a.d_state > 64) return "selective_scan: d_state must be 1..64";
    if (!a.u || !a.delta || !a.A || !a.B || !a.C || !a.y || !a.workspace) return "selective_scan: missing buffer";
    if (a.ld_bc < a.d_state || (a.z && a.ld_z < a.d_inner)) return "selective_scan: row strides too small";
    const int chunk = a.chunk > 0 ? a.chunk : scan_default_chunk(a.length);
    if (a.d_state <= 4) return launch<4>(a, chunk);
    if (a.d_state <= 8) return launch<8>(a, chunk);
    if (a.d_state <= 16) return launch<16>(a, chunk);
    if (a.d_state <= 32) return launch<32>(a, chunk);
    return launch<64>(a, chunk);
}

}  // namespace dnamba::kernels
