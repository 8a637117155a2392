// `dnamba score`: per-base tracks of the LM head (log p of the reference base, entropy of the
// predicted base) over any input, through the one pipeline (pipeline/run_batched.hpp): step 0
// reads records/regions/windows, step 1 computes each row's [L x 4] base probabilities, step 2
// writes a bigWig/bedGraph (io/track: overlapping windows averaged per base), an NPZ or a TSV.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "dnamba/tokenizer.hpp"
#include "dnamba/vep.hpp"
#include "io/atomic_output.hpp"
#include "io/track.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/run_batched.hpp"
#include "vep/lm_scores.hpp"

namespace dnamba {

TrackKind parse_track_kind(const std::string& text) {
    if (text == "logp") return TrackKind::logp;
    if (text == "entropy") return TrackKind::entropy;
    fail(ErrorKind::usage, "--track " + text + ": expected logp or entropy");
}

namespace {

// [L x 4] log-probabilities of A/C/G/T of one strand's tokens.
Matrix strand_log_probs(Engine& engine, const Model& model, const std::vector<std::int32_t>& ids, bool masked) {
    const std::size_t L = ids.size();
    const bool causal = is_causal_lm(model.config);
    Matrix lp(static_cast<Eigen::Index>(L), 4);
    auto put = [&](std::size_t t, const float* logits_row) {
        const auto p = vep::base_log_probs(logits_row);
        for (int b = 0; b < 4; ++b) lp(static_cast<Eigen::Index>(t), b) = static_cast<float>(p[static_cast<std::size_t>(b)]);
    };
    if (!masked) {
        const Matrix logits = lm_logits(model, engine.forward(ids));
        for (std::size_t t = 0; t < L; ++t) {
            if (!causal) put(t, logits.row(static_cast<Eigen::Index>(t)).data());
            else if (t > 0) put(t, logits.row(static_cast<Eigen::Index>(t - 1)).data());
            else lp.row(0).setConstant(std::log(0.25f));  // nothing before position 0 predicts it
        }
        return lp;
    }
    // one pass per position, packed: at most ~64k tokens per call
    const std::size_t per_call = std::max<std::size_t>(1, 65536 / L);
    for (std::size_t t0 = 0; t0 < L; t0 += per_call) {
        const std::size_t n = std::min(per_call, L - t0);
        std::vector<std::int32_t> packed;
        packed.reserve(n * L);
        for (std::size_t k = 0; k < n; ++k) {
            packed.insert(packed.end(), ids.begin(), ids.end());
            packed[k * L + t0 + k] = token::mask;
        }
        const Matrix h = engine.forward_packed(packed, std::vector<std::size_t>(n, L));
        for (std::size_t k = 0; k < n; ++k) {
            const Matrix row = h.row(static_cast<Eigen::Index>(k * L + t0 + k));
            put(t0 + k, lm_logits(model, row).row(0).data());
        }
    }
    return lp;
}

struct ScoredRow {
    RowInfo row;
    Matrix values;  // [L x 5]: p(A) p(C) p(G) p(T), track
    std::string seq;
};

struct ScoredBatch {
    std::vector<ScoredRow> rows;
    std::size_t bases = 0, passes = 0;
};

bool ends_with_ci(const std::string& s, const std::string& suffix) {
    if (s.size() < suffix.size()) return false;
    for (std::size_t i = 0; i < suffix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
    return true;
}

}  // namespace

Matrix base_probabilities(Engine& engine, const Model& model, const std::string& seq, bool masked, RcMode rc) {
    vep::require_lm_head(model, "per-base probabilities");
    if (masked && is_causal_lm(model.config))
        fail(ErrorKind::usage, "--masked needs a masked-LM model (Caduceus); a causal LM predicts each base from its prefix");
    if (seq.empty()) fail(ErrorKind::input, "cannot score an empty sequence");
    const auto ids = tokenize(seq, false);
    Matrix lp = strand_log_probs(engine, model, ids, masked);
    if (rc == RcMode::average && !model.config.rcps) {  // RCPS: equivariant, both strands agree
        const Matrix r = strand_log_probs(engine, model, reverse_complement_ids(ids, model.config.complement_map), masked);
        const auto L = lp.rows();
        for (Eigen::Index t = 0; t < L; ++t)
            for (int b = 0; b < 4; ++b) lp(t, b) = 0.5f * (lp(t, b) + r(L - 1 - t, 3 - b));
    }
    Matrix p = lp.array().exp().matrix();
    for (Eigen::Index t = 0; t < p.rows(); ++t) p.row(t) /= p.row(t).sum();
    return p;
}

ScoreSummary score_track(const Engines& engines, const Model& model, const InputOptions& input, const std::string& output,
                         const ScoreOptions& options) {
    const auto start_time = std::chrono::steady_clock::now();
    vep::require_lm_head(model, "a per-base track");
    if (options.masked && is_causal_lm(model.config))
        fail(ErrorKind::usage, "--masked needs a masked-LM model (Caduceus); a causal LM predicts each base from its prefix");
    // "-" is the TSV on standard output (as embed's and classify's tables); .tsv.gz and
    // .bedgraph.gz are bgzipped (AtomicOutputFile's TextOutput)
    const bool npz = ends_with_ci(output, ".npz"), tsv = is_tsv_output(output);
    std::unique_ptr<TrackWriter> track;
    std::unique_ptr<EmbeddingWriter> arrays;
    std::unique_ptr<AtomicOutputFile> table;
    if (npz) {
        arrays = make_embedding_writer(output);
        arrays->begin(5);
    } else if (tsv) {
        table = std::make_unique<AtomicOutputFile>(output, TextOutput::yes);
        const std::string h = std::string("name\tchrom\tpos\tbase\t") + (options.track == TrackKind::logp ? "logp" : "entropy") + "\n";
        table->write(h.data(), h.size());
    } else {
        (void)track_format_for_path(output);  // Error(usage) for other extensions
        const IndexedFasta fasta(input.path);
        std::vector<std::pair<std::string, std::int64_t>> sizes;
        for (const auto& n : fasta.names()) sizes.emplace_back(n, fasta.length(n));
        track = std::make_unique<TrackWriter>(output, sizes, std::string("dnamba ") + (options.track == TrackKind::logp ? "logp" : "entropy"));
    }
    auto source = open_input(input);
    ScoreSummary summary;
    pipeline::Progress progress(options.progress, source->total_bases());
    pipeline::run_batched(
        *source, pipeline::BatchBudget{options.batch_tokens, 0, options.queue_depth}, engines,
        [&](Engine& engine, std::vector<InputItem>& items) {
            ScoredBatch b;
            for (auto& it : items) {
                ScoredRow r;
                r.row = it.row;
                const Matrix p = base_probabilities(engine, model, it.seq, options.masked, options.rc);
                r.values.resize(p.rows(), 5);
                r.values.leftCols(4) = p;
                for (Eigen::Index t = 0; t < p.rows(); ++t) {
                    float v;
                    if (options.track == TrackKind::logp) {
                        const int bi = vep::base_index(it.seq[static_cast<std::size_t>(t)]);
                        v = bi < 0 ? std::nanf("") : std::log(p(t, bi));
                    } else {
                        double e = 0;
                        for (int k = 0; k < 4; ++k)
                            if (p(t, k) > 0) e -= static_cast<double>(p(t, k)) * std::log(static_cast<double>(p(t, k)));
                        v = static_cast<float>(e);
                    }
                    r.values(t, 4) = v;
                }
                b.bases += it.seq.size();
                b.passes += (options.masked ? it.seq.size() : 1) * (options.rc == RcMode::average && !model.config.rcps ? 2 : 1);
                r.seq = std::move(it.seq);
                b.rows.push_back(std::move(r));
            }
            return b;
        },
        [&](ScoredBatch& b) {
            for (const ScoredRow& r : b.rows) {
                const auto L = r.values.rows();
                if (arrays) {
                    arrays->write(r.row, r.values.data(), static_cast<std::size_t>(L));
                    continue;
                }
                for (Eigen::Index t = 0; t < L; ++t) {
                    // minus-strand rows were reverse-complemented: position t is end-1-t on the genome
                    const std::int64_t pos = r.row.strand == '-' ? r.row.end - 1 - t : r.row.start + t;
                    const float v = r.values(t, 4);
                    if (track) {
                        if (!std::isnan(v)) track->add(r.row.chrom, pos, pos + 1, v);
                    } else {
                        char buf[64];
                        std::snprintf(buf, sizeof buf, "\t%lld\t%c\t", static_cast<long long>(pos + 1),
                                      r.seq[static_cast<std::size_t>(t)]);
                        std::string line = r.row.name + "\t" + r.row.chrom + buf;
                        if (std::isnan(v)) line += "NA\n";
                        else {
                            std::snprintf(buf, sizeof buf, "%.7g\n", static_cast<double>(v));
                            line += buf;
                        }
                        table->write(line.data(), line.size());
                    }
                }
            }
            summary.rows += b.rows.size();
            summary.bases += b.bases;
            summary.passes += b.passes;
            progress.update(summary.rows, summary.bases);
        });
    if (summary.rows == 0) fail(ErrorKind::input, input.path + ": nothing to score (no sequences, or every row was skipped)");
    if (arrays) arrays->commit();
    else if (table) table->commit();
    else track->commit();
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
    return summary;
}

}  // namespace dnamba
