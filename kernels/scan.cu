// The selective scan's dispatch (see scan.hpp) and its chunked form, parallel in time by chunks
// (the one-pass form, used where it runs the arguments, is scan_one_pass.cuh):
//   1. chunk summaries: every chunk scans its rows from a zero state, giving the affine map
//      h_end = P * h_start + S of the chunk (P = product of the decays since the last reset);
//   2. carried states: one pass along the chunks, from state_in, gives each chunk's true
//      starting state (and state_out after the last chunk);
//   3. outputs: every chunk scans again from its starting state and writes y.
// One thread owns one channel and keeps its d_state states in registers (a template over the
// state count rounded up to a power of two); B_t and C_t, the same for every thread of a
// block, are staged in shared memory per tile of steps. Inputs are fp32 or bf16; all
// arithmetic and states are fp32.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "device_common.cuh"
#include "scan.hpp"
#include "scan_common.cuh"

namespace dnamba::kernels {
namespace {

using namespace scan_detail;

constexpr int k_threads = 128;

__device__ __forceinline__ int row_at(int s, int length, bool reverse) { return reverse ? length - 1 - s : s; }

// Time steps loaded ahead of the recurrence per tile (a template parameter: register use
// grows with it, occupancy falls): tile 4 is held to 64 registers (8 blocks per SM).
// DNAMBA_SCAN_TILE=4|8 picks one for experiments.
constexpr int k_default_tile = 4;

int scan_tile() {
    static const int tile = [] {
        const char* env = std::getenv("DNAMBA_SCAN_TILE");
        const int v = env ? std::atoi(env) : k_default_tile;
        return (v == 4 || v == 8) ? v : k_default_tile;
    }();
    return tile;
}

// One pass over a chunk of rows for every channel of the block. The recurrence itself is a
// short dependent chain per step, so the loads are taken out of it: per tile of k_tile steps
// each thread first loads its u, dt (and z) for all of them, and the block stages B_t (and
// C_t) and the reset flags in shared memory; then the tile's steps run from registers. (Loading
// the next tile ahead in registers was tried: the extra registers cost more occupancy than the
// hidden latency gained; kernels/PERF_NOTES.md.) A reset is an infinite delta in the decay
// exponent (below), so it costs one select per step, not one per state. The state loop always
// runs NS states: states past d_state see B = C = 0 (and A = -1) and stay zero, which is
// cheaper than a bound check per state.
//   OUT false: chunk summaries (P = product of decays since the last reset, S = state from 0).
//     P is not multiplied up step by step: it is exp2(A * sum of delta) over the chunk, or 0
//     when a reset falls inside it (one exp per state per chunk instead of a product per step).
//   OUT true: outputs from the chunk's carried starting state H; C . h is summed in four
//     partial sums so that the sum is not one 16-long dependent chain per step.
template <int NS, bool OUT, int k_tile, typename V>
__global__ void __launch_bounds__(k_threads, k_tile == 4 ? 8 : 1) scan_pass(Scan<V> a, int chunk, float* P, float* S, const float* H) {
    __shared__ float4 sB[k_tile][NS / 4];
    __shared__ float4 sC[OUT ? k_tile : 1][NS / 4];
    __shared__ unsigned char sR[k_tile];
    const int d = blockIdx.x * blockDim.x + threadIdx.x;
    const bool active = d < a.d_inner;
    const int c = blockIdx.y;
    const int N = a.d_state;
    constexpr float log2e = 1.4426950408889634f;
    const size_t base = ((size_t)c * a.d_inner + d) * N;
    // A * log2(e), kept strictly negative (padded states: -1; they see B = C = 0 and stay zero)
    // so that a reset can be an infinite delta in the exponent: exp2(-inf) = 0 clears every
    // state in the update itself, with no per-state select
    float A2[NS], h[NS];
#pragma unroll
    for (int n = 0; n < NS; ++n) {
        const bool in = active && n < N;
        A2[n] = in ? fminf(a.A[d * N + n] * log2e, -1e-30f) : -1.0f;
        h[n] = (OUT && in) ? H[base + n] : 0.0f;
    }
    float lambda = 0.0f;  // sum of delta over the chunk (OUT false)
    bool cut = false;     // a reset inside the chunk (OUT false)
    const float Dd = (OUT && active && a.D) ? a.D[d] : 0.0f;
    const float bias = (active && a.delta_bias) ? a.delta_bias[d] : 0.0f;
    float* sBf = reinterpret_cast<float*>(sB);
    float* sCf = reinterpret_cast<float*>(sC);
    const ptrdiff_t step = a.reverse ? -1 : 1;
    const ptrdiff_t row_step = step * a.d_inner, z_step = step * a.ld_z;
    const int s0 = c * chunk, s1 = min(a.length, s0 + chunk);
    for (int at = s0; at < s1; at += k_tile) {
        const int steps = min(k_tile, s1 - at);
        const ptrdiff_t t0 = row_at(at, a.length, a.reverse);
        for (int i = threadIdx.x; i < k_tile * NS; i += blockDim.x) {
            const int j = i / NS, n = i % NS;
            float b = 0.0f, cc = 0.0f;
            if (j < steps && n < N) {
                const ptrdiff_t t = t0 + step * j;
                b = load_f(a.B + t * a.ld_bc + n);
                if (OUT) cc = load_f(a.C + t * a.ld_bc + n);
            }
            sBf[i] = b;
            if (OUT) sCf[i] = cc;
        }
        bool mine = false;
        if ((int)threadIdx.x < k_tile) {
            const unsigned char r =
                (a.reset && (int)threadIdx.x < steps) ? a.reset[t0 + step * (ptrdiff_t)threadIdx.x] : 0;
            sR[threadIdx.x] = r;
            mine = r != 0;
        }
        const bool any_reset = __syncthreads_or(mine);
        if (active) {
            const ptrdiff_t row = t0 * a.d_inner + d;
            float dt[k_tile], uu[k_tile], zz[k_tile];
#pragma unroll
            for (int j = 0; j < k_tile; ++j) {
                if (j < steps) {
                    dt[j] = load_f(a.delta + row + j * row_step);
                    uu[j] = load_f(a.u + row + j * row_step);
                    zz[j] = (OUT && a.z) ? load_f(a.z + (t0 * a.ld_z + d) + j * z_step) : 0.0f;
                }
            }
#pragma unroll
            for (int j = 0; j < k_tile; ++j) {
                if (j >= steps) break;
                const float v = dt[j] + bias;
                const float delta = a.delta_softplus ? softplus(v) : v;
                const float du = delta * uu[j];
                const bool reset = any_reset && sR[j];  // the same for the whole block
                const float delta_exp = reset ? INFINITY : delta;
                if (!OUT) {
                    cut = cut || reset;
                    lambda += delta;
                }
                float yq[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
                for (int q = 0; q < NS / 4; ++q) {
                    const float4 b4 = sB[j][q];
                    const float bq[4] = {b4.x, b4.y, b4.z, b4.w};
                    float cq[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                    if (OUT) {
                        const float4 c4 = sC[j][q];
                        cq[0] = c4.x;
                        cq[1] = c4.y;
                        cq[2] = c4.z;
                        cq[3] = c4.w;
                    }
#pragma unroll
                    for (int r = 0; r < 4; ++r) {
                        const int n = 4 * q + r;
                        const float decay = fast_exp2(delta_exp * A2[n]);
                        h[n] = fmaf(decay, h[n], du * bq[r]);
                        if (OUT) yq[r] = fmaf(cq[r], h[n], yq[r]);
                    }
                }
                if (OUT) {
                    float y = (yq[0] + yq[1]) + (yq[2] + yq[3]);
                    y = fmaf(Dd, uu[j], y);
                    if (a.z) y *= __fdividef(zz[j], 1.0f + __expf(-zz[j]));
                    store_f(a.y + row + j * row_step, y);
                }
            }
        }
        __syncthreads();
    }
    if (!OUT && active) {
#pragma unroll
        for (int n = 0; n < NS; ++n) {
            if (n >= N) break;
            P[base + n] = cut ? 0.0f : fast_exp2(A2[n] * lambda);
            S[base + n] = h[n];
        }
    }
}

// One thread per (channel, state): the carry is a short sequential walk over the chunks.
__global__ void scan_carry(int d_inner, int d_state, int n_chunks, const float* P, const float* S, float* H,
                           const float* state_in, float* state_out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const int per_chunk = d_inner * d_state;
    if (i >= per_chunk) return;
    float h = state_in ? state_in[i] : 0.0f;
    for (int c = 0; c < n_chunks; ++c) {
        const size_t at = (size_t)c * per_chunk + i;
        H[at] = h;
        h = P[at] * h + S[at];
    }
    if (state_out) state_out[i] = h;
}

template <int NS, int TILE, typename V>
Status launch(const Scan<V>& a, int chunk, float* workspace) {
    const int n_chunks = (a.length + chunk - 1) / chunk;
    const size_t per = (size_t)n_chunks * a.d_inner * a.d_state;
    float* P = workspace;
    float* S = P + per;
    float* H = S + per;
    const dim3 block(k_threads);
    const dim3 grid((a.d_inner + k_threads - 1) / k_threads, n_chunks);
    scan_pass<NS, false, TILE><<<grid, block>>>(a, chunk, P, S, nullptr);
    Status e = launch_status("selective_scan (chunk summaries)");
    if (!e.ok()) return e;
    scan_carry<<<(a.d_inner * a.d_state + k_threads - 1) / k_threads, block>>>(a.d_inner, a.d_state, n_chunks, P, S,
                                                                               H, a.state_in, a.state_out);
    e = launch_status("selective_scan (carried states)");
    if (!e.ok()) return e;
    scan_pass<NS, true, TILE><<<grid, block>>>(a, chunk, nullptr, nullptr, H);
    return launch_status("selective_scan (outputs)");
}


template <typename T>
Status scan_any(const ScanArgsT<T>& a) noexcept {
    if (a.length <= 0 || a.d_inner <= 0) return "selective_scan: empty input";
    if (a.d_state < 1 || a.d_state > k_scan_max_state) return "selective_scan: d_state must be 1..64";
    if (!a.u || !a.delta || !a.A || !a.B || !a.C || !a.y) return "selective_scan: missing buffer";
    if (a.ld_bc < a.d_state || (a.z && a.ld_z < a.d_inner)) return "selective_scan: row strides too small";
    if (a.warps_per_channel != 0 && a.warps_per_channel != 4 && a.warps_per_channel != 8)
        return "selective_scan: warps_per_channel must be 0, 4 or 8";
    const auto s = device_args(a);
    // The one-pass kernel only when asked for: on the H200 it is still slower than the chunked
    // one at every size measured (kernels/PERF_NOTES.md, session 5), so automatic = chunked.
    if (a.algorithm == ScanAlgorithm::one_pass) {
        const int warps =
            a.warps_per_channel ? a.warps_per_channel : scan_one_pass_default_warps(a.d_inner, a.d_state);
        if (!scan_one_pass_fits(s, warps))
            return "selective_scan: the one-pass scan does not run these arguments (d_inner a multiple of 4 or 2, "
                   "rows aligned for 4-byte copies, d_state >= warps per channel)";
        return scan_one_pass(s, warps);
    }
    if (!a.workspace) return "selective_scan: missing workspace (the chunked scan needs scan_workspace_floats())";
    const int chunk = a.chunk > 0 ? a.chunk : scan_default_chunk(a.length, a.d_inner);
    return with_int<4, 8, 16, 32, 64>(state_slots(a.d_state), "selective_scan: unsupported d_state", [&](auto ns) {
        return with_int<4, 8>(scan_tile(), "selective_scan: unsupported tile", [&](auto tile) {
            return launch<decltype(ns)::value, decltype(tile)::value>(s, chunk, a.workspace);
        });
    });
}

}  // namespace

namespace {
// Blocks of the scan's output pass that the device keeps resident at once (asked once per
// process, of the current device; 660 on an H100/H200 if the query fails).
int resident_scan_blocks() noexcept {
    static const int blocks = [] {
        int dev = 0, sms = 0, per_sm = 0;
        if (cudaGetDevice(&dev) != cudaSuccess ||
            cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess ||
            cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                &per_sm, scan_tile() == 4 ? scan_pass<16, true, 4, __nv_bfloat16> : scan_pass<16, true, 8, __nv_bfloat16>,
                k_threads, 0) != cudaSuccess ||
            sms <= 0 || per_sm <= 0) {
            (void)cudaGetLastError();
            return 660;
        }
        return sms * per_sm;
    }();
    return blocks;
}
}  // namespace

namespace scan_detail {
// The one-pass scan runs one block per SM (16 warps): 4 channels a block with 4 warps each, or 2
// with 8. Of the two, the one whose whole waves of blocks carry the least work per SM (wave
// count x channels per block); the 4-channel form on a tie (it shares B and C more).
int scan_one_pass_default_warps(int d_inner, int d_state) noexcept {
    if (state_slots(d_state) < 8) return 4;
    static const int sms = [] {
        int dev = 0, n = 0;
        if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) {
            (void)cudaGetLastError();
            return 132;
        }
        return n > 0 ? n : 132;
    }();
    const auto cost = [&](long channels_per_block) {
        const long blocks = (d_inner + channels_per_block - 1) / channels_per_block;
        return (blocks + sms - 1) / sms * channels_per_block;
    };
    return cost(2) < cost(4) ? 8 : 4;
}
}  // namespace scan_detail

int scan_default_chunk(int length, int d_inner) noexcept {
    // Every block does the same work, so the chunk count is set to fill whole waves of resident
    // blocks: 2 waves for short inputs, up to 8 for long ones (about 1,000 rows per chunk or
    // more), never less than 64 rows per chunk.
    const long channel_blocks = (std::max(d_inner, 1) + k_threads - 1) / k_threads;
    const long per_wave = std::max(1L, resident_scan_blocks() / channel_blocks);
    const long waves = std::clamp(static_cast<long>(length) / (per_wave * 1024), 2L, 8L);
    const long chunks = waves * per_wave;
    const long chunk = (static_cast<long>(length) + chunks - 1) / chunks;
    return static_cast<int>(std::max(chunk, 64L));
}

std::size_t scan_workspace_floats(int length, int d_inner, int d_state, int chunk) noexcept {
    if (chunk <= 0) chunk = scan_default_chunk(length, d_inner);
    const std::size_t n_chunks = (static_cast<std::size_t>(length) + chunk - 1) / chunk;
    return 3 * n_chunks * static_cast<std::size_t>(d_inner) * static_cast<std::size_t>(d_state);
}

namespace {
template <typename T>
bool one_pass_runs(const ScanArgsT<T>& a) noexcept {
    if (a.length <= 0 || a.d_inner <= 0 || a.d_state < 1 || a.d_state > k_scan_max_state) return false;
    const int warps = a.warps_per_channel ? a.warps_per_channel : scan_one_pass_default_warps(a.d_inner, a.d_state);
    return scan_one_pass_fits(device_args(a), warps);
}
}  // namespace

bool scan_one_pass_runs(const ScanArgsT<float>& a) noexcept { return one_pass_runs(a); }
bool scan_one_pass_runs(const ScanArgsT<bf16>& a) noexcept { return one_pass_runs(a); }

Status selective_scan(const ScanArgsT<float>& a) noexcept { return scan_any(a); }
Status selective_scan(const ScanArgsT<bf16>& a) noexcept { return scan_any(a); }

}  // namespace dnamba::kernels
