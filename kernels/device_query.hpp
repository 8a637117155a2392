// kernels/device_query.hpp — the launch API of kernels/ for device discovery.
// No CUDA types cross this header, so lib/ compiles without CUDA headers.
#pragma once

namespace dnamba::kernels {

// Number of usable CUDA devices; 0 when there is no driver or no GPU (never throws).
int device_count() noexcept;

// Name of device `index` into `buffer` (NUL-terminated, truncated to `size`); false on error.
bool device_name(int index, char* buffer, int size) noexcept;

}  // namespace dnamba::kernels
