// What made an embedding output (embed_provenance, embed.hpp): the one list of what is
// recorded; how it is stored and compared is io/provenance.cpp.
#include <nlohmann/json.hpp>

#include "dnamba/embed.hpp"

namespace dnamba {

std::string embed_provenance(const std::string& model_fingerprint, const EmbedOptions& options,
                             const WindowSpec& windows, Precision precision, const std::string& extra_json) {
    // Everything that changes the values or the rows; not the device, threads or batch sizes,
    // which change nothing beyond rounding (DESIGN.md's numerics contract).
    nlohmann::ordered_json j;
    j["dnamba"] = DNAMBA_VERSION;
    j["model"] = model_fingerprint;
    j["pool"] = pool_name(options.pool);
    j["rc"] = rc_name(options.rc);
    j["add_sep"] = options.add_sep;
    j["precision"] = precision == Precision::bf16 ? "bf16" : "fp32";
    j["window"] = windows.window;
    j["stride"] = windows.window == 0 ? 0 : (windows.stride == 0 ? windows.window : windows.stride);
    j["tail"] = windows.tail == TailMode::drop ? "drop" : "keep";
    if (!extra_json.empty()) {
        const nlohmann::ordered_json extra = nlohmann::ordered_json::parse(extra_json);
        for (const auto& [key, value] : extra.items()) j[key] = value;
    }
    return j.dump();
}

}  // namespace dnamba
