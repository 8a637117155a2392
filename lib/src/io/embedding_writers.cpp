// The pooled writers (.tsv and .npy) and make_embedding_writer(), which picks the format
// from the output path's extension. The per-position .npz writer is in npz_writer.cpp.
//
// Both pooled formats stream rows to disk as they come; nothing is held in memory beyond
// one formatted row, so the number of sequences is unbounded.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dnamba/error.hpp"
#include "io/text_util.hpp"
#include "dnamba/io.hpp"
#include "io/npy.hpp"
#include "io/npz_writer.hpp"
#include "io/atomic_output.hpp"
#include "io/calls_table.hpp"
#include "io/provenance.hpp"
#include "util/crc32.hpp"

namespace dnamba {
namespace {

// Appends a text field, replacing tabs and line breaks so every row keeps its columns.
void append_field(std::string& line, const std::string& s) {
    const std::size_t at = line.size();
    line += s;
    for (std::size_t i = at; i < line.size(); ++i) {
        if (line[i] == '\t' || line[i] == '\n' || line[i] == '\r') line[i] = '_';
    }
}

void append_int(std::string& line, std::int64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    line.append(buf, r.ptr);
}

// Shortest representation that parses back to the same float32 (std::to_chars contract).
void append_float(std::string& line, float v) {
    char buf[48];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    line.append(buf, r.ptr);
}

// name chrom start end strand (no trailing tab)
void append_row_info(std::string& line, const RowInfo& info) {
    append_field(line, info.name);
    line += '\t';
    append_field(line, info.chrom);
    line += '\t';
    append_int(line, info.start);
    line += '\t';
    append_int(line, info.end);
    line += '\t';
    line += info.strand;
}

bool has_extension(const std::string& path, const char* ext) {
    const std::string p = io_detail::lower_case(path);
    const std::size_t n = std::strlen(ext);
    return p.size() > n && p.compare(p.size() - n, n, ext) == 0 && p[p.size() - n - 1] != '/';
}

void check_writable(bool begun, bool committed, const std::string& path, const char* what) {
    if (!begun) throw std::logic_error(std::string(what) + " before begin() for " + path);
    if (committed) throw std::logic_error(std::string(what) + " after commit() for " + path);
}

// ---- pooled TSV -------------------------------------------------------------------------

class TsvWriter final : public EmbeddingWriter {
public:
    // "-" is standard output, "*.tsv.gz" is bgzip-compressed (AtomicOutputFile's TextOutput).
    TsvWriter(const std::string& path, const std::string& provenance)
        : out_(path, TextOutput::yes), provenance_(provenance) {}

    void begin(std::size_t channels) override {
        if (begun_) throw std::logic_error("EmbeddingWriter::begin() called twice for " + out_.final_path());
        begun_ = true;
        channels_ = channels;
        write_header();
    }

    void write(const RowInfo& info, const float* data, std::size_t length_rows) override {
        check_writable(begun_, committed_, out_.final_path(), "write()");
        if (length_rows != 1) throw std::logic_error("pooled writer given " + std::to_string(length_rows) + " rows");
        line_.clear();
        append_row_info(line_, info);
        for (std::size_t c = 0; c < channels_; ++c) {
            line_ += '\t';
            append_float(line_, data[c]);
        }
        line_ += '\n';
        out_.write(line_.data(), line_.size());
        crc_ = crc32_update(crc_, line_.data(), line_.size());
        ++rows_;
    }

    void commit() override {
        if (committed_) throw std::logic_error("EmbeddingWriter::commit() called twice for " + out_.final_path());
        if (!begun_) write_header();  // still a valid (empty) table
        if (!provenance_.empty()) {
            const std::string end = provenance_end_line(rows_, crc_);
            out_.write(end.data(), end.size());
        }
        out_.commit();
        committed_ = true;
    }

    [[nodiscard]] OutputKind kind() const override { return OutputKind::pooled; }
    [[nodiscard]] std::size_t rows_written() const override { return rows_; }
    [[nodiscard]] std::vector<std::string> output_paths() const override { return {out_.final_path()}; }

private:
    void write_header() {
        line_.clear();
        if (!provenance_.empty()) line_ = k_provenance_line + provenance_ + "\n";
        line_ += "name\tchrom\tstart\tend\tstrand";
        for (std::size_t c = 0; c < channels_; ++c) line_ += "\te" + std::to_string(c);
        line_ += '\n';
        out_.write(line_.data(), line_.size());
    }

    AtomicOutputFile out_;
    std::string provenance_;
    std::string line_;
    std::uint32_t crc_ = 0;  // of the rows' lines
    std::size_t channels_ = 0;
    std::size_t rows_ = 0;
    bool begun_ = false;
    bool committed_ = false;
};

// ---- pooled NPY + names table -----------------------------------------------------------

class NpyWriter final : public EmbeddingWriter {
public:
    NpyWriter(const std::string& path, const std::string& provenance)
        : npy_(path), names_(npy_names_path(path)), provenance_(provenance) {
        // A header of the final size with shape (0, 0); commit() rewrites it with the real shape.
        const std::string header = io_detail::npy_f32_header({0, 0}, io_detail::k_npy_fixed_header);
        npy_.write(header.data(), header.size());
        std::string names_header;
        if (!provenance_.empty()) names_header = k_provenance_line + provenance_ + "\n";
        names_header += "index\tname\tchrom\tstart\tend\tstrand\n";
        names_.write(names_header.data(), names_header.size());
    }

    void begin(std::size_t channels) override {
        if (begun_) throw std::logic_error("EmbeddingWriter::begin() called twice for " + npy_.final_path());
        begun_ = true;
        channels_ = channels;
    }

    void write(const RowInfo& info, const float* data, std::size_t length_rows) override {
        check_writable(begun_, committed_, npy_.final_path(), "write()");
        if (length_rows != 1) throw std::logic_error("pooled writer given " + std::to_string(length_rows) + " rows");
        npy_.write(data, channels_ * sizeof(float));
        line_.clear();
        append_int(line_, static_cast<std::int64_t>(rows_));
        line_ += '\t';
        append_row_info(line_, info);
        line_ += '\n';
        names_.write(line_.data(), line_.size());
        data_crc_ = crc32_update(data_crc_, data, channels_ * sizeof(float));
        names_crc_ = crc32_update(names_crc_, line_.data(), line_.size());
        names_bytes_ += line_.size();
        ++rows_;
    }

    void commit() override {
        if (committed_) throw std::logic_error("EmbeddingWriter::commit() called twice for " + npy_.final_path());
        const std::string header =
            io_detail::npy_f32_header({rows_, channels_}, io_detail::k_npy_fixed_header);
        std::FILE* f = npy_.file();
        if (std::fflush(f) != 0 || fseeko(f, 0, SEEK_SET) != 0) {
            throw Error(ErrorKind::io, npy_.final_path() + ": cannot seek to rewrite the header: " + std::strerror(errno));
        }
        npy_.write(header.data(), header.size());
        if (!provenance_.empty()) {
            // one CRC over the array's data, then the names' rows
            const std::string end = provenance_end_line(
                rows_, crc32_concat(data_crc_, names_crc_, names_bytes_));
            names_.write(end.data(), end.size());
        }
        // Check both files before renaming either, so a failure leaves neither behind.
        npy_.finish();
        names_.finish();
        npy_.commit();
        names_.commit();
        committed_ = true;
    }

    [[nodiscard]] OutputKind kind() const override { return OutputKind::pooled; }
    [[nodiscard]] std::size_t rows_written() const override { return rows_; }
    [[nodiscard]] std::vector<std::string> output_paths() const override {
        return {npy_.final_path(), names_.final_path()};
    }

private:
    AtomicOutputFile npy_;
    AtomicOutputFile names_;
    std::string provenance_;
    std::uint32_t data_crc_ = 0;   // of the array's data
    std::uint32_t names_crc_ = 0;  // of the names' rows
    std::uint64_t names_bytes_ = 0;
    std::string line_;
    std::size_t channels_ = 0;
    std::size_t rows_ = 0;
    bool begun_ = false;
    bool committed_ = false;
};

[[noreturn]] void unknown_extension(const std::string& path) {
    throw Error(ErrorKind::usage, "output '" + path +
                                      "': unknown output format; the file name must end in .tsv (pooled "
                                      "embeddings as text; .tsv.gz bgzip-compressed; - for standard output), .npy (pooled float32 array plus <stem>.names.tsv) "
                                      "or .npz (per-position float32 arrays, one per sequence)");
}

}  // namespace

bool is_tsv_output(const std::string& path) {
    return is_stdout_path(path) || has_extension(path, ".tsv") || has_extension(path, ".tsv.gz");
}

OutputKind output_kind_for_path(const std::string& path) {
    if (has_extension(path, ".npz")) return OutputKind::per_position;
    if (is_tsv_output(path) || has_extension(path, ".npy")) return OutputKind::pooled;
    unknown_extension(path);
}

std::unique_ptr<EmbeddingWriter> make_embedding_writer(const std::string& path, const std::string& provenance) {
    if (has_extension(path, ".npz")) {
        io_detail::NpzOptions options;
        options.provenance = provenance;
        return std::make_unique<io_detail::NpzWriter>(path, options);
    }
    if (is_tsv_output(path)) return std::make_unique<TsvWriter>(path, provenance);
    if (has_extension(path, ".npy")) return std::make_unique<NpyWriter>(path, provenance);
    unknown_extension(path);
}

std::string npy_names_path(const std::string& npy_path) {
    std::string stem = npy_path;
    if (has_extension(stem, ".npy")) stem.resize(stem.size() - 4);
    return stem + ".names.tsv";
}

CallsTableWriter::CallsTableWriter(const std::string& path, std::vector<std::string> classes,
                                   const std::string& provenance)
    : out_(std::make_unique<AtomicOutputFile>(path, TextOutput::yes)), classes_(std::move(classes)),
      has_provenance_(!provenance.empty()) {
    if (has_provenance_) line_ = k_provenance_line + provenance + "\n";
    line_ += "name\tchrom\tstart\tend\tstrand";
    for (const auto& c : classes_) line_ += "\tp_" + c;
    line_ += "\tpredicted\n";
    out_->write(line_.data(), line_.size());
}

void CallsTableWriter::write(const RowInfo& row, const float* proba) {
    line_.clear();
    append_row_info(line_, row);
    std::size_t best = 0;
    for (std::size_t c = 0; c < classes_.size(); ++c) {
        line_ += '\t';
        append_float(line_, proba[c]);
        if (proba[c] > proba[best]) best = c;
    }
    line_ += '\t';
    line_ += classes_[best];
    line_ += '\n';
    out_->write(line_.data(), line_.size());
    crc_ = crc32_update(crc_, line_.data(), line_.size());
    ++rows_;
}

void CallsTableWriter::commit() {
    if (has_provenance_) {
        line_ = provenance_end_line(rows_, crc_);
        out_->write(line_.data(), line_.size());
    }
    out_->commit();
}

std::vector<std::string> parse_calls_header(const std::vector<std::string>& header, const std::string& path) {
    std::vector<std::string> classes;
    for (std::size_t i = 5; i + 1 < header.size(); ++i) {
        if (header[i].rfind("p_", 0) != 0) break;
        classes.push_back(header[i].substr(2));
    }
    if (header.size() < 7 || header[0] != "name" || header[1] != "chrom" || header[4] != "strand" ||
        classes.size() + 6 != header.size() || header.back() != "predicted")
        fail(ErrorKind::input, path + ":1: expected the header of a dnamba classify table "
                                      "(name chrom start end strand p_<class>... predicted)");
    return classes;
}

}  // namespace dnamba
