// libFuzzer target: track_from_calls over an arbitrary calls table (the input of `dnamba
// track`) against a fixed two-chromosome genome, written as bedGraph. Either a track is
// written, or Error(input) or Error(usage) (no second class) naming the table is thrown and
// no output is left behind.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "dnamba/classify.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dnamba::fuzz::TempDir dir;
    static const std::string genome = [] {
        dnamba::set_log_quiet(true);
        const std::string fa = ">chr1\n" + std::string(300, 'A') + "\n>chr2\n" + std::string(120, 'C') + "\n";
        return dir.write("g.fa", reinterpret_cast<const std::uint8_t*>(fa.data()), fa.size());
    }();
    const std::string calls = dir.write("calls.tsv", data, size);
    const std::string out = dir.path() + "/t.bedgraph";
    dir.remove("t.bedgraph");
    try {
        const std::uint64_t rows = dnamba::track_from_calls(calls, genome, "", out);
        DNAMBA_FUZZ_CHECK(rows > 0);
        DNAMBA_FUZZ_CHECK(::access(out.c_str(), F_OK) == 0);
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::input || e.kind() == dnamba::ErrorKind::usage);
        DNAMBA_FUZZ_CHECK(::access(out.c_str(), F_OK) != 0);
    }
    return 0;
}
