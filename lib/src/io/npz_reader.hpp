// Private: reading back the per-position .npz archives that NpzWriter makes (ZIP, STORED
// members, ZIP64 where needed, one float32 2-D .npy per member), for merging shard outputs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dnamba/io.hpp"

namespace dnamba::io_detail {

struct NpzMember {
    std::string key;  // member name minus ".npy"
    std::uint64_t rows = 0;
    std::uint64_t cols = 0;
    std::vector<float> data;  // rows x cols, row-major
    RowInfo row;              // from the archive's row table (NpzWriter), when it has one
    bool has_row = false;     // false for archives from before the table
};

// Calls `fn` for each member in central-directory order, one member in memory at a time.
// Throws Error(input) naming the file (and member) for anything that is not such an archive:
// no end-of-central-directory record, compressed members, a CRC-32 that does not match
// the member's bytes, a member that is not a 2-D
// float32 C-order .npy, truncated data; a row table (the "dnamba/" members) that does not
// match the records. The table's members are not records: each record's row comes with it
// (has_row), and `provenance` (if given) gets the dnamba/provenance text ("" when absent).
void npz_for_each(const std::string& path, const std::function<void(NpzMember&)>& fn,
                  std::string* provenance = nullptr);

}  // namespace dnamba::io_detail
