// Classification metrics for heads (see head.hpp): accuracy, macro-F1, multiclass MCC, and
// for two classes AUROC and average precision.
//
// Definitions follow scikit-learn so numbers can be checked against it:
//  - the predicted class is the arg-max probability (ties: the lower class index);
//  - macro-F1 averages F1 = 2TP / (2TP + FP + FN) over the classes that occur in the truth or
//    the predictions (a class present but never predicted scores 0; a class absent from
//    both has no defined F1 and is left out rather than counted as 0 or 1);
//  - MCC is Gorodkin's R_K on the confusion matrix, 0 when undefined (one class only);
//  - AUROC is the Mann-Whitney rank statistic with tied scores given their average rank;
//  - AUPRC is average precision, sum over thresholds of (R_t - R_{t-1}) * P_t, each
//    distinct score one threshold (no interpolation, like sklearn.average_precision_score).
// AUROC/AUPRC are absent when the truth holds only one class (they are undefined then).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "dnamba/error.hpp"
#include "dnamba/head.hpp"

namespace dnamba {
namespace {

double auroc(const std::vector<double>& score, const std::vector<int>& positive) {
    const std::size_t n = score.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] < score[b]; });
    double rank_sum = 0, n1 = 0;
    for (std::size_t i = 0; i < n;) {
        std::size_t j = i;
        while (j < n && score[order[j]] == score[order[i]]) ++j;
        const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;  // ranks i+1..j
        for (std::size_t t = i; t < j; ++t) {
            if (positive[order[t]]) {
                rank_sum += avg_rank;
                n1 += 1;
            }
        }
        i = j;
    }
    const double n0 = static_cast<double>(n) - n1;
    return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0);
}

double average_precision(const std::vector<double>& score, const std::vector<int>& positive) {
    const std::size_t n = score.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
    double total_pos = 0;
    for (int p : positive) total_pos += p;
    double tp = 0, fp = 0, prev_recall = 0, ap = 0;
    for (std::size_t i = 0; i < n;) {
        std::size_t j = i;
        for (; j < n && score[order[j]] == score[order[i]]; ++j) (positive[order[j]] ? tp : fp) += 1;
        const double recall = tp / total_pos;
        ap += (recall - prev_recall) * (tp / (tp + fp));
        prev_recall = recall;
        i = j;
    }
    return ap;
}

}  // namespace

Metrics compute_metrics(const std::vector<int>& y, const Matrix& proba, int classes) {
    if (classes < 2) fail(ErrorKind::usage, "metrics: need at least two classes");
    if (static_cast<Eigen::Index>(y.size()) != proba.rows() || proba.cols() != classes)
        fail(ErrorKind::usage, "metrics: " + std::to_string(y.size()) + " labels but probabilities of shape [" +
                                   std::to_string(proba.rows()) + "," + std::to_string(proba.cols()) + "] for " +
                                   std::to_string(classes) + " classes");
    if (y.empty()) fail(ErrorKind::usage, "metrics: no rows to score");
    // NaN would break the sorts below (not a strict weak order) and the arg-max.
    if (!proba.allFinite()) fail(ErrorKind::input, "metrics: the probabilities contain NaN or infinite values");
    const auto C = static_cast<std::size_t>(classes);
    std::vector<double> confusion(C * C, 0.0);  // [true][predicted]
    for (std::size_t i = 0; i < y.size(); ++i) {
        if (y[i] < 0 || y[i] >= classes)
            fail(ErrorKind::usage, "metrics: label " + std::to_string(y[i]) + " outside [0, " + std::to_string(classes) + ")");
        Eigen::Index pred = 0;
        proba.row(static_cast<Eigen::Index>(i)).maxCoeff(&pred);  // first maximum on ties
        confusion[static_cast<std::size_t>(y[i]) * C + static_cast<std::size_t>(pred)] += 1;
    }

    Metrics m;
    const double s = static_cast<double>(y.size());
    double correct = 0, sum_pt = 0, sum_pp = 0, sum_tt = 0, f1_sum = 0;
    int f1_classes = 0;
    for (std::size_t c = 0; c < C; ++c) {
        double t = 0, p = 0;  // true and predicted counts of class c
        for (std::size_t o = 0; o < C; ++o) {
            t += confusion[c * C + o];
            p += confusion[o * C + c];
        }
        const double tp = confusion[c * C + c];
        correct += tp;
        sum_pt += p * t;
        sum_pp += p * p;
        sum_tt += t * t;
        const double fp = p - tp, fn = t - tp;
        if (tp + fp + fn > 0) {
            f1_sum += 2 * tp / (2 * tp + fp + fn);
            ++f1_classes;
        }
    }
    m.accuracy = correct / s;
    m.macro_f1 = f1_classes ? f1_sum / f1_classes : 0.0;
    // Gorodkin (2004): R_K = (c s - sum_k p_k t_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)).
    const double den = std::sqrt(s * s - sum_pp) * std::sqrt(s * s - sum_tt);
    m.mcc = den > 0 ? (correct * s - sum_pt) / den : 0.0;

    if (classes == 2) {
        std::vector<double> score(y.size());
        std::vector<int> positive(y.size());
        int n1 = 0;
        for (std::size_t i = 0; i < y.size(); ++i) {
            score[i] = proba(static_cast<Eigen::Index>(i), 1);
            positive[i] = y[i] == 1;
            n1 += positive[i];
        }
        if (n1 > 0 && n1 < static_cast<int>(y.size())) {
            m.auroc = auroc(score, positive);
            m.auprc = average_precision(score, positive);
        }
    }
    return m;
}

std::string metrics_line(const std::string& label, const Metrics& m, const Metrics* sd) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%-10s", label.c_str());
    std::string line = buf;
    auto one = [&](const char* name, double v, double s) {
        if (sd) std::snprintf(buf, sizeof buf, "  %s %.4f ± %.4f", name, v, s);
        else std::snprintf(buf, sizeof buf, "  %s %.4f", name, v);
        line += buf;
    };
    one("accuracy", m.accuracy, sd ? sd->accuracy : 0);
    one("macro-F1", m.macro_f1, sd ? sd->macro_f1 : 0);
    one("MCC", m.mcc, sd ? sd->mcc : 0);
    if (m.auroc) one("AUROC", *m.auroc, sd && sd->auroc ? *sd->auroc : 0);
    if (m.auprc) one("AUPRC", *m.auprc, sd && sd->auprc ? *sd->auprc : 0);
    return line;
}

}  // namespace dnamba
