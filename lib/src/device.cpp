// Device selection: parses --device and builds the engine for it.
#include <cstdlib>

#include "dnamba/engine.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"

#ifdef DNAMBA_HAVE_CUDA
#include "cuda/engine_cuda.hpp"
#include "device_query.hpp"
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
            if (*end != '\0' || idx < 0 || end == text.c_str() + 5)
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

std::unique_ptr<Engine> make_engine(const Model& model, const DeviceSpec& device, const EngineOptions& options) {
    const int gpus = cuda_device_count();
    switch (device.kind) {
    case DeviceKind::cpu: break;
    case DeviceKind::automatic:
        // `auto` keeps the CPU for now: the CUDA engine (fp32) agrees with it within rounding,
        // but its cuBLAS GEMMs pick kernels by batch size, so its last bits depend on how rows
        // are packed, and sharded runs would then no longer merge byte for byte (tried on the
        // H100: two tests that assert exact equality failed). `--device cuda` asks for it.
        if (gpus > 0) log_info("a CUDA GPU is present; running on the CPU (use --device cuda for the GPU engine)");
        break;
    case DeviceKind::cuda:
#ifdef DNAMBA_HAVE_CUDA
        return make_cuda_engine(model, device.index);
#else
        fail(ErrorKind::device, "--device cuda: this dnamba was built without the CUDA kernels (no nvcc at build "
                                "time; " + std::to_string(gpus) + " CUDA device(s) visible); use --device cpu or auto");
#endif
    }
    return make_cpu_engine(model, options);
}

}  // namespace dnamba
