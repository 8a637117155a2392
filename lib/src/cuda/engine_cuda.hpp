// Private: the CUDA engine (engine_cuda.cpp, built when the kernels are: DNAMBA_HAVE_CUDA) and
// what it can run (supports.cpp, plain C++ built in every configuration, so that device
// selection and CPU-only tests can ask without CUDA).
#pragma once

#include <memory>
#include <string>

#include "conv.hpp"
#include "dnamba/engine.hpp"
#include "scan.hpp"

namespace dnamba {

// The model sizes the CUDA kernels can run: the states per channel of the selective scan and
// the taps of the conv1d are the kernels' own limits (kernels/scan.hpp, kernels/conv.hpp, held
// in registers); channels where channels are blocks of 128 threads along grid.y (at most 65535
// blocks): d_inner for the conv1d, hidden channels for pooling on the device.
inline constexpr int k_cuda_max_d_state = kernels::k_scan_max_state;
inline constexpr int k_cuda_max_d_conv = kernels::k_conv_max_taps;
inline constexpr int k_cuda_max_grid_channels = 65535 * 128;

// "" when the CUDA engine can run a model of this config; else one line naming the config
// field, its value and the supported range ("d_state 128 > 64, the most the GPU scan
// supports"). Every layout, combine mode and norm is supported; the limits are sizes (above).
// Does not look at the GPU, its memory or the input length.
[[nodiscard]] std::string cuda_engine_unsupported_reason(const ModelConfig& config);

// The CUDA engine on `device` (precision and chunk rows from `options`). Throws Error(device)
// when no GPU is visible or the index is out of range, or when the weights do not fit.
// Built with DNAMBA_HAVE_CUDA only; callers check cuda_engine_unsupported_reason first.
[[nodiscard]] std::unique_ptr<Engine> make_cuda_engine(const Model& model, int device, const EngineOptions& options);

}  // namespace dnamba
