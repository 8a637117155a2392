// `dnamba train-head`: labelled BED regions -> features -> cross-validated logistic head.
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "dnamba/classify.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"

namespace dnamba::cli {
namespace {

struct Labelled {
    std::vector<std::string> labels;
    std::vector<std::string> groups;
    std::vector<Region> regions;
};

// Labels (and groups) from 1-based BED columns, in region order.
Labelled read_labels(const std::vector<std::string>& beds, int label_column, int group_column) {
    Labelled out;
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

nlohmann::json metrics_json(const Metrics& m) {
    nlohmann::json j = {{"accuracy", m.accuracy}, {"macro_f1", m.macro_f1}, {"mcc", m.mcc}};
    if (m.auroc) j["auroc"] = *m.auroc;
    if (m.auprc) j["auprc"] = *m.auprc;
    return j;
}

void print_metrics(const char* label, const Metrics& m, const Metrics* sd) {
    auto one = [&](const char* name, double v, double s) {
        if (sd) std::printf("  %s %.4f ± %.4f", name, v, s);
        else std::printf("  %s %.4f", name, v);
    };
    std::printf("%-10s", label);
    one("accuracy", m.accuracy, sd ? sd->accuracy : 0);
    one("macro-F1", m.macro_f1, sd ? sd->macro_f1 : 0);
    one("MCC", m.mcc, sd ? sd->mcc : 0);
    if (m.auroc) one("AUROC", *m.auroc, sd && sd->auroc ? *sd->auroc : 0);
    if (m.auprc) one("AUPRC", *m.auprc, sd && sd->auprc ? *sd->auprc : 0);
    std::printf("\n");
}

}  // namespace

int cmd_train_head(int argc, char** argv) {
    std::string model_dir, output, features = "embedding", pool = "mean", rc = "none", embeddings, test_regions;
    int label_column = 4, group_column = 0;
    bool add_sep = false, balance = false, quiet = false;
    HeadTrainOptions train;
    unsigned long long seed = 1;
    std::size_t batch_tokens = 65536;
    InputCli input;
    ComputeOptions compute;
    po::options_description desc("options");
    desc.add_options()("model,m", po::value(&model_dir)->value_name("DIR"),
                       "model directory (needed for embedding features unless --embeddings is given)");
    add_input_options(desc, input, false);
    desc.add_options()("output,o", po::value(&output)->required()->value_name("FILE"), "the head file to write")(
        "label-column", po::value(&label_column)->default_value(4)->value_name("N"),
        "1-based BED column holding the class label (default 4, the name column)")(
        "group-column", po::value(&group_column)->value_name("N"),
        "1-based BED column of a group (e.g. chromosome or locus): a group never straddles train and test folds")(
        "features", po::value(&features)->default_value(features)->value_name("F"),
        "embedding | kmer:K | embedding+kmer:K (K <= 8)")(
        "embeddings", po::value(&embeddings)->value_name("FILE"),
        "precomputed pooled embeddings of the same regions (.tsv or .npy from dnamba embed) instead of running the model")(
        "pool", po::value(&pool)->default_value(pool)->value_name("MODE"), "mean | max | first | last")(
        "rc", po::value(&rc)->default_value(rc)->value_name("MODE"), "none | average")(
        "add-sep", po::bool_switch(&add_sep), "append [SEP] to every sequence")(
        "folds", po::value(&train.folds)->default_value(5)->value_name("K"), "outer cross-validation folds")(
        "inner-folds", po::value(&train.inner_folds)->default_value(3)->value_name("K"),
        "inner folds choosing the L2 strength")(
        "balance", po::bool_switch(&balance), "weight classes inversely to their frequency")(
        "test-regions", po::value(&test_regions)->value_name("BED"),
        "held-out labelled regions (same label column) evaluated with the final head")(
        "seed", po::value(&seed)->default_value(1), "seed of the fold assignment")(
        "batch-tokens", po::value(&batch_tokens)->default_value(batch_tokens)->value_name("N"),
        "tokens per forward pass");
    add_compute_options(desc, compute);
    add_common_options(desc, quiet);
    const std::string usage =
        "usage: dnamba train-head --input genome.fa --regions labelled.bed [--label-column 4] --model DIR "
        "-o out.head [options]\n\n"
        "Fits a multinomial logistic regression on standardized pooled features of labelled regions,\n"
        "with the L2 strength chosen by inner cross-validation, and reports stratified (or grouped)\n"
        "k-fold CV: accuracy, macro-F1, MCC, and AUROC/AUPRC for two classes.\n\n"
        "exit codes: 0 success, 1 internal error, 2 usage, 3 bad input data, 4 bad model,\n"
        "            5 device error, 6 cannot write the output";
    if (!parse_command_line(argc, argv, desc, usage)) return 0;

    const FeatureSpec spec = FeatureSpec::parse(features);
    InputOptions in = make_input_options(input);
    if (in.bed_files.empty()) fail(ErrorKind::usage, "train-head needs labelled regions: --regions FILE.bed");
    if (!in.region_texts.empty() || in.windows.window > 0)
        fail(ErrorKind::usage, "train-head takes labels from --regions BED lines; --region and --window do not apply");
    // the model runs unless every embedding comes from the table (held-out regions are embedded)
    const bool need_model = spec.embedding && (embeddings.empty() || !test_regions.empty());
    if (need_model && model_dir.empty()) fail(ErrorKind::usage, "embedding features need --model (or --embeddings)");
    if ((need_model || spec.kmer) && in.path.empty()) fail(ErrorKind::usage, "--input FASTA is required");
    if (spec.embedding && model_dir.empty())
        fail(ErrorKind::usage, "--model is required so that the head records which model its embeddings came from");
    const EngineOptions engine_options = make_engine_options(compute);
    EmbedOptions eo;
    eo.pool = parse_pool(pool);
    if (eo.pool == PoolMode::none) fail(ErrorKind::usage, "--pool none has no pooled features");
    eo.rc = parse_rc(rc);
    eo.add_sep = add_sep;
    eo.batch_tokens = batch_tokens;
    train.balance = balance;
    train.seed = seed;
    if (group_column < 0) fail(ErrorKind::usage, "--group-column must be positive");

    const Labelled lab = read_labels(in.bed_files, label_column, group_column);
    std::map<std::string, int> class_index;
    for (const auto& l : lab.labels) class_index.emplace(l, 0);
    if (class_index.size() < 2)
        fail(ErrorKind::input, in.bed_files.front() + ": column " + std::to_string(label_column) +
                                   " has a single label; a classifier needs at least two classes");
    std::vector<std::string> classes;
    for (auto& [name, idx] : class_index) {
        idx = static_cast<int>(classes.size());
        classes.push_back(name);
    }
    std::vector<int> y;
    for (const auto& l : lab.labels) y.push_back(class_index.at(l));

    std::unique_ptr<Model> model;
    std::unique_ptr<Engine> engine;
    if (need_model) {
        model = std::make_unique<Model>(load_model(model_dir));
        engine = make_engine(*model, parse_device(compute.device), engine_options);
    }
    auto features_of = [&](const InputOptions& o, std::size_t expected, const std::string& what) {
        Matrix X;
        std::vector<Matrix> parts;
        std::size_t rows = 0;
        FeatureSpec s = spec;
        if (!embeddings.empty() && &o == &in) s.embedding = false;  // embeddings come from the table
        if (s.embedding || s.kmer) {
            extract_features(o, s, engine.get(), model.get(), eo, [&](FeatureBatch& b) {
                parts.push_back(std::move(b.X));
                rows += b.rows.size();
            });
            if (rows != expected)
                fail(ErrorKind::input, what + ": " + std::to_string(rows) + " feature rows for " +
                                           std::to_string(expected) + " labelled regions");
            X.resize(static_cast<Eigen::Index>(rows), parts.front().cols());
            Eigen::Index r = 0;
            for (const auto& p : parts) {
                X.middleRows(r, p.rows()) = p;
                r += p.rows();
            }
        }
        return X;
    };
    Matrix X = features_of(in, lab.regions.size(), in.bed_files.front());
    if (!embeddings.empty() && spec.embedding) {
        const EmbeddingTable t = read_embedding_table(embeddings);
        if (t.rows.size() != lab.regions.size())
            fail(ErrorKind::input, embeddings + ": " + std::to_string(t.rows.size()) + " rows, but " +
                                       in.bed_files.front() + " has " + std::to_string(lab.regions.size()) + " regions");
        for (std::size_t i = 0; i < t.rows.size(); ++i) {
            const Region& r = lab.regions[i];
            if (t.rows[i].chrom != r.chrom || t.rows[i].start != r.start)
                fail(ErrorKind::input, embeddings + ": row " + std::to_string(i + 1) + " is " + t.rows[i].chrom + ":" +
                                           std::to_string(t.rows[i].start) + " but " + r.source + " is " + r.chrom +
                                           ":" + std::to_string(r.start) + " (embed the same BED in the same order)");
        }
        Matrix both(t.X.rows(), t.X.cols() + X.cols());
        both.leftCols(t.X.cols()) = t.X;
        if (X.cols()) both.rightCols(X.cols()) = X;
        X = std::move(both);
    }

    if (!log_quiet())
        std::fprintf(stderr, "dnamba train-head: %zu regions, %zu classes, %lld features (%s), %d-fold CV%s\n",
                     lab.regions.size(), classes.size(), static_cast<long long>(X.cols()), spec.str().c_str(),
                     train.folds, group_column ? " grouped" : "");
    const TrainedHead head = train_head(X, y, classes, lab.groups, train);

    std::printf("classes   ");
    for (std::size_t c = 0; c < classes.size(); ++c) {
        std::size_t n = 0;
        for (int v : y) n += (v == static_cast<int>(c));
        std::printf(" %s (%zu)", classes[c].c_str(), n);
    }
    std::printf("\nfeatures   %s, %lld columns; L2 %.3g (chosen by %d-fold inner CV)\n", spec.str().c_str(),
                static_cast<long long>(X.cols()), head.l2, train.inner_folds);
    for (std::size_t f = 0; f < head.cv.folds.size(); ++f) {
        char label[32];
        std::snprintf(label, sizeof label, "fold %zu", f + 1);
        print_metrics(label, head.cv.folds[f], nullptr);
    }
    print_metrics("CV", head.cv.mean, &head.cv.sd);

    nlohmann::json extra = {{"label_column", label_column}, {"trained_on", in.bed_files}, {"n_train", y.size()},
                            {"cv_mean", metrics_json(head.cv.mean)}, {"cv_sd", metrics_json(head.cv.sd)},
                            {"folds", train.folds}, {"grouped", group_column > 0}, {"balance", balance}};
    if (!test_regions.empty()) {
        InputOptions t = in;
        t.bed_files = {test_regions};
        const Labelled test = read_labels(t.bed_files, label_column, 0);
        std::vector<int> ty;
        for (const auto& l : test.labels) {
            const auto it = class_index.find(l);
            if (it == class_index.end())
                fail(ErrorKind::input, test_regions + ": label '" + l + "' was not among the training classes");
            ty.push_back(it->second);
        }
        const Matrix TX = features_of(t, ty.size(), test_regions);
        const Metrics tm = compute_metrics(ty, head_predict(head, TX), static_cast<int>(classes.size()));
        print_metrics("held-out", tm, nullptr);
        extra["test"] = metrics_json(tm);
        extra["test_regions"] = test_regions;
        extra["n_test"] = ty.size();
    }

    HeadFile file;
    file.head = head;
    file.features = spec.str();
    file.pool = pool;
    file.rc = rc;
    file.add_sep = add_sep;
    file.model_fingerprint = spec.embedding ? model_fingerprint(model_dir) : "";
    file.extra_json = extra.dump();
    save_head(output, file);
    if (!log_quiet()) std::fprintf(stderr, "dnamba train-head: wrote %s\n", output.c_str());
    return 0;
}

}  // namespace dnamba::cli
