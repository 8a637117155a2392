// dnamba/head.hpp — classification heads on pooled features: multinomial logistic regression
// (LBFGS++ on Eigen), standardisation, cross-validation with honest metrics, k-mer baseline
// features, and the head file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnamba/model.hpp"

namespace dnamba {

// Per-feature standardisation fitted on training rows (scale 1 for constant features).
struct Standardizer {
    Vector mean, scale;
    void fit(const Matrix& X);
    [[nodiscard]] Matrix apply(const Matrix& X) const;
};

struct LogisticOptions {
    double l2 = 1e-2;        // penalty on weights (not biases): 0.5 * l2 * ||W||^2, loss averaged over rows
    bool balance = false;    // class weights n / (classes * n_c)
    int max_iterations = 500;
};

// Softmax regression: p(c | x) = softmax(W x + b)_c. W [classes x features], b [classes].
struct LogisticModel {
    Matrix W;
    Vector b;
};

// Fits on rows of X with labels y in [0, classes). Throws Error(input) when a class is empty
// or X has no rows.
[[nodiscard]] LogisticModel fit_logistic(const Matrix& X, const std::vector<int>& y, int classes,
                                         const LogisticOptions& options);
[[nodiscard]] Matrix predict_proba(const LogisticModel& model, const Matrix& X);  // [rows x classes]

struct Metrics {
    double accuracy = 0, macro_f1 = 0, mcc = 0;
    std::optional<double> auroc, auprc;  // two classes only (class 1 is positive)
};
[[nodiscard]] Metrics compute_metrics(const std::vector<int>& y, const Matrix& proba, int classes);
// One report line: `label` in 10 columns, then accuracy, macro-F1, MCC (and AUROC, AUPRC when
// present) to 4 decimals, each "± sd" when `sd` is given. No line break.
[[nodiscard]] std::string metrics_line(const std::string& label, const Metrics& m, const Metrics* sd = nullptr);

// Fold of each row in [0, k): stratified by class, deterministic in `seed`. With `groups`
// (non-empty), whole groups go to one fold (balanced by size), so that e.g. chromosomes or
// overlapping windows never straddle train and test. Throws Error(usage) when k < 2 or there
// are fewer groups/rows than folds.
[[nodiscard]] std::vector<int> assign_folds(const std::vector<int>& y, const std::vector<std::string>& groups, int k,
                                            std::uint64_t seed);

struct HeadTrainOptions {
    int folds = 5;                    // outer CV, for reporting
    int inner_folds = 3;              // L2 selection inside each training split
    std::vector<double> l2_grid = {1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0};
    bool balance = false;
    std::uint64_t seed = 1;
};

// The checks train_head makes before fitting, on labels alone, so that a caller can run them
// before computing any features: folds and inner folds >= 2, a valid L2 grid, at least two
// examples per class, enough rows or groups for the folds, and no fold that holds every
// example of a class. Returns the outer fold of each row (assign_folds). Throws Error(usage)
// or Error(input) as train_head does; `warn`: log a warning for classes smaller than k.
[[nodiscard]] std::vector<int> check_head_training(const std::vector<int>& y, const std::vector<std::string>& classes,
                                                   const std::vector<std::string>& groups,
                                                   const HeadTrainOptions& options, bool warn);

struct CvReport {
    std::vector<Metrics> folds;
    Metrics mean, sd;                 // mean and standard deviation over folds
    std::vector<double> chosen_l2;    // per outer fold
};

struct TrainedHead {
    std::vector<std::string> classes;
    Standardizer standardizer;
    LogisticModel model;              // fitted on all rows with the L2 chosen by CV on all rows
    double l2 = 0;
    CvReport cv;
};

// Outer stratified (or grouped) k-fold CV for the report; inside each training split, L2
// chosen from the grid by inner CV (log-loss); then the final head on all rows. Standardisation
// is fitted inside each split (no leakage).
[[nodiscard]] TrainedHead train_head(const Matrix& X, const std::vector<int>& y, const std::vector<std::string>& classes,
                                     const std::vector<std::string>& groups, const HeadTrainOptions& options);

// Class probabilities for raw (unstandardised) features.
[[nodiscard]] Matrix head_predict(const TrainedHead& head, const Matrix& X);

// Normalised k-mer counts (frequencies over the sequence's valid k-mers; k-mers containing a
// non-ACGT base are skipped; case-insensitive), 4^k columns in lexicographic order
// (A < C < G < T). k in [1, 8], else Error(usage).
[[nodiscard]] Matrix kmer_features(const std::vector<std::string_view>& seqs, int k);

// The head file: a safetensors file with tensors "W", "b", "mean", "scale" and
// __metadata__ "dnamba_head" = JSON text: {"version":1, "classes":[..], "features":"embedding"|
// "kmer:K"|"embedding+kmer:K", "pool":.., "rc":.., "add_sep":.., "model_fingerprint":"..",
// "l2":.., "cv":{..metrics..}, anything else the caller puts in `extra`}.
struct HeadFile {
    TrainedHead head;
    std::string features;
    std::string pool;
    std::string rc;
    bool add_sep = false;
    std::string model_fingerprint;    // "" for k-mer-only heads
    std::string extra_json = "{}";    // free-form object merged into the metadata
};
void save_head(const std::string& path, const HeadFile& head);   // atomic; Error(io)
[[nodiscard]] HeadFile load_head(const std::string& path);        // Error(input) naming the file and what is wrong

}  // namespace dnamba
