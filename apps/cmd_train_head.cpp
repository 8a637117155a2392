// `dnamba train-head`: labelled BED regions -> features -> cross-validated logistic head.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "dnamba/classify.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"

namespace dnamba::cli {
namespace {

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

    const LabelledRegions lab = read_labelled_regions(in.bed_files, label_column, group_column);
    const ClassIndex ci = index_classes(lab.labels, in.bed_files.front(), label_column);
    const std::vector<std::string>& classes = ci.classes;
    const std::vector<int>& y = ci.y;

    std::unique_ptr<Model> model;
    std::unique_ptr<Engine> engine;
    if (need_model) {
        model = std::make_unique<Model>(load_model(model_dir));
        engine = make_engine(*model, parse_device(compute.device), engine_options);
    }
    // the features the model (or k-mers) give; for the training regions, embeddings may come
    // from the precomputed table instead
    auto features_of = [&](const InputOptions& o, std::size_t expected, const std::string& what) {
        FeatureSpec s = spec;
        if (!embeddings.empty() && &o == &in) s.embedding = false;
        return (s.embedding || s.kmer) ? feature_matrix(o, s, engine.get(), model.get(), eo, expected, what) : Matrix();
    };
    Matrix X = features_of(in, lab.regions.size(), in.bed_files.front());
    if (!embeddings.empty() && spec.embedding)
        X = join_embedding_table(read_embedding_table(embeddings), embeddings, lab, in.bed_files.front(), X);

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
        const LabelledRegions test = read_labelled_regions(t.bed_files, label_column, 0);
        const std::vector<int> ty = class_indices(test.labels, classes, test_regions);
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
