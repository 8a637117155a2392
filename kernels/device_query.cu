// Device discovery through the CUDA runtime (the compute kernels are in their own files).
#include <cuda_runtime.h>

#include <cstring>

#include "device_query.hpp"

namespace dnamba::kernels {

int device_count() noexcept {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();  // clear the sticky "no driver" error
        return 0;
    }
    return n;
}

bool device_name(int index, char* buffer, int size) noexcept {
    cudaDeviceProp prop{};
    if (size <= 0 || cudaGetDeviceProperties(&prop, index) != cudaSuccess) return false;
    std::strncpy(buffer, prop.name, static_cast<std::size_t>(size - 1));
    buffer[size - 1] = '\0';
    return true;
}

}  // namespace dnamba::kernels
