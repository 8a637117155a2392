// Private: the per-position .npz writer (a ZIP of .npy members), exposed here so tests can
// force its ZIP64 code paths without writing 4 GiB.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dnamba/io.hpp"
#include "io/atomic_output.hpp"

namespace dnamba::io_detail {

struct NpzOptions {
    // Use ZIP64 records for every member and the end of the archive, as if every size and
    // offset were over 4 GiB (tests only; real outputs switch per member when needed).
    bool force_zip64 = false;
    // Tests only: false writes no row table, as dnamba did before it.
    bool row_table = true;
    // What made the archive (a JSON object's text), stored as the member dnamba/provenance;
    // "" writes none.
    std::string provenance;
};

// Members under this prefix are the archive's row table, not records (see NpzWriter).
constexpr const char* k_npz_table_prefix = "dnamba/";

// The archive member key for a record name: '/' (a directory separator to unzip tools),
// control characters and bytes that are not valid UTF-8 become '_'; an empty name becomes
// "_". Everything else is kept, so most names are unchanged.
[[nodiscard]] std::string npz_safe_key(const std::string& name);

// Writes a ZIP archive (STORED, CRC-32) with one "<key>.npy" float32 (L, C) member per
// write(), streamed to disk as it comes; the central directory is written at commit().
// Keys come from npz_safe_key(info.name); a repeated key gets "~2", "~3", ... appended
// (one warning at commit names the first duplicate and the count). commit() adds the rows'
// table after the records, as 1-D arrays in row order: "dnamba/key" (|S, the member key of
// each row), "dnamba/name", "dnamba/chrom" (|S), "dnamba/start", "dnamba/end" (<i8, 0-based
// half-open), "dnamba/strand" (|S1); and "dnamba/provenance" (0-d |S, JSON) when given.
class NpzWriter final : public EmbeddingWriter {
public:
    explicit NpzWriter(const std::string& path, NpzOptions options = {});

    void begin(std::size_t channels) override;
    // Throws Error(input) if the key is longer than a ZIP name allows (65,535 bytes).
    void write(const RowInfo& info, const float* data, std::size_t length_rows) override;
    void commit() override;
    [[nodiscard]] OutputKind kind() const override { return OutputKind::per_position; }
    [[nodiscard]] std::size_t rows_written() const override { return rows_.size(); }
    [[nodiscard]] std::vector<std::string> output_paths() const override { return {out_.final_path()}; }

    // Key of the row-th write() (without ".npy"), after sanitising and de-duplication.
    [[nodiscard]] const std::string& key(std::size_t row) const { return entries_.at(row).key; }

private:
    struct Entry {
        std::string key;  // member name minus ".npy"
        std::uint32_t crc = 0;
        std::uint64_t size = 0;    // member bytes (npy header + data)
        std::uint64_t offset = 0;  // of its local file header
        bool zip64_local = false;  // local header carries a ZIP64 extra field
    };
    std::string unique_key(const std::string& name);
    // One STORED member "<key>.npy": its .npy header `npy`, then data_bytes of `data`.
    void write_member(std::string key, const std::string& npy, const void* data, std::uint64_t data_bytes);
    void write_row_table();

    AtomicOutputFile out_;
    NpzOptions options_;
    std::size_t channels_ = 0;
    bool begun_ = false;
    bool committed_ = false;
    std::uint64_t offset_ = 0;  // bytes written so far
    std::vector<Entry> entries_;  // records first, then the table's members
    std::vector<RowInfo> rows_;   // one per record
    std::unordered_set<std::string> used_keys_;
    std::unordered_map<std::string, std::uint64_t> next_suffix_;
    std::size_t duplicates_ = 0;
    std::string first_duplicate_;
    std::size_t renamed_ = 0;
    std::string first_renamed_;
};

}  // namespace dnamba::io_detail
