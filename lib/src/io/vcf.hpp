// io/vcf.hpp (private) — VCF/BCF in and out through htslib, for `dnamba vep`.
//
// VcfReader streams the records of a VCF (plain, bgzip), BCF or standard input, or only those
// whose POS lies in given regions (through the .tbi/.csi index, merged regions, file order).
// VcfWriter writes records with one header (the reader's, extended) to .vcf / .vcf.gz / .bcf
// under a temporary name (AtomicOutputFile) and indexes .vcf.gz (.tbi) and .bcf (.csi).
// vcf_concatenate joins the VCF outputs of `dnamba vep` shards (`dnamba merge`).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dnamba/input.hpp"

struct bcf1_t;
struct bcf_hdr_t;

namespace dnamba {

struct BcfRecordFree {
    void operator()(bcf1_t* r) const noexcept;
};
using BcfRecordPtr = std::unique_ptr<bcf1_t, BcfRecordFree>;

class VcfReader {
public:
    // Opens `path` ("-" = stdin) and reads its header. With `regions` (0-based half-open;
    // end INT64_MAX = to the contig end) only records whose POS lies in one are read, through
    // the index: Error(usage) when the file cannot be queried (not bgzipped, no index; the
    // message says how to sort, compress and index it). Error(input) for a file that cannot
    // be opened or has no valid VCF header.
    VcfReader(const std::string& path, const std::vector<Region>& regions);
    ~VcfReader();
    VcfReader(const VcfReader&) = delete;
    VcfReader& operator=(const VcfReader&) = delete;

    // The next record (unpacked: alleles and INFO); null at the end. Throws Error(input)
    // naming the file, the record number and the line for a malformed record.
    [[nodiscard]] BcfRecordPtr next();
    [[nodiscard]] bcf_hdr_t* header() noexcept;
    // Held around anything that reads or changes the header (htslib adds undeclared tags to
    // it while parsing) while another thread may use it.
    [[nodiscard]] std::mutex& header_mutex() noexcept;
    [[nodiscard]] const std::string& path() const noexcept;
    [[nodiscard]] std::size_t records_read() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

enum class VariantOutputFormat { vcf, vcf_gz, bcf, tsv };

// ".vcf" | ".vcf.gz" | ".bcf" | ".tsv" (case-insensitive; the TSV also as ".tsv.gz", bgzipped,
// and "-", standard output: is_tsv_output). Error(usage) otherwise.
[[nodiscard]] VariantOutputFormat variant_output_format(const std::string& path);

// True for the names variant_output_format takes as a VCF or BCF (not the TSV).
[[nodiscard]] bool is_vcf_output(const std::string& path);

class VcfWriter {
public:
    // Creates the temporary output (Error(io) when it cannot) for `header` (not owned; it must
    // outlive the writer and be complete: the header is written here).
    VcfWriter(const std::string& path, VariantOutputFormat format, bcf_hdr_t* header);
    ~VcfWriter();  // without commit(): nothing under the final name
    void write(bcf1_t* record);  // Error(io)
    // Closes, indexes (.vcf.gz, .bcf; records not sorted: a warning and no index), renames.
    // Returns whether an index was written.
    bool commit();
    [[nodiscard]] std::string index_path() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Concatenates VCF/BCF files (any of .vcf, .vcf.gz, .bcf each: the shard outputs of `dnamba
// vep --region` over one VCF), in the order given, into `output` (.vcf, .vcf.gz + .tbi, .bcf +
// .csi, by its name, through VcfWriter: atomic, indexed when sorted). Every input's header
// must be the first's, line for line. Throws Error(input) naming the input that cannot be read
// or whose header differs (and the first differing line), Error(io) when the output cannot be
// written. Returns the records written.
std::uint64_t vcf_concatenate(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace dnamba
