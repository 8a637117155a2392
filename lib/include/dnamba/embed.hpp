// dnamba/embed.hpp — embedding sequences: reverse-complement modes, pooling, and the
// read -> tokenize -> forward -> reduce -> write loop behind `dnamba embed`.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dnamba/engine.hpp"
#include "dnamba/input.hpp"

namespace dnamba {

enum class PoolMode { none, mean, max, first, last };
enum class RcMode { none, average };

[[nodiscard]] PoolMode parse_pool(const std::string& text);  // throws Error(usage)
[[nodiscard]] RcMode parse_rc(const std::string& text);      // throws Error(usage)
[[nodiscard]] const char* pool_name(PoolMode mode) noexcept;  // the text parse_pool reads
[[nodiscard]] const char* rc_name(RcMode mode) noexcept;      // the text parse_rc reads

// Channels of an embedding under `rc`: RCPS models give 2*d_model with --rc none and
// d_model with --rc average; other models d_model either way.
[[nodiscard]] int embedding_channels(const ModelConfig& config, RcMode rc) noexcept;

// Per-position embeddings [L' x C] of several sequences computed in packed forward passes
// (L' = length, +1 with add_sep); each result equals embed_sequence() on it alone.
// rc none: the model's own output. rc average (strand-invariant, position-aligned):
//   RCPS:  out[t] = (H[t, :d] + reverse_channels(H[t, d:])) / 2
//   other: out[t] = (H(seq)[t] + H(revcomp(seq))[L-1-t]) / 2  ([SEP], if added, stays last)
// so that embed(revcomp(seq)) equals embed(seq) flipped along the sequence.
// `unknown` (if given) counts characters that became [UNK].
[[nodiscard]] std::vector<Matrix> embed_batch(Engine& engine, const Model& model,
                                              const std::vector<std::string_view>& seqs, RcMode rc, bool add_sep,
                                              std::size_t* unknown = nullptr);

// One pooled 1 x C row per sequence under `pool` (not none) — the compute step of embed_input
// and of the classify features: the engine's device mean for PoolMode::mean when the engine
// pools on the device (only the pooled rows leave the GPU; equal to the host mean within
// rounding), else embed_batch's rows pooled on the host (pool_rows).
[[nodiscard]] std::vector<Matrix> embed_batch_pooled(Engine& engine, const Model& model,
                                                     const std::vector<std::string_view>& seqs, PoolMode pool,
                                                     RcMode rc, bool add_sep, std::size_t* unknown = nullptr);

// One sequence: embed_batch({seq})[0].
[[nodiscard]] Matrix embed_sequence(Engine& engine, const Model& model, std::string_view seq, RcMode rc,
                                    bool add_sep, std::size_t* unknown = nullptr);

// Pools rows of `per_position` into one vector (mean, max, first or last row).
[[nodiscard]] Vector pool_rows(const Matrix& per_position, PoolMode mode);

struct EmbedOptions {
    PoolMode pool = PoolMode::mean;
    RcMode rc = RcMode::none;
    bool add_sep = false;
    std::size_t batch_tokens = 65536;  // pack items into forward passes of up to this many tokens
    std::size_t queue_depth = 2;       // batches in flight between pipeline stages
    bool progress = true;              // progress on stderr (a live line on a terminal)
    // What made the output (embed_provenance's text), stored in it; "" stores none.
    std::string provenance;
};

// What made an output, as one line of JSON: {"dnamba": version, "model": model_fingerprint
// (model.hpp; "" when no model made it), "pool", "rc", "add_sep", "precision", "window",
// "stride", "tail"}, then the members of `extra_json` (a JSON object's text, e.g. the head that
// classify applied). Outputs that differ in it are not shards of one job (`dnamba merge`
// refuses to join them).
[[nodiscard]] std::string embed_provenance(const std::string& model_fingerprint, const EmbedOptions& options,
                                           const WindowSpec& windows, Precision precision,
                                           const std::string& extra_json = "");

struct EmbedSummary {
    std::size_t records = 0;  // rows written
    std::size_t bases = 0;
    std::size_t unknown = 0;  // characters tokenized as [UNK]
    std::size_t batches = 0;
    int channels = 0;
    double seconds = 0.0;
    std::string output;
    std::string input;        // what was read, e.g. "reads.bam (BAM)"
};

// Embeds every item of the input (records, regions or windows; see input.hpp) into `output`,
// whose extension picks the format (.npz per-position; .tsv / .npy pooled), through a
// three-stage pipeline: a reader thread packs items into batches of up to batch_tokens, one
// compute thread per engine runs it on whichever batch is next (several engines: one per GPU),
// the calling thread writes rows in input order, the same rows as with one engine. Memory stays
// bounded by queue_depth batches (and queue_depth + engines results). The output appears only
// when complete. Throws
// Error(usage) when the extension does not fit --pool, Error(input) on bad input (or when it
// yields nothing), Error(io) when writing fails; with several engines a device error (Error(device))
// names the engine's device ("cuda:1: ...").
[[nodiscard]] EmbedSummary embed_input(const Engines& engines, const Model& model, const InputOptions& input,
                                       const std::string& output, const EmbedOptions& options);

// One batch of an EmbeddingStream: rows in input order, values[i] the embedding of rows[i]
// ([L x C] per position with PoolMode::none, else [1 x C]).
struct EmbeddingBatch {
    std::vector<RowInfo> rows;
    std::vector<Matrix> values;
    std::size_t bases = 0;
    std::size_t unknown = 0;  // characters tokenized as [UNK]
};

// embed_input's pipeline with the rows handed to the caller instead of a writer: the reader
// and compute threads run ahead of next() by at most options.queue_depth batches (of up to
// options.batch_tokens tokens), so memory stays bounded whatever the input's size; the values
// are embed_input's, bit for bit. The engines (copied: owned ones are shared) and `model` must
// outlive the stream; nothing else may use them until the stream is destroyed. Not thread-safe: call
// next() from one thread.
class EmbeddingStream {
public:
    // Starts the pipeline over `source` (non-null, owned from here on).
    EmbeddingStream(const Engines& engines, const Model& model, std::unique_ptr<InputSource> source,
                    const EmbedOptions& options);
    // Stops the pipeline (the batch being computed is finished and dropped) and joins its threads.
    ~EmbeddingStream();
    EmbeddingStream(const EmbeddingStream&) = delete;
    EmbeddingStream& operator=(const EmbeddingStream&) = delete;

    // The next batch in input order (its previous contents replaced); false after the last.
    // Throws the first error of any step once the batches before it have been returned (what
    // the input and the engine throw), and Error(input) when the input gave no row at all.
    [[nodiscard]] bool next(EmbeddingBatch& batch);
    [[nodiscard]] const std::string& input() const noexcept;  // what is read, e.g. "reads.bam (BAM)"
    [[nodiscard]] int channels() const noexcept;               // columns of every value

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace dnamba
