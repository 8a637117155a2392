// Private .npy helpers shared by the readers and writers: the one .npy header writer and
// the one .npy header parser (for .npy files and .npz members alike), plus little-endian
// byte packing. Not part of the public API (tests include it directly).
//
// .npy layout: "\x93NUMPY", major, minor, the header length H (uint16 LE in version 1.0,
// uint32 LE in 2.0 and 3.0), then H bytes of an ASCII (3.0: UTF-8) Python dict literal
// {'descr': ..., 'fortran_order': ..., 'shape': (...)} padded with spaces and ending in '\n',
// then the raw data. The writer makes version 1.0 headers such that 10 + H is a multiple of
// 64 (so the data that follows is aligned).
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <functional>
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
// The same for any dtype `descr` ("<i8", "|S12", ...).
[[nodiscard]] std::string npy_header(const std::string& descr, const std::vector<std::uint64_t>& shape,
                                     std::size_t total_size = 0);

// Fixed header size of a pooled .npy: room for two 20-digit dimensions.
constexpr std::size_t k_npy_fixed_header = 128;

// What a .npy header says. data_offset: bytes from the start of the .npy to its first data
// byte (magic, version, length and dict).
struct NpyHeader {
    std::string descr;  // e.g. "<f4"
    bool fortran_order = false;
    std::vector<std::uint64_t> shape;
    std::uint64_t data_offset = 0;
};

// Reads bytes [offset, offset + bytes) of one .npy (a file or an .npz member); the parser
// never asks for bytes past the .npy's size.
using NpyByteSource = std::function<std::string(std::uint64_t offset, std::uint64_t bytes)>;

// Parses the header of a .npy of `total_bytes` bytes read through `read`. `where` names the
// file ("x.npy") or the member ("x.npz: member a.npy") and starts every message. Throws
// Error(input) for: no "\x93NUMPY" magic, a version other than 1.0, 2.0 or 3.0, a header
// longer than the .npy, a dict that is not {'descr': str, 'fortran_order': bool,
// 'shape': tuple of ints} (missing or unknown keys, structured dtypes, malformed literals).
[[nodiscard]] NpyHeader npy_parse_header(const NpyByteSource& read, std::uint64_t total_bytes, const std::string& where);

// A float32 matrix's shape and where its rows*cols floats start.
struct NpyMatrixLayout {
    std::uint64_t rows = 0;
    std::uint64_t cols = 0;
    std::uint64_t data_offset = 0;
};

// Most columns (channels) a float32 matrix may have: far above any model's 2*d_model.
constexpr std::uint64_t k_max_matrix_cols = std::uint64_t{1} << 24;

// npy_parse_header, then requires what dnamba reads: dtype '<f4', C order, a 2-D shape of at
// most k_max_matrix_cols columns (and as many rows at most when it has no columns), and
// rows*cols*4 data bytes within `total_bytes` (more is the caller's call). Throws Error(input)
// "<where>: ..." saying which of these fails (unsupported dtype, Fortran order, shape not
// 2-D, truncated data) with the values found.
[[nodiscard]] NpyMatrixLayout npy_parse_f32_matrix(const NpyByteSource& read, std::uint64_t total_bytes,
                                                   const std::string& where);

// Opens the .npy file `path` into `in` and parses it as npy_parse_f32_matrix does (messages
// name `path`), leaving `in` at the first data byte: the caller reads rows*cols floats, all
// present. Throws Error(input) "<path>: cannot open" or as npy_parse_f32_matrix.
[[nodiscard]] NpyMatrixLayout npy_open_f32_matrix(const std::string& path, std::ifstream& in);

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
