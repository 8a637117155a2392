// libFuzzer target: the text tables dnamba reads back: a pooled embedding table
// (`--embeddings`, .tsv), and the same bytes as the .names.tsv of a fixed 2-row .npy. Every
// accepted table has one row per matrix row and valid coordinates; rejections are
// Error(input) naming the file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dnamba/error.hpp"
#include "fuzz_util.hpp"
#include "io/embedding_table.hpp"
#include "io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dnamba::fuzz::TempDir dir;
    static const std::string npy_path = [] {
        std::string bytes = dnamba::io_detail::npy_f32_header({2, 3});
        bytes += std::string(2 * 3 * 4, '\0');
        return dir.write("t.npy", reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }();
    const auto check = [](const dnamba::EmbeddingTable& t) {
        DNAMBA_FUZZ_CHECK(static_cast<Eigen::Index>(t.rows.size()) == t.X.rows());
        for (const auto& r : t.rows) {
            DNAMBA_FUZZ_CHECK(r.start >= 0 && r.start <= r.end);
            DNAMBA_FUZZ_CHECK(r.strand == '+' || r.strand == '-' || r.strand == '.');
        }
    };
    for (const char* name : {"in.tsv", "t.names.tsv"}) {
        const std::string path = dir.write(name, data, size);
        const std::string table = std::string(name) == "in.tsv" ? path : npy_path;
        try {
            check(dnamba::read_embedding_table(table));
        } catch (const dnamba::Error& e) {
            DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::input);
            const std::string what = e.what();
            DNAMBA_FUZZ_CHECK(what.find(path) != std::string::npos || what.find(table) != std::string::npos);
        }
    }
    return 0;
}
