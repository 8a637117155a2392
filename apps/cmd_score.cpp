// `dnamba score`: options -> dnamba::score_track.
#include <cstdio>

#include "commands.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"
#include "dnamba/vep.hpp"

namespace dnamba::cli {

int cmd_score(int argc, char** argv) {
    std::string model_dir, output, track = "logp", rc = "none";
    bool quiet = false;
    InputCli input;
    ScoreOptions options;
    ComputeOptions compute;
    po::options_description desc("options");
    add_model_option(desc, model_dir);
    add_input_options(desc, input);
    desc.add_options()("track", po::value(&track)->default_value(track)->value_name("T"),
                       "logp: log p(reference base) from the LM head; entropy: of the predicted A/C/G/T distribution (nats)")(
        "masked", po::bool_switch(&options.masked),
        "mask each position in turn (masked LMs): one forward pass per base, L times the cost")(
        "rc", po::value(&rc)->default_value(rc)->value_name("MODE"), "none | average (both strands' log-probabilities)")(
        "output,o", po::value(&output)->required()->value_name("FILE"),
        ".bw/.bigwig or .bedgraph/.bg (one value per base; overlapping windows averaged; .bedgraph.gz bgzipped), "
        ".npz (per row L x 5: p(A) p(C) p(G) p(T) track), .tsv (name chrom pos base value; .tsv.gz bgzipped; "
        "- on standard output)");
    add_batch_tokens_option(desc, options.batch_tokens);
    add_compute_options(desc, compute);
    add_common_options(desc, quiet);
    const std::string usage =
        "usage: dnamba score --model DIR --input genome.fa [--region R | --regions BED] [--window N] -o out.{bw,bedgraph,npz,tsv}\n\n"
        "Per-base likelihood tracks of the language model over records, regions or windows.\n\n"
        "example:\n"
        "  dnamba score -m M -i genome.fa --region chr1:1-2,000,000 --window 1000 --track logp -o chr1.logp.bw\n\n" +
        exit_codes_help({0, 1, 2, 3, 4, 5, 6}, {{4, "bad model, or a model without an LM head"}});
    if (!parse_command_line(argc, argv, desc, usage)) return 0;
    model_dir = resolve_model(model_dir);

    options.track = parse_track_kind(track);
    options.rc = parse_rc(rc);
    if (options.batch_tokens < 1) fail(ErrorKind::usage, "--batch-tokens must be at least 1");
    const InputOptions input_options = make_input_options(input);
    const DeviceSpec device = parse_device(compute.device);
    const EngineOptions engine_options = make_engine_options(compute);
    const Model model = load_model(model_dir);
    const Engines engines = make_engines(model, device, engine_options);
    const ScoreSummary s = score_track(engines, model, input_options, output, options);
    if (!log_quiet())
        std::fprintf(stderr, "dnamba score: %zu row(s), %zu bases, %zu passes in %.2f s on %s -> %s\n", s.rows, s.bases,
                     s.passes, s.seconds, engines.description().c_str(), output.c_str());
    return 0;
}

}  // namespace dnamba::cli
