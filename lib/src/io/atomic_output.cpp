// Output files that appear under their final name only when complete.
//
// Each output is written to "<dir>/.<base>.tmp.<pid>" and renamed by commit(); rename within
// one directory is atomic on POSIX, so readers (and pipelines testing for the file) see
// either nothing or the whole file. Uncommitted temporaries are removed by the destructor,
// and also by remove_uncommitted_outputs() from a signal handler: for that the temp paths
// live in a fixed static table guarded by lock-free atomic states, which a handler may
// walk without locks or allocation.
//
// Text outputs (TextOutput::yes: TSV tables, bedGraph) may also be "-", written straight to
// stdout (nothing to rename; a failed run may have written part of it, as any pipe would), or
// "*.gz", compressed through htslib's BGZF into the same temporary file and renamed the same way.
// An existing device or pipe (/dev/null, /dev/full, a FIFO) is written in place, without a
// temporary file: there is no file to replace, and renaming onto it would replace the device.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include <htslib/bgzf.h>

#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "io/atomic_output.hpp"

namespace dnamba {
namespace {

// More simultaneously open outputs than this are not cleaned up by a signal handler
// (the destructor still removes them); dnamba opens at most a handful.
constexpr std::size_t k_registry_slots = 64;

// Each slot's state word is (ticket << 2) | tag, the ticket unique per registration, so an
// object can only ever release its own registration, never a later one that reused the
// slot. A path is written only while its slot is `filling` and read by the signal handler
// only after moving the slot from `live` to `removing`, so neither side sees a half-written
// or replaced path. Static storage: nothing is ever freed under a handler's feet.
enum SlotTag : std::uint64_t { k_free = 0, k_filling = 1, k_live = 2, k_removing = 3 };
struct RegistrySlot {
    std::atomic<std::uint64_t> state{k_free};
    char path[4096];
};
RegistrySlot g_registry[k_registry_slots];
std::atomic<std::uint64_t> g_next_ticket{1};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the signal-handler registry needs lock-free atomics");

constexpr std::size_t k_stdio_buffer = 1u << 20;  // large sequential writes of float arrays

// Returns the registration's live state word (0 when not registered) and its slot.
std::uint64_t register_temp(const std::string& path, int& slot) noexcept {
    slot = -1;
    if (path.size() >= sizeof(RegistrySlot::path)) return 0;
    const std::uint64_t ticket = g_next_ticket.fetch_add(1);
    for (std::size_t i = 0; i < k_registry_slots; ++i) {
        std::uint64_t expected = k_free;
        if (g_registry[i].state.compare_exchange_strong(expected, (ticket << 2) | k_filling)) {
            std::memcpy(g_registry[i].path, path.c_str(), path.size() + 1);
            g_registry[i].state.store((ticket << 2) | k_live);
            slot = static_cast<int>(i);
            return (ticket << 2) | k_live;
        }
    }
    return 0;
}

// Frees our slot if it still holds our registration (a handler may have taken it).
void unregister_temp(int slot, std::uint64_t live_state) noexcept {
    if (slot < 0) return;
    std::uint64_t expected = live_state;
    g_registry[static_cast<std::size_t>(slot)].state.compare_exchange_strong(expected, k_free);
}

}  // namespace

bool is_stdout_path(const std::string& path) noexcept { return path == "-"; }

bool is_gz_path(const std::string& path) noexcept {
    if (path.size() < 4 || path[path.size() - 4] == '/') return false;
    const std::string tail = path.substr(path.size() - 3);
    return tail[0] == '.' && (tail[1] == 'g' || tail[1] == 'G') && (tail[2] == 'z' || tail[2] == 'Z');
}

void remove_uncommitted_outputs() noexcept {
    for (auto& slot : g_registry) {
        std::uint64_t current = slot.state.load();
        if ((current & 3) != k_live) continue;
        if (slot.state.compare_exchange_strong(current, (current & ~std::uint64_t{3}) | k_removing)) {
            ::unlink(slot.path);
            slot.state.store(k_free);
        }
    }
}

AtomicOutputFile::AtomicOutputFile(const std::string& final_path, TextOutput text) : final_path_(final_path) {
    if (final_path.empty()) throw Error(ErrorKind::io, "empty output path");
    if (text == TextOutput::yes && is_stdout_path(final_path)) {
        to_stdout_ = true;  // nothing to create, rename or clean up
        return;
    }
    const std::size_t slash = final_path.rfind('/');
    const std::string dir = slash == std::string::npos ? std::string() : final_path.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? final_path : final_path.substr(slash + 1);
    struct stat st {};
    const bool exists = ::stat(final_path.c_str(), &st) == 0;
    if (base.empty() || base == "." || base == ".." || (exists && S_ISDIR(st.st_mode))) {
        throw Error(ErrorKind::io, final_path + ": cannot write output: is a directory; expected a file name");
    }
    if (exists && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
        // A device or a pipe (/dev/null, /dev/full, /dev/stdout, a FIFO): written in place.
        // A temporary beside it and a rename would replace the device node itself (as root, in /dev).
        direct_ = true;
        temp_path_ = final_path;
        file_ = std::fopen(final_path.c_str(), "wb");
        if (!file_) throw Error(ErrorKind::io, final_path + ": cannot open output: " + std::strerror(errno));
    }
    // Exclusive create ("x"): two outputs of this process aimed at the same final path, or a
    // stale temp left by a killed process that had our pid, get distinct temp names. Each name
    // is registered for the signal handler before the file exists, so that no moment leaves a
    // file that a SIGINT would not remove (removing a name not yet created is harmless).
    const std::string stem = dir + "." + base + ".tmp." + std::to_string(::getpid());
    for (int attempt = 0; attempt < 100 && !file_; ++attempt) {
        temp_path_ = attempt == 0 ? stem : stem + "." + std::to_string(attempt);
        registry_state_ = register_temp(temp_path_, registry_slot_);
        file_ = std::fopen(temp_path_.c_str(), "wbx");
        if (file_) break;
        const int e = errno;
        unregister_temp(registry_slot_, registry_state_);
        registry_slot_ = -1;
        errno = e;
        if (e != EEXIST) break;
    }
    if (!file_) {
        const int e = errno;
        std::string why = std::strerror(e);
        if (e == ENOENT) why += " (does the directory exist?)";
        throw Error(ErrorKind::io, final_path + ": cannot create output (temporary file " + temp_path_ + "): " + why);
    }
    if (text == TextOutput::yes && is_gz_path(final_path)) {
        // BGZF on a duplicate of the descriptor of the file just created exclusively;
        // bgzf_close closes that duplicate, file_ is closed here.
        const int fd = ::dup(::fileno(file_));
        std::fclose(file_);
        file_ = nullptr;
        bgzf_ = fd < 0 ? nullptr : bgzf_dopen(fd, "w");
        if (!bgzf_) {
            const int e = errno;
            if (fd >= 0) ::close(fd);
            if (!direct_) ::unlink(temp_path_.c_str());
            unregister_temp(registry_slot_, registry_state_);  // no destructor runs after a throw
            throw Error(ErrorKind::io, final_path + ": cannot start bgzip compression: " + std::strerror(e));
        }
        return;
    }
    buffer_.resize(k_stdio_buffer);
    std::setvbuf(file_, buffer_.data(), _IOFBF, buffer_.size());
}

AtomicOutputFile::~AtomicOutputFile() {
    if (to_stdout_) return;
    if (bgzf_) bgzf_close(bgzf_);
    if (file_) std::fclose(file_);
    if (!committed_ && !direct_) ::unlink(temp_path_.c_str());
    unregister_temp(registry_slot_, registry_state_);
}

std::FILE* AtomicOutputFile::file() {
    if (to_stdout_ || bgzf_) throw std::logic_error("AtomicOutputFile::file() on standard output or a .gz output: " + final_path_);
    if (!file_) throw std::logic_error("AtomicOutputFile::file() after finish()/commit() for " + final_path_);
    return file_;
}

void AtomicOutputFile::write(const void* data, std::size_t bytes) {
    if (bytes == 0) return;
    if (to_stdout_) {
        if (committed_) throw std::logic_error("AtomicOutputFile::write() to standard output after commit()");
        if (std::fwrite(data, 1, bytes, stdout) != bytes)
            throw Error(ErrorKind::io, std::string("standard output: write failed: ") + std::strerror(errno));
        return;
    }
    if (bgzf_) {
        if (bgzf_write(bgzf_, data, bytes) < 0) fail_io(std::string("write failed (bgzip): ") + std::strerror(errno));
        return;
    }
    if (std::fwrite(data, 1, bytes, file()) != bytes) {
        fail_io(std::string("write failed: ") + std::strerror(errno));
    }
}

void AtomicOutputFile::fail_io(const std::string& what) {
    if (bgzf_) {
        bgzf_close(bgzf_);
        bgzf_ = nullptr;
    }
    if (file_) {
        std::fclose(file_);
        file_ = nullptr;
    }
    if (!direct_) ::unlink(temp_path_.c_str());
    throw Error(ErrorKind::io, final_path_ + ": " + what);
}

void AtomicOutputFile::finish() {
    if (to_stdout_) {
        if (std::fflush(stdout) != 0 || std::ferror(stdout))
            throw Error(ErrorKind::io, std::string("standard output: write failed: ") + std::strerror(errno));
        return;
    }
    if (bgzf_) {
        errno = 0;
        BGZF* z = bgzf_;
        bgzf_ = nullptr;
        if (bgzf_close(z) != 0) fail_io(std::string("write failed (bgzip): ") + std::strerror(errno));
        return;
    }
    if (!file_) return;
    if (std::fflush(file_) != 0 || std::ferror(file_)) {
        fail_io(std::string("write failed: ") + std::strerror(errno));
    }
    std::FILE* f = file_;
    file_ = nullptr;
    if (std::fclose(f) != 0) {
        fail_io(std::string("write failed on close: ") + std::strerror(errno));
    }
}

void AtomicOutputFile::commit() {
    if (committed_) throw std::logic_error("AtomicOutputFile::commit() called twice for " + final_path_);
    finish();
    if (to_stdout_ || direct_) {
        committed_ = true;
        return;
    }
    if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
        const int e = errno;
        ::unlink(temp_path_.c_str());
        throw Error(ErrorKind::io, final_path_ + ": cannot rename temporary file " + temp_path_ +
                                       " onto it: " + std::strerror(e));
    }
    committed_ = true;
    unregister_temp(registry_slot_, registry_state_);
    registry_slot_ = -1;
}

}  // namespace dnamba
