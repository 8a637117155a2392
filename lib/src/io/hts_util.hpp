// io/hts_util.hpp (private) — small helpers over htslib shared by the readers.
#pragma once

#include <htslib/hts.h>

#include <cstdlib>
#include <string>

namespace dnamba {

// htslib's description of a detected format ("VCF version 4.2 variant calling text", ...),
// its buffer freed; "unknown data" when it has none.
inline std::string hts_format_name(const htsFormat& fmt) {
    char* d = hts_format_description(&fmt);
    std::string s = d ? d : "unknown data";
    std::free(d);
    return s;
}

}  // namespace dnamba
