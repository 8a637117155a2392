// `dnamba bench`: forward-pass timing on a preset with random weights (no checkpoint needed),
// or on a checkpoint directory with its own or random weights.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>
#include <random>

#include "commands.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/error.hpp"
#include "dnamba/tokenizer.hpp"

namespace dnamba::cli {
namespace {

double peak_rss_mib() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is KiB on Linux
}

// The last component of a directory path ("testdata/models/tiny-caduceus/" -> "tiny-caduceus").
std::string directory_name(const std::string& dir) {
    const std::filesystem::path p = std::filesystem::absolute(dir).lexically_normal();
    return (p.filename().empty() ? p.parent_path() : p).filename().string();
}

struct BenchModel {
    Model model;
    std::string label;  // names it in the header and the TSV "preset" column
};

// A preset with random weights, or the checkpoint in model_dir: its weights, or with
// random_weights only its config.json and random weights of that shape.
BenchModel bench_model(const std::string& preset, const std::string& model_dir, bool random_weights) {
    const std::uint64_t seed = 42;
    if (model_dir.empty()) return {make_random_model(preset_config(preset), seed), preset};
    Model model = random_weights ? make_random_model(load_model_config(model_dir), seed) : load_model(model_dir);
    const std::string label = directory_name(model_dir) + " [" + layout_name(model.config.layout) +
                              (random_weights ? ", random weights" : "") + "]";
    return {std::move(model), label};
}

}  // namespace

int cmd_bench(int argc, char** argv) {
    std::string preset, model_dir, lengths_text, tsv;
    long long length = 0;
    int repeat = 3, warmup = 0;
    bool quiet = false, stages = false, pooled = false, random_weights = false;
    long long count = 1, batch_tokens = 65536, chunk_rows = 0;
    ComputeOptions compute;
    po::options_description desc("options");
    desc.add_options()("preset", po::value(&preset)->value_name("P"),
                       "caduceus-131k (d_model 256, 16 layers; the default) | caduceus-1k (d_model 256, 4 layers) | "
                       "caduceus-ps-131k | caduceus-ps-1k (the same shapes, RC-equivariant: rcps, 2*d_model "
                       "channels); bidirectional add, tied projections, RMSNorm, random weights");
    add_model_option(desc, model_dir, false);
    desc.add_options()("random-weights", po::bool_switch(&random_weights),
                       "with --model: read only its config.json and time random weights of that shape")(
        "length,L", po::value(&length)->default_value(0),
        "sequence length in nt (0: 1000 for the -1k presets, else 131072)")(
        "lengths", po::value(&lengths_text)->value_name("N,N,..."),
        "several lengths, one after the other (a scaling series; overrides --length)")(
        "repeat,r", po::value(&repeat)->default_value(3), "timed runs")(
        "warmup", po::value(&warmup)->default_value(0), "untimed runs first")(
        "count", po::value(&count)->default_value(1),
        "sequences of --length per run (many short inputs), packed into forward passes of up to "
        "--batch-tokens tokens")(
        "batch-tokens", po::value(&batch_tokens)->default_value(65536)->value_name("N"), "tokens per packed pass")(
        "pooled", po::bool_switch(&pooled),
        "mean-pool each sequence (on the device with the GPU engine) instead of returning every position")(
        "chunk-rows", po::value(&chunk_rows)->default_value(0)->value_name("N"),
        "GPU engine: rows per chunk of the memory plan (0: automatic)")(
        "tsv", po::value(&tsv)->value_name("FILE"),
        "append one line per length to FILE (preset or model, engine, length, count, median_s, nt_per_s, peak "
        "device bytes, peak RSS bytes)")(
        "stages", po::bool_switch(&stages),
        "after the timed runs, one more run that waits for every stage and prints where the time goes "
        "(GPU engine)");
    add_compute_options(desc, compute);
    add_common_options(desc, quiet);
    const std::string usage =
        "usage: dnamba bench [--preset P | --model DIR [--random-weights]] [--length N] [--device cpu]";
    if (!parse_command_line(argc, argv, desc, usage)) return 0;
    if (!model_dir.empty() && !preset.empty())
        fail(ErrorKind::usage,
             "--model and --preset exclude each other: give a checkpoint directory or a preset, not both");
    if (random_weights && model_dir.empty())
        fail(ErrorKind::usage, "--random-weights needs --model DIR (presets always have random weights)");
    if (model_dir.empty() && preset.empty()) preset = "caduceus-131k";
    if (repeat < 1) fail(ErrorKind::usage, "--repeat must be at least 1");
    std::vector<long long> lengths;
    if (!lengths_text.empty()) {
        std::size_t at = 0;
        while (at <= lengths_text.size()) {
            const std::size_t comma = std::min(lengths_text.find(',', at), lengths_text.size());
            const std::string part = lengths_text.substr(at, comma - at);
            char* end = nullptr;
            const long long v = std::strtoll(part.c_str(), &end, 10);
            if (part.empty() || *end != '\0' || v < 1)
                fail(ErrorKind::usage, "--lengths " + lengths_text + ": expected positive numbers separated by commas");
            lengths.push_back(v);
            at = comma + 1;
        }
    } else {
        if (length == 0) length = preset == "caduceus-1k" || preset == "caduceus-ps-1k" ? 1000 : 131072;
        if (length < 1) fail(ErrorKind::usage, "--length must be positive");
        lengths.push_back(length);
    }
    if (count < 1 || batch_tokens < 1) fail(ErrorKind::usage, "--count and --batch-tokens must be positive");
    if (chunk_rows < 0) fail(ErrorKind::usage, "--chunk-rows must not be negative");

    const BenchModel bench = bench_model(preset, model_dir, random_weights);
    const Model& model = bench.model;
    const ModelConfig& config = model.config;
    EngineOptions eo = make_engine_options(compute);
    eo.chunk_rows = static_cast<std::size_t>(chunk_rows);
    auto engine = make_engine(model, parse_device(compute.device), eo);
    const std::string rcps = config.rcps ? ", rcps (" + std::to_string(config.hidden_channels()) + " channels)" : "";
    std::printf("%s %s: d_model %d, n_layer %d, d_inner %d, d_state %d%s, %lld parameters\n",
                model_dir.empty() ? "preset" : "model", bench.label.c_str(), config.d_model, config.n_layer,
                config.d_inner, config.d_state, rcps.c_str(), static_cast<long long>(model.parameter_count));
    std::FILE* table = nullptr;
    if (!tsv.empty()) {
        table = std::fopen(tsv.c_str(), "a");
        if (!table) fail(ErrorKind::io, "cannot open " + tsv + " for appending");
    }
    std::mt19937_64 rng(7);
    for (const long long len : lengths) {
        std::string seq(static_cast<std::size_t>(len), 'A');
        for (auto& ch : seq) ch = "ACGT"[rng() & 3];
        const auto ids = tokenize(seq, false);
        std::printf("engine %s, length %lld nt%s, %d warm-up + %d timed run(s)\n", engine->description().c_str(), len,
                    pooled ? " (mean-pooled)" : "", warmup, repeat);
        // One run: `count` copies of the sequence, packed into passes of up to batch_tokens tokens.
        const long long per_pass = std::max(1LL, std::min(count, batch_tokens / len));
        auto run_once = [&]() -> double {
            double sum = 0;
            for (long long done = 0; done < count;) {
                const long long n = std::min(per_pass, count - done);
                std::vector<std::int32_t> packed;
                packed.reserve(static_cast<std::size_t>(n * len));
                for (long long k = 0; k < n; ++k) packed.insert(packed.end(), ids.begin(), ids.end());
                const std::vector<std::size_t> lens(static_cast<std::size_t>(n), static_cast<std::size_t>(len));
                const Matrix h = pooled ? engine->forward_pooled_mean(packed, lens) : engine->forward_packed(packed, lens);
                sum += h.sum();
                done += n;
            }
            return sum;
        };
        if (count > 1) std::printf("%lld sequences of %lld nt per run, %lld per pass\n", count, len, per_pass);
        for (int i = 0; i < warmup; ++i) (void)run_once();
        std::vector<double> times;
        double checksum = 0;
        for (int i = 0; i < repeat; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            checksum = run_once();
            times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            std::printf("run %d: %.3f s\n", i + 1, times.back());
            std::fflush(stdout);
        }
        std::sort(times.begin(), times.end());
        const double median = times[times.size() / 2];
        const double rate = static_cast<double>(len) * static_cast<double>(count) / median;
        std::printf("median %.4f s  min %.4f s  max %.4f s\n", median, times.front(), times.back());
        std::printf("throughput %.0f nt/s (median)\n", rate);
        std::printf("peak RSS %.0f MiB\n", peak_rss_mib());
        if (engine->device_peak_bytes() > 0)
            std::printf("peak device memory held by the engine %.0f MiB (%.2f GiB; weights, buffers, GEMM workspace)\n",
                        static_cast<double>(engine->device_peak_bytes()) / (1 << 20),
                        static_cast<double>(engine->device_peak_bytes()) / (1 << 30));
        if (stages) {
            engine->set_profiling(true);
            const auto t0 = std::chrono::steady_clock::now();
            (void)run_once();
            const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            const auto parts = engine->stage_seconds();
            if (parts.empty()) std::printf("stages: not measured by this engine\n");
            for (const auto& [name, sec] : parts)
                std::printf("stage %-24s %8.1f ms  %5.1f %%\n", name.c_str(), sec * 1e3, 100.0 * sec / total);
            engine->set_profiling(false);
        }
        std::printf("checksum %.6g\n", checksum);
        if (table) {
            std::fprintf(table, "%s\t%s%s\t%lld\t%lld\t%.6f\t%.0f\t%zu\t%.0f\n", bench.label.c_str(),
                         engine->description().c_str(), pooled ? " pooled" : "", len, count, median, rate,
                         engine->device_peak_bytes(), peak_rss_mib() * 1048576.0);
            std::fflush(table);
        }
    }
    if (table) std::fclose(table);
    return 0;
}

}  // namespace dnamba::cli
