// The per-position .npz writer: a ZIP archive (APPNOTE 6.3) of STORED .npy members.
//
// numpy.savez would need every array in memory; whole-genome runs produce far more than
// fits, so each array goes straight to disk: write() gets the whole (L, C) array, so the
// CRC-32 is computed over it first and the local header is written complete, with no
// seeking back. The central directory is kept in memory (a few dozen bytes per member)
// and written at commit(). ZIP64 extra fields are used per member only when a size or an
// offset reaches 0xFFFFFFFF, and the ZIP64 end records when there are 65535 or more members
// or the directory lies beyond 4 GiB, so small outputs stay readable by any unzip tool.
#include "io/npz_writer.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "dnamba/error.hpp"
#include "dnamba/log.hpp"
#include "io/npy.hpp"
#include "util/crc32.hpp"

namespace dnamba::io_detail {
namespace {

constexpr std::uint32_t k_local_sig = 0x04034b50;
constexpr std::uint32_t k_central_sig = 0x02014b50;
constexpr std::uint32_t k_end_sig = 0x06054b50;
constexpr std::uint32_t k_zip64_end_sig = 0x06064b50;
constexpr std::uint32_t k_zip64_locator_sig = 0x07064b50;
constexpr std::uint32_t k_max32 = 0xffffffffu;
constexpr std::uint32_t k_max16 = 0xffffu;
constexpr std::uint32_t k_version_plain = 20;  // 2.0: what a STORED member needs
constexpr std::uint32_t k_version_zip64 = 45;  // 4.5: ZIP64 extensions
constexpr std::uint32_t k_made_by = (3u << 8) | 45u;  // Unix, spec 4.5: external attrs are a mode
constexpr std::uint32_t k_external_attrs = 0100644u << 16;  // regular file, rw-r--r--
constexpr std::uint32_t k_flag_utf8 = 1u << 11;
// Fixed timestamp 1980-01-01 00:00 (the DOS epoch): identical inputs give identical bytes.
constexpr std::uint32_t k_dos_time = 0;
constexpr std::uint32_t k_dos_date = (0u << 9) | (1u << 5) | 1u;

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one.
std::size_t utf8_sequence(const std::string& s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;  // no UTF-16 surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k) {
        if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
    }
    return n;
}

bool has_non_ascii(const std::string& s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

}  // namespace

std::string npz_safe_key(const std::string& name) {
    if (name.empty()) return "_";
    std::string out;
    out.reserve(name.size());
    for (std::size_t i = 0; i < name.size();) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c < 0x80) {
            out += (c == '/' || c < 0x20 || c == 0x7f) ? '_' : static_cast<char>(c);
            ++i;
        } else if (const std::size_t n = utf8_sequence(name, i)) {
            out.append(name, i, n);
            i += n;
        } else {
            out += '_';
            ++i;
        }
    }
    return out;
}

NpzWriter::NpzWriter(const std::string& path, NpzOptions options) : out_(path), options_(options) {}

void NpzWriter::begin(std::size_t channels) {
    if (begun_) throw std::logic_error("EmbeddingWriter::begin() called twice for " + out_.final_path());
    begun_ = true;
    channels_ = channels;
}

std::string NpzWriter::unique_key(const std::string& name) {
    std::string base = npz_safe_key(name);
    if (base != name && renamed_++ == 0) first_renamed_ = name;
    if (used_keys_.insert(base).second) return base;
    if (duplicates_++ == 0) first_duplicate_ = name;
    // Start after the last suffix used for this base; skip keys taken by real names
    // (a record literally named "x~2" before the second "x").
    std::uint64_t& n = next_suffix_[base];
    if (n < 2) n = 2;
    for (;; ++n) {
        std::string candidate = base + "~" + std::to_string(n);
        if (used_keys_.insert(candidate).second) {
            ++n;
            return candidate;
        }
    }
}

void NpzWriter::write(const RowInfo& info, const float* data, std::size_t length_rows) {
    if (!begun_) throw std::logic_error("write() before begin() for " + out_.final_path());
    if (committed_) throw std::logic_error("write() after commit() for " + out_.final_path());

    std::string key = unique_key(info.name);
    if (key.size() + 4 > k_max16) {
        throw Error(ErrorKind::input, out_.final_path() + ": record name '" + info.name.substr(0, 60) +
                                          "...' is too long for an archive member name (at most 65,531 bytes)");
    }
    const std::string npy = npy_f32_header({length_rows, channels_});
    const std::uint64_t elements = static_cast<std::uint64_t>(length_rows) * channels_;
    if (channels_ != 0 && elements / channels_ != length_rows) throw std::logic_error("npz member size overflows");
    write_member(std::move(key), npy, data, elements * sizeof(float));
    rows_.push_back(info);
}

void NpzWriter::write_member(std::string key, const std::string& npy, const void* data, std::uint64_t data_bytes) {
    const std::string member = key + ".npy";
    const std::uint64_t size = npy.size() + data_bytes;

    std::uint32_t crc = crc32_update(0, npy.data(), npy.size());
    crc = crc32_update(crc, data, data_bytes);

    const bool zip64 = options_.force_zip64 || size >= k_max32;
    const bool utf8 = has_non_ascii(member);
    std::string h;
    h.reserve(30 + member.size() + 20);
    put_u32(h, k_local_sig);
    put_u16(h, zip64 ? k_version_zip64 : k_version_plain);
    put_u16(h, utf8 ? k_flag_utf8 : 0);
    put_u16(h, 0);  // method: STORED
    put_u16(h, k_dos_time);
    put_u16(h, k_dos_date);
    put_u32(h, crc);
    put_u32(h, zip64 ? k_max32 : static_cast<std::uint32_t>(size));  // compressed size
    put_u32(h, zip64 ? k_max32 : static_cast<std::uint32_t>(size));  // uncompressed size
    put_u16(h, static_cast<std::uint32_t>(member.size()));
    put_u16(h, zip64 ? 20 : 0);  // extra field length
    h += member;
    if (zip64) {  // the local ZIP64 extra must hold both sizes
        put_u16(h, 0x0001);
        put_u16(h, 16);
        put_u64(h, size);
        put_u64(h, size);
    }
    out_.write(h.data(), h.size());
    out_.write(npy.data(), npy.size());
    out_.write(data, data_bytes);

    entries_.push_back(Entry{std::move(key), crc, size, offset_, zip64});
    offset_ += h.size() + size;
}

// The rows' table as 1-D arrays under "dnamba/" (no record key holds a '/': npz_safe_key), and
// what made the archive as one 0-d byte string.
void NpzWriter::write_row_table() {
    const std::uint64_t n = rows_.size();
    auto strings = [&](const char* key, auto field) {
        std::size_t width = 1;  // numpy has no zero-width byte strings
        for (std::size_t i = 0; i < rows_.size(); ++i) width = std::max(width, field(i).size());
        std::string data(n * width, '\0');
        for (std::size_t i = 0; i < rows_.size(); ++i) {
            const std::string& f = field(i);
            std::copy(f.begin(), f.end(), data.begin() + static_cast<std::ptrdiff_t>(i * width));
        }
        write_member(std::string(k_npz_table_prefix) + key, npy_header("|S" + std::to_string(width), {n}), data.data(),
                     data.size());
    };
    auto integers = [&](const char* key, std::int64_t RowInfo::*field) {
        std::vector<std::int64_t> v(rows_.size());
        for (std::size_t i = 0; i < rows_.size(); ++i) v[i] = rows_[i].*field;
        write_member(std::string(k_npz_table_prefix) + key, npy_header("<i8", {n}), v.data(), v.size() * sizeof(std::int64_t));
    };
    strings("key", [&](std::size_t i) -> const std::string& { return entries_[i].key; });
    strings("name", [&](std::size_t i) -> const std::string& { return rows_[i].name; });
    strings("chrom", [&](std::size_t i) -> const std::string& { return rows_[i].chrom; });
    integers("start", &RowInfo::start);
    integers("end", &RowInfo::end);
    std::string strands(rows_.size(), '+');
    for (std::size_t i = 0; i < rows_.size(); ++i) strands[i] = rows_[i].strand;
    write_member(std::string(k_npz_table_prefix) + "strand", npy_header("|S1", {n}), strands.data(), strands.size());
    if (!options_.provenance.empty())
        write_member(std::string(k_npz_table_prefix) + "provenance",
                     npy_header("|S" + std::to_string(options_.provenance.size()), {}), options_.provenance.data(),
                     options_.provenance.size());
}

void NpzWriter::commit() {
    if (committed_) throw std::logic_error("EmbeddingWriter::commit() called twice for " + out_.final_path());
    if (options_.row_table) write_row_table();
    const std::uint64_t cd_start = offset_;
    std::uint64_t cd_size = 0;
    std::string buf;
    for (const Entry& e : entries_) {
        const std::string member = e.key + ".npy";
        const bool big_size = options_.force_zip64 || e.size >= k_max32;
        const bool big_offset = options_.force_zip64 || e.offset >= k_max32;
        std::string extra;
        if (big_size || big_offset) {
            // Only the fields whose 32-bit slot holds 0xFFFFFFFF appear, in this order.
            put_u16(extra, 0x0001);
            put_u16(extra, (big_size ? 16 : 0) + (big_offset ? 8 : 0));
            if (big_size) {
                put_u64(extra, e.size);
                put_u64(extra, e.size);
            }
            if (big_offset) put_u64(extra, e.offset);
        }
        const bool zip64 = big_size || big_offset || e.zip64_local;
        const std::size_t at = buf.size();
        put_u32(buf, k_central_sig);
        put_u16(buf, k_made_by);
        put_u16(buf, zip64 ? k_version_zip64 : k_version_plain);
        put_u16(buf, has_non_ascii(member) ? k_flag_utf8 : 0);
        put_u16(buf, 0);  // STORED
        put_u16(buf, k_dos_time);
        put_u16(buf, k_dos_date);
        put_u32(buf, e.crc);
        put_u32(buf, big_size ? k_max32 : static_cast<std::uint32_t>(e.size));
        put_u32(buf, big_size ? k_max32 : static_cast<std::uint32_t>(e.size));
        put_u16(buf, static_cast<std::uint32_t>(member.size()));
        put_u16(buf, static_cast<std::uint32_t>(extra.size()));
        put_u16(buf, 0);  // comment length
        put_u16(buf, 0);  // disk number start
        put_u16(buf, 0);  // internal attributes
        put_u32(buf, k_external_attrs);
        put_u32(buf, big_offset ? k_max32 : static_cast<std::uint32_t>(e.offset));
        buf += member;
        buf += extra;
        cd_size += buf.size() - at;
        if (buf.size() >= (1u << 20)) {
            out_.write(buf.data(), buf.size());
            buf.clear();
        }
    }

    const std::uint64_t count = entries_.size();
    const bool zip64_end = options_.force_zip64 || count >= k_max16 || cd_size >= k_max32 || cd_start >= k_max32;
    if (zip64_end) {
        const std::uint64_t record_offset = cd_start + cd_size;
        put_u32(buf, k_zip64_end_sig);
        put_u64(buf, 44);  // size of the rest of this record
        put_u16(buf, k_made_by);
        put_u16(buf, k_version_zip64);
        put_u32(buf, 0);  // this disk
        put_u32(buf, 0);  // disk with the central directory
        put_u64(buf, count);
        put_u64(buf, count);
        put_u64(buf, cd_size);
        put_u64(buf, cd_start);
        put_u32(buf, k_zip64_locator_sig);
        put_u32(buf, 0);  // disk with the ZIP64 end record
        put_u64(buf, record_offset);
        put_u32(buf, 1);  // total disks
    }
    put_u32(buf, k_end_sig);
    put_u16(buf, 0);
    put_u16(buf, 0);
    const auto count16 = static_cast<std::uint32_t>(std::min<std::uint64_t>(count, k_max16));
    put_u16(buf, count16);
    put_u16(buf, count16);
    put_u32(buf, static_cast<std::uint32_t>(std::min<std::uint64_t>(cd_size, k_max32)));
    put_u32(buf, static_cast<std::uint32_t>(std::min<std::uint64_t>(cd_start, k_max32)));
    put_u16(buf, 0);  // comment length
    out_.write(buf.data(), buf.size());
    out_.commit();
    committed_ = true;

    if (duplicates_ > 0) {
        const std::string base = npz_safe_key(first_duplicate_);
        log_warning(out_.final_path() + ": " + std::to_string(duplicates_) + " record name" +
                    (duplicates_ == 1 ? "" : "s") + " repeated an earlier one (first: '" + first_duplicate_ +
                    "'); repeats were stored under keys with a suffix ('" + base + "~2', '" + base + "~3', ...)");
    }
    if (renamed_ > 0) {
        log_warning(out_.final_path() + ": " + std::to_string(renamed_) + " record name" + (renamed_ == 1 ? "" : "s") +
                    " changed to make safe archive keys ('/', control characters and invalid UTF-8 become '_'; "
                    "first: '" + first_renamed_ + "' stored as '" + npz_safe_key(first_renamed_) + "')");
    }
}

}  // namespace dnamba::io_detail
