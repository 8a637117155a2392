// kernels/scan_common.cuh — private to kernels/: what the scan's two kernels share (scan.cu:
// the chunked two-pass scan and the dispatch; scan_one_pass.cuh: the one-pass scan): the
// arguments with device element types, the fused softplus, the SFU exp2, the state slots.
#pragma once

#include <cuda_bf16.h>

#include "device_common.cuh"
#include "scan.hpp"

namespace dnamba::kernels::scan_detail {

// The scan's arguments with device element types.
template <typename V>
struct Scan {
    int length, d_inner, d_state, ld_bc, ld_z, ld_delta, ld_y;
    const V *u, *delta, *B, *C, *z;
    const float *delta_bias, *A, *D, *state_in;
    bool delta_softplus, reverse, accumulate;
    const unsigned char* reset;
    V* y;
    float* state_out;
};

template <typename T>
inline Scan<device_t<T>> device_args(const ScanArgsT<T>& a) {
    Scan<device_t<T>> s;
    s.length = a.length;
    s.d_inner = a.d_inner;
    s.d_state = a.d_state;
    s.ld_bc = a.ld_bc;
    s.ld_z = a.ld_z;
    s.ld_delta = a.ld_delta > 0 ? a.ld_delta : a.d_inner;
    s.ld_y = a.ld_y > 0 ? a.ld_y : a.d_inner;
    s.u = device_ptr(a.u);
    s.delta = device_ptr(a.delta);
    s.B = device_ptr(a.B);
    s.C = device_ptr(a.C);
    s.z = device_ptr(a.z);
    s.delta_bias = a.delta_bias;
    s.A = a.A;
    s.D = a.D;
    s.state_in = a.state_in;
    s.delta_softplus = a.delta_softplus;
    s.reverse = a.reverse;
    s.accumulate = a.accumulate;
    s.reset = a.reset;
    s.y = device_ptr(a.y);
    s.state_out = a.state_out;
    return s;
}

inline constexpr float k_log2e = 1.4426950408889634f;

// 2^x in one SFU instruction (denormal results flush to zero: a decay that small is zero).
__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// torch's softplus (threshold 20): log1p(exp(v)), written as max(v, 0) + log1p(x) with
// x = exp(-|v|) in (0, 1], and log1p(x) = x P(x) with P the degree-8 Chebyshev fit of
// log1p(x) / x on [0, 1] (relative error of x P(x) under 2e-7 in fp32; scripts/softplus_fit.py
// makes and checks the coefficients). Twelve instructions and one SFU op, without a branch:
// above the threshold x P(x) < 2.1e-9 is below half an ulp of v, so the sum is v exactly, as
// torch returns it. It runs once per (row, channel) in scan_delta (and in each scan pass when
// the scan applies the softplus itself).
__device__ __forceinline__ float softplus(float v) {
    const float x = fast_exp2(-fabsf(v) * k_log2e);
    float p = 0.005253457929939032f;
    p = fmaf(p, x, -0.02958850748836994f);
    p = fmaf(p, x, 0.07836166769266129f);
    p = fmaf(p, x, -0.13674770295619965f);
    p = fmaf(p, x, 0.19111430644989014f);
    p = fmaf(p, x, -0.24844369292259216f);
    p = fmaf(p, x, 0.33319270610809326f);
    p = fmaf(p, x, -0.49999502301216125f);
    p = fmaf(p, x, 1.0f);
    return fmaf(x, p, fmaxf(v, 0.0f));
}

// Asynchronous global-to-shared copies (cp.async, sm_80+): both scans stage their tiles so.
__device__ __forceinline__ unsigned shared_address(const void* p) {
    return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

// An asynchronous copy of `unit` (4, 8 or 16) bytes, global to shared.
__device__ __forceinline__ void copy_async(void* dst, const void* src, int unit) {
    if (unit == 16)
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(shared_address(dst)), "l"(src));
    else if (unit == 8)
        asm volatile("cp.async.ca.shared.global [%0], [%1], 8;\n" ::"r"(shared_address(dst)), "l"(src));
    else
        asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(shared_address(dst)), "l"(src));
}
__device__ __forceinline__ void copy_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void copy_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }
// Waits until at most `pending` of this thread's committed copy groups are still in flight.
template <int pending>
__device__ __forceinline__ void copy_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(pending) : "memory");
}

// D += A B on the tensor cores: mma.sync m16n8k16, bf16 operands, fp32 accumulation (the
// fragments' layout is PTX's: A row-major, B column-major). scan_delta's dt_proj and the fused
// conv + x_proj + dt_proj (conv_proj.cu) run on it.
__device__ __forceinline__ void mma_bf16_16816(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// W[ch][k] and W[ch][k + 1] of a [d_inner, R] row-major matrix as one bf16 pair (zeros outside
// the matrix).
__device__ __forceinline__ unsigned weight_pair(const __nv_bfloat16* W, int R, int d_inner, int ch, int k) {
    const __nv_bfloat16 zero = __float2bfloat16(0.0f);
    __nv_bfloat162 p;
    p.x = (ch < d_inner && k < R) ? W[(size_t)ch * R + k] : zero;
    p.y = (ch < d_inner && k + 1 < R) ? W[(size_t)ch * R + k + 1] : zero;
    unsigned u;
    memcpy(&u, &p, sizeof u);
    return u;
}

// The states per channel rounded up to the power of two the kernel holds in registers.
inline int state_slots(int d_state) {
    int ns = 4;
    while (ns < d_state) ns *= 2;
    return ns;
}

// The one-pass scan (scan_one_pass.cuh; one instantiation per element type):
// scan_one_pass_fits says whether it runs these arguments (4-channel groups, rows aligned for
// asynchronous copies, shared memory on this device); scan_one_pass launches it.
bool scan_one_pass_fits(const Scan<float>& a, int warps_per_channel) noexcept;
bool scan_one_pass_fits(const Scan<__nv_bfloat16>& a, int warps_per_channel) noexcept;
Status scan_one_pass(const Scan<float>& a, int warps_per_channel) noexcept;
Status scan_one_pass(const Scan<__nv_bfloat16>& a, int warps_per_channel) noexcept;
// The warps per channel the one-pass scan picks for d_inner channels on this device (4 or 8).
int scan_one_pass_default_warps(int d_inner, int d_state) noexcept;

}  // namespace dnamba::kernels::scan_detail
