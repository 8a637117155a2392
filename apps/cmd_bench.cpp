// `dnamba bench`: forward-pass timing on random weights (no checkpoint needed).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
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
    std::string preset = "caduceus-131k";
    long long length = 0;
    int repeat = 3, warmup = 0;
    bool quiet = false, stages = false;
    long long count = 1, batch_tokens = 65536;
    ComputeOptions compute;
    po::options_description desc("options");
    desc.add_options()("preset", po::value(&preset)->default_value(preset),
                       "caduceus-131k (d_model 256, 16 layers) | caduceus-1k (d_model 256, 4 layers); "
                       "bidirectional, tied projections, RMSNorm, random weights")(
        "length,L", po::value(&length)->default_value(0), "sequence length in nt (0: 131072 or 1000 by preset)")(
        "repeat,r", po::value(&repeat)->default_value(3), "timed runs")(
        "warmup", po::value(&warmup)->default_value(0), "untimed runs first")(
        "count", po::value(&count)->default_value(1),
        "sequences of --length per run (many short inputs), packed into forward passes of up to "
        "--batch-tokens tokens")(
        "batch-tokens", po::value(&batch_tokens)->default_value(65536)->value_name("N"), "tokens per packed pass")(
        "stages", po::bool_switch(&stages),
        "after the timed runs, one more run that waits for every stage and prints where the time goes "
        "(GPU engine)");
    add_compute_options(desc, compute);
    add_common_options(desc, quiet);
    if (!parse_command_line(argc, argv, desc, "usage: dnamba bench [--preset P] [--length N] [--device cpu]")) return 0;
    if (repeat < 1) fail(ErrorKind::usage, "--repeat must be at least 1");
    const ModelConfig config = preset_config(preset);
    if (length == 0) length = preset == "caduceus-1k" ? 1000 : 131072;
    if (length < 1) fail(ErrorKind::usage, "--length must be positive");
    if (count < 1 || batch_tokens < 1) fail(ErrorKind::usage, "--count and --batch-tokens must be positive");

    const Model model = make_random_model(config, 42);
    const EngineOptions eo = make_engine_options(compute);
    auto engine = make_engine(model, parse_device(compute.device), eo);
    std::mt19937_64 rng(7);
    std::string seq(static_cast<std::size_t>(length), 'A');
    for (auto& ch : seq) ch = "ACGT"[rng() & 3];
    const auto ids = tokenize(seq, false);

    std::printf("preset %s: d_model %d, n_layer %d, d_inner %d, d_state %d, %lld parameters\n", preset.c_str(),
                config.d_model, config.n_layer, config.d_inner, config.d_state,
                static_cast<long long>(model.parameter_count));
    std::printf("engine %s, length %lld nt, %d warm-up + %d timed run(s)\n", engine->description().c_str(), length,
                warmup, repeat);
    // One run: `count` copies of the sequence, packed into passes of up to batch_tokens tokens.
    const long long per_pass = std::max(1LL, std::min(count, batch_tokens / length));
    auto run_once = [&]() -> double {
        double sum = 0;
        for (long long done = 0; done < count;) {
            const long long n = std::min(per_pass, count - done);
            std::vector<std::int32_t> packed;
            packed.reserve(static_cast<std::size_t>(n * length));
            for (long long k = 0; k < n; ++k) packed.insert(packed.end(), ids.begin(), ids.end());
            const Matrix h = engine->forward_packed(packed, std::vector<std::size_t>(static_cast<std::size_t>(n),
                                                                                    static_cast<std::size_t>(length)));
            sum += h.sum();
            done += n;
        }
        return sum;
    };
    if (count > 1)
        std::printf("%lld sequences of %lld nt per run, %lld per pass\n", count, length, per_pass);
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
    std::printf("median %.3f s  min %.3f s  max %.3f s\n", median, times.front(), times.back());
    std::printf("throughput %.0f nt/s (median)\n", static_cast<double>(length) * static_cast<double>(count) / median);
    std::printf("peak RSS %.0f MiB\n", peak_rss_mib());
    if (engine->device_bytes() > 0)
        std::printf("device memory held by the engine %.0f MiB (weights and buffers)\n",
                    static_cast<double>(engine->device_bytes()) / (1 << 20));
    if (stages) {
        engine->set_profiling(true);
        const auto t0 = std::chrono::steady_clock::now();
        (void)engine->forward(ids);
        const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto parts = engine->stage_seconds();
        if (parts.empty()) std::printf("stages: not measured by this engine\n");
        for (const auto& [name, s] : parts)
            std::printf("stage %-24s %8.1f ms  %5.1f %%\n", name.c_str(), s * 1e3, 100.0 * s / total);
        engine->set_profiling(false);
    }
    std::printf("checksum %.6g\n", checksum);
    return 0;
}

}  // namespace dnamba::cli
