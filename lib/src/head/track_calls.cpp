// `dnamba track` in the library: a classify calls table -> bedGraph/bigWig of one class, and
// the choice of that class. Apart from classify.cpp (which needs the engine and the model) so
// that the calls-table reader can be fuzzed on its own (tests/fuzz/fuzz_calls.cpp).
#include <charconv>
#include <fstream>

#include "dnamba/classify.hpp"
#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "dnamba/io.hpp"
#include "io/calls_table.hpp"
#include "io/provenance.hpp"
#include "io/text_util.hpp"
#include "io/track.hpp"

namespace dnamba {

std::unique_ptr<TrackWriter> class_track(const std::string& output, const std::string& genome,
                                         const std::string& class_label, const std::string& provenance) {
    const IndexedFasta fasta(genome);
    std::vector<std::pair<std::string, std::int64_t>> sizes;
    for (const auto& n : fasta.names()) sizes.emplace_back(n, fasta.length(n));
    return std::make_unique<TrackWriter>(output, sizes, "dnamba " + class_label, provenance);
}

std::size_t track_class_index(const std::vector<std::string>& classes, const std::string& name) {
    if (name.empty()) {
        if (classes.size() != 2)
            fail(ErrorKind::usage, "the head has " + std::to_string(classes.size()) + " classes: name the one to draw with --class");
        return 1;
    }
    for (std::size_t c = 0; c < classes.size(); ++c)
        if (classes[c] == name) return c;
    std::string known;
    for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c;
    fail(ErrorKind::usage, "--class " + name + ": the classes are " + known);
}

std::uint64_t track_from_calls(const std::string& calls_path, const std::string& genome, const std::string& class_name,
                               const std::string& output) {
    (void)track_format_for_path(output);  // an unknown extension fails before any reading
    check_output_not_input(output, {calls_path, genome});
    TableReader in(calls_path, "a classify table");
    const auto header = io_detail::split_tabs(in.header());
    const std::vector<std::string> classes = parse_calls_header(header, calls_path);
    const std::size_t column = 5 + track_class_index(classes, class_name);

    // the track carries the table's provenance: what made the probabilities it draws
    const auto writer = class_track(output, genome, classes[column - 5], in.provenance());
    std::uint64_t rows = 0;
    std::string line;
    while (in.next(line)) {
        if (line.empty()) continue;
        const std::string where = calls_path + ":" + std::to_string(in.line_no());
        const auto f = io_detail::split_tabs(line);
        if (f.size() != header.size())
            fail(ErrorKind::input, where + ": " + std::to_string(f.size()) + " columns, expected " + std::to_string(header.size()));
        const RowInfo r = io_detail::row_from_fields(f, 0, where);
        float p = 0;
        const auto& s = f[column];
        const auto parsed = std::from_chars(s.data(), s.data() + s.size(), p);
        if (parsed.ec != std::errc() || parsed.ptr != s.data() + s.size())
            fail(ErrorKind::input, where + ": column " + header[column] + " '" + s + "' is not a number");
        try {
            writer->add(r.chrom, r.start, r.end, p);
        } catch (const Error& e) {
            fail(e.kind(), where + ": " + e.what());
        }
        ++rows;
    }
    if (rows == 0) fail(ErrorKind::input, calls_path + ": no rows to draw");
    writer->commit();
    return rows;
}

}  // namespace dnamba
