// dnamba/log.hpp — diagnostics on stderr.
//
// The library never prints to stdout (it may carry data). Warnings and info lines go to
// stderr prefixed "dnamba: "; set_log_quiet(true) silences info (not warnings).
#pragma once

#include <string>

namespace dnamba {

void set_log_quiet(bool quiet) noexcept;
[[nodiscard]] bool log_quiet() noexcept;
void log_info(const std::string& message);     // "dnamba: <message>" unless quiet
void log_warning(const std::string& message);  // "dnamba: warning: <message>" always

}  // namespace dnamba
