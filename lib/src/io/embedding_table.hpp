// io/embedding_table.hpp (private) — pooled embeddings written by `dnamba embed`, read back.
#pragma once

#include <string>
#include <vector>

#include "dnamba/io.hpp"
#include "dnamba/model.hpp"

namespace dnamba {

// Pooled embeddings written by `dnamba embed`: .tsv (name chrom start end strand e0..) or
// .npy (+ .names.tsv), with what made them (the "#dnamba" line, "" for tables from before it).
// Error(input) naming the file on anything malformed, and on a table whose closing
// "#dnamba-end" checksum does not match (io/provenance.hpp).
struct EmbeddingTable {
    std::vector<RowInfo> rows;
    Matrix X;
    std::string provenance;
};
[[nodiscard]] EmbeddingTable read_embedding_table(const std::string& path);

}  // namespace dnamba
