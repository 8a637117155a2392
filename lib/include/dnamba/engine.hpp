// dnamba/engine.hpp — running a model: the backend interface and device selection.
//
// An Engine turns token ids into final hidden states (after norm_f), [L x C] with
// C = model.config.hidden_channels(). The CPU engine (Eigen, OpenMP) is the reference
// numerics; the CUDA engine (fp32 or bf16) implements the same interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dnamba/model.hpp"

namespace dnamba {

enum class DeviceKind { automatic, cpu, cuda };

struct DeviceSpec {
    DeviceKind kind = DeviceKind::automatic;
    int index = 0;             // the one CUDA device (cuda, cuda:N); the first of a list
    std::vector<int> indices;  // cuda:I,J,...: one engine per entry, in order (repeats allowed); else empty
    bool all = false;          // cuda:all: one engine per visible GPU (resolved by make_engines)
    // Several engines (cuda:all or a list of two or more).
    [[nodiscard]] bool is_list() const noexcept { return all || indices.size() > 1; }
};

// "auto" | "cpu" | "cuda" | "cuda:N" | "cuda:all" | "cuda:I,J,..." (device numbers, repeats
// allowed: two engines on one GPU). Throws Error(usage) naming what was expected otherwise.
[[nodiscard]] DeviceSpec parse_device(const std::string& text);

// Number of CUDA devices visible (0 when the kernels were not built or no driver/GPU).
[[nodiscard]] int cuda_device_count() noexcept;

class Engine {
public:
    virtual ~Engine() = default;
    // Final hidden states for several sequences packed into one pass: `ids` holds them back
    // to back, `lengths` their lengths (each > 0, summing to ids.size()). Rows of the result
    // are laid out the same way, and a sequence's rows are bit-identical to forward() on it
    // alone (the scan state resets and the conv never reaches across a sequence start).
    // Token ids must be < vocab_size, else Error(input).
    [[nodiscard]] virtual Matrix forward_packed(const std::vector<std::int32_t>& ids,
                                                const std::vector<std::size_t>& lengths) = 0;
    // One sequence (non-empty).
    [[nodiscard]] Matrix forward(const std::vector<std::int32_t>& ids) { return forward_packed(ids, {ids.size()}); }
    [[nodiscard]] virtual std::string description() const = 0;  // "cpu (2 threads)"

    // The mean over each sequence's rows of forward_packed(ids, lengths): [lengths.size() x C].
    // Engines that pool on the device (pools_on_device()) move only these rows to the host;
    // the default runs forward_packed and averages on the host.
    [[nodiscard]] virtual Matrix forward_pooled_mean(const std::vector<std::int32_t>& ids,
                                                     const std::vector<std::size_t>& lengths);
    [[nodiscard]] virtual bool pools_on_device() const { return false; }

    // Per-stage timing (benchmarks): when on, the engine waits for each stage to finish and
    // adds its wall time to stage_seconds() (slower overall). Engines without it ignore it.
    virtual void set_profiling(bool on) { (void)on; }
    // (stage, seconds) summed over the forward passes since profiling was switched on.
    [[nodiscard]] virtual std::vector<std::pair<std::string, double>> stage_seconds() const { return {}; }
    // Device memory the engine holds (weights and buffers), in bytes; 0 on the CPU.
    [[nodiscard]] virtual std::size_t device_bytes() const { return 0; }
    // The most device memory the engine has held at once since it was made, in bytes.
    [[nodiscard]] virtual std::size_t device_peak_bytes() const { return 0; }
};

enum class Precision { fp32, bf16 };

// "fp32" | "bf16". Throws Error(usage) otherwise.
[[nodiscard]] Precision parse_precision(const std::string& text);

// For engine implementations: the checks every engine makes on forward_packed's arguments: at
// least one token, lengths each > 0 and summing to ids.size() (Error(usage) otherwise), ids
// < vocab_size (Error(input)).
void check_packed_input(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>& lengths, int vocab_size);

// Most CPU threads an engine accepts: far above any machine's cores, low enough that the
// OpenMP runtime can create them (libgomp exits the process, leaving temporary files, when
// thread creation fails).
constexpr int k_max_threads = 1024;

// Throws Error(usage) "--threads N: ..." unless 0 <= threads <= k_max_threads. make_engine
// calls it; the CLI calls it while parsing, before any file is opened.
void check_thread_count(int threads);

struct EngineOptions {
    int threads = 0;  // CPU threads; 0 = all hardware threads; at most k_max_threads
    // Activations and GEMMs in bf16 (fp32 accumulation, fp32 residual stream and scan
    // states): the GPU engine only; the CPU engine computes in fp32.
    Precision precision = Precision::fp32;
    // GPU engine: rows per chunk along the input (one layer's working set is this many rows;
    // 0: planned from the input length). Results do not depend on it beyond rounding.
    std::size_t chunk_rows = 0;
};

// Builds the engine for `device`. `auto` picks the GPU engine on device 0 when this build has
// it, a GPU is visible and the GPU engine can run the model (and says so), else the CPU (with a
// warning naming the config field the GPU engine cannot run); `cuda` on a model the GPU engine
// cannot run throws Error(usage) with the reason, without a usable GPU Error(device) with what
// to do; bf16 on the CPU throws Error(usage). The model must outlive the engine.
[[nodiscard]] std::unique_ptr<Engine> make_engine(const Model& model, const DeviceSpec& device,
                                                  const EngineOptions& options);

// The engines one pipeline hands its batches to, with each one's device name for messages: one
// engine (not owned; converts implicitly, so a function taking `const Engines&` takes an
// Engine&), or those of make_engines (owned; copies share them). Batches go to whichever
// engine is free.
class Engines {
public:
    Engines(Engine& engine) : engines_{&engine}, devices_{""} {}  // NOLINT: implicit on purpose
    // Takes `engines` (non-empty, non-null); devices[i] names engines[i] ("cuda:1").
    Engines(std::vector<std::unique_ptr<Engine>> engines, std::vector<std::string> devices);
    [[nodiscard]] std::size_t size() const noexcept { return engines_.size(); }
    [[nodiscard]] Engine& operator[](std::size_t i) const { return *engines_[i]; }
    [[nodiscard]] Engine& front() const { return *engines_.front(); }
    [[nodiscard]] const std::string& device(std::size_t i) const { return devices_[i]; }
    [[nodiscard]] const std::vector<std::string>& devices() const noexcept { return devices_; }
    // One engine's description; several: "2 engines (cuda:0,cuda:1), each <the first's description>".
    [[nodiscard]] std::string description() const;

private:
    std::shared_ptr<const std::vector<std::unique_ptr<Engine>>> owned_;
    std::vector<Engine*> engines_;
    std::vector<std::string> devices_;
};

// One engine per device of `device`, in its order, named by its device: cuda:all one per
// visible GPU (Error(device) saying what to do when there is none or this build has no CUDA
// kernels), cuda:I,J,... one per entry (weights uploaded to each); any single-device spec gives
// make_engine's one engine. Throws what make_engine throws, for a list prefixed with the
// device ("cuda:1: ...").
[[nodiscard]] Engines make_engines(const Model& model, const DeviceSpec& device, const EngineOptions& options);

// The CPU reference engine directly.
[[nodiscard]] std::unique_ptr<Engine> make_cpu_engine(const Model& model, const EngineOptions& options);

// LM-head logits [L x vocab] from final hidden states (RCPS: the RCPSLMHead sum of the
// forward half and the channel-flipped reverse half through the complemented head).
// Throws Error(model) for a model without an LM head (has_lm_head).
[[nodiscard]] Matrix lm_logits(const Model& model, const Matrix& hidden);

}  // namespace dnamba
