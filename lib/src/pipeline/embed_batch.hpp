// pipeline/embed_batch.hpp (private) — the compute step that embed and the classify features
// share: pooled rows of a batch, on the device where the engine pools there.
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

// One pooled 1 x C row per sequence under `pool` (not none): the engine's device mean
// (embed_batch_mean) for PoolMode::mean when the engine pools on the device, else embed_batch's
// rows pooled on the host (pool_rows). What embed and the classify features both compute.
[[nodiscard]] std::vector<Matrix> embed_batch_pooled(Engine& engine, const Model& model,
                                                     const std::vector<std::string_view>& seqs, PoolMode pool,
                                                     RcMode rc, bool add_sep, std::size_t* unknown);

// Warns on stderr that `count` characters other than A/C/G/T/N were embedded as [UNK] (nothing
// when 0).
void warn_unknown_bases(std::size_t count);

}  // namespace dnamba
