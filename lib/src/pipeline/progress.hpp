// pipeline/progress.hpp (private) — the progress line of the commands that run the pipeline
// (embed, vep, score, and the features of classify and train-head): bases and rows done, their
// rate and, when the total is known, an ETA.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

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

// Progress on stderr: a live line on a terminal (at most 5 updates a second), otherwise a log
// line every 30 s. Silent when disabled (--quiet).
class Progress {
public:
    Progress(bool enabled, std::optional<std::uint64_t> total)
        : enabled_(enabled && !log_quiet()), tty_(isatty(STDERR_FILENO) != 0), total_(total),
          start_(std::chrono::steady_clock::now()), last_(start_) {}

    void update(std::size_t records, std::size_t bases) {
        if (!enabled_) return;
        const auto now = std::chrono::steady_clock::now();
        const double since = std::chrono::duration<double>(now - last_).count();
        if (since < (tty_ ? 0.2 : 30.0)) return;
        last_ = now;
        const double elapsed = std::chrono::duration<double>(now - start_).count();
        const double rate = elapsed > 0 ? static_cast<double>(bases) / elapsed : 0.0;
        std::string line = "dnamba: " + format_bases(static_cast<double>(bases)) + ", " + std::to_string(records) +
                           " rows, " + format_bases(rate) + "/s";
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

    ~Progress() {
        if (shown_) std::fprintf(stderr, "\r%-78s\r", "");
    }

private:
    bool enabled_;
    bool tty_;
    std::optional<std::uint64_t> total_;
    std::chrono::steady_clock::time_point start_, last_;
    bool shown_ = false;
};

}  // namespace dnamba::pipeline
