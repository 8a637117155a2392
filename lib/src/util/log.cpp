// Diagnostics on stderr; one mutex so lines from pipeline threads never interleave.
#include "dnamba/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace dnamba {
namespace {
std::atomic<bool> g_quiet{false};
std::mutex g_log_mutex;
}  // namespace

void set_log_quiet(bool quiet) noexcept { g_quiet = quiet; }
bool log_quiet() noexcept { return g_quiet; }

void log_info(const std::string& message) {
    if (g_quiet) return;
    std::lock_guard<std::mutex> lock(g_log_mutex);
    std::fprintf(stderr, "dnamba: %s\n", message.c_str());
}

void log_warning(const std::string& message) {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    std::fprintf(stderr, "dnamba: warning: %s\n", message.c_str());
}

}  // namespace dnamba
