// config.json parsing for the three checkpoint layouts, and the benchmark presets.
//
// Defaults are those of the reference config classes (CaduceusConfig, mamba_ssm MambaConfig,
// transformers MambaConfig), so a config.json that omits a key means what it means there.
#include <cmath>
#include <nlohmann/json.hpp>

#include "dnamba/error.hpp"
#include "dnamba/model.hpp"

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

int require_positive(const json& j, const char* key, const std::string& origin) {
    if (!j.contains(key)) bad(origin, "missing key \"" + std::string(key) + "\"");
    const int v = get_or<int>(j, key, 0, origin);
    if (v <= 0) bad(origin, "key \"" + std::string(key) + "\" must be a positive integer, got " + j[key].dump());
    return v;
}

int pad_vocab(int vocab, int multiple) {
    if (multiple > 0 && vocab % multiple != 0) vocab += multiple - vocab % multiple;
    return vocab;
}

int resolve_dt_rank(const json& value, int d_model, const std::string& origin, const std::string& key) {
    if (value.is_null() || (value.is_string() && value.get<std::string>() == "auto"))
        return (d_model + 15) / 16;  // math.ceil(d_model / 16)
    if (value.is_number_integer() && value.get<int>() > 0) return value.get<int>();
    bad(origin, "key \"" + key + "\" must be \"auto\" or a positive integer, got " + value.dump());
}

// Reads the Mamba-1 mixer keys of a mamba_ssm-style ssm_cfg object.
void read_ssm_cfg(const json& ssm, ModelConfig& c, const std::string& origin) {
    if (!ssm.is_object()) bad(origin, "key \"ssm_cfg\" must be an object");
    const std::string layer = get_or<std::string>(ssm, "layer", "Mamba1", origin, "ssm_cfg.");
    if (layer != "Mamba1")
        bad(origin, "key \"ssm_cfg.layer\" is \"" + layer + "\": only Mamba-1 layers are supported (Mamba-2/3 are not)");
    c.d_state = get_or<int>(ssm, "d_state", 16, origin, "ssm_cfg.");
    c.d_conv = get_or<int>(ssm, "d_conv", 4, origin, "ssm_cfg.");
    const double expand = get_or<double>(ssm, "expand", 2.0, origin, "ssm_cfg.");
    c.d_inner = static_cast<int>(expand * c.d_model);  // int(self.expand * self.d_model)
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
    const int multiple = get_or<int>(j, "pad_vocab_size_multiple", 8, origin);
    c.vocab_size = pad_vocab(require_positive(j, "vocab_size", origin), multiple);
    read_ssm_cfg(j.contains("ssm_cfg") && !j["ssm_cfg"].is_null() ? j["ssm_cfg"] : json::object(), c, origin);
    c.norm = get_or<bool>(j, "rms_norm", true, origin) ? NormKind::rms : NormKind::layer;
    c.residual_in_fp32 = get_or<bool>(j, "residual_in_fp32", true, origin);
    c.fused_add_norm = get_or<bool>(j, "fused_add_norm", true, origin);
    c.norm_eps = get_or<float>(j, "norm_epsilon", 1e-5f, origin);
}

void check_sizes(const ModelConfig& c, const std::string& origin) {
    if (c.d_state <= 0 || c.d_conv <= 0 || c.d_inner <= 0 || c.dt_rank <= 0)
        bad(origin, "d_state, d_conv, expand*d_model and dt_rank must all be positive (got d_state=" +
                        std::to_string(c.d_state) + " d_conv=" + std::to_string(c.d_conv) +
                        " d_inner=" + std::to_string(c.d_inner) + " dt_rank=" + std::to_string(c.dt_rank) + ")");
    if (!(c.norm_eps > 0.0f)) bad(origin, "norm epsilon must be positive");
}

ModelConfig parse_caduceus(const json& j, const std::string& origin) {
    ModelConfig c;
    c.layout = Layout::caduceus;
    c.d_model = require_positive(j, "d_model", origin);
    c.n_layer = require_positive(j, "n_layer", origin);
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
            int from = -1;
            try {
                from = std::stoi(it.key());
            } catch (...) {
                bad(origin, "key \"complement_map\" has a non-integer token id \"" + it.key() + "\"");
            }
            if (!it.value().is_number_integer())
                bad(origin, "key \"complement_map." + it.key() + "\" must be an integer token id");
            const int to = it.value().get<int>();
            if (from < 0 || from >= c.vocab_size || to < 0 || to >= c.vocab_size)
                bad(origin, "key \"complement_map\" maps " + std::to_string(from) + " -> " + std::to_string(to) +
                                ", outside the vocabulary of " + std::to_string(c.vocab_size));
            c.complement_map[from] = to;
        }
    } else if (c.rcps) {
        bad(origin, "rcps is true but key \"complement_map\" is missing");
    }
    return c;
}

ModelConfig parse_mamba_ssm(const json& j, const std::string& origin) {
    ModelConfig c;
    c.layout = Layout::mamba_ssm;
    c.d_model = require_positive(j, "d_model", origin);
    c.n_layer = require_positive(j, "n_layer", origin);
    if (get_or<int>(j, "d_intermediate", 0, origin) != 0)
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
    c.d_model = require_positive(j, "hidden_size", origin);
    c.n_layer = require_positive(j, "num_hidden_layers", origin);
    c.vocab_size = require_positive(j, "vocab_size", origin);  // transformers does not pad
    c.d_state = get_or<int>(j, "state_size", 16, origin);
    c.d_conv = get_or<int>(j, "conv_kernel", 4, origin);
    const double expand = get_or<double>(j, "expand", 2.0, origin);
    c.d_inner = get_or<int>(j, "intermediate_size", static_cast<int>(expand * c.d_model), origin);
    c.dt_rank = resolve_dt_rank(j.contains("time_step_rank") ? j["time_step_rank"] : json(), c.d_model, origin,
                                "time_step_rank");
    c.proj_bias = get_or<bool>(j, "use_bias", false, origin);
    c.conv_bias = get_or<bool>(j, "use_conv_bias", true, origin);
    c.norm = NormKind::rms;
    c.norm_eps = get_or<float>(j, "layer_norm_epsilon", 1e-5f, origin);
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
    json j;
    try {
        j = json::parse(json_text);
    } catch (const json::exception& e) {
        bad(origin, std::string("not valid JSON: ") + e.what());
    }
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
