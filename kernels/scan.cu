// The selective scan's dispatch (see scan.hpp) and its chunked form, parallel in time by chunks
// (the one-pass form, scan_one_pass.cuh, runs when asked for):
//   1. chunk summaries: every chunk scans its rows from a zero state, giving the affine map
//      h_end = P * h_start + S of the chunk (P = product of the decays since the last reset);
//   2. carried states: one pass along the chunks, from state_in, gives each chunk's true
//      starting state (and state_out after the last chunk);
//   3. outputs: every chunk scans again from its starting state and writes y.
// One thread owns one channel and keeps its d_state states in registers (a template over the
// state count rounded up to a power of two); every operand of the recurrence is staged in shared
// memory a tile of steps ahead (scan_pass below). Inputs are fp32 or bf16; all arithmetic and
// states are fp32.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "device_common.cuh"
#include "scan.hpp"
#include "scan_common.cuh"

namespace dnamba::kernels {
namespace {

using namespace scan_detail;

constexpr int k_threads = 128;

// Steps per tile: 8 in bf16, 4 in fp32 (the same bytes of u, dt and z per stage).
template <typename V>
inline constexpr int k_tile_steps = sizeof(V) == 2 ? 8 : 4;
// Raw copies in flight: the next tile's (landed, being converted after this tile is
// computed) and the one after it (being copied).
constexpr int k_stages = 2;
// Blocks per SM the output pass's registers are held to (80 registers a thread at 6, no
// spills): measured best of 6, 7 and 8 in both element types (kernels/PERF_NOTES.md, session 6).
// The output pass's shared memory allows 6 in bf16.
template <int NS>
inline constexpr int k_out_min_blocks = NS <= 16 ? 6 : 2;
// The summaries' (at d_state 16: 96 registers at 5, 4 bytes of spills; 64 registers and 88 bytes
// at 8): 5 measured best of 8, 7, 6 and 5, 2-4 % faster than 8 (PERF_NOTES.md, session 16).
template <int NS>
inline constexpr int k_sum_min_blocks = NS == 16 ? 5 : NS < 16 ? 8 : 2;

// A block's shared memory: raw copies of u, dt, z (and with ACC the y rows the output is added
// to) and of B, C for k_stages tiles; B and C as
// fp32 for two tiles (the one being computed and the next); and per channel the converted
// operands of one tile (each thread writes and reads only its own channel's column, so one
// buffer serves: a tile's column is read before the next one is written). At d_state 16 the
// output pass takes about 31 KiB in bf16 (35 with ACC; 6 blocks per SM), 22 KiB in fp32; the summaries less.
template <int NS, int T, typename V, bool OUT, bool ACC>
struct Tiles {
    V x[k_stages][OUT ? (ACC ? 4 : 3) : 2][T][k_threads];  // u, dt (, z (, y)) of the block's channels
    V bc[k_stages][2][T][NS];        // B and C rows (d_state of NS used)
    float4 fb[2][T][NS / 4], fc[OUT ? 2 : 1][T][NS / 4];
    float de[T][k_threads];                 // delta in the decay exponent (infinite at a reset)
    float du[T][k_threads];                 // delta * u
    float gate[OUT ? T : 1][k_threads];     // silu(z) (1 without a gate)
    float skip[OUT ? T : 1][k_threads];     // D * u * silu(z) (+ y's earlier value with ACC)
    unsigned char reset[3][T];
};

// One pass over a chunk of rows for every channel of the block: one thread per channel, its
// states in registers. The recurrence's operands come from shared memory, prepared a tile
// ahead: tile k + 2's rows are copied in (cp.async, 16-byte pieces where the rows are aligned
// for them, else plain loads) while tile k is computed; after it, tile k + 1 is converted
// (B and C to fp32 by the whole block; each thread its own channel's delta = softplus(dt +
// bias), delta * u, the gate and the D skip — T independent chains, so their latency overlaps
// where inside the recurrence it would sit on every step's critical path). One barrier per
// tile. A reset is an infinite delta in the decay exponent (exp2(-inf) = 0 clears the states
// inside the update), so it costs nothing per state. The state loop always runs NS states:
// states past d_state see B = C = 0 (and A = -1) and stay zero.
//   OUT false: chunk summaries (P = product of decays since the last reset, S = state from 0).
//     P is not multiplied up step by step: it is exp2(A * sum of delta) over the chunk, or 0
//     when a reset falls inside it (one exp per state per chunk instead of a product per step).
//   OUT true: outputs from the chunk's carried starting state H; C . h is summed in four
//     partial sums so that the sum is not one 16-long dependent chain per step. ACC (y += the
//     output, a.accumulate): y's rows are copied in with the tile's other operands and their
//     values folded into the skip term, so that no step waits on a load from global memory.
// vec_x / vec_bc: the u, dt, z rows / the B, C rows are 16-byte aligned (host-checked).
template <int NS, bool OUT, bool ACC, typename V, int MB>
__global__ void __launch_bounds__(k_threads, MB)
    scan_pass(Scan<V> a, int chunk, bool vec_x, bool vec_bc, float* P, float* S, const float* H) {
    static_assert(OUT || !ACC, "scan: only the output pass accumulates");
    constexpr int T = k_tile_steps<V>;
    constexpr int E = 16 / static_cast<int>(sizeof(V));  // elements per 16-byte copy
    __shared__ __align__(16) Tiles<NS, T, V, OUT, ACC> sm;
    const int tid = threadIdx.x;
    const int d0 = blockIdx.x * k_threads, d = d0 + tid;
    const int width = min(k_threads, a.d_inner - d0);  // channels of this block
    const bool active = tid < width;
    const int c = blockIdx.y;
    const int N = a.d_state;
    const size_t base = ((size_t)c * a.d_inner + d) * N;
    // A * log2(e), kept strictly negative (padded states: -1; they see B = C = 0 and stay zero)
    // so that a reset can be an infinite delta in the exponent
    float A2[NS], h[NS];
#pragma unroll
    for (int n = 0; n < NS; ++n) {
        const bool in = active && n < N;
        A2[n] = in ? fminf(a.A[d * N + n] * k_log2e, -1e-30f) : -1.0f;
        // without H (segments: every chunk after the first starts with a reset) the first chunk
        // starts from state_in and the others from zero
        h[n] = !(OUT && in) ? 0.0f : H ? H[base + n] : (c == 0 && a.state_in) ? a.state_in[d * N + n] : 0.0f;
    }
    float lambda = 0.0f;  // sum of delta over the chunk (OUT false)
    bool cut = false;     // a reset inside the chunk (OUT false)
    const bool has_z = OUT && a.z;
    constexpr int nbc = OUT ? 2 : 1;
    const int s0 = c * chunk, s1 = min(a.length, s0 + chunk);
    const int n_tiles = (s1 - s0 + T - 1) / T;
    const auto row_of = [&](int s) -> ptrdiff_t { return a.reverse ? a.length - 1 - s : s; };
    const auto steps_of = [&](int k) { return min(T, s1 - (s0 + k * T)); };

    // Tile k's rows into stage k % k_stages (an empty copy group past the last tile).
    const auto issue = [&](int k) {
        if (k < n_tiles) {
            const int st = k % k_stages, at = s0 + k * T, steps = steps_of(k);
            if (vec_x) {
                // one 16-byte piece of each of u, dt (, z (, y)) per thread: row tid / cpr, piece tid % cpr
                constexpr int cpr = k_threads / E;
                static_assert(cpr * T == k_threads, "scan: a tile's rows are one piece per thread");
                const int q = tid % cpr, j = tid / cpr;
                if (j < steps && q * E < width) {
                    const ptrdiff_t t = row_of(at + j);
                    copy_async(&sm.x[st][0][j][q * E], a.u + t * a.d_inner + d0 + q * E, 16);
                    copy_async(&sm.x[st][1][j][q * E], a.delta + t * a.ld_delta + d0 + q * E, 16);
                    if (has_z) copy_async(&sm.x[st][OUT ? 2 : 0][j][q * E], a.z + t * a.ld_z + d0 + q * E, 16);
                    if constexpr (ACC) copy_async(&sm.x[st][3][j][q * E], a.y + t * a.ld_y + d0 + q * E, 16);
                }
            } else if (active) {
                for (int j = 0; j < steps; ++j) {
                    const ptrdiff_t t = row_of(at + j);
                    sm.x[st][0][j][tid] = a.u[t * a.d_inner + d];
                    sm.x[st][1][j][tid] = a.delta[t * a.ld_delta + d];
                    if (has_z) sm.x[st][OUT ? 2 : 0][j][tid] = a.z[t * a.ld_z + d];
                    if constexpr (ACC) sm.x[st][3][j][tid] = a.y[t * a.ld_y + d];
                }
            }
            if (vec_bc) {
                constexpr int cpr = (NS + E - 1) / E;
                for (int i = tid; i < 2 * T * cpr; i += k_threads) {
                    const int q = i % cpr, j = (i / cpr) % T, w = i / (cpr * T);
                    if (w < nbc && j < steps && q * E < N)
                        copy_async(&sm.bc[st][w][j][q * E], (w ? a.C : a.B) + row_of(at + j) * a.ld_bc + q * E, 16);
                }
            } else {
                for (int i = tid; i < nbc * T * NS; i += k_threads) {
                    const int n = i % NS, j = (i / NS) % T, w = i / (NS * T);
                    if (j < steps && n < N) sm.bc[st][w][j][n] = (w ? a.C : a.B)[row_of(at + j) * a.ld_bc + n];
                }
            }
        }
        copy_async_commit();
    };
    // Tile k (landed) converted: B and C as fp32 into buffer k & 1 (zero past d_state and past
    // the end), this thread's channel's operands into its column.
    const float Dd = (OUT && active && a.D) ? a.D[d] : 0.0f;
    const float bias = (active && a.delta_bias) ? a.delta_bias[d] : 0.0f;
    const auto convert = [&](int k) {
        const int st = k % k_stages, buf = k & 1, steps = steps_of(k);
        float* fb = reinterpret_cast<float*>(sm.fb[buf]);
        float* fc = reinterpret_cast<float*>(sm.fc[OUT ? buf : 0]);
        for (int i = tid; i < T * NS; i += k_threads) {
            const int j = i / NS, n = i % NS;
            const bool in = j < steps && n < N;
            fb[i] = in ? load_f(&sm.bc[st][0][j][n]) : 0.0f;
            if (OUT) fc[i] = in ? load_f(&sm.bc[st][1][j][n]) : 0.0f;
        }
        if (!active) return;
        const unsigned char* reset = sm.reset[k % 3];
#pragma unroll
        for (int j = 0; j < T; ++j) {
            if (j >= steps) break;
            const float v = load_f(&sm.x[st][1][j][tid]) + bias;
            const float delta = a.delta_softplus ? softplus(v) : v;
            const float uu = load_f(&sm.x[st][0][j][tid]);
            const bool r = reset[j] != 0;
            sm.de[j][tid] = r ? INFINITY : delta;
            sm.du[j][tid] = delta * uu;
            if (OUT) {
                float g = 1.0f;
                if (has_z) {
                    const float zz = load_f(&sm.x[st][OUT ? 2 : 0][j][tid]);
                    g = __fdividef(zz, 1.0f + __expf(-zz));
                }
                sm.gate[j][tid] = g;
                float skip = Dd * uu * g;
                if constexpr (ACC) skip += load_f(&sm.x[st][3][j][tid]);
                sm.skip[j][tid] = skip;
            } else {
                cut = cut || r;
                lambda += delta;
            }
        }
    };
    // This thread's step of tile k: its reset flag (0 without resets or past the end).
    const auto reset_of = [&](int k) -> unsigned char {
        if (!a.reset || tid >= T || k >= n_tiles) return 0;
        const int s = s0 + k * T + tid;
        return s < s1 ? a.reset[row_of(s)] : 0;
    };

    issue(0);
    issue(1);
    if (tid < T) {
        sm.reset[0][tid] = reset_of(0);
        sm.reset[1][tid] = reset_of(1);
    }
    copy_async_wait<1>();  // tile 0
    __syncthreads();
    convert(0);
    for (int k = 0; k < n_tiles; ++k) {
        const int buf = k & 1, steps = steps_of(k);
        copy_async_wait<0>();  // tile k + 1
        __syncthreads();       // tile k + 1 visible and its reset flags stored; stage k % k_stages free
        issue(k + 2);
        const unsigned char reset_ahead = reset_of(k + 2);
        if (active) {
            const ptrdiff_t row_step = (a.reverse ? -1 : 1) * (ptrdiff_t)a.ld_y;
            V* yp = a.y + row_of(s0 + k * T) * a.ld_y + d;
#pragma unroll
            for (int j = 0; j < T; ++j) {
                if (j >= steps) break;
                const float delta_exp = sm.de[j][tid], du = sm.du[j][tid];
                float yq[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
                for (int q = 0; q < NS / 4; ++q) {
                    const float4 b4 = sm.fb[buf][j][q];
                    const float bq[4] = {b4.x, b4.y, b4.z, b4.w};
                    float cq[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                    if (OUT) {
                        const float4 c4 = sm.fc[OUT ? buf : 0][j][q];
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
                    const float y = (yq[0] + yq[1]) + (yq[2] + yq[3]);
                    const float out = fmaf(y, sm.gate[j][tid], sm.skip[j][tid]);
                    store_f(yp, out);
                    yp += row_step;
                }
            }
        }
        if (k + 1 < n_tiles) convert(k + 1);
        if (tid < T) sm.reset[(k + 2) % 3][tid] = reset_ahead;
    }
    if (!OUT && active) {
#pragma unroll
        for (int n = 0; n < NS; ++n) {
            if (n >= N) break;
            P[base + n] = cut ? 0.0f : fast_exp2(A2[n] * lambda);
            S[base + n] = h[n];
        }
    }
    // segments (no carry pass): the last chunk's final states are the scan's
    if (OUT && !H && a.state_out && active && c == (int)gridDim.y - 1) {
#pragma unroll
        for (int n = 0; n < NS; ++n) {
            if (n >= N) break;
            a.state_out[d * N + n] = h[n];
        }
    }
}

// One thread per (channel, state): the carry is a short sequential walk over the chunks. The
// loads of k_carry_ahead chunks are issued together ahead of their dependent FMAs, so the walk
// waits for a load's latency once per k_carry_ahead chunks rather than once per chunk; blocks of
// one warp spread the 8,192 walks of d_inner 512 x N 16 over every SM.
constexpr int k_carry_ahead = 8;
constexpr int k_carry_threads = 32;
__global__ void scan_carry(int d_inner, int d_state, int n_chunks, const float* P, const float* S, float* H,
                           const float* state_in, float* state_out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const int per_chunk = d_inner * d_state;
    if (i >= per_chunk) return;
    float h = state_in ? state_in[i] : 0.0f;
    int c = 0;
    for (; c + k_carry_ahead <= n_chunks; c += k_carry_ahead) {
        float p[k_carry_ahead], s[k_carry_ahead];
#pragma unroll
        for (int j = 0; j < k_carry_ahead; ++j) {
            const size_t at = (size_t)(c + j) * per_chunk + i;
            p[j] = __ldg(P + at);
            s[j] = __ldg(S + at);
        }
#pragma unroll
        for (int j = 0; j < k_carry_ahead; ++j) {
            H[(size_t)(c + j) * per_chunk + i] = h;
            h = fmaf(p[j], h, s[j]);
        }
    }
    for (; c < n_chunks; ++c) {
        const size_t at = (size_t)c * per_chunk + i;
        H[at] = h;
        h = fmaf(P[at], h, S[at]);
    }
    if (state_out) state_out[i] = h;
}

// Whether every row of the `count` elements at p + t * ld is 16-byte aligned.
template <typename V>
bool rows_aligned16(const V* p, long ld, long count) {
    return reinterpret_cast<std::uintptr_t>(p) % 16 == 0 && (ld * (long)sizeof(V)) % 16 == 0 &&
           (count * (long)sizeof(V)) % 16 == 0;
}

// The output pass over chunks of `chunk` rows, from the carried states H of the chunks (or,
// H null, from state_in for the first chunk and zero for the others: segments).
template <int NS, int MB, typename V>
Status launch_outputs(const Scan<V>& a, int chunk, bool vec_x, bool vec_bc, const float* H) {
    const dim3 grid((a.d_inner + k_threads - 1) / k_threads, (a.length + chunk - 1) / chunk);
    if (a.accumulate) scan_pass<NS, true, true, V, MB><<<grid, k_threads>>>(a, chunk, vec_x, vec_bc, nullptr, nullptr, H);
    else scan_pass<NS, true, false, V, MB><<<grid, k_threads>>>(a, chunk, vec_x, vec_bc, nullptr, nullptr, H);
    return launch_status("selective_scan (outputs)");
}

// segments: every chunk after the first starts with a reset (ScanArgsT::segment_rows), so no
// chunk needs its predecessors' states: the output pass alone, its last chunk writing state_out.
template <int NS, int MB, typename V>
Status launch(const Scan<V>& a, int chunk, float* workspace, bool segments) {
    const int n_chunks = (a.length + chunk - 1) / chunk;
    const size_t per = (size_t)n_chunks * a.d_inner * a.d_state;
    const bool vec_x = rows_aligned16(a.u, a.d_inner, a.d_inner) && rows_aligned16(a.delta, a.ld_delta, a.d_inner) &&
                       (!a.z || rows_aligned16(a.z, a.ld_z, a.d_inner)) &&
                       (!a.accumulate || rows_aligned16(a.y, a.ld_y, a.d_inner));
    const bool vec_bc = rows_aligned16(a.B, a.ld_bc, a.d_state) && rows_aligned16(a.C, a.ld_bc, a.d_state);
    if (segments) {
        Scan<V> s = a;
        if (s.state_in && s.state_in == s.state_out && n_chunks > 1) {
            // the last chunk's block may write state_out before the first one has read state_in
            DNAMBA_CUDA_RETURN(cudaMemcpyAsync(workspace, s.state_in, sizeof(float) * a.d_inner * a.d_state,
                                               cudaMemcpyDeviceToDevice));
            s.state_in = workspace;
        }
        return launch_outputs<NS, MB>(s, chunk, vec_x, vec_bc, nullptr);
    }
    float* P = workspace;
    float* S = P + per;
    float* H = S + per;
    const dim3 block(k_threads);
    const dim3 grid((a.d_inner + k_threads - 1) / k_threads, n_chunks);
    scan_pass<NS, false, false, V, k_sum_min_blocks<NS>><<<grid, block>>>(a, chunk, vec_x, vec_bc, P, S, nullptr);
    Status e = launch_status("selective_scan (chunk summaries)");
    if (!e.ok()) return e;
    scan_carry<<<(a.d_inner * a.d_state + k_carry_threads - 1) / k_carry_threads, k_carry_threads>>>(
        a.d_inner, a.d_state, n_chunks, P, S, H, a.state_in, a.state_out);
    e = launch_status("selective_scan (carried states)");
    if (!e.ok()) return e;
    return launch_outputs<NS, MB>(a, chunk, vec_x, vec_bc, H);
}


// Automatic: the chunked scan. The one-pass rewrite of session 9 is correct on the GPU but 2.6x
// slower (2026-12-07, H100: 19.9 against 7.56 ms at 1 Mnt bf16: one 16-warp block per SM issues
// in a third of the cycles; kernels/PERF_NOTES.md entry 24). DNAMBA_SCAN=one-pass (where it
// runs) or =chunked in the environment overrides automatic, for benchmarks and diagnosis.
ScanAlgorithm env_scan_algorithm() noexcept {
    static const ScanAlgorithm v = env_equals("DNAMBA_SCAN", "chunked")    ? ScanAlgorithm::chunked
                                   : env_equals("DNAMBA_SCAN", "one-pass") ? ScanAlgorithm::one_pass
                                                                           : ScanAlgorithm::automatic;
    return v;
}

template <typename T>
bool picks_one_pass(const ScanArgsT<T>& a) noexcept;
int resident_scan_blocks() noexcept;

// The segments scan's chunk: whole segments of p rows, at least 64 rows (a block's fixed work
// is then small against its steps) and at most 65,535 chunks (the grid's y extent).
constexpr int k_segment_min_rows = 64;
long min_segments_per_chunk(int p) noexcept { return (k_segment_min_rows + (long)p - 1) / p; }
int segment_chunk(int length, int p) noexcept {
    long m = min_segments_per_chunk(p);
    const long segments = (length + (long)p - 1) / p;
    m = std::max(m, (segments + 65534) / 65535);
    return (int)std::min<long>((long)p * m, length);
}

// Whether the output pass alone over whole segments (a wave of resident blocks per chunk's worth
// of rows, the last wave as long as a full one) beats both passes and the carry over chunks that
// fill the waves: their executed instructions are ~1.7 times the output pass's (PERF_NOTES entry
// 34: 19.5 against 11.3 an element), counted here as 1.6.
// (The waves are counted with the d_state-16 output pass's residency; at d_state above 16 fewer
// blocks are resident and the count is low, which only makes the choice less often right.)
constexpr double k_both_passes = 1.6;
bool segments_pay(int length, int d_inner, int p) noexcept {
    if (p <= 0) return false;
    const int chunk = segment_chunk(length, p);
    const double blocks = (double)((length + (long)chunk - 1) / chunk) * ((d_inner + k_threads - 1) / k_threads);
    const double waves = blocks / resident_scan_blocks();
    return std::ceil(waves) < k_both_passes * waves;
}

template <typename T>
Status scan_any(const ScanArgsT<T>& a) noexcept {
    if (a.length <= 0 || a.d_inner <= 0) return "selective_scan: empty input";
    if (a.d_state < 1 || a.d_state > k_scan_max_state) return "selective_scan: d_state must be 1..64";
    if (!a.u || !a.delta || !a.A || !a.B || !a.C || !a.y) return "selective_scan: missing buffer";
    if (a.ld_bc < a.d_state || (a.z && a.ld_z < a.d_inner) || (a.ld_delta != 0 && a.ld_delta < a.d_inner) ||
        (a.ld_y != 0 && a.ld_y < a.d_inner))
        return "selective_scan: row strides too small";
    if (a.warps_per_channel != 0 && a.warps_per_channel != 4 && a.warps_per_channel != 8)
        return "selective_scan: warps_per_channel must be 0, 4 or 8";
    if (a.segment_rows < 0) return "selective_scan: segment_rows must be 0 or more";
    const auto s = device_args(a);
    if (picks_one_pass(a)) {
        const int warps =
            a.warps_per_channel ? a.warps_per_channel : scan_one_pass_default_warps(a.d_inner, a.d_state);
        if (!scan_one_pass_fits(s, warps))
            return "selective_scan: the one-pass scan does not run these arguments (d_inner a multiple of 4 or 2, "
                   "rows aligned for 4-byte copies, y aligned for G channels, d_state >= warps per channel)";
        return scan_one_pass(s, warps);
    }
    if (!a.workspace) return "selective_scan: missing workspace (the chunked scan needs scan_workspace_floats())";
    const ScanAlgorithm how = a.algorithm != ScanAlgorithm::automatic ? a.algorithm : env_scan_algorithm();
    if (how == ScanAlgorithm::segments && a.segment_rows == 0)
        return "selective_scan: the segments scan needs segment_rows (the rows between resets)";
    const bool segments = how == ScanAlgorithm::segments ||
                          (how == ScanAlgorithm::automatic && scan_segments_enabled() &&
                           segments_pay(a.length, a.d_inner, a.segment_rows));
    const int chunk = segments      ? segment_chunk(a.length, a.segment_rows)
                      : a.chunk > 0 ? a.chunk
                                    : scan_default_chunk(a.length, a.d_inner);
    return with_int<4, 8, 16, 32, 64>(state_slots(a.d_state), "selective_scan: unsupported d_state", [&](auto ns) {
        constexpr int NS = decltype(ns)::value;
        return launch<NS, k_out_min_blocks<NS>>(s, chunk, a.workspace, segments);
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
                &per_sm, scan_pass<16, true, false, __nv_bfloat16, k_out_min_blocks<16>>, k_threads, 0) != cudaSuccess ||
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

bool scan_segments_enabled() noexcept {
    static const bool v = env_equals("DNAMBA_SEGMENTS", "1");
    return v;
}

int scan_segments_per_wave(int segment_rows, int d_inner) noexcept {
    if (segment_rows <= 0 || d_inner <= 0) return 1;
    const int per_chunk = (int)min_segments_per_chunk(segment_rows);
    const int blocks = (d_inner + k_threads - 1) / k_threads;
    return std::max(1, resident_scan_blocks() / blocks) * per_chunk;
}

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

template <typename T>
bool picks_one_pass(const ScanArgsT<T>& a) noexcept {
    if (a.algorithm != ScanAlgorithm::automatic) return a.algorithm == ScanAlgorithm::one_pass;  // an error where it does not run
    return env_scan_algorithm() == ScanAlgorithm::one_pass && one_pass_runs(a);
}
}  // namespace

bool scan_one_pass_runs(const ScanArgsT<float>& a) noexcept { return one_pass_runs(a); }
bool scan_one_pass_runs(const ScanArgsT<bf16>& a) noexcept { return one_pass_runs(a); }
bool scan_picks_one_pass(const ScanArgsT<float>& a) noexcept { return picks_one_pass(a); }
bool scan_picks_one_pass(const ScanArgsT<bf16>& a) noexcept { return picks_one_pass(a); }

Status selective_scan(const ScanArgsT<float>& a) noexcept { return scan_any(a); }
Status selective_scan(const ScanArgsT<bf16>& a) noexcept { return scan_any(a); }

}  // namespace dnamba::kernels
