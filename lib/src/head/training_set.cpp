// The training set of a head (see head/training_set.hpp): labelled regions, their classes,
// their feature matrix from the model or from a precomputed embedding table; and HeadTraining
// (classify.hpp), one `dnamba train-head` run over them.
#include <map>
#include <optional>

#include "dnamba/error.hpp"
#include "head/metrics_json.hpp"
#include "head/training_set.hpp"

namespace dnamba {

Matrix feature_matrix(const InputOptions& input, const FeatureSpec& spec, const Engines* engines, const Model* model,
                      const EmbedOptions& embed, std::size_t expected, const std::string& what) {
    std::vector<Matrix> parts;
    std::size_t rows = 0;
    extract_features(input, spec, engines, model, embed, [&](FeatureBatch& b) {
        parts.push_back(std::move(b.X));
        rows += b.rows.size();
    });
    if (rows != expected)
        fail(ErrorKind::input, what + ": " + std::to_string(rows) + " feature rows for " + std::to_string(expected) +
                                   " labelled regions");
    Matrix X(static_cast<Eigen::Index>(rows), parts.empty() ? 0 : parts.front().cols());
    Eigen::Index r = 0;
    for (const auto& p : parts) {
        X.middleRows(r, p.rows()) = p;
        r += p.rows();
    }
    return X;
}

LabelledRegions read_labelled_regions(const std::vector<std::string>& beds, int label_column, int group_column) {
    LabelledRegions out;
    for (const auto& bed : beds) {
        BedReader reader(bed);
        Region r;
        while (reader.next(r)) {
            auto column = [&](int c, const char* what) {
                if (c < 1 || static_cast<std::size_t>(c) > r.fields.size())
                    fail(ErrorKind::input, r.source + ": no column " + std::to_string(c) + " for the " + what +
                                               " (the line has " + std::to_string(r.fields.size()) + ")");
                return r.fields[static_cast<std::size_t>(c - 1)];
            };
            out.labels.push_back(column(label_column, "label"));
            if (group_column > 0) out.groups.push_back(column(group_column, "group"));
            out.regions.push_back(r);
        }
    }
    if (out.regions.empty()) fail(ErrorKind::input, "no regions in " + beds.front());
    return out;
}

ClassIndex index_classes(const std::vector<std::string>& labels, const std::string& origin, int label_column) {
    std::map<std::string, int> index;
    for (const auto& l : labels) index.emplace(l, 0);
    if (index.size() < 2)
        fail(ErrorKind::input, origin + ": column " + std::to_string(label_column) +
                                   " has a single label; a classifier needs at least two classes");
    ClassIndex out;
    for (auto& [name, i] : index) {
        i = static_cast<int>(out.classes.size());
        out.classes.push_back(name);
    }
    for (const auto& l : labels) out.y.push_back(index.at(l));
    return out;
}

std::vector<int> class_indices(const std::vector<std::string>& labels, const std::vector<std::string>& classes,
                               const std::string& origin) {
    std::map<std::string, int> index;
    for (std::size_t c = 0; c < classes.size(); ++c) index.emplace(classes[c], static_cast<int>(c));
    std::vector<int> y;
    for (const auto& l : labels) {
        const auto it = index.find(l);
        if (it == index.end()) fail(ErrorKind::input, origin + ": label '" + l + "' was not among the training classes");
        y.push_back(it->second);
    }
    return y;
}

Matrix join_embedding_table(const EmbeddingTable& t, const std::string& table_path, const LabelledRegions& set,
                            const std::string& bed, const Matrix& more) {
    if (t.rows.size() != set.regions.size())
        fail(ErrorKind::input, table_path + ": " + std::to_string(t.rows.size()) + " rows, but " + bed + " has " +
                                   std::to_string(set.regions.size()) + " regions");
    for (std::size_t i = 0; i < t.rows.size(); ++i) {
        const Region& r = set.regions[i];
        if (t.rows[i].chrom != r.chrom || t.rows[i].start != r.start)
            fail(ErrorKind::input, table_path + ": row " + std::to_string(i + 1) + " is " + t.rows[i].chrom + ":" +
                                       std::to_string(t.rows[i].start) + " but " + r.source + " is " + r.chrom + ":" +
                                       std::to_string(r.start) + " (embed the same BED in the same order)");
    }
    Matrix both(t.X.rows(), t.X.cols() + more.cols());
    both.leftCols(t.X.cols()) = t.X;
    if (more.cols()) both.rightCols(more.cols()) = more;
    return both;
}

struct HeadTraining::Impl {
    InputOptions input;
    HeadTrainingOptions options;
    LabelledRegions set;
    ClassIndex classes;
    Matrix X;
    std::unique_ptr<Model> model;
    std::optional<Engines> engines;  // one, or one per GPU (--device cuda:all)

    // The features of `input`'s rows from the model and/or k-mers; `table_given` leaves out the
    // embedding columns (they come from the embeddings table).
    Matrix features_of(const InputOptions& in, bool table_given, std::size_t expected, const std::string& what) const {
        FeatureSpec s = options.features;
        if (table_given) s.embedding = false;
        if (!s.embedding && !s.kmer) return Matrix();
        return feature_matrix(in, s, engines ? &*engines : nullptr, model.get(), options.embed, expected, what);
    }
};

HeadTraining::HeadTraining(const InputOptions& input, const HeadTrainingOptions& options)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.input = input;
    m.options = options;
    const FeatureSpec& spec = options.features;
    if (input.bed_files.empty()) fail(ErrorKind::usage, "train-head needs labelled regions: --regions FILE.bed");
    if (!input.region_texts.empty() || input.windows.window > 0)
        fail(ErrorKind::usage, "train-head takes labels from --regions BED lines; --region and --window do not apply");
    // the model runs unless every embedding comes from the table (held-out regions are embedded)
    const bool need_model = spec.embedding && (options.embeddings.empty() || !options.test_regions.empty());
    if (need_model && options.model_dir.empty())
        fail(ErrorKind::usage, "embedding features need --model (or --embeddings)");
    if ((need_model || spec.kmer) && input.path.empty()) fail(ErrorKind::usage, "--input FASTA is required");
    if (spec.embedding && options.model_dir.empty())
        fail(ErrorKind::usage, "--model is required so that the head records which model its embeddings came from");
    if (options.embed.pool == PoolMode::none) fail(ErrorKind::usage, "--pool none has no pooled features");
    if (options.group_column < 0) fail(ErrorKind::usage, "--group-column must be positive");

    const std::string& bed = input.bed_files.front();
    m.set = read_labelled_regions(input.bed_files, options.label_column, options.group_column);
    m.classes = index_classes(m.set.labels, bed, options.label_column);
    // Folds against classes and groups before any embedding: a minute of model work should not
    // end in "needs at least 5 distinct groups".
    (void)check_head_training(m.classes.y, m.classes.classes, m.set.groups, options.train, false);
    if (need_model) {
        m.model = std::make_unique<Model>(load_model(options.model_dir));
        m.engines.emplace(make_engines(*m.model, options.device, options.engine));
    }
    m.X = m.features_of(input, !options.embeddings.empty(), m.set.regions.size(), bed);
    if (!options.embeddings.empty() && spec.embedding) {
        EmbeddingTable table = read_embedding_table(options.embeddings);
        // The head records --rc for classify to embed alike: the table's width must be what the
        // model gives under it (an RCPS model: 2 x d_model with --rc none, d_model with average).
        const ModelConfig config = m.model ? m.model->config : load_model_config(options.model_dir);
        const Eigen::Index want = embedding_channels(config, options.embed.rc);
        if (table.X.cols() != want) {
            std::string hint;
            for (const RcMode other : {RcMode::none, RcMode::average})
                if (other != options.embed.rc && embedding_channels(config, other) == table.X.cols())
                    hint = std::string(": it was made with --rc ") + rc_name(other) + ", so pass --rc " +
                           rc_name(other) + " here too";
            fail(ErrorKind::input, options.embeddings + ": " + std::to_string(table.X.cols()) +
                                       " embedding columns, but the model gives " + std::to_string(want) + " with --rc " +
                                       rc_name(options.embed.rc) + hint);
        }
        m.X = join_embedding_table(std::move(table), options.embeddings, m.set, bed, m.X);
    }
}

HeadTraining::~HeadTraining() = default;

std::size_t HeadTraining::regions() const noexcept { return impl_->set.regions.size(); }

const std::vector<std::string>& HeadTraining::classes() const noexcept { return impl_->classes.classes; }

std::vector<std::size_t> HeadTraining::class_counts() const {
    std::vector<std::size_t> n(impl_->classes.classes.size(), 0);
    for (int v : impl_->classes.y) ++n[static_cast<std::size_t>(v)];
    return n;
}

const Matrix& HeadTraining::features() const noexcept { return impl_->X; }

TrainedHead HeadTraining::fit() const {
    const Impl& m = *impl_;
    return train_head(m.X, m.classes.y, m.classes.classes, m.set.groups, m.options.train);
}

HeadTraining::HeldOut HeadTraining::held_out(const TrainedHead& head) const {
    const Impl& m = *impl_;
    const std::string& path = m.options.test_regions;
    if (path.empty()) fail(ErrorKind::usage, "no held-out regions (--test-regions) were given");
    InputOptions t = m.input;
    t.bed_files = {path};
    const LabelledRegions test = read_labelled_regions(t.bed_files, m.options.label_column, 0);
    const std::vector<int> ty = class_indices(test.labels, head.classes, path);
    const Matrix TX = m.features_of(t, false, ty.size(), path);
    return {compute_metrics(ty, head_predict(head, TX), static_cast<int>(head.classes.size())), ty.size()};
}

HeadFile HeadTraining::head_file(const TrainedHead& head, const std::optional<HeldOut>& held_out) const {
    const Impl& m = *impl_;
    const HeadTrainingOptions& o = m.options;
    nlohmann::json extra = {{"label_column", o.label_column}, {"trained_on", m.input.bed_files},
                            {"n_train", m.classes.y.size()}, {"cv_mean", metrics_to_json(head.cv.mean)},
                            {"cv_sd", metrics_to_json(head.cv.sd)}, {"folds", o.train.folds},
                            {"grouped", o.group_column > 0}, {"balance", o.train.balance}};
    if (held_out) {
        extra["test"] = metrics_to_json(held_out->metrics);
        extra["test_regions"] = o.test_regions;
        extra["n_test"] = held_out->regions;
    }
    HeadFile file;
    file.head = head;
    file.features = o.features.str();
    file.pool = pool_name(o.embed.pool);
    file.rc = rc_name(o.embed.rc);
    file.add_sep = o.embed.add_sep;
    file.model_fingerprint = o.features.embedding ? model_fingerprint(o.model_dir) : "";
    file.extra_json = extra.dump();
    return file;
}

}  // namespace dnamba
