// conv1d + SiLU, x_proj and the scan's delta in one kernel (see conv.hpp: conv_proj), bf16.
// What it replaces: conv1d_silu (writes u), a cuBLASLt GEMM (reads u again, writes x_dbl) and
// scan_delta (reads x_dbl's dt columns, writes delta) — three passes over the rows, where this
// one reads x once and writes u, x_dbl and delta once (kernels/PERF_NOTES.md, session 17).
//
// A block owns a tile of k_cp_rows rows and every channel:
//   1. conv + SiLU: work items of (k_cp_group rows, 8 channels) slide a register window down
//      their rows in scan order (conv.cu's arithmetic, operation for operation, so u agrees
//      with conv1d_silu to the bit); u goes to memory and into a bf16 tile in shared memory.
//   2. x_proj on the tensor cores (mma m16n8k16, fp32 sums): a warp per 8 output columns, over
//      the tile's row tiles of 16, its weight fragments from L2; x_dbl rounded to bf16 goes to
//      memory, its dt columns into a small shared tile.
//   3. dt_proj + bias + softplus on the tensor cores as scan_delta's tensor-core kernel computes
//      them (same fragments, same sums), staged in the u tile (free by then), then written 16
//      bytes a thread.
// delta may lie over the call's rows of x (the engine's shared chunk arrays): a block writes
// only its own rows, after a barrier that follows its reads of them, and the K-1 rows of halo
// that lie in a neighbouring tile come from `halo`, copied out by conv_proj_halo before.
#include <cstdint>

#include "conv.hpp"
#include "device_common.cuh"
#include "scan_common.cuh"

namespace dnamba::kernels {
namespace {

using namespace scan_detail;

constexpr int k_cp_warps = 8;
constexpr int k_cp_threads = 32 * k_cp_warps;
constexpr int k_cp_rows = 64;   // rows a block: 4 row tiles of 16
constexpr int k_cp_group = 16;  // rows a conv work item
constexpr int k_cp_taps = 4;    // d_conv (every checkpoint seen); others take the three kernels
constexpr int k_cp_halo = k_cp_taps - 1;

// The kernel's arguments with device element types.
struct ConvProj {
    const __nv_bfloat16* x;
    int ld_x, x_row0, row0, length, total_rows, d_inner, n_proj, ld_dbl, dt_rank, ld_delta;
    const float *w, *bias, *dt_bias;
    bool reverse;
    const int *seg_begin, *seg_end;
    __nv_bfloat16 *U, *x_dbl, *delta;
    const __nv_bfloat16 *x_proj, *dt_proj;
    __nv_bfloat16* halo;
};

// Shared memory: the u tile (later delta's), pitch d_inner + 8 (a row's 32-bit words then step
// 4 banks a row: the fragment loads and stores hit 32 distinct banks), then the dt columns of
// x_dbl, 8 * KS + 4 words a row (scan_delta's pitch).
__host__ __device__ inline int u_pitch(int d_inner) { return d_inner + 8; }
template <int KS>
constexpr int dt_pitch_words = 8 * KS + 4;
template <int KS>
std::size_t shared_bytes(int d_inner) {
    return sizeof(__nv_bfloat16) * static_cast<std::size_t>(k_cp_rows) * u_pitch(d_inner) +
           sizeof(unsigned) * static_cast<std::size_t>(k_cp_rows) * dt_pitch_words<KS>;
}

// Row g of x (global row number) for the first row of tile `tile` in scan order and the rows of
// halo before it: halo[tile][k] = x[g_first - (K-1) + k] (reverse: x[g_first + (K-1) - k]),
// zeros outside [0, total_rows). One thread per 16 bytes.
__global__ void conv_proj_halo(ConvProj a, int n_tiles) {
    const int octets = a.d_inner / 8;
    const long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long)n_tiles * k_cp_halo * octets) return;
    const int q = static_cast<int>(i % octets), k = static_cast<int>((i / octets) % k_cp_halo);
    const int tile = static_cast<int>(i / ((long)octets * k_cp_halo));
    const int t0 = tile * k_cp_rows, rows = min(k_cp_rows, a.length - t0);
    const int g_first = a.row0 + (a.reverse ? t0 + rows - 1 : t0);
    const int s = a.reverse ? g_first + (k_cp_halo - k) : g_first - (k_cp_halo - k);
    uint4 v = make_uint4(0u, 0u, 0u, 0u);
    if (s >= 0 && s < a.total_rows)
        v = *reinterpret_cast<const uint4*>(a.x + (size_t)(s - a.x_row0) * a.ld_x + 8 * q);
    reinterpret_cast<uint4*>(a.halo)[i] = v;
}

template <int KS>
__global__ void __launch_bounds__(k_cp_threads, 2) conv_proj_kernel(ConvProj a) {
    extern __shared__ __align__(16) unsigned char smem[];
    const int di = a.d_inner, pitch = u_pitch(di), pw = pitch / 2, octets = di / 8;
    constexpr int dpw = dt_pitch_words<KS>;
    __nv_bfloat16* ut = reinterpret_cast<__nv_bfloat16*>(smem);
    unsigned* dts = reinterpret_cast<unsigned*>(ut + (size_t)k_cp_rows * pitch);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, tq = lane & 3;  // fragment row group and pair index
    const int tile = blockIdx.x, t0 = tile * k_cp_rows;
    const int rows = min(k_cp_rows, a.length - t0);
    const int groups = (rows + k_cp_group - 1) / k_cp_group;  // groups with rows
    const int step = a.reverse ? -1 : 1;

    for (int i = tid; i < k_cp_rows * dpw; i += k_cp_threads) dts[i] = 0u;

    // ---- 1. conv + SiLU
    for (int item = tid; item < (k_cp_rows / k_cp_group) * octets; item += k_cp_threads) {
        const int q = item % octets, rg = item / octets, c = 8 * q;
        const int ta = t0 + k_cp_group * rg;  // the group's first row in memory order (call rows)
        const int count = rg < groups ? min(k_cp_group, a.length - ta) : 0;
        // rows past the end of the input: zeros into the tile (x_proj's sums see them)
        for (int r = count; r < k_cp_group; ++r)
            *reinterpret_cast<uint4*>(ut + (size_t)(ta - t0 + r) * pitch + c) = make_uint4(0u, 0u, 0u, 0u);
        if (count == 0) continue;
        float b[8], wk[k_cp_taps][8], win[k_cp_taps][8];
#pragma unroll
        for (int e = 0; e < 8; ++e) {
            b[e] = a.bias ? a.bias[c + e] : 0.0f;
#pragma unroll
            for (int k = 0; k < k_cp_taps; ++k) wk[k][e] = a.w[(c + e) * k_cp_taps + k];
        }
        const int first = a.reverse ? ta + count - 1 : ta;  // first row in scan order
        const int g_first = a.row0 + first, g_last = g_first + step * (count - 1);
        // window position k holds the row tap k reads: g - (K-1) + k (reverse: g + (K-1) - k)
        const bool first_group = a.reverse ? rg == groups - 1 : rg == 0;
        if (first_group) {  // rows of a neighbouring tile (or outside the input): the halo copy
            const uint4* hp = reinterpret_cast<const uint4*>(a.halo) + (size_t)tile * k_cp_halo * octets + q;
#pragma unroll
            for (int k = 0; k < k_cp_halo; ++k) unpack_bf16x8(hp[(size_t)k * octets], win[k + 1]);
        } else {  // rows of this tile (read before this block writes any delta), or past the end
#pragma unroll
            for (int k = 0; k < k_cp_halo; ++k) {
                const int s = g_first - step * (k_cp_halo - k);
                uint4 v = make_uint4(0u, 0u, 0u, 0u);
                if (s >= 0 && s < a.total_rows)
                    v = *reinterpret_cast<const uint4*>(a.x + (size_t)(s - a.x_row0) * a.ld_x + c);
                unpack_bf16x8(v, win[k + 1]);
            }
        }
        const int tap_lo = a.reverse ? g_last : g_first - k_cp_halo;
        const int tap_hi = a.reverse ? g_first + k_cp_halo : g_last;
        const int lo = a.seg_begin ? a.seg_begin[g_first] : 0;
        const int hi = a.seg_end ? a.seg_end[g_first] : a.total_rows;
        const bool inside = count == k_cp_group && tap_lo >= lo && tap_hi < hi &&
                            (!a.seg_begin || a.seg_begin[g_last] == lo);
        const __nv_bfloat16* xp = a.x + (size_t)(g_first - a.x_row0) * a.ld_x + c;
        __nv_bfloat16* up = a.U + (size_t)first * di + c;
        __nv_bfloat16* sp = ut + (size_t)(first - t0) * pitch + c;
        const ptrdiff_t xs = (ptrdiff_t)step * a.ld_x, us = (ptrdiff_t)step * di, ss = (ptrdiff_t)step * pitch;
        if (inside) {
            // half a group's rows loaded back to back, then their arithmetic (a whole group's
            // 16 loads in registers would spill at two blocks an SM)
            constexpr int half = k_cp_group / 2;
#pragma unroll
            for (int h = 0; h < k_cp_group; h += half) {
                uint4 raw[half];
#pragma unroll
                for (int r = 0; r < half; ++r) raw[r] = *reinterpret_cast<const uint4*>(xp + (h + r) * xs);
#pragma unroll
                for (int r = 0; r < half; ++r) {
                    const int i = h + r;
#pragma unroll
                    for (int k = 0; k + 1 < k_cp_taps; ++k)
#pragma unroll
                        for (int e = 0; e < 8; ++e) win[k][e] = win[k + 1][e];
                    unpack_bf16x8(raw[r], win[k_cp_taps - 1]);
                    float out[8];
#pragma unroll
                    for (int e = 0; e < 8; ++e) {
                        float acc = b[e];
#pragma unroll
                        for (int k = 0; k < k_cp_taps; ++k) acc = fmaf(wk[k][e], win[k][e], acc);
                        out[e] = silu(acc);
                    }
                    const uint4 v = pack_bf16x8(out);
                    *reinterpret_cast<uint4*>(up + i * us) = v;
                    *reinterpret_cast<uint4*>(sp + i * ss) = v;
                }
            }
            continue;
        }
        for (int i = 0; i < count; ++i) {  // a sequence boundary nearby: every tap checked
            const int gr = g_first + step * i;
#pragma unroll
            for (int k = 0; k + 1 < k_cp_taps; ++k)
#pragma unroll
                for (int e = 0; e < 8; ++e) win[k][e] = win[k + 1][e];
            unpack_bf16x8(*reinterpret_cast<const uint4*>(xp + i * xs), win[k_cp_taps - 1]);
            const int rlo = a.seg_begin ? a.seg_begin[gr] : 0;
            const int rhi = a.seg_end ? a.seg_end[gr] : a.total_rows;
            float out[8];
#pragma unroll
            for (int e = 0; e < 8; ++e) {
                float acc = b[e];
#pragma unroll
                for (int k = 0; k < k_cp_taps; ++k) {
                    const int s = gr - step * (k_cp_halo - k);
                    if (s >= rlo && s < rhi) acc = fmaf(wk[k][e], win[k][e], acc);
                }
                out[e] = silu(acc);
            }
            const uint4 v = pack_bf16x8(out);
            *reinterpret_cast<uint4*>(up + i * us) = v;
            *reinterpret_cast<uint4*>(sp + i * ss) = v;
        }
    }
    __syncthreads();

    // ---- 2. x_proj: warp j's columns 8j..8j+7 over the 4 row tiles
    const unsigned* uw = reinterpret_cast<const unsigned*>(ut);
    __nv_bfloat16* dtb = reinterpret_cast<__nv_bfloat16*>(dts);
    const int n_tiles_n = (a.n_proj + 7) / 8;
    for (int j = warp; j < n_tiles_n; j += k_cp_warps) {
        float acc[k_cp_rows / 16][4];
#pragma unroll
        for (int m = 0; m < k_cp_rows / 16; ++m) acc[m][0] = acc[m][1] = acc[m][2] = acc[m][3] = 0.0f;
        const int n = 8 * j + g;  // this lane's column of B: row n of x_proj
        const unsigned* wrow = reinterpret_cast<const unsigned*>(a.x_proj + (size_t)min(n, a.n_proj - 1) * di);
        const bool nin = n < a.n_proj;
#pragma unroll 4
        for (int ks = 0; ks < di / 16; ++ks) {
            const unsigned b0 = nin ? __ldg(wrow + 8 * ks + tq) : 0u;
            const unsigned b1 = nin ? __ldg(wrow + 8 * ks + tq + 4) : 0u;
#pragma unroll
            for (int m = 0; m < k_cp_rows / 16; ++m) {
                const unsigned* r0 = uw + (size_t)(16 * m + g) * pw + 8 * ks + tq;
                const unsigned* r8 = r0 + 8 * pw;
                const unsigned af[4] = {r0[0], r8[0], r0[4], r8[4]};
                mma_bf16_16816(acc[m], af, b0, b1);
            }
        }
#pragma unroll
        for (int m = 0; m < k_cp_rows / 16; ++m)
#pragma unroll
            for (int h = 0; h < 2; ++h)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const int r = 16 * m + g + 8 * h, col = 8 * j + 2 * tq + e;
                    const __nv_bfloat16 v = __float2bfloat16(acc[m][2 * h + e]);
                    if (col < a.n_proj && r < rows) a.x_dbl[(size_t)(t0 + r) * a.ld_dbl + col] = v;
                    if (col < a.dt_rank) dtb[r * 2 * dpw + col] = v;
                }
    }
    __syncthreads();

    // ---- 3. delta = softplus(dt . dt_proj^T + bias) into the u tile, then out
    for (int nb = warp; nb < octets; nb += k_cp_warps) {
        unsigned bw[KS][2];
#pragma unroll
        for (int s = 0; s < KS; ++s) {
            bw[s][0] = weight_pair(a.dt_proj, a.dt_rank, di, 8 * nb + g, 16 * s + 2 * tq);
            bw[s][1] = weight_pair(a.dt_proj, a.dt_rank, di, 8 * nb + g, 16 * s + 2 * tq + 8);
        }
        const int oc = 8 * nb + 2 * tq;
        const float b_lo = a.dt_bias ? a.dt_bias[oc] : 0.0f, b_hi = a.dt_bias ? a.dt_bias[oc + 1] : 0.0f;
#pragma unroll
        for (int m = 0; m < k_cp_rows / 16; ++m) {
            float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
            for (int s = 0; s < KS; ++s) {
                const unsigned af[4] = {dts[(16 * m + g) * dpw + 8 * s + tq], dts[(16 * m + g + 8) * dpw + 8 * s + tq],
                                        dts[(16 * m + g) * dpw + 8 * s + tq + 4],
                                        dts[(16 * m + g + 8) * dpw + 8 * s + tq + 4]};
                mma_bf16_16816(acc, af, bw[s][0], bw[s][1]);
            }
            *reinterpret_cast<__nv_bfloat162*>(ut + (size_t)(16 * m + g) * pitch + oc) =
                __floats2bfloat162_rn(softplus(acc[0] + b_lo), softplus(acc[1] + b_hi));
            *reinterpret_cast<__nv_bfloat162*>(ut + (size_t)(16 * m + g + 8) * pitch + oc) =
                __floats2bfloat162_rn(softplus(acc[2] + b_lo), softplus(acc[3] + b_hi));
        }
    }
    __syncthreads();
    for (int i = tid; i < rows * octets; i += k_cp_threads) {
        const int r = i / octets, q = i % octets;
        *reinterpret_cast<uint4*>(a.delta + (size_t)(t0 + r) * a.ld_delta + 8 * q) =
            *reinterpret_cast<const uint4*>(ut + (size_t)r * pitch + 8 * q);
    }
}

bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

}  // namespace

bool conv_proj_enabled() noexcept {
    static const bool v = env_equals("DNAMBA_FUSED", "1");
    return v;
}

bool conv_proj_runs(const ConvProjArgs& a) noexcept {
    const ConvArgs<bf16>& c = a.conv;
    if (c.d_inner < 16 || c.d_inner > k_conv_proj_max_inner) return false;
    const std::size_t bytes = a.dt_rank <= 16 ? shared_bytes<1>(c.d_inner) : shared_bytes<2>(c.d_inner);
    if (bytes > static_cast<std::size_t>(max_shared_per_block())) return false;
    return c.kernel == k_cp_taps && c.d_inner % 16 == 0 && c.d_inner >= 16 &&
           c.d_inner <= k_conv_proj_max_inner && a.dt_rank >= 1 && a.dt_rank <= 32 && a.n_proj >= a.dt_rank &&
           c.ld_x % 8 == 0 && a.ld_delta % 8 == 0 &&
           a.ld_dbl >= a.n_proj && aligned16(c.x) && aligned16(c.U) && aligned16(a.delta) && aligned16(a.halo) &&
           reinterpret_cast<std::uintptr_t>(a.x_proj) % 4 == 0;
}

std::size_t conv_proj_halo_elements(int length, int d_inner) noexcept {
    if (length <= 0 || d_inner <= 0) return 0;
    const std::size_t tiles = (static_cast<std::size_t>(length) + k_cp_rows - 1) / k_cp_rows;
    return tiles * k_cp_halo * static_cast<std::size_t>(d_inner);
}

Status conv_proj(const ConvProjArgs& args) noexcept {
    const ConvArgs<bf16>& c = args.conv;
    if (c.length <= 0 || c.d_inner <= 0) return "conv_proj: empty input";
    if (!c.x || !c.w || !c.U || !args.x_proj || !args.dt_proj || !args.x_dbl || !args.delta || !args.halo)
        return "conv_proj: missing buffer";
    if (!conv_proj_runs(args)) return "conv_proj: shapes or alignment it does not run (see conv_proj_runs)";
    ConvProj a;
    a.x = device_ptr(c.x);
    a.ld_x = c.ld_x;
    a.x_row0 = c.x_row0;
    a.row0 = c.row0;
    a.length = c.length;
    a.total_rows = c.total_rows;
    a.d_inner = c.d_inner;
    a.n_proj = args.n_proj;
    a.ld_dbl = args.ld_dbl;
    a.dt_rank = args.dt_rank;
    a.ld_delta = args.ld_delta;
    a.w = c.w;
    a.bias = c.bias;
    a.dt_bias = args.dt_bias;
    a.reverse = c.reverse;
    a.seg_begin = c.seg_begin;
    a.seg_end = c.seg_end;
    a.U = device_ptr(c.U);
    a.x_dbl = device_ptr(args.x_dbl);
    a.delta = device_ptr(args.delta);
    a.x_proj = device_ptr(args.x_proj);
    a.dt_proj = device_ptr(args.dt_proj);
    a.halo = device_ptr(args.halo);
    const int n_tiles = (c.length + k_cp_rows - 1) / k_cp_rows;
    const long halo_threads = (long)n_tiles * k_cp_halo * (c.d_inner / 8);
    conv_proj_halo<<<(unsigned)((halo_threads + 255) / 256), 256>>>(a, n_tiles);
    Status e = launch_status("conv_proj (halo rows)");
    if (!e.ok()) return e;
    const auto launch = [&](auto ks) -> Status {
        constexpr int KS = decltype(ks)::value;
        const std::size_t bytes = shared_bytes<KS>(c.d_inner);
        DNAMBA_CUDA_RETURN(cudaFuncSetAttribute(conv_proj_kernel<KS>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                static_cast<int>(bytes)));
        conv_proj_kernel<KS><<<(unsigned)n_tiles, k_cp_threads, bytes>>>(a);
        return launch_status("conv_proj (conv1d + SiLU, x_proj, dt_proj + softplus)");
    };
    return args.dt_rank <= 16 ? launch(std::integral_constant<int, 1>{}) : launch(std::integral_constant<int, 2>{});
}

}  // namespace dnamba::kernels
