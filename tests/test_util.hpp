// Helpers shared by the tests: scratch directories, running the dnamba binary, file access,
// and the relative Frobenius error of the numerics contract.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "dnamba/error.hpp"
#include "dnamba/model.hpp"
#include "io/text_util.hpp"

namespace dnamba::test {

// Message of the dnamba::Error that f throws; checks its kind, and fails the test if none is thrown.
template <typename F>
std::string error_of(F f, ErrorKind expected_kind) {
    try {
        f();
    } catch (const Error& e) {
        CHECK(static_cast<int>(e.kind()) == static_cast<int>(expected_kind));
        return e.what();
    }
    FAIL("no dnamba::Error thrown");
    return "";
}

// `s` in single quotes, for the command lines the CLI tests build (paths have no quotes).
inline std::string q(const std::string& s) { return "'" + s + "'"; }

// `n` random bases from A/C/G/T (seeded: the same string for the same seed).
inline std::string random_dna(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, 'A');
    for (auto& c : s) c = "ACGT"[rng() % 4];
    return s;
}

inline std::string testdata(const std::string& rel) { return std::string(DNAMBA_TESTDATA_DIR) + "/" + rel; }

// A fresh, empty scratch directory per name under the build tree.
inline std::string scratch_dir(const std::string& name) {
    const std::filesystem::path p = std::filesystem::path(DNAMBA_TEST_TMP) / name;
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(p);
    return p.string();
}

inline bool file_exists(const std::string& path) { return std::filesystem::exists(path); }

// The names in `dir`, sorted (to check that no temporary file is left behind).
inline std::vector<std::string> dir_entries(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_file(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary);
    out << content;
}

struct RunResult {
    int exit_code = -1;
    std::string out;  // stdout
    std::string err;  // stderr
};

// Runs `dnamba <args>` through the shell; args must be shell-quoted by the caller.
inline RunResult run_dnamba(const std::string& args) {
    static int counter = 0;
    const std::string dir = std::string(DNAMBA_TEST_TMP);
    std::filesystem::create_directories(dir);
    const std::string base = dir + "/run" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    const std::string cmd = std::string(DNAMBA_BINARY) + " " + args + " >" + base + ".out 2>" + base + ".err";
    const int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file(base + ".out");
    r.err = read_file(base + ".err");
    std::filesystem::remove(base + ".out");
    std::filesystem::remove(base + ".err");
    return r;
}

// ||a - b||_F / ||b||_F (b the reference).
inline double rel_error(const Matrix& a, const Matrix& b) {
    const double denom = b.cast<double>().norm();
    const double num = (a.cast<double>() - b.cast<double>()).norm();
    return denom > 0 ? num / denom : num;
}

// Parses a FASTA text file into name -> sequence (test fixtures only).
inline std::map<std::string, std::string> read_fasta_simple(const std::string& path) {
    std::map<std::string, std::string> out;
    std::ifstream in(path);
    std::string line, name;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        if (line[0] == '>') {
            name = line.substr(1, line.find_first_of(" \t") == std::string::npos ? std::string::npos
                                                                                  : line.find_first_of(" \t") - 1);
            out[name];
        } else {
            out[name] += line;
        }
    }
    return out;
}

}  // namespace dnamba::test

namespace dnamba::test {

// Arrays of a small STORED .npz (no ZIP64), keyed by member name without ".npy": reads local
// file headers in order and parses each .npy (float32, 2-D, C order), skipping the dnamba/ row table. Test use only.
inline std::map<std::string, Matrix> read_npz_simple(const std::string& path) {
    const std::string z = read_file(path);
    std::map<std::string, Matrix> out;
    std::size_t p = 0;
    auto u16 = [&](std::size_t at) { return std::uint32_t(std::uint8_t(z[at])) | std::uint32_t(std::uint8_t(z[at + 1])) << 8; };
    auto u32 = [&](std::size_t at) { return u16(at) | u16(at + 2) << 16; };
    while (p + 30 <= z.size() && u32(p) == 0x04034b50u) {
        const std::uint32_t size = u32(p + 18);
        const std::uint32_t name_len = u16(p + 26), extra_len = u16(p + 28);
        std::string name = z.substr(p + 30, name_len);
        const std::size_t data = p + 30 + name_len + extra_len;
        if (name.rfind("dnamba/", 0) == 0) {  // the row table, not records (NpzWriter)
            p = data + size;
            continue;
        }
        const std::string npy = z.substr(data, size);
        // .npy v1: magic(6) ver(2) header_len(2) header
        const std::size_t hlen = std::uint8_t(npy[8]) | std::uint8_t(npy[9]) << 8;
        const std::string header = npy.substr(10, hlen);
        const auto lp = header.find("'shape': (");
        long rows = 0, cols = 0;
        std::sscanf(header.c_str() + lp + 10, "%ld, %ld", &rows, &cols);
        Matrix m(rows, cols);
        std::memcpy(m.data(), npy.data() + 10 + hlen, sizeof(float) * rows * cols);
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
        out[name] = m;
        p = data + size;
    }
    return out;
}

// The lines of a table split at tabs, without dnamba's provenance lines ("#dnamba {...}"
// first, "#dnamba-end {...}" last; read_tsv_provenance gives the first).
inline std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(read_file(path));
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("#dnamba ", 0) != 0 && line.rfind("#dnamba-end ", 0) != 0)
            rows.push_back(dnamba::io_detail::split_tabs(line));
    return rows;
}

// The JSON text of a table's "#dnamba" line ("" when it has none).
inline std::string read_tsv_provenance(const std::string& path) {
    std::istringstream in(read_file(path));
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("#dnamba ", 0) == 0) return line.substr(8);
    return "";
}

}  // namespace dnamba::test
