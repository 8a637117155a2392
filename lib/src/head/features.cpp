// Features for classification heads (see classify.hpp): the model's pooled embeddings, k-mer
// frequencies, or both, computed batch by batch through the one pipeline
// (pipeline/run_batched.hpp).
#include <charconv>

#include "dnamba/classify.hpp"
#include "dnamba/error.hpp"
#include "pipeline/embed_batch.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/run_batched.hpp"

namespace dnamba {

FeatureSpec FeatureSpec::parse(const std::string& text) {
    FeatureSpec f;
    auto parse_k = [&](const std::string& k) {
        int v = 0;
        const auto r = std::from_chars(k.data(), k.data() + k.size(), v);
        if (r.ec != std::errc() || r.ptr != k.data() + k.size() || v < 1 || v > 8)
            fail(ErrorKind::usage, "--features " + text + ": k must be an integer from 1 to 8");
        return v;
    };
    if (text == "embedding") {
        f.embedding = true;
    } else if (text.rfind("kmer:", 0) == 0) {
        f.embedding = false;
        f.kmer = parse_k(text.substr(5));
    } else if (text.rfind("embedding+kmer:", 0) == 0) {
        f.embedding = true;
        f.kmer = parse_k(text.substr(15));
    } else {
        fail(ErrorKind::usage, "--features " + text + ": expected embedding, kmer:K or embedding+kmer:K");
    }
    return f;
}

std::string FeatureSpec::str() const {
    if (!kmer) return "embedding";
    return (embedding ? "embedding+kmer:" : "kmer:") + std::to_string(kmer);
}

void extract_features(const InputOptions& input, const FeatureSpec& spec, const Engines* engines, const Model* model,
                      const EmbedOptions& embed, const std::function<void(FeatureBatch&)>& sink) {
    if (spec.embedding && (!engines || !model))
        fail(ErrorKind::usage, "embedding features need a model (--model)");
    auto source = open_input(input);
    struct Features {
        FeatureBatch batch;
        std::size_t unknown = 0;
        std::size_t bases = 0;
    };
    std::size_t unknown = 0, rows = 0, bases = 0;
    // the same progress line as embed (classify and train-head were silent for minutes)
    pipeline::Progress progress(embed.progress, source->total_bases());
    // the pipeline of embed (pipeline/run_batched.hpp): read and batch, features on the compute
    // thread, the sink in input order on this one
    const pipeline::BatchBudget budget{embed.batch_tokens, embed.add_sep ? 1u : 0u, embed.queue_depth};
    // one compute thread per engine; k-mer features alone need no engine: one thread
    pipeline::run_batched(
        *source, budget, engines ? engines->devices() : std::vector<std::string>{"cpu"},
        [&](std::size_t worker, std::vector<InputItem>& items) {
            Features f;
            FeatureBatch& batch = f.batch;
            std::vector<std::string_view> seqs;
            for (const auto& it : items) {
                batch.rows.push_back(it.row);
                seqs.push_back(it.seq);
                f.bases += it.seq.size();
            }
            const Eigen::Index n = static_cast<Eigen::Index>(items.size());
            const Eigen::Index emb_cols = spec.embedding ? embedding_channels(model->config, embed.rc) : 0;
            const Eigen::Index k_cols = spec.kmer ? (Eigen::Index(1) << (2 * spec.kmer)) : 0;
            batch.X.resize(n, emb_cols + k_cols);
            if (spec.embedding) {
                const auto pooled =
                    embed_batch_pooled((*engines)[worker], *model, seqs, embed.pool, embed.rc, embed.add_sep, &f.unknown);
                for (Eigen::Index i = 0; i < n; ++i) batch.X.row(i).head(emb_cols) = pooled[static_cast<std::size_t>(i)];
            }
            if (spec.kmer) batch.X.rightCols(k_cols) = kmer_features(seqs, spec.kmer);
            return f;
        },
        [&](Features& f) {
            unknown += f.unknown;
            rows += f.batch.rows.size();
            bases += f.bases;
            sink(f.batch);
            progress.update(rows, bases);
        });
    warn_unknown_bases(unknown);
}

}  // namespace dnamba
