// Engine factory: parses --device / --precision and builds the engine (CPU, or CUDA where it can run the model).
#include <cstdlib>
#include <string>

#include "dnamba/engine.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"

#include "cuda/engine_cuda.hpp"
#ifdef DNAMBA_HAVE_CUDA
#include "runtime.hpp"
#endif

namespace dnamba {

DeviceSpec parse_device(const std::string& text) {
    DeviceSpec spec;
    if (text == "auto") {
        spec.kind = DeviceKind::automatic;
    } else if (text == "cpu") {
        spec.kind = DeviceKind::cpu;
    } else if (text == "cuda" || text.rfind("cuda:", 0) == 0) {
        spec.kind = DeviceKind::cuda;
        if (text.size() > 5) {
            char* end = nullptr;
            const long idx = std::strtol(text.c_str() + 5, &end, 10);
            if (*end != '\0' || idx < 0 || idx > 65535 || end == text.c_str() + 5)
                fail(ErrorKind::usage, "--device " + text + ": expected cuda:N with N a device number");
            spec.index = static_cast<int>(idx);
        }
    } else {
        fail(ErrorKind::usage, "--device " + text + ": expected auto, cpu, cuda or cuda:N");
    }
    return spec;
}

int cuda_device_count() noexcept {
#ifdef DNAMBA_HAVE_CUDA
    return kernels::device_count();
#else
    return 0;
#endif
}

Precision parse_precision(const std::string& text) {
    if (text == "fp32") return Precision::fp32;
    if (text == "bf16") return Precision::bf16;
    fail(ErrorKind::usage, "--precision " + text + ": expected fp32 or bf16");
}

void check_thread_count(int threads) {
    if (threads < 0 || threads > k_max_threads)
        fail(ErrorKind::usage, "--threads " + std::to_string(threads) + ": expected 0 (all cores) to " +
                                   std::to_string(k_max_threads));
}

std::unique_ptr<Engine> make_engine(const Model& model, const DeviceSpec& device, const EngineOptions& options) {
    check_thread_count(options.threads);
    const int gpus = cuda_device_count();
    std::string why_cpu;    // why the CPU engine runs, for the bf16 error
    bool fell_back = false;  // auto with a GPU visible, but the GPU engine cannot run the model
    switch (device.kind) {
    case DeviceKind::cpu:
        why_cpu = "--device cpu was asked for";
        break;
    case DeviceKind::automatic:
        why_cpu = "no usable GPU was found";
#ifdef DNAMBA_HAVE_CUDA
        if (gpus > 0) {
            const std::string unsupported = cuda_engine_unsupported_reason(model.config);
            if (unsupported.empty()) {
                auto engine = make_cuda_engine(model, 0, options);
                log_info("--device auto: using the GPU engine on " + engine->description() +
                         " (--device cpu for the CPU engine)");
                return engine;
            }
            why_cpu = "the GPU engine cannot run this model (" + unsupported + ")";
            fell_back = true;
        }
#endif
        break;
    case DeviceKind::cuda:
#ifdef DNAMBA_HAVE_CUDA
    {
        // asked before the GPU is: the answer does not depend on it
        const std::string unsupported = cuda_engine_unsupported_reason(model.config);
        if (!unsupported.empty())
            fail(ErrorKind::usage, "--device cuda:" + std::to_string(device.index) +
                                       ": the GPU engine cannot run this model (" + unsupported + "); use --device cpu");
        return make_cuda_engine(model, device.index, options);
    }
#else
        fail(ErrorKind::device, "--device cuda:" + std::to_string(device.index) +
                                    ": this dnamba was built without the CUDA kernels (no nvcc at build "
                                "time; " + std::to_string(gpus) + " CUDA device(s) visible); use --device cpu or auto");
#endif
    }
    if (options.precision == Precision::bf16)
        fail(ErrorKind::usage, "--precision bf16 runs on the GPU engine only, and " + why_cpu +
                                   "; use --precision fp32 (the CPU engine computes in fp32)");
    if (fell_back) log_warning("--device auto: " + why_cpu + "; using the CPU engine");
    return make_cpu_engine(model, options);
}

void check_packed_input(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>& lengths, int vocab_size) {
    if (ids.empty()) fail(ErrorKind::input, "cannot run the model on an empty sequence");
    std::size_t total = 0;
    for (std::size_t len : lengths) {
        if (len == 0) fail(ErrorKind::input, "cannot run the model on an empty sequence");
        total += len;
    }
    if (total != ids.size())
        fail(ErrorKind::usage, "forward_packed: lengths sum to " + std::to_string(total) + " but " +
                                   std::to_string(ids.size()) + " ids were given");
    for (auto id : ids)
        if (id < 0 || id >= vocab_size)
            fail(ErrorKind::input, "token id " + std::to_string(id) + " is outside the model vocabulary of " +
                                       std::to_string(vocab_size));
}

Matrix Engine::forward_pooled_mean(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>& lengths) {
    const Matrix h = forward_packed(ids, lengths);
    Matrix pooled(static_cast<Eigen::Index>(lengths.size()), h.cols());
    Eigen::Index offset = 0;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
        const auto rows = static_cast<Eigen::Index>(lengths[i]);
        pooled.row(static_cast<Eigen::Index>(i)) = h.middleRows(offset, rows).colwise().mean();
        offset += rows;
    }
    return pooled;
}

}  // namespace dnamba
