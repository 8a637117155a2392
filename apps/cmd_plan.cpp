// `dnamba plan`: input options + a shard size -> a plan TSV of row ranges (dnamba::plan_shards).
#include <cstdio>

#include "commands.hpp"
#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "dnamba/log.hpp"
#include "dnamba/shard.hpp"

namespace dnamba::cli {

int cmd_plan(int argc, char** argv) {
    std::string output;
    unsigned long long shard_bases = 0, shard_rows = 0;
    bool quiet = false;
    InputCli input;
    po::options_description desc("options");
    add_input_options(desc, input);
    desc.add_options()("shard-bases", po::value(&shard_bases)->value_name("N"),
                       "about N bases per shard (genomes, regions, windows)")(
        "shard-rows", po::value(&shard_rows)->value_name("N"), "about N rows per shard (read sets)")(
        "output,o", po::value(&output)->required()->value_name("FILE"),
        "plan TSV: shard first_row end_row rows bases first last");
    add_common_options(desc, quiet);
    const std::string usage =
        "usage: dnamba plan --input FILE [--regions BED] [--window N --stride S] (--shard-bases N | --shard-rows N) -o plan.tsv\n\n"
        "Cuts the rows the same input options would give `dnamba embed` or `dnamba classify` (windows,\n"
        "regions, records or reads, in input order) into shards of near-equal size, never splitting a\n"
        "row. Run each shard with the same options plus --rows FIRST:END and join the outputs with\n"
        "`dnamba merge`: the result equals one run over the whole input. Deterministic.\n\n" +
        exit_codes_help({0, 2, 3, 6});
    if (!parse_command_line(argc, argv, desc, usage)) return 0;
    if ((shard_bases == 0) == (shard_rows == 0)) fail(ErrorKind::usage, "give one of --shard-bases N or --shard-rows N (N > 0)");
    InputOptions in = make_input_options(input);
    if (in.first_row != 0 || in.end_row != UINT64_MAX) fail(ErrorKind::usage, "--rows selects a shard; plan the whole input");
    std::vector<std::string> inputs = in.bed_files;
    inputs.push_back(in.path);
    inputs.push_back(in.reader.reference);
    check_output_not_input(output, inputs);
    const auto shards = plan_shards(in, ShardLimits{shard_bases, shard_rows});
    write_shard_plan(shards, output);
    if (!log_quiet()) {
        std::uint64_t rows = 0, bases = 0, largest = 0;
        for (const auto& s : shards) {
            rows += s.end_row - s.first_row;
            bases += s.bases;
            largest = std::max(largest, shard_bases ? s.bases : s.end_row - s.first_row);
        }
        std::fprintf(stderr, "dnamba plan: %zu shard(s) over %llu row(s), %llu bases (largest shard %llu %s) -> %s\n",
                     shards.size(), static_cast<unsigned long long>(rows), static_cast<unsigned long long>(bases),
                     static_cast<unsigned long long>(largest), shard_bases ? "bases" : "rows", output.c_str());
    }
    return 0;
}

}  // namespace dnamba::cli
