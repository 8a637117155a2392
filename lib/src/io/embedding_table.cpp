// Pooled embedding tables written by `dnamba embed` (.tsv, or .npy with its .names.tsv), read
// back as features (train-head --embeddings) and by the shard merge (see io/embedding_table.hpp).
#include "io/embedding_table.hpp"

#include <charconv>
#include <fstream>

#include "dnamba/error.hpp"
#include "io/npy.hpp"
#include "io/provenance.hpp"
#include "io/text_util.hpp"
#include "util/crc32.hpp"

namespace dnamba {

EmbeddingTable read_embedding_table(const std::string& path) {
    EmbeddingTable t;
    const bool npy = path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
    if (!npy) {
        TableReader in(path, "a dnamba embedding header");
        t.provenance = in.provenance();
        const auto header = io_detail::split_tabs(in.header());
        if (header.size() < 6 || header[0] != "name" || header[5] != "e0")
            fail(ErrorKind::input, path + ":" + std::to_string(in.line_no()) +
                                       ": not a dnamba embedding header (name chrom start end strand e0 ...)");
        const std::size_t C = header.size() - 5;
        std::vector<float> values;
        std::string line;
        while (in.next(line)) {
            if (line.empty()) continue;
            const auto f = io_detail::split_tabs(line);
            const std::string where = path + ":" + std::to_string(in.line_no());
            if (f.size() != header.size())
                fail(ErrorKind::input, where + ": " + std::to_string(f.size()) + " columns, expected " +
                                           std::to_string(header.size()));
            t.rows.push_back(io_detail::row_from_fields(f, 0, where));
            for (std::size_t c = 0; c < C; ++c) {
                float v = 0;
                const auto& s = f[5 + c];
                const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
                if (r.ec != std::errc() || r.ptr != s.data() + s.size())
                    fail(ErrorKind::input, where + ": column e" + std::to_string(c) + " '" + s + "' is not a number");
                values.push_back(v);
            }
        }
        t.X = Eigen::Map<Matrix>(values.data(), static_cast<Eigen::Index>(t.rows.size()), static_cast<Eigen::Index>(C));
        return t;
    }
    // .npy (float32, C order, 2-D; the one .npy parser, io/npy.hpp, checks all of it and
    // that the data is all there) + names table
    std::ifstream in;
    const io_detail::NpyMatrixLayout layout = io_detail::npy_open_f32_matrix(path, in);
    const auto rows = static_cast<long>(layout.rows), cols = static_cast<long>(layout.cols);
    t.X.resize(rows, cols);
    const auto data_bytes = static_cast<std::uint64_t>(sizeof(float)) * static_cast<std::uint64_t>(rows * cols);
    if (!in.read(reinterpret_cast<char*>(t.X.data()), static_cast<std::streamsize>(data_bytes)))
        fail(ErrorKind::input, path + ": read failed");
    const std::string names = npy_names_path(path);
    TableReader nin(names, "the row names of " + path);
    t.provenance = nin.provenance();
    // its closing line's checksum covers the array's data, then these rows
    nin.checksum_prefix(crc32_update(0, t.X.data(), data_bytes), path + "'s data");
    std::string line;
    while (nin.next(line)) {
        if (line.empty()) continue;
        const auto f = io_detail::split_tabs(line);
        const std::string where = names + ":" + std::to_string(nin.line_no());
        if (f.size() < 6) fail(ErrorKind::input, where + ": expected index name chrom start end strand");
        t.rows.push_back(io_detail::row_from_fields(f, 1, where));
    }
    if (static_cast<long>(t.rows.size()) != rows)
        fail(ErrorKind::input, names + ": " + std::to_string(t.rows.size()) + " rows, but " + path + " has " +
                                   std::to_string(rows));
    return t;
}

}  // namespace dnamba
