// `dnamba vep`: VCF records -> windows of the reference -> LM and embedding scores -> the
// records with INFO fields (or a TSV), through the one pipeline (pipeline/run_batched.hpp):
//
//   step 0, reader thread:  VCF record -> checks (contig, REF, symbolic ALTs) -> a VariantItem
//                           holding the ref window and one alt window per ALT; packed into
//                           batches by the tokens of the passes they need
//   step 1, compute thread: every pass of the batch in two packed calls (per-position hidden
//                           states where logits are read, device-pooled means elsewhere), then
//                           the scores of each ALT
//   step 2, calling thread: the record with its INFO fields (htslib) or TSV rows, input order
//
// Passes per record and strand: the unmasked ref window (llr, emb-*, delta-ll), the ref window
// with [MASK] at the variant (masked-llr; shared by all SNV ALTs of the record), one alt window
// per ALT (emb-*, delta-ll). Every ALT of a record shares the record's ref passes, and so do
// records of the same site in one batch (one ALT per line); llr costs no pass of its own when an
// embedding score is asked for too (it reads the centred ref window that they need anyway).
// Without embedding scores llr reads shared windows instead (llr_tile below): the contig tiled
// into windows of W bases every floor(W/2), each variant scored in the tile where it has the
// most context, every tile with variants run once, so a dense VCF costs what embedding the
// genome costs (about 2 * span / W passes) instead of one window per variant.
#include "dnamba/vep.hpp"

#include <htslib/vcf.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dnamba/error.hpp"
#include "dnamba/log.hpp"
#include "dnamba/tokenizer.hpp"
#include "io/atomic_output.hpp"
#include "io/vcf.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/run_batched.hpp"
#include "vep/lm_scores.hpp"

namespace dnamba {

namespace {

constexpr VariantScore k_all_scores[] = {VariantScore::masked_llr, VariantScore::llr, VariantScore::emb_l2,
                                         VariantScore::emb_cos, VariantScore::delta_ll};

bool lm_score(VariantScore s) { return s == VariantScore::masked_llr || s == VariantScore::llr || s == VariantScore::delta_ll; }

}  // namespace

const char* variant_score_name(VariantScore score) noexcept {
    switch (score) {
    case VariantScore::masked_llr: return "masked-llr";
    case VariantScore::llr: return "llr";
    case VariantScore::emb_l2: return "emb-l2";
    case VariantScore::emb_cos: return "emb-cos";
    case VariantScore::delta_ll: return "delta-ll";
    }
    return "?";
}

const char* variant_score_info(VariantScore score) noexcept {
    switch (score) {
    case VariantScore::masked_llr: return "DNAMBA_MASKED_LLR";
    case VariantScore::llr: return "DNAMBA_LLR";
    case VariantScore::emb_l2: return "DNAMBA_EMB_L2";
    case VariantScore::emb_cos: return "DNAMBA_EMB_COS";
    case VariantScore::delta_ll: return "DNAMBA_DELTA_LL";
    }
    return "?";
}

bool is_causal_lm(const ModelConfig& config) noexcept { return config.layout != Layout::caduceus; }

std::vector<VariantScore> parse_variant_scores(const std::string& text, const ModelConfig& config) {
    const bool causal = is_causal_lm(config);
    if (text == "auto") {
        if (causal) return {VariantScore::llr, VariantScore::delta_ll};
        return {VariantScore::masked_llr};
    }
    std::vector<VariantScore> out;
    std::size_t p = 0;
    while (p <= text.size()) {
        const std::size_t q = std::min(text.find(',', p), text.size());
        const std::string word = text.substr(p, q - p);
        bool found = false;
        for (const VariantScore s : k_all_scores) {
            if (word != variant_score_name(s)) continue;
            found = true;
            for (const VariantScore t : out)
                if (t == s) fail(ErrorKind::usage, "--scores " + text + ": " + word + " given twice");
            out.push_back(s);
        }
        if (!found)
            fail(ErrorKind::usage, "--scores " + text + ": unknown score '" + word +
                                       "'; expected a comma-separated list of masked-llr, llr, emb-l2, emb-cos, delta-ll");
        p = q + 1;
    }
    for (const VariantScore s : out) {
        if (s == VariantScore::masked_llr && causal)
            fail(ErrorKind::usage, std::string("--scores masked-llr needs a masked-LM model (Caduceus); this model (") +
                                       layout_name(config.layout) +
                                       " layout) is a causal LM: use llr (prediction from the prefix) or delta-ll");
        if (s == VariantScore::delta_ll && !causal)
            fail(ErrorKind::usage, "--scores delta-ll needs a causal LM (mamba_ssm or HF Mamba layout); for this "
                                   "masked-LM model (caduceus layout) use masked-llr or llr");
    }
    return out;
}

namespace {

struct Allele {
    std::string alt;
    bool scored = false;   // not symbolic / '*'
    bool snv = false;      // REF and ALT one base each, A/C/G/T
    std::string window;    // the alt window
};

// One VCF record and its windows (step 0's item).
struct VariantItem {
    BcfRecordPtr record;
    std::string chrom;
    std::int64_t pos = 0;  // 0-based
    std::string ref;
    std::vector<Allele> alleles;
    std::string window;    // the ref window, centred on the variant
    std::size_t offset = 0;  // of the variant in the window
    // the shared window llr reads (Needs::shared_llr, SNV records only): its start on the
    // contig, bases, and the variant's offset in it
    std::int64_t tile_start = -1;
    std::string tile;
    std::size_t tile_offset = 0;
    bool skipped = false;  // the whole record (REF mismatch, no ALT, REF past the end)
    bool any_snv = false;
    std::size_t cost = 0;  // tokens of its passes
};

struct VariantBatch {
    std::vector<VariantItem> items;
    std::vector<std::vector<float>> values;  // per item: alleles x scores (allele-major), NaN = none
    std::size_t passes = 0, tokens = 0;
};

// The passes the scores need. ref: the centred ref window; shared_llr: llr from the shared
// windows, chosen whenever no other score needs the centred ref window (the embedding scores
// and delta-ll do; then llr reads it at no extra cost, and shared windows would cost more).
struct Needs {
    bool ref = false, masked = false, alt = false, alt_full = false, shared_llr = false;
    explicit Needs(const std::vector<VariantScore>& scores) {
        bool llr = false;
        for (const VariantScore s : scores) {
            if (s == VariantScore::masked_llr) masked = true;
            if (s == VariantScore::llr) llr = true;
            if (s == VariantScore::emb_l2 || s == VariantScore::emb_cos) ref = alt = true;
            if (s == VariantScore::delta_ll) ref = alt = alt_full = true;
        }
        shared_llr = llr && !ref;
    }
};

// The shared window of a variant at `pos` on a contig of `length` bases: tiles [k*S, k*S + W)
// with S = max(1, floor(W/2)), clipped at the contig end, the last one reaching it (K tiles:
// 1 when length <= W, else ceil((length - W) / S) + 1). A masked LM scores the variant in the
// tile where it lies in the middle half, k = floor((pos - floor(S/2)) / S), at least floor(S/2)
// (about W/4) bases of context on each side; a causal LM, which reads only the prefix, in the
// tile where it lies in the last half, k = floor((pos - (W - S)) / S), at least W - S >= floor(W/2)
// bases before it (as many as the centred window gives). k is clamped to [0, K - 1], so only
// variants within that context of a contig end have less. Returns {start, end}.
std::pair<std::int64_t, std::int64_t> llr_tile(std::int64_t pos, std::int64_t length, std::int64_t window, bool causal) {
    const std::int64_t stride = std::max<std::int64_t>(1, window / 2);
    const std::int64_t tiles = length <= window ? 1 : (length - window + stride - 1) / stride + 1;
    const std::int64_t lead = causal ? window - stride : stride / 2;
    const std::int64_t k = pos < lead ? 0 : std::min(tiles - 1, (pos - lead) / stride);
    return {k * stride, std::min(length, k * stride + window)};
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

bool symbolic(const std::string& alt) {
    return alt.empty() || alt == "*" || alt == "." || alt[0] == '<' || alt.find_first_of("[]<>") != std::string::npos;
}

bool is_acgt(const std::string& s) { return s.size() == 1 && vep::base_index(s[0]) >= 0; }

// Step 0's source: VCF records into VariantItems, with the skip counters.
class VariantSource {
public:
    VariantSource(VcfReader& reader, const IndexedFasta& fasta, const VepOptions& options, std::size_t strands,
                  bool causal)
        : reader_(reader), fasta_(fasta), options_(options), needs_(options.scores), strands_(strands), causal_(causal) {}

    bool next(VariantItem& item) {
        item.record = reader_.next();
        if (!item.record) return false;
        bcf1_t* r = item.record.get();
        item.chrom = bcf_hdr_id2name(reader_.header(), r->rid);
        item.pos = r->pos;
        item.ref = r->d.allele[0];
        const std::string where = reader_.path() + ": record " + std::to_string(reader_.records_read()) + " (" +
                                  item.chrom + ":" + std::to_string(item.pos + 1) + ")";
        if (!fasta_.has(item.chrom))
            fail(ErrorKind::input, where + ": contig " + item.chrom + " is not in the FASTA " + options_.fasta +
                                       " (is it the genome the VCF was called on?)");
        for (int a = 1; a < r->n_allele; ++a) {
            Allele al;
            al.alt = r->d.allele[a];
            al.scored = !symbolic(al.alt);
            if (!al.scored) {
                if (options_.strict)
                    fail(ErrorKind::input, where + ": ALT " + al.alt + " is symbolic or '*' (not scored; without --strict it is skipped)");
                skipped_symbolic++;
            }
            al.snv = al.scored && is_acgt(item.ref) && is_acgt(al.alt);
            item.any_snv = item.any_snv || al.snv;
            item.alleles.push_back(std::move(al));
        }
        const std::int64_t length = fasta_.length(item.chrom);
        const auto rlen = static_cast<std::int64_t>(item.ref.size());
        if (item.alleles.empty() || item.pos + rlen > length) {
            if (options_.strict)
                fail(ErrorKind::input, where + (item.alleles.empty() ? ": no ALT allele" : ": REF reaches past the contig end"));
            item.skipped = true;
            skipped_other++;
            return true;
        }
        const std::string genome_ref = fasta_.fetch(item.chrom, item.pos, item.pos + rlen);
        if (upper(genome_ref) != upper(item.ref)) {
            if (options_.strict)
                fail(ErrorKind::input, where + ": REF " + item.ref + " does not match the FASTA (" + genome_ref + ")");
            item.skipped = true;
            skipped_mismatch++;
            return true;
        }
        // the window: floor(W/2) bases before the variant, W in all, clipped; REF always inside
        std::size_t cost = 0;
        if (needs_.ref || needs_.masked || needs_.alt) {
            const std::int64_t start = std::max<std::int64_t>(0, item.pos - options_.window / 2);
            std::int64_t end = std::min(length, item.pos - options_.window / 2 + options_.window);
            end = std::max(end, item.pos + rlen);
            item.window = fasta_.fetch(item.chrom, start, end);
            item.offset = static_cast<std::size_t>(item.pos - start);
        }
        if (needs_.shared_llr && item.any_snv) {
            const auto [start, end] = llr_tile(item.pos, length, options_.window, causal_);
            if (item.chrom != tile_chrom_ || start != tile_start_) {
                // a tile the previous records did not use: its pass counts here, once; the records
                // after it in the same tile cost nothing (run_batched_items keeps them in this
                // batch: an item of cost 0 never starts a batch)
                tile_chrom_ = item.chrom;
                tile_start_ = start;
                tile_ = fasta_.fetch(item.chrom, start, end);
                cost += tile_.size();
            }
            item.tile_start = start;
            item.tile = tile_;
            item.tile_offset = static_cast<std::size_t>(item.pos - start);
        }
        if (needs_.ref) cost += item.window.size();
        if (needs_.masked && item.any_snv) cost += item.window.size();
        for (Allele& al : item.alleles) {
            if (!al.scored) continue;
            if (needs_.alt) {
                al.window = item.window.substr(0, item.offset) + al.alt + item.window.substr(item.offset + item.ref.size());
                cost += al.window.size();
            }
        }
        item.cost = cost * strands_;
        return true;
    }

    std::size_t skipped_symbolic = 0, skipped_mismatch = 0, skipped_other = 0;

private:
    VcfReader& reader_;
    const IndexedFasta& fasta_;
    const VepOptions& options_;
    Needs needs_;
    std::size_t strands_;
    bool causal_;
    std::string tile_chrom_, tile_;  // the shared window of the last SNV record
    std::int64_t tile_start_ = -1;
};

// Packs sequences for one forward call and hands back each one's rows.
struct PassSet {
    std::vector<std::int32_t> ids;
    std::vector<std::size_t> lengths, offsets;
    std::size_t add(const std::vector<std::int32_t>& t) {
        offsets.push_back(ids.size());
        lengths.push_back(t.size());
        ids.insert(ids.end(), t.begin(), t.end());
        return lengths.size() - 1;
    }
};

double l2_distance(const Eigen::RowVectorXf& a, const Eigen::RowVectorXf& b) {
    return (a.cast<double>() - b.cast<double>()).norm();
}

double cos_distance(const Eigen::RowVectorXf& a, const Eigen::RowVectorXf& b) {
    const double na = a.cast<double>().norm(), nb = b.cast<double>().norm();
    if (na == 0 || nb == 0) return std::nan("");
    return 1.0 - a.cast<double>().dot(b.cast<double>()) / (na * nb);
}

// sum_t log p(x_t | x_<t) for t = 1..L-1 where x_t is A/C/G/T, from the logits of the window.
double causal_log_likelihood(const Matrix& logits, const std::vector<std::int32_t>& ids) {
    double ll = 0;
    for (std::size_t t = 1; t < ids.size(); ++t) {
        const int b = ids[t] - token::a;
        if (b < 0 || b > 3) continue;
        ll += vep::base_log_probs(logits.row(static_cast<Eigen::Index>(t - 1)).data())[static_cast<std::size_t>(b)];
    }
    return ll;
}

// Mean of the defined (non-NaN) values, NaN when none.
struct Mean {
    double sum = 0;
    int n = 0;
    void add(double v) {
        if (std::isnan(v)) return;
        sum += v;
        n++;
    }
    [[nodiscard]] float value() const { return n ? static_cast<float>(sum / n) : std::nanf(""); }
};

class VariantScorer {
public:
    VariantScorer(const Model& model, const VepOptions& options)
        : model_(model), options_(options), needs_(options.scores),
          causal_(is_causal_lm(model.config)) {
        strands_ = (options.rc == RcMode::average && !model.config.rcps) ? 2 : 1;
    }
    [[nodiscard]] std::size_t strands() const { return strands_; }

    // Scores one batch on `engine` (one thread per engine: nothing here is shared but const state).
    VariantBatch compute(Engine& engine, std::vector<VariantItem>& items) const {
        VariantBatch out;
        const std::size_t ns = options_.scores.size();
        std::vector<std::vector<Mean>> acc(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) acc[i].resize(items[i].alleles.size() * ns);
        for (std::size_t s = 0; s < strands_; ++s) score_strand(engine, items, s == 1, acc, out);
        out.values.resize(items.size());
        for (std::size_t i = 0; i < items.size(); ++i)
            for (const Mean& m : acc[i]) out.values[i].push_back(m.value());
        out.items = std::move(items);
        return out;
    }

private:
    struct ItemPasses {
        std::size_t ref = SIZE_MAX, masked = SIZE_MAX;
        std::size_t llr = SIZE_MAX;      // the pass llr reads: the shared window's, or ref
        std::vector<std::size_t> alt;  // per allele: index in the full or pooled set
        std::vector<std::int32_t> ref_ids;
        std::vector<std::vector<std::int32_t>> alt_ids;
        std::size_t offset = 0;  // of the variant on this strand
        std::size_t llr_offset = 0;  // of the variant in the llr pass, on this strand
    };

    std::vector<std::int32_t> ids_of(const std::string& seq, bool rc) const {
        return tokenize(rc ? reverse_complement(seq) : seq, false);
    }

    // The embedding distance of one allele, mean-pooled rows `ref` and `alt`. RCPS with --rc
    // average: the mean over its two strand halves.
    double emb_distance(VariantScore s, const Eigen::RowVectorXf& ref, const Eigen::RowVectorXf& alt) const {
        auto dist = [&](const Eigen::RowVectorXf& a, const Eigen::RowVectorXf& b) {
            return s == VariantScore::emb_l2 ? l2_distance(a, b) : cos_distance(a, b);
        };
        if (model_.config.rcps && options_.rc == RcMode::average) {
            const int d = model_.config.d_model;
            return 0.5 * (dist(alt.head(d), ref.head(d)) + dist(alt.tail(d), ref.tail(d)));
        }
        return dist(alt, ref);
    }

    void score_strand(Engine& engine, std::vector<VariantItem>& items, bool rc, std::vector<std::vector<Mean>>& acc,
                      VariantBatch& out) const {
        PassSet full, pooled;
        std::vector<ItemPasses> passes(items.size());
        std::map<std::string, std::pair<std::size_t, std::size_t>> shared;  // site -> ref, masked pass
        std::map<std::string, std::size_t> tiles;  // shared window -> its pass
        for (std::size_t i = 0; i < items.size(); ++i) {
            const VariantItem& it = items[i];
            ItemPasses& p = passes[i];
            if (it.skipped) continue;
            if (it.tile_start >= 0) {  // llr from the shared window: every record in it, one pass
                const std::string key = it.chrom + '\t' + std::to_string(it.tile_start) + '\t' + std::to_string(it.tile.size());
                auto [where, added] = tiles.try_emplace(key, SIZE_MAX);
                if (added) where->second = full.add(ids_of(it.tile, rc));
                p.llr = where->second;
                p.llr_offset = rc ? it.tile.size() - it.tile_offset - 1 : it.tile_offset;  // SNVs: one base
            }
            if (it.window.empty()) continue;  // llr from the shared window alone
            const std::size_t L = it.window.size();
            p.offset = rc ? L - it.offset - it.ref.size() : it.offset;
            if (needs_.ref || needs_.masked) p.ref_ids = ids_of(it.window, rc);
            // records of one site (a VCF split into one ALT per line) have the same windows:
            // their ref and masked passes are run once
            const std::string site = it.chrom + '\t' + std::to_string(it.pos) + '\t' + std::to_string(it.offset) +
                                     '\t' + std::to_string(L);
            auto& [ref_pass, masked_pass] = shared.try_emplace(site, SIZE_MAX, SIZE_MAX).first->second;
            if (needs_.ref) {
                if (ref_pass == SIZE_MAX) ref_pass = full.add(p.ref_ids);
                p.ref = ref_pass;
                p.llr = ref_pass;
                p.llr_offset = p.offset;
            }
            if (needs_.masked && it.any_snv) {
                if (masked_pass == SIZE_MAX) {
                    std::vector<std::int32_t> m = p.ref_ids;
                    m[p.offset] = token::mask;
                    masked_pass = full.add(m);
                }
                p.masked = masked_pass;
            }
            p.alt.assign(it.alleles.size(), SIZE_MAX);
            p.alt_ids.resize(it.alleles.size());
            for (std::size_t a = 0; a < it.alleles.size(); ++a) {
                if (!needs_.alt || !it.alleles[a].scored) continue;
                p.alt_ids[a] = ids_of(it.alleles[a].window, rc);
                p.alt[a] = needs_.alt_full ? full.add(p.alt_ids[a]) : pooled.add(p.alt_ids[a]);
            }
        }
        Matrix h, hp;
        if (!full.lengths.empty()) h = engine.forward_packed(full.ids, full.lengths);
        if (!pooled.lengths.empty()) hp = engine.forward_pooled_mean(pooled.ids, pooled.lengths);
        out.passes += full.lengths.size() + pooled.lengths.size();
        out.tokens += full.ids.size() + pooled.ids.size();
        auto rows = [&](std::size_t k) {
            return h.middleRows(static_cast<Eigen::Index>(full.offsets[k]), static_cast<Eigen::Index>(full.lengths[k]));
        };
        auto logits_at = [&](std::size_t k, std::size_t row) {
            const Matrix one = rows(k).row(static_cast<Eigen::Index>(row));
            const Matrix lg = lm_logits(model_, one);
            return vep::base_log_probs(lg.row(0).data());
        };
        const std::size_t ns = options_.scores.size();
        for (std::size_t i = 0; i < items.size(); ++i) {
            const VariantItem& it = items[i];
            const ItemPasses& p = passes[i];
            if (it.skipped) continue;
            Eigen::RowVectorXf ref_mean;
            if (p.ref != SIZE_MAX) ref_mean = rows(p.ref).colwise().mean();
            Matrix ref_logits;
            double ref_ll = 0;
            if (needs_.alt_full) {
                ref_logits = lm_logits(model_, rows(p.ref));
                ref_ll = causal_log_likelihood(ref_logits, p.ref_ids);
            }
            std::array<double, 4> masked_lp{}, ref_lp{};
            bool have_ref_lp = false;
            if (p.masked != SIZE_MAX) masked_lp = logits_at(p.masked, p.offset);
            for (std::size_t a = 0; a < it.alleles.size(); ++a) {
                const Allele& al = it.alleles[a];
                if (!al.scored) continue;
                int rb = al.snv ? vep::base_index(it.ref[0]) : -1, ab = al.snv ? vep::base_index(al.alt[0]) : -1;
                if (rc && al.snv) {
                    rb = 3 - rb;  // the complement: A<->T, C<->G
                    ab = 3 - ab;
                }
                for (std::size_t k = 0; k < ns; ++k) {
                    double v = std::nan("");
                    switch (options_.scores[k]) {
                    case VariantScore::masked_llr:
                        if (al.snv) v = masked_lp[static_cast<std::size_t>(ab)] - masked_lp[static_cast<std::size_t>(rb)];
                        break;
                    case VariantScore::llr:
                        if (!al.snv || (causal_ && p.llr_offset == 0)) break;  // causal: no prefix to predict from
                        if (!have_ref_lp) {
                            ref_lp = logits_at(p.llr, causal_ ? p.llr_offset - 1 : p.llr_offset);
                            have_ref_lp = true;
                        }
                        v = ref_lp[static_cast<std::size_t>(ab)] - ref_lp[static_cast<std::size_t>(rb)];
                        break;
                    case VariantScore::emb_l2:
                    case VariantScore::emb_cos: {
                        const Eigen::RowVectorXf alt_mean = needs_.alt_full
                                                                ? Eigen::RowVectorXf(rows(p.alt[a]).colwise().mean())
                                                                : Eigen::RowVectorXf(hp.row(static_cast<Eigen::Index>(p.alt[a])));
                        v = emb_distance(options_.scores[k], ref_mean, alt_mean);
                        break;
                    }
                    case VariantScore::delta_ll:
                        v = causal_log_likelihood(lm_logits(model_, rows(p.alt[a])), p.alt_ids[a]) - ref_ll;
                        break;
                    }
                    acc[i][a * ns + k].add(v);
                }
            }
        }
    }

    const Model& model_;
    const VepOptions& options_;
    Needs needs_;
    bool causal_;
    std::size_t strands_ = 1;
};

std::string score_description(VariantScore s) {
    switch (s) {
    case VariantScore::masked_llr:
        return "log p(alt) - log p(ref) at the variant, [MASK]ed in the reference window (SNVs)";
    case VariantScore::llr:
        return "log p(alt) - log p(ref) at the variant from the unmasked reference window (causal LMs: from the prefix; SNVs)";
    case VariantScore::emb_l2:
        return "L2 distance between the mean-pooled final hidden states of the alt and ref windows";
    case VariantScore::emb_cos:
        return "1 - cosine similarity of the mean-pooled final hidden states of the alt and ref windows";
    case VariantScore::delta_ll:
        return "log-likelihood of the alt window minus that of the ref window (causal LM)";
    }
    return "";
}

// The header lines of the scores, the model and the window; FASTA contigs the header lacks
// (a VCF without ##contig lines) are declared so that a BCF output is valid.
void extend_header(bcf_hdr_t* hdr, const IndexedFasta& fasta, const VepOptions& options) {
    for (const auto& name : fasta.names())
        if (bcf_hdr_name2id(hdr, name.c_str()) < 0)
            bcf_hdr_printf(hdr, "##contig=<ID=%s,length=%lld>", name.c_str(), static_cast<long long>(fasta.length(name)));
    const std::string context = "; dnamba vep, model " + options.model_name + ", window " +
                                std::to_string(options.window) + ", rc " + rc_name(options.rc);
    for (const VariantScore s : options.scores) {
        if (bcf_hdr_get_hrec(hdr, BCF_HL_INFO, "ID", variant_score_info(s), nullptr)) continue;  // rescoring
        std::string desc = score_description(s) + context;
        for (char& c : desc)
            if (c == '"') c = '\'';
        bcf_hdr_printf(hdr, "##INFO=<ID=%s,Number=A,Type=Float,Description=\"%s\">", variant_score_info(s), desc.c_str());
    }
    bcf_hdr_printf(hdr, "##dnamba_vep_model=%s", options.model_name.c_str());
    bcf_hdr_printf(hdr, "##dnamba_vep_window=%lld", static_cast<long long>(options.window));
    bcf_hdr_printf(hdr, "##dnamba_vep_rc=%s", rc_name(options.rc));
    if (bcf_hdr_sync(hdr) != 0) fail(ErrorKind::io, "cannot extend the VCF header");
}

// The .tsv output: chrom pos ref alt <score>..., one row per ALT allele; "-" is standard
// output and .tsv.gz bgzipped (AtomicOutputFile's TextOutput, as embed's and classify's tables).
class VariantTsv {
public:
    VariantTsv(const std::string& path, const std::vector<VariantScore>& scores)
        : out_(path, TextOutput::yes), n_(scores.size()) {
        std::string h = "chrom\tpos\tref\talt";
        for (const VariantScore s : scores) h += std::string("\t") + variant_score_name(s);
        h += "\n";
        out_.write(h.data(), h.size());
    }
    void write(const VariantItem& it, const std::vector<float>& values) {
        std::string line;
        const std::size_t n_alleles = std::max<std::size_t>(1, it.alleles.size());
        for (std::size_t a = 0; a < n_alleles; ++a) {
            line = it.chrom + "\t" + std::to_string(it.pos + 1) + "\t" + it.ref + "\t" +
                   (it.alleles.empty() ? std::string(".") : it.alleles[a].alt);
            for (std::size_t k = 0; k < n_; ++k) {
                const float v = a < it.alleles.size() ? values[a * n_ + k] : std::nanf("");
                char buf[32];
                if (std::isnan(v)) std::snprintf(buf, sizeof buf, "\tNA");
                else std::snprintf(buf, sizeof buf, "\t%.7g", static_cast<double>(v));
                line += buf;
            }
            line += "\n";
            out_.write(line.data(), line.size());
        }
    }
    void commit() { out_.commit(); }

private:
    AtomicOutputFile out_;
    std::size_t n_;
};

}  // namespace

VepSummary vep_score_file(const Engines& engines, const Model& model, const VepOptions& options, const std::string& output) {
    const auto start_time = std::chrono::steady_clock::now();
    const VariantOutputFormat format = variant_output_format(output);
    if (options.scores.empty()) fail(ErrorKind::usage, "--scores: no score asked for");
    if (options.window < 1) fail(ErrorKind::usage, "--window must be at least 1 base, got " + std::to_string(options.window));
    for (const VariantScore s : options.scores)
        if (lm_score(s)) vep::require_lm_head(model, std::string("the LM score ") + variant_score_name(s));

    std::vector<Region> regions;
    for (const auto& t : options.region_texts) regions.push_back(parse_region(t));
    for (const auto& f : options.bed_files) {
        BedReader bed(f);
        Region r;
        while (bed.next(r)) regions.push_back(r);
    }
    if (!regions.empty() && options.vcf == "-")
        fail(ErrorKind::usage, "--region/--regions need an indexed VCF file, not standard input");
    const IndexedFasta fasta(options.fasta);
    VcfReader reader(options.vcf, regions);
    if ((!options.region_texts.empty() || !options.bed_files.empty()) && regions.empty())
        log_warning("--regions: no region given in the BED file(s); nothing is read");
    bcf_hdr_t* hdr = reader.header();
    extend_header(hdr, fasta, options);

    std::unique_ptr<VcfWriter> vcf_out;
    std::unique_ptr<VariantTsv> tsv_out;
    if (format == VariantOutputFormat::tsv) tsv_out = std::make_unique<VariantTsv>(output, options.scores);
    else vcf_out = std::make_unique<VcfWriter>(output, format, hdr);

    const VariantScorer scorer(model, options);
    VariantSource source(reader, fasta, options, scorer.strands(), is_causal_lm(model.config));
    VepSummary summary;
    pipeline::Progress progress(options.progress, std::nullopt);
    const std::size_t ns = options.scores.size();
    std::vector<float> info;
    pipeline::run_batched_items<VariantItem>(
        [&](VariantItem& item) { return source.next(item); }, [](const VariantItem& item) { return item.cost; },
        pipeline::BatchBudget{options.batch_tokens, 0, options.queue_depth}, engines,
        [&](Engine& engine, std::vector<VariantItem>& items) { return scorer.compute(engine, items); },
        [&](VariantBatch& b) {
            for (std::size_t i = 0; i < b.items.size(); ++i) {
                VariantItem& it = b.items[i];
                const std::vector<float>& v = b.values[i];
                for (const Allele& al : it.alleles) summary.alleles += (!it.skipped && al.scored) ? 1 : 0;
                if (tsv_out) {
                    tsv_out->write(it, v);
                    continue;
                }
                std::lock_guard<std::mutex> lock(reader.header_mutex());
                if (!it.skipped) {
                    for (std::size_t k = 0; k < ns; ++k) {
                        bool any = false;
                        info.assign(it.alleles.size(), 0.0f);
                        for (std::size_t a = 0; a < it.alleles.size(); ++a) {
                            const float x = v[a * ns + k];
                            if (std::isnan(x)) bcf_float_set_missing(info[a]);
                            else {
                                info[a] = x;
                                any = true;
                            }
                        }
                        if (any &&
                            bcf_update_info_float(hdr, it.record.get(), variant_score_info(options.scores[k]), info.data(),
                                                  static_cast<int>(info.size())) != 0)
                            fail(ErrorKind::io, output + ": cannot add " + variant_score_info(options.scores[k]));
                    }
                }
                vcf_out->write(it.record.get());
            }
            summary.records += b.items.size();
            summary.passes += b.passes;
            summary.bases += b.tokens;
            summary.batches++;
            progress.update(summary.records, summary.bases);
        });
    if (tsv_out) tsv_out->commit();
    else summary.indexed = vcf_out->commit();
    summary.skipped_symbolic = source.skipped_symbolic;
    summary.skipped_mismatch = source.skipped_mismatch;
    summary.skipped_other = source.skipped_other;
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
    return summary;
}

}  // namespace dnamba
