// libFuzzer target: IndexedFasta over arbitrary bytes: build the index (htslib faidx), then
// fetch every contig whole and in pieces, and out of range (must be Error). When FastaReader
// also accepts the file and the names are unique, faidx must return the same bases: a
// FASTA that one reader understands differently from the other must be rejected, never read
// as wrong bases.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "dnamba/io.hpp"
#include "dnamba/log.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dnamba::fuzz::TempDir dir;
    static const bool quiet = (dnamba::set_log_quiet(true), true);
    (void)quiet;
    dir.remove("in.fa.fai");
    dir.remove("in.fa.gzi");
    const std::string path = dir.write("in.fa", data, size);

    std::map<std::string, std::string> records;  // FastaReader's view, when it accepts the file
    bool reader_ok = true;
    try {
        dnamba::FastaReader reader(path);
        dnamba::SequenceRecord rec;
        while (reader.next(rec)) {
            if (!records.emplace(rec.name, rec.seq).second) reader_ok = false;  // duplicate name
        }
    } catch (const dnamba::Error&) {
        reader_ok = false;
    }

    try {
        const dnamba::IndexedFasta fa(path);
        std::int64_t total = 0;
        for (const std::string& name : fa.names()) {
            DNAMBA_FUZZ_CHECK(fa.has(name));
            const std::int64_t len = fa.length(name);
            DNAMBA_FUZZ_CHECK(len >= 0);
            total += len;
            std::string whole;
            try {
                whole = fa.fetch(name, 0, len);
            } catch (const dnamba::Error& e) {
                DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::input);
                continue;
            }
            DNAMBA_FUZZ_CHECK(static_cast<std::int64_t>(whole.size()) == len);
            if (reader_ok && records.size() == fa.names().size()) {
                const auto it = records.find(name);
                DNAMBA_FUZZ_CHECK(it != records.end());
                DNAMBA_FUZZ_CHECK(it->second == whole);
            }
            if (len > 2) DNAMBA_FUZZ_CHECK(fa.fetch(name, 1, len - 1) == whole.substr(1, len - 2));
            bool threw = false;
            try {
                (void)fa.fetch(name, 0, len + 1);
            } catch (const dnamba::Error& e) {
                threw = e.kind() == dnamba::ErrorKind::input;
            }
            DNAMBA_FUZZ_CHECK(threw);
        }
        DNAMBA_FUZZ_CHECK(total == fa.total_length());
    } catch (const dnamba::Error& e) {
        DNAMBA_FUZZ_CHECK(e.kind() == dnamba::ErrorKind::input);
    }
    return 0;
}
