// `dnamba bench`: forward-pass timing on random weights (no checkpoint needed).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
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

}  // namespace

int cmd_bench(int argc, char** argv) {
    std::string preset = "caduceus-131k", lengths_text, tsv;
    long long length = 0;
    int repeat = 3, warmup = 0;
    bool quiet = false, stages = false, pooled = false;
    long long count = 1, batch_tokens = 65536, chunk_rows = 0;
    ComputeOptions compute;
    po::options_description desc("options");
    desc.add_options()("preset", po::value(&preset)->default_value(preset),
                       "caduceus-131k (d_model 256, 16 layers) | caduceus-1k (d_model 256, 4 layers); "
                       "bidirectional, tied projections, RMSNorm, random weights")(
        "length,L", po::value(&length)->default_value(0), "sequence length in nt (0: 131072 or 1000 by preset)")(
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
        "append one line per length to FILE (preset, engine, length, count, median_s, nt_per_s, peak device "
        "bytes, peak RSS bytes)")(
        "stages", po::bool_switch(&stages),
        "after the timed runs, one more run that waits for every stage and prints where the time goes "
        "(GPU engine)");
    add_compute_options(desc, compute);
    add_common_options(desc, quiet);
    if (!parse_command_line(argc, argv, desc, "usage: dnamba bench [--preset P] [--length N] [--device cpu]")) return 0;
    if (repeat < 1) fail(ErrorKind::usage, "--repeat must be at least 1");
    const ModelConfig config = preset_config(preset);
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
        if (length == 0) length = preset == "caduceus-1k" ? 1000 : 131072;
        if (length < 1) fail(ErrorKind::usage, "--length must be positive");
        lengths.push_back(length);
    }
    if (count < 1 || batch_tokens < 1) fail(ErrorKind::usage, "--count and --batch-tokens must be positive");
    if (chunk_rows < 0) fail(ErrorKind::usage, "--chunk-rows must not be negative");

    const Model model = make_random_model(config, 42);
    EngineOptions eo = make_engine_options(compute);
    eo.chunk_rows = static_cast<std::size_t>(chunk_rows);
    auto engine = make_engine(model, parse_device(compute.device), eo);
    std::printf("preset %s: d_model %d, n_layer %d, d_inner %d, d_state %d, %lld parameters\n", preset.c_str(),
                config.d_model, config.n_layer, config.d_inner, config.d_state,
                static_cast<long long>(model.parameter_count));
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
            std::fprintf(table, "%s\t%s%s\t%lld\t%lld\t%.6f\t%.0f\t%zu\t%.0f\n", preset.c_str(),
                         engine->description().c_str(), pooled ? " pooled" : "", len, count, median, rate,
                         engine->device_peak_bytes(), peak_rss_mib() * 1048576.0);
            std::fflush(table);
        }
    }
    if (table) std::fclose(table);
    return 0;
}

}  // namespace dnamba::cli
