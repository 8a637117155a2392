// The scan's delta in one pass (see scan.hpp: scan_delta): dt_proj over the first R columns of
// x_proj's output, its bias and the softplus, written once for both passes of the chunked scan
// (which then runs with delta_softplus off). What it replaces: a cuBLAS GEMM with K = R (16 for
// the 131k shape, a pass that only moves bytes) writing dt, then a softplus in each scan pass.
// A thread owns two adjacent channels (their weight rows in registers, fp32, loaded 16 bytes at a
// time where the rows allow); a block stages
// k_rows rows of X as fp32 in shared memory and walks them, every thread reading each row's R
// values as broadcasts, k_group rows at a time; stores of two channels at once where the rows
// allow it. (Rows past the end are staged as zeros, so a group may run past them unstored.)
#include <cstdint>

#include "device_common.cuh"
#include "scan.hpp"
#include "scan_common.cuh"

namespace dnamba::kernels {
namespace {

using namespace scan_detail;

constexpr int k_threads = 256;
constexpr int k_rows = 128;  // rows a block stages (and its threads' weights serve)
constexpr int k_group = 4;   // rows a thread computes at once

template <typename V>
struct Pair;
template <>
struct Pair<float> {
    using type = float2;
    static __device__ __forceinline__ type make(float a, float b) { return make_float2(a, b); }
};
template <>
struct Pair<__nv_bfloat16> {
    using type = __nv_bfloat162;
    static __device__ __forceinline__ type make(float a, float b) { return __floats2bfloat162_rn(a, b); }
};

// 16 bytes of V as floats.
__device__ __forceinline__ void unpack16(const uint4& v, float* out, float) {
    const float4 f = *reinterpret_cast<const float4*>(&v);
    out[0] = f.x, out[1] = f.y, out[2] = f.z, out[3] = f.w;
}
__device__ __forceinline__ void unpack16(const uint4& v, float* out, __nv_bfloat16) {
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const float2 f = __bfloat1622float2(h[i]);
        out[2 * i] = f.x, out[2 * i + 1] = f.y;
    }
}

// Channel c's weight row (zeros past R, or for a channel past the end). With `vec` (R == RM,
// rows 16-byte aligned) in 16-byte loads: a warp's scalar loads of 32 rows 2*R*sizeof(V) bytes
// apart each touch 32 cache lines, and at one load per weight they kept the kernel waiting on
// L1 (ncu: 202 us per 131k rows, where its arithmetic needs ~75).
template <typename V, int RM>
__device__ __forceinline__ void load_weights(const V* W, int c, int R, bool in, bool vec, float (&w)[RM]) {
    if (vec && in) {
        constexpr int per = 16 / sizeof(V);
        const uint4* p = reinterpret_cast<const uint4*>(W + (size_t)c * RM);
#pragma unroll
        for (int q = 0; q < RM / per; ++q) unpack16(__ldg(p + q), w + q * per, V{});
        return;
    }
#pragma unroll
    for (int r = 0; r < RM; ++r) w[r] = (in && r < R) ? load_f(W + (size_t)c * R + r) : 0.0f;
}

// RM: R rounded up to a multiple of 4 (8, 16 or 32): the unrolled length of the dot products.
template <typename V, int RM>
__global__ void __launch_bounds__(k_threads)
    scan_delta_kernel(const V* X, int ldx, const V* W, const float* bias, int d_inner, int R, int L, V* out, int ldo,
                      bool pairs, bool vec) {
    __shared__ __align__(16) float xs[k_rows][RM];
    const int t0 = blockIdx.x * k_rows;
    const int rows = min(k_rows, L - t0);
    for (int i = threadIdx.x; i < k_rows * RM; i += k_threads) {
        const int j = i / RM, r = i % RM;
        xs[j][r] = (j < rows && r < R) ? load_f(X + (size_t)(t0 + j) * ldx + r) : 0.0f;
    }
    const int c = 2 * (blockIdx.y * k_threads + threadIdx.x);
    const bool in0 = c < d_inner, in1 = c + 1 < d_inner;
    float w0[RM], w1[RM];
    load_weights<V, RM>(W, c, R, in0, vec, w0);
    load_weights<V, RM>(W, c + 1, R, in1, vec, w1);
    const float b0 = (in0 && bias) ? bias[c] : 0.0f, b1 = (in1 && bias) ? bias[c + 1] : 0.0f;
    __syncthreads();
    if (!in0) return;
    // k_group rows at a time: 2 * k_group independent dot products and softplus chains in
    // flight per thread (one row at a time left the kernel waiting on its dependent FMAs)
    for (int j0 = 0; j0 < rows; j0 += k_group) {
        float a0[k_group], a1[k_group];
#pragma unroll
        for (int g = 0; g < k_group; ++g) a0[g] = a1[g] = 0.0f;
#pragma unroll
        for (int q = 0; q < RM / 4; ++q) {
#pragma unroll
            for (int g = 0; g < k_group; ++g) {
                const float4 x = reinterpret_cast<const float4*>(xs[j0 + g])[q];
                a0[g] = fmaf(x.x, w0[4 * q], a0[g]);
                a1[g] = fmaf(x.x, w1[4 * q], a1[g]);
                a0[g] = fmaf(x.y, w0[4 * q + 1], a0[g]);
                a1[g] = fmaf(x.y, w1[4 * q + 1], a1[g]);
                a0[g] = fmaf(x.z, w0[4 * q + 2], a0[g]);
                a1[g] = fmaf(x.z, w1[4 * q + 2], a1[g]);
                a0[g] = fmaf(x.w, w0[4 * q + 3], a0[g]);
                a1[g] = fmaf(x.w, w1[4 * q + 3], a1[g]);
            }
        }
#pragma unroll
        for (int g = 0; g < k_group; ++g) {
            if (j0 + g >= rows) break;
            const float d0 = softplus(a0[g] + b0), d1 = softplus(a1[g] + b1);
            V* o = out + (size_t)(t0 + j0 + g) * ldo + c;
            if (pairs && in1) {
                *reinterpret_cast<typename Pair<V>::type*>(o) = Pair<V>::make(d0, d1);
            } else {
                store_f(o, d0);
                if (in1) store_f(o + 1, d1);
            }
        }
    }
}

template <typename T>
Status scan_delta_any(const T* X, int ldx, const T* W, const float* bias, int d_inner, int R, int L, T* delta,
                      int ld_delta) noexcept {
    if (L <= 0 || d_inner <= 0) return "scan_delta: empty input";
    if (R < 1 || R > k_scan_delta_max_rank) return "scan_delta: dt_rank must be 1..32";
    if (!X || !W || !delta) return "scan_delta: missing buffer";
    if (ldx < R || ld_delta < d_inner) return "scan_delta: row strides too small";
    using V = device_t<T>;
    const bool pairs = reinterpret_cast<std::uintptr_t>(delta) % (2 * sizeof(V)) == 0 && ld_delta % 2 == 0;
    const dim3 grid((L + k_rows - 1) / k_rows, (d_inner + 2 * k_threads - 1) / (2 * k_threads));
    const int rm = R <= 8 ? 8 : R <= 16 ? 16 : 32;
    const bool vec = R == rm && reinterpret_cast<std::uintptr_t>(W) % 16 == 0 && (R * sizeof(V)) % 16 == 0;
    return with_int<8, 16, 32>(rm, "scan_delta: unsupported dt_rank", [&](auto v) {
        constexpr int RM = decltype(v)::value;
        scan_delta_kernel<V, RM><<<grid, k_threads>>>(device_ptr(X), ldx, device_ptr(W), bias, d_inner, R, L,
                                                       device_ptr(delta), ld_delta, pairs, vec);
        return launch_status("scan_delta (dt_proj + bias + softplus)");
    });
}

}  // namespace

Status scan_delta(const float* X, int ldx, const float* W, const float* bias, int d_inner, int R, int L,
                  float* delta, int ld_delta) noexcept {
    return scan_delta_any(X, ldx, W, bias, d_inner, R, L, delta, ld_delta);
}
Status scan_delta(const bf16* X, int ldx, const bf16* W, const float* bias, int d_inner, int R, int L, bf16* delta,
                  int ld_delta) noexcept {
    return scan_delta_any(X, ldx, W, bias, d_inner, R, L, delta, ld_delta);
}

}  // namespace dnamba::kernels
