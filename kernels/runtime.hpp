// kernels/runtime.hpp — the device runtime the engine needs beside the ops: devices, memory,
// copies, events. No CUDA types cross this header (lib/ compiles without CUDA headers); every
// call returns a Status (status.hpp) unless it cannot fail.
#pragma once

#include <cstddef>

#include "status.hpp"

namespace dnamba::kernels {

// ---- devices ----
// Number of usable CUDA devices; 0 when there is no driver or no GPU (never throws).
int device_count() noexcept;
// Name of device `index` into `buffer` (NUL-terminated, truncated to `size`); false on error.
bool device_name(int index, char* buffer, int size) noexcept;
// cudaSetDevice for the calling thread.
[[nodiscard]] Status set_device(int device) noexcept;
// Free and total bytes of the current device.
[[nodiscard]] Status device_memory(std::size_t* free_bytes, std::size_t* total_bytes) noexcept;
[[nodiscard]] Status device_synchronize() noexcept;

// ---- memory (out of memory: Status::is_out_of_memory, the failed call cleared) ----
[[nodiscard]] Status device_alloc(void** ptr, std::size_t bytes) noexcept;
void device_free(void* ptr) noexcept;
// Page-locked host memory (fast device-to-host copies).
[[nodiscard]] Status host_alloc_pinned(void** ptr, std::size_t bytes) noexcept;
void host_free_pinned(void* ptr) noexcept;
// Zero `bytes` of device memory (queued on the default stream).
[[nodiscard]] Status fill_zero(void* ptr, std::size_t bytes) noexcept;

// ---- copies ----
[[nodiscard]] Status copy_to_device(void* device_dst, const void* host_src, std::size_t bytes) noexcept;
[[nodiscard]] Status copy_to_host(void* host_dst, const void* device_src, std::size_t bytes) noexcept;
// Device-to-host copy queued on the default stream after the work before it (host_dst should
// be pinned); returns at once.
[[nodiscard]] Status copy_to_host_async(void* host_dst, const void* device_src, std::size_t bytes) noexcept;

// ---- events on the default stream: the host waits for the work queued before event_record ----
[[nodiscard]] Status event_create(void** event) noexcept;
[[nodiscard]] Status event_record(void* event) noexcept;
[[nodiscard]] Status event_synchronize(void* event) noexcept;
void event_destroy(void* event) noexcept;

}  // namespace dnamba::kernels
