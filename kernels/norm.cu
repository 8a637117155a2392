// The fused residual add + row norm (see norm.hpp): memory-bound, one warp per row (two warp
// reductions: sum and sum of squares of the centred values).
#include <cstdint>

#include "device_common.cuh"
#include "norm.hpp"

namespace dnamba::kernels {
namespace {

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

// 4 consecutive values at p (16-byte aligned for fp32, 8-byte for bf16) as floats, and back.
__device__ __forceinline__ float4 load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 load4(const __nv_bfloat16* p) {
    const uint2 w = *reinterpret_cast<const uint2*>(p);
    return make_float4(__uint_as_float(w.x << 16), __uint_as_float(w.x & 0xffff0000u), __uint_as_float(w.y << 16),
                       __uint_as_float(w.y & 0xffff0000u));
}
__device__ __forceinline__ void store4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
__device__ __forceinline__ void store4(__nv_bfloat16* p, float4 v) {
    const __nv_bfloat162 a = __floats2bfloat162_rn(v.x, v.y), b = __floats2bfloat162_rn(v.z, v.w);
    *reinterpret_cast<uint2*>(p) = make_uint2(*reinterpret_cast<const unsigned*>(&a), *reinterpret_cast<const unsigned*>(&b));
}

// The same, with the row in registers: read once, written once, reduced from registers (the
// kernel above reads each row four times with scalar loads). Lane l holds the columns
// 128 i + 4 l .. + 3 for i < NV = C / 128, so the half swap of RCPS (d a multiple of 128) is a
// permutation of i within each lane and the normed half [col0, col0 + d) is a range of i.
template <int NV, typename HV, typename V>
__global__ void add_norm_vec_kernel(float* r, const HV* h, int d, bool swap, int row0, int length, int u0, int u1,
                                    int col0, const float* weight, const float* bias, bool layer_norm, float eps,
                                    bool reverse_weight, V* y, int ld_y) {
    constexpr int C = 128 * NV;
    const int t = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (t >= length) return;
    const int g = row0 + t;
    float* rr = r + (size_t)g * C + 4 * lane;
    const bool update = g >= u0 && g < u1;
    const bool pending = g >= u1 && u1 > u0;
    float4 v[NV];
#pragma unroll
    for (int i = 0; i < NV; ++i) v[i] = load4(rr + 128 * i);
    if (update || pending) {
        if (h) {
            const HV* hh = h + (size_t)g * C + 4 * lane;
#pragma unroll
            for (int i = 0; i < NV; ++i) {
                const float4 x = load4(hh + 128 * i);
                v[i].x += x.x, v[i].y += x.y, v[i].z += x.z, v[i].w += x.w;
            }
        }
        if (swap) {
#pragma unroll
            for (int i = 0; i < NV / 2; ++i) {
                const float4 tmp = v[i];
                v[i] = v[i + NV / 2];
                v[i + NV / 2] = tmp;
            }
        }
        if (update) {
#pragma unroll
            for (int i = 0; i < NV; ++i) store4(rr + 128 * i, v[i]);
        }
    }
    const int i0 = col0 / 128, n = d / 128;
    float mean = 0.0f;
    if (layer_norm) {
        float sum = 0.0f;
#pragma unroll
        for (int i = 0; i < NV; ++i)
            if (i >= i0 && i < i0 + n) sum += (v[i].x + v[i].y) + (v[i].z + v[i].w);
        mean = warp_sum(sum) / d;
    }
    float sq = 0.0f;
#pragma unroll
    for (int i = 0; i < NV; ++i)
        if (i >= i0 && i < i0 + n) {
            const float a = v[i].x - mean, b = v[i].y - mean, c = v[i].z - mean, e = v[i].w - mean;
            sq += (a * a + b * b) + (c * c + e * e);
        }
    const float rs = rsqrtf(warp_sum(sq) / d + eps);
    V* yr = y + (size_t)t * ld_y + 4 * lane;
#pragma unroll
    for (int i = 0; i < NV; ++i) {
        if (i < i0 || i >= i0 + n) continue;
        const int j = 128 * (i - i0) + 4 * lane;  // output column of v[i].x
        float4 w, b = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (reverse_weight) {  // columns j..j+3 take weights d-1-j .. d-4-j
            const float4 q = load4(weight + d - 4 - j);
            w = make_float4(q.w, q.z, q.y, q.x);
            if (layer_norm && bias) {
                const float4 p = load4(bias + d - 4 - j);
                b = make_float4(p.w, p.z, p.y, p.x);
            }
        } else {
            w = load4(weight + j);
            if (layer_norm && bias) b = load4(bias + j);
        }
        float4 o;
        o.x = fmaf((v[i].x - mean) * rs, w.x, b.x);
        o.y = fmaf((v[i].y - mean) * rs, w.y, b.y);
        o.z = fmaf((v[i].z - mean) * rs, w.z, b.z);
        o.w = fmaf((v[i].w - mean) * rs, w.w, b.w);
        store4(yr + 128 * (i - i0), o);
    }
}

template <typename P>
bool aligned(const P* p, std::size_t bytes) {
    return reinterpret_cast<std::uintptr_t>(p) % bytes == 0;
}

template <typename H, typename T>
Status add_norm_any(const AddNormArgs<H, T>& a) noexcept {
    if (a.length <= 0 || a.d <= 0) return "add_norm_rows: empty input";
    if (a.swap_halves && a.C != 2 * a.d) return "add_norm_rows: the half swap needs C = 2d";
    const int rows_per_block = 4;
    // rows in registers where the columns split into 128-wide groups and every row is aligned
    // for 4-value loads and stores (every model with d_model a multiple of 128)
    const int nv = a.C / 128;
    const bool vec = a.C % 128 == 0 && a.d % 128 == 0 && a.col0 % 128 == 0 && (a.C == a.d || a.C == 2 * a.d) &&
                     (nv == 1 || nv == 2 || nv == 4 || nv == 8) && aligned(a.residual, 16) &&
                     aligned(a.hidden, 4 * sizeof(H)) && aligned(a.y, 4 * sizeof(T)) && a.ld_y % 4 == 0 &&
                     aligned(a.weight, 16) && aligned(a.bias, 16);
    if (vec) {
        return with_int<1, 2, 4, 8>(nv, "add_norm_rows: unsupported width", [&](auto k) {
            add_norm_vec_kernel<decltype(k)::value><<<(a.length + rows_per_block - 1) / rows_per_block, 32 * rows_per_block>>>(
                a.residual, device_ptr(a.hidden), a.d, a.swap_halves, a.row0, a.length, a.update_begin, a.update_end,
                a.col0, a.weight, a.bias, a.layer_norm, a.eps, a.reverse_weight, device_ptr(a.y), a.ld_y);
            return launch_status("add_norm_rows");
        });
    }
    add_norm_kernel<<<(a.length + rows_per_block - 1) / rows_per_block, 32 * rows_per_block>>>(
        a.residual, device_ptr(a.hidden), a.C, a.d, a.swap_halves, a.row0, a.length, a.update_begin, a.update_end,
        a.col0, a.weight, a.bias, a.layer_norm, a.eps, a.reverse_weight, device_ptr(a.y), a.ld_y);
    return launch_status("add_norm_rows");
}

}  // namespace

Status add_norm_rows(const AddNormArgs<float, float>& a) noexcept { return add_norm_any(a); }
Status add_norm_rows(const AddNormArgs<bf16, bf16>& a) noexcept { return add_norm_any(a); }
Status add_norm_rows(const AddNormArgs<bf16, float>& a) noexcept { return add_norm_any(a); }

}  // namespace dnamba::kernels
