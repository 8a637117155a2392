// Timing the forward pass (see bench.hpp): what `dnamba bench` measures, the app only prints it.
#include "dnamba/bench.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "dnamba/tokenizer.hpp"
#include "pipeline/run_batched.hpp"

namespace dnamba {
namespace {

// The last component of a directory path ("testdata/models/tiny-caduceus/" -> "tiny-caduceus").
std::string directory_name(const std::string& dir) {
    const std::filesystem::path p = std::filesystem::absolute(dir).lexically_normal();
    return (p.filename().empty() ? p.parent_path() : p).filename().string();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// `count` copies of one generated sequence: bench's input, fed through the pipeline like a file.
class RepeatedSequence final : public InputSource {
public:
    RepeatedSequence(const std::string& seq, long long count) : seq_(seq), count_(count) {}
    bool next(InputItem& item) override {
        if (done_ >= count_) return false;
        item.seq = seq_;
        item.bases = seq_.size();
        item.index = static_cast<std::uint64_t>(done_++);
        return true;
    }
    std::optional<std::uint64_t> total_bases() const override {
        return static_cast<std::uint64_t>(seq_.size()) * static_cast<std::uint64_t>(count_);
    }
    std::string describe() const override { return "generated sequence"; }

private:
    const std::string& seq_;
    long long count_, done_ = 0;
};

}  // namespace

std::vector<long long> parse_bench_lengths(const std::string& text) {
    std::vector<long long> lengths;
    std::size_t at = 0;
    while (at <= text.size()) {
        const std::size_t comma = std::min(text.find(',', at), text.size());
        const std::string part = text.substr(at, comma - at);
        char* end = nullptr;
        const long long v = std::strtoll(part.c_str(), &end, 10);
        if (part.empty() || *end != '\0' || v < 1)
            fail(ErrorKind::usage, "--lengths " + text + ": expected positive numbers separated by commas");
        lengths.push_back(v);
        at = comma + 1;
    }
    return lengths;
}

std::size_t peak_rss_bytes() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<std::size_t>(ru.ru_maxrss) * 1024;  // ru_maxrss is KiB on Linux
}

struct Bench::Impl {
    BenchOptions options;
    Model model;
    std::string label;
    std::optional<Engines> engines;  // one, or one per GPU (--device cuda:all)
    std::vector<long long> lengths;
    std::mt19937_64 rng{7};
};

Bench::Bench(const BenchOptions& options, const DeviceSpec& device, const EngineOptions& engine)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    BenchOptions& o = m.options = options;
    if (!o.model_dir.empty() && !o.preset.empty())
        fail(ErrorKind::usage,
             "--model and --preset exclude each other: give a checkpoint directory or a preset, not both");
    if (o.random_weights && o.model_dir.empty())
        fail(ErrorKind::usage, "--random-weights needs --model DIR (presets always have random weights)");
    if (o.model_dir.empty() && o.preset.empty()) o.preset = "caduceus-131k";
    if (o.repeat < 1) fail(ErrorKind::usage, "--repeat must be at least 1");
    m.lengths = o.lengths;
    if (m.lengths.empty()) {
        long long length = o.length;
        if (length == 0) length = o.preset == "caduceus-1k" || o.preset == "caduceus-ps-1k" ? 1000 : 131072;
        if (length < 1) fail(ErrorKind::usage, "--length must be positive");
        m.lengths.push_back(length);
    }
    if (o.count < 1 || o.batch_tokens < 1) fail(ErrorKind::usage, "--count and --batch-tokens must be positive");
    if (o.chunk_rows < 0) fail(ErrorKind::usage, "--chunk-rows must not be negative");
    if (o.stages && device.is_list())
        fail(ErrorKind::usage, "--stages times the stages of one engine: use one device with it (cuda:N), not a list");

    const std::uint64_t seed = 42;
    if (o.model_dir.empty()) {
        m.model = make_random_model(preset_config(o.preset), seed);
        m.label = o.preset;
    } else {
        m.model = o.random_weights ? make_random_model(load_model_config(o.model_dir), seed) : load_model(o.model_dir);
        m.label = directory_name(o.model_dir) + " [" + layout_name(m.model.config.layout) +
                  (o.random_weights ? ", random weights" : "") + "]";
    }
    EngineOptions eo = engine;
    eo.chunk_rows = static_cast<std::size_t>(o.chunk_rows);
    m.engines.emplace(make_engines(m.model, device, eo));
}

Bench::~Bench() = default;

const Model& Bench::model() const noexcept { return impl_->model; }
const std::string& Bench::label() const noexcept { return impl_->label; }
const Engines& Bench::engines() const noexcept { return *impl_->engines; }
const std::vector<long long>& Bench::lengths() const noexcept { return impl_->lengths; }

long long Bench::per_pass(long long length) const noexcept {
    const BenchOptions& o = impl_->options;
    return std::max(1LL, std::min(o.count, o.batch_tokens / length));
}

BenchResult Bench::run(long long length, const std::function<void(int, double)>& on_run) {
    Impl& m = *impl_;
    const BenchOptions& o = m.options;
    const Engines& engines = *m.engines;
    std::string seq(static_cast<std::size_t>(length), 'A');
    for (auto& ch : seq) ch = "ACGT"[m.rng() & 3];
    const auto ids = tokenize(seq, false);
    BenchResult r;
    r.per_pass = per_pass(length);
    // One run: `count` copies of the sequence through the pipeline of every subcommand
    // (pipeline/run_batched.hpp), in passes of per_pass copies (at most batch_tokens tokens).
    // The compute step packs the tokens the sequence has (tokenized once, outside the timing, as
    // the stack's benchmark does) and runs the engine; the write step sums the result.
    pipeline::BatchBudget budget;
    budget.tokens = static_cast<std::size_t>(r.per_pass * length);
    auto run_once = [&]() -> double {
        double sum = 0;
        RepeatedSequence source(seq, o.count);
        pipeline::run_batched(
            source, budget, engines,
            [&](Engine& engine, std::vector<InputItem>& batch) {
                std::vector<std::int32_t> packed;
                packed.reserve(batch.size() * ids.size());
                for (std::size_t k = 0; k < batch.size(); ++k) packed.insert(packed.end(), ids.begin(), ids.end());
                const std::vector<std::size_t> lens(batch.size(), ids.size());
                return o.pooled ? engine.forward_pooled_mean(packed, lens) : engine.forward_packed(packed, lens);
            },
            [&](Matrix& h) { sum += h.sum(); });
        return sum;
    };
    for (int i = 0; i < o.warmup; ++i) (void)run_once();
    for (int i = 0; i < o.repeat; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        r.checksum = run_once();
        r.seconds.push_back(seconds_since(t0));
        on_run(i + 1, r.seconds.back());
    }
    std::sort(r.seconds.begin(), r.seconds.end());
    r.median = r.seconds[r.seconds.size() / 2];
    r.nt_per_s = static_cast<double>(length) * static_cast<double>(o.count) / r.median;
    r.peak_rss_bytes = peak_rss_bytes();
    r.device_peak_bytes = 0;  // of the engine that held the most
    for (std::size_t i = 0; i < engines.size(); ++i) r.device_peak_bytes = std::max(r.device_peak_bytes, engines[i].device_peak_bytes());
    if (o.stages) {
        Engine& engine = engines.front();
        engine.set_profiling(true);
        const auto t0 = std::chrono::steady_clock::now();
        (void)run_once();
        r.stages_total = seconds_since(t0);
        r.stages = engine.stage_seconds();
        // what the engine's stages leave out of the run's wall time: the caller's side (packing
        // the tokens, the pipeline's threads, the result's sum) and the engine's own host work
        if (!r.stages.empty()) {
            double booked = 0;
            for (const auto& [name, sec] : r.stages) booked += sec;
            r.stages.emplace_back("outside the stages", r.stages_total - booked);
        }
        engine.set_profiling(false);
    }
    return r;
}

}  // namespace dnamba
