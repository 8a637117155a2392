// The .npy header writer (format described in npy.hpp).
#include "io/npy.hpp"

#include <stdexcept>

namespace dnamba::io_detail {

std::string npy_f32_header(const std::vector<std::uint64_t>& shape, std::size_t total_size) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) dict += ", ";
        dict += std::to_string(shape[i]);
    }
    if (shape.size() == 1) dict += ",";  // a Python 1-tuple
    dict += "), }";

    const std::size_t prefix = 10;  // magic(6) + version(2) + header length(2)
    const std::size_t unpadded = prefix + dict.size() + 1;  // + '\n'
    std::size_t total = total_size;
    if (total == 0) total = (unpadded + 63) / 64 * 64;
    if (total % 64 != 0 || total < unpadded || total - prefix > 0xffff) {
        throw std::logic_error("npy_f32_header: shape does not fit a " + std::to_string(total_size) + "-byte header");
    }
    std::string out("\x93NUMPY\x01\x00", 8);
    put_u16(out, static_cast<std::uint32_t>(total - prefix));
    out += dict;
    out.append(total - unpadded, ' ');
    out += '\n';
    return out;
}

}  // namespace dnamba::io_detail
