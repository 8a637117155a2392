// `dnamba vep`: options -> dnamba::vep_score_file.
#include <cstdio>

#include "commands.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"
#include "dnamba/vep.hpp"

namespace dnamba::cli {

int cmd_vep(int argc, char** argv) {
    std::string model_dir, output, scores = "auto", rc = "none";
    bool quiet = false;
    long long window = 1000;
    VepOptions options;
    ComputeOptions compute;
    po::options_description desc("options");
    add_model_option(desc, model_dir);
    desc.add_options()("input,i", po::value(&options.fasta)->required()->value_name("FASTA"),
                       "the reference genome the VCF is on (plain or bgzip; .fai built when missing)")(
        "vcf", po::value(&options.vcf)->required()->value_name("FILE"), "VCF, VCF.gz or BCF; - reads standard input")(
        "region", po::value(&options.region_texts)->composing()->value_name("REG"),
        "only records whose POS lies in chrom:start-end (1-based inclusive); needs an indexed VCF.gz/BCF; repeatable")(
        "regions", po::value(&options.bed_files)->composing()->value_name("BED"),
        "only records whose POS lies in the BED file's regions (indexed VCF); repeatable")(
        "window", po::value(&window)->default_value(window)->value_name("W"),
        "bases of reference around each variant (floor(W/2) before it), clipped at the contig ends; llr without "
        "embedding scores reads shared windows of W bases every floor(W/2) instead (README)")(
        "scores", po::value(&scores)->default_value(scores)->value_name("LIST"),
        "comma-separated: masked-llr, llr, emb-l2, emb-cos, delta-ll (auto: masked-llr for masked LMs, "
        "llr,delta-ll for causal ones); see README for the formulas")(
        "rc", po::value(&rc)->default_value(rc)->value_name("MODE"),
        "none | average (each score averaged over both strands; RCPS models need no extra pass)")(
        "strict", po::bool_switch(&options.strict),
        "a record that would be skipped (symbolic or '*' ALT, REF not matching the FASTA) is an error")(
        "output,o", po::value(&output)->required()->value_name("FILE"),
        ".vcf, .vcf.gz (+ .tbi), .bcf (+ .csi): the input records with INFO DNAMBA_<SCORE>; .tsv: chrom pos ref "
        "alt <score>..., one row per ALT (.tsv.gz bgzipped; - the TSV on standard output)");
    add_batch_tokens_option(desc, options.batch_tokens);
    add_compute_options(desc, compute);
    add_common_options(desc, quiet);
    const std::string usage =
        "usage: dnamba vep --model DIR --input genome.fa --vcf variants.vcf.gz -o scored.{vcf,vcf.gz,bcf,tsv,tsv.gz} [options]\n\n"
        "Scores every ALT allele of every VCF record with the language model: a window of the reference\n"
        "centred on the variant, with the ref and with the alt allele. Records keep their input order;\n"
        "multi-allelic records get one value per ALT (Number=A). Symbolic and '*' ALTs and records whose\n"
        "REF does not match the FASTA are left unscored and counted (an error with --strict). The output\n"
        "is written under a temporary name and renamed when complete.\n\n"
        "examples:\n"
        "  dnamba vep -m M -i genome.fa --vcf calls.vcf.gz --scores masked-llr,emb-l2 -o scored.vcf.gz\n"
        "  dnamba vep -m M -i genome.fa --vcf calls.bcf --region chr1:1-1,000,000 --window 512 -o chr1.tsv\n\n" +
        exit_codes_help({0, 1, 2, 3, 4, 5, 6}, {{4, "bad model, or an LM score from a model without an LM head"}});
    if (!parse_command_line(argc, argv, desc, usage)) return 0;
    model_dir = resolve_model(model_dir);

    options.window = window;
    options.rc = parse_rc(rc);
    options.scores = parse_variant_scores(scores, load_model_config(model_dir));
    options.model_name = model_dir;
    if (options.batch_tokens < 1) fail(ErrorKind::usage, "--batch-tokens must be at least 1");
    const DeviceSpec device = parse_device(compute.device);
    const EngineOptions engine_options = make_engine_options(compute);
    const Model model = load_model(model_dir);
    const Engines engines = make_engines(model, device, engine_options);
    const VepSummary s = vep_score_file(engines, model, options, output);
    if (!log_quiet()) {
        std::fprintf(stderr,
                     "dnamba vep: %zu record(s), %zu ALT allele(s) scored in %.2f s (%.0f alleles/s, %zu passes) on %s\n"
                     "dnamba vep: skipped: %zu symbolic/'*' ALT(s), %zu record(s) with REF not matching the FASTA, "
                     "%zu other (no ALT, REF past the contig end)\n"
                     "dnamba vep: wrote %s%s\n",
                     s.records, s.alleles, s.seconds, s.seconds > 0 ? static_cast<double>(s.alleles) / s.seconds : 0.0,
                     s.passes, engines.description().c_str(), s.skipped_symbolic, s.skipped_mismatch, s.skipped_other,
                     output.c_str(), s.indexed ? " (indexed)" : "");
    }
    return 0;
}

}  // namespace dnamba::cli
