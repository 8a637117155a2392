// head/metrics_json.hpp (private) — metrics as the JSON objects head files carry.
#pragma once

#include <nlohmann/json.hpp>

#include "dnamba/head.hpp"

namespace dnamba {

// {"accuracy", "macro_f1", "mcc"} and, for two classes, "auroc" and "auprc".
[[nodiscard]] nlohmann::json metrics_to_json(const Metrics& m);

}  // namespace dnamba
