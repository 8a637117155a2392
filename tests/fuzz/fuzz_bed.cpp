// libFuzzer target: BedReader over arbitrary bytes (plain, or gzip/bgzip when compressed).
// Every region it returns must be a valid non-empty interval; rejections are Error(input)
// naming "file:line".
#include <cstddef>
#include <cstdint>
#include <string>

#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dnamba::fuzz::TempDir dir;
    const std::string path = dir.write("in.bed", data, size);
    try {
        dnamba::BedReader reader(path);
        dnamba::Region r;
        while (reader.next(r)) {
            DNAMBA_FUZZ_CHECK(!r.chrom.empty());
            DNAMBA_FUZZ_CHECK(r.start >= 0);
            DNAMBA_FUZZ_CHECK(r.start < r.end);
            DNAMBA_FUZZ_CHECK(r.strand == '+' || r.strand == '-' || r.strand == '.');
            DNAMBA_FUZZ_CHECK(r.name != ".");
            DNAMBA_FUZZ_CHECK(r.source.rfind(path + ":", 0) == 0);
        }
        DNAMBA_FUZZ_CHECK(!reader.next(r));
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::input);
        DNAMBA_FUZZ_CHECK(std::string(e.what()).rfind(path + ":", 0) == 0);
    }
    return 0;
}
