// `dnamba bench`: forward-pass timing (dnamba::Bench) on a preset with random weights (no
// checkpoint needed), or on a checkpoint directory with its own or random weights.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "dnamba/bench.hpp"
#include "dnamba/error.hpp"

namespace dnamba::cli {

int cmd_bench(int argc, char** argv) {
    std::string lengths_text, tsv;
    bool quiet = false;
    BenchOptions o;
    ComputeOptions compute;
    po::options_description desc("options");
    desc.add_options()("preset", po::value(&o.preset)->value_name("P"),
                       "caduceus-131k (d_model 256, 16 layers; the default) | caduceus-1k (d_model 256, 4 layers) | "
                       "caduceus-ps-131k | caduceus-ps-1k (the same shapes, RC-equivariant: rcps, 2*d_model "
                       "channels); bidirectional add, tied projections, RMSNorm, random weights");
    add_model_option(desc, o.model_dir, false);
    desc.add_options()("random-weights", po::bool_switch(&o.random_weights),
                       "with --model: read only its config.json and time random weights of that shape")(
        "length,L", po::value(&o.length)->default_value(0),
        "sequence length in nt (0: 1000 for the -1k presets, else 131072)")(
        "lengths", po::value(&lengths_text)->value_name("N,N,..."),
        "several lengths, one after the other (a scaling series; overrides --length)")(
        "repeat,r", po::value(&o.repeat)->default_value(3), "timed runs")(
        "warmup", po::value(&o.warmup)->default_value(0), "untimed runs first")(
        "count", po::value(&o.count)->default_value(1),
        "sequences of --length per run (many short inputs), packed into forward passes of up to "
        "--batch-tokens tokens")(
        "batch-tokens", po::value(&o.batch_tokens)->default_value(65536)->value_name("N"), "tokens per packed pass")(
        "pooled", po::bool_switch(&o.pooled),
        "mean-pool each sequence (on the device with the GPU engine) instead of returning every position")(
        "chunk-rows", po::value(&o.chunk_rows)->default_value(0)->value_name("N"),
        "GPU engine: rows per chunk of the memory plan (0: automatic)")(
        "tsv", po::value(&tsv)->value_name("FILE"),
        "append one line per length to FILE (preset or model, engine, length, count, median_s, nt_per_s, peak "
        "device bytes, peak RSS bytes)")(
        "stages", po::bool_switch(&o.stages),
        "after the timed runs, one more run that waits for every stage and prints where the time goes "
        "(GPU engine)");
    add_compute_options(desc, compute);
    add_common_options(desc, quiet);
    const std::string usage =
        "usage: dnamba bench [--preset P | --model DIR [--random-weights]] [--length N] [--device cpu]";
    if (!parse_command_line(argc, argv, desc, usage)) return 0;
    o.model_dir = resolve_model(o.model_dir);
    if (!lengths_text.empty()) o.lengths = parse_bench_lengths(lengths_text);
    Bench bench(o, parse_device(compute.device), make_engine_options(compute));
    const Model& model = bench.model();
    const ModelConfig& config = model.config;
    const Engines& engines = bench.engines();
    const std::string rcps = config.rcps ? ", rcps (" + std::to_string(config.hidden_channels()) + " channels)" : "";
    std::printf("%s %s: d_model %d, n_layer %d, d_inner %d, d_state %d%s, %lld parameters\n",
                o.model_dir.empty() ? "preset" : "model", bench.label().c_str(), config.d_model, config.n_layer,
                config.d_inner, config.d_state, rcps.c_str(), static_cast<long long>(model.parameter_count));
    std::FILE* table = nullptr;
    if (!tsv.empty()) {
        table = std::fopen(tsv.c_str(), "a");
        if (!table) fail(ErrorKind::io, "cannot open " + tsv + " for appending");
    }
    const double mib = 1 << 20;
    for (const long long len : bench.lengths()) {
        std::printf("engine %s, length %lld nt%s, %d warm-up + %d timed run(s)\n", engines.description().c_str(), len,
                    o.pooled ? " (mean-pooled)" : "", o.warmup, o.repeat);
        if (o.count > 1) std::printf("%lld sequences of %lld nt per run, %lld per pass\n", o.count, len, bench.per_pass(len));
        const BenchResult r = bench.run(len, [](int run, double seconds) {
            std::printf("run %d: %.3f s\n", run, seconds);
            std::fflush(stdout);
        });
        std::printf("median %.4f s  min %.4f s  max %.4f s\n", r.median, r.seconds.front(), r.seconds.back());
        std::printf("throughput %.0f nt/s (median)\n", r.nt_per_s);
        std::printf("peak RSS %.0f MiB\n", static_cast<double>(r.peak_rss_bytes) / mib);
        if (r.device_peak_bytes > 0)
            std::printf("peak device memory held by the engine %.0f MiB (%.2f GiB; weights, buffers, GEMM workspace)\n",
                        static_cast<double>(r.device_peak_bytes) / mib, static_cast<double>(r.device_peak_bytes) / (mib * 1024));
        if (o.stages && r.stages.empty()) std::printf("stages: not measured by this engine\n");
        for (const auto& [name, sec] : r.stages)
            std::printf("stage %-24s %8.1f ms  %5.1f %%\n", name.c_str(), sec * 1e3, 100.0 * sec / r.stages_total);
        std::printf("checksum %.6g\n", r.checksum);
        if (table) {
            std::fprintf(table, "%s\t%s%s\t%lld\t%lld\t%.6f\t%.0f\t%zu\t%zu\n", bench.label().c_str(),
                         engines.description().c_str(), o.pooled ? " pooled" : "", len, o.count, r.median, r.nt_per_s,
                         r.device_peak_bytes, peak_rss_bytes());
            std::fflush(table);
        }
    }
    if (table) std::fclose(table);
    return 0;
}

}  // namespace dnamba::cli
