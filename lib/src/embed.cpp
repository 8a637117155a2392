// Embedding: rc modes, pooling, and the record loop behind `dnamba embed`.
//
// The loop is the data flow of DESIGN.md in one place: step 0 read a record, step 1 run the
// model, step 2 reduce and write. (The threaded three-stage pipeline replaces this loop with
// the streaming-input work; results will not change.)
#include "dnamba/embed.hpp"

#include <chrono>

#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "dnamba/log.hpp"
#include "dnamba/tokenizer.hpp"

namespace dnamba {

PoolMode parse_pool(const std::string& text) {
    if (text == "none") return PoolMode::none;
    if (text == "mean") return PoolMode::mean;
    if (text == "max") return PoolMode::max;
    if (text == "first") return PoolMode::first;
    if (text == "last") return PoolMode::last;
    fail(ErrorKind::usage, "--pool " + text + ": expected none, mean, max, first or last");
}

RcMode parse_rc(const std::string& text) {
    if (text == "none") return RcMode::none;
    if (text == "average") return RcMode::average;
    fail(ErrorKind::usage, "--rc " + text + ": expected none or average");
}

const char* pool_name(PoolMode mode) noexcept {
    switch (mode) {
    case PoolMode::none: return "none";
    case PoolMode::mean: return "mean";
    case PoolMode::max: return "max";
    case PoolMode::first: return "first";
    case PoolMode::last: return "last";
    }
    return "?";
}

int embedding_channels(const ModelConfig& config, RcMode rc) noexcept {
    return (config.rcps && rc == RcMode::none) ? 2 * config.d_model : config.d_model;
}

Matrix embed_sequence(Engine& engine, const Model& model, std::string_view seq, RcMode rc, bool add_sep,
                      std::size_t* unknown) {
    const ModelConfig& c = model.config;
    const auto ids = tokenize(seq, add_sep, unknown);
    Matrix h = engine.forward(ids);
    if (rc == RcMode::none) return h;
    const int d = c.d_model;
    if (c.rcps) return (h.leftCols(d) + h.rightCols(d).rowwise().reverse()) * 0.5f;
    const auto rc_ids = tokenize(reverse_complement(seq), add_sep, nullptr);
    const Matrix hr = engine.forward(rc_ids);
    const Eigen::Index L = static_cast<Eigen::Index>(seq.size());
    Matrix out(h.rows(), h.cols());
    out.topRows(L) = (h.topRows(L) + hr.topRows(L).colwise().reverse()) * 0.5f;
    if (add_sep) out.row(L) = (h.row(L) + hr.row(L)) * 0.5f;
    return out;
}

Vector pool_rows(const Matrix& x, PoolMode mode) {
    if (x.rows() == 0) fail(ErrorKind::input, "cannot pool an empty sequence");
    switch (mode) {
    case PoolMode::mean: return x.colwise().mean().transpose();
    case PoolMode::max: return x.colwise().maxCoeff().transpose();
    case PoolMode::first: return x.row(0).transpose();
    case PoolMode::last: return x.row(x.rows() - 1).transpose();
    case PoolMode::none: break;
    }
    fail(ErrorKind::usage, "pool mode none has no pooled vector");
}

EmbedSummary embed_fasta(Engine& engine, const Model& model, const std::string& input, const std::string& output,
                         const EmbedOptions& options) {
    const auto kind = output_kind_for_path(output);
    if (options.pool == PoolMode::none && kind != OutputKind::per_position)
        fail(ErrorKind::usage, "--pool none gives one array per position: write it to a .npz file, not " + output);
    if (options.pool != PoolMode::none && kind != OutputKind::pooled)
        fail(ErrorKind::usage, std::string("--pool ") + pool_name(options.pool) +
                                   " gives one row per record: write it to a .tsv or .npy file, not " + output +
                                   " (use --pool none for per-position .npz)");
    const auto start = std::chrono::steady_clock::now();
    EmbedSummary summary;
    summary.output = output;
    summary.channels = embedding_channels(model.config, options.rc);

    FastaReader reader(input);
    auto writer = make_embedding_writer(output);
    writer->begin(static_cast<std::size_t>(summary.channels));
    SequenceRecord record;
    while (reader.next(record)) {                     // step 0: read
        Matrix h = embed_sequence(engine, model, record.seq, options.rc, options.add_sep, &summary.unknown);  // step 1
        RowInfo row;                                  // step 2: reduce and write
        row.name = record.name;
        row.chrom = record.name;
        row.start = 0;
        row.end = static_cast<std::int64_t>(record.seq.size());
        row.strand = '+';
        if (options.pool == PoolMode::none) {
            writer->write(row, h.data(), static_cast<std::size_t>(h.rows()));
        } else {
            const Vector v = pool_rows(h, options.pool);
            writer->write(row, v.data(), 1);
        }
        summary.records++;
        summary.bases += record.seq.size();
    }
    if (summary.records == 0) fail(ErrorKind::input, input + ": no sequences found (empty FASTA file?)");
    writer->commit();
    if (summary.unknown)
        log_warning(std::to_string(summary.unknown) + " character(s) other than A/C/G/T/N were embedded as [UNK]");
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
}

}  // namespace dnamba
