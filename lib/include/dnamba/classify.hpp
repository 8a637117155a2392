// dnamba/classify.hpp — features for classification heads: the model's pooled embeddings,
// k-mer frequencies, or both, computed batch by batch over any input; precomputed embedding
// tables; and the model fingerprint that ties a head to the checkpoint it was trained on.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "dnamba/embed.hpp"
#include "dnamba/head.hpp"
#include "dnamba/input.hpp"

namespace dnamba {

struct FeatureSpec {
    bool embedding = true;
    int kmer = 0;  // 0: none
    // "embedding" | "kmer:K" | "embedding+kmer:K" (K in 1..8); Error(usage) otherwise.
    [[nodiscard]] static FeatureSpec parse(const std::string& text);
    [[nodiscard]] std::string str() const;
};

struct FeatureBatch {
    std::vector<RowInfo> rows;
    Matrix X;  // [rows x features]: pooled embedding columns first, then 4^K k-mer columns
};

// Streams the input in batches of up to embed.batch_tokens tokens and calls `sink` with each
// batch's features, in input order. `engine`/`model` are needed (non-null) when
// spec.embedding. Pooling, rc mode and [SEP] come from `embed`.
void extract_features(const InputOptions& input, const FeatureSpec& spec, Engine* engine, const Model* model,
                      const EmbedOptions& embed, const std::function<void(FeatureBatch&)>& sink);

// A 16-hex-digit FNV-1a hash of config.json and model.safetensors of a model directory.
[[nodiscard]] std::string model_fingerprint(const std::string& model_dir);

// Pooled embeddings written by `dnamba embed`: .tsv (name chrom start end strand e0..) or
// .npy (+ .names.tsv). Error(input) naming the file on anything malformed.
struct EmbeddingTable {
    std::vector<RowInfo> rows;
    Matrix X;
};
[[nodiscard]] EmbeddingTable read_embedding_table(const std::string& path);

// The class a probability track draws: `name` among `classes`, or with an empty name the
// second class of a binary head. Throws Error(usage) listing the classes otherwise.
[[nodiscard]] std::size_t track_class_index(const std::vector<std::string>& classes, const std::string& name);

// Renders a bedGraph/bigWig track (by the extension of `output`, see TrackWriter) of one
// class's probability from a `dnamba classify` TSV (name chrom start end strand p_<class>...
// predicted), with chromosome sizes from the FASTA index of `genome`. The track equals the
// one `dnamba classify -o track.bedgraph` writes for the same rows. Throws Error(input)
// naming the file and line for a malformed table, Error(usage) for an unknown class.
// Returns the number of rows drawn.
std::uint64_t track_from_calls(const std::string& calls_path, const std::string& genome, const std::string& class_name,
                               const std::string& output);

}  // namespace dnamba
