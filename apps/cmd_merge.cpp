// `dnamba merge`: shard outputs -> one output (dnamba::merge_shard_outputs).
#include <cstdio>

#include "commands.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"
#include "dnamba/shard.hpp"

namespace dnamba::cli {

int cmd_merge(int argc, char** argv) {
    std::string output;
    std::vector<std::string> inputs;
    bool quiet = false;
    po::options_description desc("options");
    desc.add_options()("output,o", po::value(&output)->required()->value_name("FILE"),
                       "merged output: .tsv (embeddings, classify calls or vep tables), .npy (+ .names.tsv), .npz, or "
                       ".vcf/.vcf.gz/.bcf (vep shards in any of the three; .vcf.gz + .tbi and .bcf + .csi indexed)")(
        "inputs", po::value(&inputs)->composing()->value_name("SHARD"), "shard outputs, in order");
    add_common_options(desc, quiet);
    po::positional_options_description positional;
    positional.add("inputs", -1);
    const std::string usage =
        "usage: dnamba merge -o OUT SHARD...\n\n"
        "Concatenates the outputs of the shards of one `dnamba plan`, in the order given, into OUT\n"
        "(same format; every shard must have OUT's extension and the same header or channel count;\n"
        "VCF shards of `dnamba vep --region` may be .vcf, .vcf.gz or .bcf for any VCF output).\n"
        "The result is byte for byte what one `dnamba embed`/`classify` run over the whole input\n"
        "writes. OUT appears only when complete.\n\n" +
        exit_codes_help({0, 2, 3, 6}, {{3, "a shard output is missing or malformed"}});
    if (!parse_command_line(argc, argv, desc, usage, &positional)) return 0;
    const std::uint64_t rows = merge_shard_outputs(inputs, output);
    if (!log_quiet())
        std::fprintf(stderr, "dnamba merge: %zu shard(s), %llu row(s) -> %s\n", inputs.size(),
                     static_cast<unsigned long long>(rows), output.c_str());
    return 0;
}

}  // namespace dnamba::cli
