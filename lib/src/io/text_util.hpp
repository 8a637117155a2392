// Small text helpers shared by the readers and writers (private to lib/src).
#pragma once

#include <htslib/bgzf.h>
#include <htslib/hts_log.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dnamba/error.hpp"
#include "dnamba/io.hpp"

namespace dnamba::io_detail {

// ASCII lower case (file extensions are matched case-insensitively).
inline std::string lower_case(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// The last extension of a path's file name, lower-cased with its dot (".npz"); "" if none.
inline std::string lower_extension(const std::string& path) {
    const auto slash = path.find_last_of('/');
    const auto dot = path.find_last_of('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
    return lower_case(path.substr(dot));
}

// Printable rendering of (the start of) a piece of text for error messages: bytes outside
// printable ASCII become \xNN, and "..." marks a cut after `limit` bytes.
inline std::string printable(std::string_view s, std::size_t limit = 40) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    if (s.size() > limit) out += "...";
    return out;
}

// Opens `path` ("-" = standard input) as plain, gzip or bgzip text through htslib's BGZF
// layer; `display` names it in messages. Throws Error(input) for a directory or an unopenable
// file. The caller owns the handle (bgzf_close).
inline BGZF* open_bgzf_text(const std::string& path, const std::string& display) {
    if (path != "-") {
        // bgzf_open would happily open a directory and fail later with a vaguer message.
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
            throw Error(ErrorKind::input, path + ": cannot open: " + std::strerror(EISDIR));
    }
    // htslib would print its own "[E::bgzf_read] ..." lines before our error, which names the
    // file and record; keep stderr to one clear message.
    hts_set_log_level(HTS_LOG_OFF);
    errno = 0;
    BGZF* fp = bgzf_open(path.c_str(), "r");
    if (!fp) {
        const int e = errno;
        throw Error(ErrorKind::input, display + ": cannot open: " +
                                          (e ? std::strerror(e) : "not readable as plain, gzip or bgzip data"));
    }
    return fp;
}

// The fields of one line of a tab-separated table (an empty line is one empty field).
inline std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> f;
    std::size_t s = 0, e;
    while ((e = line.find('\t', s)) != std::string::npos) {
        f.push_back(line.substr(s, e - s));
        s = e + 1;
    }
    f.push_back(line.substr(s));
    return f;
}

// A whole field as an integer; Error(input) naming `where` otherwise.
inline std::int64_t parse_table_int(const std::string& s, const std::string& where) {
    std::int64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) fail(ErrorKind::input, where + ": '" + s + "' is not an integer");
    return v;
}

// The row columns name chrom start end strand starting at field `first` (the caller checked
// that they are there); Error(input) naming `where` for a coordinate that is not an integer,
// coordinates that are not 0 <= start <= end, or a strand other than +, - or . (found by
// fuzz_tables: "0" or "x" was taken as a strand, "-5" as a start).
inline RowInfo row_from_fields(const std::vector<std::string>& f, std::size_t first, const std::string& where) {
    RowInfo r;
    r.name = f[first];
    r.chrom = f[first + 1];
    r.start = parse_table_int(f[first + 2], where);
    r.end = parse_table_int(f[first + 3], where);
    if (r.start < 0 || r.end < r.start)
        fail(ErrorKind::input, where + ": start " + f[first + 2] + " and end " + f[first + 3] +
                                   " are not 0 <= start <= end (0-based, half-open)");
    const std::string& strand = f[first + 4];
    if (strand.size() > 1 || (strand.size() == 1 && strand != "+" && strand != "-" && strand != "."))
        fail(ErrorKind::input, where + ": strand '" + strand + "' is not +, - or .");
    r.strand = strand.empty() ? '+' : strand[0];
    return r;
}

}  // namespace dnamba::io_detail
