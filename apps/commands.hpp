// apps/commands.hpp — the subcommands of `dnamba` and the options they share.
//
// Each cmd_*.cpp parses its options and calls libdnamba; no logic lives here. The shared
// options (model, device, threads, quiet) are defined once in options.cpp.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include <cstddef>
#include <initializer_list>
#include <optional>

#include "dnamba/embed.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/input.hpp"

namespace dnamba::cli {

namespace po = boost::program_options;

struct ComputeOptions {
    std::string device = "auto";
    std::string precision = "fp32";
    int threads = 0;
};

// Options of the shared input layer (records, regions, windows, read filters).
struct InputCli {
    std::string input;
    std::string reference;
    std::vector<std::string> bed_files;
    std::vector<std::string> regions;
    long long window = -1;  // -1: not given
    long long stride = -1;
    std::string tail = "keep";
    std::string orientation = "original";
    bool keep_secondary = false, keep_supplementary = false;
    bool skip_qcfail = false, skip_duplicates = false, skip_unmapped = false;
    int min_mapq = 0;
    bool strict = false;
    std::string rows;  // --rows FIRST:END
};

// -i/--input, --reference, --regions, --region, --window, --stride, --tail, --strict, read filters
void add_input_options(po::options_description& desc, InputCli& input, bool input_required = true);
// Validates and converts; throws Error(usage).
[[nodiscard]] InputOptions make_input_options(const InputCli& input);

// --model DIR (required unless `required` is false: then model_dir stays empty when not given),
// and --force-vocab
void add_model_option(po::options_description& desc, std::string& model_dir, bool required = true);
// --force-vocab alone (commands that word their own --model)
void add_force_vocab_option(po::options_description& desc);
// The checkpoint directory of a parsed --model: a directory as given, or a Hugging Face hub id's
// snapshot in the local cache (resolve_model_dir); its tokenizer files are checked against the
// DNA vocabulary (check_model_vocabulary) unless --force-vocab was given. "" stays "".
// Throws Error(model).
[[nodiscard]] std::string resolve_model(const std::string& model);
// --device, --precision, --threads
void add_compute_options(po::options_description& desc, ComputeOptions& compute);
// The engine options and device of --device/--precision/--threads; Error(usage) for a
// precision the chosen engine does not run.
[[nodiscard]] EngineOptions make_engine_options(const ComputeOptions& compute);
// What the model computes per row: --pool, --rc, --add-sep, --batch-tokens.
struct EmbedCli {
    std::string pool;
    std::string rc = "none";
    bool add_sep = false;
    std::size_t batch_tokens = 65536;
};
// --pool (default `pool_default`, described by `pool_help`), --rc, --add-sep, --batch-tokens
void add_embed_options(po::options_description& desc, EmbedCli& embed, const char* pool_default,
                       const char* pool_help);
// --batch-tokens alone (commands whose pooling and rc come from elsewhere)
void add_batch_tokens_option(po::options_description& desc, std::size_t& batch_tokens);
// Parses --pool and --rc (Error(usage)); --pool auto becomes `auto_pool` where the command has
// one, and is an error elsewhere.
[[nodiscard]] EmbedOptions make_embed_options(const EmbedCli& embed, std::optional<PoolMode> auto_pool = {});

// The "exit codes: ..." lines of a --help text: each of `codes` with its meaning from the one
// table of exit codes (README "Exit codes"), or with the command's own wording in `notes`.
struct ExitCodeNote {
    int code;
    const char* meaning;
};
[[nodiscard]] std::string exit_codes_help(std::initializer_list<int> codes,
                                          std::initializer_list<ExitCodeNote> notes = {});

// --help, --quiet
void add_common_options(po::options_description& desc, bool& quiet);

// Parses argv against desc; returns false when --help was given (usage already printed).
// Throws Error(usage) on unknown/malformed options or missing required ones.
bool parse_command_line(int argc, char** argv, const po::options_description& desc, const std::string& usage,
                        const po::positional_options_description* positional = nullptr);

int cmd_embed(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_train_head(int argc, char** argv);
int cmd_classify(int argc, char** argv);
int cmd_plan(int argc, char** argv);
int cmd_merge(int argc, char** argv);
int cmd_track(int argc, char** argv);
int cmd_index(int argc, char** argv);
int cmd_vep(int argc, char** argv);
int cmd_score(int argc, char** argv);

}  // namespace dnamba::cli
