// head/training_set.hpp (private) — the pieces of a head's training set: labelled regions,
// their classes, their feature matrix, and the join with a precomputed embedding table.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "dnamba/classify.hpp"
#include "io/embedding_table.hpp"

namespace dnamba {

// Every feature row of the input in input order (extract_features' batches stacked); Error(input)
// naming `what` unless there are exactly `expected` rows.
[[nodiscard]] Matrix feature_matrix(const InputOptions& input, const FeatureSpec& spec, const Engines* engines,
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

// The rows of `table` (read from `table_path`) as features of `set` (from BED `bed`): the same
// regions in the same order (Error(input) naming the first row that differs), with the columns
// of `more` (other features of the same rows, or none) after them.
[[nodiscard]] Matrix join_embedding_table(const EmbeddingTable& table, const std::string& table_path,
                                          const LabelledRegions& set, const std::string& bed, const Matrix& more);

}  // namespace dnamba
