// dnamba/embed.hpp — embedding sequences: reverse-complement modes, pooling, and the
// read -> tokenize -> forward -> reduce -> write loop behind `dnamba embed`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "dnamba/engine.hpp"

namespace dnamba {

enum class PoolMode { none, mean, max, first, last };
enum class RcMode { none, average };

[[nodiscard]] PoolMode parse_pool(const std::string& text);  // throws Error(usage)
[[nodiscard]] RcMode parse_rc(const std::string& text);      // throws Error(usage)
[[nodiscard]] const char* pool_name(PoolMode mode) noexcept;

// Channels of an embedding under `rc`: RCPS models give 2*d_model with --rc none and
// d_model with --rc average; other models d_model either way.
[[nodiscard]] int embedding_channels(const ModelConfig& config, RcMode rc) noexcept;

// Per-position embedding [L' x C] of `seq` (L' = length, +1 with add_sep).
// rc none: the model's own output. rc average (strand-invariant, position-aligned):
//   RCPS:  out[t] = (H[t, :d] + reverse_channels(H[t, d:])) / 2
//   other: out[t] = (H(seq)[t] + H(revcomp(seq))[L-1-t]) / 2  ([SEP], if added, stays last)
// so that embed(revcomp(seq)) equals embed(seq) flipped along the sequence.
// `unknown` (if given) counts characters that became [UNK].
[[nodiscard]] Matrix embed_sequence(Engine& engine, const Model& model, std::string_view seq, RcMode rc,
                                    bool add_sep, std::size_t* unknown = nullptr);

// Pools rows of `per_position` into one vector (mean, max, first or last row).
[[nodiscard]] Vector pool_rows(const Matrix& per_position, PoolMode mode);

struct EmbedOptions {
    PoolMode pool = PoolMode::mean;
    RcMode rc = RcMode::none;
    bool add_sep = false;
};

struct EmbedSummary {
    std::size_t records = 0;
    std::size_t bases = 0;
    std::size_t unknown = 0;  // characters tokenized as [UNK]
    int channels = 0;
    double seconds = 0.0;
    std::string output;
};

// Embeds every record of a FASTA file (plain or gzip; "-" = stdin) into `output`, whose
// extension picks the format (.npz per-position; .tsv / .npy pooled). The output appears
// only when complete. Throws Error(usage) when the extension does not fit --pool,
// Error(input) on bad input (no records, unreadable), Error(io) when writing fails.
[[nodiscard]] EmbedSummary embed_fasta(Engine& engine, const Model& model, const std::string& input,
                                       const std::string& output, const EmbedOptions& options);

}  // namespace dnamba
