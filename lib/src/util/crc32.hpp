// CRC-32 (zlib's, the ZIP one) over any number of bytes: the one checksum of dnamba's files
// (NPZ members, head-file tensors, shard outputs).
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

namespace dnamba {

// The CRC-32 of `bytes` bytes at `data` continued from `crc` (start from 0).
[[nodiscard]] inline std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::uint64_t bytes) {
    const auto* p = static_cast<const Bytef*>(data);
    while (bytes > 0) {  // crc32() takes a 32-bit length
        const auto chunk = static_cast<uInt>(std::min<std::uint64_t>(bytes, 1u << 30));
        crc = static_cast<std::uint32_t>(::crc32(crc, p, chunk));
        p += chunk;
        bytes -= chunk;
    }
    return crc;
}

// The CRC-32 of A then B from crc(A), crc(B) and B's length (zlib's crc32_combine; z_off_t is
// 64-bit on the LP64 hosts dnamba builds on).
[[nodiscard]] inline std::uint32_t crc32_concat(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t bytes_b) {
    return static_cast<std::uint32_t>(::crc32_combine(crc_a, crc_b, static_cast<z_off_t>(bytes_b)));
}

// Eight lower-case hex digits, as the files store it.
[[nodiscard]] inline std::string crc32_hex(std::uint32_t crc) {
    char text[9];
    std::snprintf(text, sizeof text, "%08x", static_cast<unsigned>(crc));
    return text;
}

}  // namespace dnamba
