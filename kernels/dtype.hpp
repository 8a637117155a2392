// kernels/dtype.hpp — the element types of activations on the GPU, as host code sees them.
// Activations are fp32 or bf16 (--precision); weights of the GEMMs follow them, everything
// else (norm and conv weights, A, D, biases, the residual stream, scan states) stays fp32.
// No CUDA types here: bf16 is the 16 bits of a __nv_bfloat16.
#pragma once

#include <cstdint>
#include <cstring>

namespace dnamba::kernels {

struct bf16 {
    std::uint16_t bits;
};

// Round to nearest even (NaN stays NaN), as __float2bfloat16 does on the device.
inline bf16 to_bf16(float f) noexcept {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{static_cast<std::uint16_t>((u >> 16) | 0x40u)};
    u += 0x7fffu + ((u >> 16) & 1u);
    return bf16{static_cast<std::uint16_t>(u >> 16)};
}

inline float to_float(bf16 b) noexcept {
    const std::uint32_t u = static_cast<std::uint32_t>(b.bits) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

}  // namespace dnamba::kernels
