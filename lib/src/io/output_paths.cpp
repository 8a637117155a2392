// check_output_not_input (dnamba/io.hpp): an output never replaces one of its inputs. The
// atomic rename would otherwise swap the input for the output without a word.
#include <filesystem>

#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "io/text_util.hpp"

namespace dnamba {
namespace {

bool same_file(const std::string& a, const std::string& b) {
    std::error_code ec;
    if (std::filesystem::equivalent(a, b, ec) && !ec) return true;  // both exist: links, "./x" vs "x"
    const auto norm = [](const std::string& p) {
        std::error_code e;
        const auto abs = std::filesystem::absolute(p, e);
        return (e ? std::filesystem::path(p) : abs).lexically_normal();
    };
    return norm(a) == norm(b);
}

}  // namespace

void check_output_not_input(const std::string& output, const std::vector<std::string>& inputs) {
    std::vector<std::string> outputs = {output};
    if (io_detail::lower_extension(output) == ".npy") outputs.push_back(npy_names_path(output));
    for (const auto& out : outputs) {
        if (out.empty() || out == "-") continue;
        for (const auto& in : inputs) {
            if (in.empty() || in == "-") continue;
            if (same_file(out, in))
                fail(ErrorKind::usage, out + " is also an input (" + in + "); write the output to another file");
        }
    }
}

}  // namespace dnamba
