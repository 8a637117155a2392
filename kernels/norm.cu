// The fused residual add + row norm (see norm.hpp): memory-bound, one warp per row (two warp
// reductions: sum and sum of squares of the centred values).
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

template <typename H, typename T>
Status add_norm_any(const AddNormArgs<H, T>& a) noexcept {
    if (a.length <= 0 || a.d <= 0) return "add_norm_rows: empty input";
    if (a.swap_halves && a.C != 2 * a.d) return "add_norm_rows: the half swap needs C = 2d";
    const int rows_per_block = 4;
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
