// io/calls_table.hpp (private) — the table of class probabilities `dnamba classify` writes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dnamba/io.hpp"
#include "io/atomic_output.hpp"

namespace dnamba {

// The table `dnamba classify` writes and `dnamba track` reads: a header line
// "name chrom start end strand p_<class>... predicted", then one row per region or window with
// each class's probability (shortest float32 text) and the class of the largest (the first on
// ties). With `provenance` (JSON text, io/provenance.hpp) the first line is "#dnamba <json>"
// and the last "#dnamba-end {rows, crc32}", as in embedding tables. Written under a temporary
// name; commit() gives it its final name.
class CallsTableWriter {
public:
    CallsTableWriter(const std::string& path, std::vector<std::string> classes,
                     const std::string& provenance = "");  // Error(io)
    void write(const RowInfo& row, const float* proba);  // classes().size() probabilities
    void commit();
    [[nodiscard]] const std::vector<std::string>& classes() const noexcept { return classes_; }

private:
    std::unique_ptr<AtomicOutputFile> out_;
    std::vector<std::string> classes_;
    bool has_provenance_ = false;
    std::string line_;
    std::uint64_t rows_ = 0;
    std::uint32_t crc_ = 0;  // of the rows' lines
};

// The classes of a classify table from its header line (split at tabs); Error(input) naming
// `path` (line 1) for any other header.
[[nodiscard]] std::vector<std::string> parse_calls_header(const std::vector<std::string>& header,
                                                          const std::string& path);

}  // namespace dnamba
