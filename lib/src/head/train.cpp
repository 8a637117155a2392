// Classification heads: standardisation, multinomial logistic regression fitted with L-BFGS,
// fold assignment, and nested cross-validation (see head.hpp).
//
// Everything numerical is done in double: features arrive as float, but the optimiser's
// convergence test compares gradient norms down to ~1e-6 of the weights, and the row sums
// of a float product are not that accurate. The model is stored as float afterwards, like
// every other tensor the library writes. All of it is deterministic: fold assignment uses
// our own Fisher-Yates on std::mt19937_64 (whose output the standard fixes, unlike
// std::shuffle and std::uniform_int_distribution), and parallel loops only ever run
// independent fits whose results land in fixed slots, so the thread count changes nothing.
#include <LBFGS.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "dnamba/error.hpp"
#include "dnamba/head.hpp"
#include "dnamba/log.hpp"

namespace dnamba {
namespace {

using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using VectorD = Eigen::VectorXd;

// ---- standardisation --------------------------------------------------------------------

// Column mean and population standard deviation (ddof 0, like sklearn's StandardScaler),
// two-pass in double. A (numerically) constant column gets scale 1 so that it maps to 0
// instead of dividing by ~0.
Standardizer fit_standardizer(const MatrixD& X) {
    if (X.rows() == 0) fail(ErrorKind::input, "cannot fit feature standardisation on zero rows");
    const VectorD mean = X.colwise().mean().transpose();
    const VectorD var = (X.rowwise() - mean.transpose()).array().square().colwise().mean().transpose();
    Standardizer s;
    s.mean = mean.cast<float>();
    s.scale.resize(mean.size());
    for (Eigen::Index j = 0; j < mean.size(); ++j) {
        const double sd = std::sqrt(var[j]);
        // A constant float column can leave sd ~1e-16 |mean| from rounding of the mean.
        const bool constant = !(sd > 1e-10 * std::abs(mean[j])) || !std::isfinite(sd);
        s.scale[j] = constant ? 1.0f : static_cast<float>(sd);
        if (!(s.scale[j] > 0)) s.scale[j] = 1.0f;  // sd below float's range
    }
    return s;
}

// Standardised rows in double, using the float parameters exactly as head_predict will.
MatrixD standardize(const Standardizer& s, const MatrixD& X) {
    const VectorD mean = s.mean.cast<double>(), scale = s.scale.cast<double>();
    return ((X.rowwise() - mean.transpose()).array().rowwise() / scale.transpose().array()).matrix();
}

MatrixD gather_rows(const MatrixD& X, const std::vector<int>& rows) {
    MatrixD out(static_cast<Eigen::Index>(rows.size()), X.cols());
    for (std::size_t i = 0; i < rows.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = X.row(rows[i]);
    return out;
}

Matrix gather_rows(const Matrix& X, const std::vector<int>& rows) {
    Matrix out(static_cast<Eigen::Index>(rows.size()), X.cols());
    for (std::size_t i = 0; i < rows.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = X.row(rows[i]);
    return out;
}

template <typename T>
std::vector<T> gather(const std::vector<T>& v, const std::vector<int>& rows) {
    std::vector<T> out;
    out.reserve(rows.size());
    for (int r : rows) out.push_back(v[static_cast<std::size_t>(r)]);
    return out;
}

// ---- softmax regression -----------------------------------------------------------------

// Row weights normalised to sum 1: uniform, or n / (C * n_c) per class ("balanced", the
// sklearn convention), whose raw sum is n, so the loss stays a weighted mean either way.
VectorD row_weights(const std::vector<int>& y, int classes, bool balance) {
    std::vector<double> count(static_cast<std::size_t>(classes), 0.0);
    for (int c : y) count[static_cast<std::size_t>(c)] += 1;
    const double n = static_cast<double>(y.size());
    VectorD w(static_cast<Eigen::Index>(y.size()));
    for (std::size_t i = 0; i < y.size(); ++i)
        w[static_cast<Eigen::Index>(i)] = balance ? n / (classes * count[static_cast<std::size_t>(y[i])]) : 1.0;
    return w / w.sum();
}

// Objective for LBFGS++: weighted mean cross-entropy + 0.5 * l2 * ||W||^2 over the packed
// parameters theta = [W row-major (C x F), b (C)], with the analytic gradient
//   dW = G^T X + l2 W,  db = G^T 1,  G_ic = w_i (p_ic - [y_i = c]).
// Log-probabilities use the max-shifted log-sum-exp, so no exp() ever overflows. The
// optimiser may throw from its line search after wandering to worse trial points, so the
// best point evaluated so far is remembered here and is what the fit returns.
class SoftmaxObjective {
public:
    SoftmaxObjective(const MatrixD& X, const std::vector<int>& y, const VectorD& w, int classes, double l2)
        : X_(X), y_(y), w_(w), C_(classes), l2_(l2), Z_(X.rows(), classes) {}

    double operator()(const VectorD& theta, VectorD& grad) {
        const Eigen::Index F = X_.cols();
        const Eigen::Map<const MatrixD> W(theta.data(), C_, F);
        Z_.noalias() = X_ * W.transpose();
        Z_.rowwise() += theta.tail(C_).transpose();
        double loss = 0;
        for (Eigen::Index i = 0; i < Z_.rows(); ++i) {
            auto z = Z_.row(i);
            const double m = z.maxCoeff();
            const double lse = m + std::log((z.array() - m).exp().sum());
            const int yi = y_[static_cast<std::size_t>(i)];
            loss += w_[i] * (lse - z[yi]);
            z = (z.array() - lse).exp() * w_[i];  // G row: w_i * p_i ...
            z[yi] -= w_[i];                       // ... minus w_i at the true class
        }
        grad.resize(theta.size());
        Eigen::Map<MatrixD> gW(grad.data(), C_, F);
        gW.noalias() = Z_.transpose() * X_;
        gW += l2_ * W;
        grad.tail(C_) = Z_.colwise().sum().transpose();
        const double f = loss + 0.5 * l2_ * W.squaredNorm();
        ++evaluations_;
        if (evaluations_ == 1) first_f_ = f;
        if (std::isfinite(f) && (best_x_.size() == 0 || f < best_f_)) {
            best_f_ = f;
            best_x_ = theta;
            best_gnorm_ = grad.norm();
        }
        return f;
    }

    [[nodiscard]] const VectorD& best_x() const { return best_x_; }
    [[nodiscard]] double best_f() const { return best_f_; }
    [[nodiscard]] double first_f() const { return first_f_; }
    [[nodiscard]] double best_gnorm() const { return best_gnorm_; }
    [[nodiscard]] long evaluations() const { return evaluations_; }

private:
    const MatrixD& X_;
    const std::vector<int>& y_;
    const VectorD& w_;
    int C_;
    double l2_;
    MatrixD Z_;  // logits, then overwritten with G
    VectorD best_x_;
    double best_f_ = std::numeric_limits<double>::infinity();
    double first_f_ = std::numeric_limits<double>::infinity();
    double best_gnorm_ = 0;
    long evaluations_ = 0;
};

void check_labels(const std::vector<int>& y, Eigen::Index rows, int classes, const char* what) {
    if (static_cast<Eigen::Index>(y.size()) != rows)
        fail(ErrorKind::usage, std::string(what) + ": " + std::to_string(y.size()) + " labels for " +
                                   std::to_string(rows) + " feature rows");
    if (classes < 2) fail(ErrorKind::input, std::string(what) + ": needs at least two classes, got " + std::to_string(classes));
    for (std::size_t i = 0; i < y.size(); ++i) {
        if (y[i] < 0 || y[i] >= classes)
            fail(ErrorKind::input, std::string(what) + ": label " + std::to_string(y[i]) + " of row " +
                                       std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")");
    }
}

// Fits on already standardised double rows; `start` (same packing as theta) warm-starts the
// optimiser, which makes a descending L2 path far cheaper than cold starts.
VectorD fit_softmax(const MatrixD& X, const std::vector<int>& y, int classes, double l2, bool balance,
                    int max_iterations, const VectorD& start) {
    if (X.rows() == 0) fail(ErrorKind::input, "logistic regression: no training rows");
    std::vector<int> count(static_cast<std::size_t>(classes), 0);
    for (int c : y) ++count[static_cast<std::size_t>(c)];
    for (int c = 0; c < classes; ++c) {
        if (count[static_cast<std::size_t>(c)] == 0)
            fail(ErrorKind::input, "logistic regression: class " + std::to_string(c) + " has no training rows");
    }
    if (!(l2 >= 0) || !std::isfinite(l2)) fail(ErrorKind::usage, "logistic regression: L2 penalty must be finite and >= 0");
    if (max_iterations < 1) fail(ErrorKind::usage, "logistic regression: max_iterations must be >= 1");
    if (!X.allFinite()) fail(ErrorKind::input, "logistic regression: the features contain NaN or infinite values");

    const Eigen::Index F = X.cols();
    const VectorD w = row_weights(y, classes, balance);
    VectorD theta;
    if (start.size() == classes * (F + 1)) {
        theta = start;
    } else {
        // W = 0 and b = centred log class frequencies: the best constant model, so the first
        // step already starts from the right intercepts.
        theta = VectorD::Zero(classes * (F + 1));
        VectorD logfreq(classes);
        for (int c = 0; c < classes; ++c) logfreq[c] = 0;
        for (std::size_t i = 0; i < y.size(); ++i) logfreq[y[i]] += w[static_cast<Eigen::Index>(i)];
        logfreq = logfreq.array().log();
        theta.tail(classes) = logfreq.array() - logfreq.mean();
    }

    LBFGSpp::LBFGSParam<double> param;
    param.m = 10;
    param.epsilon = 1e-10;     // absolute floor, for an optimum at W = 0 (huge L2)
    param.epsilon_rel = 1e-6;  // ||g|| <= 1e-6 ||theta||
    param.past = 5;            // also stop when 5 iterations improved f by < 1e-12 (relative):
    param.delta = 1e-12;       // separable data with tiny L2 otherwise creeps on for ever
    param.max_iterations = max_iterations;
    param.max_linesearch = 40;
    param.linesearch = LBFGSpp::LBFGS_LINESEARCH_BACKTRACKING_WOLFE;  // Wolfe keeps s'y > 0
    LBFGSpp::LBFGSSolver<double, LBFGSpp::LineSearchBracketing> solver(param);
    SoftmaxObjective objective(X, y, w, classes, l2);
    double fx = 0;
    try {
        solver.minimize(objective, theta, fx);
    } catch (const std::exception& e) {
        // Near the optimum the line search can fail to find a decrease that rounding can
        // resolve ("reached the maximum number of iterations", "step became smaller than the
        // minimum"): the best point seen is then as good as it gets. Only a failure before
        // any progress is an error.
        if (!(objective.best_f() < objective.first_f()) && objective.best_gnorm() > 1e-8)
            fail(ErrorKind::input, std::string("logistic regression: the optimiser failed before making progress (") +
                                       e.what() + ")");
    }
    if (objective.best_x().size() == 0) fail(ErrorKind::input, "logistic regression: the loss is not finite");
    return objective.best_x();
}

LogisticModel unpack(const VectorD& theta, int classes, Eigen::Index features) {
    LogisticModel m;
    m.W = Eigen::Map<const MatrixD>(theta.data(), classes, features).cast<float>();
    m.b = theta.tail(classes).cast<float>();
    return m;
}

// Sum over rows of w_i * -log p(y_i | x_i), stable log-softmax in double.
double log_loss_sum(const MatrixD& X, const std::vector<int>& y, const std::vector<double>& w, const VectorD& theta,
                    int classes) {
    const Eigen::Map<const MatrixD> W(theta.data(), classes, X.cols());
    MatrixD Z = X * W.transpose();
    Z.rowwise() += theta.tail(classes).transpose();
    double sum = 0;
    for (Eigen::Index i = 0; i < Z.rows(); ++i) {
        const double m = Z.row(i).maxCoeff();
        const double lse = m + std::log((Z.row(i).array() - m).exp().sum());
        sum += w[static_cast<std::size_t>(i)] * (lse - Z(i, y[static_cast<std::size_t>(i)]));
    }
    return sum;
}

// ---- folds ------------------------------------------------------------------------------

// Uniform integer in [0, n) by rejection (no modulo bias), from the generator's fixed output.
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
        const std::uint64_t r = rng();
        if (r >= threshold) return r % n;
    }
}

template <typename T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[uniform_below(rng, i)]);
}

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

std::vector<int> make_folds(const std::vector<int>& y, const std::vector<std::string>& groups, int k, std::uint64_t seed,
                            bool warn) {
    if (k < 2) fail(ErrorKind::usage, "cross-validation needs at least 2 folds, got " + std::to_string(k));
    const std::size_t n = y.size();
    std::vector<int> fold(n, -1);
    std::mt19937_64 rng(seed);
    if (!groups.empty()) {
        if (groups.size() != n)
            fail(ErrorKind::usage, "grouped cross-validation: " + std::to_string(groups.size()) + " group names for " +
                                       std::to_string(n) + " rows");
        std::map<std::string, int> index;  // group name -> id in order of first appearance
        std::vector<std::vector<int>> members;
        for (std::size_t i = 0; i < n; ++i) {
            const auto [it, added] = index.emplace(groups[i], static_cast<int>(members.size()));
            if (added) members.emplace_back();
            members[static_cast<std::size_t>(it->second)].push_back(static_cast<int>(i));
        }
        if (members.size() < static_cast<std::size_t>(k))
            fail(ErrorKind::usage, "grouped " + std::to_string(k) + "-fold cross-validation needs at least " +
                                       std::to_string(k) + " distinct groups, got " + std::to_string(members.size()));
        // Largest group first, each to the currently smallest fold (ties: lowest fold index):
        // the greedy balancing of fold sizes. Groups of equal size are taken in a seeded
        // random order, so the split does not depend on the input's row order and different
        // seeds give different splits.
        std::vector<int> order(members.size());
        for (std::size_t g = 0; g < order.size(); ++g) order[g] = static_cast<int>(g);
        shuffle(order, rng);
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
            return members[static_cast<std::size_t>(a)].size() > members[static_cast<std::size_t>(b)].size();
        });
        std::vector<std::size_t> size(static_cast<std::size_t>(k), 0);
        for (int g : order) {
            const auto f = static_cast<std::size_t>(std::min_element(size.begin(), size.end()) - size.begin());
            for (int r : members[static_cast<std::size_t>(g)]) fold[static_cast<std::size_t>(r)] = static_cast<int>(f);
            size[f] += members[static_cast<std::size_t>(g)].size();
        }
        return fold;
    }
    if (n < static_cast<std::size_t>(k))
        fail(ErrorKind::usage, std::to_string(k) + "-fold cross-validation needs at least " + std::to_string(k) +
                                   " rows, got " + std::to_string(n));
    int classes = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (y[i] < 0) fail(ErrorKind::usage, "fold assignment: negative label at row " + std::to_string(i));
        classes = std::max(classes, y[i] + 1);
    }
    std::vector<std::vector<int>> members(static_cast<std::size_t>(classes));
    for (std::size_t i = 0; i < n; ++i) members[static_cast<std::size_t>(y[i])].push_back(static_cast<int>(i));
    // Each class shuffled, then dealt round-robin. The dealing position carries over from one
    // class to the next, so every fold's count of each class is within 1 of the others AND
    // the fold sizes stay within 1 of each other (restarting at fold 0 per class would pile
    // the remainders onto the first folds).
    std::string small;
    std::size_t pos = 0;
    for (std::size_t c = 0; c < members.size(); ++c) {
        auto& rows = members[c];
        if (!rows.empty() && rows.size() < static_cast<std::size_t>(k))
            small += (small.empty() ? "" : ", ") + std::string("class ") + std::to_string(c) + " (" +
                     std::to_string(rows.size()) + (rows.size() == 1 ? " row)" : " rows)");
        shuffle(rows, rng);
        for (int r : rows) fold[static_cast<std::size_t>(r)] = static_cast<int>(pos++ % static_cast<std::size_t>(k));
    }
    if (warn && !small.empty())
        log_warning(std::to_string(k) + "-fold cross-validation: fewer rows than folds for " + small +
                    ", so some folds have none of them");
    return fold;
}

// Number of units CV splits over: distinct groups, or rows.
std::size_t split_units(const std::vector<int>& y, const std::vector<std::string>& groups) {
    if (groups.empty()) return y.size();
    return std::set<std::string>(groups.begin(), groups.end()).size();
}

// ---- nested CV --------------------------------------------------------------------------

constexpr int k_fit_iterations = LogisticOptions{}.max_iterations;

bool has_all_classes(const std::vector<int>& y, int classes) {
    std::vector<char> seen(static_cast<std::size_t>(classes), 0);
    for (int c : y) seen[static_cast<std::size_t>(c)] = 1;
    return std::all_of(seen.begin(), seen.end(), [](char s) { return s != 0; });
}

// The grid value with the lowest mean log-loss on the inner validation rows of `rows`
// (indices into X/y/groups). Each inner fold walks the grid from the largest L2 down,
// warm-starting each fit from the previous one. Ties go to the larger L2 (the simpler
// model). With balance, validation rows carry the same class weights as training.
double select_l2(const MatrixD& X, const std::vector<int>& y, const std::vector<std::string>& groups,
                 const std::vector<int>& rows, int classes, const HeadTrainOptions& options, std::uint64_t seed) {
    std::vector<double> grid = options.l2_grid;
    std::sort(grid.begin(), grid.end(), std::greater<>());
    grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
    if (grid.size() == 1) return grid[0];

    const std::vector<int> sub_y = gather(y, rows);
    const std::vector<std::string> sub_groups = groups.empty() ? std::vector<std::string>{} : gather(groups, rows);
    const std::size_t units = split_units(sub_y, sub_groups);
    const int k = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(options.inner_folds), units));
    if (k < 2)
        fail(ErrorKind::input, "cannot choose the L2 penalty: a training split has only " + std::to_string(units) +
                                   (groups.empty() ? " rows" : " groups") + " for inner cross-validation");
    const std::vector<int> inner = make_folds(sub_y, sub_groups, k, seed, false);

    std::vector<double> class_weight(static_cast<std::size_t>(classes), 1.0);
    if (options.balance) {
        std::vector<double> count(static_cast<std::size_t>(classes), 0);
        for (int c : sub_y) count[static_cast<std::size_t>(c)] += 1;
        for (std::size_t c = 0; c < count.size(); ++c)
            class_weight[c] = count[c] > 0 ? static_cast<double>(sub_y.size()) / (classes * count[c]) : 0.0;
    }

    std::vector<double> loss(grid.size(), 0.0);
    bool any = false;
    for (int f = 0; f < k; ++f) {
        std::vector<int> tr, va;
        for (std::size_t i = 0; i < rows.size(); ++i) (inner[i] == f ? va : tr).push_back(rows[i]);
        const std::vector<int> ytr = gather(y, tr), yva = gather(y, va);
        // An inner training split missing a class (possible with grouped CV or a class of a
        // handful of rows) cannot fit every class: that inner fold sits out.
        if (va.empty() || !has_all_classes(ytr, classes)) continue;
        any = true;
        const MatrixD Xtr_raw = gather_rows(X, tr);
        const Standardizer s = fit_standardizer(Xtr_raw);
        const MatrixD Xtr = standardize(s, Xtr_raw);
        const MatrixD Xva = standardize(s, gather_rows(X, va));
        std::vector<double> wva(yva.size());
        for (std::size_t i = 0; i < yva.size(); ++i) wva[i] = class_weight[static_cast<std::size_t>(yva[i])];
        VectorD theta;
        for (std::size_t g = 0; g < grid.size(); ++g) {
            theta = fit_softmax(Xtr, ytr, classes, grid[g], options.balance, k_fit_iterations, theta);
            loss[g] += log_loss_sum(Xva, yva, wva, theta, classes);
        }
    }
    if (!any) {
        log_warning("inner cross-validation could not fit every class in any fold; using the largest L2 in the grid");
        return grid.front();
    }
    std::size_t best = 0;
    for (std::size_t g = 1; g < grid.size(); ++g)
        if (loss[g] < loss[best]) best = g;
    return grid[best];
}

// Mean and sample standard deviation (n - 1) over folds; an AUC field averages the folds
// that have it (a test fold holding one class has none).
void summarise(const std::vector<Metrics>& folds, Metrics& mean, Metrics& sd) {
    auto stats = [](const std::vector<double>& v, double& m, double& s) {
        m = s = 0;
        if (v.empty()) return;
        for (double x : v) m += x;
        m /= static_cast<double>(v.size());
        if (v.size() < 2) return;
        for (double x : v) s += (x - m) * (x - m);
        s = std::sqrt(s / static_cast<double>(v.size() - 1));
    };
    std::vector<double> acc, f1, mcc, auroc, auprc;
    for (const auto& m : folds) {
        acc.push_back(m.accuracy);
        f1.push_back(m.macro_f1);
        mcc.push_back(m.mcc);
        if (m.auroc) auroc.push_back(*m.auroc);
        if (m.auprc) auprc.push_back(*m.auprc);
    }
    mean = sd = Metrics{};
    stats(acc, mean.accuracy, sd.accuracy);
    stats(f1, mean.macro_f1, sd.macro_f1);
    stats(mcc, mean.mcc, sd.mcc);
    double m = 0, s = 0;
    if (!auroc.empty()) {
        stats(auroc, m, s);
        mean.auroc = m;
        sd.auroc = s;
    }
    if (!auprc.empty()) {
        stats(auprc, m, s);
        mean.auprc = m;
        sd.auprc = s;
    }
}

}  // namespace

// ---- public API -------------------------------------------------------------------------

void Standardizer::fit(const Matrix& X) { *this = fit_standardizer(X.cast<double>()); }

Matrix Standardizer::apply(const Matrix& X) const {
    if (X.cols() != mean.size() || scale.size() != mean.size())
        fail(ErrorKind::input, "standardisation: rows have " + std::to_string(X.cols()) + " features, expected " +
                                   std::to_string(mean.size()));
    return ((X.rowwise() - mean.transpose()).array().rowwise() / scale.transpose().array()).matrix();
}

LogisticModel fit_logistic(const Matrix& X, const std::vector<int>& y, int classes, const LogisticOptions& options) {
    check_labels(y, X.rows(), classes, "logistic regression");
    const MatrixD Xd = X.cast<double>();
    const VectorD theta = fit_softmax(Xd, y, classes, options.l2, options.balance, options.max_iterations, VectorD());
    return unpack(theta, classes, X.cols());
}

Matrix predict_proba(const LogisticModel& model, const Matrix& X) {
    if (model.b.size() != model.W.rows())
        fail(ErrorKind::input, "logistic model: W has " + std::to_string(model.W.rows()) + " classes but b has " +
                                   std::to_string(model.b.size()));
    if (X.cols() != model.W.cols())
        fail(ErrorKind::input, "logistic model: rows have " + std::to_string(X.cols()) + " features, the model expects " +
                                   std::to_string(model.W.cols()));
    // Row by row in double: a matrix product over the whole batch would pick different
    // kernels (and roundings) for different batch sizes, and a row's probabilities must not
    // depend on what else is in its batch (sharded runs equal single runs byte for byte).
    // The softmax takes the max shift, so probabilities are finite and sum to 1.
    const MatrixD W = model.W.cast<double>();
    const VectorD b = model.b.cast<double>();
    Matrix P(X.rows(), W.rows());
    for (Eigen::Index i = 0; i < X.rows(); ++i) {
        const VectorD z = W * X.row(i).transpose().cast<double>() + b;
        const Eigen::ArrayXd e = (z.array() - z.maxCoeff()).exp();
        P.row(i) = (e / e.sum()).cast<float>().transpose();
    }
    return P;
}

std::vector<int> assign_folds(const std::vector<int>& y, const std::vector<std::string>& groups, int k,
                              std::uint64_t seed) {
    return make_folds(y, groups, k, seed, true);
}

std::vector<int> check_head_training(const std::vector<int>& y, const std::vector<std::string>& classes,
                                     const std::vector<std::string>& groups, const HeadTrainOptions& options, bool warn) {
    const int C = static_cast<int>(classes.size());
    if (options.folds < 2 || options.inner_folds < 2)
        fail(ErrorKind::usage, "train-head: folds and inner folds must both be >= 2");
    if (options.l2_grid.empty()) fail(ErrorKind::usage, "train-head: the L2 grid is empty");
    for (double l2 : options.l2_grid)
        if (!(l2 >= 0) || !std::isfinite(l2)) fail(ErrorKind::usage, "train-head: L2 grid values must be finite and >= 0");
    {
        std::vector<int> count(static_cast<std::size_t>(C), 0);
        for (int c : y) ++count[static_cast<std::size_t>(c)];
        for (int c = 0; c < C; ++c) {
            if (count[static_cast<std::size_t>(c)] < 2)
                fail(ErrorKind::input, "train-head: class '" + classes[static_cast<std::size_t>(c)] + "' has " +
                                           std::to_string(count[static_cast<std::size_t>(c)]) +
                                           " example(s); cross-validation needs at least 2 per class");
        }
    }

    const int k = options.folds;
    const std::vector<int> fold = make_folds(y, groups, k, options.seed, warn);
    for (int f = 0; f < k; ++f) {
        std::vector<int> ytr;
        for (std::size_t i = 0; i < y.size(); ++i)
            if (fold[i] != f) ytr.push_back(y[i]);
        for (int c = 0; c < C; ++c) {
            if (std::find(ytr.begin(), ytr.end(), c) == ytr.end())
                fail(ErrorKind::input, "train-head: CV fold " + std::to_string(f + 1) + " holds every example of class '" +
                                           classes[static_cast<std::size_t>(c)] +
                                           "', so its training split cannot learn it (use fewer folds, or groups "
                                           "that do not confine a class)");
        }
    }

    return fold;
}

TrainedHead train_head(const Matrix& X, const std::vector<int>& y, const std::vector<std::string>& classes,
                       const std::vector<std::string>& groups, const HeadTrainOptions& options) {
    const int C = static_cast<int>(classes.size());
    check_labels(y, X.rows(), C, "train-head");
    if (!X.allFinite()) fail(ErrorKind::input, "train-head: the features contain NaN or infinite values");
    const std::vector<int> fold = check_head_training(y, classes, groups, options, true);
    const int k = options.folds;

    const MatrixD Xd = X.cast<double>();
    std::vector<int> all(y.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);

    // Tasks 0..k-1: outer folds (inner L2 selection, fit, score on the held-out fold);
    // task k: L2 selection on all rows for the final head. Independent, so run in parallel;
    // each writes only its own slots and gets its own seed.
    std::vector<Metrics> fold_metrics(static_cast<std::size_t>(k));
    std::vector<double> chosen(static_cast<std::size_t>(k) + 1, 0.0);
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(k) + 1);
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t <= k; ++t) {
        try {
            const std::uint64_t seed = splitmix64(options.seed ^ splitmix64(static_cast<std::uint64_t>(t) + 1));
            std::vector<int> tr, te;
            if (t == k) {
                tr = all;
            } else {
                for (std::size_t i = 0; i < y.size(); ++i) (fold[i] == t ? te : tr).push_back(static_cast<int>(i));
            }
            const double l2 = select_l2(Xd, y, groups, tr, C, options, seed);
            chosen[static_cast<std::size_t>(t)] = l2;
            if (t == k) continue;
            const MatrixD Xtr_raw = gather_rows(Xd, tr);
            const Standardizer s = fit_standardizer(Xtr_raw);
            const std::vector<int> ytr = gather(y, tr);
            const VectorD theta =
                fit_softmax(standardize(s, Xtr_raw), ytr, C, l2, options.balance, k_fit_iterations, VectorD());
            // Score exactly as a deployed head would: float standardisation and model.
            const Matrix P = predict_proba(unpack(theta, C, X.cols()), s.apply(gather_rows(X, te)));
            fold_metrics[static_cast<std::size_t>(t)] = compute_metrics(gather(y, te), P, C);
        } catch (...) {
            errors[static_cast<std::size_t>(t)] = std::current_exception();
        }
    }
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);

    TrainedHead head;
    head.classes = classes;
    head.l2 = chosen.back();
    head.standardizer = fit_standardizer(Xd);
    const VectorD theta =
        fit_softmax(standardize(head.standardizer, Xd), y, C, head.l2, options.balance, k_fit_iterations, VectorD());
    head.model = unpack(theta, C, X.cols());
    head.cv.folds = fold_metrics;
    head.cv.chosen_l2.assign(chosen.begin(), chosen.end() - 1);
    summarise(head.cv.folds, head.cv.mean, head.cv.sd);
    return head;
}

Matrix head_predict(const TrainedHead& head, const Matrix& X) {
    if (X.cols() != head.standardizer.mean.size())
        fail(ErrorKind::input, "head: rows have " + std::to_string(X.cols()) + " features, the head expects " +
                                   std::to_string(head.standardizer.mean.size()));
    return predict_proba(head.model, head.standardizer.apply(X));
}

}  // namespace dnamba
