// The scan's delta in one pass (see scan.hpp: scan_delta): dt_proj over the first R columns of
// x_proj's output, its bias and the softplus, written once for both passes of the chunked scan
// (which then runs with delta_softplus off). What it replaces: a cuBLAS GEMM with K = R (16 for
// the 131k shape, a pass that only moves bytes) writing dt, then a softplus in each scan pass.
// A thread owns two adjacent channels (their weight rows in registers, fp32, loaded 16 bytes at a
// time where the rows allow); a block stages
// k_rows rows of X as fp32 in shared memory and walks them, every thread reading each row's R
// values as broadcasts, k_group rows at a time; stores of two channels at once where the rows
// allow it. (Rows past the end are staged as zeros, so a group may run past them unstored.)
// In bf16 the dot products run on the tensor cores instead (scan_delta_tc_kernel below).
#include <cstdint>
#include <type_traits>

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

// ---- bf16: the dot products on the tensor cores -----------------------------------------------
// mma.sync m16n8k16 (bf16 in, fp32 accumulate: the bf16 products are exact in fp32 as in the FMA
// kernel; only the order of the sums differs), so an output costs its bias add, the softplus and
// its share of the stores. A block stages k_tc_rows rows of X in shared memory (bf16, zeros past
// R and past the end, rows padded so that the fragment loads hit 32 distinct banks); each of its
// warps holds the W fragments and biases of k_tc_warp_channels channels for its life and walks
// the block's row tiles of 16. A tile's outputs go through a warp-private shared-memory tile
// (fragment layout in, rows out), so every global store is 16 contiguous bytes of a row and a
// warp's store covers whole 32-byte sectors. (Session 9's version loaded X fragments straight
// from L2 and stored fragments directly: slower than the FMA kernel, PERF_NOTES entry 26.)
// 32 channels a warp: 60 registers and four blocks an SM (64 channels took 96 and two: 84.8 ->
// 81.2 us a 131k-row call, PERF_NOTES entry 33).
constexpr int k_tc_warps = 8;
constexpr int k_tc_warp_channels = 32;                  // 4 n-blocks of 8
constexpr int k_tc_rows = 128;                          // 8 row tiles of 16
constexpr int k_tc_out_pitch = k_tc_warp_channels + 8;  // 20 words a row: fragment writes conflict-free

template <int KS>  // k-steps of 16: R <= 16 * KS
struct TcShared {
    unsigned xs[k_tc_rows][8 * KS + 4];  // bf16 pairs; a pitch of 12 / 20 words: conflict-free
    __nv_bfloat16 ys[k_tc_warps][16][k_tc_out_pitch];
};

template <int KS>
__global__ void __launch_bounds__(32 * k_tc_warps, 4)
    scan_delta_tc_kernel(const __nv_bfloat16* X, int ldx, const __nv_bfloat16* W, const float* bias, int d_inner,
                         int R, int L, __nv_bfloat16* out, int ldo, bool vec) {
    __shared__ __align__(16) TcShared<KS> sm;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, tq = lane & 3;  // fragment row group and pair index
    const int t0 = blockIdx.x * k_tc_rows;
    {
        __nv_bfloat16* xs = reinterpret_cast<__nv_bfloat16*>(&sm.xs[0][0]);
        constexpr int cols = 16 * KS, pitch = 2 * (8 * KS + 4);
        for (int i = threadIdx.x; i < k_tc_rows * cols; i += 32 * k_tc_warps) {
            const int j = i / cols, r = i % cols;
            xs[j * pitch + r] = (t0 + j < L && r < R) ? X[(size_t)(t0 + j) * ldx + r] : __float2bfloat16(0.0f);
        }
    }
    const int ch0 = (blockIdx.y * k_tc_warps + warp) * k_tc_warp_channels;
    constexpr int NB = k_tc_warp_channels / 8;
    unsigned bw[NB][KS][2];
    float b_lo[NB], b_hi[NB];  // biases of this thread's two output channels of each n-block
#pragma unroll
    for (int j = 0; j < NB; ++j) {
#pragma unroll
        for (int s = 0; s < KS; ++s) {
            bw[j][s][0] = weight_pair(W, R, d_inner, ch0 + 8 * j + g, 16 * s + 2 * tq);
            bw[j][s][1] = weight_pair(W, R, d_inner, ch0 + 8 * j + g, 16 * s + 2 * tq + 8);
        }
        const int oc = ch0 + 8 * j + 2 * tq;
        b_lo[j] = (bias && oc < d_inner) ? bias[oc] : 0.0f;
        b_hi[j] = (bias && oc + 1 < d_inner) ? bias[oc + 1] : 0.0f;
    }
    __syncthreads();
    if (ch0 >= d_inner) return;  // no block-wide barrier below
    __nv_bfloat16(*ys)[k_tc_out_pitch] = sm.ys[warp];
    for (int r0 = 0; r0 < k_tc_rows && t0 + r0 < L; r0 += 16) {
        float acc[NB][4];
#pragma unroll
        for (int j = 0; j < NB; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
#pragma unroll
        for (int s = 0; s < KS; ++s) {
            const unsigned a[4] = {sm.xs[r0 + g][8 * s + tq], sm.xs[r0 + g + 8][8 * s + tq],
                                   sm.xs[r0 + g][8 * s + tq + 4], sm.xs[r0 + g + 8][8 * s + tq + 4]};
#pragma unroll
            for (int j = 0; j < NB; ++j) mma_bf16_16816(acc[j], a, bw[j][s][0], bw[j][s][1]);
        }
#pragma unroll
        for (int j = 0; j < NB; ++j) {
            *reinterpret_cast<__nv_bfloat162*>(&ys[g][8 * j + 2 * tq]) =
                __floats2bfloat162_rn(softplus(acc[j][0] + b_lo[j]), softplus(acc[j][1] + b_hi[j]));
            *reinterpret_cast<__nv_bfloat162*>(&ys[g + 8][8 * j + 2 * tq]) =
                __floats2bfloat162_rn(softplus(acc[j][2] + b_lo[j]), softplus(acc[j][3] + b_hi[j]));
        }
        __syncwarp();
        // rows out: 16 bytes (8 channels) a lane, k_tc_warp_channels / 8 lanes a row
        constexpr int lanes_per_row = k_tc_warp_channels / 8, rows_per_step = 32 / lanes_per_row;
#pragma unroll
        for (int q = 0; q < 16 / rows_per_step; ++q) {
            const int row = rows_per_step * q + lane / lanes_per_row, cp = 8 * (lane % lanes_per_row);
            const int t = t0 + r0 + row, ch = ch0 + cp;
            if (t >= L || ch >= d_inner) continue;
            __nv_bfloat16* o = out + (size_t)t * ldo + ch;
            if (vec && ch + 8 <= d_inner) {
                *reinterpret_cast<uint4*>(o) = *reinterpret_cast<const uint4*>(&ys[row][cp]);
            } else {
                for (int e = 0; e < 8 && ch + e < d_inner; ++e) o[e] = ys[row][cp + e];
            }
        }
        __syncwarp();
    }
}

// Which kernel computes bf16 deltas: the tensor cores unless DNAMBA_DELTA=simt in the environment
// (the FMA kernel, kept for fp32; the override is for benchmarks and diagnosis).
bool delta_on_tensor_cores() noexcept {
    static const bool v = !env_equals("DNAMBA_DELTA", "simt");
    return v;
}

template <typename T>
Status scan_delta_any(const T* X, int ldx, const T* W, const float* bias, int d_inner, int R, int L, T* delta,
                      int ld_delta) noexcept {
    if (L <= 0 || d_inner <= 0) return "scan_delta: empty input";
    if (R < 1 || R > k_scan_delta_max_rank) return "scan_delta: dt_rank must be 1..32";
    if (!X || !W || !delta) return "scan_delta: missing buffer";
    if (ldx < R || ld_delta < d_inner) return "scan_delta: row strides too small";
    using V = device_t<T>;
    if constexpr (std::is_same_v<V, __nv_bfloat16>) {
        if (delta_on_tensor_cores()) {
            const bool vec = reinterpret_cast<std::uintptr_t>(delta) % 16 == 0 && ld_delta % 8 == 0;
            const dim3 grid((L + k_tc_rows - 1) / k_tc_rows,
                            (d_inner + k_tc_warps * k_tc_warp_channels - 1) / (k_tc_warps * k_tc_warp_channels));
            const auto launch = [&](auto ks) {
                scan_delta_tc_kernel<decltype(ks)::value><<<grid, 32 * k_tc_warps>>>(
                    device_ptr(X), ldx, device_ptr(W), bias, d_inner, R, L, device_ptr(delta), ld_delta, vec);
                return launch_status("scan_delta (dt_proj on the tensor cores + bias + softplus)");
            };
            return R <= 16 ? launch(std::integral_constant<int, 1>{}) : launch(std::integral_constant<int, 2>{});
        }
    }
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
