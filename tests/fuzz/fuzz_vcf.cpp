// libFuzzer target: the VCF path of `dnamba vep` and `dnamba merge` over arbitrary bytes (a VCF,
// a bgzipped VCF or a BCF, as htslib detects it): VcfReader reads every record, which is written
// back through VcfWriter as .vcf.gz (the indexed output), and vcf_concatenate joins the input
// with itself (what merge does with shards). Each step either succeeds, or throws Error(input)
// or Error(usage) naming the file (Error(io) for a record htslib cannot write back), and
// leaves nothing under the output's name.
#include <htslib/vcf.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "dnamba/error.hpp"
#include "dnamba/log.hpp"
#include "fuzz_util.hpp"
#include "io/vcf.hpp"

namespace {
bool expected(const dnamba::Error& e, const std::string& path) {
    return (e.kind() == dnamba::ErrorKind::input || e.kind() == dnamba::ErrorKind::usage) &&
           std::string(e.what()).find(path) != std::string::npos;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dnamba::fuzz::TempDir dir;
    static const bool quiet = (dnamba::set_log_quiet(true), true);
    (void)quiet;
    const std::string in = dir.write("in.vcf", data, size);
    const std::string out = dir.path() + "/out.vcf.gz", merged = dir.path() + "/merged.vcf";
    dir.remove("out.vcf.gz");
    dir.remove("out.vcf.gz.tbi");
    dir.remove("merged.vcf");
    std::size_t records = 0;
    try {
        dnamba::VcfReader reader(in, {});
        dnamba::VcfWriter writer(out, dnamba::VariantOutputFormat::vcf_gz, reader.header());
        while (auto rec = reader.next()) {
            writer.write(rec.get());
            records++;
        }
        DNAMBA_FUZZ_CHECK(reader.records_read() == records);
        writer.commit();
        DNAMBA_FUZZ_CHECK(::access(out.c_str(), F_OK) == 0);
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(expected(e, in) || e.kind() == dnamba::ErrorKind::io);
        DNAMBA_FUZZ_CHECK(::access(out.c_str(), F_OK) != 0);
    }
    try {
        const std::uint64_t rows = dnamba::vcf_concatenate({in, in}, merged);
        DNAMBA_FUZZ_CHECK(rows == 2 * records);
        DNAMBA_FUZZ_CHECK(::access(merged.c_str(), F_OK) == 0);
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::input || e.kind() == dnamba::ErrorKind::usage ||
                          e.kind() == dnamba::ErrorKind::io);
        DNAMBA_FUZZ_CHECK(::access(merged.c_str(), F_OK) != 0);
    }
    return 0;
}
