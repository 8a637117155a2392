// `dnamba embed`: options -> dnamba::embed_fasta.
#include <iostream>

#include "commands.hpp"
#include "dnamba/embed.hpp"
#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "dnamba/log.hpp"

namespace dnamba::cli {

int cmd_embed(int argc, char** argv) {
    std::string model_dir, input, output, pool = "auto", rc = "none";
    bool add_sep = false, quiet = false;
    ComputeOptions compute;
    po::options_description desc("options");
    add_model_option(desc, model_dir);
    desc.add_options()("input,i", po::value(&input)->required()->value_name("FILE"),
                       "FASTA file (plain or gzip/bgzip), or - for standard input")(
        "output,o", po::value(&output)->required()->value_name("FILE"),
        "output; the extension picks the format: .npz (per-position, one L x C float32 array per "
        "record), .tsv (pooled, one row per record), .npy (pooled N x C float32 + FILE.names.tsv)")(
        "pool", po::value(&pool)->default_value("auto")->value_name("MODE"),
        "none | mean | max | first | last  (auto: none for .npz, mean otherwise)")(
        "rc", po::value(&rc)->default_value("none")->value_name("MODE"),
        "none: the model's own output (2*d_model channels for RC-equivariant PS models); "
        "average: strand-invariant d_model channels, position-aligned (see README)")(
        "add-sep", po::bool_switch(&add_sep), "append the [SEP] token to every sequence (as the HF tokenizer does)");
    add_compute_options(desc, compute);
    add_common_options(desc, quiet);
    const std::string usage =
        "usage: dnamba embed --model DIR --input seqs.fa --output out.{npz,tsv,npy} [options]\n\n"
        "Embeds every FASTA record with the model. The output is written under a temporary name\n"
        "and renamed when complete.";
    if (!parse_command_line(argc, argv, desc, usage)) return 0;

    EmbedOptions options;
    if (pool == "auto") {
        options.pool = output_kind_for_path(output) == OutputKind::per_position ? PoolMode::none : PoolMode::mean;
    } else {
        options.pool = parse_pool(pool);
    }
    options.rc = parse_rc(rc);
    options.add_sep = add_sep;
    const DeviceSpec device = parse_device(compute.device);
    (void)output_kind_for_path(output);  // reject an unknown extension before loading anything

    const Model model = load_model(model_dir);
    EngineOptions engine_options;
    engine_options.threads = compute.threads;
    auto engine = make_engine(model, device, engine_options);
    const EmbedSummary s = embed_fasta(*engine, model, input, output, options);
    if (!log_quiet()) {
        std::fprintf(stderr,
                     "dnamba embed: %zu record(s), %zu bases in %.2f s (%.0f nt/s) on %s\n"
                     "dnamba embed: wrote %s: %s, %d channels per %s (rc %s)\n",
                     s.records, s.bases, s.seconds, s.seconds > 0 ? static_cast<double>(s.bases) / s.seconds : 0.0,
                     engine->description().c_str(), s.output.c_str(),
                     options.pool == PoolMode::none ? "per-position" : (std::string("pooled ") + pool_name(options.pool)).c_str(),
                     s.channels, options.pool == PoolMode::none ? "position" : "record", rc.c_str());
    }
    return 0;
}

}  // namespace dnamba::cli
