// libFuzzer target: load_head over arbitrary bytes (a head file: safetensors with JSON text
// in its metadata). An accepted head has consistent shapes and finite values; rejections are
// Error(input) naming the file.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "dnamba/error.hpp"
#include "dnamba/head.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dnamba::fuzz::TempDir dir;
    const std::string path = dir.write("in.head", data, size);
    try {
        const dnamba::HeadFile h = dnamba::load_head(path);
        const auto C = static_cast<Eigen::Index>(h.head.classes.size());
        DNAMBA_FUZZ_CHECK(C >= 2);
        DNAMBA_FUZZ_CHECK(h.head.model.W.rows() == C && h.head.model.b.size() == C);
        DNAMBA_FUZZ_CHECK(h.head.model.W.cols() == h.head.standardizer.mean.size());
        DNAMBA_FUZZ_CHECK(h.head.standardizer.scale.size() == h.head.standardizer.mean.size());
        DNAMBA_FUZZ_CHECK(h.head.model.W.allFinite() && h.head.model.b.allFinite());
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::input);
        DNAMBA_FUZZ_CHECK(std::string(e.what()).find(path) != std::string::npos);
    }
    return 0;
}
