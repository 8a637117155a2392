// kernels/scan_one_pass.cuh — private to kernels/: the one-pass selective scan, included by
// scan_one_pass_f32.cu and scan_one_pass_bf16.cu (one instantiation per element type).
//
// exp(delta * A) is evaluated once per (row, channel, state): each block walks a group of G
// channels along the whole input, tile after tile, and carries the states from one tile to the
// next in registers, so nothing has to be scanned twice. Inside a block, W warps share a
// channel: each takes NS / W of its states (the block is G * W = 16 warps). Inside a warp the
// lanes run along time — lane l owns K consecutive steps of the tile (T = 32 K steps) — and for
// each state:
//   1. up-sweep: each lane runs the recurrence over its K steps from zero, keeping the decays
//      a_j = exp2(A log2e delta_j) and inputs b_j = delta_j u_j B_j in registers, and the
//      lane's decay product exp2(A log2e sum delta) (one more exp per lane, not K products);
//   2. a warp-wide inclusive scan (Kogge-Stone over 32 lanes) of the lanes' affine maps
//      (P, h), composed with the state carried from the previous tile, gives every lane its
//      starting state and the next tile's carry;
//   3. down-sweep: the recurrence again from the true starting state, from the registers
//      (no exp), accumulating C_j . h_j into the lane's K outputs.
// The warps of a channel add their partial outputs in shared memory; D u and the SiLU(z) gate
// are applied once per (row, channel).
//
// The engine's activations are time-major (row t holds every channel), so each tile is staged
// through shared memory: u, dt, z of the G channels (G * sizeof(V) bytes per row), B_t and C_t,
// and the resets are copied by cp.async into one of two stages while the other stage is being
// computed on; a conversion step then writes them as fp32 rows along time (delta after bias and
// softplus, delta * u, B and C per state), laid out so that a lane's K steps are K/4 aligned
// float4 loads without bank conflicts (a 16-byte-chunk XOR swizzle, rows padded by 4 floats).
// A reset (the first row of a packed sequence in scan order) is an infinite delta in the decay
// exponent: exp2(-inf) = 0 clears the state inside the update and makes the lane's product 0.
#pragma once

#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>

#include "scan_common.cuh"

namespace dnamba::kernels::scan_detail {
namespace one_pass {

constexpr int k_warps_per_block = 16;
constexpr int k_block = 32 * k_warps_per_block;

// Steps per lane: NS * K is bounded so that a block's shared memory (B and C staged twice in
// their own type and once as fp32) fits in the 227 KiB an SM offers.
template <int NS, typename V>
constexpr int steps_per_lane() {
    constexpr int budget = sizeof(V) == 2 ? 256 : 128;
    constexpr int k = budget / NS;
    return k > 16 ? 16 : (k < 4 ? 4 : k);
}

constexpr std::size_t round16(std::size_t n) { return (n + 15) / 16 * 16; }

// Byte offsets of one block's shared memory.
template <int NS, int K, int W, typename V>
struct Layout {
    static constexpr int G = k_warps_per_block / W;  // channels per block
    static constexpr int T = 32 * K;                 // steps per tile
    static constexpr int TP = T + 4;                 // floats per fp32 row (padded)
    static constexpr int bc_row = static_cast<int>(round16(NS * sizeof(V)));  // bytes per staged B or C row
    static constexpr int x_row = G * static_cast<int>(sizeof(V));             // bytes per staged u, dt or z row
    // one stage of raw copies
    static constexpr std::size_t raw_b = 0;
    static constexpr std::size_t raw_c = raw_b + std::size_t(T) * bc_row;
    static constexpr std::size_t raw_u = raw_c + std::size_t(T) * bc_row;
    static constexpr std::size_t raw_d = raw_u + std::size_t(T) * x_row;
    static constexpr std::size_t raw_z = raw_d + std::size_t(T) * x_row;
    static constexpr std::size_t raw_r = raw_z + std::size_t(T) * x_row;
    static constexpr std::size_t stage = round16(raw_r + T);
    // fp32 rows along time, after the two stages
    static constexpr std::size_t s_b = 2 * stage;                           // [NS][TP]
    static constexpr std::size_t s_c = s_b + std::size_t(NS) * TP * 4;      // [NS][TP]
    static constexpr std::size_t s_de = s_c + std::size_t(NS) * TP * 4;     // [G][TP] delta (inf at a reset)
    static constexpr std::size_t s_du = s_de + std::size_t(G) * TP * 4;     // [G][TP] delta * u
    static constexpr std::size_t s_y = s_du + std::size_t(G) * TP * 4;      // [G][W][TP] partial outputs
    static constexpr std::size_t s_par = s_y + std::size_t(G) * W * TP * 4;  // [G] bias, [G] D
    static constexpr std::size_t total = s_par + 2 * G * 4;
};

// The 16-byte chunk that holds chunk q of lane l's K floats: chunks are XOR-swizzled so that
// the 8 lanes of one 128-byte shared-memory wavefront hit 8 different chunk slots.
template <int K>
__device__ __forceinline__ int swizzle(int lane) {
    if constexpr (K == 16) return (lane >> 1) & 3;
    else if constexpr (K == 8) return (lane >> 2) & 1;
    else return 0;
}

// Float index of step t in a [TP] row.
template <int K>
__device__ __forceinline__ int pos(int t) {
    const int l = t / K, j = t % K;
    return l * K + ((((j >> 2) ^ swizzle<K>(l)) << 2) | (j & 3));
}

// Lane `lane`'s K floats of a row.
template <int K>
__device__ __forceinline__ void load_lane(const float* row, int lane, float (&v)[K]) {
    const float* base = row + lane * K;
#pragma unroll
    for (int q = 0; q < K / 4; ++q) {
        const float4 f = *reinterpret_cast<const float4*>(base + ((q ^ swizzle<K>(lane)) << 2));
        v[4 * q] = f.x;
        v[4 * q + 1] = f.y;
        v[4 * q + 2] = f.z;
        v[4 * q + 3] = f.w;
    }
}

// Copy units (bytes per cp.async) for the block's rows, chosen on the host.
struct Units {
    int bc;  // B and C rows: d_state elements
    int x;   // u, dt, z rows: G elements
};

template <int NS, int K, int W, typename V>
__global__ void __launch_bounds__(k_block, 1) scan_one_pass_kernel(Scan<V> a, Units units) {
    using Lay = Layout<NS, K, W, V>;
    constexpr int G = Lay::G, T = Lay::T, TP = Lay::TP, SPW = NS / W;
    static_assert(SPW >= 1 && K % 4 == 0, "one-pass scan: bad template arguments");
    extern __shared__ __align__(16) unsigned char smem[];
    float* sB = reinterpret_cast<float*>(smem + Lay::s_b);
    float* sC = reinterpret_cast<float*>(smem + Lay::s_c);
    float* sDe = reinterpret_cast<float*>(smem + Lay::s_de);
    float* sDu = reinterpret_cast<float*>(smem + Lay::s_du);
    float* sY = reinterpret_cast<float*>(smem + Lay::s_y);
    float* sBias = reinterpret_cast<float*>(smem + Lay::s_par);
    float* sD = sBias + G;

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int ch0 = blockIdx.x * G;
    const int N = a.d_state, L = a.length;
    const int n_tiles = (L + T - 1) / T;
    const auto row_of = [&](int s) -> long { return a.reverse ? static_cast<long>(L) - 1 - s : s; };

    // States d_state..NS-1 of a staged B/C row are never copied and must read as zero.
    for (int i = tid; i < static_cast<int>(2 * Lay::stage / 16); i += k_block)
        reinterpret_cast<float4*>(smem)[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (tid < G) {
        sBias[tid] = a.delta_bias ? a.delta_bias[ch0 + tid] : 0.0f;
        sD[tid] = a.D ? a.D[ch0 + tid] : 0.0f;
    }
    __syncthreads();

    // Tile k's B, C, u, dt and z rows into stage `stage`, as asynchronous copies.
    const auto prefetch = [&](int k, int stage) {
        unsigned char* st = smem + stage * Lay::stage;
        const int s0 = k * T, steps = min(T, L - s0);
        const int bc_units = N * static_cast<int>(sizeof(V)) / units.bc;
        for (int i = tid; i < steps * 2 * bc_units; i += k_block) {
            const int u = i % bc_units, rest = i / bc_units, which = rest & 1, j = rest >> 1;
            const V* src = (which ? a.C : a.B) + row_of(s0 + j) * a.ld_bc;
            copy_async(st + (which ? Lay::raw_c : Lay::raw_b) + j * Lay::bc_row + u * units.bc,
                       reinterpret_cast<const unsigned char*>(src) + u * units.bc, units.bc);
        }
        const int x_units = Lay::x_row / units.x, nx = a.z ? 3 : 2;
        for (int i = tid; i < steps * nx * x_units; i += k_block) {
            const int u = i % x_units, rest = i / x_units, which = rest % nx, j = rest / nx;
            const long row = row_of(s0 + j);
            const V* src = which == 0 ? a.u + row * a.d_inner + ch0
                                      : which == 1 ? a.delta + row * a.d_inner + ch0 : a.z + row * a.ld_z + ch0;
            const std::size_t dst = which == 0 ? Lay::raw_u : which == 1 ? Lay::raw_d : Lay::raw_z;
            copy_async(st + dst + j * Lay::x_row + u * units.x, reinterpret_cast<const unsigned char*>(src) + u * units.x,
                       units.x);
        }
        copy_async_commit();
    };
    // Tile k's reset flag of this thread's step (0 without resets or past the end).
    const auto reset_flag = [&](int k) -> unsigned char {
        const int s = k * T + tid;
        return (a.reset && tid < T && s < L) ? a.reset[row_of(s)] : 0;
    };

    // This warp's channel and states: A log2(e), kept strictly negative so that an infinite
    // delta gives a zero decay (padded states: -1; they see B = C = 0 and stay zero).
    const int c = warp / W, q = warp % W, ch = ch0 + c;
    float A2[SPW], carry[SPW];
#pragma unroll
    for (int s = 0; s < SPW; ++s) {
        const int n = q * SPW + s;
        A2[s] = n < N ? fminf(a.A[static_cast<long>(ch) * N + n] * k_log2e, -1e-30f) : -1.0f;
        carry[s] = (n < N && a.state_in) ? a.state_in[static_cast<long>(ch) * N + n] : 0.0f;
    }

    prefetch(0, 0);
    if (tid < T) smem[Lay::raw_r + tid] = reset_flag(0);
    for (int k = 0; k < n_tiles; ++k) {
        const int b = k & 1;
        unsigned char* st = smem + b * Lay::stage;
        const int steps = min(T, L - k * T);
        copy_async_wait_all();
        __syncthreads();  // stage b complete; the previous tile's outputs are out of shared memory
        unsigned char next_reset = 0;
        if (k + 1 < n_tiles) {
            prefetch(k + 1, b ^ 1);
            next_reset = reset_flag(k + 1);
        }

        // conversion: stage b into fp32 rows along time
        const V* rawB = reinterpret_cast<const V*>(st + Lay::raw_b);
        const V* rawC = reinterpret_cast<const V*>(st + Lay::raw_c);
        constexpr int bc_stride = Lay::bc_row / static_cast<int>(sizeof(V));
        for (int i = tid; i < T * NS; i += k_block) {
            const int n = i % NS, t = i / NS;
            const bool in = t < steps;
            sB[n * TP + pos<K>(t)] = in ? load_f(rawB + t * bc_stride + n) : 0.0f;
            sC[n * TP + pos<K>(t)] = in ? load_f(rawC + t * bc_stride + n) : 0.0f;
        }
        const V* rawU = reinterpret_cast<const V*>(st + Lay::raw_u);
        const V* rawD = reinterpret_cast<const V*>(st + Lay::raw_d);
        const unsigned char* rawR = st + Lay::raw_r;
        for (int i = tid; i < T * G; i += k_block) {
            const int cc = i % G, t = i / G;
            float de = 0.0f, du = 0.0f;  // past the end: the identity step
            if (t < steps) {
                const float v = load_f(rawD + t * G + cc) + sBias[cc];
                const float delta = a.delta_softplus ? softplus(v) : v;
                du = delta * load_f(rawU + t * G + cc);
                de = rawR[t] ? INFINITY : delta;
            }
            sDe[cc * TP + pos<K>(t)] = de;
            sDu[cc * TP + pos<K>(t)] = du;
        }
        __syncthreads();

        // the scan of this warp's states along the tile
        {
            float de[K], du[K], y[K];
            load_lane<K>(sDe + c * TP, lane, de);
            load_lane<K>(sDu + c * TP, lane, du);
            float dsum = 0.0f;  // infinite when the lane's steps hold a reset
#pragma unroll
            for (int j = 0; j < K; ++j) {
                dsum += de[j];
                y[j] = 0.0f;
            }
#pragma unroll
            for (int s = 0; s < SPW; ++s) {
                const int n = q * SPW + s;
                float av[K], bv[K];
                load_lane<K>(sB + n * TP, lane, bv);
                float h = 0.0f;
#pragma unroll
                for (int j = 0; j < K; ++j) {
                    av[j] = fast_exp2(de[j] * A2[s]);
                    bv[j] *= du[j];
                    h = fmaf(av[j], h, bv[j]);
                }
                float P = fast_exp2(A2[s] * dsum);
#pragma unroll
                for (int off = 1; off < 32; off <<= 1) {
                    const float Pp = __shfl_up_sync(0xffffffffu, P, off);
                    const float hp = __shfl_up_sync(0xffffffffu, h, off);
                    if (lane >= off) {
                        h = fmaf(P, hp, h);
                        P *= Pp;
                    }
                }
                float Pe = __shfl_up_sync(0xffffffffu, P, 1), he = __shfl_up_sync(0xffffffffu, h, 1);
                if (lane == 0) {
                    Pe = 1.0f;
                    he = 0.0f;
                }
                const float P_all = __shfl_sync(0xffffffffu, P, 31), h_all = __shfl_sync(0xffffffffu, h, 31);
                float hh = fmaf(Pe, carry[s], he);
                carry[s] = fmaf(P_all, carry[s], h_all);
                const float* Cn = sC + n * TP + lane * K;
#pragma unroll
                for (int qq = 0; qq < K / 4; ++qq) {
                    const float4 c4 = *reinterpret_cast<const float4*>(Cn + ((qq ^ swizzle<K>(lane)) << 2));
                    const float cv[4] = {c4.x, c4.y, c4.z, c4.w};
#pragma unroll
                    for (int r = 0; r < 4; ++r) {
                        const int j = 4 * qq + r;
                        hh = fmaf(av[j], hh, bv[j]);
                        y[j] = fmaf(cv[r], hh, y[j]);
                    }
                }
            }
            float* yrow = sY + (c * W + q) * TP + lane * K;
#pragma unroll
            for (int qq = 0; qq < K / 4; ++qq)
                *reinterpret_cast<float4*>(yrow + ((qq ^ swizzle<K>(lane)) << 2)) =
                    make_float4(y[4 * qq], y[4 * qq + 1], y[4 * qq + 2], y[4 * qq + 3]);
        }
        __syncthreads();

        // outputs: the warps' partial sums, D u, the gate
        const V* rawZ = reinterpret_cast<const V*>(st + Lay::raw_z);
        for (int i = tid; i < T * G; i += k_block) {
            const int cc = i % G, t = i / G;
            if (t >= steps) continue;
            float yv = 0.0f;
#pragma unroll
            for (int w = 0; w < W; ++w) yv += sY[(cc * W + w) * TP + pos<K>(t)];
            yv = fmaf(sD[cc], load_f(rawU + t * G + cc), yv);
            if (a.z) {
                const float zz = load_f(rawZ + t * G + cc);
                yv *= __fdividef(zz, 1.0f + __expf(-zz));
            }
            V* yp = a.y + row_of(k * T + t) * a.d_inner + ch0 + cc;
            store_f(yp, a.accumulate ? load_f(yp) + yv : yv);
        }
        // stage b^1's reset flags (its copies are in flight; the flags were loaded above)
        if (k + 1 < n_tiles && tid < T) smem[(b ^ 1) * Lay::stage + Lay::raw_r + tid] = next_reset;
    }
    if (a.state_out && lane == 0) {
#pragma unroll
        for (int s = 0; s < SPW; ++s) {
            const int n = q * SPW + s;
            if (n < N) a.state_out[static_cast<long>(ch) * N + n] = carry[s];
        }
    }
}

// The largest of 16, 8, 4 bytes that divides every address and row stride given; 0 if none.
inline int copy_unit(std::initializer_list<std::uintptr_t> values) {
    for (int u : {16, 8, 4}) {
        bool ok = true;
        for (std::uintptr_t v : values) ok = ok && v % u == 0;
        if (ok) return u;
    }
    return 0;
}

template <typename V>
Units copy_units(const Scan<V>& a, int G) {
    const std::uintptr_t e = sizeof(V);
    Units u;
    u.bc = copy_unit({reinterpret_cast<std::uintptr_t>(a.B), reinterpret_cast<std::uintptr_t>(a.C), a.ld_bc * e,
                      a.d_state * e});
    u.x = copy_unit({reinterpret_cast<std::uintptr_t>(a.u), reinterpret_cast<std::uintptr_t>(a.delta), a.d_inner * e,
                     G * e, a.z ? reinterpret_cast<std::uintptr_t>(a.z) : 0, a.z ? a.ld_z * e : 0});
    return u;
}

// The shared memory one block may opt in to on the current device (0 if the query fails).
inline int max_shared_per_block() noexcept {
    int dev = 0, bytes = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return bytes;
}

template <int NS, int W, typename V>
constexpr std::size_t shared_bytes() {
    return Layout<NS, steps_per_lane<NS, V>(), W, V>::total;
}

template <int NS, int W, typename V>
Status launch(const Scan<V>& a) {
    constexpr int K = steps_per_lane<NS, V>();
    constexpr std::size_t bytes = shared_bytes<NS, W, V>();
    const auto kernel = scan_one_pass_kernel<NS, K, W, V>;
    // (per call: the attribute belongs to the current device)
    DNAMBA_CUDA_RETURN(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
    constexpr int G = k_warps_per_block / W;
    kernel<<<a.d_inner / G, k_block, bytes>>>(a, copy_units(a, G));
    return launch_status("selective_scan (one pass)");
}

// Calls f(ns, w) with the template state slots and warps per channel; the Status of f or an
// error for unsupported values.
template <typename F>
Status with_shape(int d_state, int warps, F&& f) {
    return with_int<4, 8, 16, 32, 64>(state_slots(d_state), "selective_scan: unsupported d_state", [&](auto ns) {
        return with_int<4, 8>(warps, "selective_scan: warps per channel must be 4 or 8",
                              [&](auto w) { return f(ns, w); });
    });
}

template <typename V>
bool fits(const Scan<V>& a, int warps) noexcept {
    if (warps != 4 && warps != 8) return false;
    const int G = k_warps_per_block / warps;
    const int ns = state_slots(a.d_state);
    if (a.d_inner % G != 0 || ns < warps || ns > 64) return false;
    const Units u = copy_units(a, G);
    if (u.bc == 0 || u.x == 0) return false;
    std::size_t bytes = 0;
    (void)with_shape(a.d_state, warps, [&](auto ns_c, auto w_c) -> Status {
        constexpr int NS = decltype(ns_c)::value, W = decltype(w_c)::value;
        if constexpr (NS >= W) bytes = shared_bytes<NS, W, V>();
        return {};
    });
    return bytes > 0 && bytes <= static_cast<std::size_t>(max_shared_per_block());
}

template <typename V>
Status run(const Scan<V>& a, int warps) noexcept {
    return with_shape(a.d_state, warps, [&](auto ns_c, auto w_c) -> Status {
        constexpr int NS = decltype(ns_c)::value, W = decltype(w_c)::value;
        if constexpr (NS >= W) return launch<NS, W, V>(a);
        else return "selective_scan: d_state below the warps per channel";
    });
}

}  // namespace one_pass
}  // namespace dnamba::kernels::scan_detail
