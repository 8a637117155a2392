// The Caduceus character tokenizer (see tokenizer.hpp for the contract).
#include "dnamba/tokenizer.hpp"

#include <array>

namespace dnamba {
namespace {

constexpr std::array<std::int32_t, 256> make_table() {
    std::array<std::int32_t, 256> t{};
    for (auto& v : t) v = token::unk;
    t['A'] = t['a'] = token::a;
    t['C'] = t['c'] = token::c;
    t['G'] = t['g'] = token::g;
    t['T'] = t['t'] = token::t;
    t['N'] = t['n'] = token::n;
    return t;
}
constexpr auto k_table = make_table();

constexpr std::array<char, 256> make_complement() {
    std::array<char, 256> t{};
    for (int i = 0; i < 256; ++i) t[static_cast<std::size_t>(i)] = static_cast<char>(i);
    t['A'] = 'T'; t['T'] = 'A'; t['C'] = 'G'; t['G'] = 'C';
    t['a'] = 't'; t['t'] = 'a'; t['c'] = 'g'; t['g'] = 'c';
    return t;
}
constexpr auto k_complement = make_complement();

}  // namespace

std::vector<std::int32_t> tokenize(std::string_view seq, bool add_sep, std::size_t* unknown) {
    std::vector<std::int32_t> ids;
    ids.reserve(seq.size() + (add_sep ? 1 : 0));
    std::size_t unk = 0;
    for (char ch : seq) {
        const std::int32_t id = k_table[static_cast<unsigned char>(ch)];
        unk += (id == token::unk);
        ids.push_back(id);
    }
    if (add_sep) ids.push_back(token::sep);
    if (unknown) *unknown += unk;
    return ids;
}

std::string reverse_complement(std::string_view seq) {
    std::string out(seq.size(), '\0');
    for (std::size_t i = 0; i < seq.size(); ++i)
        out[seq.size() - 1 - i] = k_complement[static_cast<unsigned char>(seq[i])];
    return out;
}

std::vector<std::int32_t> reverse_complement_ids(const std::vector<std::int32_t>& ids,
                                                 const std::vector<int>& complement_map) {
    std::vector<std::int32_t> out(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::int32_t id = ids[i];
        const bool mapped = id >= 0 && static_cast<std::size_t>(id) < complement_map.size();
        out[ids.size() - 1 - i] = mapped ? complement_map[static_cast<std::size_t>(id)] : id;
    }
    return out;
}

}  // namespace dnamba
