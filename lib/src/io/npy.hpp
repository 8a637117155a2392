// Private helpers shared by the .npy and .npz writers: the .npy header and little-endian
// byte packing. Not part of the public API (tests include it directly).
//
// .npy v1.0 layout: "\x93NUMPY", major 1, minor 0, uint16 LE header length H, then H bytes
// of an ASCII Python dict literal padded with spaces and ending in '\n', such that
// 10 + H is a multiple of 64 (so the data that follows is aligned), then the raw data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dnamba writes float32 data as '<f4' straight from memory: a little-endian host is required"
#endif

namespace dnamba::io_detail {

// The full header (magic through '\n') of a C-order little-endian float32 array ('<f4')
// of `shape`. total_size == 0: the smallest multiple of 64 that fits. Otherwise exactly
// total_size bytes (a multiple of 64), so a header written early can be rewritten in place
// once the final shape is known. Throws std::logic_error if it does not fit.
[[nodiscard]] std::string npy_f32_header(const std::vector<std::uint64_t>& shape, std::size_t total_size = 0);

// Fixed header size of a pooled .npy: room for two 20-digit dimensions.
constexpr std::size_t k_npy_fixed_header = 128;

// Little-endian appenders for binary headers.
inline void put_u16(std::string& out, std::uint32_t v) {
    out += static_cast<char>(v & 0xff);
    out += static_cast<char>((v >> 8) & 0xff);
}
inline void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace dnamba::io_detail
