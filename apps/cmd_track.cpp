// `dnamba track`: a classify table -> bedGraph/bigWig of one class (dnamba::track_from_calls).
#include <cstdio>

#include "commands.hpp"
#include "dnamba/classify.hpp"
#include "dnamba/log.hpp"

namespace dnamba::cli {

int cmd_track(int argc, char** argv) {
    std::string calls, genome, class_name, output;
    bool quiet = false;
    po::options_description desc("options");
    desc.add_options()("calls", po::value(&calls)->required()->value_name("TSV"), "table from dnamba classify -o calls.tsv")(
        "genome", po::value(&genome)->required()->value_name("FASTA"),
        "the genome the calls are on (chromosome sizes from its .fai, built when missing)")(
        "class", po::value(&class_name)->value_name("NAME"),
        "the class whose probability the track shows (default: the second class of a binary head)")(
        "output,o", po::value(&output)->required()->value_name("FILE"), ".bedgraph/.bg (.bedgraph.gz: bgzip-compressed; - : bedGraph on standard output) or .bw/.bigwig");
    add_common_options(desc, quiet);
    const std::string usage =
        "usage: dnamba track --calls calls.tsv --genome genome.fa [--class NAME] -o track.{bedgraph,bw}\n\n"
        "Draws the track `dnamba classify -o track.bedgraph` would draw, from a classify table: one\n"
        "run of the model gives calls for every class, tracks of any of them follow without it.\n\n" +
        exit_codes_help({0, 2, 3, 6});
    if (!parse_command_line(argc, argv, desc, usage)) return 0;
    const std::uint64_t rows = track_from_calls(calls, genome, class_name, output);
    if (!log_quiet())
        std::fprintf(stderr, "dnamba track: %llu row(s) -> %s\n", static_cast<unsigned long long>(rows), output.c_str());
    return 0;
}

}  // namespace dnamba::cli
