// vep/lm_scores.hpp (private) — what vep and score read off the LM head: log-probabilities of
// the four bases at a position, and the strands a score is averaged over.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#include "dnamba/embed.hpp"
#include "dnamba/error.hpp"
#include "dnamba/model.hpp"
#include "dnamba/tokenizer.hpp"

namespace dnamba::vep {

// log p(A), log p(C), log p(G), log p(T): the log-softmax of the four base logits of one row.
inline std::array<double, 4> base_log_probs(const float* logits_row) {
    std::array<double, 4> lp{};
    double mx = -INFINITY;
    for (int b = 0; b < 4; ++b) mx = std::max(mx, static_cast<double>(logits_row[token::a + b]));
    double sum = 0;
    for (int b = 0; b < 4; ++b) sum += std::exp(static_cast<double>(logits_row[token::a + b]) - mx);
    const double lse = mx + std::log(sum);
    for (int b = 0; b < 4; ++b) lp[b] = static_cast<double>(logits_row[token::a + b]) - lse;
    return lp;
}

// 0..3 for A/C/G/T (either case), -1 otherwise.
inline int base_index(char c) {
    switch (c) {
    case 'A': case 'a': return 0;
    case 'C': case 'c': return 1;
    case 'G': case 'g': return 2;
    case 'T': case 't': return 3;
    default: return -1;
    }
}

// Fails with Error(model) when the model has no LM head, naming what needed it.
inline void require_lm_head(const Model& model, const std::string& what) {
    if (!has_lm_head(model))
        fail(ErrorKind::model, (model.source.empty() ? std::string("the model") : model.source) +
                                   ": has no LM head (lm_head.weight absent and not tied to the embedding), so it "
                                   "cannot give " + what + "; embedding scores (emb-l2, emb-cos) still work");
}

}  // namespace dnamba::vep
