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

// Every feature row of the input in input order (extract_features' batches stacked); Error(input)
// naming `what` unless there are exactly `expected` rows.
[[nodiscard]] Matrix feature_matrix(const InputOptions& input, const FeatureSpec& spec, Engine* engine,
                                    const Model* model, const EmbedOptions& embed, std::size_t expected,
                                    const std::string& what);

// A labelled set of regions (training or held-out): BED regions in file order with the label
// of 1-based column `label_column` and, when `group_column` > 0, a group (folds never split
// a group). Error(input) naming the line for a missing column, or when there are no regions.
struct LabelledRegions {
    std::vector<Region> regions;
    std::vector<std::string> labels, groups;
};
[[nodiscard]] LabelledRegions read_labelled_regions(const std::vector<std::string>& beds, int label_column,
                                                    int group_column);

// The classes of a training set (sorted) and each label's index in them; Error(input) naming
// `origin` and the column when there is a single class.
struct ClassIndex {
    std::vector<std::string> classes;
    std::vector<int> y;
};
[[nodiscard]] ClassIndex index_classes(const std::vector<std::string>& labels, const std::string& origin,
                                       int label_column);
// The indices of held-out `labels` among `classes`; Error(input) naming `origin` for a label the
// training set did not have.
[[nodiscard]] std::vector<int> class_indices(const std::vector<std::string>& labels,
                                             const std::vector<std::string>& classes, const std::string& origin);

// A 16-hex-digit FNV-1a hash of config.json and model.safetensors of a model directory.
[[nodiscard]] std::string model_fingerprint(const std::string& model_dir);

// Pooled embeddings written by `dnamba embed`: .tsv (name chrom start end strand e0..) or
// .npy (+ .names.tsv). Error(input) naming the file on anything malformed.
struct EmbeddingTable {
    std::vector<RowInfo> rows;
    Matrix X;
};
[[nodiscard]] EmbeddingTable read_embedding_table(const std::string& path);
// The rows of `table` (read from `table_path`) as features of `set` (from BED `bed`): the same
// regions in the same order (Error(input) naming the first row that differs), with the columns
// of `more` (other features of the same rows, or none) after them.
[[nodiscard]] Matrix join_embedding_table(const EmbeddingTable& table, const std::string& table_path,
                                          const LabelledRegions& set, const std::string& bed, const Matrix& more);

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
