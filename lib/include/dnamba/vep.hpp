// dnamba/vep.hpp — zero-shot variant effect scores from the language model (`dnamba vep`) and
// per-base likelihood tracks (`dnamba score`).
//
// A variant becomes a window of the reference FASTA centred on it (floor(W/2) bases before its
// position, clipped at the contig ends) and the same window with the alternate allele; the
// windows go through the one pipeline (pipeline/run_batched.hpp) like any other input. Scores
// (natural logarithms; p from the LM head at the variant position):
//   masked-llr  log p(alt) - log p(ref), the variant base replaced by [MASK] in the ref window
//               (masked-LM models, SNVs)
//   llr         the same from the unmasked ref window; causal models: the prediction of the
//               variant position from the bases before it in the window (SNVs). Without an
//               embedding score or delta-ll (which need the centred ref window anyway) the ref
//               window is a shared one instead: the contig tiled into windows of W bases every
//               floor(W/2), the variant in the tile where it has the most context (vep.cpp's
//               llr_tile), one pass per tile for all its variants
//   emb-l2      || mean(H(alt window)) - mean(H(ref window)) ||_2 (final hidden states)
//   emb-cos     1 - cos(mean(H(alt window)), mean(H(ref window)))
//   delta-ll    causal models: sum_t log p(x_t | x_<t) over the alt window minus the same over
//               the ref window, t = 1..L-1, bases A/C/G/T only
// log p is over the four bases (log-softmax of the A/C/G/T logits); log p(alt) - log p(ref) is
// the same whatever the set normalised over. With RcMode::average each score is the mean of
// the score on both strands (RCPS models: their own two halves; no extra pass).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dnamba/embed.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/input.hpp"

namespace dnamba {

enum class VariantScore { masked_llr, llr, emb_l2, emb_cos, delta_ll };

// "masked-llr,llr,emb-l2,emb-cos,delta-ll" (any subset, any order, no repeats) or "auto"
// (masked-LM models: masked-llr; causal: llr,delta-ll). Throws Error(usage) naming the text.
[[nodiscard]] std::vector<VariantScore> parse_variant_scores(const std::string& text, const ModelConfig& config);
[[nodiscard]] const char* variant_score_name(VariantScore score) noexcept;   // "masked-llr"
[[nodiscard]] const char* variant_score_info(VariantScore score) noexcept;   // "DNAMBA_MASKED_LLR"

// Whether the model's LM head predicts the next token (mamba_ssm and HF Mamba layouts) rather
// than the token at the same position (Caduceus masked LMs).
[[nodiscard]] bool is_causal_lm(const ModelConfig& config) noexcept;

struct VepOptions {
    std::string vcf;                        // VCF, VCF.gz or BCF; "-" reads standard input
    std::string fasta;                      // the reference (indexed through IndexedFasta)
    std::vector<std::string> region_texts;  // --region: only records whose POS lies in them
    std::vector<std::string> bed_files;     // --regions: the same from BED files
    std::int64_t window = 1000;
    std::vector<VariantScore> scores;       // non-empty
    RcMode rc = RcMode::none;
    bool strict = false;                    // a record that would be skipped is an error
    std::string model_name;                 // named in the output header
    std::size_t batch_tokens = 65536;
    std::size_t queue_depth = 2;
    bool progress = true;
};

struct VepSummary {
    std::size_t records = 0;          // VCF records read (and written)
    std::size_t alleles = 0;          // ALT alleles scored
    std::size_t skipped_symbolic = 0; // ALT alleles skipped: symbolic (<DEL>, breakends) or '*'
    std::size_t skipped_mismatch = 0; // records skipped: REF not the FASTA's bases there
    std::size_t skipped_other = 0;    // records skipped: no ALT, REF past the contig end
    std::size_t passes = 0;           // sequences through the model (a shared llr window once)
    std::size_t bases = 0;            // tokens through the model
    std::size_t batches = 0;
    bool indexed = false;             // an index was written beside the output
    double seconds = 0.0;
};

// `dnamba vep`: scores every ALT allele of every record of options.vcf and writes `output`:
// by its name a VCF (.vcf), bgzipped VCF (.vcf.gz, + .tbi index) or BCF (.bcf, + .csi index)
// with the input records unchanged but for INFO fields DNAMBA_<SCORE> (Number=A, Float; '.'
// where a score does not apply) and header lines naming the model, window and rc mode; or a
// .tsv of "chrom pos ref alt <score>..." (1-based pos; NA where a score does not apply), one
// row per ALT allele, in input order (.tsv.gz: bgzipped; "-": the TSV on standard output).
// Skipped alleles/records keep '.'/NA and are counted. Written under a temporary name and
// renamed when complete. Throws Error(usage) for an unknown extension, a score the model
// cannot give (masked-llr on a causal model, delta-ll on a masked LM), regions on a VCF that
// cannot be queried (plain text, unindexed); Error(model) for an LM score on a model without
// an LM head; Error(input) for an unreadable or malformed VCF (htslib's message and the line),
// a contig missing from the FASTA, and with strict a record that would be skipped; Error(io)
// when the output cannot be written.
// Batches go to whichever of `engines` is free (--device cuda:all: one per GPU), records are
// written in input order whatever the engine count.
[[nodiscard]] VepSummary vep_score_file(const Engines& engines, const Model& model, const VepOptions& options,
                                        const std::string& output);

// ---- per-base tracks (`dnamba score`) ---------------------------------------------------

enum class TrackKind { logp, entropy };

// "logp" | "entropy". Throws Error(usage) otherwise.
[[nodiscard]] TrackKind parse_track_kind(const std::string& text);

struct ScoreOptions {
    TrackKind track = TrackKind::logp;
    bool masked = false;   // mask each position in turn (one pass per position: L times the cost)
    RcMode rc = RcMode::none;
    std::size_t batch_tokens = 65536;
    std::size_t queue_depth = 2;
    bool progress = true;
};

struct ScoreSummary {
    std::size_t rows = 0;
    std::size_t bases = 0;
    std::size_t passes = 0;
    double seconds = 0.0;
};

// Per-base probabilities of A, C, G, T ([L x 4], rows summing to 1) of one sequence: from the
// LM head at each position (masked LMs; `masked`: position t replaced by [MASK], one pass per
// position) or from the prediction of position t from its prefix (causal models; position 0
// has none: uniform 0.25). RcMode::average: the mean of both strands' log-probabilities,
// renormalised. Throws Error(model) without an LM head, Error(usage) for `masked` on a causal
// model.
[[nodiscard]] Matrix base_probabilities(Engine& engine, const Model& model, const std::string& seq, bool masked,
                                        RcMode rc);

// `dnamba score`: the track of every row of `input` (records, regions or windows) to `output`:
// .bw/.bigwig/.bedgraph/.bg (one value per base; overlapping windows averaged; chromosome sizes
// from the FASTA index of input.path), .npz (per row "<name>" L x 5 float32: p(A) p(C) p(G)
// p(T) and the track) or .tsv (name chrom pos base value, 1-based pos; .tsv.gz bgzipped, "-"
// standard output; .bedgraph.gz is bgzipped too). logp: log p(reference base) (NaN where it
// is not A/C/G/T); entropy: -sum_b p(b) log p(b) in nats. Throws as
// vep_score_file for the model, Error(usage) for an unknown extension, Error(input) for an input
// without rows.
[[nodiscard]] ScoreSummary score_track(const Engines& engines, const Model& model, const InputOptions& input,
                                       const std::string& output, const ScoreOptions& options);

}  // namespace dnamba
