// config.json parsing for the three checkpoint layouts, and the benchmark presets.
//
// Defaults are those of the reference config classes (CaduceusConfig, mamba_ssm MambaConfig,
// transformers MambaConfig), so a config.json that omits a key means what it means there.
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <nlohmann/json.hpp>

#include "dnamba/error.hpp"
#include "dnamba/model.hpp"
#include "util/json_parse.hpp"

namespace dnamba {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
    fail(ErrorKind::model, origin + ": " + what);
}

template <typename T>
T get_or(const json& j, const char* key, T fallback, const std::string& origin, const std::string& scope = "") {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    try {
        return j[key].get<T>();
    } catch (const json::exception&) {
        bad(origin, "key \"" + scope + key + "\" has value " + j[key].dump() + " of the wrong type");
    }
}

// Limits on the sizes a config may declare. Far above any published Mamba (the 2.8B model
// has d_model 2560, d_inner 5120, 64 layers, d_state 16), low enough that every size and
// every product the loader and the engines form stays inside int, and that a hostile
// config is refused before anything is allocated.
constexpr std::int64_t k_max_d_model = 1 << 16;
constexpr std::int64_t k_max_n_layer = 4096;
constexpr std::int64_t k_max_vocab = 1 << 20;
constexpr std::int64_t k_max_d_state = 1024;
constexpr std::int64_t k_max_d_conv = 1024;
constexpr std::int64_t k_max_d_inner = 1 << 20;
constexpr std::int64_t k_max_dt_rank = 1 << 16;
constexpr std::int64_t k_max_tensor_elements = std::numeric_limits<std::int32_t>::max();

std::string range_text(std::int64_t lo, std::int64_t hi) {
    return "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
}

// An integer size read in 64-bit and checked against [lo, hi] before it is narrowed:
// floats (32.7, also 32.0), booleans, strings and out-of-range values are refused by name.
int get_int_in(const json& j, const char* key, int fallback, std::int64_t lo, std::int64_t hi, const std::string& origin,
               const std::string& scope = "") {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    const json& v = j[key];
    const std::string name = "key \"" + scope + key + "\" must be " + range_text(lo, hi) + ", got " + v.dump();
    if (!v.is_number_integer()) bad(origin, name);
    // Unsigned JSON numbers above INT64_MAX would wrap in get<int64_t>().
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) bad(origin, name);
    const auto x = v.get<std::int64_t>();
    if (x < lo || x > hi) bad(origin, name);
    return static_cast<int>(x);
}

int require_int_in(const json& j, const char* key, std::int64_t lo, std::int64_t hi, const std::string& origin) {
    if (!j.contains(key)) bad(origin, "missing key \"" + std::string(key) + "\"");
    if (j[key].is_null()) bad(origin, "key \"" + std::string(key) + "\" must be " + range_text(lo, hi) + ", got null");
    return get_int_in(j, key, 0, lo, hi, origin);
}

// A real number (integers allowed) in (lo, hi], finite.
double get_real_in(const json& j, const char* key, double fallback, double lo, double hi, const std::string& origin,
                   const std::string& scope = "") {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    const json& v = j[key];
    if (!v.is_number() || !std::isfinite(v.get<double>()) || !(v.get<double>() > lo) || !(v.get<double>() <= hi)) {
        std::ostringstream range;
        range << "a number above " << lo << " and at most " << hi;
        bad(origin, "key \"" + scope + key + "\" must be " + range.str() + ", got " + v.dump());
    }
    return v.get<double>();
}

// int(expand * d_model), computed in double and checked before the narrowing cast.
int inner_from_expand(double expand, int d_model, const std::string& origin, const std::string& key) {
    const double d_inner = std::floor(expand * static_cast<double>(d_model));
    if (!(d_inner >= 1.0) || d_inner > static_cast<double>(k_max_d_inner)) {
        std::ostringstream s;
        s << "key \"" << key << "\" = " << expand << " gives d_inner = int(expand * d_model) = " << d_inner
          << " for d_model " << d_model << ", outside 1.." << k_max_d_inner;
        bad(origin, s.str());
    }
    return static_cast<int>(d_inner);
}

int pad_vocab(int vocab, int multiple) {
    if (multiple > 0 && vocab % multiple != 0) vocab += multiple - vocab % multiple;  // both <= 2^20: no overflow
    return vocab;
}

int resolve_dt_rank(const json& value, int d_model, const std::string& origin, const std::string& key) {
    if (value.is_null() || (value.is_string() && value.get<std::string>() == "auto"))
        return (d_model + 15) / 16;  // math.ceil(d_model / 16)
    const json holder = {{key, value}};
    if (value.is_number_integer()) return get_int_in(holder, key.c_str(), 0, 1, k_max_dt_rank, origin);
    bad(origin, "key \"" + key + "\" must be \"auto\" or " + range_text(1, k_max_dt_rank) + ", got " + value.dump());
}

// Reads the Mamba-1 mixer keys of a mamba_ssm-style ssm_cfg object.
void read_ssm_cfg(const json& ssm, ModelConfig& c, const std::string& origin) {
    if (!ssm.is_object()) bad(origin, "key \"ssm_cfg\" must be an object");
    const std::string layer = get_or<std::string>(ssm, "layer", "Mamba1", origin, "ssm_cfg.");
    if (layer != "Mamba1")
        bad(origin, "key \"ssm_cfg.layer\" is \"" + layer + "\": only Mamba-1 layers are supported (Mamba-2/3 are not)");
    c.d_state = get_int_in(ssm, "d_state", 16, 1, k_max_d_state, origin, "ssm_cfg.");
    c.d_conv = get_int_in(ssm, "d_conv", 4, 1, k_max_d_conv, origin, "ssm_cfg.");
    const double expand = get_real_in(ssm, "expand", 2.0, 0.0, static_cast<double>(k_max_d_inner), origin, "ssm_cfg.");
    c.d_inner = inner_from_expand(expand, c.d_model, origin, "ssm_cfg.expand");  // int(self.expand * self.d_model)
    c.dt_rank = resolve_dt_rank(ssm.contains("dt_rank") ? ssm["dt_rank"] : json(), c.d_model, origin, "ssm_cfg.dt_rank");
    c.conv_bias = get_or<bool>(ssm, "conv_bias", true, origin, "ssm_cfg.");
    c.proj_bias = get_or<bool>(ssm, "bias", false, origin, "ssm_cfg.");
    for (const char* key : {"headdim", "ngroups", "d_ssm", "chunk_size", "rmsnorm"}) {
        if (ssm.contains(key))
            bad(origin, "key \"ssm_cfg." + std::string(key) + "\" belongs to Mamba-2 layers, which are not supported");
    }
}

// Keys shared by mamba_ssm's MambaConfig and CaduceusConfig (which extends it).
void read_mixer_model_keys(const json& j, ModelConfig& c, const std::string& origin) {
    const int multiple = get_int_in(j, "pad_vocab_size_multiple", 8, 0, k_max_d_model, origin);
    c.vocab_size = pad_vocab(require_int_in(j, "vocab_size", 1, k_max_vocab, origin), multiple);
    read_ssm_cfg(j.contains("ssm_cfg") && !j["ssm_cfg"].is_null() ? j["ssm_cfg"] : json::object(), c, origin);
    c.norm = get_or<bool>(j, "rms_norm", true, origin) ? NormKind::rms : NormKind::layer;
    c.residual_in_fp32 = get_or<bool>(j, "residual_in_fp32", true, origin);
    c.fused_add_norm = get_or<bool>(j, "fused_add_norm", true, origin);
    c.norm_eps = static_cast<float>(get_real_in(j, "norm_epsilon", 1e-5, 0.0, 1.0, origin));
}

void check_sizes(const ModelConfig& c, const std::string& origin) {
    if (c.d_state <= 0 || c.d_conv <= 0 || c.d_inner <= 0 || c.dt_rank <= 0)
        bad(origin, "d_state, d_conv, expand*d_model and dt_rank must all be positive (got d_state=" +
                        std::to_string(c.d_state) + " d_conv=" + std::to_string(c.d_conv) +
                        " d_inner=" + std::to_string(c.d_inner) + " dt_rank=" + std::to_string(c.dt_rank) + ")");
    if (!(c.norm_eps > 0.0f)) bad(origin, "norm epsilon must be positive");
    // The largest tensors the config implies, in 64-bit: each must stay indexable by int
    // (the engines' and kernels' index type), checked before the loader allocates anything.
    const std::int64_t d_model = c.d_model, d_inner = c.d_inner;
    const std::pair<const char*, std::int64_t> tensors[] = {
        {"embedding [vocab_size, d_model]", std::int64_t{c.vocab_size} * d_model},
        {"in_proj [2*d_inner, d_model]", 2 * d_inner * d_model},
        {"x_proj [dt_rank + 2*d_state, d_inner]", (std::int64_t{c.dt_rank} + 2 * std::int64_t{c.d_state}) * d_inner},
        {"A_log [d_inner, d_state]", d_inner * c.d_state},
        {"dt_proj [d_inner, dt_rank]", d_inner * c.dt_rank},
        {"conv1d [d_inner, d_conv]", d_inner * c.d_conv}};
    for (const auto& [what, n] : tensors) {
        if (n > k_max_tensor_elements)
            bad(origin, std::string("the sizes give tensor ") + what + " " + std::to_string(n) +
                            " elements, more than the " + std::to_string(k_max_tensor_elements) +
                            " supported (d_model=" + std::to_string(c.d_model) + " d_inner=" + std::to_string(c.d_inner) +
                            " d_state=" + std::to_string(c.d_state) + " dt_rank=" + std::to_string(c.dt_rank) +
                            " vocab_size=" + std::to_string(c.vocab_size) + ")");
    }
}

ModelConfig parse_caduceus(const json& j, const std::string& origin) {
    ModelConfig c;
    c.layout = Layout::caduceus;
    c.d_model = require_int_in(j, "d_model", 1, k_max_d_model, origin);
    c.n_layer = require_int_in(j, "n_layer", 1, k_max_n_layer, origin);
    read_mixer_model_keys(j, c, origin);
    c.bidirectional = get_or<bool>(j, "bidirectional", true, origin);
    const std::string strategy = get_or<std::string>(j, "bidirectional_strategy", "add", origin);
    if (strategy == "add") {
        c.combine = Combine::add;
    } else if (strategy == "ew_multiply") {
        c.combine = Combine::multiply;
    } else {
        bad(origin, "key \"bidirectional_strategy\" is \"" + strategy + "\": expected \"add\" or \"ew_multiply\"");
    }
    c.weight_tie = get_or<bool>(j, "bidirectional_weight_tie", true, origin);
    c.rcps = get_or<bool>(j, "rcps", false, origin);
    c.complement_map = default_complement_map(c.vocab_size);
    if (j.contains("complement_map") && !j["complement_map"].is_null()) {
        const auto& m = j["complement_map"];
        if (!m.is_object()) bad(origin, "key \"complement_map\" must be an object {\"id\": id}");
        for (auto it = m.begin(); it != m.end(); ++it) {
            std::int64_t from = -1;
            std::size_t used = 0;
            try {
                from = std::stoll(it.key(), &used);
            } catch (...) {
                used = 0;
            }
            if (used == 0 || used != it.key().size())
                bad(origin, "key \"complement_map\" has a non-integer token id \"" + it.key() + "\"");
            if (!it.value().is_number_integer())
                bad(origin, "key \"complement_map." + it.key() + "\" must be an integer token id");
            const std::int64_t to = it.value().is_number_unsigned() && it.value().get<std::uint64_t>() > k_max_vocab
                                        ? k_max_vocab
                                        : it.value().get<std::int64_t>();
            if (from < 0 || from >= c.vocab_size || to < 0 || to >= c.vocab_size)
                bad(origin, "key \"complement_map\" maps " + it.key() + " -> " + it.value().dump() +
                                ", outside the vocabulary of " + std::to_string(c.vocab_size));
            c.complement_map[static_cast<std::size_t>(from)] = static_cast<int>(to);
        }
    } else if (c.rcps) {
        bad(origin, "rcps is true but key \"complement_map\" is missing");
    }
    return c;
}

ModelConfig parse_mamba_ssm(const json& j, const std::string& origin) {
    ModelConfig c;
    c.layout = Layout::mamba_ssm;
    c.d_model = require_int_in(j, "d_model", 1, k_max_d_model, origin);
    c.n_layer = require_int_in(j, "n_layer", 1, k_max_n_layer, origin);
    if (j.contains("d_intermediate") && !j["d_intermediate"].is_null() && j["d_intermediate"] != 0)
        bad(origin, "key \"d_intermediate\" is " + j["d_intermediate"].dump() +
                        ": blocks with an MLP are not supported (only pure Mamba-1 stacks)");
    if (j.contains("attn_layer_idx") && j["attn_layer_idx"].is_array() && !j["attn_layer_idx"].empty())
        bad(origin, "key \"attn_layer_idx\" lists attention layers " + j["attn_layer_idx"].dump() +
                        ": attention layers are not supported");
    read_mixer_model_keys(j, c, origin);
    c.weight_tie = get_or<bool>(j, "tie_embeddings", true, origin);  // here: LM head tied to embedding
    c.complement_map = default_complement_map(c.vocab_size);
    return c;
}

ModelConfig parse_hf_mamba(const json& j, const std::string& origin) {
    ModelConfig c;
    c.layout = Layout::hf_mamba;
    c.d_model = require_int_in(j, "hidden_size", 1, k_max_d_model, origin);
    c.n_layer = require_int_in(j, "num_hidden_layers", 1, k_max_n_layer, origin);
    c.vocab_size = require_int_in(j, "vocab_size", 1, k_max_vocab, origin);  // transformers does not pad
    c.d_state = get_int_in(j, "state_size", 16, 1, k_max_d_state, origin);
    c.d_conv = get_int_in(j, "conv_kernel", 4, 1, k_max_d_conv, origin);
    if (j.contains("intermediate_size") && !j["intermediate_size"].is_null()) {
        c.d_inner = get_int_in(j, "intermediate_size", 0, 1, k_max_d_inner, origin);
    } else {
        const double expand = get_real_in(j, "expand", 2.0, 0.0, static_cast<double>(k_max_d_inner), origin);
        c.d_inner = inner_from_expand(expand, c.d_model, origin, "expand");
    }
    c.dt_rank = resolve_dt_rank(j.contains("time_step_rank") ? j["time_step_rank"] : json(), c.d_model, origin,
                                "time_step_rank");
    c.proj_bias = get_or<bool>(j, "use_bias", false, origin);
    c.conv_bias = get_or<bool>(j, "use_conv_bias", true, origin);
    c.norm = NormKind::rms;
    c.norm_eps = static_cast<float>(get_real_in(j, "layer_norm_epsilon", 1e-5, 0.0, 1.0, origin));
    c.residual_in_fp32 = get_or<bool>(j, "residual_in_fp32", true, origin);
    const std::string act = get_or<std::string>(j, "hidden_act", "silu", origin);
    if (act != "silu") bad(origin, "key \"hidden_act\" is \"" + act + "\": only \"silu\" is supported");
    c.weight_tie = get_or<bool>(j, "tie_word_embeddings", true, origin);
    c.complement_map = default_complement_map(c.vocab_size);
    return c;
}

}  // namespace

const char* combine_name(Combine combine) noexcept { return combine == Combine::add ? "add" : "ew_multiply"; }

const char* layout_name(Layout layout) noexcept {
    switch (layout) {
    case Layout::caduceus: return "caduceus (Hugging Face)";
    case Layout::mamba_ssm: return "mamba_ssm MambaLMHeadModel";
    case Layout::hf_mamba: return "transformers Mamba (model_type mamba)";
    }
    return "?";
}

std::vector<int> default_complement_map(int vocab) {
    std::vector<int> map(static_cast<std::size_t>(std::max(vocab, 0)));
    for (int i = 0; i < vocab; ++i) map[i] = i;
    // A=7 C=8 G=9 T=10 (tokenization_caduceus.py)
    if (vocab > 10) {
        map[7] = 10;
        map[10] = 7;
        map[8] = 9;
        map[9] = 8;
    }
    return map;
}

ModelConfig parse_model_config(const std::string& json_text, const std::string& origin) {
    const json j = json_parse_strict(json_text, ErrorKind::model, origin);
    if (!j.is_object()) bad(origin, "expected a JSON object");
    ModelConfig c;
    if (j.contains("model_type")) {
        const std::string type = j["model_type"].is_string() ? j["model_type"].get<std::string>() : j["model_type"].dump();
        if (type == "caduceus") {
            c = parse_caduceus(j, origin);
        } else if (type == "mamba") {
            c = parse_hf_mamba(j, origin);
        } else if (type == "mamba2") {
            bad(origin, "key \"model_type\" is \"mamba2\": Mamba-2 models are not supported (Mamba-1 only)");
        } else {
            bad(origin, "key \"model_type\" is \"" + type +
                            "\": supported are \"caduceus\", \"mamba\", or a mamba_ssm config (d_model, n_layer, ssm_cfg)");
        }
    } else if (j.contains("d_model") && j.contains("n_layer")) {
        c = parse_mamba_ssm(j, origin);
    } else {
        bad(origin, "no \"model_type\" key and no mamba_ssm keys (\"d_model\", \"n_layer\"): not a supported checkpoint config");
    }
    check_sizes(c, origin);
    return c;
}

namespace {

// The benchmark shapes. The "ps" twins are reverse-complement equivariant (RCPS) like the
// published Caduceus-PS checkpoints: same weights, 2*d_model channels, fused add+norm.
struct Preset {
    const char* name;
    int n_layer;
    bool rcps;
};
constexpr Preset k_presets[] = {
    {"caduceus-131k", 16, false},
    {"caduceus-1k", 4, false},
    {"caduceus-ps-131k", 16, true},
    {"caduceus-ps-1k", 4, true},
};

std::string preset_list() {
    std::string list;
    for (const Preset& p : k_presets) list += (list.empty() ? "" : ", ") + std::string(p.name);
    return list;
}

}  // namespace

ModelConfig preset_config(const std::string& name) {
    const Preset* preset = nullptr;
    for (const Preset& p : k_presets)
        if (name == p.name) preset = &p;
    if (!preset) fail(ErrorKind::usage, "unknown preset \"" + name + "\": expected one of " + preset_list());
    ModelConfig c;
    c.layout = Layout::caduceus;
    c.d_model = 256;
    c.n_layer = preset->n_layer;
    c.d_state = 16;
    c.d_conv = 4;
    c.d_inner = 512;
    c.dt_rank = 16;
    c.vocab_size = 16;
    c.bidirectional = true;
    c.combine = Combine::add;
    c.weight_tie = true;
    c.rcps = preset->rcps;
    c.fused_add_norm = true;
    c.residual_in_fp32 = true;
    c.norm = NormKind::rms;
    // The map of the bundled RCPS configs (A<->T, C<->G, others fixed), padded as they are.
    c.complement_map = default_complement_map(c.vocab_size);
    return c;
}

}  // namespace dnamba
