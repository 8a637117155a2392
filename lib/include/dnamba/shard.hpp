// dnamba/shard.hpp — one job split into shards, and the shards' outputs put back together.
//
// A batch pipeline (pipelines/) plans shards over the rows of an input (windows, regions or
// reads, in input order), runs `dnamba embed|classify --rows FIRST:END` on each, and merges
// the results. Because every row's result is independent of what else is in its batch, the
// merged output equals one run over the whole input, byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dnamba/input.hpp"

namespace dnamba {

struct Shard {
    std::uint64_t first_row = 0;  // [first_row, end_row) in input order
    std::uint64_t end_row = 0;
    std::uint64_t bases = 0;
    std::string first_name;       // row names, for people reading the plan
    std::string last_name;
};

struct ShardLimits {
    std::uint64_t bases = 0;  // about this many bases per shard, or
    std::uint64_t rows = 0;   // about this many rows per shard (exactly one of the two set)
};

// Enumerates the input's rows without reading their bases (two passes over a read file),
// then cuts them into n = ceil(total / limit) shards of near-equal size: shard k ends at the
// first row where the running total reaches (k+1)·total/n. Rows are never split: a shard
// holds less than total/n before its last row, and a row spanning several targets leaves
// fewer, larger shards (never an empty one). Deterministic.
// Throws Error(usage) when neither or both limits are set, Error(input) when the input has
// no rows, and whatever open_input throws.
[[nodiscard]] std::vector<Shard> plan_shards(const InputOptions& input, const ShardLimits& limits);

// The plan as TSV: header "shard first_row end_row rows bases first last", one line per
// shard. Written atomically; Error(io) on failure.
void write_shard_plan(const std::vector<Shard>& shards, const std::string& path);

// Concatenates shard outputs, in the order given, into `output`, whose extension picks the
// format (all inputs must have it): .tsv (any table with one header line: embeddings or
// classify calls; every header must be the same), .npy (pooled embeddings plus their
// .names.tsv, rows renumbered), .npz (per-position arrays; keys kept, a name repeated across
// shards gets the ~N suffix a single run gives it), .vcf/.vcf.gz/.bcf (the VCF outputs of
// `dnamba vep --region` shards, each any of the three: the records in shard order under the
// first shard's header, which every shard must have; .vcf.gz and .bcf indexed when sorted;
// rows = records). Throws Error(input) naming the shard file that is missing, malformed or
// does not match the first, Error(usage) for mixed or unknown extensions, Error(io) when the
// output cannot be written (nothing is left under its name). Returns the number of rows
// written.
[[nodiscard]] std::uint64_t merge_shard_outputs(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace dnamba
