// Reads NpzWriter's archives back (see npz_reader.hpp). Only what NpzWriter writes is
// accepted: this is not a general ZIP reader. Each member's .npy header goes through the
// one .npy parser (npy.hpp), the same that reads pooled .npy tables.
#include "io/npz_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include "dnamba/error.hpp"
#include "io/npy.hpp"
#include "io/npz_writer.hpp"
#include "util/crc32.hpp"

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

struct Entry {
    std::string key;           // member name minus ".npy"
    std::uint64_t size = 0;    // member bytes
    std::uint64_t data = 0;    // offset of its first byte
    std::uint32_t crc = 0;     // as the central directory says
};

void check_crc(std::uint32_t crc, const Entry& entry, const std::string& where) {
    if (crc != entry.crc)
        fail(ErrorKind::input, where + ": damaged member (CRC-32 is " + crc32_hex(crc) + ", the archive says " +
                                   crc32_hex(entry.crc) + ")");
}

// A small member (the row table's), whole, its CRC-32 checked. The table holds a few dozen
// bytes per row, so a member over 1 GiB is not one dnamba wrote.
std::string read_checked(Archive& a, const Entry& entry, const std::string& where) {
    if (entry.size > (std::uint64_t{1} << 30)) fail(ErrorKind::input, where + ": too large for a row table member");
    const auto buf = a.read(entry.data, entry.size);
    check_crc(crc32_update(0, buf.data(), buf.size()), entry, where);
    return std::string(buf.begin(), buf.end());
}

// A 1-D '|S<n>' array: its strings, trailing NULs dropped (as numpy reads them).
std::vector<std::string> byte_strings(const NpyHeader& npy, const std::string& body, const std::string& where) {
    std::uint64_t width = 0;
    if (npy.descr.rfind("|S", 0) == 0) {
        const auto r = std::from_chars(npy.descr.data() + 2, npy.descr.data() + npy.descr.size(), width);
        if (r.ec != std::errc() || r.ptr != npy.descr.data() + npy.descr.size()) width = 0;
    }
    if (width == 0 || npy.shape.size() != 1 || npy.shape[0] > body.size() / width || npy.shape[0] * width != body.size())
        fail(ErrorKind::input, where + ": expected a 1-D byte-string ('|S<n>') array, got '" + npy.descr + "'");
    std::vector<std::string> out(npy.shape[0]);
    for (std::uint64_t i = 0; i < npy.shape[0]; ++i) {
        std::string s = body.substr(i * width, width);
        s.resize(std::min<std::size_t>(s.size(), s.find('\0')));
        out[i] = std::move(s);
    }
    return out;
}

struct NpzTable {
    std::string provenance;
    std::map<std::string, std::vector<std::string>> strings;
    std::map<std::string, std::vector<std::int64_t>> integers;
};

}  // namespace

void npz_for_each(const std::string& path, const std::function<void(NpzMember&)>& fn, std::string* provenance) {
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
    // pass 1: the central directory
    std::vector<Entry> entries;
    std::uint64_t pos = cd_offset;
    for (std::uint64_t m = 0; m < count; ++m) {
        const auto h = a.read(pos, 46);
        if (get_le(h.data(), 4) != 0x02014b50) a.bad("corrupt central directory (entry " + std::to_string(m) + ")");
        const std::uint64_t method = get_le(h.data() + 10, 2);
        Entry entry;
        entry.size = get_le(h.data() + 20, 4);
        entry.crc = static_cast<std::uint32_t>(get_le(h.data() + 16, 4));
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
                if (entry.size == 0xffffffffULL && at + 8 <= ne.size()) {
                    entry.size = get_le(&ne[at], 8);
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
        entry.data = local + 30 + get_le(lh.data() + 26, 2) + get_le(lh.data() + 28, 2);
        entry.key = name.substr(0, name.size() - 4);
        entries.push_back(std::move(entry));
        pos += 46 + name_len + extra_len + comment_len;
    }

    // pass 2: the row table (NpzWriter writes it last), so that each record comes with its row
    NpzTable table;
    std::size_t records = 0;
    for (const Entry& entry : entries) {
        if (entry.key.rfind(k_npz_table_prefix, 0) != 0) {
            ++records;
            continue;
        }
        const std::string field = entry.key.substr(std::strlen(k_npz_table_prefix));
        const std::string where = path + ": member " + entry.key + ".npy";
        const auto bytes = read_checked(a, entry, where);
        const NpyByteSource source = [&](std::uint64_t offset, std::uint64_t n) {
            if (offset > bytes.size() || n > bytes.size() - offset) fail(ErrorKind::input, where + ": truncated");
            return bytes.substr(offset, n);
        };
        const NpyHeader npy = npy_parse_header(source, bytes.size(), where);
        const std::string body = bytes.substr(npy.data_offset);
        if (field == "provenance") {
            if (npy.descr.rfind("|S", 0) != 0 || !npy.shape.empty()) fail(ErrorKind::input, where + ": expected a 0-d byte string");
            table.provenance = body.substr(0, body.find('\0'));
        } else if (field == "key" || field == "name" || field == "chrom" || field == "strand") {
            table.strings[field] = byte_strings(npy, body, where);
        } else if (field == "start" || field == "end") {
            if (npy.descr != "<i8" || npy.shape.size() != 1 || npy.shape[0] * 8 != body.size())
                fail(ErrorKind::input, where + ": expected a 1-D int64 ('<i8') array");
            std::vector<std::int64_t> v(npy.shape[0]);
            std::memcpy(v.data(), body.data(), body.size());
            table.integers[field] = std::move(v);
        }  // anything else under the prefix: a later dnamba's, skipped
    }
    const bool has_rows = !table.strings.empty() || !table.integers.empty();
    if (has_rows) {
        for (const char* f : {"key", "name", "chrom", "strand"})
            if (!table.strings.count(f) || table.strings[f].size() != records)
                fail(ErrorKind::input, path + ": row table member " + k_npz_table_prefix + f + " is missing or does not hold " +
                                           std::to_string(records) + " rows (one per record)");
        for (const char* f : {"start", "end"})
            if (!table.integers.count(f) || table.integers[f].size() != records)
                fail(ErrorKind::input, path + ": row table member " + k_npz_table_prefix + f + " is missing or does not hold " +
                                           std::to_string(records) + " rows (one per record)");
    }
    if (provenance) *provenance = table.provenance;

    // pass 3: the records, in order
    std::size_t row = 0;
    for (const Entry& entry : entries) {
        if (entry.key.rfind(k_npz_table_prefix, 0) == 0) continue;
        const std::string where = path + ": member " + entry.key + ".npy";
        NpzMember member;
        member.key = entry.key;
        const NpyByteSource member_bytes = [&](std::uint64_t offset, std::uint64_t bytes) {
            const auto buf = a.read(entry.data + offset, bytes);
            return std::string(buf.begin(), buf.end());
        };
        const NpyMatrixLayout npy = npy_parse_f32_matrix(member_bytes, entry.size, where);
        member.rows = npy.rows;
        member.cols = npy.cols;
        const std::uint64_t header_bytes = npy.data_offset;
        if (header_bytes + member.rows * member.cols * sizeof(float) != entry.size)
            fail(ErrorKind::input, where + ": member size does not match its shape (" +
                                       std::to_string(entry.size - header_bytes - member.rows * member.cols * sizeof(float)) +
                                       " bytes after the data)");
        member.data.resize(member.rows * member.cols);
        a.read_into(entry.data + header_bytes, member.data.data(), member.data.size() * sizeof(float));
        // The CRC-32 of the member's bytes (its .npy header, then the data): a damaged shard
        // must not be merged into an output that carries a fresh, valid CRC.
        const auto head = a.read(entry.data, header_bytes);
        std::uint32_t crc = crc32_update(0, head.data(), head.size());
        crc = crc32_update(crc, member.data.data(), member.data.size() * sizeof(float));
        check_crc(crc, entry, where);
        if (has_rows) {
            if (table.strings["key"][row] != member.key)
                fail(ErrorKind::input, where + ": the row table (" + k_npz_table_prefix + "key) names " +
                                           table.strings["key"][row] + " for this record");
            member.row.name = table.strings["name"][row];
            member.row.chrom = table.strings["chrom"][row];
            member.row.start = table.integers["start"][row];
            member.row.end = table.integers["end"][row];
            const std::string& strand = table.strings["strand"][row];
            member.row.strand = strand.empty() ? '+' : strand[0];
            member.has_row = true;
        }
        ++row;
        fn(member);
    }
}

}  // namespace dnamba::io_detail
