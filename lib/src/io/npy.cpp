// The one .npy header writer and the one .npy header parser (format described in npy.hpp).
// The parser reads what numpy.save writes (versions 1.0 to 3.0, keys in any order) and
// names the file or .npz member and the exact defect in every error, since these arrays
// come from users' own numpy code as often as from dnamba.
#include "io/npy.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "dnamba/error.hpp"

namespace dnamba::io_detail {

std::string npy_f32_header(const std::vector<std::uint64_t>& shape, std::size_t total_size) {
    return npy_header("<f4", shape, total_size);
}

std::string npy_header(const std::string& descr, const std::vector<std::uint64_t>& shape, std::size_t total_size) {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
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
        throw std::logic_error("npy_header: shape does not fit a " + std::to_string(total_size) + "-byte header");
    }
    std::string out("\x93NUMPY\x01\x00", 8);
    put_u16(out, static_cast<std::uint32_t>(total - prefix));
    out += dict;
    out.append(total - unpadded, ' ');
    out += '\n';
    return out;
}

namespace {

// numpy itself refuses headers over 10000 bytes by default; this only stops a garbage
// length from allocating gigabytes.
constexpr std::uint64_t k_max_dict_bytes = 1u << 20;

[[noreturn]] void bad(const std::string& where, const std::string& what) { fail(ErrorKind::input, where + ": " + what); }

std::string shape_text(const std::vector<std::uint64_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

// The header dict: a Python literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }
class DictParser {
public:
    DictParser(const std::string& text, const std::string& where) : s_(text), where_(where) {}

    NpyHeader parse() {
        NpyHeader h;
        bool descr = false, fortran = false, shape = false;
        expect('{');
        while (peek() != '}') {
            const std::string key = quoted();
            expect(':');
            if (key == "descr") {
                if (peek() == '[' || peek() == '{')
                    bad(where_, "unsupported dtype: a structured (record) dtype; expected float32 ('<f4')");
                h.descr = quoted();
                descr = true;
            } else if (key == "fortran_order") {
                h.fortran_order = boolean();
                fortran = true;
            } else if (key == "shape") {
                h.shape = tuple();
                shape = true;
            } else {
                malformed("unknown key '" + key + "'");
            }
            if (peek() != ',') break;
            ++i_;
        }
        expect('}');
        if (peek() != '\0') malformed("text after the closing '}'");
        if (!descr) malformed("no 'descr'");
        if (!fortran) malformed("no 'fortran_order'");
        if (!shape) malformed("no 'shape'");
        return h;
    }

private:
    // The next non-blank character, '\0' at the end (numpy pads with spaces and a '\n').
    char peek() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
        return i_ < s_.size() ? s_[i_] : '\0';
    }
    void expect(char c) {
        if (peek() != c) malformed(std::string("expected '") + c + "'");
        ++i_;
    }
    std::string quoted() {
        const char q = peek();
        if (q != '\'' && q != '"') malformed("expected a quoted string");
        const std::size_t end = s_.find(q, i_ + 1);
        if (end == std::string::npos) malformed("unterminated string");
        std::string v = s_.substr(i_ + 1, end - i_ - 1);
        i_ = end + 1;
        return v;
    }
    bool boolean() {
        peek();
        if (s_.compare(i_, 4, "True") == 0) {
            i_ += 4;
            return true;
        }
        if (s_.compare(i_, 5, "False") == 0) {
            i_ += 5;
            return false;
        }
        malformed("'fortran_order' is neither True nor False");
    }
    std::vector<std::uint64_t> tuple() {
        expect('(');
        std::vector<std::uint64_t> dims;
        while (peek() != ')') {
            dims.push_back(dimension());
            if (peek() == ',') ++i_;
            else if (peek() != ')') malformed("expected ',' or ')' in 'shape'");
        }
        ++i_;
        return dims;
    }
    std::uint64_t dimension() {
        peek();
        const std::size_t start = i_;
        std::uint64_t v = 0;
        constexpr auto k_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        for (; i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9'; ++i_) {
            const auto digit = static_cast<std::uint64_t>(s_[i_] - '0');
            if (v > (k_max - digit) / 10) malformed("a dimension in 'shape' is too large");
            v = v * 10 + digit;
        }
        if (i_ == start) malformed("'shape' holds something other than non-negative integers");
        if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2 longs, in old files
        return v;
    }
    [[noreturn]] void malformed(const std::string& why) const {
        std::string shown = s_.substr(0, s_.find_last_not_of(" \n\r\t") + 1);
        if (shown.size() > 200) shown = shown.substr(0, 200) + "...";
        bad(where_, "malformed .npy header (" + why + "): " + shown);
    }

    const std::string& s_;
    const std::string& where_;
    std::size_t i_ = 0;
};

}  // namespace

NpyHeader npy_parse_header(const NpyByteSource& read, std::uint64_t total_bytes, const std::string& where) {
    const std::string prefix = read(0, std::min<std::uint64_t>(total_bytes, 12));
    if (prefix.size() < 6 || prefix.compare(0, 6, "\x93NUMPY") != 0)
        bad(where, "not a .npy array (it does not start with the \\x93NUMPY magic)");
    const auto major = static_cast<unsigned char>(prefix.size() > 6 ? prefix[6] : 0);
    const auto minor = static_cast<unsigned char>(prefix.size() > 7 ? prefix[7] : 0);
    const std::size_t length_bytes = major == 1 ? 2 : 4;
    if (prefix.size() < 8 + length_bytes)
        bad(where, "truncated .npy header (the whole array is " + std::to_string(total_bytes) + " bytes)");
    if (major < 1 || major > 3 || minor != 0)
        bad(where, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                       " (dnamba reads 1.0, 2.0 and 3.0)");
    std::uint64_t dict_bytes = 0;
    for (std::size_t i = length_bytes; i > 0; --i)
        dict_bytes = (dict_bytes << 8) | static_cast<unsigned char>(prefix[8 + i - 1]);
    if (dict_bytes > k_max_dict_bytes)
        bad(where, "the .npy header claims " + std::to_string(dict_bytes) + " bytes, more than any real header");
    const std::uint64_t data_offset = 8 + length_bytes + dict_bytes;
    if (data_offset > total_bytes)
        bad(where, "truncated .npy header: it needs " + std::to_string(data_offset) + " bytes, the array has " +
                       std::to_string(total_bytes));
    const std::string dict = read(8 + length_bytes, dict_bytes);
    NpyHeader h = DictParser(dict, where).parse();
    h.data_offset = data_offset;
    return h;
}

NpyMatrixLayout npy_parse_f32_matrix(const NpyByteSource& read, std::uint64_t total_bytes, const std::string& where) {
    const NpyHeader h = npy_parse_header(read, total_bytes, where);
    if (h.descr != "<f4") bad(where, "unsupported dtype '" + h.descr + "'; expected float32 ('<f4')");
    if (h.fortran_order)
        bad(where, "the array is in Fortran order; expected C order (numpy.ascontiguousarray before saving)");
    if (h.shape.size() != 2) bad(where, "expected a 2-D array, the shape is " + shape_text(h.shape));
    NpyMatrixLayout m{h.shape[0], h.shape[1], h.data_offset};
    // The data check below bounds rows*cols, not a dimension beside a zero one: (2^60, 0)
    // holds no data yet would make a reader loop or allocate per row (or per column).
    if (m.cols > k_max_matrix_cols)
        bad(where, "shape " + shape_text(h.shape) + " has more columns than any embedding (at most " +
                       std::to_string(k_max_matrix_cols) + ")");
    if (m.cols == 0 && m.rows > k_max_matrix_cols)
        bad(where, "shape " + shape_text(h.shape) + " has more rows of zero columns than any real table (at most " +
                       std::to_string(k_max_matrix_cols) + ")");
    const std::uint64_t available = total_bytes - h.data_offset;
    if (m.cols != 0 && m.rows > available / sizeof(float) / m.cols) {
        const bool fits = m.rows <= std::numeric_limits<std::uint64_t>::max() / sizeof(float) / m.cols;
        bad(where, "truncated data: shape " + shape_text(h.shape) + " needs " +
                       (fits ? std::to_string(m.rows * m.cols * sizeof(float)) : std::string("more than 2^64")) +
                       " bytes of float32 data, only " + std::to_string(available) + " follow the header");
    }
    return m;
}

NpyMatrixLayout npy_open_f32_matrix(const std::string& path, std::ifstream& in) {
    in.open(path, std::ios::binary);
    if (!in) bad(path, "cannot open");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size < 0) bad(path, "cannot find its size (not a regular file?)");
    const NpyByteSource read = [&](std::uint64_t offset, std::uint64_t bytes) {
        std::string buf(bytes, '\0');
        in.seekg(static_cast<std::streamoff>(offset));
        if (!in.read(buf.data(), static_cast<std::streamsize>(bytes))) bad(path, "read failed");
        return buf;
    };
    const NpyMatrixLayout m = npy_parse_f32_matrix(read, static_cast<std::uint64_t>(size), path);
    in.seekg(static_cast<std::streamoff>(m.data_offset));
    return m;
}

}  // namespace dnamba::io_detail
