// Private: the CUDA engine (engine_cuda.cpp), built when the kernels are (DNAMBA_HAVE_CUDA).
#pragma once

#include <memory>

#include "dnamba/engine.hpp"

namespace dnamba {

// The CUDA engine on `device` (precision and chunk rows from `options`). Throws Error(device)
// when no GPU is visible or the index is out of range, or when the weights do not fit.
[[nodiscard]] std::unique_ptr<Engine> make_cuda_engine(const Model& model, int device, const EngineOptions& options);

}  // namespace dnamba
