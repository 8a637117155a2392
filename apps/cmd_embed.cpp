// `dnamba embed`: options -> dnamba::embed_input.
#include <cstdio>

#include "commands.hpp"
#include "dnamba/embed.hpp"
#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "dnamba/log.hpp"

namespace dnamba::cli {

int cmd_embed(int argc, char** argv) {
    std::string model_dir, output;
    bool quiet = false;
    InputCli input;
    EmbedCli embed;
    ComputeOptions compute;
    po::options_description desc("options");
    add_model_option(desc, model_dir);
    add_input_options(desc, input);
    desc.add_options()(
        "output,o", po::value(&output)->required()->value_name("FILE"),
        "output; the extension picks the format: .npz (per-position, one L x C float32 array per "
        "row), .tsv (pooled, one row per record/region/window; .tsv.gz bgzip-compressed), .npy (pooled "
        "N x C float32 + FILE.names.tsv); - writes the pooled TSV to standard output (binary formats "
        "need a file name)");
    add_embed_options(desc, embed, "auto", "none | mean | max | first | last  (auto: none for .npz, mean otherwise)");
    add_compute_options(desc, compute);
    add_common_options(desc, quiet);
    const std::string usage =
        "usage: dnamba embed --model DIR --input FILE --output out.{npz,tsv,npy} [options]\n\n"
        "Embeds every record (or region, or window) of the input with the model, in input order.\n"
        "Rows carry name, chrom, start, end (0-based, half-open) and strand. The output is written\n"
        "under a temporary name and renamed when complete; with -o - the TSV table goes to standard\n"
        "output (progress and messages stay on standard error).\n\n"
        "examples:\n"
        "  dnamba embed -m M -i genome.fa.gz --regions peaks.bed --pool mean -o peaks.tsv\n"
        "  dnamba embed -m M -i genome.fa --region chr2:1,000,001-1,131,072 --pool none -o r.npz\n"
        "  dnamba embed -m M -i genome.fa --window 131072 --stride 65536 -o tiles.npy\n"
        "  samtools view -b -q 20 x.bam | dnamba embed -m M -i - -o reads.tsv\n"
        "  dnamba embed -m M -i genome.fa --regions peaks.bed -o - | cut -f1,6-\n\n" +
        exit_codes_help({0, 1, 2, 3, 4, 5, 6});
    if (!parse_command_line(argc, argv, desc, usage)) return 0;
    model_dir = resolve_model(model_dir);

    // the extension (an unknown one is rejected here, before loading anything) picks --pool auto
    EmbedOptions options = make_embed_options(
        embed, output_kind_for_path(output) == OutputKind::per_position ? PoolMode::none : PoolMode::mean);
    if (options.batch_tokens < 1) fail(ErrorKind::usage, "--batch-tokens must be at least 1");
    const InputOptions input_options = make_input_options(input);
    const DeviceSpec device = parse_device(compute.device);
    const EngineOptions engine_options = make_engine_options(compute);

    options.provenance = embed_provenance(model_fingerprint(model_dir), options, input_options.windows, engine_options.precision);
    const Model model = load_model(model_dir);
    const Engines engines = make_engines(model, device, engine_options);
    const EmbedSummary s = embed_input(engines, model, input_options, output, options);
    if (!log_quiet()) {
        std::fprintf(stderr,
                     "dnamba embed: %zu row(s), %zu bases from %s in %.2f s (%.0f nt/s) on %s\n"
                     "dnamba embed: wrote %s: %s, %d channels per %s (rc %s)\n",
                     s.records, s.bases, s.input.c_str(), s.seconds,
                     s.seconds > 0 ? static_cast<double>(s.bases) / s.seconds : 0.0, engines.description().c_str(),
                     s.output.c_str(),
                     options.pool == PoolMode::none ? "per-position" : (std::string("pooled ") + pool_name(options.pool)).c_str(),
                     s.channels, options.pool == PoolMode::none ? "position" : "row", rc_name(options.rc));
    }
    return 0;
}

}  // namespace dnamba::cli
