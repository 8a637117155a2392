// Memory-mapped safetensors reader with full header validation, and the one safetensors
// writer (F32 tensors plus string metadata, written atomically; head files use it).
//
// Checkpoints come from the internet; a corrupt or hostile file must produce a clear error,
// never an out-of-bounds read. Every byte range is checked before any data is touched.
#include "model/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "io/atomic_output.hpp"
#include "util/json_parse.hpp"

namespace dnamba {
namespace {

constexpr std::uint64_t k_max_header_bytes = 100u * 1024u * 1024u;  // spec limit

[[noreturn]] void bad(const std::string& path, const std::string& what) {
    fail(ErrorKind::model, path + ": " + what);
}

bool parse_dtype(const std::string& s, DType& out) {
    static const std::pair<const char*, DType> table[] = {
        {"F32", DType::f32}, {"F16", DType::f16}, {"BF16", DType::bf16}, {"F64", DType::f64},
        {"I64", DType::i64}, {"I32", DType::i32}, {"I16", DType::i16}, {"I8", DType::i8},
        {"U8", DType::u8},   {"BOOL", DType::boolean}};
    for (const auto& [name, dtype] : table) {
        if (s == name) {
            out = dtype;
            return true;
        }
    }
    return false;
}

template <typename T>
T load_le(const unsigned char* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));  // x86-64 and aarch64 are little-endian
    return v;
}

}  // namespace

const char* dtype_name(DType dtype) noexcept {
    switch (dtype) {
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::f64: return "F64";
    case DType::i64: return "I64";
    case DType::i32: return "I32";
    case DType::i16: return "I16";
    case DType::i8: return "I8";
    case DType::u8: return "U8";
    case DType::boolean: return "BOOL";
    }
    return "?";
}

std::size_t dtype_size(DType dtype) noexcept {
    switch (dtype) {
    case DType::f64:
    case DType::i64: return 8;
    case DType::f32:
    case DType::i32: return 4;
    case DType::f16:
    case DType::bf16:
    case DType::i16: return 2;
    case DType::i8:
    case DType::u8:
    case DType::boolean: return 1;
    }
    return 0;
}

std::int64_t TensorInfo::numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

std::string TensorInfo::shape_string() const {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ",";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

float half_to_float(std::uint16_t h) noexcept {
    const std::uint32_t sign = (h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1f;
    std::uint32_t mant = h & 0x3ff;
    std::uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: renormalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400) == 0) {
                mant <<= 1;
                --exp;
            }
            mant &= 0x3ff;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

float bfloat16_to_float(std::uint16_t b) noexcept {
    const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) bad(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        bad(path, std::string("cannot stat: ") + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        bad(path, "not a regular file");
    }
    map_size_ = static_cast<std::size_t>(st.st_size);
    if (map_size_ < 8) {
        ::close(fd);
        bad(path, "file is " + std::to_string(map_size_) +
                      " bytes, too short for a safetensors header (truncated download?)");
    }
    void* m = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    const int map_errno = errno;
    ::close(fd);
    if (m == MAP_FAILED) bad(path, std::string("cannot map: ") + std::strerror(map_errno));
    map_ = static_cast<const unsigned char*>(m);

    try {
        const std::uint64_t header_len = load_le<std::uint64_t>(map_);
        if (header_len > k_max_header_bytes || header_len > map_size_ - 8) {
            bad(path, "header length " + std::to_string(header_len) + " exceeds the file size " +
                          std::to_string(map_size_) + " (not a safetensors file, or truncated)");
        }
        data_start_ = 8 + static_cast<std::size_t>(header_len);
        const std::size_t data_size = map_size_ - data_start_;
        const nlohmann::json header = json_parse_strict(reinterpret_cast<const char*>(map_ + 8),
                                                        reinterpret_cast<const char*>(map_ + data_start_),
                                                        ErrorKind::model, path + ": header");
        if (!header.is_object()) bad(path, "header JSON is not an object");

        for (auto it = header.begin(); it != header.end(); ++it) {
            const std::string& name = it.key();
            const auto& entry = it.value();
            if (name == "__metadata__") {
                if (!entry.is_object()) bad(path, "__metadata__ is not an object");
                for (auto m2 = entry.begin(); m2 != entry.end(); ++m2) {
                    metadata_[m2.key()] = m2.value().is_string() ? m2.value().get<std::string>()
                                                                 : m2.value().dump();
                }
                continue;
            }
            const std::string where = "tensor " + name + ": ";
            if (!entry.is_object()) bad(path, where + "entry is not an object");
            if (!entry.contains("dtype") || !entry["dtype"].is_string())
                bad(path, where + "missing string field \"dtype\"");
            if (!entry.contains("shape") || !entry["shape"].is_array())
                bad(path, where + "missing array field \"shape\"");
            if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() ||
                entry["data_offsets"].size() != 2)
                bad(path, where + "missing field \"data_offsets\" [begin, end]");
            TensorInfo info;
            info.name = name;
            const std::string dt = entry["dtype"].get<std::string>();
            if (!parse_dtype(dt, info.dtype)) bad(path, where + "unknown dtype \"" + dt + "\"");
            std::uint64_t numel = 1;
            for (const auto& d : entry["shape"]) {
                if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
                    bad(path, where + "shape has a non-integer or negative dimension");
                const auto dim = d.get<std::uint64_t>();
                if (dim != 0 && numel > std::numeric_limits<std::uint64_t>::max() / dim)
                    bad(path, where + "shape overflows");
                numel *= dim;
                info.shape.push_back(static_cast<std::int64_t>(dim));
            }
            for (const auto& o : entry["data_offsets"]) {
                if (!o.is_number_integer() || o.get<std::int64_t>() < 0)
                    bad(path, where + "data_offsets must be non-negative integers");
            }
            const auto b = entry["data_offsets"][0].get<std::uint64_t>();
            const auto e = entry["data_offsets"][1].get<std::uint64_t>();
            if (b > e) bad(path, where + "data_offsets begin " + std::to_string(b) + " > end " + std::to_string(e));
            if (e > data_size)
                bad(path, where + "data_offsets [" + std::to_string(b) + "," + std::to_string(e) +
                              "] run past the end of the data (" + std::to_string(data_size) +
                              " bytes; file truncated?)");
            // numel alone can pass the overflow check yet wrap when multiplied by the element
            // size ([2^62, 4] of F32 would "need" 0 bytes): bound it by the data block first.
            if (numel > data_size / dtype_size(info.dtype))
                bad(path, where + "shape " + info.shape_string() + " of " + dt + " needs more bytes than the " +
                              std::to_string(data_size) + "-byte data block holds");
            const std::uint64_t expected = numel * dtype_size(info.dtype);
            if (e - b != expected)
                bad(path, where + "byte range is " + std::to_string(e - b) + " bytes but shape " +
                              info.shape_string() + " of " + dt + " needs " + std::to_string(expected));
            info.begin = static_cast<std::size_t>(b);
            info.end = static_cast<std::size_t>(e);
            tensors_.push_back(std::move(info));
        }
        std::vector<const TensorInfo*> sorted;
        for (const auto& t : tensors_) sorted.push_back(&t);
        std::sort(sorted.begin(), sorted.end(), [](const TensorInfo* a, const TensorInfo* b) {
            return a->begin < b->begin || (a->begin == b->begin && a->end < b->end);
        });
        for (std::size_t i = 1; i < sorted.size(); ++i) {
            if (sorted[i]->begin < sorted[i - 1]->end)
                bad(path, "tensors " + sorted[i - 1]->name + " and " + sorted[i]->name + " overlap in the data block");
        }
        for (std::size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
    } catch (...) {
        ::munmap(const_cast<unsigned char*>(map_), map_size_);
        map_ = nullptr;
        throw;
    }
}

SafetensorsFile::~SafetensorsFile() {
    if (map_) ::munmap(const_cast<unsigned char*>(map_), map_size_);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

const unsigned char* SafetensorsFile::data(const TensorInfo& info) const noexcept {
    return map_ + data_start_ + info.begin;
}

std::vector<float> SafetensorsFile::to_float(const TensorInfo& info) const {
    const std::size_t n = static_cast<std::size_t>(info.numel());
    std::vector<float> out(n);
    const unsigned char* p = data(info);
    switch (info.dtype) {
    case DType::f32: std::memcpy(out.data(), p, n * 4); break;
    case DType::f16:
        for (std::size_t i = 0; i < n; ++i) out[i] = half_to_float(load_le<std::uint16_t>(p + 2 * i));
        break;
    case DType::bf16:
        for (std::size_t i = 0; i < n; ++i) out[i] = bfloat16_to_float(load_le<std::uint16_t>(p + 2 * i));
        break;
    case DType::f64:
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_le<double>(p + 8 * i));
        break;
    default: {
        const auto ints = to_int(info);
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(ints[i]);
    }
    }
    return out;
}

std::vector<std::int64_t> SafetensorsFile::to_int(const TensorInfo& info) const {
    const std::size_t n = static_cast<std::size_t>(info.numel());
    std::vector<std::int64_t> out(n);
    const unsigned char* p = data(info);
    for (std::size_t i = 0; i < n; ++i) {
        switch (info.dtype) {
        case DType::i64: out[i] = load_le<std::int64_t>(p + 8 * i); break;
        case DType::i32: out[i] = load_le<std::int32_t>(p + 4 * i); break;
        case DType::i16: out[i] = load_le<std::int16_t>(p + 2 * i); break;
        case DType::i8: out[i] = static_cast<std::int8_t>(p[i]); break;
        case DType::u8:
        case DType::boolean: out[i] = p[i]; break;
        default:
            fail(ErrorKind::model, path_ + ": tensor " + info.name + " has dtype " + dtype_name(info.dtype) +
                                       ", expected an integer dtype");
        }
    }
    return out;
}

void safetensors_write_f32(const std::string& path, const std::vector<TensorToWrite>& tensors,
                           const std::map<std::string, std::string>& metadata) {
    nlohmann::json header = nlohmann::json::object();
    std::vector<std::size_t> bytes;  // each tensor's data size, in the order written
    std::size_t offset = 0;
    for (const auto& t : tensors) {
        const std::string where = path + ": cannot write tensor \"" + t.name + "\": ";
        if (t.name.empty() || t.name == "__metadata__" || header.contains(t.name))
            fail(ErrorKind::usage, where + "the name is empty, reserved or repeated");
        std::size_t n = 1;
        for (auto d : t.shape) {
            if (d < 0) fail(ErrorKind::usage, where + "negative dimension in its shape");
            n *= static_cast<std::size_t>(d);
        }
        if (n != 0 && !t.data) fail(ErrorKind::usage, where + "no data");
        header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + 4 * n}}};
        offset += 4 * n;
        bytes.push_back(4 * n);
    }
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::json::exception& e) {  // e.g. a name or value that is not UTF-8
        fail(ErrorKind::usage, path + ": cannot write the safetensors header: " + e.what());
    }
    while (text.size() % 8 != 0) text += ' ';  // keep the data block 8-byte aligned

    AtomicOutputFile out(path);
    const std::uint64_t len = text.size();
    unsigned char len_le[8];
    for (int i = 0; i < 8; ++i) len_le[i] = static_cast<unsigned char>(len >> (8 * i));
    out.write(len_le, 8);
    out.write(text.data(), text.size());
    for (std::size_t i = 0; i < tensors.size(); ++i)
        out.write(tensors[i].data, bytes[i]);  // x86-64/aarch64 floats are little-endian already
    out.commit();
}

}  // namespace dnamba
