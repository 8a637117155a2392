// io/track.hpp (private) — genome browser tracks of a window score: bedGraph or bigWig.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dnamba {

enum class TrackFormat { bedgraph, bigwig };

// ".bedgraph"/".bedGraph"/".bg" -> bedgraph, ".bw"/".bigwig" -> bigwig; else Error(usage).
[[nodiscard]] TrackFormat track_format_for_path(const std::string& path);

// Collects scored intervals (e.g. sliding windows) and writes a valid track: per chromosome in
// the order of `chrom_sizes`, sorted, non-overlapping; where windows overlap, each base step
// (segment between consecutive window boundaries) gets the mean of the windows covering it;
// adjacent segments with equal values are merged; uncovered bases are absent. Written under a
// temporary name and renamed by commit(). bigWig through libBigWig.
class TrackWriter {
public:
    // `provenance` (JSON text, io/provenance.hpp): a bedGraph's second line "#dnamba <json>",
    // after the track line; bigWig has no place for it (the format holds no free text).
    TrackWriter(const std::string& path, std::vector<std::pair<std::string, std::int64_t>> chrom_sizes,
                const std::string& track_name = "dnamba", const std::string& provenance = "");
    ~TrackWriter();
    // Throws Error(input) for an unknown chrom or an interval outside it / empty.
    void add(const std::string& chrom, std::int64_t start, std::int64_t end, float value);
    void commit();  // Error(io)
private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The track of one class's probability over the chromosomes of `genome`'s FASTA index (built
// when missing), labelled "dnamba <class_label>" (head/track_calls.cpp; classify and track).
[[nodiscard]] std::unique_ptr<TrackWriter> class_track(const std::string& output, const std::string& genome,
                                                       const std::string& class_label, const std::string& provenance = "");

}  // namespace dnamba
