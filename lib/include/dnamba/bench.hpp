// dnamba/bench.hpp — timing the forward pass, as `dnamba bench` does: random sequences of one
// length, packed into forward passes of up to a token budget, run after run.
//
// The library prints nothing: a Bench hands each timing back and the caller prints it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dnamba/engine.hpp"

namespace dnamba {

struct BenchOptions {
    std::string preset;              // a preset_config() name, random weights; "" with model_dir
    std::string model_dir;           // or a checkpoint directory
    bool random_weights = false;     // with model_dir: only its config.json, random weights of that shape
    std::vector<long long> lengths;  // sequence lengths timed one after the other; empty: `length`
    long long length = 0;            // 0: 1000 for the -1k presets, else 131072
    long long count = 1;             // sequences per run
    long long batch_tokens = 65536;  // tokens per packed forward pass
    long long chunk_rows = 0;        // GPU engine memory plan (EngineOptions::chunk_rows)
    bool pooled = false;             // time forward_pooled_mean instead of forward_packed
    bool stages = false;             // one more run with per-stage profiling after the timed ones
    int warmup = 0;                  // untimed runs first
    int repeat = 3;                  // timed runs
};

// "N,N,..." (positive integers) as BenchOptions::lengths; Error(usage) naming the text otherwise.
[[nodiscard]] std::vector<long long> parse_bench_lengths(const std::string& text);

struct BenchResult {
    long long per_pass = 1;          // sequences per forward pass
    std::vector<double> seconds;     // the timed runs, sorted
    double median = 0;               // seconds
    double nt_per_s = 0;             // length * count / median
    double checksum = 0;             // sum of the last timed run's outputs
    std::size_t peak_rss_bytes = 0;  // of this process, after the timed runs
    std::size_t device_peak_bytes = 0;
    std::vector<std::pair<std::string, double>> stages;  // with BenchOptions::stages: (stage, seconds)
    double stages_total = 0;         // wall time of the profiled run
};

// The peak resident memory of this process so far, in bytes.
[[nodiscard]] std::size_t peak_rss_bytes();

class Bench {
public:
    // Checks the options (Error(usage): --model with --preset, --random-weights without --model,
    // a non-positive length, count, batch_tokens or repeat, negative chunk_rows), makes the model
    // (what preset_config / load_model / load_model_config throw) and its engine (make_engine).
    Bench(const BenchOptions& options, const DeviceSpec& device, const EngineOptions& engine);
    ~Bench();
    Bench(const Bench&) = delete;
    Bench& operator=(const Bench&) = delete;

    [[nodiscard]] const Model& model() const noexcept;
    // The preset's name, or "<directory name> [<layout>]" (", random weights" inside the brackets).
    [[nodiscard]] const std::string& label() const noexcept;
    // The engines that run it: one, or one per GPU (--device cuda:all, a list).
    [[nodiscard]] const Engines& engines() const noexcept;
    [[nodiscard]] const std::vector<long long>& lengths() const noexcept;
    // Sequences of `length` packed into one forward pass.
    [[nodiscard]] long long per_pass(long long length) const noexcept;

    // Times the runs for one length over a fresh random sequence (one generator, seeded once, runs
    // through all lengths), calling on_run(run number from 1, seconds) after each timed run.
    [[nodiscard]] BenchResult run(long long length, const std::function<void(int, double)>& on_run);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace dnamba
