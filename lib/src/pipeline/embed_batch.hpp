// pipeline/embed_batch.hpp (private) — helpers of the compute step that embed and the classify
// features share (embed_batch_pooled, embed.hpp): the device mean, the [UNK] warning.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "dnamba/embed.hpp"

namespace dnamba {

// embed_batch followed by the mean over each result's rows, through
// Engine::forward_pooled_mean (on the GPU only the pooled rows leave the device): one 1 x C
// row per sequence, equal to the mean of embed_batch's rows within rounding.
[[nodiscard]] std::vector<Matrix> embed_batch_mean(Engine& engine, const Model& model,
                                                   const std::vector<std::string_view>& seqs, RcMode rc, bool add_sep,
                                                   std::size_t* unknown);

// Warns on stderr that `count` characters other than A/C/G/T/N were embedded as [UNK] (nothing
// when 0).
void warn_unknown_bases(std::size_t count);

}  // namespace dnamba
