// Causal depthwise conv1d + SiLU and the fused residual add + row norm (see conv_norm.hpp).
// Both are memory-bound: one thread per (channel, tile of rows) for the conv, one warp per row
// for the norm (two warp reductions: sum and sum of squares of the centred values).
#include <cstdint>

#include "conv_norm.hpp"
#include "device_common.cuh"

namespace dnamba::kernels {
namespace {

constexpr int k_conv_rows = 32;  // output rows per thread
constexpr int k_conv_max_taps = 8;  // taps kept in registers (d_conv is 4 in every Mamba model)

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

__device__ __forceinline__ float silu(float v) { return __fdividef(v, 1.0f + __expf(-v)); }

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
#pragma unroll
        for (int i = 0; i < k_conv_rows; ++i) {
#pragma unroll
            for (int k = 0; k + 1 < K; ++k)
#pragma unroll
                for (int c = 0; c < W; ++c) win[k][c] = win[k + 1][c];
            load_w<W>(xp + i * xs, win[K - 1]);
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
std::string conv_launch(const ConvArgs<T>& a) noexcept {
    const int threads = 128;
    const int channel_blocks = (a.d_inner / W + threads - 1) / threads;
    if (channel_blocks > 65535) return "conv1d_silu: d_inner too large for one launch";
    const dim3 grid((unsigned)((a.length + k_conv_rows - 1) / k_conv_rows), (unsigned)channel_blocks);
    const auto x = device_ptr(a.x);
    const auto U = device_ptr(a.U);
#define DNAMBA_CONV_CASE(KT)                                                                                          \
    case KT:                                                                                                          \
        conv1d_silu_kernel<KT, W><<<grid, threads>>>(x, a.ld_x, a.x_row0, a.w, a.bias, a.row0, a.length, a.total_rows, \
                                                     a.d_inner, a.reverse, a.seg_begin, a.seg_end, U);                \
        break;
    switch (a.kernel) {
        DNAMBA_CONV_CASE(1)
        DNAMBA_CONV_CASE(2)
        DNAMBA_CONV_CASE(3)
        DNAMBA_CONV_CASE(4)
        DNAMBA_CONV_CASE(5)
        DNAMBA_CONV_CASE(6)
        DNAMBA_CONV_CASE(7)
        DNAMBA_CONV_CASE(8)
    }
#undef DNAMBA_CONV_CASE
    return launch_status("conv1d_silu");
}

template <typename T>
std::string conv_any(const ConvArgs<T>& a) noexcept {
    if (a.length <= 0 || a.d_inner <= 0 || a.kernel <= 0) return "conv1d_silu: empty input";
    if (!a.x || !a.w || !a.U) return "conv1d_silu: missing buffer";
    if (a.kernel > k_conv_max_taps) return "conv1d_silu: at most 8 taps (d_conv) are supported";
    // two channels per thread when every row of x and U starts at an even channel (aligned pairs)
    const bool pairs = a.d_inner % 2 == 0 && a.ld_x % 2 == 0 &&
                       reinterpret_cast<std::uintptr_t>(a.x) % (2 * sizeof(T)) == 0 &&
                       reinterpret_cast<std::uintptr_t>(a.U) % (2 * sizeof(T)) == 0;
    return pairs ? conv_launch<2>(a) : conv_launch<1>(a);
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

template <typename HV, typename V>
__global__ void add_norm_kernel(float* r, const HV* h, int C, int d, bool swap, int row0, int length, int u0, int u1,
                                int col0, const float* weight, const float* bias, bool layer_norm, float eps,
                                bool reverse_weight, V* y, int ld_y) {
    const int t = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (t >= length) return;
    const int g = row0 + t;
    float* rr = r + (size_t)g * C;
    const HV* hh = h ? h + (size_t)g * C : nullptr;
    // column c of the updated row, from the stored (not yet updated) row
    auto updated = [&](int c) {
        const int src = swap ? (c < d ? c + d : c - d) : c;
        return hh ? rr[src] + load_f(hh + src) : rr[src];
    };
    const bool update = g >= u0 && g < u1;
    const bool pending = g >= u1 && u1 > u0;
    if (update) {
        if (swap) {  // each lane owns the pairs (j, j+d)
            for (int j = lane; j < d; j += 32) {
                const float a = updated(j), b = updated(j + d);
                rr[j] = a;
                rr[j + d] = b;
            }
        } else if (hh) {
            for (int j = lane; j < C; j += 32) rr[j] += load_f(hh + j);
        }
        __syncwarp();
    }
    auto value = [&](int i) { return pending ? updated(col0 + i) : rr[col0 + i]; };
    float sum = 0.0f;
    for (int i = lane; i < d; i += 32) sum += value(i);
    const float mean = layer_norm ? warp_sum(sum) / d : 0.0f;
    float sq = 0.0f;
    for (int i = lane; i < d; i += 32) {
        const float c = value(i) - mean;
        sq += c * c;
    }
    const float rs = rsqrtf(warp_sum(sq) / d + eps);
    V* yr = y + (size_t)t * ld_y;
    for (int i = lane; i < d; i += 32) {
        const int wi = reverse_weight ? d - 1 - i : i;
        float v = (value(i) - mean) * rs * weight[wi];
        if (layer_norm && bias) v += bias[wi];
        store_f(yr + i, v);
    }
}

template <typename H, typename T>
std::string add_norm_any(const AddNormArgs<H, T>& a) noexcept {
    if (a.length <= 0 || a.d <= 0) return "add_norm_rows: empty input";
    if (a.swap_halves && a.C != 2 * a.d) return "add_norm_rows: the half swap needs C = 2d";
    const int rows_per_block = 4;
    add_norm_kernel<<<(a.length + rows_per_block - 1) / rows_per_block, 32 * rows_per_block>>>(
        a.residual, device_ptr(a.hidden), a.C, a.d, a.swap_halves, a.row0, a.length, a.update_begin, a.update_end,
        a.col0, a.weight, a.bias, a.layer_norm, a.eps, a.reverse_weight, device_ptr(a.y), a.ld_y);
    return launch_status("add_norm_rows");
}

}  // namespace

std::string add_norm_rows(const AddNormArgs<float, float>& a) noexcept { return add_norm_any(a); }
std::string add_norm_rows(const AddNormArgs<bf16, bf16>& a) noexcept { return add_norm_any(a); }
std::string add_norm_rows(const AddNormArgs<bf16, float>& a) noexcept { return add_norm_any(a); }

std::string conv1d_silu(const ConvArgs<float>& a) noexcept { return conv_any(a); }
std::string conv1d_silu(const ConvArgs<bf16>& a) noexcept { return conv_any(a); }

}  // namespace dnamba::kernels
