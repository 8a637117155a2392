// kernels/status.hpp — what every call of the kernels/ API returns: ok, out of device memory
// (a failed allocation, or a launch that ran out of memory: the CUDA engine answers it by
// retrying smaller), or another error, each with its text. No CUDA types.
#pragma once

#include <ostream>
#include <string>
#include <utility>

namespace dnamba::kernels {

class Status {
public:
    enum class Code { ok, out_of_memory, error };

    Status() = default;
    // A message: "" is ok (so `return "";` reads as success), any other text an error.
    Status(const char* message) : Status(std::string(message)) {}  // NOLINT(google-explicit-constructor)
    Status(std::string message)                                     // NOLINT(google-explicit-constructor)
        : code_(message.empty() ? Code::ok : Code::error), message_(std::move(message)) {}
    [[nodiscard]] static Status out_of_memory(std::string message) {
        Status s(message.empty() ? std::string("out of device memory") : std::move(message));
        s.code_ = Code::out_of_memory;
        return s;
    }

    [[nodiscard]] bool ok() const noexcept { return code_ == Code::ok; }
    [[nodiscard]] bool is_out_of_memory() const noexcept { return code_ == Code::out_of_memory; }
    [[nodiscard]] Code code() const noexcept { return code_; }
    [[nodiscard]] const std::string& message() const noexcept { return message_; }

private:
    Code code_ = Code::ok;
    std::string message_;
};

// Compares the text: `status == ""` holds exactly when the call succeeded.
inline bool operator==(const Status& s, const char* message) { return s.message() == message; }
inline bool operator!=(const Status& s, const char* message) { return !(s == message); }
inline std::ostream& operator<<(std::ostream& out, const Status& s) { return out << (s.ok() ? "ok" : s.message()); }

}  // namespace dnamba::kernels
