// pipeline/progress.hpp (private) — the progress line of the commands that run the pipeline
// (embed, vep, score, and the features of classify and train-head): bases and rows done, their
// rate and, when the total is known, an ETA.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "dnamba/log.hpp"

namespace dnamba::pipeline {

inline std::string format_bases(double bases) {
    char buf[32];
    if (bases >= 1e9) std::snprintf(buf, sizeof buf, "%.2f Gbp", bases / 1e9);
    else if (bases >= 1e6) std::snprintf(buf, sizeof buf, "%.2f Mbp", bases / 1e6);
    else if (bases >= 1e3) std::snprintf(buf, sizeof buf, "%.1f kbp", bases / 1e3);
    else std::snprintf(buf, sizeof buf, "%.0f bp", bases);
    return buf;
}

// Seconds between two progress reports: DNAMBA_PROGRESS_INTERVAL when set to a number in
// (0, 3600] (tests, or logs wanted more often), else 1 s on a terminal and 30 s otherwise.
inline double progress_interval(bool tty) {
    if (const char* env = std::getenv("DNAMBA_PROGRESS_INTERVAL")) {
        char* end = nullptr;
        const double v = std::strtod(env, &end);
        if (end != env && *end == '\0' && v > 0 && v <= 3600) return v;
    }
    return tty ? 1.0 : 30.0;
}

inline std::string format_duration(double seconds) {
    const auto s = static_cast<long long>(seconds);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
    return buf;
}

// Progress on stderr: a live line on a terminal, otherwise a log line, every
// progress_interval() seconds. A reporter thread of its own prints on that timer, so the line
// moves (elapsed time, rate) even while one long batch computes; update() only records the
// counts. Silent when disabled (--quiet). Without a reporter thread (none could be started)
// update() prints, at most once an interval.
class Progress {
public:
    Progress(bool enabled, std::optional<std::uint64_t> total)
        : enabled_(enabled && !log_quiet()), tty_(isatty(STDERR_FILENO) != 0), total_(total),
          interval_(progress_interval(tty_)), start_(std::chrono::steady_clock::now()), last_(start_) {
        if (!enabled_) return;
        try {
            reporter_ = std::thread([this] { report_on_timer(); });
        } catch (const std::system_error&) {
            // no thread to spare: update() reports instead
        }
    }

    void update(std::size_t records, std::size_t bases) {
        if (!enabled_) return;
        records_.store(records);
        bases_.store(bases);
        if (reporter_.joinable()) return;
        const auto now = std::chrono::steady_clock::now();
        if (std::chrono::duration<double>(now - last_).count() < interval_) return;
        last_ = now;
        report(now);
    }

    ~Progress() {
        if (reporter_.joinable()) {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                stop_ = true;
            }
            wake_.notify_one();
            reporter_.join();
        }
        if (shown_) std::fprintf(stderr, "\r%-78s\r", "");
    }

    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

private:
    void report_on_timer() {
        std::unique_lock<std::mutex> lock(mutex_);
        const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(interval_));
        while (!wake_.wait_for(lock, period, [this] { return stop_; })) report(std::chrono::steady_clock::now());
    }

    void report(std::chrono::steady_clock::time_point now) {
        const std::size_t records = records_.load(), bases = bases_.load();
        const double elapsed = std::chrono::duration<double>(now - start_).count();
        const double rate = elapsed > 0 ? static_cast<double>(bases) / elapsed : 0.0;
        std::string line = "dnamba: " + format_bases(static_cast<double>(bases)) + ", " + std::to_string(records) +
                           " rows, " + format_bases(rate) + "/s, " + format_duration(elapsed) + " elapsed";
        if (total_ && *total_ > 0) {
            const double frac = std::min(1.0, static_cast<double>(bases) / static_cast<double>(*total_));
            char buf[64];
            const double eta = rate > 0 ? (static_cast<double>(*total_) - static_cast<double>(bases)) / rate : 0.0;
            std::snprintf(buf, sizeof buf, ", %.1f%%, ETA %dm%02ds", 100.0 * frac, static_cast<int>(eta) / 60,
                          static_cast<int>(eta) % 60);
            line += buf;
        }
        if (tty_) {
            std::fprintf(stderr, "\r%-78s", line.c_str());
            shown_ = true;
        } else {
            std::fprintf(stderr, "%s\n", line.c_str());
        }
    }

    bool enabled_;
    bool tty_;
    std::optional<std::uint64_t> total_;
    double interval_;
    std::chrono::steady_clock::time_point start_, last_;
    std::atomic<std::size_t> records_{0}, bases_{0};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    bool shown_ = false;  // written by the reporter only, read after it has joined
    std::thread reporter_;
};

}  // namespace dnamba::pipeline
