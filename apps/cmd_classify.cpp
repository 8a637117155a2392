// `dnamba classify`: a trained head over regions or windows -> TSV of class probabilities, or
// a bedGraph/bigWig track of one class's probability.
#include <cstdio>

#include "commands.hpp"
#include "dnamba/classify.hpp"
#include "dnamba/log.hpp"

namespace dnamba::cli {

int cmd_classify(int argc, char** argv) {
    std::string head_path, output;
    bool quiet = false;
    ClassifyOptions options;
    InputCli input;
    ComputeOptions compute;
    po::options_description desc("options");
    desc.add_options()("model,m", po::value(&options.model_dir)->value_name("DIR"),
                       "the model the head was trained with (embedding heads)")(
        "head", po::value(&head_path)->required()->value_name("FILE"), "head file from dnamba train-head");
    add_input_options(desc, input);
    desc.add_options()("output,o", po::value(&output)->required()->value_name("FILE"),
                       ".tsv: name chrom start end strand p_<class>... predicted (.tsv.gz: bgzip-compressed; - : "
                       "this table on standard output); .bedgraph/.bg (.gz too) or .bw/.bigwig: a track of one "
                       "class's probability (sorted, overlapping windows averaged per base step)")(
        "class", po::value(&options.class_name)->value_name("NAME"),
        "the class whose probability a track shows (default: the second class of a binary head)");
    add_force_vocab_option(desc);
    add_batch_tokens_option(desc, options.batch_tokens);
    add_compute_options(desc, compute);
    add_common_options(desc, quiet);
    const std::string usage =
        "usage: dnamba classify --model DIR --head FILE --input genome.fa (--regions BED | --window N ...) -o out\n\n" +
        exit_codes_help({0, 1, 2, 3, 4, 5, 6},
                        {{3, "bad input data (a corrupt head file too)"}, {4, "head made for another model"}});
    if (!parse_command_line(argc, argv, desc, usage)) return 0;
    options.model_dir = resolve_model(options.model_dir);

    const InputOptions in = make_input_options(input);
    options.device = parse_device(compute.device);
    options.engine = make_engine_options(compute);
    const std::size_t rows = classify_input(in, head_path, output, options);
    if (!log_quiet()) std::fprintf(stderr, "dnamba classify: %zu row(s) -> %s\n", rows, output.c_str());
    return 0;
}

}  // namespace dnamba::cli
