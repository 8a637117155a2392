// libFuzzer target: parse_region over arbitrary text, plus window_bounds over arbitrary
// numbers taken from the same bytes. A parsed region must be a valid interval that reads back
// the same when printed in samtools form; rejections are Error(usage).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "fuzz_util.hpp"

namespace {

constexpr std::int64_t kToEnd = std::numeric_limits<std::int64_t>::max();

void check_region(const std::string& text) {
    dnamba::Region r;
    try {
        r = dnamba::parse_region(text);
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::usage);
        DNAMBA_FUZZ_CHECK(std::string(e.what()).rfind("--region '", 0) == 0);
        return;
    }
    DNAMBA_FUZZ_CHECK(!r.chrom.empty());
    DNAMBA_FUZZ_CHECK(r.start >= 0);
    DNAMBA_FUZZ_CHECK(r.start < r.end);
    DNAMBA_FUZZ_CHECK(r.source == "--region");
    // Round trip through the braces form, which takes any contig name without '}'.
    if (r.chrom.find('}') != std::string::npos) return;
    std::string again = "{" + r.chrom + "}:" + std::to_string(r.start + 1);
    if (r.end != kToEnd) again += "-" + std::to_string(r.end);
    const dnamba::Region b = dnamba::parse_region(again);
    DNAMBA_FUZZ_CHECK(b.chrom == r.chrom && b.start == r.start && b.end == r.end);
}

void check_windows(const std::uint8_t* data, std::size_t size) {
    if (size < 25) return;
    std::int64_t v[3];
    std::memcpy(v, data, sizeof v);
    const std::int64_t length = v[0];
    dnamba::WindowSpec spec;
    spec.window = v[1];
    spec.stride = v[2];
    spec.tail = (data[24] & 1) ? dnamba::TailMode::drop : dnamba::TailMode::keep;
    // Keep the output small: at most ~4096 windows.
    const std::int64_t step = spec.stride == 0 ? spec.window : spec.stride;
    if (length > 0 && step > 0 && length / step > 4096) return;
    try {
        const auto w = dnamba::window_bounds(length, spec);
        DNAMBA_FUZZ_CHECK(spec.window > 0 && spec.stride >= 0);
        std::int64_t prev = -1;
        for (const auto& [s, e] : w) {
            DNAMBA_FUZZ_CHECK(s >= 0 && s < e && e <= length);
            DNAMBA_FUZZ_CHECK(e - s <= spec.window);
            DNAMBA_FUZZ_CHECK(s > prev);
            if (spec.tail == dnamba::TailMode::drop) DNAMBA_FUZZ_CHECK(e - s == spec.window);
            prev = s;
        }
        if (length > 0 && spec.tail == dnamba::TailMode::keep) {
            DNAMBA_FUZZ_CHECK(!w.empty() && w.front().first == 0);
            // Tiling with stride <= window covers everything up to the end.
            if (step <= spec.window) DNAMBA_FUZZ_CHECK(w.back().second == length);
        }
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::usage);
        DNAMBA_FUZZ_CHECK(spec.window <= 0 || spec.stride < 0);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check_region(std::string(reinterpret_cast<const char*>(data), size));
    check_windows(data, size);
    return 0;
}
