// Embedding: rc modes, pooling, and the record loop behind `dnamba embed`.
//
// embed_input() is one use of the pipeline of pipeline/run_batched.hpp (DESIGN.md's data flow:
// a reader thread packs items into batches, a compute thread per engine runs the model and
// reduces, the calling thread writes rows in input order; bounded queues between the steps).
#include "dnamba/embed.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <thread>

#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "dnamba/log.hpp"
#include "dnamba/tokenizer.hpp"
#include "pipeline/embed_batch.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/queue.hpp"
#include "pipeline/run_batched.hpp"

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

const char* rc_name(RcMode mode) noexcept { return mode == RcMode::average ? "average" : "none"; }

int embedding_channels(const ModelConfig& config, RcMode rc) noexcept {
    return (config.rcps && rc == RcMode::none) ? 2 * config.d_model : config.d_model;
}

namespace {

// The sequences' tokens back to back (of their reverse complements when `rc`), and their lengths.
std::vector<std::int32_t> pack_tokens(const std::vector<std::string_view>& seqs, bool rc, bool add_sep,
                                      std::size_t* unknown, std::vector<std::size_t>* lengths) {
    std::vector<std::int32_t> ids;
    for (const auto& seq : seqs) {
        const auto t = rc ? tokenize(reverse_complement(seq), add_sep, nullptr) : tokenize(seq, add_sep, unknown);
        ids.insert(ids.end(), t.begin(), t.end());
        if (lengths) lengths->push_back(t.size());
    }
    return ids;
}

}  // namespace

std::vector<Matrix> embed_batch(Engine& engine, const Model& model, const std::vector<std::string_view>& seqs,
                                RcMode rc, bool add_sep, std::size_t* unknown) {
    const ModelConfig& c = model.config;
    std::vector<std::size_t> lengths;
    const Matrix h = engine.forward_packed(pack_tokens(seqs, false, add_sep, unknown, &lengths), lengths);
    Matrix hr;
    if (rc == RcMode::average && !c.rcps)
        hr = engine.forward_packed(pack_tokens(seqs, true, add_sep, nullptr, nullptr), lengths);
    const int d = c.d_model;
    std::vector<Matrix> out;
    out.reserve(seqs.size());
    Eigen::Index offset = 0;
    for (std::size_t i = 0; i < seqs.size(); ++i) {
        const auto rows = static_cast<Eigen::Index>(lengths[i]);
        const auto part = h.middleRows(offset, rows);
        if (rc == RcMode::none) {
            out.emplace_back(part);
        } else if (c.rcps) {
            out.emplace_back((part.leftCols(d) + part.rightCols(d).rowwise().reverse()) * 0.5f);
        } else {
            const auto L = static_cast<Eigen::Index>(seqs[i].size());
            const auto rpart = hr.middleRows(offset, rows);
            Matrix e(rows, part.cols());
            e.topRows(L) = (part.topRows(L) + rpart.topRows(L).colwise().reverse()) * 0.5f;
            if (add_sep) e.row(L) = (part.row(L) + rpart.row(L)) * 0.5f;
            out.push_back(std::move(e));
        }
        offset += rows;
    }
    return out;
}

std::vector<Matrix> embed_batch_mean(Engine& engine, const Model& model, const std::vector<std::string_view>& seqs,
                                     RcMode rc, bool add_sep, std::size_t* unknown) {
    const ModelConfig& c = model.config;
    std::vector<std::size_t> lengths;
    const Matrix p = engine.forward_pooled_mean(pack_tokens(seqs, false, add_sep, unknown, &lengths), lengths);
    // the mean commutes with the rc combinations of embed_batch (row flips change no mean)
    Matrix pr;
    if (rc == RcMode::average && !c.rcps)
        pr = engine.forward_pooled_mean(pack_tokens(seqs, true, add_sep, nullptr, nullptr), lengths);
    const int d = c.d_model;
    std::vector<Matrix> out;
    for (Eigen::Index i = 0; i < p.rows(); ++i) {
        if (rc == RcMode::none) out.emplace_back(p.row(i));
        else if (c.rcps) out.emplace_back((p.row(i).head(d) + p.row(i).tail(d).reverse()) * 0.5f);
        else out.emplace_back((p.row(i) + pr.row(i)) * 0.5f);
    }
    return out;
}

std::vector<Matrix> embed_batch_pooled(Engine& engine, const Model& model, const std::vector<std::string_view>& seqs,
                                       PoolMode pool, RcMode rc, bool add_sep, std::size_t* unknown) {
    if (pool == PoolMode::mean && engine.pools_on_device())
        return embed_batch_mean(engine, model, seqs, rc, add_sep, unknown);  // only pooled rows leave the GPU
    std::vector<Matrix> out;
    for (const auto& m : embed_batch(engine, model, seqs, rc, add_sep, unknown))
        out.emplace_back(pool_rows(m, pool).transpose());
    return out;
}

void warn_unknown_bases(std::size_t count) {
    if (count) log_warning(std::to_string(count) + " character(s) other than A/C/G/T/N were embedded as [UNK]");
}

Matrix embed_sequence(Engine& engine, const Model& model, std::string_view seq, RcMode rc, bool add_sep,
                      std::size_t* unknown) {
    return std::move(embed_batch(engine, model, {seq}, rc, add_sep, unknown).front());
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

namespace {

// step 1 of embed_input and EmbeddingStream: run the model, pooling on the compute side so
// that only rows travel on
EmbeddingBatch compute_embeddings(Engine& engine, const Model& model, const EmbedOptions& options,
                                  std::vector<InputItem>& items) {
    EmbeddingBatch r;
    std::vector<std::string_view> seqs;
    for (const auto& it : items) {
        seqs.push_back(it.seq);
        r.bases += it.seq.size();
        r.rows.push_back(it.row);
    }
    r.values = options.pool == PoolMode::none
                   ? embed_batch(engine, model, seqs, options.rc, options.add_sep, &r.unknown)
                   : embed_batch_pooled(engine, model, seqs, options.pool, options.rc, options.add_sep, &r.unknown);
    return r;
}

pipeline::BatchBudget embed_budget(const EmbedOptions& options) {
    return {options.batch_tokens, options.add_sep ? 1u : 0u, options.queue_depth};
}

[[noreturn]] void fail_nothing_to_embed(const std::string& input) {
    fail(ErrorKind::input, input + ": nothing to embed (no sequences, or every record/window was skipped)");
}

}  // namespace

EmbedSummary embed_input(const Engines& engines, const Model& model, const InputOptions& input, const std::string& output,
                         const EmbedOptions& options) {
    const auto kind = output_kind_for_path(output);
    if (options.pool == PoolMode::none && kind != OutputKind::per_position)
        fail(ErrorKind::usage, "--pool none gives one array per position: write it to a .npz file, not " + output +
                                   (output == "-" ? " (standard output takes the pooled TSV table only)" : ""));
    if (options.pool != PoolMode::none && kind != OutputKind::pooled)
        fail(ErrorKind::usage, std::string("--pool ") + pool_name(options.pool) +
                                   " gives one row per record: write it to a .tsv or .npy file, not " + output +
                                   " (use --pool none for per-position .npz)");
    {
        std::vector<std::string> inputs = input.bed_files;
        inputs.push_back(input.path);
        inputs.push_back(input.reader.reference);
        check_output_not_input(output, inputs);
    }
    const auto start = std::chrono::steady_clock::now();
    EmbedSummary summary;
    summary.output = output;
    summary.channels = embedding_channels(model.config, options.rc);

    auto source = open_input(input);
    summary.input = source->describe();
    auto writer = make_embedding_writer(output, options.provenance);
    writer->begin(static_cast<std::size_t>(summary.channels));
    pipeline::Progress progress(options.progress, source->total_bases());

    // compute: compute_embeddings; write: rows in input order
    pipeline::run_batched(
        *source, embed_budget(options), engines,
        [&](Engine& engine, std::vector<InputItem>& items) { return compute_embeddings(engine, model, options, items); },
        [&](EmbeddingBatch& r) {
            for (std::size_t i = 0; i < r.rows.size(); ++i)
                writer->write(r.rows[i], r.values[i].data(), static_cast<std::size_t>(r.values[i].rows()));
            summary.records += r.rows.size();
            summary.bases += r.bases;
            summary.unknown += r.unknown;
            summary.batches++;
            progress.update(summary.records, summary.bases);
        });
    if (summary.records == 0) fail_nothing_to_embed(summary.input);
    writer->commit();
    warn_unknown_bases(summary.unknown);
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
}

// ---- EmbeddingStream -------------------------------------------------------------------
//
// run_batched runs on a thread of its own; its write step (step 2) pushes each batch into a
// bounded queue that next() pops, so the caller takes the writer's place. The destructor closes
// that queue: the write step's push fails, it throws Stopped, and run_batched stops every step.

namespace {
struct Stopped {};
}  // namespace

struct EmbeddingStream::Impl {
    Engines engines;
    std::unique_ptr<InputSource> source;
    std::string input;
    int channels = 0;
    pipeline::BoundedQueue<EmbeddingBatch> ready;
    std::exception_ptr error;  // written by the pipeline thread before it closes `ready`
    std::size_t rows = 0;      // returned by next() so far
    std::thread thread;

    Impl(const Engines& e, std::size_t depth) : engines(e), ready(depth) {}
};

EmbeddingStream::EmbeddingStream(const Engines& engines, const Model& model, std::unique_ptr<InputSource> source,
                                 const EmbedOptions& options)
    : impl_(std::make_unique<Impl>(engines, options.queue_depth)) {
    if (!source) fail(ErrorKind::usage, "EmbeddingStream: no input source");
    impl_->source = std::move(source);
    impl_->input = impl_->source->describe();
    impl_->channels = embedding_channels(model.config, options.rc);
    Impl* s = impl_.get();
    s->thread = pipeline::start_thread("pipeline", [s, &model, options] {
        try {
            pipeline::run_batched(
                *s->source, embed_budget(options), s->engines,
                [&](Engine& engine, std::vector<InputItem>& items) {
                    return compute_embeddings(engine, model, options, items);
                },
                [&](EmbeddingBatch& r) {
                    if (!s->ready.push(std::move(r))) throw Stopped{};
                });
        } catch (const Stopped&) {
        } catch (...) {
            s->error = std::current_exception();
        }
        s->ready.close();
    });
}

EmbeddingStream::~EmbeddingStream() {
    impl_->ready.close();
    impl_->thread.join();
}

bool EmbeddingStream::next(EmbeddingBatch& batch) {
    if (auto r = impl_->ready.pop()) {
        batch = std::move(*r);
        impl_->rows += batch.rows.size();
        return true;
    }
    // closed and drained: the pipeline thread has finished writing `error`
    if (impl_->error) std::rethrow_exception(impl_->error);
    if (impl_->rows == 0) fail_nothing_to_embed(impl_->input);
    return false;
}

const std::string& EmbeddingStream::input() const noexcept { return impl_->input; }

int EmbeddingStream::channels() const noexcept { return impl_->channels; }

}  // namespace dnamba
