// Engine factory: parses --device / --precision and builds the engine (CPU, or CUDA where it can run the model).
#include <string>
#include <utility>
#include <vector>

#include "dnamba/engine.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"

#include "cuda/engine_cuda.hpp"
#ifdef DNAMBA_HAVE_CUDA
#include "runtime.hpp"
#endif

namespace dnamba {

namespace {

// A device number of a cuda:N or cuda:I,J,... list: digits only, 0 to 65535.
int parse_device_number(const std::string& text, const std::string& item) {
    const bool digits = !item.empty() && item.size() <= 5 &&
                        item.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stol(item) > 65535)
        fail(ErrorKind::usage, "--device " + text + ": " + (item.empty() ? "an empty device number" : "'" + item + "'") +
                                   " is not a device number (expected cuda:N, cuda:I,J,... or cuda:all, N from 0 to 65535)");
    return std::stoi(item);
}

}  // namespace

DeviceSpec parse_device(const std::string& text) {
    DeviceSpec spec;
    if (text == "auto") {
        spec.kind = DeviceKind::automatic;
    } else if (text == "cpu") {
        spec.kind = DeviceKind::cpu;
    } else if (text == "cuda") {
        spec.kind = DeviceKind::cuda;
    } else if (text == "cuda:all") {
        spec.kind = DeviceKind::cuda;
        spec.all = true;
    } else if (text.rfind("cuda:", 0) == 0) {
        spec.kind = DeviceKind::cuda;
        const std::string list = text.substr(5);
        std::size_t at = 0;
        while (true) {
            const std::size_t comma = list.find(',', at);
            spec.indices.push_back(parse_device_number(text, list.substr(at, comma - at)));
            if (comma == std::string::npos) break;
            at = comma + 1;
        }
        spec.index = spec.indices.front();
        if (spec.indices.size() == 1) spec.indices.clear();  // cuda:N is one device
    } else {
        fail(ErrorKind::usage, "--device " + text + ": expected auto, cpu, cuda, cuda:N, cuda:I,J,... or cuda:all");
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
    if (device.is_list())
        fail(ErrorKind::usage, "make_engine builds one engine, but the device names several; use make_engines");
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

Engines::Engines(std::vector<std::unique_ptr<Engine>> engines, std::vector<std::string> devices)
    : devices_(std::move(devices)) {
    if (engines.empty() || engines.size() != devices_.size())
        fail(ErrorKind::usage, "Engines: expected at least one engine and one device name per engine");
    owned_ = std::make_shared<const std::vector<std::unique_ptr<Engine>>>(std::move(engines));
    for (const auto& e : *owned_) {
        if (!e) fail(ErrorKind::usage, "Engines: null engine");
        engines_.push_back(e.get());
    }
}

std::string Engines::description() const {
    if (engines_.size() == 1) return engines_.front()->description();
    std::string names;
    for (const auto& d : devices_) names += (names.empty() ? "" : ",") + d;
    return std::to_string(engines_.size()) + " engines (" + names + "), each " + engines_.front()->description();
}

Engines make_engines(const Model& model, const DeviceSpec& device, const EngineOptions& options) {
    std::vector<std::unique_ptr<Engine>> engines;
    std::vector<std::string> names;
    if (!device.is_list()) {
        engines.push_back(make_engine(model, device, options));
        names.push_back(device.kind == DeviceKind::cuda  ? "cuda:" + std::to_string(device.index)
                        : device.kind == DeviceKind::cpu ? "cpu"
                                                         : "auto");
        return Engines(std::move(engines), std::move(names));
    }
    std::string text = "cuda:";  // the list as given, for messages
    for (std::size_t i = 0; i < device.indices.size(); ++i) text += (i ? "," : "") + std::to_string(device.indices[i]);
    if (device.all) text = "cuda:all";
#ifndef DNAMBA_HAVE_CUDA
    fail(ErrorKind::device, "--device " + text +
                                ": this dnamba was built without the CUDA kernels (no nvcc at build time); use "
                                "--device cpu or auto (one engine), or a build with CUDA");
#endif
    const int gpus = cuda_device_count();
    if (gpus == 0)
        fail(ErrorKind::device, "--device " + text + ": no CUDA device is visible (check nvidia-smi and "
                                "CUDA_VISIBLE_DEVICES); use --device cpu or auto");
    std::vector<int> indices = device.indices;
    if (device.all)
        for (int i = 0; i < gpus; ++i) indices.push_back(i);
    for (const int index : indices)
        if (index >= gpus)
            fail(ErrorKind::device, "--device " + text + ": there is no cuda:" + std::to_string(index) + " (" +
                                        std::to_string(gpus) + " CUDA device(s) visible: cuda:0 to cuda:" +
                                        std::to_string(gpus - 1) + ")");
    for (int index : indices) {
        DeviceSpec one;
        one.kind = DeviceKind::cuda;
        one.index = index;
        const std::string name = "cuda:" + std::to_string(index);
        try {
            engines.push_back(make_engine(model, one, options));
        } catch (const Error& e) {  // named once: make_engine's own messages may name the device already
            const std::string what = e.what();
            fail(e.kind(), what.find(name) == std::string::npos ? name + ": " + what : what);
        }
        names.push_back(name);
    }
    return Engines(std::move(engines), std::move(names));
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
