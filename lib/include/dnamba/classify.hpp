// dnamba/classify.hpp — classification heads over any input: the features a head sees (pooled
// model embeddings, k-mer frequencies, or both), training a head on labelled BED regions, and
// applying one (a table of class probabilities, or a bedGraph/bigWig track of one class).
//
// What `dnamba train-head`, `dnamba classify` and `dnamba track` run; the heads themselves
// (fit, metrics, head files) are in head.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dnamba/embed.hpp"
#include "dnamba/head.hpp"
#include "dnamba/input.hpp"

namespace dnamba {

// ---- features --------------------------------------------------------------------------

struct FeatureSpec {
    bool embedding = true;
    int kmer = 0;  // 0: none
    // "embedding" | "kmer:K" | "embedding+kmer:K" (K in 1..8); Error(usage) otherwise.
    [[nodiscard]] static FeatureSpec parse(const std::string& text);
    [[nodiscard]] std::string str() const;  // the text parse() reads back
};

struct FeatureBatch {
    std::vector<RowInfo> rows;
    Matrix X;  // [rows x features]: pooled embedding columns first, then 4^K k-mer columns
};

// Streams the input through the one pipeline (a reader thread packs batches of up to
// embed.batch_tokens tokens, the model runs on a compute thread) and calls `sink` on the calling
// thread with each batch's features, in input order; the sink may move from the batch.
// `engine`/`model` (not owned) are needed, non-null, when spec.embedding: Error(usage)
// otherwise. Pooling, rc mode and [SEP] come from `embed`. Throws what open_input and the
// engine throw; warns once about characters embedded as [UNK].
void extract_features(const InputOptions& input, const FeatureSpec& spec, const Engines* engines, const Model* model,
                      const EmbedOptions& embed, const std::function<void(FeatureBatch&)>& sink);

// ---- training a head on labelled regions -----------------------------------------------

struct HeadTrainingOptions {
    FeatureSpec features;
    EmbedOptions embed;          // pool (not none), rc, [SEP], batch_tokens
    std::string model_dir;       // embedding features: the model (its fingerprint goes in the head)
    DeviceSpec device;
    EngineOptions engine;
    int label_column = 4;        // 1-based BED column of the class label
    int group_column = 0;        // 1-based BED column of a group kept within one fold; 0: none
    std::string embeddings;      // a `dnamba embed` table of the same regions, used instead of the model
    std::string test_regions;    // held-out labelled BED evaluated with the final head, or ""
    HeadTrainOptions train;      // folds, inner folds, L2 grid, balance, seed
};

// One training run: the labelled regions of input.bed_files (input.path the FASTA they are
// fetched from), their features, the fitted head and its head file.
class HeadTraining {
public:
    // Checks the options (Error(usage): no --regions, --region/--window given, --pool none,
    // embedding features without a model, ...), reads the labelled regions (Error(input) naming
    // the BED line), loads the model and makes the engine when the features need them (what
    // load_model/make_engine throw), and computes the training features (or joins the
    // embeddings table: Error(input) naming the first row that differs from the BED).
    HeadTraining(const InputOptions& input, const HeadTrainingOptions& options);
    ~HeadTraining();
    HeadTraining(const HeadTraining&) = delete;
    HeadTraining& operator=(const HeadTraining&) = delete;

    [[nodiscard]] std::size_t regions() const noexcept;  // training rows
    [[nodiscard]] const std::vector<std::string>& classes() const noexcept;  // sorted
    [[nodiscard]] std::vector<std::size_t> class_counts() const;  // training rows per class
    [[nodiscard]] const Matrix& features() const noexcept;  // [regions x feature columns]

    // Cross-validates and fits the final head (train_head of head.hpp).
    [[nodiscard]] TrainedHead fit() const;
    // `head` on options.test_regions (features computed like the training ones, from the model
    // even when the training embeddings came from a table): Error(input) for a label the
    // training set did not have, Error(usage) when no test regions were given.
    struct HeldOut {
        Metrics metrics;
        std::size_t regions = 0;
    };
    [[nodiscard]] HeldOut held_out(const TrainedHead& head) const;
    // The head file of `head`: feature settings, model fingerprint, and in its metadata the CV
    // (and, when given, held-out) metrics and where the training data came from.
    [[nodiscard]] HeadFile head_file(const TrainedHead& head, const std::optional<HeldOut>& held_out) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---- applying a head -------------------------------------------------------------------

struct ClassifyOptions {
    std::string model_dir;       // embedding heads: the model the head was trained with
    std::string class_name;      // tracks: the class drawn ("": the second class of a binary head)
    std::size_t batch_tokens = 65536;
    DeviceSpec device;
    EngineOptions engine;
};

// Runs the head file `head_path` over every row of `input` and writes `output`: by its
// extension a .tsv calls table ("name chrom start end strand p_<class>... predicted", rows in
// input order) or a bedGraph (.bedgraph/.bg) / bigWig (.bw/.bigwig) track of one class's
// probability (overlapping windows averaged per base step; chromosome sizes from the FASTA
// index of input.path). Pooling, rc and [SEP] come from the head. The output appears only when
// complete. Returns the number of rows classified. Throws Error(usage) for an unknown extension,
// an unknown --class or an embedding head without model_dir; Error(input) for a corrupt head
// file or an input with no rows; Error(model) when model_dir's fingerprint or feature count is
// not the head's; Error(io) when writing fails; what the engine throws.
[[nodiscard]] std::size_t classify_input(const InputOptions& input, const std::string& head_path,
                                         const std::string& output, const ClassifyOptions& options);

// The class a probability track draws: `name` among `classes`, or with an empty name the
// second class of a binary head. Throws Error(usage) listing the classes otherwise.
[[nodiscard]] std::size_t track_class_index(const std::vector<std::string>& classes, const std::string& name);

// Renders a bedGraph/bigWig track (by the extension of `output`) of one class's probability
// from a `dnamba classify` TSV, with chromosome sizes from the FASTA index of `genome`. The
// track equals the one `dnamba classify -o track.bedgraph` writes for the same rows. Throws
// Error(input) naming the file and line for a malformed table, Error(usage) for an unknown
// class or extension, Error(io) when writing fails. Returns the number of rows drawn.
[[nodiscard]] std::uint64_t track_from_calls(const std::string& calls_path, const std::string& genome,
                                             const std::string& class_name, const std::string& output);

}  // namespace dnamba
