// dnamba/engine.hpp — running a model: the backend interface and device selection.
//
// An Engine turns token ids into final hidden states (after norm_f), [L x C] with
// C = model.config.hidden_channels(). The CPU engine (Eigen, OpenMP) is the reference
// numerics; the CUDA engine (issue "GPU engine") implements the same interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dnamba/model.hpp"

namespace dnamba {

enum class DeviceKind { automatic, cpu, cuda };

struct DeviceSpec {
    DeviceKind kind = DeviceKind::automatic;
    int index = 0;
};

// "auto" | "cpu" | "cuda" | "cuda:N". Throws Error(usage) otherwise.
[[nodiscard]] DeviceSpec parse_device(const std::string& text);

// Number of CUDA devices visible (0 when the kernels were not built or no driver/GPU).
[[nodiscard]] int cuda_device_count() noexcept;

class Engine {
public:
    virtual ~Engine() = default;
    // Final hidden states for one sequence of token ids (must be non-empty; ids must be
    // < vocab_size, else Error(input)).
    [[nodiscard]] virtual Matrix forward(const std::vector<std::int32_t>& ids) = 0;
    [[nodiscard]] virtual std::string description() const = 0;  // "cpu (2 threads)"
};

struct EngineOptions {
    int threads = 0;  // 0 = all hardware threads
};

// Builds the engine for `device`. `auto` picks the CPU while no GPU engine exists in this
// build and says so when a GPU is present; `cuda` throws Error(device) with what to do.
// The model must outlive the engine.
[[nodiscard]] std::unique_ptr<Engine> make_engine(const Model& model, const DeviceSpec& device,
                                                  const EngineOptions& options);

// The CPU reference engine directly.
[[nodiscard]] std::unique_ptr<Engine> make_cpu_engine(const Model& model, const EngineOptions& options);

// LM-head logits [L x vocab] from final hidden states (RCPS: the RCPSLMHead sum of the
// forward half and the channel-flipped reverse half through the complemented head).
[[nodiscard]] Matrix lm_logits(const Model& model, const Matrix& hidden);

}  // namespace dnamba
