// model/safetensors.hpp (private) — a validating, memory-mapped reader of .safetensors files, and the
// writer of F32 tensors with metadata that dnamba's own safetensors files (heads) go through.
//
// Format: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the data block. Offsets are relative to the data block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dnamba {

enum class DType { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean };

[[nodiscard]] const char* dtype_name(DType dtype) noexcept;  // "F32", "BF16", ...
[[nodiscard]] std::size_t dtype_size(DType dtype) noexcept;  // bytes per element

struct TensorInfo {
    std::string name;
    DType dtype = DType::f32;
    std::vector<std::int64_t> shape;
    std::size_t begin = 0;  // byte range inside the data block
    std::size_t end = 0;
    [[nodiscard]] std::int64_t numel() const;
    [[nodiscard]] std::string shape_string() const;  // "[40,256]"
};

class SafetensorsFile {
public:
    // Maps `path` read-only and validates the whole header: JSON, known dtypes, non-negative
    // shapes, shape x dtype size == byte range, ranges inside the file and not overlapping.
    // Throws Error(model) naming the file (and tensor) on any violation.
    explicit SafetensorsFile(const std::string& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] const std::vector<TensorInfo>& tensors() const noexcept { return tensors_; }
    [[nodiscard]] const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
    // nullptr when absent.
    [[nodiscard]] const TensorInfo* find(const std::string& name) const;
    // Raw bytes of a tensor (valid while this object lives).
    [[nodiscard]] const unsigned char* data(const TensorInfo& info) const noexcept;
    // Converts a floating tensor (F32/F16/BF16/F64) or integer tensor to float32.
    [[nodiscard]] std::vector<float> to_float(const TensorInfo& info) const;
    // Integer tensors (I32/I64/I16/I8/U8) to int64. Throws Error(model) for float tensors.
    [[nodiscard]] std::vector<std::int64_t> to_int(const TensorInfo& info) const;

private:
    std::string path_;
    const unsigned char* map_ = nullptr;
    std::size_t map_size_ = 0;
    std::size_t data_start_ = 0;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, std::string> metadata_;
    std::map<std::string, std::size_t> index_;
};

// One float32 tensor to write: `data` holds the product of `shape` floats, row-major (it may
// be null when that is 0), and must stay valid during the call.
struct TensorToWrite {
    std::string name;
    std::vector<std::int64_t> shape;
    const float* data = nullptr;
};

// Writes `tensors` as the .safetensors file `path`: the 8-byte header length, the header JSON
// (keys sorted, as nlohmann::json orders them, with `metadata` as "__metadata__", left out
// when empty) padded with spaces so that the data block starts 8-byte aligned, then each
// tensor's F32 data in the order given. The same arguments always give the same bytes.
// Written through AtomicOutputFile (io/atomic_output.hpp): nothing appears under `path`, and an
// existing file there is not replaced, unless the whole file was written.
// Throws Error(usage) naming `path` (and the tensor) for an empty, repeated or "__metadata__"
// tensor name, a negative dimension, null data or text that is not UTF-8; Error(io) naming
// `path` when the file cannot be created or written.
void safetensors_write_f32(const std::string& path, const std::vector<TensorToWrite>& tensors,
                           const std::map<std::string, std::string>& metadata = {});

// IEEE half / bfloat16 to float.
[[nodiscard]] float half_to_float(std::uint16_t h) noexcept;
[[nodiscard]] float bfloat16_to_float(std::uint16_t b) noexcept;

}  // namespace dnamba
