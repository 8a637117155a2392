// kernels/device_common.cuh — private to kernels/: error reporting for launches and CUDA
// calls (as Status), the one template-argument switch, and the fp32/bf16 load/store helpers
// every kernel templated on the element type uses.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "dtype.hpp"
#include "status.hpp"

#define DNAMBA_STRINGIFY2(x) #x
#define DNAMBA_STRINGIFY(x) DNAMBA_STRINGIFY2(x)
// Returns the Status of a failed `call` ("<file:line> <call>: <CUDA error>"; out of memory as
// Status::out_of_memory) from the enclosing function.
#define DNAMBA_CUDA_RETURN(call)                                                                           \
    do {                                                                                                   \
        const cudaError_t dnamba_e = (call);                                                               \
        if (dnamba_e != cudaSuccess)                                                                       \
            return ::dnamba::kernels::cuda_status(dnamba_e, __FILE__ ":" DNAMBA_STRINGIFY(__LINE__) " " #call); \
    } while (0)

namespace dnamba::kernels {

// The Status of CUDA error `e` from `what` (cudaErrorMemoryAllocation: out of memory).
inline Status cuda_status(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return {};
    std::string m = std::string(what) + ": " + cudaGetErrorString(e);
    return e == cudaErrorMemoryAllocation ? Status::out_of_memory(std::move(m)) : Status(std::move(m));
}

// Ok after a successful launch, else the launch error naming `what`.
inline Status launch_status(const char* what) {
    const cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? Status() : cuda_status(e, (std::string(what) + ": kernel launch").c_str());
}

// The one switch from a run-time value to a template argument: calls f(std::integral_constant<
// int, V>{}) for the V of `Vs` equal to `value` and returns its Status, or `unsupported` when
// none is. (Used for the scan's state count and tile, the conv's taps.)
template <int... Vs, typename F>
Status with_int(int value, const char* unsupported, F&& f) {
    Status s(unsupported);
    (void)((value == Vs ? (s = f(std::integral_constant<int, Vs>{}), true) : false) || ...);
    return s;
}

// Whether environment variable `name` is set to `value`: the kernels' run-time switches for
// benchmarks and diagnosis (DNAMBA_SCAN, DNAMBA_DELTA, DNAMBA_GEMM), each read once into a static.
inline bool env_equals(const char* name, const char* value) {
    const char* e = std::getenv(name);
    return e && std::strcmp(e, value) == 0;
}

// The device type behind a host element type.
template <typename T>
struct DeviceType {
    using type = T;
};
template <>
struct DeviceType<bf16> {
    using type = __nv_bfloat16;
};
template <typename T>
using device_t = typename DeviceType<T>::type;

template <typename T>
device_t<T>* device_ptr(T* p) {
    return reinterpret_cast<device_t<T>*>(p);
}
template <typename T>
const device_t<T>* device_ptr(const T* p) {
    return reinterpret_cast<const device_t<T>*>(p);
}

__device__ __forceinline__ float load_f(const float* p) { return *p; }
__device__ __forceinline__ float load_f(const __nv_bfloat16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ void store_f(float* p, float v) { *p = v; }
__device__ __forceinline__ void store_f(__nv_bfloat16* p, float v) { *p = __float2bfloat16(v); }

// The shared memory one block may opt in to on the current device (0 if the query fails):
// the one-pass scan and conv_proj check their tiles against it.
inline int max_shared_per_block() noexcept {
    int dev = 0, bytes = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return bytes;
}

// SiLU as the conv kernels compute it (conv.cu, conv_proj.cu: one expression, so their outputs
// agree to the bit).
__device__ __forceinline__ float silu(float v) { return __fdividef(v, 1.0f + __expf(-v)); }

// 8 bf16 (16 bytes) as floats, and back (round to nearest even).
__device__ __forceinline__ void unpack_bf16x8(const uint4& v, float (&f)[8]) {
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const float2 t = __bfloat1622float2(h[i]);
        f[2 * i] = t.x;
        f[2 * i + 1] = t.y;
    }
}
__device__ __forceinline__ uint4 pack_bf16x8(const float (&f)[8]) {
    uint4 v;
    __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) h[i] = __floats2bfloat162_rn(f[2 * i], f[2 * i + 1]);
    return v;
}

}  // namespace dnamba::kernels
