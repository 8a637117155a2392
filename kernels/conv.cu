// Causal depthwise conv1d + SiLU (see conv.hpp): memory-bound, one thread per (channel pair or
// channel, tile of rows), the x values of a tile loaded once each into a register window.
#include <cstdint>

#include "conv.hpp"
#include "device_common.cuh"

namespace dnamba::kernels {
namespace {

constexpr int k_conv_rows = 32;  // output rows per thread

// W consecutive channels of one row as floats (W = 2: one 4-byte bf16x2 or 8-byte float2 load).
template <int W>
__device__ __forceinline__ void load_w(const float* p, float (&v)[W]) {
    if constexpr (W == 2) {
        const float2 t = *reinterpret_cast<const float2*>(p);
        v[0] = t.x;
        v[1] = t.y;
    } else {
        v[0] = *p;
    }
}
template <int W>
__device__ __forceinline__ void load_w(const __nv_bfloat16* p, float (&v)[W]) {
    if constexpr (W == 2) {
        const float2 t = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p));
        v[0] = t.x;
        v[1] = t.y;
    } else {
        v[0] = __bfloat162float(*p);
    }
}
template <int W>
__device__ __forceinline__ void store_w(float* p, const float (&v)[W]) {
    if constexpr (W == 2) *reinterpret_cast<float2*>(p) = make_float2(v[0], v[1]);
    else *p = v[0];
}
template <int W>
__device__ __forceinline__ void store_w(__nv_bfloat16* p, const float (&v)[W]) {
    if constexpr (W == 2) *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(v[0], v[1]);
    else *p = __float2bfloat16(v[0]);
}

// W channels of one row as loaded (bf16x2 / float2 / one element), unpacked later.
template <typename V, int W>
struct RawOf {
    using type = V;
};
template <>
struct RawOf<float, 2> {
    using type = float2;
};
template <>
struct RawOf<__nv_bfloat16, 2> {
    using type = __nv_bfloat162;
};
template <typename V, int W>
using Raw = typename RawOf<V, W>::type;
template <int W, typename V>
__device__ __forceinline__ Raw<V, W> load_raw(const V* p) {
    return *reinterpret_cast<const Raw<V, W>*>(p);
}
template <int W>
__device__ __forceinline__ void unpack_raw(float2 r, float (&v)[W]) {
    v[0] = r.x;
    v[1] = r.y;
}
template <int W>
__device__ __forceinline__ void unpack_raw(__nv_bfloat162 r, float (&v)[W]) {
    const float2 t = __bfloat1622float2(r);
    v[0] = t.x;
    v[1] = t.y;
}
template <int W>
__device__ __forceinline__ void unpack_raw(float r, float (&v)[W]) {
    v[0] = r;
}
template <int W>
__device__ __forceinline__ void unpack_raw(__nv_bfloat16 r, float (&v)[W]) {
    v[0] = __bfloat162float(r);
}

// One thread per (W channels, tile of k_conv_rows rows): the x values of the tile and its halo
// are loaded once each and slide through a register window. Taps outside the row's sequence
// [seg_begin, seg_end) contribute zero. A tile whose rows and taps all lie inside one sequence
// (almost every tile) takes the fast path: a fully unrolled loop with no per-row checks, so
// its loads are issued back to back; other tiles check every tap.
template <int K, int W, typename V>
__global__ void conv1d_silu_kernel(const V* x, int ld_x, int x_row0, const float* w, const float* bias, int row0,
                                   int length, int total_rows, int d_inner, bool reverse, const int* seg_begin,
                                   const int* seg_end, V* U) {
    const int d = (blockIdx.y * blockDim.x + threadIdx.x) * W;
    if (d >= d_inner) return;
    const int t0 = blockIdx.x * k_conv_rows, t1 = min(length, t0 + k_conv_rows);
    float b[W], wk[K][W], win[K][W];
    // window position i holds the row read by tap i (forward: g-(K-1)+i; reverse: g+(K-1)-i)
#pragma unroll
    for (int c = 0; c < W; ++c) {
        b[c] = bias ? bias[d + c] : 0.0f;
#pragma unroll
        for (int k = 0; k < K; ++k) {
            wk[k][c] = w[(d + c) * K + k];
            win[k][c] = 0.0f;
        }
    }
    const int step = reverse ? -1 : 1;
    const V* xd = x + d - (size_t)x_row0 * ld_x;
    auto fetch = [&](int s, float (&v)[W]) {
        if (s >= 0 && s < total_rows) {
            load_w<W>(xd + (size_t)s * ld_x, v);
        } else {
#pragma unroll
            for (int c = 0; c < W; ++c) v[c] = 0.0f;
        }
    };
    // rows are walked in scan order so that every new output needs one new row
    const int first = reverse ? t1 - 1 : t0;
    const int count = t1 - t0;
    const int g_first = row0 + first, g_last = row0 + first + step * (count - 1);
    // taps of the tile span [tap_lo, tap_hi]
    const int tap_lo = reverse ? g_last : g_first - (K - 1);
    const int tap_hi = reverse ? g_first + (K - 1) : g_last;
    const int lo = seg_begin ? seg_begin[g_first] : 0;
    const int hi = seg_end ? seg_end[g_first] : total_rows;
    const bool inside = count == k_conv_rows && tap_lo >= lo && tap_hi < hi &&
                        (!seg_begin || seg_begin[g_last] == lo);
#pragma unroll
    for (int k = 0; k + 1 < K; ++k) fetch(g_first - step * (K - 1) + step * k, win[k + 1]);
    if (inside) {
        const V* xp = xd + (size_t)g_first * ld_x;
        V* up = U + (size_t)first * d_inner + d;
        const ptrdiff_t xs = (ptrdiff_t)step * ld_x, us = (ptrdiff_t)step * d_inner;
        // the tile's rows raw into registers first, all loads in flight at once (interleaved
        // with the arithmetic they were ~2 a thread: 56 % of DRAM bandwidth, PERF_NOTES 49)
        Raw<V, W> raw[k_conv_rows];
#pragma unroll
        for (int i = 0; i < k_conv_rows; ++i) raw[i] = load_raw<W>(xp + i * xs);
#pragma unroll
        for (int i = 0; i < k_conv_rows; ++i) {
#pragma unroll
            for (int k = 0; k + 1 < K; ++k)
#pragma unroll
                for (int c = 0; c < W; ++c) win[k][c] = win[k + 1][c];
            unpack_raw<W>(raw[i], win[K - 1]);
            float out[W];
#pragma unroll
            for (int c = 0; c < W; ++c) {
                float acc = b[c];
#pragma unroll
                for (int k = 0; k < K; ++k) acc = fmaf(wk[k][c], win[k][c], acc);
                out[c] = silu(acc);
            }
            store_w<W>(up + i * us, out);
        }
        return;
    }
    for (int i = 0; i < count; ++i) {
        const int t = first + step * i;
        const int g = row0 + t;
#pragma unroll
        for (int k = 0; k + 1 < K; ++k)
#pragma unroll
            for (int c = 0; c < W; ++c) win[k][c] = win[k + 1][c];
        fetch(g, win[K - 1]);
        const int rlo = seg_begin ? seg_begin[g] : 0;
        const int rhi = seg_end ? seg_end[g] : total_rows;
        float out[W];
#pragma unroll
        for (int c = 0; c < W; ++c) {
            float acc = b[c];
#pragma unroll
            for (int k = 0; k < K; ++k) {
                const int s = g - step * (K - 1 - k);
                if (s >= rlo && s < rhi) acc = fmaf(wk[k][c], win[k][c], acc);
            }
            out[c] = silu(acc);
        }
        store_w<W>(U + (size_t)t * d_inner + d, out);
    }
}

template <int W, typename T>
Status conv_launch(const ConvArgs<T>& a) noexcept {
    const int threads = 128;
    const int channel_blocks = (a.d_inner / W + threads - 1) / threads;
    if (channel_blocks > 65535) return "conv1d_silu: d_inner too large for one launch";
    const dim3 grid((unsigned)((a.length + k_conv_rows - 1) / k_conv_rows), (unsigned)channel_blocks);
    const auto x = device_ptr(a.x);
    const auto U = device_ptr(a.U);
    return with_int<1, 2, 3, 4, 5, 6, 7, 8>(a.kernel, "conv1d_silu: at most 8 taps (d_conv) are supported", [&](auto k) {
        conv1d_silu_kernel<decltype(k)::value, W><<<grid, threads>>>(x, a.ld_x, a.x_row0, a.w, a.bias, a.row0,
                                                                     a.length, a.total_rows, a.d_inner, a.reverse,
                                                                     a.seg_begin, a.seg_end, U);
        return launch_status("conv1d_silu");
    });
}

template <typename T>
Status conv_any(const ConvArgs<T>& a) noexcept {
    if (a.length <= 0 || a.d_inner <= 0 || a.kernel <= 0) return "conv1d_silu: empty input";
    if (!a.x || !a.w || !a.U) return "conv1d_silu: missing buffer";
    if (a.kernel > k_conv_max_taps) return "conv1d_silu: at most 8 taps (d_conv) are supported";
    // two channels per thread when every row of x and U starts at an even channel (aligned pairs)
    const bool pairs = a.d_inner % 2 == 0 && a.ld_x % 2 == 0 &&
                       reinterpret_cast<std::uintptr_t>(a.x) % (2 * sizeof(T)) == 0 &&
                       reinterpret_cast<std::uintptr_t>(a.U) % (2 * sizeof(T)) == 0;
    return pairs ? conv_launch<2>(a) : conv_launch<1>(a);
}

}  // namespace

Status conv1d_silu(const ConvArgs<float>& a) noexcept { return conv_any(a); }
Status conv1d_silu(const ConvArgs<bf16>& a) noexcept { return conv_any(a); }

}  // namespace dnamba::kernels
