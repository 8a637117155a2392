// k-mer frequency features (see head.hpp): the model-free baseline a head is compared with.
//
// One pass per sequence with a rolling 2-bit code: each base shifts in two bits and the mask
// keeps the last k bases, so every k-mer costs O(1) whatever k. A non-ACGT character (N, IUPAC
// codes, gaps) resets the run length, so no counted k-mer ever spans it. Column index = the
// k-mer read as a base-4 number with A=0 C=1 G=2 T=3, which is lexicographic order.
// Counts are integers until the final division, so frequencies are exact up to rounding of
// that one division and do not depend on the thread count.
#include <array>
#include <cstdint>

#include "dnamba/error.hpp"
#include "dnamba/head.hpp"

namespace dnamba {
namespace {

// Byte -> 2-bit base code, or 4 for anything that is not A/C/G/T in either case.
constexpr std::array<std::uint8_t, 256> make_code_table() {
    std::array<std::uint8_t, 256> t{};
    for (auto& v : t) v = 4;
    t['A'] = t['a'] = 0;
    t['C'] = t['c'] = 1;
    t['G'] = t['g'] = 2;
    t['T'] = t['t'] = 3;
    return t;
}
constexpr std::array<std::uint8_t, 256> k_code = make_code_table();

}  // namespace

Matrix kmer_features(const std::vector<std::string_view>& seqs, int k) {
    if (k < 1 || k > 8) fail(ErrorKind::usage, "k-mer size " + std::to_string(k) + " is outside 1..8");
    const std::size_t cols = std::size_t{1} << (2 * k);
    const std::uint32_t mask = static_cast<std::uint32_t>(cols - 1);
    const auto n = static_cast<std::int64_t>(seqs.size());
    Matrix X = Matrix::Zero(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(cols));
#pragma omp parallel
    {
        std::vector<std::uint64_t> count(cols);  // per thread, reused across rows
#pragma omp for schedule(dynamic, 16)
        for (std::int64_t r = 0; r < n; ++r) {
            std::fill(count.begin(), count.end(), 0);
            std::uint32_t code = 0;
            int run = 0;  // valid bases since the last reset
            std::uint64_t total = 0;
            for (const char ch : seqs[static_cast<std::size_t>(r)]) {
                const std::uint8_t b = k_code[static_cast<unsigned char>(ch)];
                if (b > 3) {
                    run = 0;
                    continue;
                }
                code = ((code << 2) | b) & mask;
                if (++run >= k) {
                    ++count[code];
                    ++total;
                    run = k;  // saturate: no overflow on chromosome-length input
                }
            }
            if (total == 0) continue;  // no valid k-mer: the row stays all zeros
            const double inv = 1.0 / static_cast<double>(total);
            auto row = X.row(static_cast<Eigen::Index>(r));
            for (std::size_t c = 0; c < cols; ++c)
                if (count[c]) row[static_cast<Eigen::Index>(c)] = static_cast<float>(static_cast<double>(count[c]) * inv);
        }
    }
    return X;
}

}  // namespace dnamba
