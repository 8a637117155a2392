// The device runtime (see runtime.hpp): thin wrappers of the CUDA runtime that turn its errors
// into Status values (out of memory kept apart), so that lib/ needs no CUDA headers.
#include <cstring>
#include <string>

#include "device_common.cuh"
#include "runtime.hpp"

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

Status fill_zero(void* ptr, std::size_t bytes) noexcept {
    DNAMBA_CUDA_RETURN(cudaMemsetAsync(ptr, 0, bytes, 0));
    return {};
}

Status set_device(int device) noexcept {
    DNAMBA_CUDA_RETURN(cudaSetDevice(device));
    return {};
}

Status device_alloc(void** ptr, std::size_t bytes) noexcept {
    const cudaError_t e = cudaMalloc(ptr, bytes == 0 ? 1 : bytes);
    if (e == cudaSuccess) return {};
    // a failed cudaMalloc is also left as the "last error", where the next launch check would
    // find it: clear it (the caller decides whether to retry smaller)
    (void)cudaGetLastError();
    return cuda_status(e, ("cudaMalloc of " + std::to_string(bytes >> 20) + " MiB").c_str());
}

void device_free(void* ptr) noexcept {
    if (ptr) cudaFree(ptr);
}

Status copy_to_device(void* dst, const void* src, std::size_t bytes) noexcept {
    DNAMBA_CUDA_RETURN(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
    return {};
}

Status copy_to_host(void* dst, const void* src, std::size_t bytes) noexcept {
    DNAMBA_CUDA_RETURN(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
    return {};
}

Status copy_to_host_async(void* dst, const void* src, std::size_t bytes) noexcept {
    DNAMBA_CUDA_RETURN(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, 0));
    return {};
}

Status event_create(void** event) noexcept {
    cudaEvent_t e = nullptr;
    DNAMBA_CUDA_RETURN(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    *event = e;
    return {};
}

Status event_record(void* event) noexcept {
    DNAMBA_CUDA_RETURN(cudaEventRecord(static_cast<cudaEvent_t>(event), 0));
    return {};
}

Status event_synchronize(void* event) noexcept {
    DNAMBA_CUDA_RETURN(cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
    return {};
}

void event_destroy(void* event) noexcept {
    if (event) cudaEventDestroy(static_cast<cudaEvent_t>(event));
}

Status device_memory(std::size_t* free_bytes, std::size_t* total_bytes) noexcept {
    DNAMBA_CUDA_RETURN(cudaMemGetInfo(free_bytes, total_bytes));
    return {};
}

Status host_alloc_pinned(void** ptr, std::size_t bytes) noexcept {
    DNAMBA_CUDA_RETURN(cudaMallocHost(ptr, bytes == 0 ? 1 : bytes));
    return {};
}

void host_free_pinned(void* ptr) noexcept {
    if (ptr) cudaFreeHost(ptr);
}

Status device_synchronize() noexcept {
    DNAMBA_CUDA_RETURN(cudaDeviceSynchronize());
    return {};
}

}  // namespace dnamba::kernels
