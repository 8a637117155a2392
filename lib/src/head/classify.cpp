// Applying a head (see classify.hpp): class probabilities of an input's rows as a calls table or
// a track of one class, and the same track drawn again from a saved calls table.
#include <charconv>
#include <fstream>
#include <iterator>
#include <optional>
#include <nlohmann/json.hpp>

#include "dnamba/classify.hpp"
#include "dnamba/io.hpp"
#include "dnamba/error.hpp"
#include "io/calls_table.hpp"
#include "io/text_util.hpp"
#include "io/track.hpp"
#include "util/crc32.hpp"

namespace dnamba {

std::size_t classify_input(const InputOptions& input, const std::string& head_path, const std::string& output,
                           const ClassifyOptions& options) {
    const bool track = !is_tsv_output(output);  // "-" and .tsv.gz are tables too
    if (track) {
        try {
            (void)track_format_for_path(output);
        } catch (const Error&) {  // its message names only the track formats; a table is valid here too
            fail(ErrorKind::usage, output + ": unknown output format; expected .tsv, .tsv.gz or - for standard "
                                            "output (the class probabilities of every row) or a track of one class: .bedGraph/.bg (bedGraph) or .bw/.bigWig (bigWig)");
        }
    }
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
    std::optional<Engines> engines;  // one, or one per GPU (--device cuda:all)
    std::string fp;  // k-mer heads use no model
    if (spec.embedding) {
        const std::string& dir = options.model_dir;
        if (dir.empty())
            fail(ErrorKind::usage, head_path + " uses embedding features: pass the model it was trained with (--model)");
        fp = model_fingerprint(dir);
        if (fp != hf.model_fingerprint)
            fail(ErrorKind::model, head_path + " was trained on a model with fingerprint " + hf.model_fingerprint +
                                       ", but " + dir + " has fingerprint " + fp +
                                       " (different config or weights); use the model the head was trained with");
        model = std::make_unique<Model>(load_model(dir));
        const Eigen::Index want = embedding_channels(model->config, eo.rc) + (spec.kmer ? (1 << (2 * spec.kmer)) : 0);
        if (want != hf.head.standardizer.mean.size())
            fail(ErrorKind::model, head_path + ": expects " + std::to_string(hf.head.standardizer.mean.size()) +
                                       " features, the model gives " + std::to_string(want));
        engines.emplace(make_engines(*model, options.device, options.engine));
    }

    // what made the calls: embed's record plus the head (its file's CRC-32) and its features
    std::string head_bytes;
    {
        std::ifstream in(head_path, std::ios::binary);
        head_bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const nlohmann::json head_record = {{"head", crc32_hex(crc32_update(0, head_bytes.data(), head_bytes.size()))},
                                        {"features", hf.features}};
    const std::string provenance =
        embed_provenance(fp, eo, input.windows, options.engine.precision, head_record.dump());

    std::size_t rows = 0;
    std::unique_ptr<CallsTableWriter> table;
    std::unique_ptr<TrackWriter> writer;
    if (track) writer = class_track(output, input.path, classes[static_cast<std::size_t>(track_class)], provenance);
    else table = std::make_unique<CallsTableWriter>(output, classes, provenance);
    extract_features(input, spec, engines ? &*engines : nullptr, model.get(), eo, [&](FeatureBatch& b) {
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

}  // namespace dnamba
