// Options shared by every subcommand, defined once.
#include <iostream>
#include <tuple>

#include "commands.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"
#include "dnamba/model.hpp"

namespace dnamba::cli {

namespace {
// --force-vocab of this process's one command line (set by parse_command_line's notify).
bool g_force_vocab = false;
}  // namespace

void add_model_option(po::options_description& desc, std::string& model_dir, bool required) {
    auto* value = po::value(&model_dir)->value_name("DIR");
    if (required) value->required();
    desc.add_options()("model,m", value,
                       "model directory: config.json + model.safetensors (Caduceus, mamba_ssm or "
                       "transformers Mamba layout), or a Hugging Face hub id (org/name) already in the local "
                       "Hugging Face cache (HF_HUB_CACHE, HF_HOME; never downloaded)");
    add_force_vocab_option(desc);
}

void add_force_vocab_option(po::options_description& desc) {
    desc.add_options()("force-vocab", po::bool_switch(&g_force_vocab),
                       "use the model even when its tokenizer files (tokenizer_config.json, special_tokens_map.json, "
                       "tokenizer.json) give another vocabulary than the DNA characters");
}

std::string resolve_model(const std::string& model) {
    if (model.empty()) return model;
    std::string dir = resolve_model_dir(model);
    if (!g_force_vocab) check_model_vocabulary(dir);
    return dir;
}

void add_input_options(po::options_description& desc, InputCli& in, bool input_required) {
    auto* input_value = po::value(&in.input)->value_name("FILE");
    if (input_required) input_value->required();
    desc.add_options()("input,i", input_value,
                       "FASTA/FASTQ (plain, gzip, bgzip) or SAM/BAM/CRAM; - reads standard input "
                       "(format detected)")(
        "reference", po::value(&in.reference)->value_name("FASTA"), "reference FASTA for CRAM input")(
        "regions", po::value(&in.bed_files)->composing()->value_name("BED"),
        "embed the regions of a BED file (0-based, half-open; name column names the row; minus-strand "
        "regions are embedded as the reverse complement), fetched through the FASTA index; repeatable")(
        "region", po::value(&in.regions)->composing()->value_name("REG"),
        "chrom:start-end (1-based inclusive, commas allowed, samtools style) of an indexed FASTA, or "
        "reads overlapping it in an indexed BAM/CRAM; repeatable")(
        "window", po::value(&in.window)->value_name("N"),
        "tile each record or region into windows of N bases")(
        "stride", po::value(&in.stride)->value_name("S"), "window step (default: N)")(
        "tail", po::value(&in.tail)->default_value("keep")->value_name("MODE"),
        "keep | drop the last, shorter window")(
        "strict", po::bool_switch(&in.strict), "a region past the end of its sequence is an error (default: clipped)")(
        "read-orientation", po::value(&in.orientation)->default_value("original")->value_name("O"),
        "original: reads as sequenced (BAM stores reverse-strand reads reverse-complemented); reference: as stored")(
        "keep-secondary", po::bool_switch(&in.keep_secondary), "keep secondary alignments (skipped by default)")(
        "keep-supplementary", po::bool_switch(&in.keep_supplementary),
        "keep supplementary alignments (skipped by default)")(
        "skip-qcfail", po::bool_switch(&in.skip_qcfail), "skip reads flagged QC-fail")(
        "skip-duplicates", po::bool_switch(&in.skip_duplicates), "skip reads flagged duplicate")(
        "skip-unmapped", po::bool_switch(&in.skip_unmapped), "skip unmapped reads")(
        "min-mapq", po::value(&in.min_mapq)->default_value(0)->value_name("Q"), "skip mapped reads below this MAPQ")(
        "rows", po::value(&in.rows)->value_name("A:B"),
        "only rows A to B-1 of the input order (0-based, counted after read filters): one shard of a "
        "`dnamba plan`; rows before A are skipped without reading their bases");
}

InputOptions make_input_options(const InputCli& in) {
    InputOptions o;
    o.path = in.input;
    o.reader.reference = in.reference;
    o.reader.orientation = parse_read_orientation(in.orientation);
    o.reader.filter.skip_secondary = !in.keep_secondary;
    o.reader.filter.skip_supplementary = !in.keep_supplementary;
    o.reader.filter.skip_qcfail = in.skip_qcfail;
    o.reader.filter.skip_duplicate = in.skip_duplicates;
    o.reader.filter.skip_unmapped = in.skip_unmapped;
    o.reader.filter.min_mapq = in.min_mapq;
    o.bed_files = in.bed_files;
    o.region_texts = in.regions;
    if (in.window == 0 || in.window < -1)
        fail(ErrorKind::usage, "--window must be a positive number of bases, got " + std::to_string(in.window));
    if (in.stride == 0 || in.stride < -1)
        fail(ErrorKind::usage, "--stride must be a positive number of bases, got " + std::to_string(in.stride));
    if (in.stride > 0 && in.window < 0) fail(ErrorKind::usage, "--stride needs --window");
    o.windows.window = in.window > 0 ? in.window : 0;
    o.windows.stride = in.stride > 0 ? in.stride : 0;
    o.windows.tail = parse_tail(in.tail);
    o.strict = in.strict;
    if (!in.rows.empty()) std::tie(o.first_row, o.end_row) = parse_row_range(in.rows);
    return o;
}

void add_compute_options(po::options_description& desc, ComputeOptions& compute) {
    desc.add_options()("device", po::value(&compute.device)->default_value("auto")->value_name("DEV"),
                       "auto | cpu | cuda[:N] | cuda:all | cuda:I,J,...  (auto: the GPU engine on device 0 when a GPU "
                       "is visible, else the CPU; cuda:all / a list: one engine per GPU, batches to whichever is free, "
                       "rows still in input order)")(
        "precision", po::value(&compute.precision)->default_value("fp32")->value_name("P"),
        "fp32 | bf16 (bf16: GPU engine only; activations and GEMMs in bf16, fp32 accumulation and scan states)")(
        "threads,t", po::value(&compute.threads)->default_value(0)->value_name("N"),
        "CPU threads (0 = all cores)");
}

EngineOptions make_engine_options(const ComputeOptions& compute) {
    EngineOptions e;
    check_thread_count(compute.threads);
    e.threads = compute.threads;
    e.precision = parse_precision(compute.precision);
    return e;
}

void add_batch_tokens_option(po::options_description& desc, std::size_t& batch_tokens) {
    desc.add_options()("batch-tokens", po::value(&batch_tokens)->default_value(batch_tokens)->value_name("N"),
                       "pack sequences into forward passes of up to N tokens (results do not change)");
}

void add_embed_options(po::options_description& desc, EmbedCli& embed, const char* pool_default,
                       const char* pool_help) {
    desc.add_options()("pool", po::value(&embed.pool)->default_value(pool_default)->value_name("MODE"), pool_help)(
        "rc", po::value(&embed.rc)->default_value(embed.rc)->value_name("MODE"),
        "none: the model's own output (2*d_model channels for RC-equivariant PS models); "
        "average: strand-invariant d_model channels, position-aligned (see README)")(
        "add-sep", po::bool_switch(&embed.add_sep),
        "append the [SEP] token to every sequence (as the HF tokenizer does)");
    add_batch_tokens_option(desc, embed.batch_tokens);
}

EmbedOptions make_embed_options(const EmbedCli& embed, std::optional<PoolMode> auto_pool) {
    EmbedOptions o;
    o.pool = (embed.pool == "auto" && auto_pool) ? *auto_pool : parse_pool(embed.pool);
    o.rc = parse_rc(embed.rc);
    o.add_sep = embed.add_sep;
    o.batch_tokens = embed.batch_tokens;
    return o;
}

std::string exit_codes_help(std::initializer_list<int> codes, std::initializer_list<ExitCodeNote> notes) {
    static const char* const k_meaning[] = {"success",        "internal error",           "usage error",
                                            "bad input data", "bad or unsupported model", "device error",
                                            "cannot write the output"};
    std::string text, line = "exit codes:";
    for (const int code : codes) {
        const char* meaning = k_meaning[code];
        for (const auto& n : notes)
            if (n.code == code) meaning = n.meaning;
        const std::string item = std::to_string(code) + " " + meaning;
        // about 90 columns a line, continuation lines indented under the first code
        if (line.size() + item.size() + 2 > 90) {
            text += line + ",\n";
            line = std::string(12, ' ') + item;
        } else {
            line += (line.back() == ':' ? " " : ", ") + item;
        }
    }
    return text + line;
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
