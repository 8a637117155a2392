// `dnamba`: the dispatcher. Finds the subcommand, runs it, and turns a dnamba::Error into
// "dnamba <cmd>: error: ..." and the category's exit code (the only place that exits).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "commands.hpp"
#include "dnamba/error.hpp"
#include "dnamba/io.hpp"

namespace {

std::string usage() {
    return
    "dnamba " DNAMBA_VERSION " — Mamba-family DNA language models (Caduceus, Mamba) over genomic files\n"
    "\n"
    "usage: dnamba <command> [options]     (dnamba <command> --help for its options)\n"
    "\n"
    "commands:\n"
    "  embed   embed records, regions or windows of FASTA/FASTQ/SAM/BAM/CRAM: per-position (.npz)\n"
    "          or pooled (.tsv, .npy)\n"
    "  info    describe a checkpoint: layout, variant, sizes, parameters, dtypes\n"
    "  train-head  fit a classifier on labelled regions (logistic regression, cross-validated)\n"
    "  classify    class probabilities for regions or windows: TSV, bedGraph or bigWig\n"
    "  vep     score VCF/BCF variants with the LM (masked-llr, llr, delta-ll) or embedding distances\n"
    "  score   per-base tracks of the LM (log p of the reference base, entropy): bigWig, bedGraph, NPZ, TSV\n"
    "  bench   time the forward pass: a preset (caduceus-131k, caduceus-1k, caduceus-ps-131k,\n"
    "          caduceus-ps-1k; random weights) or a checkpoint (--model DIR)\n"
    "\n"
    "batch jobs in shards (used by the Snakemake workflows in pipelines/):\n"
    "  index   build the FASTA index (.fai) of a genome\n"
    "  plan    cut an input's rows (windows, regions, reads) into shards of similar size\n"
    "  merge   concatenate shard outputs (.tsv, .npy, .npz) into one, as a single run writes it\n"
    "  track   draw a bedGraph/bigWig track of one class from a classify table\n"
    "\n" + dnamba::cli::exit_codes_help({0, 1, 2, 3, 4, 5, 6}) + "\n";
}

struct Command {
    const char* name;
    int (*run)(int, char**);
};

const Command k_commands[] = {
    {"embed", dnamba::cli::cmd_embed},
    {"info", dnamba::cli::cmd_info},
    {"bench", dnamba::cli::cmd_bench},
    {"train-head", dnamba::cli::cmd_train_head},
    {"classify", dnamba::cli::cmd_classify},
    {"index", dnamba::cli::cmd_index},
    {"plan", dnamba::cli::cmd_plan},
    {"merge", dnamba::cli::cmd_merge},
    {"track", dnamba::cli::cmd_track},
    {"vep", dnamba::cli::cmd_vep},
    {"score", dnamba::cli::cmd_score},
};

// ^C or a kill mid-run: remove the temporary outputs, then die of the same signal, so that
// no partial file is left behind (the final name never exists before commit anyway).
extern "C" void on_fatal_signal(int sig) {
    dnamba::remove_uncommitted_outputs();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

// A library that ends the process with exit() from inside a run (libgomp does when it cannot
// create its threads: "libgomp: Thread creation failed"): its temporary outputs go too.
extern "C" void on_exit_mid_run() { dnamba::remove_uncommitted_outputs(); }

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fputs(usage().c_str(), stderr);
        return 2;
    }
    const std::string name = argv[1];
    if (name == "-h" || name == "--help" || name == "help") {
        std::fputs(usage().c_str(), stdout);
        return 0;
    }
    if (name == "--version" || name == "version") {
        std::puts("dnamba " DNAMBA_VERSION);
        return 0;
    }
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) std::signal(sig, on_fatal_signal);
    std::atexit(on_exit_mid_run);
    for (const auto& cmd : k_commands) {
        if (name != cmd.name) continue;
        try {
            return cmd.run(argc - 1, argv + 1);
        } catch (const dnamba::Error& e) {
            std::fprintf(stderr, "dnamba %s: error: %s\n", cmd.name, e.what());
            return dnamba::exit_code(e.kind());
        } catch (const std::bad_alloc&) {
            std::fprintf(stderr, "dnamba %s: error: out of memory (try a shorter input or fewer threads)\n", cmd.name);
            return 1;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "dnamba %s: internal error: %s\n", cmd.name, e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "dnamba: unknown command '%s'\n\n%s", name.c_str(), usage().c_str());
    return 2;
}
