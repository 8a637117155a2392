// Reads NpzWriter's archives back (see npz_reader.hpp). Only what NpzWriter writes is
// accepted: this is not a general ZIP reader. Each member's .npy header goes through the
// one .npy parser (npy.hpp), the same that reads pooled .npy tables.
#include "io/npz_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "dnamba/error.hpp"
#include "io/npy.hpp"

namespace dnamba::io_detail {
namespace {

std::uint64_t get_le(const unsigned char* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

class Archive {
public:
    explicit Archive(const std::string& path) : path_(path), in_(path, std::ios::binary) {
        if (!in_) fail(ErrorKind::input, path + ": cannot open");
        in_.seekg(0, std::ios::end);
        size_ = static_cast<std::uint64_t>(in_.tellg());
    }

    [[noreturn]] void bad(const std::string& what) const { fail(ErrorKind::input, path_ + ": " + what); }

    std::vector<unsigned char> read(std::uint64_t offset, std::uint64_t bytes) {
        if (offset > size_ || bytes > size_ - offset) bad("truncated archive (a record lies past the end of the file)");
        std::vector<unsigned char> buf(bytes);
        in_.seekg(static_cast<std::streamoff>(offset));
        if (!in_.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(bytes)))
            bad("read failed");
        return buf;
    }

    void read_into(std::uint64_t offset, void* out, std::uint64_t bytes) {
        if (offset > size_ || bytes > size_ - offset) bad("truncated archive (member data lies past the end of the file)");
        in_.seekg(static_cast<std::streamoff>(offset));
        if (!in_.read(static_cast<char*>(out), static_cast<std::streamsize>(bytes))) bad("read failed");
    }

    std::uint64_t size() const { return size_; }

private:
    std::string path_;
    std::ifstream in_;
    std::uint64_t size_ = 0;
};

}  // namespace

void npz_for_each(const std::string& path, const std::function<void(NpzMember&)>& fn) {
    Archive a(path);
    // End of central directory: the last 22 + comment bytes; NpzWriter writes no comment.
    if (a.size() < 22) a.bad("not an .npz archive (too short)");
    const std::uint64_t tail = std::min<std::uint64_t>(a.size(), 22 + 65535);
    const auto end = a.read(a.size() - tail, tail);
    std::int64_t eocd = -1;
    for (std::int64_t i = static_cast<std::int64_t>(end.size()) - 22; i >= 0; --i) {
        if (get_le(&end[static_cast<std::size_t>(i)], 4) == 0x06054b50) {
            eocd = i;
            break;
        }
    }
    if (eocd < 0) a.bad("not an .npz archive (no end-of-central-directory record)");
    const unsigned char* e = &end[static_cast<std::size_t>(eocd)];
    std::uint64_t count = get_le(e + 10, 2);
    std::uint64_t cd_offset = get_le(e + 16, 4);
    if (count == 0xffff || cd_offset == 0xffffffffULL) {
        // ZIP64: the locator sits just before the classic record
        const std::uint64_t eocd_pos = a.size() - tail + static_cast<std::uint64_t>(eocd);
        if (eocd_pos < 20) a.bad("ZIP64 locator missing");
        const auto loc = a.read(eocd_pos - 20, 20);
        if (get_le(loc.data(), 4) != 0x07064b50) a.bad("ZIP64 locator missing");
        const auto z = a.read(get_le(loc.data() + 8, 8), 56);
        if (get_le(z.data(), 4) != 0x06064b50) a.bad("ZIP64 end-of-central-directory record missing");
        count = get_le(z.data() + 32, 8);
        cd_offset = get_le(z.data() + 48, 8);
    }
    std::uint64_t pos = cd_offset;
    for (std::uint64_t m = 0; m < count; ++m) {
        const auto h = a.read(pos, 46);
        if (get_le(h.data(), 4) != 0x02014b50) a.bad("corrupt central directory (entry " + std::to_string(m) + ")");
        const std::uint64_t method = get_le(h.data() + 10, 2);
        std::uint64_t size = get_le(h.data() + 20, 4);
        const std::uint64_t name_len = get_le(h.data() + 28, 2), extra_len = get_le(h.data() + 30, 2),
                            comment_len = get_le(h.data() + 32, 2);
        std::uint64_t local = get_le(h.data() + 42, 4);
        const auto ne = a.read(pos + 46, name_len + extra_len);
        std::string name(reinterpret_cast<const char*>(ne.data()), name_len);
        const std::string where = path + ": member " + name;
        if (method != 0) fail(ErrorKind::input, where + ": compressed members are not supported (dnamba writes STORED)");
        // ZIP64 extra field (id 1): the 64-bit values of the fields that read 0xffffffff
        for (std::uint64_t x = name_len; x + 4 <= ne.size();) {
            const std::uint64_t id = get_le(&ne[x], 2), len = get_le(&ne[x + 2], 2);
            if (id == 1) {
                std::uint64_t at = x + 4;
                const std::uint64_t uncompressed = get_le(h.data() + 24, 4);
                if (uncompressed == 0xffffffffULL && at + 8 <= ne.size()) at += 8;  // uncompressed size first
                if (size == 0xffffffffULL && at + 8 <= ne.size()) {
                    size = get_le(&ne[at], 8);
                    at += 8;
                }
                if (local == 0xffffffffULL && at + 8 <= ne.size()) local = get_le(&ne[at], 8);
            }
            x += 4 + len;
        }
        if (name.size() < 4 || name.compare(name.size() - 4, 4, ".npy") != 0)
            fail(ErrorKind::input, where + ": not a .npy member");
        const auto lh = a.read(local, 30);
        if (get_le(lh.data(), 4) != 0x04034b50) fail(ErrorKind::input, where + ": corrupt local header");
        const std::uint64_t data = local + 30 + get_le(lh.data() + 26, 2) + get_le(lh.data() + 28, 2);
        NpzMember member;
        member.key = name.substr(0, name.size() - 4);
        const NpyByteSource member_bytes = [&](std::uint64_t offset, std::uint64_t bytes) {
            const auto buf = a.read(data + offset, bytes);
            return std::string(buf.begin(), buf.end());
        };
        const NpyMatrixLayout npy = npy_parse_f32_matrix(member_bytes, size, where);
        member.rows = npy.rows;
        member.cols = npy.cols;
        const std::uint64_t header_bytes = npy.data_offset;
        if (header_bytes + member.rows * member.cols * sizeof(float) != size)
            fail(ErrorKind::input, where + ": member size does not match its shape (" +
                                       std::to_string(size - header_bytes - member.rows * member.cols * sizeof(float)) +
                                       " bytes after the data)");
        member.data.resize(member.rows * member.cols);
        a.read_into(data + header_bytes, member.data.data(), member.data.size() * sizeof(float));
        // The CRC-32 of the member's bytes (its .npy header, then the data): a damaged shard
        // must not be merged into an output that carries a fresh, valid CRC.
        const auto head = a.read(data, header_bytes);
        uLong crc = ::crc32(0L, Z_NULL, 0);
        crc = ::crc32_z(crc, head.data(), head.size());
        crc = ::crc32_z(crc, reinterpret_cast<const Bytef*>(member.data.data()), member.data.size() * sizeof(float));
        const std::uint64_t stored_crc = get_le(h.data() + 16, 4);
        if (crc != stored_crc) {
            char text[64];
            std::snprintf(text, sizeof text, "CRC-32 is %08lx, the archive says %08lx", static_cast<unsigned long>(crc),
                          static_cast<unsigned long>(stored_crc));
            fail(ErrorKind::input, where + ": damaged member (" + text + ")");
        }
        fn(member);
        pos += 46 + name_len + extra_len + comment_len;
    }
}

}  // namespace dnamba::io_detail
