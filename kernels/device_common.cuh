// kernels/device_common.cuh — private to kernels/: error reporting for launches and CUDA
// calls, and the fp32/bf16 load/store helpers every kernel templated on the element type uses.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <string>

#include "dtype.hpp"

#define DNAMBA_STRINGIFY2(x) #x
#define DNAMBA_STRINGIFY(x) DNAMBA_STRINGIFY2(x)
// Returns "<file:line> <call>: <CUDA error>" from the enclosing function when `call` fails.
#define DNAMBA_CUDA_RETURN(call)                                                                              \
    do {                                                                                                      \
        const cudaError_t dnamba_e = (call);                                                                  \
        if (dnamba_e != cudaSuccess)                                                                          \
            return std::string(__FILE__ ":" DNAMBA_STRINGIFY(__LINE__) " " #call ": ") + cudaGetErrorString(dnamba_e); \
    } while (0)

namespace dnamba::kernels {

// "" after a successful launch, else the launch error naming `what`.
inline std::string launch_status(const char* what) {
    const cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? std::string() : std::string(what) + ": kernel launch: " + cudaGetErrorString(e);
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

}  // namespace dnamba::kernels
