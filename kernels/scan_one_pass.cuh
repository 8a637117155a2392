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
//   2. a warp-wide inclusive scan (Kogge-Stone over 32 lanes) of the lanes' affine maps, with
//      the state carried from the previous tile folded into lane 0's, gives every lane the true
//      state at the end of its steps (so lane l - 1's is lane l's start) and the next carry;
//   3. down-sweep: the recurrence again from the true starting state, from the registers
//      (no exp), accumulating C_j . h_j into the lane's K outputs.
// The warps of a channel leave their partial outputs in shared memory; one thread per row adds
// them and applies D u and the SiLU(z) gate for the block's G channels.
//
// The engine's activations are time-major (row t holds every channel), so each tile is staged
// through shared memory. Per tile, in two phases between two barriers:
//   phase 1 (every warp): the recurrence of tile k, from fp32 rows along time (B and C per
//     state; delta and delta * u per channel), writing the partial outputs;
//   phase 2 (one thread per row): tile k's outputs (partials + D u gate), then the conversion of
//     tile k + 1 from its raw copy (B, C as 16-byte pieces; u, dt, z as one G-wide piece per row)
//     into those fp32 rows (delta after bias and softplus, infinite at a reset; delta * u; the
//     gate silu(z) and D u silu(z)), and the asynchronous copy (cp.async) of tile k + 2 into the
//     raw stage tile k left. A thread reads and writes only its own rows' gate and skip, so the
//     output of tile k and the conversion of tile k + 1 share one buffer.
// Every copy and conversion assignment is fixed at compile time (tile, piece and state counts are
// template constants), so the per-tile bookkeeping is a few shifts. The fp32 rows are laid out so
// that a lane's K steps are K/4 aligned float4 loads without bank conflicts (16-byte chunks
// XOR-swizzled, rows padded by 4 floats); the raw B/C pieces are stored piece-major so that a
// warp converting 32 consecutive rows reads 32 consecutive 16-byte pieces.
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

// Steps per lane: NS * K is bounded so that a block's shared memory (two raw stages, B and C as
// fp32, the per-channel rows and the partial outputs) fits in the 227 KiB an SM offers.
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
    static constexpr int G = k_warps_per_block / W;               // channels per block
    static constexpr int T = 32 * K;                              // steps per tile
    static constexpr int TP = T + 4;                              // floats per fp32 row (padded)
    static constexpr int E = 16 / static_cast<int>(sizeof(V));    // elements per 16-byte piece
    static constexpr int PB = (NS + E - 1) / E;                   // pieces per B (or C) row
    static constexpr int XB = G * static_cast<int>(sizeof(V));    // bytes per u, dt or z row
    // one stage of raw copies: B/C pieces [2 PB][T] (16 bytes each), then u, dt, z rows [3][T]
    static constexpr std::size_t raw_bc = 0;
    static constexpr std::size_t raw_x = raw_bc + std::size_t(2 * PB) * T * 16;
    static constexpr std::size_t stage = round16(raw_x + std::size_t(3) * T * XB);
    // fp32 rows along time, after the two stages
    static constexpr std::size_t s_b = 2 * stage;                            // [NS][TP]
    static constexpr std::size_t s_c = s_b + std::size_t(NS) * TP * 4;       // [NS][TP]
    static constexpr std::size_t s_de = s_c + std::size_t(NS) * TP * 4;      // [G][TP] delta (inf at a reset)
    static constexpr std::size_t s_du = s_de + std::size_t(G) * TP * 4;      // [G][TP] delta * u
    static constexpr std::size_t s_gate = s_du + std::size_t(G) * TP * 4;    // [G][TP] silu(z) (1 without z)
    static constexpr std::size_t s_skip = s_gate + std::size_t(G) * TP * 4;  // [G][TP] D u silu(z)
    static constexpr std::size_t s_y = s_skip + std::size_t(G) * TP * 4;     // [G][W][TP] partial outputs
    static constexpr std::size_t s_par = s_y + std::size_t(G) * W * TP * 4;  // [G] delta bias, [G] D
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

// Element i of 32-bit words holding fp32 or bf16 values, as fp32.
template <typename V>
__device__ __forceinline__ float word_value(const unsigned* w, int i) {
    if constexpr (sizeof(V) == 4) return __uint_as_float(w[i]);
    else return __uint_as_float((i & 1) ? (w[i >> 1] & 0xffff0000u) : (w[i >> 1] << 16));
}

// N values of type V at p (N * sizeof(V) bytes: 4, 8 or 16, aligned) as fp32.
template <typename V, int N>
__device__ __forceinline__ void load_values(const void* p, float (&v)[N]) {
    constexpr int words = N * static_cast<int>(sizeof(V)) / 4;
    static_assert(words == 1 || words == 2 || words == 4, "one-pass scan: 4, 8 or 16 bytes");
    unsigned w[words];
    if constexpr (words == 4) {
        const uint4 r = *reinterpret_cast<const uint4*>(p);
        w[0] = r.x, w[1] = r.y, w[2] = r.z, w[3] = r.w;
    } else if constexpr (words == 2) {
        const uint2 r = *reinterpret_cast<const uint2*>(p);
        w[0] = r.x, w[1] = r.y;
    } else {
        w[0] = *reinterpret_cast<const unsigned*>(p);
    }
#pragma unroll
    for (int i = 0; i < N; ++i) v[i] = word_value<V>(w, i);
}

// N fp32 values stored at p as type V (rounded to nearest even for bf16).
template <typename V, int N>
__device__ __forceinline__ void store_values(void* p, const float (&v)[N]) {
    constexpr int words = N * static_cast<int>(sizeof(V)) / 4;
    unsigned w[words];
#pragma unroll
    for (int i = 0; i < words; ++i) {
        if constexpr (sizeof(V) == 4) {
            w[i] = __float_as_uint(v[i]);
        } else {
            const __nv_bfloat162 b = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
            w[i] = *reinterpret_cast<const unsigned*>(&b);
        }
    }
    if constexpr (words == 4) *reinterpret_cast<uint4*>(p) = make_uint4(w[0], w[1], w[2], w[3]);
    else if constexpr (words == 2) *reinterpret_cast<uint2*>(p) = make_uint2(w[0], w[1]);
    else *reinterpret_cast<unsigned*>(p) = w[0];
}

// Copy units (bytes per cp.async) for the block's rows, chosen on the host.
struct Units {
    int bc;  // B and C rows: d_state elements
    int x;   // u, dt, z rows: G elements
};

template <int NS, int K, int W, typename V>
__global__ void __launch_bounds__(k_block, 1) scan_one_pass_kernel(Scan<V> a, Units units) {
    using Lay = Layout<NS, K, W, V>;
    constexpr int G = Lay::G, T = Lay::T, TP = Lay::TP, SPW = NS / W, E = Lay::E, PB = Lay::PB, XB = Lay::XB;
    static_assert(SPW >= 1 && K % 4 == 0 && T <= k_block, "one-pass scan: bad template arguments");
    extern __shared__ __align__(16) unsigned char smem[];
    float* sB = reinterpret_cast<float*>(smem + Lay::s_b);
    float* sC = reinterpret_cast<float*>(smem + Lay::s_c);
    float* sDe = reinterpret_cast<float*>(smem + Lay::s_de);
    float* sDu = reinterpret_cast<float*>(smem + Lay::s_du);
    float* sGate = reinterpret_cast<float*>(smem + Lay::s_gate);
    float* sSkip = reinterpret_cast<float*>(smem + Lay::s_skip);
    float* sY = reinterpret_cast<float*>(smem + Lay::s_y);
    float* sBias = reinterpret_cast<float*>(smem + Lay::s_par);
    float* sD = sBias + G;

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int ch0 = blockIdx.x * G;
    const int N = a.d_state, L = a.length;
    const int n_tiles = (L + T - 1) / T;
    const bool has_z = a.z != nullptr;
    const auto row_of = [&](int s) -> long { return a.reverse ? static_cast<long>(L) - 1 - s : s; };
    const auto steps_of = [&](int k) { return min(T, L - k * T); };

    // Bytes of B/C never copied (states d_state..NS-1, rows past the end of a short input) must
    // read as zero (finite: they meet delta * u = 0).
    for (int i = tid; i < static_cast<int>(2 * Lay::stage / 16); i += k_block)
        reinterpret_cast<float4*>(smem)[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    // this thread's row in the per-row phases (t = tid; threads past T idle there)
    const bool row_thread = tid < T;
    if (tid < G) {  // (in shared memory: registers are the scarce resource here)
        sBias[tid] = a.delta_bias ? a.delta_bias[ch0 + tid] : 0.0f;
        sD[tid] = a.D ? a.D[ch0 + tid] : 0.0f;
    }
    __syncthreads();  // the zeros land before any copy into the stages

    // Tile k's rows into stage k & 1 (an empty copy group past the last tile).
    const int bc_bytes = N * static_cast<int>(sizeof(V));
    const auto issue = [&](int k) {
        if (k < n_tiles) {
            unsigned char* st = smem + (k & 1) * Lay::stage;
            const int s0 = k * T, steps = steps_of(k);
            // neighbouring lanes copy neighbouring pieces of one row, so that one warp-wide copy
            // reads whole 32-byte sectors (a lane per row would fetch each sector twice)
#pragma unroll
            for (int m = 0; m < (2 * PB * T + k_block - 1) / k_block; ++m) {
                const int i = tid + m * k_block;
                const int t = i / (2 * PB), wp = i % (2 * PB);  // wp: B pieces 0..PB-1, then C pieces
                const int p = wp % PB, valid = min(16, bc_bytes - 16 * p);
                if (i < 2 * PB * T && t < steps && valid > 0) {
                    const unsigned char* src = reinterpret_cast<const unsigned char*>((wp < PB ? a.B : a.C) +
                                                                                      row_of(s0 + t) * a.ld_bc) + 16 * p;
                    unsigned char* dst = st + Lay::raw_bc + (std::size_t(wp) * T + t) * 16;
                    for (int o = 0; o < valid; o += units.bc) copy_async(dst + o, src + o, units.bc);
                }
            }
#pragma unroll
            for (int m = 0; m < (3 * T + k_block - 1) / k_block; ++m) {
                const int i = tid + m * k_block;
                const int t = i % T, which = i / T;  // u, dt, z
                if (which < (has_z ? 3 : 2) && t < steps) {
                    const long row = row_of(s0 + t);
                    const V* src = which == 0 ? a.u + row * a.d_inner : which == 1 ? a.delta + row * a.d_inner : a.z + row * a.ld_z;
                    const unsigned char* s = reinterpret_cast<const unsigned char*>(src + ch0);
                    unsigned char* dst = st + Lay::raw_x + (std::size_t(which) * T + t) * XB;
                    for (int o = 0; o < XB; o += units.x) copy_async(dst + o, s + o, units.x);
                }
            }
        }
        copy_async_commit();
    };
    // The reset flag of this thread's row of tile k (0 without resets or past the end).
    const auto reset_flag = [&](int k) -> bool {
        const int s = k * T + tid;
        return a.reset && row_thread && k < n_tiles && s < L && a.reset[row_of(s)] != 0;
    };
    // Tile k (landed in stage k & 1) into the fp32 rows: B and C by 16-byte pieces, this thread's
    // row of the per-channel operands.
    const auto convert = [&](int k, bool reset) {
        const unsigned char* st = smem + (k & 1) * Lay::stage;
#pragma unroll
        for (int m = 0; m < (2 * PB * T + k_block - 1) / k_block; ++m) {
            const int i = tid + m * k_block;
            const int t = i % T, wp = i / T;
            if (wp < 2 * PB) {
                float v[E];
                load_values<V, E>(st + Lay::raw_bc + (std::size_t(wp) * T + t) * 16, v);
                float* dst = (wp < PB ? sB : sC) + (wp % PB) * E * TP + pos<K>(t);
#pragma unroll
                for (int e = 0; e < E; ++e)
                    if ((wp % PB) * E + e < NS) dst[e * TP] = v[e];
            }
        }
        if (!row_thread) return;
        const int t = tid, at = pos<K>(t);
        float de[G], du[G], gate[G], skip[G];
        if (t < steps_of(k)) {
            float uu[G], dt[G], zz[G] = {};
            load_values<V, G>(st + Lay::raw_x + std::size_t(t) * XB, uu);
            load_values<V, G>(st + Lay::raw_x + (std::size_t(T) + t) * XB, dt);
            if (has_z) load_values<V, G>(st + Lay::raw_x + (2 * std::size_t(T) + t) * XB, zz);
#pragma unroll
            for (int c = 0; c < G; ++c) {
                const float v = dt[c] + sBias[c];
                const float delta = a.delta_softplus ? softplus(v) : v;
                de[c] = reset ? INFINITY : delta;
                du[c] = delta * uu[c];
                gate[c] = has_z ? __fdividef(zz[c], 1.0f + __expf(-zz[c])) : 1.0f;
                skip[c] = sD[c] * uu[c] * gate[c];
            }
        } else {  // past the end: the identity step
#pragma unroll
            for (int c = 0; c < G; ++c) de[c] = du[c] = gate[c] = skip[c] = 0.0f;
        }
#pragma unroll
        for (int c = 0; c < G; ++c) {
            sDe[c * TP + at] = de[c];
            sDu[c * TP + at] = du[c];
            sGate[c * TP + at] = gate[c];
            sSkip[c * TP + at] = skip[c];
        }
    };
    // Tile k's outputs of this thread's row: the warps' partial sums, then gate and skip.
    const auto output = [&](int k) {
        const int t = tid;
        if (!row_thread || t >= steps_of(k)) return;
        const int at = pos<K>(t);
        float out[G];
#pragma unroll
        for (int c = 0; c < G; ++c) {
            float y = 0.0f;
#pragma unroll
            for (int w = 0; w < W; ++w) y += sY[(c * W + w) * TP + at];
            out[c] = fmaf(y, sGate[c * TP + at], sSkip[c * TP + at]);
        }
        V* yp = a.y + row_of(k * T + t) * a.d_inner + ch0;
        if (a.accumulate) {
            float before[G];
            load_values<V, G>(yp, before);
#pragma unroll
            for (int c = 0; c < G; ++c) out[c] += before[c];
        }
        store_values<V, G>(yp, out);
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

    issue(0);
    issue(1);
    bool reset_next = reset_flag(0);
    copy_async_wait<1>();  // tile 0
    __syncthreads();
    convert(0, reset_next);
    reset_next = reset_flag(1);
    __syncthreads();
    for (int k = 0; k < n_tiles; ++k) {
        // phase 1: the scan of this warp's states along tile k
        {
            float du[K], y[K];
            load_lane<K>(sDu + c * TP, lane, du);
            float dsum = 0.0f;  // infinite when the lane's steps hold a reset
            {
                float de[K];
                load_lane<K>(sDe + c * TP, lane, de);
#pragma unroll
                for (int j = 0; j < K; ++j) {
                    dsum += de[j];
                    y[j] = 0.0f;
                }
            }
#pragma unroll
            for (int s = 0; s < SPW; ++s) {
                const int n = q * SPW + s;
                // delta is read again for every state rather than held: 16 registers fewer, and
                // no spills at 128 registers a thread
                float av[K], bv[K];
                load_lane<K>(sDe + c * TP, lane, av);
                load_lane<K>(sB + n * TP, lane, bv);
                float h = 0.0f;
#pragma unroll
                for (int j = 0; j < K; ++j) {
                    av[j] = fast_exp2(av[j] * A2[s]);
                    bv[j] *= du[j];
                    h = fmaf(av[j], h, bv[j]);
                }
                float P = fast_exp2(A2[s] * dsum);
                if (lane == 0) h = fmaf(P, carry[s], h);  // the carried state enters at lane 0
#pragma unroll
                for (int off = 1; off < 32; off <<= 1) {
                    const float Pp = __shfl_up_sync(0xffffffffu, P, off);
                    const float hp = __shfl_up_sync(0xffffffffu, h, off);
                    if (lane >= off) {
                        h = fmaf(P, hp, h);
                        if (off < 16) P *= Pp;
                    }
                }
                // lane l starts where lane l - 1 ended; lane 0 from the carry
                float hh = __shfl_up_sync(0xffffffffu, h, 1);
                if (lane == 0) hh = carry[s];
                carry[s] = __shfl_sync(0xffffffffu, h, 31);
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
        copy_async_wait<0>();  // tile k + 1
        __syncthreads();       // partial outputs complete; the fp32 rows of tile k read; stage k & 1 free
        // phase 2: tile k out, tile k + 1 converted, tile k + 2 copied in
        issue(k + 2);
        output(k);
        if (k + 1 < n_tiles) {
            convert(k + 1, reset_next);
            reset_next = reset_flag(k + 2);
        }
        __syncthreads();
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
    if (a.ld_delta != a.d_inner || a.ld_y != a.d_inner) return false;  // written for contiguous delta and y rows
    const Units u = copy_units(a, G);
    if (u.bc == 0 || u.x == 0) return false;
    // outputs are written G channels at a time
    if (reinterpret_cast<std::uintptr_t>(a.y) % (G * sizeof(V)) != 0) return false;
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
