// dnamba/tokenizer.hpp — the Caduceus character tokenizer and reverse complement.
//
// tokenization_caduceus.py: each character is upper-cased; A=7 C=8 G=9 T=10 N=11; anything
// else is [UNK]=6. Specials: [CLS]=0 [SEP]=1 [BOS]=2 [MASK]=3 [PAD]=4. The reference
// embedding scripts add no special tokens; `add_sep` appends [SEP] as the HF tokenizer does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dnamba {

namespace token {
constexpr std::int32_t cls = 0, sep = 1, bos = 2, mask = 3, pad = 4, unk = 6;
constexpr std::int32_t a = 7, c = 8, g = 9, t = 10, n = 11;
}  // namespace token

// Token ids of `seq`; `unknown` (if given) is incremented by the number of [UNK] tokens.
[[nodiscard]] std::vector<std::int32_t> tokenize(std::string_view seq, bool add_sep, std::size_t* unknown = nullptr);

// Reverse complement of a DNA string: A<->T, C<->G (case kept), every other character kept
// as it is (so N stays N and unknown characters stay unknown), order reversed.
[[nodiscard]] std::string reverse_complement(std::string_view seq);

// Reverse complement of token ids under `complement_map` (id -> id).
[[nodiscard]] std::vector<std::int32_t> reverse_complement_ids(const std::vector<std::int32_t>& ids,
                                                               const std::vector<int>& complement_map);

}  // namespace dnamba
