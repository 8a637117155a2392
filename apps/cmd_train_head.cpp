// `dnamba train-head`: labelled BED regions -> features -> cross-validated logistic head
// (dnamba::HeadTraining).
#include <cstdio>

#include "commands.hpp"
#include "dnamba/classify.hpp"
#include "dnamba/io.hpp"
#include "dnamba/log.hpp"

namespace dnamba::cli {

int cmd_train_head(int argc, char** argv) {
    std::string output, features = "embedding";
    bool quiet = false;
    HeadTrainingOptions o;
    InputCli input;
    EmbedCli embed;
    ComputeOptions compute;
    po::options_description desc("options");
    desc.add_options()("model,m", po::value(&o.model_dir)->value_name("DIR"),
                       "model directory (needed for embedding features unless --embeddings is given)");
    add_input_options(desc, input, false);
    desc.add_options()("output,o", po::value(&output)->required()->value_name("FILE"), "the head file to write")(
        "label-column", po::value(&o.label_column)->default_value(4)->value_name("N"),
        "1-based BED column holding the class label (default 4, the name column)")(
        "group-column", po::value(&o.group_column)->value_name("N"),
        "1-based BED column of a group (e.g. chromosome or locus): a group never straddles train and test folds")(
        "features", po::value(&features)->default_value(features)->value_name("F"),
        "embedding | kmer:K | embedding+kmer:K (K <= 8)")(
        "embeddings", po::value(&o.embeddings)->value_name("FILE"),
        "precomputed pooled embeddings of the same regions (.tsv or .npy from dnamba embed) instead of running the model")(
        "folds", po::value(&o.train.folds)->default_value(5)->value_name("K"), "outer cross-validation folds")(
        "inner-folds", po::value(&o.train.inner_folds)->default_value(3)->value_name("K"),
        "inner folds choosing the L2 strength")(
        "balance", po::bool_switch(&o.train.balance), "weight classes inversely to their frequency")(
        "test-regions", po::value(&o.test_regions)->value_name("BED"),
        "held-out labelled regions (same label column) evaluated with the final head")(
        "seed", po::value(&o.train.seed)->default_value(1), "seed of the fold assignment");
    add_embed_options(desc, embed, "mean", "mean | max | first | last");
    add_force_vocab_option(desc);
    add_compute_options(desc, compute);
    add_common_options(desc, quiet);
    const std::string usage =
        "usage: dnamba train-head --input genome.fa --regions labelled.bed [--label-column 4] --model DIR "
        "-o out.head [options]\n\n"
        "Fits a multinomial logistic regression on standardized pooled features of labelled regions,\n"
        "with the L2 strength chosen by inner cross-validation, and reports stratified (or grouped)\n"
        "k-fold CV: accuracy, macro-F1, MCC, and AUROC/AUPRC for two classes.\n\n" +
        exit_codes_help({0, 1, 2, 3, 4, 5, 6});
    if (!parse_command_line(argc, argv, desc, usage)) return 0;
    o.model_dir = resolve_model(o.model_dir);

    o.features = FeatureSpec::parse(features);
    const InputOptions in = make_input_options(input);
    {  // before any embedding: the head must not replace an input
        std::vector<std::string> inputs = in.bed_files;
        for (const std::string& p : {in.path, in.reader.reference, o.embeddings, o.test_regions}) inputs.push_back(p);
        if (o.embeddings.size() > 4 && o.embeddings.compare(o.embeddings.size() - 4, 4, ".npy") == 0)
            inputs.push_back(npy_names_path(o.embeddings));
        check_output_not_input(output, inputs);
    }
    o.engine = make_engine_options(compute);
    o.device = parse_device(compute.device);
    o.embed = make_embed_options(embed);
    const HeadTraining training(in, o);
    const auto& classes = training.classes();
    const auto columns = static_cast<long long>(training.features().cols());
    if (!log_quiet())
        std::fprintf(stderr, "dnamba train-head: %zu regions, %zu classes, %lld features (%s), %d-fold CV%s\n",
                     training.regions(), classes.size(), columns, o.features.str().c_str(), o.train.folds,
                     o.group_column ? " grouped" : "");
    const TrainedHead head = training.fit();

    std::printf("classes   ");
    const auto counts = training.class_counts();
    for (std::size_t c = 0; c < classes.size(); ++c) std::printf(" %s (%zu)", classes[c].c_str(), counts[c]);
    std::printf("\nfeatures   %s, %lld columns; L2 %.3g (chosen by %d-fold inner CV)\n", o.features.str().c_str(),
                columns, head.l2, o.train.inner_folds);
    for (std::size_t f = 0; f < head.cv.folds.size(); ++f)
        std::printf("%s\n", metrics_line("fold " + std::to_string(f + 1), head.cv.folds[f]).c_str());
    std::printf("%s\n", metrics_line("CV", head.cv.mean, &head.cv.sd).c_str());
    std::optional<HeadTraining::HeldOut> test;
    if (!o.test_regions.empty()) {
        test = training.held_out(head);
        std::printf("%s\n", metrics_line("held-out", test->metrics).c_str());
    }
    save_head(output, training.head_file(head, test));
    if (!log_quiet()) std::fprintf(stderr, "dnamba train-head: wrote %s\n", output.c_str());
    return 0;
}

}  // namespace dnamba::cli
