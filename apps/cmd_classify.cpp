// `dnamba classify`: a trained head over regions or windows -> TSV of class probabilities, or
// a bedGraph/bigWig track of one class's probability.
#include <cstdio>

#include "commands.hpp"
#include "dnamba/classify.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"
#include "dnamba/track.hpp"

namespace dnamba::cli {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

int cmd_classify(int argc, char** argv) {
    std::string model_dir, head_path, output, class_name;
    bool quiet = false;
    std::size_t batch_tokens = 65536;
    InputCli input;
    ComputeOptions compute;
    po::options_description desc("options");
    desc.add_options()("model,m", po::value(&model_dir)->value_name("DIR"),
                       "the model the head was trained with (embedding heads)")(
        "head", po::value(&head_path)->required()->value_name("FILE"), "head file from dnamba train-head");
    add_input_options(desc, input);
    desc.add_options()("output,o", po::value(&output)->required()->value_name("FILE"),
                       ".tsv: name chrom start end strand p_<class>... predicted; .bedgraph/.bg or .bw/.bigwig: "
                       "a track of one class's probability (sorted, overlapping windows averaged per base step)")(
        "class", po::value(&class_name)->value_name("NAME"),
        "the class whose probability a track shows (default: the second class of a binary head)")(
        "batch-tokens", po::value(&batch_tokens)->default_value(batch_tokens)->value_name("N"), "tokens per forward pass");
    add_compute_options(desc, compute);
    add_common_options(desc, quiet);
    const std::string usage =
        "usage: dnamba classify --model DIR --head FILE --input genome.fa (--regions BED | --window N ...) -o out\n\n"
        "exit codes: 0 success, 1 internal error, 2 usage, 3 bad input data (a corrupt head file too),\n"
        "            4 head made for another model, 5 device error, 6 cannot write the output";
    if (!parse_command_line(argc, argv, desc, usage)) return 0;

    const bool track = !ends_with(output, ".tsv");
    if (track) (void)track_format_for_path(output);  // rejects other extensions
    const HeadFile hf = load_head(head_path);
    const auto& classes = hf.head.classes;
    const FeatureSpec spec = FeatureSpec::parse(hf.features);
    const int track_class = track ? static_cast<int>(track_class_index(classes, class_name)) : -1;
    EmbedOptions eo;
    eo.pool = parse_pool(hf.pool);
    eo.rc = parse_rc(hf.rc);
    eo.add_sep = hf.add_sep;
    eo.batch_tokens = batch_tokens;
    const InputOptions in = make_input_options(input);
    const EngineOptions engine_options = make_engine_options(compute);

    std::unique_ptr<Model> model;
    std::unique_ptr<Engine> engine;
    if (spec.embedding) {
        if (model_dir.empty())
            fail(ErrorKind::usage, head_path + " uses embedding features: pass the model it was trained with (--model)");
        const std::string fp = model_fingerprint(model_dir);
        if (fp != hf.model_fingerprint)
            fail(ErrorKind::model, head_path + " was trained on a model with fingerprint " + hf.model_fingerprint +
                                       ", but " + model_dir + " has fingerprint " + fp +
                                       " (different config or weights); use the model the head was trained with");
        model = std::make_unique<Model>(load_model(model_dir));
        const Eigen::Index want = embedding_channels(model->config, eo.rc) + (spec.kmer ? (1 << (2 * spec.kmer)) : 0);
        if (want != hf.head.standardizer.mean.size())
            fail(ErrorKind::model, head_path + ": expects " + std::to_string(hf.head.standardizer.mean.size()) +
                                       " features, the model gives " + std::to_string(want));
        engine = make_engine(*model, parse_device(compute.device), engine_options);
    }

    std::size_t rows = 0;
    std::unique_ptr<CallsTableWriter> table;
    std::unique_ptr<TrackWriter> writer;
    if (track) {
        const IndexedFasta fasta(in.path);
        std::vector<std::pair<std::string, std::int64_t>> sizes;
        for (const auto& n : fasta.names()) sizes.emplace_back(n, fasta.length(n));
        writer = std::make_unique<TrackWriter>(output, sizes, "dnamba " + classes[static_cast<std::size_t>(track_class)]);
    } else {
        table = std::make_unique<CallsTableWriter>(output, classes);
    }
    extract_features(in, spec, engine.get(), model.get(), eo, [&](FeatureBatch& b) {
        const Matrix p = head_predict(hf.head, b.X);  // row-major: row i is p.data() + i * classes
        for (std::size_t i = 0; i < b.rows.size(); ++i) {
            const RowInfo& r = b.rows[i];
            const auto row = static_cast<Eigen::Index>(i);
            if (writer) writer->add(r.chrom, r.start, r.end, p(row, track_class));
            else table->write(r, p.data() + row * p.cols());
        }
        rows += b.rows.size();
    });
    if (rows == 0) fail(ErrorKind::input, in.path + ": nothing to classify");
    if (writer) writer->commit();
    else table->commit();
    if (!log_quiet())
        std::fprintf(stderr, "dnamba classify: %zu row(s) -> %s\n", rows, output.c_str());
    return 0;
}

}  // namespace dnamba::cli
