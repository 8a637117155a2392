// Options shared by every subcommand, defined once.
#include <iostream>

#include "commands.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"

namespace dnamba::cli {

void add_model_option(po::options_description& desc, std::string& model_dir) {
    desc.add_options()("model,m", po::value(&model_dir)->required()->value_name("DIR"),
                       "model directory: config.json + model.safetensors (Caduceus, mamba_ssm or "
                       "transformers Mamba layout)");
}

void add_compute_options(po::options_description& desc, ComputeOptions& compute) {
    desc.add_options()("device", po::value(&compute.device)->default_value("auto")->value_name("DEV"),
                       "auto | cpu | cuda[:N]  (auto uses a GPU when the GPU engine is available)")(
        "threads,t", po::value(&compute.threads)->default_value(0)->value_name("N"),
        "CPU threads (0 = all cores)");
}

void add_common_options(po::options_description& desc, bool& quiet) {
    desc.add_options()("help,h", "show this help and exit")("quiet,q", po::bool_switch(&quiet),
                                                            "no progress or summary on stderr");
}

bool parse_command_line(int argc, char** argv, const po::options_description& desc, const std::string& usage,
                        const po::positional_options_description* positional) {
    po::variables_map vm;
    try {
        po::command_line_parser parser(argc, argv);
        parser.options(desc);
        if (positional) parser.positional(*positional);
        po::store(parser.run(), vm);
        if (vm.count("help")) {
            std::cout << usage << "\n" << desc << "\n";
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        fail(ErrorKind::usage, std::string(e.what()) + " (see --help)");
    }
    if (vm.count("quiet") && vm["quiet"].as<bool>()) set_log_quiet(true);
    return true;
}

}  // namespace dnamba::cli
