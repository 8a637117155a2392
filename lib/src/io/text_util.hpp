// Small text helpers shared by the readers (private to lib/src/io).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dnamba::io_detail {

// Printable rendering of (the start of) a piece of text for error messages: bytes outside
// printable ASCII become \xNN, and "..." marks a cut after `limit` bytes.
inline std::string printable(std::string_view s, std::size_t limit = 40) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    if (s.size() > limit) out += "...";
    return out;
}

}  // namespace dnamba::io_detail
