// Applying a head (see classify.hpp): class probabilities of an input's rows as a calls table or
// a track of one class, and the same track drawn again from a saved calls table.
#include <charconv>
#include <fstream>

#include "dnamba/classify.hpp"
#include "dnamba/io.hpp"
#include "dnamba/error.hpp"
#include "io/calls_table.hpp"
#include "io/text_util.hpp"
#include "io/track.hpp"

namespace dnamba {

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

namespace {

// The track of one class's probability, over the chromosomes of `genome`'s FASTA index.
std::unique_ptr<TrackWriter> class_track(const std::string& output, const std::string& genome,
                                         const std::string& class_label) {
    const IndexedFasta fasta(genome);
    std::vector<std::pair<std::string, std::int64_t>> sizes;
    for (const auto& n : fasta.names()) sizes.emplace_back(n, fasta.length(n));
    return std::make_unique<TrackWriter>(output, sizes, "dnamba " + class_label);
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::size_t classify_input(const InputOptions& input, const std::string& head_path, const std::string& output,
                           const ClassifyOptions& options) {
    const bool track = !ends_with(output, ".tsv");
    if (track) (void)track_format_for_path(output);  // rejects other extensions
    {
        std::vector<std::string> inputs = input.bed_files;
        for (const std::string& p : {input.path, input.reader.reference, head_path}) inputs.push_back(p);
        check_output_not_input(output, inputs);
    }
    const HeadFile hf = load_head(head_path);
    const auto& classes = hf.head.classes;
    const FeatureSpec spec = FeatureSpec::parse(hf.features);
    const int track_class = track ? static_cast<int>(track_class_index(classes, options.class_name)) : -1;
    EmbedOptions eo;
    eo.pool = parse_pool(hf.pool);
    eo.rc = parse_rc(hf.rc);
    eo.add_sep = hf.add_sep;
    eo.batch_tokens = options.batch_tokens;

    std::unique_ptr<Model> model;
    std::unique_ptr<Engine> engine;
    if (spec.embedding) {
        const std::string& dir = options.model_dir;
        if (dir.empty())
            fail(ErrorKind::usage, head_path + " uses embedding features: pass the model it was trained with (--model)");
        const std::string fp = model_fingerprint(dir);
        if (fp != hf.model_fingerprint)
            fail(ErrorKind::model, head_path + " was trained on a model with fingerprint " + hf.model_fingerprint +
                                       ", but " + dir + " has fingerprint " + fp +
                                       " (different config or weights); use the model the head was trained with");
        model = std::make_unique<Model>(load_model(dir));
        const Eigen::Index want = embedding_channels(model->config, eo.rc) + (spec.kmer ? (1 << (2 * spec.kmer)) : 0);
        if (want != hf.head.standardizer.mean.size())
            fail(ErrorKind::model, head_path + ": expects " + std::to_string(hf.head.standardizer.mean.size()) +
                                       " features, the model gives " + std::to_string(want));
        engine = make_engine(*model, options.device, options.engine);
    }

    std::size_t rows = 0;
    std::unique_ptr<CallsTableWriter> table;
    std::unique_ptr<TrackWriter> writer;
    if (track) writer = class_track(output, input.path, classes[static_cast<std::size_t>(track_class)]);
    else table = std::make_unique<CallsTableWriter>(output, classes);
    extract_features(input, spec, engine.get(), model.get(), eo, [&](FeatureBatch& b) {
        const Matrix p = head_predict(hf.head, b.X);  // row-major: row i is p.data() + i * classes
        for (std::size_t i = 0; i < b.rows.size(); ++i) {
            const RowInfo& r = b.rows[i];
            const auto row = static_cast<Eigen::Index>(i);
            if (writer) writer->add(r.chrom, r.start, r.end, p(row, track_class));
            else table->write(r, p.data() + row * p.cols());
        }
        rows += b.rows.size();
    });
    if (rows == 0) fail(ErrorKind::input, input.path + ": nothing to classify");
    if (writer) writer->commit();
    else table->commit();
    return rows;
}

std::uint64_t track_from_calls(const std::string& calls_path, const std::string& genome, const std::string& class_name,
                               const std::string& output) {
    (void)track_format_for_path(output);  // an unknown extension fails before any reading
    check_output_not_input(output, {calls_path, genome});
    std::ifstream in(calls_path);
    if (!in) fail(ErrorKind::input, calls_path + ": cannot open");
    std::string line;
    if (!std::getline(in, line)) fail(ErrorKind::input, calls_path + ": empty file, expected a classify table");
    const auto header = io_detail::split_tabs(line);
    const std::vector<std::string> classes = parse_calls_header(header, calls_path);
    const std::size_t column = 5 + track_class_index(classes, class_name);

    const auto writer = class_track(output, genome, classes[column - 5]);
    std::uint64_t rows = 0, line_no = 1;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.empty()) continue;
        const std::string where = calls_path + ":" + std::to_string(line_no);
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
