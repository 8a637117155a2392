// dnamba/model.hpp — the one internal description of a Mamba-family model, and its loaders.
//
// Three checkpoint layouts (Caduceus on Hugging Face, mamba_ssm MambaLMHeadModel, HF
// transformers Mamba) are read into the same ModelConfig + ModelWeights; engines only see
// these. Weights are held as float32 whatever the file stores (F32/F16/BF16).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dnamba {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXf;

enum class Layout { caduceus, mamba_ssm, hf_mamba };
enum class NormKind { rms, layer };
enum class Combine { add, multiply };  // Caduceus bidirectional_strategy: "add" | "ew_multiply"

[[nodiscard]] const char* layout_name(Layout layout) noexcept;
// The bidirectional_strategy text of config.json for `combine` ("add" | "ew_multiply").
[[nodiscard]] const char* combine_name(Combine combine) noexcept;

struct ModelConfig {
    Layout layout = Layout::caduceus;
    int d_model = 0;          // per strand; RCPS hidden states carry 2*d_model channels
    int n_layer = 0;
    int vocab_size = 0;       // padded as the reference pads it
    int d_state = 16;
    int d_conv = 4;
    int d_inner = 0;          // int(expand * d_model)
    int dt_rank = 0;
    bool bidirectional = false;
    Combine combine = Combine::add;
    bool weight_tie = true;   // reverse direction shares in_proj/out_proj with the forward one
    bool rcps = false;
    bool fused_add_norm = false;
    bool residual_in_fp32 = true;
    bool proj_bias = false;   // in_proj / out_proj bias
    bool conv_bias = true;
    NormKind norm = NormKind::rms;
    float norm_eps = 1e-5f;
    std::vector<int> complement_map;  // token id -> complement id (size vocab_size)

    [[nodiscard]] int hidden_channels() const noexcept { return rcps ? 2 * d_model : d_model; }
};

// One direction of a Mamba-1 mixer, in PyTorch's [out, in] weight convention.
struct MambaWeights {
    Matrix in_proj;    // [2*d_inner, d_model]
    Vector in_bias;    // [2*d_inner] or empty
    Matrix conv_w;     // [d_inner, d_conv]
    Vector conv_b;     // [d_inner] or empty
    Matrix x_proj;     // [dt_rank + 2*d_state, d_inner]
    Matrix dt_proj;    // [d_inner, dt_rank]
    Vector dt_bias;    // [d_inner]
    Matrix A;          // [d_inner, d_state] = -exp(A_log)
    Vector D;          // [d_inner]
    Matrix out_proj;   // [d_model, d_inner]
    Vector out_bias;   // [d_model] or empty
};

struct LayerWeights {
    MambaWeights fwd;
    MambaWeights rev;  // bidirectional only; when weight_tie its in/out projections are empty
    Vector norm_w, norm_b;
};

struct ModelWeights {
    Matrix embedding;  // [vocab_size, d_model]
    std::vector<LayerWeights> layers;
    Vector norm_f_w, norm_f_b;
    Matrix lm_head;    // [vocab_size, d_model]; empty (0 rows) when the checkpoint has no LM head
    bool lm_head_tied = true;  // lm_head is a copy of the embedding (counted once)
};

// Whether the model can score bases: an LM head (tied or stored). Untied checkpoints saved
// without lm_head.weight (a backbone alone) load for embedding but have none.
struct Model;
[[nodiscard]] bool has_lm_head(const Model& model) noexcept;

struct Model {
    ModelConfig config;
    ModelWeights weights;
    std::string source;                        // directory it was loaded from ("" for synthetic)
    std::map<std::string, int> stored_dtypes;  // dtype name -> tensor count in the file
    std::int64_t parameter_count = 0;          // unique parameters (tied ones once)
    std::vector<std::string> notes;            // e.g. "lm_head.weight absent: tied to embedding"
};

inline bool has_lm_head(const Model& model) noexcept { return model.weights.lm_head.rows() > 0; }

// Loads `dir`/config.json + `dir`/model.safetensors. Detects the layout (DESIGN.md), checks
// every tensor's presence and shape against the config, falls back to the tied source for
// tied tensors missing from the file. Throws Error(model) naming the file and key/tensor for
// anything unsupported (Mamba-2 or attention layers, MLP blocks, unknown model_type) or
// inconsistent.
[[nodiscard]] Model load_model(const std::string& dir);

// Parses a config.json text into a ModelConfig (no weights). `origin` names the file in errors.
[[nodiscard]] ModelConfig parse_model_config(const std::string& json_text, const std::string& origin);

// Reads `dir`/config.json into a ModelConfig (no weights; model.safetensors is not opened).
// Throws Error(model) naming the file when it cannot be read or is not a supported config.
[[nodiscard]] ModelConfig load_model_config(const std::string& dir);

// A model with the given config and random weights (deterministic in `seed`), for benchmarks
// and tests that need no checkpoint.
[[nodiscard]] Model make_random_model(const ModelConfig& config, std::uint64_t seed);

// The benchmark presets: "caduceus-131k" (d_model 256, 16 layers) and "caduceus-1k"
// (d_model 256, 4 layers), bidirectional add, tied, RCPS off, RMSNorm, fused add+norm; and
// their RCPS twins "caduceus-ps-131k" and "caduceus-ps-1k" (rcps on, the Caduceus complement
// map). Throws Error(usage) listing the presets for any other name.
[[nodiscard]] ModelConfig preset_config(const std::string& name);

// Checks the Hugging Face tokenizer files of checkpoint directory `dir`, those present of
// tokenizer_config.json ("characters", "added_tokens_decoder"), special_tokens_map.json and
// tokenizer.json ("added_tokens", "model"."vocab"), against the built-in character vocabulary
// (tokenizer.hpp). Throws Error(model) naming the file and the first token that differs (a text
// Mamba's 50280-token vocabulary, say); no tokenizer file: nothing to check.
void check_model_vocabulary(const std::string& dir);

// Where the local Hugging Face hub cache is, as huggingface_hub finds it: $HF_HUB_CACHE, else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
[[nodiscard]] std::string hf_hub_cache_dir();

// The checkpoint directory `model` names: `model` itself when it is a directory or not a hub id;
// for a hub id ("org/name") that is not a directory, its snapshot in hf_hub_cache_dir():
// models--org--name/snapshots/<the revision in refs/main>, or the only snapshot when there is no
// refs/main. Never downloads. Throws Error(model) saying where it looked when it is not there.
[[nodiscard]] std::string resolve_model_dir(const std::string& model);

// A 16-hex-digit FNV-1a hash of `dir`/config.json and `dir`/model.safetensors: what a head file
// records to refuse another model. Throws Error(model) naming a file that cannot be read.
[[nodiscard]] std::string model_fingerprint(const std::string& dir);

// Caduceus character tokenizer complement map (A<->T, C<->G, others fixed), padded to `vocab`.
[[nodiscard]] std::vector<int> default_complement_map(int vocab);

}  // namespace dnamba
