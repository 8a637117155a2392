// End-to-end tests of `dnamba vep` and `dnamba score` (issue #14): every score against the
// PyTorch reference (testdata/vep/expected, made by testdata/reference/make_vep_golden.py from
// testdata/vep/genome.fa + variants.vcf on the golden checkpoints: a masked LM, an RCPS masked
// LM, a causal LM; rc none and average; a window larger than the contigs), packed batches
// against one record per batch, VCF/BCF output read back through htslib, region queries, and
// each bad input: a clear message, the category's exit code, nothing under the output name.
#include <htslib/vcf.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "model/safetensors.hpp"
#include "test_util.hpp"

using namespace dnamba;
using test::q;
namespace fs = std::filesystem;

namespace {

const std::string k_genome = test::testdata("vep/genome.fa");
const std::string k_vcf = test::testdata("vep/variants.vcf");

std::string model(const std::string& name) { return test::testdata("golden/" + name); }

std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(test::read_file(path));
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> cols;
        std::istringstream l(line);
        std::string c;
        while (std::getline(l, c, '\t')) cols.push_back(c);
        rows.push_back(cols);
    }
    return rows;
}


// Every value of `got` equals `want` (same rows, NA in the same places) within the engines'
// tolerance: 1e-4 relative for the log-likelihoods (O(10)) and L2 distances, 1e-3 relative +
// 1e-6 absolute for 1 - cos (O(1e-3), a difference of nearly equal numbers).
void check_against_reference(const std::string& got_path, const std::string& want_path) {
    const auto got = read_tsv(got_path), want = read_tsv(want_path);
    REQUIRE(got.size() == want.size());
    REQUIRE(got[0] == want[0]);
    std::size_t compared = 0;
    for (std::size_t r = 1; r < want.size(); ++r) {
        REQUIRE(got[r].size() == want[r].size());
        for (std::size_t c = 0; c < 4; ++c) CHECK(got[r][c] == want[r][c]);
        for (std::size_t c = 4; c < want[r].size(); ++c) {
            INFO(want_path << " row " << r << " column " << want[0][c]);
            if (want[r][c] == "NA") {
                CHECK(got[r][c] == "NA");
                continue;
            }
            REQUIRE(got[r][c] != "NA");
            const double g = std::stod(got[r][c]), w = std::stod(want[r][c]);
            const double tol = want[0][c] == "emb-cos" ? 1e-6 + 1e-3 * std::abs(w) : 1e-4 * std::max(1.0, std::abs(w));
            CHECK(std::abs(g - w) <= tol);
            compared++;
        }
    }
    CHECK(compared > 20);
}

// An htslib reader open on a VCF, VCF.gz or BCF, its header read; closed when destroyed.
struct OpenVcf {
    htsFile* fp = nullptr;
    bcf_hdr_t* hdr = nullptr;
    explicit OpenVcf(const std::string& path) : fp(hts_open(path.c_str(), "r")) {
        REQUIRE(fp);
        hdr = bcf_hdr_read(fp);
        REQUIRE(hdr);
    }
    ~OpenVcf() {
        if (hdr) bcf_hdr_destroy(hdr);
        if (fp) hts_close(fp);
    }
    OpenVcf(const OpenVcf&) = delete;
    OpenVcf& operator=(const OpenVcf&) = delete;
    // The header as VCF text (htslib's formatting), then with `records` every record too.
    std::string text(bool records) {
        kstring_t ks = {0, 0, nullptr};
        REQUIRE(bcf_hdr_format(hdr, 0, &ks) == 0);
        if (records) {
            bcf1_t* rec = bcf_init();
            while (bcf_read(fp, hdr, rec) == 0) REQUIRE(vcf_format(hdr, rec, &ks) == 0);
            bcf_destroy(rec);
        }
        std::string out(ks.s, ks.l);
        free(ks.s);
        return out;
    }
};

std::string scores_of(const std::string& case_name) {
    return case_name == "h_mamba_ssm_rms" ? "llr,delta-ll,emb-l2,emb-cos" : "masked-llr,llr,emb-l2,emb-cos";
}

test::RunResult vep(const std::string& args) { return test::run_dnamba("vep -q " + args); }

}  // namespace

TEST_CASE("vep: every score matches the PyTorch reference (masked LM, RCPS, causal, rc none and average)", "[vep]") {
    const std::string dir = test::scratch_dir("vep_reference");
    struct Case {
        const char* model;
        int window;
        const char* rc;
    };
    for (const Case c : {Case{"a_caduceus_ph", 64, "none"}, Case{"a_caduceus_ph", 64, "average"},
                         Case{"a_caduceus_ph", 1000, "none"}, Case{"c_caduceus_ps_fused", 64, "none"},
                         Case{"c_caduceus_ps_fused", 64, "average"}, Case{"h_mamba_ssm_rms", 64, "none"},
                         Case{"h_mamba_ssm_rms", 64, "average"}}) {
        const std::string name = std::string("vep_") + c.model + "_w" + std::to_string(c.window) + "_rc" + c.rc + ".tsv";
        SECTION(name) {
            const std::string out = dir + "/" + name;
            const auto r = vep("-m " + q(model(c.model)) + " -i " + q(k_genome) + " --vcf " + q(k_vcf) + " --window " +
                               std::to_string(c.window) + " --rc " + c.rc + " --scores " + scores_of(c.model) + " -o " + q(out));
            INFO(r.err);
            REQUIRE(r.exit_code == 0);
            // the fixture has variants at the first and the last base of both contigs
            check_against_reference(out, test::testdata("vep/expected/" + name));
        }
    }
}

TEST_CASE("vep: packed batches give what one record per batch gives, and stdin works", "[vep]") {
    const std::string dir = test::scratch_dir("vep_packed");
    for (const char* m : {"a_caduceus_ph", "h_mamba_ssm_rms"}) {
        const std::string base = "-m " + q(model(m)) + " -i " + q(k_genome) + " --window 64 --rc average --scores " + scores_of(m);
        const std::string packed = dir + "/" + m + "_packed.tsv", single = dir + "/" + m + "_single.tsv",
                          piped = dir + "/" + m + "_stdin.tsv";
        // byte for byte on the CPU engine; the GPU engine's last bits follow the GEMM shapes, so
        // there (--device auto where a GPU is visible) packed and single agree within tolerance
        const std::string cpu = " --device cpu";
        REQUIRE(vep(base + cpu + " --vcf " + q(k_vcf) + " -o " + q(packed)).exit_code == 0);
        REQUIRE(vep(base + cpu + " --vcf " + q(k_vcf) + " --batch-tokens 1 -o " + q(single)).exit_code == 0);
        REQUIRE(test::run_dnamba("vep -q " + base + cpu + " --vcf - -o " + q(piped) + " < " + q(k_vcf)).exit_code == 0);
        CHECK(test::read_file(packed) == test::read_file(single));
        CHECK(test::read_file(packed) == test::read_file(piped));
        const std::string auto_packed = dir + "/" + m + "_auto_packed.tsv", auto_single = dir + "/" + m + "_auto_single.tsv";
        REQUIRE(vep(base + " --device auto --vcf " + q(k_vcf) + " -o " + q(auto_packed)).exit_code == 0);
        REQUIRE(vep(base + " --device auto --vcf " + q(k_vcf) + " --batch-tokens 1 -o " + q(auto_single)).exit_code == 0);
        check_against_reference(auto_packed, auto_single);
        check_against_reference(auto_packed, packed);
    }
}

TEST_CASE("vep: VCF.gz and BCF outputs keep the records and carry Number=A INFO fields, indexed", "[vep]") {
    const std::string dir = test::scratch_dir("vep_vcf_out");
    const std::string base = "-m " + q(model("a_caduceus_ph")) + " -i " + q(k_genome) + " --vcf " + q(k_vcf) +
                             " --window 64 --scores masked-llr,emb-l2";
    REQUIRE(vep(base + " -o " + q(dir + "/s.tsv")).exit_code == 0);
    const auto tsv = read_tsv(dir + "/s.tsv");
    for (const std::string ext : {".vcf.gz", ".bcf", ".vcf"}) {
        SECTION(ext) {
            const std::string out = dir + "/s" + ext;
            const auto r = vep(base + " -o " + q(out));
            INFO(r.err);
            REQUIRE(r.exit_code == 0);
            if (ext == ".vcf.gz") CHECK(test::file_exists(out + ".tbi"));
            if (ext == ".bcf") CHECK(test::file_exists(out + ".csi"));
            OpenVcf vcf(out);
            bcf_hdr_t* hdr = vcf.hdr;
            htsFile* fp = vcf.fp;
            const std::string header = vcf.text(false);
            CHECK(header.find("##INFO=<ID=DNAMBA_MASKED_LLR,Number=A,Type=Float") != std::string::npos);
            CHECK(header.find("##INFO=<ID=DNAMBA_EMB_L2,Number=A,Type=Float") != std::string::npos);
            CHECK(header.find("##dnamba_vep_window=64") != std::string::npos);
            CHECK(header.find("##dnamba_vep_model=" + model("a_caduceus_ph")) != std::string::npos);
            bcf1_t* rec = bcf_init();
            std::size_t row = 1, records = 0;
            float* vals = nullptr;
            int nvals = 0;
            while (bcf_read(fp, hdr, rec) == 0) {
                bcf_unpack(rec, BCF_UN_ALL);
                records++;
                int32_t* dp = nullptr;
                int ndp = 0;
                REQUIRE(bcf_get_info_int32(hdr, rec, "DP", &dp, &ndp) == 1);  // the input's INFO kept
                CHECK(dp[0] == static_cast<int>(9 + records));
                free(dp);
                const int n = bcf_get_info_float(hdr, rec, "DNAMBA_MASKED_LLR", &vals, &nvals);
                for (int a = 1; a < rec->n_allele; ++a, ++row) {
                    REQUIRE(row < tsv.size());
                    CHECK(tsv[row][3] == rec->d.allele[a]);
                    if (tsv[row][4] == "NA") {
                        CHECK((n <= 0 || bcf_float_is_missing(vals[a - 1])));
                    } else {
                        REQUIRE(n == rec->n_allele - 1);
                        CHECK(vals[a - 1] == Approx(std::stod(tsv[row][4])).epsilon(1e-5));
                    }
                }
            }
            free(vals);
            CHECK(records == 10);
            CHECK(row == tsv.size());
            bcf_destroy(rec);
        }
    }
}

TEST_CASE("vep: --region and --regions read the records whose POS lies in them, through the index", "[vep]") {
    const std::string dir = test::scratch_dir("vep_region");
    const std::string base = "-m " + q(model("a_caduceus_ph")) + " -i " + q(k_genome) + " --window 64 --scores masked-llr";
    const std::string indexed = dir + "/in.vcf.gz";
    REQUIRE(vep(base + " --vcf " + q(k_vcf) + " -o " + q(indexed)).exit_code == 0);
    REQUIRE(test::file_exists(indexed + ".tbi"));
    REQUIRE(vep(base + " --vcf " + q(indexed) + " --region chr1:50-151 --region chr2:150 -o " + q(dir + "/r.tsv")).exit_code == 0);
    const auto rows = read_tsv(dir + "/r.tsv");
    std::vector<std::string> pos;
    for (std::size_t i = 1; i < rows.size(); ++i) pos.push_back(rows[i][0] + ":" + rows[i][1]);
    CHECK(pos == std::vector<std::string>{"chr1:50", "chr1:50", "chr1:120", "chr1:121", "chr1:150", "chr1:151",
                                          "chr1:151", "chr2:150"});
    // the same scores as the whole-file run
    const auto all = read_tsv(test::testdata("vep/expected/vep_a_caduceus_ph_w64_rcnone.tsv"));
    CHECK(std::abs(std::stod(rows[1][4]) - std::stod(all[2][4])) < 1e-4);
    test::write_file(dir + "/r.bed", "chr2\t70\t80\n");
    REQUIRE(vep(base + " --vcf " + q(indexed) + " --regions " + q(dir + "/r.bed") + " -o " + q(dir + "/b.tsv")).exit_code == 0);
    const auto brows = read_tsv(dir + "/b.tsv");
    REQUIRE(brows.size() == 2);
    CHECK(brows[1][1] == "75");
}

TEST_CASE("vep: an empty VCF gives a valid empty output", "[vep]") {
    const std::string dir = test::scratch_dir("vep_empty");
    test::write_file(dir + "/empty.vcf", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    const std::string base = "-m " + q(model("a_caduceus_ph")) + " -i " + q(k_genome) + " --vcf " + q(dir + "/empty.vcf");
    REQUIRE(vep(base + " -o " + q(dir + "/e.tsv")).exit_code == 0);
    CHECK(test::read_file(dir + "/e.tsv") == "chrom\tpos\tref\talt\tmasked-llr\n");
    REQUIRE(vep(base + " -o " + q(dir + "/e.vcf.gz")).exit_code == 0);
    OpenVcf vcf(dir + "/e.vcf.gz");
    CHECK(bcf_hdr_name2id(vcf.hdr, "chr1") >= 0);  // contigs declared from the FASTA
    bcf1_t* rec = bcf_init();
    CHECK(bcf_read(vcf.fp, vcf.hdr, rec) == -1);
    bcf_destroy(rec);
}

TEST_CASE("vep: skipped records are counted, and an error with --strict", "[vep]") {
    const std::string dir = test::scratch_dir("vep_skips");
    const std::string base = "-m " + q(model("a_caduceus_ph")) + " -i " + q(k_genome) + " --vcf " + q(k_vcf);
    const auto r = test::run_dnamba("vep " + base + " -o " + q(dir + "/s.tsv"));
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("skipped: 2 symbolic/'*' ALT(s), 1 record(s) with REF not matching the FASTA") != std::string::npos);
    const auto strict = vep(base + " --strict -o " + q(dir + "/strict.tsv"));
    CHECK(strict.exit_code == 3);
    CHECK(strict.err.find("record 5 (chr1:150): ALT <DEL> is symbolic") != std::string::npos);
    CHECK_FALSE(test::file_exists(dir + "/strict.tsv"));
    // REF mismatch alone
    test::write_file(dir + "/mismatch.vcf", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                                            "chr1\t200\t.\tC\tA\t.\t.\t.\n");
    const auto mm = vep("-m " + q(model("a_caduceus_ph")) + " -i " + q(k_genome) + " --vcf " + q(dir + "/mismatch.vcf") +
                        " --strict -o " + q(dir + "/mm.vcf"));
    CHECK(mm.exit_code == 3);
    CHECK(mm.err.find("record 1 (chr1:200): REF C does not match the FASTA (") != std::string::npos);
    CHECK_FALSE(test::file_exists(dir + "/mm.vcf"));
}

TEST_CASE("vep: bad inputs give a clear error, the exit code of their kind and no output", "[vep]") {
    const std::string dir = test::scratch_dir("vep_bad");
    const std::string header = "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
    const std::string m = "-m " + q(model("a_caduceus_ph")) + " -i " + q(k_genome);
    auto check_fails = [&](const std::string& args, int code, const std::string& message) {
        const std::string out = dir + "/out.vcf.gz";
        const auto before = test::dir_entries(dir);
        const auto r = vep(args + " -o " + q(out));
        INFO(args << "\n" << r.err);
        CHECK(r.exit_code == code);
        CHECK(r.err.find(message) != std::string::npos);
        CHECK_FALSE(test::file_exists(out));
        CHECK(test::dir_entries(dir) == before);  // no temporary left either
    };
    SECTION("contig missing from the FASTA") {
        test::write_file(dir + "/chr9.vcf", header + "chr9\t10\t.\tA\tC\t.\t.\t.\n");
        check_fails(m + " --vcf " + q(dir + "/chr9.vcf"), 3, "record 1 (chr9:10): contig chr9 is not in the FASTA");
    }
    SECTION("malformed VCF lines") {
        const std::string good = "chr1\t10\t.\tA\tC\t.\t.\t.\n";
        test::write_file(dir + "/bad2.vcf", header + good + "chr1\tten\t.\tA\tC\t.\t.\t.\n");
        check_fails(m + " --vcf " + q(dir + "/bad2.vcf"), 3, "record 2 (line 5): POS is not a number >= 1: chr1 ten . A C");
        test::write_file(dir + "/bad3.vcf", header + good + "chr1\t10\n");
        check_fails(m + " --vcf " + q(dir + "/bad3.vcf"), 3, "record 2 (line 5): no REF allele (fewer than 5 columns?): chr1 10");
    }
    SECTION("not a VCF") { check_fails(m + " --vcf " + q(k_genome), 3, "genome.fa: not a VCF or BCF file (htslib detects FASTA"); }
    SECTION("a BCF whose header claims more bytes than the file holds") {
        // "BCF\2\2", then a header length read from "##fi" (1.7 GB): htslib would allocate it
        test::write_file(dir + "/huge.bcf", std::string("BCF\2\2") + header + "chr1\t5\t.\tA\tC\t.\t.\t.\n");
        check_fails(m + " --vcf " + q(dir + "/huge.bcf"), 3,
                    "huge.bcf: damaged BCF: its header claims 1768301347 bytes of text, more than the");
    }
    SECTION("missing VCF") { check_fails(m + " --vcf " + q(dir + "/none.vcf"), 3, "cannot open"); }
    SECTION("--region on a plain VCF") {
        check_fails(m + " --vcf " + q(k_vcf) + " --region chr1", 2, "need a bgzip-compressed, sorted and indexed VCF");
    }
    SECTION("--region on an unsorted VCF.gz, which cannot have an index") {
        test::write_file(dir + "/unsorted.vcf", header + "chr1\t100\t.\tA\tC\t.\t.\t.\nchr1\t10\t.\tA\tC\t.\t.\t.\n");
        // dnamba writes it bgzipped, in input order, and says it cannot index it
        const auto w = test::run_dnamba("vep " + m + " --vcf " + q(dir + "/unsorted.vcf") + " -o " + q(dir + "/unsorted.vcf.gz"));
        REQUIRE(w.exit_code == 0);
        CHECK(w.err.find("not indexed: its records are not sorted") != std::string::npos);
        REQUIRE_FALSE(test::file_exists(dir + "/unsorted.vcf.gz.tbi"));
        check_fails(m + " --vcf " + q(dir + "/unsorted.vcf.gz") + " --region chr1:1-50", 2, "bcftools sort");
    }
    SECTION("--region on a VCF.gz whose index is missing") {
        REQUIRE(vep(m + " --vcf " + q(k_vcf) + " -o " + q(dir + "/sorted.vcf.gz")).exit_code == 0);
        fs::remove(dir + "/sorted.vcf.gz.tbi");
        check_fails(m + " --vcf " + q(dir + "/sorted.vcf.gz") + " --region chr1", 2, "need an index");
    }
    SECTION("masked-llr from a causal model, delta-ll from a masked LM") {
        check_fails("-m " + q(model("h_mamba_ssm_rms")) + " -i " + q(k_genome) + " --vcf " + q(k_vcf) + " --scores masked-llr",
                    2, "masked-llr needs a masked-LM model");
        check_fails(m + " --vcf " + q(k_vcf) + " --scores delta-ll", 2, "delta-ll needs a causal LM");
        check_fails(m + " --vcf " + q(k_vcf) + " --scores llr,llr", 2, "llr given twice");
    }
    SECTION("unknown output extension") {
        const auto r = vep(m + " --vcf " + q(k_vcf) + " -o " + q(dir + "/x.txt"));
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("expected .vcf, .vcf.gz, .bcf, .tsv or .tsv.gz, or - (the TSV on standard output)") != std::string::npos);
    }
}

TEST_CASE("vep: a model without an LM head gives embedding scores and refuses LM scores", "[vep]") {
    const std::string dir = test::scratch_dir("vep_no_head");
    // the untied mamba_ssm checkpoint without its lm_head.weight: a backbone alone
    const std::string src = model("i_mamba_ssm_ln_untied"), dst = dir + "/backbone";
    fs::create_directories(dst);
    fs::copy_file(src + "/config.json", dst + "/config.json");
    {
        const SafetensorsFile f(src + "/model.safetensors");
        std::vector<std::vector<float>> data;
        std::vector<TensorToWrite> tensors;
        for (const auto& t : f.tensors()) {
            if (t.name == "lm_head.weight") continue;
            data.push_back(f.to_float(t));
        }
        std::size_t k = 0;
        for (const auto& t : f.tensors())
            if (t.name != "lm_head.weight") tensors.push_back({t.name, t.shape, data[k++].data()});
        safetensors_write_f32(dst + "/model.safetensors", tensors);
    }
    const std::string base = "-m " + q(dst) + " -i " + q(k_genome) + " --vcf " + q(k_vcf);
    const auto lm = vep(base + " --scores llr -o " + q(dir + "/llr.tsv"));
    CHECK(lm.exit_code == 4);
    CHECK(lm.err.find("has no LM head") != std::string::npos);
    CHECK_FALSE(test::file_exists(dir + "/llr.tsv"));
    const auto emb = vep(base + " --scores emb-l2 -o " + q(dir + "/emb.tsv"));
    INFO(emb.err);
    CHECK(emb.exit_code == 0);
    CHECK(read_tsv(dir + "/emb.tsv").size() == 13);
    const auto info = test::run_dnamba("info -m " + q(dst));
    CHECK(info.exit_code == 0);
    CHECK(info.out.find("none (embeddings only)") != std::string::npos);
    const auto sc = test::run_dnamba("score -q -m " + q(dst) + " -i " + q(k_genome) + " -o " + q(dir + "/t.tsv"));
    CHECK(sc.exit_code == 4);
    CHECK_FALSE(test::file_exists(dir + "/t.tsv"));
}

TEST_CASE("score: logp and entropy tracks match the PyTorch reference", "[vep][score]") {
    const std::string dir = test::scratch_dir("score_reference");
    struct Case {
        const char* model;
        bool masked;
    };
    for (const Case c : {Case{"a_caduceus_ph", false}, Case{"a_caduceus_ph", true}, Case{"c_caduceus_ps_fused", false},
                         Case{"h_mamba_ssm_rms", false}}) {
        const std::string name = std::string("score_") + c.model + "_chr2" + (c.masked ? "_masked" : "") + ".tsv";
        SECTION(name) {
            const auto want = read_tsv(test::testdata("vep/expected/" + name));
            for (const char* track : {"logp", "entropy"}) {
                const std::string out = dir + "/" + track + "_" + name;
                const auto r = test::run_dnamba("score -q -m " + q(model(c.model)) + " -i " + q(k_genome) +
                                                " --region chr2 --track " + track + (c.masked ? " --masked" : "") + " -o " + q(out));
                INFO(r.err);
                REQUIRE(r.exit_code == 0);
                const auto got = read_tsv(out);
                REQUIRE(got.size() == want.size());
                const std::size_t col = std::string(track) == "logp" ? 1 : 2;
                for (std::size_t i = 1; i < want.size(); ++i) {
                    CHECK(got[i][2] == want[i][0]);  // pos
                    CHECK(std::stod(got[i][4]) == Approx(std::stod(want[i][col])).margin(1e-5).epsilon(1e-4));
                }
            }
        }
    }
}

TEST_CASE("score: overlapping windows averaged into a bedGraph, NPZ with the four probabilities", "[vep][score]") {
    const std::string dir = test::scratch_dir("score_tracks");
    const std::string base = "score -q -m " + q(model("a_caduceus_ph")) + " -i " + q(k_genome) + " --region chr2 ";
    REQUIRE(test::run_dnamba(base + "-o " + q(dir + "/whole.bedgraph")).exit_code == 0);
    const auto whole = read_tsv(dir + "/whole.bedgraph");
    REQUIRE(whole.size() >= 2);
    CHECK(whole[0][0] == "track type=bedGraph name=\"dnamba logp\"");
    CHECK(whole[1][0] == "chr2");
    CHECK(whole[1][1] == "0");
    CHECK(whole.back()[2] == "150");
    // windows [0,100) and [50,150): the track is the mean of both windows' values on [50,100)
    REQUIRE(test::run_dnamba(base + "--window 100 --stride 50 -o " + q(dir + "/win.bedgraph")).exit_code == 0);
    REQUIRE(test::run_dnamba(base + "--window 100 --stride 50 -o " + q(dir + "/win.tsv")).exit_code == 0);
    std::map<long, std::vector<double>> by_pos;
    const auto rows = read_tsv(dir + "/win.tsv");
    REQUIRE(rows.size() == 201);
    for (std::size_t i = 1; i < rows.size(); ++i) by_pos[std::stol(rows[i][2]) - 1].push_back(std::stod(rows[i][4]));
    std::map<long, double> track;
    for (const auto& r : read_tsv(dir + "/win.bedgraph"))
        if (r[0] == "chr2")
            for (long p = std::stol(r[1]); p < std::stol(r[2]); ++p) track[p] = std::stod(r[3]);
    REQUIRE(track.size() == 150);
    for (const auto& [p, v] : by_pos) {
        CHECK(v.size() == (p >= 50 && p < 100 ? 2u : 1u));
        double mean = 0;
        for (double x : v) mean += x / static_cast<double>(v.size());
        CHECK(track[p] == Approx(mean).margin(1e-5).epsilon(1e-5));
    }
    REQUIRE(test::run_dnamba(base + "-o " + q(dir + "/p.npz")).exit_code == 0);
    const auto arrays = test::read_npz_simple(dir + "/p.npz");
    REQUIRE(arrays.size() == 1);
    const Matrix& a = arrays.begin()->second;
    REQUIRE(a.rows() == 150);
    REQUIRE(a.cols() == 5);
    for (Eigen::Index t = 0; t < a.rows(); ++t) CHECK(a.row(t).head(4).sum() == Approx(1.0f).epsilon(1e-5));
    const auto want = read_tsv(test::testdata("vep/expected/score_a_caduceus_ph_chr2.tsv"));
    CHECK(a(10, 4) == Approx(std::stod(want[11][1])).margin(1e-5).epsilon(1e-4));
}

TEST_CASE("vep: records of one site share their passes and give the multi-allelic record's values", "[vep]") {
    const std::string dir = test::scratch_dir("vep_split");
    // chr1:50 G>T,A of the fixture, one ALT per line (as bcftools norm -m- writes it)
    test::write_file(dir + "/split.vcf", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                                         "chr1\t50\t.\tG\tT\t.\t.\t.\nchr1\t50\t.\tG\tA\t.\t.\t.\n");
    const std::string base = "vep -m " + q(model("a_caduceus_ph")) + " -i " + q(k_genome) + " --window 64 ";
    const auto r = test::run_dnamba(base + "--vcf " + q(dir + "/split.vcf") + " --scores masked-llr,llr -o " + q(dir + "/s.tsv"));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("2 ALT allele(s) scored") != std::string::npos);
    CHECK(r.err.find(", 2 passes)") != std::string::npos);  // one masked window and one shared llr window
    // llr from the shared windows (no embedding score): what the multi-allelic record gets
    REQUIRE(test::run_dnamba(base + "-q --vcf " + q(k_vcf) + " --scores llr -o " + q(dir + "/llr.tsv")).exit_code == 0);
    const auto got = read_tsv(dir + "/s.tsv"), llr = read_tsv(dir + "/llr.tsv");
    const auto want = read_tsv(test::testdata("vep/expected/vep_a_caduceus_ph_w64_rcnone.tsv"));
    REQUIRE(got.size() == 3);
    for (std::size_t i = 1; i <= 2; ++i) {
        CHECK(got[i][3] == want[i + 1][3]);
        CHECK(got[i][3] == llr[i + 1][3]);
        CHECK(std::stod(got[i][4]) == Approx(std::stod(want[i + 1][4])).epsilon(1e-4));
        CHECK(std::stod(got[i][5]) == Approx(std::stod(llr[i + 1][4])).epsilon(1e-6));
    }
}

namespace {

// A VCF, VCF.gz or BCF as VCF text (htslib's formatting): header, then the records.
std::string vcf_text(const std::string& path) { return OpenVcf(path).text(true); }

// "N passes)" of vep's summary line.
long passes_of(const std::string& err) {
    const auto at = err.find(" passes)");
    REQUIRE(at != std::string::npos);
    const auto from = err.rfind(' ', at - 1) + 1;
    return std::stol(err.substr(from, at - from));
}

}  // namespace

TEST_CASE("vep: llr alone shares one pass per window: a dense VCF costs about 2 * span / W passes", "[vep]") {
    const std::string dir = test::scratch_dir("vep_shared_llr");
    // an SNV at every base of chr1 (300 bases): ALT the next base of ACGT after REF
    const std::string chr1 = test::read_fasta_simple(k_genome).at("chr1");
    REQUIRE(chr1.size() == 300);
    const std::string header = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=300>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
    std::string body, reversed;
    for (std::size_t p = 0; p < chr1.size(); ++p) {
        const std::string ref(1, chr1[p]);
        const char alt = "CGTA"[std::string("ACGT").find(ref[0])];
        const std::string line = "chr1\t" + std::to_string(p + 1) + "\t.\t" + ref + "\t" + alt + "\t.\t.\t.\n";
        body += line;
        reversed = line + reversed;
    }
    test::write_file(dir + "/dense.vcf", header + body);
    test::write_file(dir + "/reversed.vcf", header + reversed);
    constexpr int W = 64;
    for (const char* m : {"a_caduceus_ph", "h_mamba_ssm_rms"}) {
        SECTION(m) {
            const bool causal = std::string(m) == "h_mamba_ssm_rms";
            // the CPU engine: its results do not depend on how rows are packed, which the bit-for-bit
            // checks below need (the GPU engine's last bits follow the GEMM shapes)
            const std::string base = "vep --device cpu -m " + q(model(m)) + " -i " + q(k_genome) + " --window " +
                                     std::to_string(W) + " ";
            const std::string shared = dir + "/" + m + "_shared.tsv", centred = dir + "/" + m + "_centred.tsv";
            auto r = test::run_dnamba(base + "--vcf " + q(dir + "/dense.vcf") + " --scores llr -o " + q(shared));
            INFO(r.err);
            REQUIRE(r.exit_code == 0);
            // tiles [32k, 32k + 64) of the 300 bases, the last clipped: ceil((300 - 64) / 32) + 1 = 9,
            // within ceil(2 * span / W) + 1 = 11
            CHECK(passes_of(r.err) == 9);
            // with an embedding score every variant has its centred window (and llr reads it)
            r = test::run_dnamba(base + "--vcf " + q(dir + "/dense.vcf") + " --scores llr,emb-l2 -o " + q(centred));
            REQUIRE(r.exit_code == 0);
            CHECK(passes_of(r.err) == 600);  // ref and alt window per variant
            const auto s = read_tsv(shared), c = read_tsv(centred);
            REQUIRE(s.size() == 301);
            REQUIRE(c.size() == 301);
            std::size_t same_context = 0, differ = 0;
            for (std::size_t p = 0; p < 300; ++p) {
                const auto& row = s[p + 1];
                INFO("0-based position " << p);
                REQUIRE(row[1] == std::to_string(p + 1));  // input order
                CHECK(c[p + 1][1] == row[1]);
                if (causal && p == 0) {  // nothing before the first base predicts it
                    CHECK(row[4] == "NA");
                    continue;
                }
                const double v = std::stod(row[4]), w = std::stod(c[p + 1][4]);
                // the same context in both windows: the centred window [p - 32, p + 32) is the
                // variant's tile for p = 32 (k + 1) (tiles 0 to 7 lie inside the contig); a causal
                // LM reads only the prefix, which is the same for p <= 32 too ([0, p) in tile 0)
                const bool identical = (p % 32 == 0 && p >= 32 && p <= 256) || (causal && p <= 32);
                if (identical) {
                    CHECK(v == Approx(w).epsilon(1e-5));
                    same_context++;
                } else if (std::abs(v - w) > 1e-5 * std::max(1.0, std::abs(w))) {
                    differ++;
                }
            }
            CHECK(same_context == (causal ? 32u + 7u : 8u));
            // other contexts differ (measured: 267 of 292 for the masked LM, 256 of 260 for the
            // causal one; the tiny models barely see bases 16 away): the values come from the tiles
            CHECK(differ >= 250);
            // --rc average: both strands of each tile (18 passes); the same values where the
            // contexts are the same
            r = test::run_dnamba(base + "--vcf " + q(dir + "/dense.vcf") + " --rc average --scores llr -o " +
                                 q(dir + "/s_avg.tsv"));
            REQUIRE(r.exit_code == 0);
            CHECK(passes_of(r.err) == 18);
            REQUIRE(test::run_dnamba(base + "-q --vcf " + q(dir + "/dense.vcf") + " --rc average --scores llr,emb-l2 -o " +
                                     q(dir + "/c_avg.tsv")).exit_code == 0);
            const auto sa = read_tsv(dir + "/s_avg.tsv"), ca = read_tsv(dir + "/c_avg.tsv");
            REQUIRE(sa.size() == 301);
            REQUIRE(ca.size() == 301);
            for (std::size_t p = 32; p <= 256; p += 32) {
                INFO("0-based position " << p << ", rc average");
                CHECK(std::stod(sa[p + 1][4]) == Approx(std::stod(ca[p + 1][4])).epsilon(1e-5));
                CHECK(sa[p + 1][4] != s[p + 1][4]);  // the reverse strand counts
            }
            // packed tiles give what one tile per batch gives, bit for bit
            r = test::run_dnamba(base + "-q --vcf " + q(dir + "/dense.vcf") + " --scores llr --batch-tokens 1 -o " +
                                 q(dir + "/single.tsv"));
            REQUIRE(r.exit_code == 0);
            CHECK(test::read_file(dir + "/single.tsv") == test::read_file(shared));
            // an unsorted VCF: rows in its order, each with the sorted run's value; consecutive
            // records of one tile share its pass whatever the order
            r = test::run_dnamba(base + "--vcf " + q(dir + "/reversed.vcf") + " --scores llr -o " + q(dir + "/rev.tsv"));
            REQUIRE(r.exit_code == 0);
            CHECK(passes_of(r.err) == 9);
            const auto rev = read_tsv(dir + "/rev.tsv");
            REQUIRE(rev.size() == 301);
            for (std::size_t i = 1; i <= 300; ++i) {
                CHECK(rev[i][1] == s[301 - i][1]);
                CHECK(rev[i][4] == s[301 - i][4]);
            }
        }
    }
}

TEST_CASE("vep: shared llr windows that hold a whole contig give the reference's llr", "[vep]") {
    // --window 1000 is longer than both contigs: the one tile and every centred window are the
    // whole contig, so llr from shared windows is the PyTorch reference's, in one pass per contig
    const std::string dir = test::scratch_dir("vep_shared_llr_ref");
    const auto r = test::run_dnamba("vep -m " + q(model("a_caduceus_ph")) + " -i " + q(k_genome) + " --vcf " + q(k_vcf) +
                                    " --window 1000 --scores llr -o " + q(dir + "/llr.tsv"));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(passes_of(r.err) == 2);
    const auto got = read_tsv(dir + "/llr.tsv");
    const auto want = read_tsv(test::testdata("vep/expected/vep_a_caduceus_ph_w1000_rcnone.tsv"));
    REQUIRE(want[0][5] == "llr");
    REQUIRE(got.size() == want.size());
    std::size_t compared = 0;
    for (std::size_t i = 1; i < want.size(); ++i) {
        CHECK(got[i][3] == want[i][3]);
        if (want[i][5] == "NA") {
            CHECK(got[i][4] == "NA");
            continue;
        }
        CHECK(std::stod(got[i][4]) == Approx(std::stod(want[i][5])).epsilon(1e-4));
        compared++;
    }
    CHECK(compared == 7);
}

TEST_CASE("score: --rc average makes a track strand-invariant, minus-strand rows on genome coordinates", "[vep][score]") {
    const std::string dir = test::scratch_dir("score_rc");
    test::write_file(dir + "/plus.bed", "chr2\t10\t140\tp\t0\t+\n");
    test::write_file(dir + "/minus.bed", "chr2\t10\t140\tm\t0\t-\n");
    for (const char* track : {"entropy", "logp"}) {
        std::map<std::string, std::map<long, double>> by_strand;
        for (const char* strand : {"plus", "minus"}) {
            const std::string out = dir + "/" + strand + "_" + track + ".tsv";
            REQUIRE(test::run_dnamba("score -q -m " + q(model("a_caduceus_ph")) + " -i " + q(k_genome) + " --regions " +
                                     q(dir + "/" + strand + ".bed") + " --rc average --track " + track + " -o " + q(out))
                        .exit_code == 0);
            for (const auto& r : read_tsv(out))
                if (r[0] != "name") by_strand[strand][std::stol(r[2])] = std::stod(r[4]);
        }
        REQUIRE(by_strand["plus"].size() == 130);
        REQUIRE(by_strand["minus"].size() == 130);
        CHECK(by_strand["plus"].begin()->first == 11);
        CHECK(by_strand["minus"].begin()->first == 11);
        // entropy is the same on both strands; log p(reference base) too (the base and its
        // complement, predicted from the same two passes)
        for (const auto& [pos, v] : by_strand["plus"]) CHECK(by_strand["minus"][pos] == Approx(v).margin(1e-5).epsilon(1e-4));
    }
}

TEST_CASE("vep: dnamba merge joins the VCF outputs of --region shards into what one run writes", "[vep]") {
    const std::string dir = test::scratch_dir("vep_merge");
    // the CPU engine: shards by region pack other rows than one run, and only its results are
    // the same bit for bit however rows are packed
    const std::string base = "vep -q --device cpu -m " + q(model("a_caduceus_ph")) + " -i " + q(k_genome) +
                             " --window 64 --scores masked-llr,emb-l2";
    const std::string indexed = dir + "/in.vcf.gz";
    REQUIRE(test::run_dnamba(base + " --vcf " + q(k_vcf) + " -o " + q(indexed)).exit_code == 0);
    REQUIRE(test::run_dnamba(base + " --vcf " + q(indexed) + " -o " + q(dir + "/one.vcf.gz")).exit_code == 0);
    // three shards by region, in three formats
    const std::vector<std::pair<std::string, std::string>> shards = {
        {"chr1:1-150", "a.vcf"}, {"chr1:151-300", "b.bcf"}, {"chr2", "c.vcf.gz"}};
    std::string names;
    for (const auto& [region, name] : shards) {
        REQUIRE(test::run_dnamba(base + " --vcf " + q(indexed) + " --region " + region + " -o " + q(dir + "/" + name)).exit_code == 0);
        names += " " + q(dir + "/" + name);
    }
    auto r = test::run_dnamba("merge -o " + q(dir + "/merged.vcf.gz") + names);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("3 shard(s), 10 row(s)"));
    CHECK(test::file_exists(dir + "/merged.vcf.gz.tbi"));
    const std::string one = vcf_text(dir + "/one.vcf.gz");
    CHECK(one.find("\tDP=10;DNAMBA_MASKED_LLR=-") != std::string::npos);
    CHECK(vcf_text(dir + "/merged.vcf.gz") == one);  // header and records, line for line
    // into a BCF and a plain VCF: the same
    REQUIRE(test::run_dnamba("merge -q -o " + q(dir + "/merged.bcf") + names).exit_code == 0);
    CHECK(test::file_exists(dir + "/merged.bcf.csi"));
    CHECK(vcf_text(dir + "/merged.bcf") == one);
    REQUIRE(test::run_dnamba("merge -q -o " + q(dir + "/merged.vcf") + " " + q(dir + "/merged.bcf")).exit_code == 0);
    CHECK(test::read_file(dir + "/merged.vcf") == one);

    // a shard of another run (its header names another window) is refused, nothing written
    REQUIRE(test::run_dnamba("vep -q -m " + q(model("a_caduceus_ph")) + " -i " + q(k_genome) +
                             " --window 32 --scores masked-llr,emb-l2 --vcf " + q(indexed) + " --region chr2 -o " +
                             q(dir + "/other.vcf")).exit_code == 0);
    r = test::run_dnamba("merge -o " + q(dir + "/bad.vcf.gz") + " " + q(dir + "/a.vcf") + " " + q(dir + "/other.vcf"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("other.vcf: its VCF header differs from that of") &&
                          Catch::Contains("##dnamba_vep_window=32"));
    CHECK_FALSE(test::file_exists(dir + "/bad.vcf.gz"));
    CHECK_FALSE(test::file_exists(dir + "/bad.vcf.gz.tbi"));
    // a table among VCF shards
    REQUIRE(test::run_dnamba(base + " --vcf " + q(indexed) + " --region chr2 -o " + q(dir + "/c.tsv")).exit_code == 0);
    r = test::run_dnamba("merge -o " + q(dir + "/bad.vcf.gz") + " " + q(dir + "/a.vcf") + " " + q(dir + "/c.tsv"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("c.tsv: every shard output must have the output's extension (.vcf, .vcf.gz or .bcf)"));
    for (const auto& f : test::dir_entries(dir)) CHECK(f.find(".tmp") == std::string::npos);
}
