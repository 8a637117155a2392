// The model fingerprint that ties a head file to the checkpoint it was trained on (model.hpp).
#include <cstdio>
#include <fstream>
#include <vector>

#include "dnamba/error.hpp"
#include "dnamba/model.hpp"

namespace dnamba {

std::string model_fingerprint(const std::string& model_dir) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a 64
    for (const char* name : {"config.json", "model.safetensors"}) {
        const std::string path = model_dir + "/" + name;
        std::ifstream in(path, std::ios::binary);
        if (!in) fail(ErrorKind::model, path + ": cannot open");
        std::vector<char> buf(1 << 20);
        while (in) {
            in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
            for (std::streamsize i = 0; i < in.gcount(); ++i) {
                h ^= static_cast<unsigned char>(buf[static_cast<std::size_t>(i)]);
                h *= 1099511628211ull;
            }
        }
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
}

}  // namespace dnamba
