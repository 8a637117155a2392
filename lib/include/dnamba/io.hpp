// dnamba/io.hpp — reading sequence files and writing embedding outputs.
//
// Input: FastaReader streams records from FASTA files (plain, gzip or bgzip, or stdin) and
// rejects anything that is not FASTA with a message naming the file, line and record, so a
// wrong file fails at once instead of being embedded as garbage.
//
// Output: every file dnamba writes is written under a hidden temporary name and renamed onto
// the final name only on success (io/atomic_output.hpp, private), so an interrupted or failed
// run never leaves a truncated file that looks finished. EmbeddingWriter turns model
// outputs into one of three formats chosen by the output path's extension:
//   .tsv  pooled, one text row per sequence: name chrom start end strand e0..e{C-1}
//   .npy  pooled, float32 array (N, C), plus "<stem>.names.tsv" describing the rows
//   .npz  per-position, ZIP (ZIP64 when needed) of one float32 (L, C) array per sequence
// Writers are not thread-safe: the caller writes rows from one thread, in output order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dnamba {

// ---- FASTA input ------------------------------------------------------------------------

struct SequenceRecord {
    std::string name;  // first word of the header line (text after '>' up to whitespace)
    std::string seq;   // residues exactly as in the file, whitespace removed, case preserved
};

class FastaReader {
public:
    // Opens `path` for reading; "-" reads standard input. Plain, gzip and bgzip (BGZF)
    // files are all accepted (decompression by htslib). Nothing is read yet.
    // Throws Error(input) for an empty path, or "<path>: cannot open: <strerror>".
    explicit FastaReader(const std::string& path);
    ~FastaReader();
    FastaReader(const FastaReader&) = delete;
    FastaReader& operator=(const FastaReader&) = delete;

    // Reads the next record into `rec` (its previous contents are replaced). Returns false at
    // the clean end of the input; an empty (or all-blank) file simply returns false at once,
    // the caller decides whether that is an error. Blank lines and CR-LF line ends are fine.
    // Throws Error(input) naming the file, line and record (number and name) for: input that
    // is not FASTA (first non-blank character is not '>', e.g. FASTQ, BAM or binary data), a
    // header with no name, a header with no sequence, non-text bytes inside a sequence, and
    // corrupt or truncated compressed data. After a throw every later call throws the same.
    [[nodiscard]] bool next(SequenceRecord& rec);

    // Number of records returned by next() so far.
    [[nodiscard]] std::size_t records_read() const noexcept;
    // The path as given to the constructor ("-" for stdin).
    [[nodiscard]] const std::string& path() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---- interrupted runs -------------------------------------------------------------------

// Removes the temporary files of every output not yet committed or destroyed.
// Async-signal-safe (only atomic exchanges and unlink), so a SIGINT/SIGTERM handler can call
// it before re-raising the signal, so that ^C does not leave multi-gigabyte hidden temp files.
void remove_uncommitted_outputs() noexcept;

// ---- embedding writers ------------------------------------------------------------------

// Metadata of one output row. Pooled TSV rows and .names.tsv rows carry name chrom start end
// strand; for a whole FASTA record chrom = name, start 0, end = length, strand '+'.
// Coordinates are 0-based half-open (BED-like).
struct RowInfo {
    std::string name;
    std::string chrom;
    std::int64_t start = 0;
    std::int64_t end = 0;
    char strand = '+';
};

enum class OutputKind { pooled, per_position };

class EmbeddingWriter {
public:
    virtual ~EmbeddingWriter() = default;  // without commit(): no output file appears

    // Called once before any write(): `channels` floats per position (C). Throws
    // std::logic_error if called twice.
    virtual void begin(std::size_t channels) = 0;
    // Appends one sequence's embedding. pooled: `data` holds `channels` floats and
    // length_rows must be 1. per_position: `data` holds length_rows x channels floats,
    // row-major. The data is copied/written before returning (the caller may reuse it).
    // Throws Error(io) on write failure, std::logic_error before begin() or on a pooled
    // writer given length_rows != 1.
    virtual void write(const RowInfo& info, const float* data, std::size_t length_rows) = 0;
    // Finishes every file (headers patched, directories written) and atomically renames
    // each onto its final name. Throws Error(io) on failure (no final file is left half
    // written). Throws std::logic_error if called twice. No write() after commit().
    virtual void commit() = 0;

    [[nodiscard]] virtual OutputKind kind() const = 0;
    // Rows (sequences) written so far.
    [[nodiscard]] virtual std::size_t rows_written() const = 0;
    // Final paths of all files this writer creates (for "wrote ..." messages).
    [[nodiscard]] virtual std::vector<std::string> output_paths() const = 0;
};

// Creates the writer for `path`, chosen by its extension (case-insensitive):
// ".npz" -> per-position NPZ; ".tsv" -> pooled TSV (".tsv.gz": bgzip-compressed; "-": TSV on
// standard output, nothing renamed); ".npy" -> pooled NPY plus
// npy_names_path(path). Output files are created (as temporaries) at once, so an unwritable
// directory fails before any model work. Throws Error(usage) for an unknown extension (the
// message lists the accepted ones), Error(io) if a file cannot be created.
// `provenance` (a JSON object's text, see embed_provenance in embed.hpp; "" for none) is
// stored in the output: the .npz member dnamba/provenance, the first line of a TSV table or
// of the .names.tsv ("#dnamba <json>").
[[nodiscard]] std::unique_ptr<EmbeddingWriter> make_embedding_writer(const std::string& path,
                                                                     const std::string& provenance = "");

// True for a TSV table output: "-" (standard output), "*.tsv" and "*.tsv.gz" (case-insensitive).
// embed's pooled table and classify's calls table both take these.
[[nodiscard]] bool is_tsv_output(const std::string& path);

// The kind make_embedding_writer(path) would produce, without creating any file.
// Throws Error(usage) for an unknown extension, like make_embedding_writer.
[[nodiscard]] OutputKind output_kind_for_path(const std::string& path);

// "<path minus .npy>.names.tsv": the row table written beside a pooled .npy output.
[[nodiscard]] std::string npy_names_path(const std::string& npy_path);

// Refuses to write over an input: throws Error(usage) "<output> is also an input (<input>)"
// when `output` (or, for .npy, its .names.tsv) is the same file as one of `inputs` - the same
// path, or the same file through links or another spelling. Empty and "-" inputs are skipped.
void check_output_not_input(const std::string& output, const std::vector<std::string>& inputs);

}  // namespace dnamba
