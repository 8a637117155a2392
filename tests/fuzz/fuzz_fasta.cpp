// libFuzzer target: FastaReader over arbitrary bytes (plain text, or gzip/bgzip when the
// bytes happen to be compressed). Error is the expected way to reject input; anything else
// (crash, sanitizer report, another exception, a broken invariant) is a finding.
#include <cstddef>
#include <cstdint>

#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dnamba::fuzz::TempDir dir;
    const std::string path = dir.write("in.fa", data, size);
    try {
        dnamba::FastaReader reader(path);
        dnamba::SequenceRecord rec;
        std::size_t n = 0;
        while (reader.next(rec)) {
            ++n;
            DNAMBA_FUZZ_CHECK(!rec.name.empty());
            DNAMBA_FUZZ_CHECK(!rec.seq.empty());
            for (const char c : rec.name) DNAMBA_FUZZ_CHECK(c != ' ' && c != '\t' && c != '\n' && c != '\r');
            for (const char c : rec.seq) {
                const auto u = static_cast<unsigned char>(c);
                DNAMBA_FUZZ_CHECK(u > 0x20 && u < 0x7f);
            }
            DNAMBA_FUZZ_CHECK(reader.records_read() == n);
        }
        // The end is sticky.
        DNAMBA_FUZZ_CHECK(!reader.next(rec));
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::input);
    }
    return 0;
}
