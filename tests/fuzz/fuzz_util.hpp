// Shared by the libFuzzer targets: the readers take paths, so each input is written to a file
// in a private temporary directory (one per process, removed at exit).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace dnamba::fuzz {

class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/dnamba_fuzz_XXXXXX";
        if (!::mkdtemp(pattern.data())) {
            std::perror("dnamba fuzz: mkdtemp");
            std::abort();
        }
        dir_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // Replaces <dir>/<name> with exactly `size` bytes of `data`; returns its path.
    std::string write(const std::string& name, const std::uint8_t* data, std::size_t size) const {
        const std::string path = dir_ + "/" + name;
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            std::perror("dnamba fuzz: open");
            std::abort();
        }
        std::size_t done = 0;
        while (done < size) {
            const ssize_t w = ::write(fd, data + done, size - done);
            if (w <= 0) {
                std::perror("dnamba fuzz: write");
                std::abort();
            }
            done += static_cast<std::size_t>(w);
        }
        ::close(fd);
        return path;
    }

    void remove(const std::string& name) const { ::unlink((dir_ + "/" + name).c_str()); }
    [[nodiscard]] const std::string& path() const { return dir_; }

private:
    std::string dir_;
};

// A failed invariant: libFuzzer records the input as a crash.
#define DNAMBA_FUZZ_CHECK(cond)                                                                     \
    do {                                                                                            \
        if (!(cond)) {                                                                              \
            std::fprintf(stderr, "dnamba fuzz: invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                           \
        }                                                                                           \
    } while (0)

}  // namespace dnamba::fuzz
