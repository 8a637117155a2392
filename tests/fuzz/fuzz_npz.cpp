// libFuzzer target: the readers behind `dnamba merge`: the .npz archive reader (ZIP, ZIP64,
// CRC-32, member .npy headers) and the .npy parser (first bytes of the input as a pooled
// table). Every member handed on must hold rows*cols floats; rejections are Error(input)
// naming the file.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "dnamba/error.hpp"
#include "fuzz_util.hpp"
#include "io/npy.hpp"
#include "io/npz_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dnamba::fuzz::TempDir dir;
    const std::string npz = dir.write("in.npz", data, size);
    try {
        std::uint64_t members = 0;
        dnamba::io_detail::npz_for_each(npz, [&](dnamba::io_detail::NpzMember& m) {
            DNAMBA_FUZZ_CHECK(m.data.size() == m.rows * m.cols);
            DNAMBA_FUZZ_CHECK(m.cols <= dnamba::io_detail::k_max_matrix_cols);
            ++members;
        });
        DNAMBA_FUZZ_CHECK(members <= size);
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::input);
        DNAMBA_FUZZ_CHECK(std::string(e.what()).rfind(npz + ":", 0) == 0);
    }
    const std::string npy = dir.write("in.npy", data, size);
    try {
        std::ifstream in;
        const auto m = dnamba::io_detail::npy_open_f32_matrix(npy, in);
        DNAMBA_FUZZ_CHECK(m.data_offset <= size);
        DNAMBA_FUZZ_CHECK(m.cols == 0 || m.rows <= (size - m.data_offset) / 4 / m.cols);
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::input);
        DNAMBA_FUZZ_CHECK(std::string(e.what()).rfind(npy + ":", 0) == 0);
    }
    return 0;
}
