// What the CUDA engine can run, decided from the config alone (llama.cpp's supports_op, next
// to the engine's dispatch): device selection asks before it builds the GPU engine, so that
// `--device auto` falls back to the CPU instead of failing at the first launch. Plain C++, no
// CUDA headers: compiled in every build and tested on CPU-only ones.
#include <string>
#include <utility>

#include "cuda/engine_cuda.hpp"

namespace dnamba {
namespace {

// "<field> <value> > <most>, the most <what>".
std::string too_large(const std::string& field, long long value, long long most, const std::string& what) {
    return field + " " + std::to_string(value) + " > " + std::to_string(most) + ", the most " + what;
}

}  // namespace

std::string cuda_engine_unsupported_reason(const ModelConfig& c) {
    // Every enumerator runs on the GPU; a new one makes -Wswitch point here.
    switch (c.layout) {
    case Layout::caduceus:
    case Layout::mamba_ssm:
    case Layout::hf_mamba: break;
    }
    switch (c.combine) {
    case Combine::add:
    case Combine::multiply: break;
    }
    switch (c.norm) {
    case NormKind::rms:
    case NormKind::layer: break;
    }

    // The kernels and GEMMs refuse empty dimensions (the config parser rejects these too; a
    // config built in code may not have been through it).
    for (const auto& [field, value] : {std::pair<const char*, int>{"d_model", c.d_model},
                                       {"d_inner", c.d_inner},
                                       {"d_state", c.d_state},
                                       {"d_conv", c.d_conv},
                                       {"dt_rank", c.dt_rank}})
        if (value < 1) return std::string(field) + " " + std::to_string(value) + " < 1, the least the GPU engine supports";

    if (c.d_state > k_cuda_max_d_state)
        return too_large("d_state", c.d_state, k_cuda_max_d_state, "the GPU scan supports");
    if (c.d_conv > k_cuda_max_d_conv)
        return too_large("d_conv", c.d_conv, k_cuda_max_d_conv, "taps the GPU conv1d supports");
    if (c.d_inner > k_cuda_max_grid_channels)
        return too_large("d_inner", c.d_inner, k_cuda_max_grid_channels,
                         "channels one GPU conv1d launch covers (65535 blocks of 128)");
    const long long channels = static_cast<long long>(c.d_model) * (c.rcps ? 2 : 1);
    if (channels > k_cuda_max_grid_channels)
        return too_large(c.rcps ? "d_model " + std::to_string(c.d_model) + " with RCPS = hidden channels" : "d_model",
                         channels, k_cuda_max_grid_channels, "channels one GPU pooling launch covers (65535 blocks of 128)");
    return "";
}

}  // namespace dnamba
