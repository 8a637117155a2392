// kernels/selective_scan.hpp — the fused selective scan on the GPU, and the few device-memory
// helpers its callers need. No CUDA types cross this header (lib/ compiles without CUDA).
//
// The CPU twin is dnamba::cpu::selective_scan (lib/src/cpu/ops.hpp); tests/test_cuda_scan.cpp
// checks one against the other on random inputs of awkward sizes ([gpu] tests).
#pragma once

#include <cstddef>
#include <string>

namespace dnamba::kernels {

// ---- device memory (every function returns "" on success, else the CUDA error text) ----
[[nodiscard]] std::string device_alloc(void** ptr, std::size_t bytes) noexcept;
void device_free(void* ptr) noexcept;
[[nodiscard]] std::string copy_to_device(void* device_dst, const void* host_src, std::size_t bytes) noexcept;
[[nodiscard]] std::string copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) noexcept;
[[nodiscard]] std::string device_synchronize() noexcept;
// Page-locked host memory (fast device-to-host copies).
[[nodiscard]] std::string host_alloc_pinned(void** ptr, std::size_t bytes) noexcept;
void host_free_pinned(void* ptr) noexcept;

// ---- the scan ----------------------------------------------------------------------------
//   h_t = exp(delta_t * A) h_{t-1} + delta_t * B_t * u_t     (fp32 state, d_state per channel)
//   y_t = (C_t . h_t + D u_t) * silu(z_t)
// over t = 0..L-1, or L-1..0 when `reverse`; the state restarts at zero at the first row of
// the scan and wherever reset[t] != 0 (the first row of a packed sequence in scan order).
// All pointers are device pointers; rows of u, delta and y have d_inner floats.
struct ScanArgs {
    int length = 0;
    int d_inner = 0;
    int d_state = 0;  // 1..64
    const float* u = nullptr;
    const float* delta = nullptr;  // already softplus(dt + bias)
    const float* A = nullptr;      // [d_inner, d_state], negative (-exp(A_log))
    const float* D = nullptr;      // [d_inner]
    const float* B = nullptr;      // B_t = B + t * ld_bc (d_state floats)
    const float* C = nullptr;      // C_t = C + t * ld_bc
    int ld_bc = 0;
    const float* z = nullptr;  // z_t = z + t * ld_z (d_inner floats); null: no gate
    int ld_z = 0;
    const unsigned char* reset = nullptr;  // [length] or null
    bool reverse = false;
    float* y = nullptr;
    float* workspace = nullptr;  // scan_workspace_floats() floats
    int chunk = 0;               // rows per chunk of the parallel-in-time scan; 0: automatic
};

// Rows per chunk that selective_scan() uses for this length when ScanArgs::chunk is 0.
[[nodiscard]] int scan_default_chunk(int length) noexcept;

// Floats of workspace the scan needs (chunk 0: the default).
[[nodiscard]] std::size_t scan_workspace_floats(int length, int d_inner, int d_state, int chunk) noexcept;

// Launches the scan (three kernels: chunk summaries, carried states, outputs) on the default
// stream. Returns "" or a message naming what is wrong (bad sizes, launch error); it does not
// wait for the kernels to finish.
[[nodiscard]] std::string selective_scan(const ScanArgs& args) noexcept;

}  // namespace dnamba::kernels
