// libFuzzer target: parse_model_config over arbitrary text (config.json). An accepted config
// has every size inside the documented limits (so the loader's int arithmetic cannot
// overflow) and a complement map over its vocabulary; rejections are Error(model) naming the
// file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dnamba/error.hpp"
#include "dnamba/model.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const dnamba::ModelConfig c = dnamba::parse_model_config(text, "fuzz/config.json");
        DNAMBA_FUZZ_CHECK(c.d_model >= 1 && c.d_model <= (1 << 16));
        DNAMBA_FUZZ_CHECK(c.n_layer >= 1 && c.n_layer <= 4096);
        DNAMBA_FUZZ_CHECK(c.vocab_size >= 1 && c.vocab_size <= (1 << 20) + (1 << 16));
        DNAMBA_FUZZ_CHECK(c.d_state >= 1 && c.d_state <= 1024);
        DNAMBA_FUZZ_CHECK(c.d_conv >= 1 && c.d_conv <= 1024);
        DNAMBA_FUZZ_CHECK(c.d_inner >= 1 && c.d_inner <= (1 << 20));
        DNAMBA_FUZZ_CHECK(c.dt_rank >= 1 && c.dt_rank <= (1 << 16));
        DNAMBA_FUZZ_CHECK(c.norm_eps > 0.0f);
        DNAMBA_FUZZ_CHECK(static_cast<std::int64_t>(c.vocab_size) * c.d_model <= INT32_MAX);
        DNAMBA_FUZZ_CHECK(2 * static_cast<std::int64_t>(c.d_inner) * c.d_model <= INT32_MAX);
        DNAMBA_FUZZ_CHECK(c.complement_map.size() == static_cast<std::size_t>(c.vocab_size));
        for (const int to : c.complement_map) DNAMBA_FUZZ_CHECK(to >= 0 && to < c.vocab_size);
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::model);
        DNAMBA_FUZZ_CHECK(std::string(e.what()).rfind("fuzz/config.json", 0) == 0);
    }
    return 0;
}
