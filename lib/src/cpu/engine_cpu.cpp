// The CPU reference engine: the whole Mamba / Caduceus forward pass on one sequence.
//
// Memory: the residual stream and hidden states (O(L * channels)) plus one layer's working
// set (xz, conv output, delta, two direction outputs: O(L * d_inner)), reused across layers.
#include <omp.h>

#include <algorithm>
#include <thread>

#include "cpu/ops.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/error.hpp"

namespace dnamba {
namespace {

// Reverse complement of a hidden-state half: flip each sequence along its length, and the
// channels.
void flip_both(const Matrix& src, int col0, int d, const cpu::Segments& seg, Matrix& dst, int dcol0) {
    const Eigen::Index L = src.rows();
#pragma omp parallel for schedule(static)
    for (Eigen::Index t = 0; t < L; ++t) {
        const auto i = static_cast<std::size_t>(t);
        const Eigen::Index mirror = seg.begin[i] + seg.end[i] - 1 - t;
        dst.row(t).segment(dcol0, d) = src.row(mirror).segment(col0, d).reverse();
    }
}

class CpuEngine final : public Engine {
public:
    CpuEngine(const Model& model, const EngineOptions& options) : model_(model) {
        threads_ = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    }

    std::string description() const override {
        return "cpu (" + std::to_string(threads_) + (threads_ == 1 ? " thread)" : " threads)");
    }

    Matrix forward_packed(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>& lengths) override {
        omp_set_num_threads(threads_);
        const ModelConfig& c = model_.config;
        const auto& w = model_.weights;
        const Eigen::Index L = static_cast<Eigen::Index>(ids.size());
        check_packed_input(ids, lengths, c.vocab_size);
        seg_ = cpu::Segments::from_lengths(lengths);
        const int d = c.d_model;
        const int C = c.hidden_channels();

        Matrix hidden(L, C), residual(L, C), normed(L, C);
        // Embedding (RCPSEmbedding: second half is rc(E[rc(ids)]) = E[comp(id_t)] channel-flipped).
        for (Eigen::Index t = 0; t < L; ++t) {
            hidden.row(t).head(d) = w.embedding.row(ids[t]);
            if (c.rcps) hidden.row(t).segment(d, d) = w.embedding.row(c.complement_map[ids[t]]).reverse();
        }
        for (int i = 0; i < c.n_layer; ++i) {
            const LayerWeights& layer = w.layers[static_cast<std::size_t>(i)];
            if (i == 0) residual = hidden;
            else residual += hidden;
            add_norm(layer.norm_w, layer.norm_b, residual, normed);
            if (c.rcps) {
                // RCPSWrapper: [M(x1), rc(M(rc(x2)))]
                Matrix half(L, d), out;
                half = normed.leftCols(d);
                mixer(layer, half, out);
                hidden.leftCols(d) = out;
                flip_both(normed, d, d, seg_, half, 0);
                mixer(layer, half, out);
                flip_both(out, 0, d, seg_, hidden, d);
            } else {
                mixer(layer, normed, hidden);
            }
        }
        residual += hidden;
        // Final norm: RCPS halves are never swapped here (fused or not).
        Matrix out(L, C);
        cpu::norm_rows(residual, 0, d, w.norm_f_w, w.norm_f_b, c.norm, c.norm_eps, false, out, 0);
        if (c.rcps) cpu::norm_rows(residual, d, d, w.norm_f_w, w.norm_f_b, c.norm, c.norm_eps, true, out, d);
        return out;
    }

private:
    // Pre-norm of a block. Non-RCPS: normed = norm(residual). RCPS unfused
    // (RCPSAddNormWrapper): [norm(s1), rc(norm(rc(s2)))]. RCPS fused (the published PS path):
    // the halves swap — residual becomes [s2, s1] and normed [norm(s2), rc(norm(rc(s1)))].
    void add_norm(const Vector& nw, const Vector& nb, Matrix& residual, Matrix& normed) const {
        const ModelConfig& c = model_.config;
        const int d = c.d_model;
        if (!c.rcps) {
            cpu::norm_rows(residual, 0, d, nw, nb, c.norm, c.norm_eps, false, normed, 0);
            return;
        }
        if (c.fused_add_norm) {
            Matrix first = residual.leftCols(d);
            residual.leftCols(d) = residual.rightCols(d);
            residual.rightCols(d) = first;
        }
        cpu::norm_rows(residual, 0, d, nw, nb, c.norm, c.norm_eps, false, normed, 0);
        cpu::norm_rows(residual, d, d, nw, nb, c.norm, c.norm_eps, true, normed, d);
    }

    // BiMambaWrapper (or a plain Mamba mixer) on x [L x d_model] -> out [L x d_model].
    void mixer(const LayerWeights& layer, const Matrix& x, Matrix& out) {
        const ModelConfig& c = model_.config;
        const MambaWeights& f = layer.fwd;
        cpu::linear(x, f.in_proj, &f.in_bias, xz_);
        direction(f, xz_, false, y_fwd_);
        if (!c.bidirectional) {
            cpu::linear(y_fwd_, f.out_proj, &f.out_bias, out);
            return;
        }
        const MambaWeights& r = layer.rev;
        const bool tied = c.weight_tie;
        const Matrix& in_r = tied ? f.in_proj : r.in_proj;
        const Vector& in_rb = tied ? f.in_bias : r.in_bias;
        const Matrix& out_r = tied ? f.out_proj : r.out_proj;
        const Vector& out_rb = tied ? f.out_bias : r.out_bias;
        // The reverse mixer sees the flipped sequence; in_proj commutes with the flip, so with
        // tied projections the forward xz is reused and the scan runs backwards over it.
        if (!tied) cpu::linear(x, in_r, &in_rb, xz_);
        direction(r, xz_, true, y_rev_);
        if (c.combine == Combine::add && tied) {
            // out_proj(y_f) + out_proj(y_r) = out_proj(y_f + y_r) (+ the bias twice): one GEMM.
            y_fwd_ += y_rev_;
            cpu::linear(y_fwd_, f.out_proj, nullptr, out);
            if (f.out_bias.size()) out.rowwise() += (2.0f * f.out_bias).transpose();
            return;
        }
        Matrix out_rev;
        cpu::linear(y_fwd_, f.out_proj, &f.out_bias, out);
        cpu::linear(y_rev_, out_r, &out_rb, out_rev);
        if (c.combine == Combine::add) out += out_rev;
        else out.array() *= out_rev.array();
    }

    // One Mamba direction from its in_proj output: conv + SiLU, x_proj, dt_proj + softplus,
    // selective scan, gate. Output y [L x d_inner] in original sequence order.
    void direction(const MambaWeights& m, const Matrix& xz, bool reverse, Matrix& y) {
        cpu::conv1d_silu(xz, m.conv_w, m.conv_b, reverse, seg_, u_);
        cpu::linear(u_, m.x_proj, nullptr, x_dbl_);
        cpu::delta_softplus(x_dbl_, m.dt_proj, m.dt_bias, delta_);
        cpu::selective_scan(u_, delta_, m.A, m.D, x_dbl_, model_.config.dt_rank, xz, reverse, seg_, y);
    }

    const Model& model_;
    int threads_ = 1;
    cpu::Segments seg_;                               // the packed sequences of this call
    Matrix xz_, u_, x_dbl_, delta_, y_fwd_, y_rev_;  // one layer's working set, reused
};

}  // namespace

std::unique_ptr<Engine> make_cpu_engine(const Model& model, const EngineOptions& options) {
    return std::make_unique<CpuEngine>(model, options);
}

Matrix lm_logits(const Model& model, const Matrix& hidden) {
    const ModelConfig& c = model.config;
    if (!has_lm_head(model))
        fail(ErrorKind::model, (model.source.empty() ? std::string("the model") : model.source) +
                                   ": has no LM head (lm_head.weight absent and not tied to the embedding): "
                                   "it can embed but not score bases");
    const int d = c.d_model;
    Matrix logits;
    if (!c.rcps) {
        cpu::linear(hidden, model.weights.lm_head, nullptr, logits);
        return logits;
    }
    // RCPSLMHead: x1 W^T + flip_channels(x2) W[complement]^T
    Matrix comp_head(model.weights.lm_head.rows(), d);
    for (Eigen::Index v = 0; v < comp_head.rows(); ++v)
        comp_head.row(v) = model.weights.lm_head.row(c.complement_map[static_cast<std::size_t>(v)]);
    Matrix x1 = hidden.leftCols(d);
    Matrix x2 = hidden.rightCols(d).rowwise().reverse();
    Matrix rc_logits;
    cpu::linear(x1, model.weights.lm_head, nullptr, logits);
    cpu::linear(x2, comp_head, nullptr, rc_logits);
    logits += rc_logits;
    return logits;
}

}  // namespace dnamba
