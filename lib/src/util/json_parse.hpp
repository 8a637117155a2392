// The one JSON entry point for untrusted text (config.json, the safetensors header, head-file
// metadata): nlohmann's parser with nesting bounded and duplicate object keys refused.
//
// Why: nlohmann's copy, compare and dump() recurse once per nesting level, so a config of
// 100000 '[' kills the process; and a duplicate key silently keeps the last value, so two
// "d_model" keys or two tensors of one name would be read as whichever came last.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "dnamba/error.hpp"

namespace dnamba {

// Deeper than any config, header or head metadata written by the tools that make them.
constexpr int k_json_max_depth = 64;

// Parses [begin, end). Throws Error(kind) whose message starts with `what` (e.g.
// "model/config.json" or "x.safetensors: header"): "<what> is not valid JSON: ...",
// "<what> nests JSON deeper than 64 levels", "<what> has the key \"k\" twice".
[[nodiscard]] nlohmann::json json_parse_strict(const char* begin, const char* end, ErrorKind kind,
                                               const std::string& what);
[[nodiscard]] inline nlohmann::json json_parse_strict(const std::string& text, ErrorKind kind, const std::string& what) {
    return json_parse_strict(text.data(), text.data() + text.size(), kind, what);
}

}  // namespace dnamba
