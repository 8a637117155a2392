// kernels/scan.hpp — the fused selective scan on the GPU. No CUDA types cross this header
// (lib/ compiles without CUDA); the device runtime (memory, copies) is runtime.hpp.
//
// The CPU twin is dnamba::cpu::selective_scan (lib/src/cpu/ops.hpp); tests/test_cuda_kernels.cpp
// checks one against the other on random inputs of awkward sizes ([gpu] tests).
#pragma once

#include <cstddef>

#include "dtype.hpp"
#include "status.hpp"

namespace dnamba::kernels {

// ---- the scan ----------------------------------------------------------------------------
//   delta_t = softplus(dt_t + delta_bias)   (when delta_softplus; else delta_t = dt_t)
//   h_t = exp(delta_t * A) h_{t-1} + delta_t * B_t * u_t     (fp32 state, d_state per channel)
//   y_t = (C_t . h_t + D u_t) * silu(z_t)        (or y_t += that, with accumulate)
// over t = 0..L-1, or L-1..0 when `reverse`. The state starts from state_in (or zero) and
// restarts at zero wherever reset[t] != 0 (the first row of a packed sequence in scan order);
// the state after the last row in scan order goes to state_out. That is what lets a long
// input run as consecutive chunks: pass one chunk's state_out as the next one's state_in.
// All pointers are device pointers; rows of u have d_inner elements, rows of delta and y
// ld_delta and ld_y (d_inner when 0; the one-pass scan runs only those). T is float
// or bf16 (inputs and output); arithmetic and states are fp32 either way.
// Which kernel runs the scan: automatic is the chunked two-pass scan (the one-pass kernel is
// correct but slower so far: kernels/PERF_NOTES.md entry 24), or its output pass alone over
// whole segments where segment_rows is set, scan_segments_enabled() and that pays (many
// segments: a batch of equal sequences); DNAMBA_SCAN=chunked|one-pass in the environment
// overrides automatic (chunked: never segments). one_pass asks for the one-pass scan (an error
// where it does not run the arguments: scan_one_pass_runs); segments for the output pass over
// whole segments (needs segment_rows).
enum class ScanAlgorithm { automatic, one_pass, chunked, segments };

template <typename T>
struct ScanArgsT {
    int length = 0;
    int d_inner = 0;
    int d_state = 0;  // 1..k_scan_max_state
    const T* u = nullptr;
    const T* delta = nullptr;              // dt, before the bias and softplus
    int ld_delta = 0;                      // delta_t = delta + t * ld_delta; 0: d_inner
    const float* delta_bias = nullptr;     // [d_inner] or null
    bool delta_softplus = false;           // torch softplus (threshold 20) after the bias
    const float* A = nullptr;              // [d_inner, d_state], negative (-exp(A_log))
    const float* D = nullptr;              // [d_inner] or null
    const T* B = nullptr;                  // B_t = B + t * ld_bc (d_state elements)
    const T* C = nullptr;                  // C_t = C + t * ld_bc
    int ld_bc = 0;
    const T* z = nullptr;  // z_t = z + t * ld_z (d_inner elements); null: no gate
    int ld_z = 0;
    const unsigned char* reset = nullptr;  // [length] or null
    bool reverse = false;
    T* y = nullptr;
    int ld_y = 0;  // y_t = y + t * ld_y; 0: d_inner (y may be z itself, ld_y = ld_z: read before written)
    // y_t += the scan's output instead of y_t = it (y holds the other direction's output: the
    // bidirectional add of tied-weight models without a pass of its own)
    bool accumulate = false;
    const float* state_in = nullptr;  // [d_inner, d_state] or null (zero)
    float* state_out = nullptr;       // [d_inner, d_state] or null; may equal state_in
    float* workspace = nullptr;       // scan_workspace_floats() floats (the chunked scan only)
    ScanAlgorithm algorithm = ScanAlgorithm::automatic;
    int chunk = 0;              // chunked scan: rows per chunk of the parallel-in-time scan; 0: automatic
    // The caller's promise that reset is set at every segment_rows-th row in scan order (rows
    // segment_rows, 2 * segment_rows, ... after the first): the input is whole sequences of that
    // length, but for the first, which may continue from state_in. Then no chunk of whole segments
    // needs its predecessors' states, and the chunked scan can run its output pass alone (the
    // last chunk writes state_out). 0: no promise.
    int segment_rows = 0;
    int warps_per_channel = 0;  // one-pass scan: 4 or 8 warps share a channel's states; 0: automatic
};
using ScanArgs = ScanArgsT<float>;

// Rows per chunk that selective_scan() uses for this length and channel count when
// ScanArgs::chunk is 0 (it depends on how many blocks the current device keeps resident).
[[nodiscard]] int scan_default_chunk(int length, int d_inner) noexcept;

// Whether the one-pass scan runs these arguments (their sizes, row strides and the alignment of
// the B, C, u, delta, z pointers; warps_per_channel as set).
[[nodiscard]] bool scan_one_pass_runs(const ScanArgsT<float>& args) noexcept;
[[nodiscard]] bool scan_one_pass_runs(const ScanArgsT<bf16>& args) noexcept;
// Whether selective_scan(args) would run the one-pass kernel (args.algorithm resolved).
[[nodiscard]] bool scan_picks_one_pass(const ScanArgsT<float>& args) noexcept;
[[nodiscard]] bool scan_picks_one_pass(const ScanArgsT<bf16>& args) noexcept;

// Whether automatic may pick the segments scan and the engine chunks batches of equal sequences
// for it: only with DNAMBA_SEGMENTS=1 in the environment until it has run on a GPU (written in
// session 18 when no lease could be had; kernels/PERF_NOTES.md entry 58). ScanAlgorithm::segments
// runs it regardless.
[[nodiscard]] bool scan_segments_enabled() noexcept;

// Segments of `segment_rows` rows that one wave of the segments scan's resident blocks covers at
// d_inner channels (a caller choosing how many rows to scan at once fills whole waves with a
// multiple of that many segments).
[[nodiscard]] int scan_segments_per_wave(int segment_rows, int d_inner) noexcept;

// Floats of workspace the scan needs (chunk 0: the default).
[[nodiscard]] std::size_t scan_workspace_floats(int length, int d_inner, int d_state, int chunk) noexcept;

// ---- the scan's delta ----------------------------------------------------------------------
//   delta[t, c] = softplus(sum_r X[t, r] W[c, r] + bias[c])     t < L, c < d_inner, r < R
// dt_proj, its bias and torch's softplus in one pass, fp32 arithmetic, delta written in T (row
// stride ld_delta): what the scan then takes with delta_softplus off and no delta_bias. X: the
// first R columns of x_proj's output (row stride ldx); W: [d_inner, R] row-major; bias:
// [d_inner] or null. R: 1..k_scan_delta_max_rank. The CPU twin is cpu::delta_softplus.
inline constexpr int k_scan_delta_max_rank = 32;
[[nodiscard]] Status scan_delta(const float* X, int ldx, const float* W, const float* bias, int d_inner, int R,
                                int L, float* delta, int ld_delta) noexcept;
[[nodiscard]] Status scan_delta(const bf16* X, int ldx, const bf16* W, const float* bias, int d_inner, int R, int L,
                                bf16* delta, int ld_delta) noexcept;

// The most states per channel the scan runs (held in registers, instantiated up to this).
inline constexpr int k_scan_max_state = 64;

// Launches the scan on the default stream: the chunked scan (three kernels: chunk summaries,
// carried states, outputs), or (ScanAlgorithm above) the one-pass scan (one kernel: every
// block walks a group of channels along the whole input, exp(delta*A) evaluated once per element). Returns ok or what is wrong (bad sizes, launch error); it does not wait for the
// kernels to finish.
[[nodiscard]] Status selective_scan(const ScanArgsT<float>& args) noexcept;
[[nodiscard]] Status selective_scan(const ScanArgsT<bf16>& args) noexcept;

}  // namespace dnamba::kernels
