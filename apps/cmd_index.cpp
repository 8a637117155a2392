// `dnamba index`: builds (or checks) the .fai of a FASTA through dnamba::IndexedFasta.
#include <cstdio>

#include "commands.hpp"
#include "dnamba/input.hpp"
#include "dnamba/log.hpp"

namespace dnamba::cli {

int cmd_index(int argc, char** argv) {
    std::string fasta;
    bool quiet = false;
    po::options_description desc("options");
    desc.add_options()("input,i", po::value(&fasta)->required()->value_name("FASTA"),
                       "plain or bgzip FASTA (a plain-gzip file cannot be indexed: decompress it or bgzip it)");
    add_common_options(desc, quiet);
    po::positional_options_description positional;
    positional.add("input", 1);
    const std::string usage =
        "usage: dnamba index genome.fa\n\n"
        "Writes genome.fa.fai (and .gzi for bgzip) beside the FASTA, as samtools faidx does, after\n"
        "checking that every sequence line has the same width. Other subcommands build it on\n"
        "demand; this makes it a step of its own (read-only inputs, pipelines).\n\n" +
        exit_codes_help({0, 2, 3}, {{3, "not an indexable FASTA"}});
    if (!parse_command_line(argc, argv, desc, usage, &positional)) return 0;
    const IndexedFasta index(fasta);
    if (!log_quiet())
        std::fprintf(stderr, "dnamba index: %s: %zu sequence(s), %lld bases\n", fasta.c_str(), index.names().size(),
                     static_cast<long long>(index.total_length()));
    return 0;
}

}  // namespace dnamba::cli
