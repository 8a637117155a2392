// libFuzzer target: SafetensorsFile over arbitrary bytes (the header JSON and the data ranges
// of a checkpoint from the internet). Every accepted tensor must lie inside the data block
// with a byte size matching its shape and dtype, must not overlap another, and must convert;
// rejections are Error(model) naming the file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dnamba/error.hpp"
#include "fuzz_util.hpp"
#include "model/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dnamba::fuzz::TempDir dir;
    const std::string path = dir.write("in.safetensors", data, size);
    try {
        const dnamba::SafetensorsFile f(path);
        std::uint64_t header_len = 0;
        for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data[i];
        const std::uint64_t data_size = size - 8 - header_len;
        for (const auto& t : f.tensors()) {
            DNAMBA_FUZZ_CHECK(t.begin <= t.end && t.end <= data_size);
            DNAMBA_FUZZ_CHECK(t.numel() >= 0);
            DNAMBA_FUZZ_CHECK(static_cast<std::uint64_t>(t.numel()) * dnamba::dtype_size(t.dtype) == t.end - t.begin);
            DNAMBA_FUZZ_CHECK(f.find(t.name) == &t);
            if (t.dtype == dnamba::DType::f32 || t.dtype == dnamba::DType::f16 || t.dtype == dnamba::DType::bf16 ||
                t.dtype == dnamba::DType::f64)
                DNAMBA_FUZZ_CHECK(f.to_float(t).size() == static_cast<std::size_t>(t.numel()));
            else
                DNAMBA_FUZZ_CHECK(f.to_int(t).size() == static_cast<std::size_t>(t.numel()));
        }
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::model);
        DNAMBA_FUZZ_CHECK(std::string(e.what()).rfind(path + ":", 0) == 0);
    }
    return 0;
}
