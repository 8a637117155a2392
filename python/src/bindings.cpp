// dnamba._dnamba — the Python extension: pybind11 bindings over libdnamba's public headers
// (lib/include/dnamba/) alone, as examples/embed_fasta.cpp uses them. The user-facing classes,
// argument checks and docstrings are in python/dnamba/__init__.py; this module is what they call.
//
// Conventions: compute runs with the GIL released; results come back as numpy float32 arrays
// that own the Eigen row-major buffer they view (a capsule deletes it), so nothing is copied;
// a dnamba::Error becomes the dnamba.Error subclass of its category (python/dnamba/_errors.py)
// carrying the library's message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "dnamba/classify.hpp"
#include "dnamba/embed.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/error.hpp"
#include "dnamba/head.hpp"
#include "dnamba/input.hpp"
#include "dnamba/log.hpp"
#include "dnamba/model.hpp"
#include "dnamba/tokenizer.hpp"

namespace py = pybind11;

namespace dnamba::python {
namespace {

// ---- numpy results ---------------------------------------------------------------------

// A [rows x cols] float32 array viewing `m`'s buffer, which the array now owns.
py::array_t<float> to_numpy(Matrix&& m) {
    auto* owned = new Matrix(std::move(m));
    py::capsule owner(owned, [](void* p) { delete static_cast<Matrix*>(p); });
    const auto rows = static_cast<py::ssize_t>(owned->rows()), cols = static_cast<py::ssize_t>(owned->cols());
    const auto f = static_cast<py::ssize_t>(sizeof(float));
    return py::array_t<float>({rows, cols}, {cols * f, f}, owned->data(), owner);
}

// One row vector [1 x C] as a 1-D array (C,), still without a copy.
py::array_t<float> to_numpy_vector(Matrix&& m) {
    py::array_t<float> a = to_numpy(std::move(m));
    return a.reshape({static_cast<py::ssize_t>(a.size())});
}

py::tuple row_tuple(const RowInfo& r) {
    return py::make_tuple(r.name, r.chrom, r.start, r.end, std::string(1, r.strand));
}

// ---- the model and its engine ----------------------------------------------------------

// A loaded checkpoint and the engine that runs it. The engine is not re-entrant: `busy` makes a
// second concurrent use (another thread, or a call while an embed_file stream is open) an
// Error(usage) instead of a data race.
struct PyModel {
    Model model;
    std::optional<Engines> engines;  // one, or one per GPU ("cuda:all", "cuda:0,1")
    std::string device;     // as asked: "auto", "cpu", "cuda:1", "cuda:all"
    std::string precision;  // "fp32" | "bf16"
    int threads = 0;
    std::atomic<bool> busy{false};
};

// Holds PyModel::busy for as long as it lives.
class EngineLease {
public:
    explicit EngineLease(PyModel& m) : model_(&m) {
        bool expected = false;
        if (!m.busy.compare_exchange_strong(expected, true))
            fail(ErrorKind::usage,
                 "this Model is already computing (another thread, or an unfinished embed_file iterator: "
                 "exhaust it or call its close() first)");
    }
    ~EngineLease() {
        if (model_) model_->busy = false;
    }
    EngineLease(const EngineLease&) = delete;
    EngineLease& operator=(const EngineLease&) = delete;

private:
    PyModel* model_;
};

std::unique_ptr<PyModel> load(const std::string& path, const std::string& device, const std::string& precision,
                              int threads) {
    const DeviceSpec spec = parse_device(device);
    EngineOptions options;
    options.threads = threads;
    options.precision = parse_precision(precision);
    auto m = std::make_unique<PyModel>();
    {
        py::gil_scoped_release release;
        m->model = load_model(path);
        m->engines.emplace(make_engines(m->model, spec, options));
    }
    m->device = device;
    m->precision = precision;
    m->threads = threads;
    return m;
}

py::dict model_info(const PyModel& m) {
    const ModelConfig& c = m.model.config;
    py::dict d;
    d["source"] = m.model.source;
    d["layout"] = layout_name(c.layout);
    d["d_model"] = c.d_model;
    d["n_layer"] = c.n_layer;
    d["d_inner"] = c.d_inner;
    d["d_state"] = c.d_state;
    d["d_conv"] = c.d_conv;
    d["dt_rank"] = c.dt_rank;
    d["vocab_size"] = c.vocab_size;
    d["bidirectional"] = c.bidirectional;
    d["combine"] = combine_name(c.combine);
    d["weight_tie"] = c.weight_tie;
    d["rcps"] = c.rcps;
    d["norm"] = c.norm == NormKind::rms ? "rms" : "layer";
    d["norm_eps"] = c.norm_eps;
    d["fused_add_norm"] = c.fused_add_norm;
    d["residual_in_fp32"] = c.residual_in_fp32;
    d["proj_bias"] = c.proj_bias;
    d["conv_bias"] = c.conv_bias;
    d["lm_head_tied"] = m.model.weights.lm_head_tied;
    d["hidden_channels"] = c.hidden_channels();
    d["parameters"] = m.model.parameter_count;
    d["stored_dtypes"] = m.model.stored_dtypes;
    d["notes"] = m.model.notes;
    d["engine"] = m.engines->description();
    d["engines"] = m.engines->size();
    d["device"] = m.device;
    d["precision"] = m.precision;
    d["threads"] = m.threads;
    return d;
}

// ---- inputs ----------------------------------------------------------------------------

// Python strings as an InputSource, so that lists go through embed_input's pipeline (the same
// batching and compute step as `dnamba embed`). Rows are named by their index.
class StringSource final : public InputSource {
public:
    explicit StringSource(std::vector<std::string> seqs) : seqs_(std::move(seqs)) {}
    bool next(InputItem& item) override {
        if (next_ == seqs_.size()) return false;
        item.seq = std::move(seqs_[next_]);
        item.bases = item.seq.size();
        item.index = next_;
        item.row.name = std::to_string(next_);
        item.row.chrom = item.row.name;
        item.row.end = static_cast<std::int64_t>(item.bases);
        ++next_;
        return true;
    }
    std::optional<std::uint64_t> total_bases() const override { return std::nullopt; }
    std::string describe() const override { return "the sequences given"; }

private:
    std::vector<std::string> seqs_;
    std::size_t next_ = 0;
};

EmbedOptions embed_options(const std::string& pool, const std::string& rc, bool add_sep, std::size_t batch_tokens) {
    EmbedOptions o;
    o.pool = parse_pool(pool);
    o.rc = parse_rc(rc);
    o.add_sep = add_sep;
    if (batch_tokens == 0) fail(ErrorKind::usage, "batch_tokens must be positive");
    o.batch_tokens = batch_tokens;
    o.progress = false;
    return o;
}

// Every batch of `stream`, concatenated (GIL released by the caller).
struct Collected {
    std::vector<RowInfo> rows;
    std::vector<Matrix> values;
};
Collected collect(EmbeddingStream& stream) {
    Collected all;
    EmbeddingBatch batch;
    while (stream.next(batch)) {
        for (auto& r : batch.rows) all.rows.push_back(std::move(r));
        for (auto& v : batch.values) all.values.push_back(std::move(v));
    }
    return all;
}

// Pooled [1 x C] rows stacked into one [N x C] matrix.
Matrix stack_rows(const std::vector<Matrix>& rows, int channels) {
    Matrix out(static_cast<Eigen::Index>(rows.size()), channels);
    for (std::size_t i = 0; i < rows.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = rows[i].row(0);
    return out;
}

// The values of a whole input: an (N, C) array when pooled, else a list of (L_i, C) arrays.
py::object values_object(Collected& all, bool pooled, int channels) {
    if (pooled) return to_numpy(stack_rows(all.values, channels));
    py::list out;
    for (auto& v : all.values) out.append(to_numpy(std::move(v)));
    return out;
}

py::object embed_sequences(PyModel& m, std::vector<std::string> seqs, const std::string& pool, const std::string& rc,
                           bool add_sep, std::size_t batch_tokens) {
    const EmbedOptions options = embed_options(pool, rc, add_sep, batch_tokens);
    for (std::size_t i = 0; i < seqs.size(); ++i)
        if (seqs[i].empty()) fail(ErrorKind::input, "sequence " + std::to_string(i) + " is empty");
    std::size_t tokens = 0;
    for (const auto& seq : seqs) tokens += seq.size() + (add_sep ? 1 : 0);
    const bool pooled = options.pool != PoolMode::none;
    const int channels = embedding_channels(m.model.config, options.rc);
    Collected all;
    {
        py::gil_scoped_release release;
        EngineLease lease(m);
        if (tokens <= options.batch_tokens) {  // (one batch: one engine, whatever their count)
            // One batch, as the pipeline would pack it: computed here, on the calling thread,
            // without the pipeline's threads (a loop of short calls would pay their start-up
            // and a new OpenMP team each time: 2 ms instead of 0.8 ms per 100-nt call).
            const std::vector<std::string_view> views(seqs.begin(), seqs.end());
            Engine& engine = m.engines->front();
            all.values = pooled ? embed_batch_pooled(engine, m.model, views, options.pool, options.rc, add_sep)
                                : embed_batch(engine, m.model, views, options.rc, add_sep);
        } else {
            EmbeddingStream stream(*m.engines, m.model, std::make_unique<StringSource>(std::move(seqs)), options);
            all = collect(stream);
        }
    }
    return values_object(all, pooled, channels);
}

py::array_t<float> logits(PyModel& m, const std::string& seq, bool add_sep) {
    if (seq.empty()) fail(ErrorKind::input, "the sequence is empty");
    Matrix lg;
    {
        py::gil_scoped_release release;
        EngineLease lease(m);
        lg = lm_logits(m.model, m.engines->front().forward(tokenize(seq, add_sep)));
    }
    return to_numpy(std::move(lg));
}

// InputOptions as Python sets them: the enums and row range by their CLI texts, windows checked
// as the CLI checks --window/--stride.
void set_windows(InputOptions& o, std::int64_t window, std::int64_t stride) {
    if (window < 0) fail(ErrorKind::usage, "window must be a positive number of bases, got " + std::to_string(window));
    if (stride < 0) fail(ErrorKind::usage, "stride must be a positive number of bases, got " + std::to_string(stride));
    if (stride > 0 && window == 0) fail(ErrorKind::usage, "stride needs window");
    o.windows.window = window;
    o.windows.stride = stride;
}

// embed_file's iterator: an EmbeddingStream (the pipeline runs ahead on its own threads, at most
// queue_depth batches) yielding ((name, chrom, start, end, strand), array) per row. Holds the
// model's engine until exhausted or closed.
class FileStream {
public:
    FileStream(PyModel& m, const InputOptions& input, const EmbedOptions& options)
        : lease_(std::make_unique<EngineLease>(m)), pooled_(options.pool != PoolMode::none) {
        py::gil_scoped_release release;
        stream_ = std::make_unique<EmbeddingStream>(*m.engines, m.model, open_input(input), options);
    }
    ~FileStream() { stop(); }

    py::tuple next() {
        if (at_ == batch_.rows.size()) {
            if (!stream_) throw py::stop_iteration();
            bool more = false;
            {
                py::gil_scoped_release release;
                try {
                    more = stream_->next(batch_);
                } catch (...) {
                    stop();
                    throw;
                }
            }
            if (!more) {
                close();
                throw py::stop_iteration();
            }
            at_ = 0;
        }
        const std::size_t i = at_++;
        py::array_t<float> value =
            pooled_ ? to_numpy_vector(std::move(batch_.values[i])) : to_numpy(std::move(batch_.values[i]));
        return py::make_tuple(row_tuple(batch_.rows[i]), value);
    }

    int channels() const { return stream_ ? stream_->channels() : 0; }

    // Stops the pipeline (waiting for the batch in flight) and frees the engine.
    void close() {
        py::gil_scoped_release release;
        stop();
    }

private:
    void stop() {
        stream_.reset();
        lease_.reset();
        batch_ = {};
        at_ = 0;
    }
    std::unique_ptr<EngineLease> lease_;
    std::unique_ptr<EmbeddingStream> stream_;
    EmbeddingBatch batch_;
    std::size_t at_ = 0;
    bool pooled_;
};

// embed_file(as_table=True): (rows, values) of the whole input.
py::tuple embed_table(PyModel& m, const InputOptions& input, const EmbedOptions& options) {
    Collected all;
    int channels = 0;
    {
        py::gil_scoped_release release;
        EngineLease lease(m);
        EmbeddingStream stream(*m.engines, m.model, open_input(input), options);
        channels = stream.channels();
        all = collect(stream);
    }
    py::list rows;
    for (const auto& r : all.rows) rows.append(row_tuple(r));
    return py::make_tuple(rows, values_object(all, options.pool != PoolMode::none, channels));
}

// ---- heads -----------------------------------------------------------------------------

py::array_t<float> head_proba(const HeadFile& h, const py::array_t<float, py::array::c_style | py::array::forcecast>& x) {
    if (x.ndim() != 2) fail(ErrorKind::usage, "predict_proba: expected a 2-D array (rows x features), got " +
                                                  std::to_string(x.ndim()) + " dimensions");
    const auto features = h.head.standardizer.mean.size();
    if (x.shape(1) != features)
        fail(ErrorKind::usage, "predict_proba: the head expects " + std::to_string(features) + " features (" +
                                   h.features + ", rc " + h.rc + "), got " + std::to_string(x.shape(1)));
    Matrix X = Eigen::Map<const Matrix>(x.data(), x.shape(0), x.shape(1));
    Matrix p;
    {
        py::gil_scoped_release release;
        p = head_predict(h.head, X);
    }
    return to_numpy(std::move(p));
}

// ---- errors ----------------------------------------------------------------------------

void register_errors(py::module_& m) {
    const py::module_ errors = py::module_::import("dnamba._errors");
    // Indexed by ErrorKind; references kept (released handles) for the life of the interpreter,
    // which the translator below outlives: no destructor may run after finalisation.
    static py::handle classes[5];
    const char* const names[5] = {"UsageError", "InputError", "ModelError", "DeviceError", "OutputError"};
    for (int k = 0; k < 5; ++k) classes[k] = py::object(errors.attr(names[k])).release();
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Error& e) {
            PyErr_SetString(classes[static_cast<int>(e.kind())].ptr(), e.what());
        }
    });
    m.attr("_errors") = errors;
}

}  // namespace
}  // namespace dnamba::python

PYBIND11_MODULE(_dnamba, m) {
    using namespace dnamba;
    using namespace dnamba::python;
    m.doc() = "libdnamba bindings; use the dnamba package, not this module";
    m.attr("__version__") = DNAMBA_VERSION;
#ifdef DNAMBA_HAVE_CUDA
    m.attr("built_with_cuda") = true;
#else
    m.attr("built_with_cuda") = false;
#endif
    register_errors(m);

    m.def("cuda_device_count", &cuda_device_count);
    m.def("tokenize", [](const std::string& seq, bool add_sep) {
        const auto ids = tokenize(seq, add_sep);
        return py::array_t<std::int32_t>(static_cast<py::ssize_t>(ids.size()), ids.data());
    });
    m.def("reverse_complement", [](const std::string& seq) { return reverse_complement(seq); });
    m.def("set_quiet", &set_log_quiet);

    py::class_<PyModel>(m, "Model")
        .def(py::init(&load), py::arg("path"), py::arg("device"), py::arg("precision"), py::arg("threads"))
        .def_property_readonly("info", &model_info)
        .def("embed", &embed_sequences, py::arg("seqs"), py::arg("pool"), py::arg("rc"), py::arg("add_sep"),
             py::arg("batch_tokens"))
        .def("logits", &logits, py::arg("seq"), py::arg("add_sep"))
        .def(
            "embed_file",
            [](PyModel& p, const InputOptions& input, const std::string& pool, const std::string& rc, bool add_sep,
               std::size_t batch_tokens) {
                return std::make_unique<FileStream>(p, input, embed_options(pool, rc, add_sep, batch_tokens));
            },
            py::keep_alive<0, 1>())
        .def("embed_table", [](PyModel& p, const InputOptions& input, const std::string& pool, const std::string& rc,
                               bool add_sep, std::size_t batch_tokens) {
            return embed_table(p, input, embed_options(pool, rc, add_sep, batch_tokens));
        });

    py::class_<ReadFilter>(m, "ReadFilter")
        .def_readwrite("skip_secondary", &ReadFilter::skip_secondary)
        .def_readwrite("skip_supplementary", &ReadFilter::skip_supplementary)
        .def_readwrite("skip_qcfail", &ReadFilter::skip_qcfail)
        .def_readwrite("skip_duplicate", &ReadFilter::skip_duplicate)
        .def_readwrite("skip_unmapped", &ReadFilter::skip_unmapped)
        .def_readwrite("min_mapq", &ReadFilter::min_mapq);

    py::class_<InputOptions>(m, "InputOptions")
        .def(py::init<>())
        .def_readwrite("path", &InputOptions::path)
        .def_readwrite("bed_files", &InputOptions::bed_files)
        .def_readwrite("region_texts", &InputOptions::region_texts)
        .def_readwrite("strict", &InputOptions::strict)
        .def_property_readonly(
            "filter", [](InputOptions& o) -> ReadFilter& { return o.reader.filter; }, py::return_value_policy::reference_internal)
        .def("set_reference", [](InputOptions& o, const std::string& fasta) { o.reader.reference = fasta; })
        .def("set_read_orientation",
             [](InputOptions& o, const std::string& text) { o.reader.orientation = parse_read_orientation(text); })
        .def("set_windows", &set_windows, py::arg("window"), py::arg("stride"))
        .def("set_tail", [](InputOptions& o, const std::string& text) { o.windows.tail = parse_tail(text); })
        .def("set_rows",
             [](InputOptions& o, const std::string& text) { std::tie(o.first_row, o.end_row) = parse_row_range(text); });

    py::class_<FileStream>(m, "FileStream")
        .def("__iter__", [](py::object self) { return self; })
        .def("__next__", &FileStream::next)
        .def("close", &FileStream::close)
        .def_property_readonly("channels", &FileStream::channels);

    py::class_<HeadFile>(m, "Head")
        .def(py::init([](const std::string& path) {
                 py::gil_scoped_release release;
                 return load_head(path);
             }),
             py::arg("path"))
        .def_property_readonly("classes", [](const HeadFile& h) { return h.head.classes; })
        .def_readonly("features", &HeadFile::features)
        .def_readonly("pool", &HeadFile::pool)
        .def_readonly("rc", &HeadFile::rc)
        .def_readonly("add_sep", &HeadFile::add_sep)
        .def_readonly("model_fingerprint", &HeadFile::model_fingerprint)
        .def_property_readonly("n_features", [](const HeadFile& h) { return h.head.standardizer.mean.size(); })
        .def("predict_proba", &head_proba, py::arg("x"));

}
