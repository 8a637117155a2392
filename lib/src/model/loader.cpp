// Weight mapping: safetensors names of each checkpoint layout -> ModelWeights.
//
// Published checkpoints drop tied duplicates (reverse in/out projections of Caduceus, the LM
// head), so each tied pair is looked up on both sides and whichever is stored is used.
#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "dnamba/error.hpp"
#include "dnamba/log.hpp"
#include "dnamba/model.hpp"
#include "model/safetensors.hpp"

namespace dnamba {
namespace {

class TensorSource {
public:
    TensorSource(const SafetensorsFile& file, const ModelConfig& config) : file_(file), config_(config) {}

    [[nodiscard]] bool has(const std::string& name) const { return file_.find(name) != nullptr; }

    // Loads `name` as float32 with exactly `shape` (a [n,1,k] conv weight may be given as
    // [n,k]); throws Error(model) naming the tensor when absent or mis-shaped.
    std::vector<float> load(const std::string& name, const std::vector<std::int64_t>& shape) {
        const TensorInfo* t = file_.find(name);
        if (!t) fail(ErrorKind::model, file_.path() + ": tensor " + name + " is missing (" + context() + ")");
        if (t->dtype != DType::f32 && t->dtype != DType::f16 && t->dtype != DType::bf16)
            fail(ErrorKind::model, file_.path() + ": tensor " + name + " has dtype " + dtype_name(t->dtype) +
                                       ", expected F32, F16 or BF16");
        if (t->shape != shape) {
            TensorInfo want;
            want.shape = shape;
            fail(ErrorKind::model, file_.path() + ": tensor " + name + " has shape " + t->shape_string() +
                                       ", expected " + want.shape_string() + " for " + context());
        }
        used_.insert(name);
        std::vector<float> v = file_.to_float(*t);
        warn_nonfinite(name, v);
        return v;
    }

    Matrix matrix(const std::string& name, int rows, int cols) {
        auto v = load(name, {rows, cols});
        return Eigen::Map<Matrix>(v.data(), rows, cols);
    }
    Vector vector(const std::string& name, int n) {
        auto v = load(name, {n});
        return Eigen::Map<Vector>(v.data(), n);
    }
    Matrix conv(const std::string& name, int channels, int width) {
        const TensorInfo* t = file_.find(name);
        std::vector<float> v = (t && t->shape.size() == 2) ? load(name, {channels, width})
                                                           : load(name, {channels, 1, width});
        return Eigen::Map<Matrix>(v.data(), channels, width);
    }

    [[nodiscard]] const std::set<std::string>& used() const { return used_; }

private:
    // NaN/Inf weights make every output NaN; say so once per tensor at load rather than
    // leave the user to find NaN embeddings (tied duplicates are checked once).
    void warn_nonfinite(const std::string& name, const std::vector<float>& v) {
        if (!warned_.insert(name).second) return;
        std::size_t nan = 0, inf = 0;
        for (const float x : v) {
            if (std::isnan(x)) ++nan;
            else if (std::isinf(x)) ++inf;
        }
        if (nan + inf == 0) return;
        log_warning(file_.path() + ": tensor " + name + " holds " + std::to_string(nan) + " NaN and " +
                    std::to_string(inf) + " infinite values (of " + std::to_string(v.size()) +
                    "): outputs that use it will be NaN");
    }

    [[nodiscard]] std::string context() const {
        std::ostringstream s;
        s << "d_model=" << config_.d_model << ", d_inner=" << config_.d_inner << ", d_state=" << config_.d_state
          << ", dt_rank=" << config_.dt_rank << ", d_conv=" << config_.d_conv << ", vocab=" << config_.vocab_size;
        return s.str();
    }
    const SafetensorsFile& file_;
    const ModelConfig& config_;
    std::set<std::string> used_;
    std::set<std::string> warned_;
};

// Loads one Mamba-1 direction under `p` (ending in '.'). Projections are skipped when
// `projections` is false (tied reverse direction).
MambaWeights load_mamba(TensorSource& src, const ModelConfig& c, const std::string& p, bool projections) {
    MambaWeights w;
    const int di = c.d_inner;
    if (projections) {
        w.in_proj = src.matrix(p + "in_proj.weight", 2 * di, c.d_model);
        w.out_proj = src.matrix(p + "out_proj.weight", c.d_model, di);
        if (c.proj_bias) {
            w.in_bias = src.vector(p + "in_proj.bias", 2 * di);
            w.out_bias = src.vector(p + "out_proj.bias", c.d_model);
        }
    }
    w.conv_w = src.conv(p + "conv1d.weight", di, c.d_conv);
    if (c.conv_bias) w.conv_b = src.vector(p + "conv1d.bias", di);
    w.x_proj = src.matrix(p + "x_proj.weight", c.dt_rank + 2 * c.d_state, di);
    w.dt_proj = src.matrix(p + "dt_proj.weight", di, c.dt_rank);
    w.dt_bias = src.vector(p + "dt_proj.bias", di);
    w.A = -src.matrix(p + "A_log", di, c.d_state).array().exp().matrix();
    w.D = src.vector(p + "D", di);
    return w;
}


std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(ErrorKind::model, path + ": cannot open (a model directory holds config.json and model.safetensors)");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::int64_t count_parameters(const Model& m) {
    std::int64_t n = m.weights.embedding.size() + m.weights.norm_f_w.size() + m.weights.norm_f_b.size();
    auto mamba = [](const MambaWeights& w) {
        return static_cast<std::int64_t>(w.in_proj.size() + w.in_bias.size() + w.conv_w.size() + w.conv_b.size() +
                                         w.x_proj.size() + w.dt_proj.size() + w.dt_bias.size() + w.A.size() +
                                         w.D.size() + w.out_proj.size() + w.out_bias.size());
    };
    for (const auto& l : m.weights.layers) n += mamba(l.fwd) + mamba(l.rev) + l.norm_w.size() + l.norm_b.size();
    if (!m.weights.lm_head_tied) n += m.weights.lm_head.size();
    return n;
}

}  // namespace

ModelConfig load_model_config(const std::string& dir) {
    const std::string config_path = dir + "/config.json";
    return parse_model_config(read_text(config_path), config_path);
}

Model load_model(const std::string& dir) {
    Model model;
    model.source = dir;
    model.config = load_model_config(dir);
    const ModelConfig& c = model.config;
    const SafetensorsFile file(dir + "/model.safetensors");
    for (const auto& t : file.tensors()) model.stored_dtypes[dtype_name(t.dtype)]++;
    TensorSource src(file, c);
    ModelWeights& w = model.weights;

    std::string root, embedding_name, lm_head_name;
    switch (c.layout) {
    case Layout::caduceus:
        root = (src.has("caduceus.backbone.norm_f.weight") || src.has("caduceus.backbone.norm_f.submodule.weight"))
                   ? "caduceus.backbone."
                   : "backbone.";
        embedding_name = root + (c.rcps ? "embeddings.word_embeddings.embedding.weight" : "embeddings.word_embeddings.weight");
        lm_head_name = c.rcps ? "lm_head.lm_head.weight" : "lm_head.weight";
        break;
    case Layout::mamba_ssm:
        root = "backbone.";
        embedding_name = "backbone.embedding.weight";
        lm_head_name = "lm_head.weight";
        break;
    case Layout::hf_mamba:
        root = "backbone.";
        embedding_name = "backbone.embeddings.weight";
        lm_head_name = "lm_head.weight";
        break;
    }

    // Embedding and LM head: Caduceus always ties them (tie_weights); the others per config.
    const bool head_tied = c.layout == Layout::caduceus || c.weight_tie;
    if (src.has(embedding_name)) {
        w.embedding = src.matrix(embedding_name, c.vocab_size, c.d_model);
    } else if (head_tied && src.has(lm_head_name)) {
        w.embedding = src.matrix(lm_head_name, c.vocab_size, c.d_model);
        model.notes.push_back(embedding_name + " absent: tied to " + lm_head_name);
    } else {
        fail(ErrorKind::model, file.path() + ": tensor " + embedding_name + " is missing" +
                                   (src.has("model.embed_tokens.weight") ? " (this looks like a transformer checkpoint, not Mamba)" : ""));
    }
    if (!head_tied && src.has(lm_head_name)) {
        w.lm_head = src.matrix(lm_head_name, c.vocab_size, c.d_model);
        w.lm_head_tied = false;
    } else if (!head_tied) {
        // a backbone without its LM head still embeds; lm_logits refuses it (has_lm_head)
        w.lm_head_tied = false;
        model.notes.push_back(lm_head_name + " absent and not tied to the embedding: no LM head (embeddings only)");
    } else {
        if (src.has(lm_head_name)) (void)src.matrix(lm_head_name, c.vocab_size, c.d_model);  // shape check only
        else model.notes.push_back(lm_head_name + " absent: tied to " + embedding_name);
        w.lm_head = w.embedding;
    }

    w.layers.resize(static_cast<std::size_t>(c.n_layer));
    for (int i = 0; i < c.n_layer; ++i) {
        LayerWeights& L = w.layers[static_cast<std::size_t>(i)];
        const std::string lp = root + "layers." + std::to_string(i) + ".";
        std::string mixer = lp + "mixer.";
        if (c.layout == Layout::caduceus) {
            if (c.rcps) mixer += "submodule.";
            const std::string fwd = mixer + "mamba_fwd.", rev = mixer + "mamba_rev.";
            if (!c.bidirectional) {
                L.fwd = load_mamba(src, c, fwd, true);
            } else if (c.weight_tie) {
                // The tied projections may be stored under either direction.
                const bool fwd_has = src.has(fwd + "in_proj.weight");
                L.fwd = load_mamba(src, c, fwd, fwd_has);
                if (!fwd_has) {
                    const MambaWeights r = load_mamba(src, c, rev, true);
                    L.fwd.in_proj = r.in_proj;
                    L.fwd.in_bias = r.in_bias;
                    L.fwd.out_proj = r.out_proj;
                    L.fwd.out_bias = r.out_bias;
                    model.notes.push_back("layer " + std::to_string(i) + ": projections read from mamba_rev (tied)");
                }
                L.rev = load_mamba(src, c, rev, false);
                // A file that keeps the tied duplicates: they must equal the forward ones.
                if (src.has(rev + "in_proj.weight") && fwd_has) {
                    const Matrix dup = src.matrix(rev + "in_proj.weight", 2 * c.d_inner, c.d_model);
                    if (!(dup == L.fwd.in_proj))
                        fail(ErrorKind::model, file.path() + ": tensor " + rev + "in_proj.weight differs from " + fwd +
                                                   "in_proj.weight although bidirectional_weight_tie is true");
                    (void)src.matrix(rev + "out_proj.weight", c.d_model, c.d_inner);
                    if (c.proj_bias) {
                        (void)src.vector(rev + "in_proj.bias", 2 * c.d_inner);
                        (void)src.vector(rev + "out_proj.bias", c.d_model);
                    }
                }
            } else {
                L.fwd = load_mamba(src, c, fwd, true);
                L.rev = load_mamba(src, c, rev, true);
            }
        } else {
            L.fwd = load_mamba(src, c, mixer, true);
        }
        // RCPS without fused_add_norm wraps the norm in RCPSAddNormWrapper: "norm.submodule.*".
        const std::string norm = src.has(lp + "norm.submodule.weight") ? lp + "norm.submodule." : lp + "norm.";
        L.norm_w = src.vector(norm + "weight", c.d_model);
        if (c.norm == NormKind::layer) L.norm_b = src.vector(norm + "bias", c.d_model);
    }
    const std::string norm_f = src.has(root + "norm_f.submodule.weight") ? root + "norm_f.submodule." : root + "norm_f.";
    w.norm_f_w = src.vector(norm_f + "weight", c.d_model);
    if (c.norm == NormKind::layer) w.norm_f_b = src.vector(norm_f + "bias", c.d_model);

    // Anything left over is a structure we do not implement: refuse rather than ignore it.
    for (const auto& t : file.tensors()) {
        if (src.used().count(t.name)) continue;
        if (t.name.find("complement_map") != std::string::npos) continue;  // registered buffers
        if (t.name.find(".mixer.") != std::string::npos || t.name.find(".mlp.") != std::string::npos ||
            t.name.find("norm2") != std::string::npos || t.name.find("layers.") != std::string::npos) {
            fail(ErrorKind::model, file.path() + ": tensor " + t.name +
                                       " is not part of a supported Mamba-1 block (attention, MLP or Mamba-2 layers are not supported)");
        }
        model.notes.push_back("ignored tensor " + t.name);
    }
    model.parameter_count = count_parameters(model);
    return model;
}

Model make_random_model(const ModelConfig& config, std::uint64_t seed) {
    Model m;
    m.config = config;
    const ModelConfig& c = config;
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto randn = [&](int r, int k, float scale) {
        Matrix x(r, k);
        for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = scale * normal(rng);
        return x;
    };
    auto mamba = [&](bool projections) {
        MambaWeights w;
        const int di = c.d_inner;
        if (projections) {
            w.in_proj = randn(2 * di, c.d_model, 1.0f / std::sqrt(float(c.d_model)));
            w.out_proj = randn(c.d_model, di, 1.0f / std::sqrt(float(di * c.n_layer)));
            if (c.proj_bias) {
                w.in_bias = randn(2 * di, 1, 0.1f);
                w.out_bias = randn(c.d_model, 1, 0.1f);
            }
        }
        w.conv_w = randn(di, c.d_conv, 1.0f / std::sqrt(float(c.d_conv)));
        if (c.conv_bias) w.conv_b = randn(di, 1, 0.1f);
        w.x_proj = randn(c.dt_rank + 2 * c.d_state, di, 1.0f / std::sqrt(float(di)));
        w.dt_proj = randn(di, c.dt_rank, 1.0f / std::sqrt(float(c.dt_rank)));
        w.dt_bias.resize(di);
        std::uniform_real_distribution<float> u(std::log(1e-3f), std::log(1e-1f));
        for (int i = 0; i < di; ++i) {
            const float dt = std::exp(u(rng));
            w.dt_bias[i] = dt + std::log(-std::expm1(-dt));  // inverse softplus
        }
        w.A.resize(di, c.d_state);
        for (int i = 0; i < di; ++i)
            for (int n = 0; n < c.d_state; ++n) w.A(i, n) = -static_cast<float>(n + 1);
        w.D = Vector::Ones(di);
        return w;
    };
    m.weights.embedding = randn(c.vocab_size, c.d_model, 1.0f);
    m.weights.layers.resize(static_cast<std::size_t>(c.n_layer));
    for (auto& L : m.weights.layers) {
        L.fwd = mamba(true);
        if (c.bidirectional) L.rev = mamba(!c.weight_tie);
        L.norm_w = Vector::Ones(c.d_model);
        if (c.norm == NormKind::layer) L.norm_b = Vector::Zero(c.d_model);
    }
    m.weights.norm_f_w = Vector::Ones(c.d_model);
    if (c.norm == NormKind::layer) m.weights.norm_f_b = Vector::Zero(c.d_model);
    m.weights.lm_head = m.weights.embedding;
    m.parameter_count = count_parameters(m);
    return m;
}

}  // namespace dnamba
