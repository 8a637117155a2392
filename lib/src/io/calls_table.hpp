// io/calls_table.hpp (private) — the table of class probabilities `dnamba classify` writes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dnamba/io.hpp"
#include "io/atomic_output.hpp"

namespace dnamba {

// The table `dnamba classify` writes and `dnamba track` reads: a header line
// "name chrom start end strand p_<class>... predicted", then one row per region or window with
// each class's probability (shortest float32 text) and the class of the largest (the first on
// ties). Written under a temporary name; commit() gives it its final name.
class CallsTableWriter {
public:
    CallsTableWriter(const std::string& path, std::vector<std::string> classes);  // Error(io)
    void write(const RowInfo& row, const float* proba);  // classes().size() probabilities
    void commit();
    [[nodiscard]] const std::vector<std::string>& classes() const noexcept { return classes_; }

private:
    std::unique_ptr<AtomicOutputFile> out_;
    std::vector<std::string> classes_;
    std::string line_;
};

// The classes of a classify table from its header line (split at tabs); Error(input) naming
// `path` (line 1) for any other header.
[[nodiscard]] std::vector<std::string> parse_calls_header(const std::vector<std::string>& header,
                                                          const std::string& path);

}  // namespace dnamba
