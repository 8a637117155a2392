// Hostile inputs (issue #17): deeply nested and duplicate-key JSON, absurd config sizes,
// safetensors shapes that overflow, NaN weights, damaged NPZ members, stale FASTA indexes,
// outputs that are inputs, absurd --threads. Each names what it refuses and leaves nothing.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "dnamba/error.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/head.hpp"
#include "dnamba/input.hpp"
#include "dnamba/io.hpp"
#include "dnamba/shard.hpp"
#include "io/embedding_table.hpp"
#include "dnamba/model.hpp"
#include "model/safetensors.hpp"
#include "test_util.hpp"
#include "util/json_parse.hpp"

using namespace dnamba;
using test::q;

namespace {

using test::error_of;

std::string safetensors_bytes(const std::string& header, const std::string& data) {
    std::string bytes(8, '\0');
    const std::uint64_t n = header.size();
    std::memcpy(bytes.data(), &n, 8);
    return bytes + header + data;
}

std::string nested(int depth) { return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'); }

const std::string k_cfg = R"({"model_type": "caduceus", "d_model": 16, "n_layer": 2, "vocab_size": 12})";

// k_cfg with `key` set to the JSON text `value` (scope "ssm_cfg." puts it there).
std::string cfg_with(const std::string& key, const std::string& value) {
    auto j = nlohmann::json::parse(k_cfg);
    const auto dot = key.find('.');
    if (dot == std::string::npos) j[key] = nlohmann::json::parse(value);
    else j[key.substr(0, dot)][key.substr(dot + 1)] = nlohmann::json::parse(value);
    return j.dump();
}

}  // namespace

TEST_CASE("json: nesting is bounded and duplicate keys are refused", "[hardening][json]") {
    CHECK(json_parse_strict(nested(k_json_max_depth), ErrorKind::model, "x").is_array());
    CHECK_THAT(error_of([] { (void)json_parse_strict(nested(k_json_max_depth + 1), ErrorKind::model, "x.json"); },
                        ErrorKind::model),
               Catch::Contains("x.json nests JSON deeper than 64 levels"));
    // 10^6 levels: the case that killed the process (SIGSEGV) before the bound.
    CHECK_THAT(error_of([] { (void)json_parse_strict(nested(1000000), ErrorKind::input, "deep"); }, ErrorKind::input),
               Catch::Contains("deeper than 64"));
    CHECK_THAT(error_of([] { (void)json_parse_strict(R"({"a": {"b": 1, "b": 2}})", ErrorKind::model, "cfg"); },
                        ErrorKind::model),
               Catch::Contains("cfg has the key \"b\" twice"));
    // The same key in sibling objects, or inside arrays of objects, is fine.
    const auto ok = json_parse_strict(R"({"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 1}, {"k": 2}], "k": 3})",
                                      ErrorKind::model, "cfg");
    CHECK(ok["k"] == 3);
    CHECK(ok["c"][1]["k"] == 2);
    CHECK_THAT(error_of([] { (void)json_parse_strict("{\"a\": [1, 2", ErrorKind::model, "cfg"); }, ErrorKind::model),
               Catch::Contains("cfg is not valid JSON"));
}

TEST_CASE("config: deep nesting and duplicate keys in config.json are model errors", "[hardening][config]") {
    const std::string deep = k_cfg.substr(0, k_cfg.size() - 1) + ", \"x\": " + nested(200000) + "}";
    CHECK_THAT(error_of([&] { (void)parse_model_config(deep, "m/config.json"); }, ErrorKind::model),
               Catch::Contains("m/config.json nests JSON deeper"));
    const std::string dup = R"({"model_type": "caduceus", "d_model": 16, "n_layer": 2, "vocab_size": 12, "d_model": 32})";
    CHECK_THAT(error_of([&] { (void)parse_model_config(dup, "m/config.json"); }, ErrorKind::model),
               Catch::Contains("key \"d_model\" twice"));
}

TEST_CASE("config: floats, booleans and out-of-range sizes are refused naming the key", "[hardening][config]") {
    CHECK(parse_model_config(k_cfg, "c").d_model == 16);
    const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
        {"d_model", "0", "\"d_model\" must be an integer from 1 to 65536, got 0"},
        {"d_model", "32.7", "\"d_model\" must be an integer from 1 to 65536, got 32.7"},
        {"d_model", "32.0", "\"d_model\" must be an integer"},
        {"d_model", "4294967328", "got 4294967328"},  // 2^32 + 32: wrapped to 32 before
        {"d_model", "18446744073709551615", "got 18446744073709551615"},
        {"d_model", "true", "got true"},
        {"d_model", "\"16\"", "got \"16\""},
        {"d_model", "null", "got null"},
        {"n_layer", "-1", "\"n_layer\" must be an integer from 1 to 4096, got -1"},
        {"n_layer", "1000000000", "\"n_layer\""},
        {"vocab_size", "0", "\"vocab_size\" must be an integer from 1"},
        {"vocab_size", "2147483647", "\"vocab_size\""},
        {"ssm_cfg.d_state", "100000", "\"ssm_cfg.d_state\" must be an integer from 1 to 1024, got 100000"},
        {"ssm_cfg.d_state", "1073741824", "\"ssm_cfg.d_state\""},
        {"ssm_cfg.d_conv", "0", "\"ssm_cfg.d_conv\""},
        {"ssm_cfg.expand", "2e7", "\"ssm_cfg.expand\""},
        {"ssm_cfg.expand", "-2", "\"ssm_cfg.expand\""},
        {"ssm_cfg.expand", "0.01", "d_inner = int(expand * d_model) = 0"},
        {"ssm_cfg.dt_rank", "2147483647", "\"ssm_cfg.dt_rank\" must be an integer from 1 to 65536"},
        {"ssm_cfg.dt_rank", "0", "\"ssm_cfg.dt_rank\""},
        {"ssm_cfg.dt_rank", "1.5", "\"ssm_cfg.dt_rank\" must be \"auto\" or an integer"},
        {"norm_epsilon", "-1", "\"norm_epsilon\""},
        {"norm_epsilon", "1e300", "\"norm_epsilon\""},
        {"pad_vocab_size_multiple", "-8", "\"pad_vocab_size_multiple\""},
    };
    for (const auto& [key, value, message] : cases) {
        INFO(key << " = " << value);
        CHECK_THAT(error_of([&] { (void)parse_model_config(cfg_with(key, value), "m/config.json"); }, ErrorKind::model),
                   Catch::Contains("m/config.json") && Catch::Contains(message));
    }
    // Sizes each within range whose product is not: refused before anything is allocated.
    CHECK_THAT(error_of([&] {
                   (void)parse_model_config(
                       R"({"model_type": "caduceus", "d_model": 65536, "n_layer": 2, "vocab_size": 1048576})", "c");
               }, ErrorKind::model),
               Catch::Contains("embedding [vocab_size, d_model]") && Catch::Contains("68719476736 elements"));
    CHECK_THAT(error_of([&] {
                   (void)parse_model_config(
                       R"({"model_type": "mamba", "hidden_size": 65536, "num_hidden_layers": 1, "vocab_size": 12,
                           "intermediate_size": 1048576})", "c");
               }, ErrorKind::model),
               Catch::Contains("in_proj"));
    CHECK_THAT(error_of([&] {
                   (void)parse_model_config(
                       R"({"model_type": "mamba", "hidden_size": 64, "num_hidden_layers": 1, "vocab_size": 12,
                           "intermediate_size": 64.5})", "c");
               }, ErrorKind::model),
               Catch::Contains("\"intermediate_size\" must be an integer"));
    CHECK_THAT(error_of([&] { (void)parse_model_config(cfg_with("complement_map", R"({"7x": 10})"), "c"); }, ErrorKind::model),
               Catch::Contains("non-integer token id \"7x\""));
    CHECK_THAT(error_of([&] {
                   (void)parse_model_config(cfg_with("complement_map", R"({"7": 18446744073709551615})"), "c");
               }, ErrorKind::model),
               Catch::Contains("outside the vocabulary"));
    // Still accepted: the published forms.
    CHECK(parse_model_config(cfg_with("ssm_cfg.expand", "1.5"), "c").d_inner == 24);
    CHECK(parse_model_config(cfg_with("ssm_cfg.dt_rank", "\"auto\""), "c").dt_rank == 1);
    CHECK(parse_model_config(cfg_with("ssm_cfg.dt_rank", "7"), "c").dt_rank == 7);
}

TEST_CASE("safetensors: hostile headers are refused before any allocation", "[hardening][safetensors]") {
    const std::string dir = test::scratch_dir("hard_st");
    auto open_with = [&](const std::string& header, const std::string& data) {
        const std::string path = dir + "/w.safetensors";
        test::write_file(path, safetensors_bytes(header, data));
        return error_of([&] { SafetensorsFile f(path); }, ErrorKind::model);
    };
    const std::string data16(16, '\0');
    // [2^62] of F32: numel passes the overflow check, numel*4 wraps to 0 bytes.
    CHECK_THAT(open_with(R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", data16),
               Catch::Contains("tensor w") && Catch::Contains("needs more bytes than the 16-byte data block"));
    CHECK_THAT(open_with(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}})", data16),
               Catch::Contains("tensor w") && Catch::Contains("overflows"));
    CHECK_THAT(open_with(R"({"w":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]}})", data16),
               Catch::Contains("negative"));
    CHECK_THAT(open_with(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", data16),
               Catch::Contains("non-integer"));
    CHECK_THAT(open_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                         data16),
               Catch::Contains("w.safetensors: header has the key \"w\" twice"));
    CHECK_THAT(open_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"a":)" + nested(100000) + "}}",
                         data16),
               Catch::Contains("w.safetensors: header nests JSON deeper"));
    CHECK_THAT(open_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F16"}})", data16),
               Catch::Contains("\"dtype\" twice"));
    CHECK_THAT(open_with(R"({"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", data16),
               Catch::Contains("unknown dtype \"f32\""));
    CHECK_THAT(open_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", data16),
               Catch::Contains("non-negative"));
    CHECK_THAT(open_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                         data16),
               Catch::Contains("overlap"));
}

TEST_CASE("loader: NaN and Inf weights are reported at load, naming the tensor", "[hardening][loader]") {
    // Overwrite the first float of one tensor of a golden model with NaN, another with Inf.
    const std::string dir = test::scratch_dir("hard_nan");
    for (const char* f : {"config.json", "model.safetensors"})
        std::filesystem::copy_file(test::testdata(std::string("golden/a_caduceus_ph/") + f), dir + "/" + f);
    std::string bytes = test::read_file(dir + "/model.safetensors");
    std::uint64_t header_len = 0;
    std::memcpy(&header_len, bytes.data(), 8);
    const auto header = nlohmann::json::parse(bytes.substr(8, header_len));
    const std::string d_name = "caduceus.backbone.layers.1.mixer.mamba_fwd.D";
    const std::string a_name = "caduceus.backbone.layers.0.mixer.mamba_fwd.dt_proj.bias";
    REQUIRE(header.contains(d_name));
    REQUIRE(header.contains(a_name));
    REQUIRE(header[d_name]["dtype"] == "F32");
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    std::memcpy(&bytes[8 + header_len + header[d_name]["data_offsets"][0].get<std::size_t>()], &nan, 4);
    std::memcpy(&bytes[8 + header_len + header[a_name]["data_offsets"][0].get<std::size_t>() + 4], &inf, 4);
    test::write_file(dir + "/model.safetensors", bytes);
    const auto r = test::run_dnamba("info -m " + q(dir));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("warning: " + dir + "/model.safetensors: tensor " + d_name + " holds 1 NaN and 0 infinite"));
    CHECK_THAT(r.err, Catch::Contains("tensor " + a_name + " holds 0 NaN and 1 infinite"));
    const auto clean = test::run_dnamba("info -m " + q(test::testdata("golden/a_caduceus_ph")));
    CHECK(clean.exit_code == 0);
    CHECK_THAT(clean.err, !Catch::Contains("NaN"));
}

namespace {

// A per-position .npz of one member "r" (3 positions x 2 channels) through the project's writer.
std::string write_npz(const std::string& path) {
    auto w = make_embedding_writer(path);
    w->begin(2);
    const float x[6] = {1, 2, 3, 4, 5, 6};
    RowInfo row;
    row.name = "r";
    w->write(row, x, 3);
    w->commit();
    return path;
}

std::string npy_bytes(const std::string& shape, std::size_t data_bytes) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    dict += std::string(118 - dict.size(), ' ') + "\n";
    std::string out = std::string("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(dict.size() & 0xff);
    out += static_cast<char>(dict.size() >> 8);
    return out + dict + std::string(data_bytes, '\0');
}

}  // namespace

TEST_CASE("merge: an NPZ member whose CRC-32 does not match its bytes is refused", "[hardening][merge]") {
    const std::string dir = test::scratch_dir("hard_crc");
    const std::string good = write_npz(dir + "/good.npz");
    CHECK(merge_shard_outputs({good}, dir + "/ok.npz") == 1);
    // Flip one bit in the last float of the member's data (just before the row table's first
    // member, whose local header of 30 bytes precedes its name).
    std::string bytes = test::read_file(good);
    const std::size_t table = bytes.find("dnamba/key.npy");
    REQUIRE(table != std::string::npos);
    bytes[table - 31] = static_cast<char>(bytes[table - 31] ^ 0x01);
    test::write_file(dir + "/bad.npz", bytes);
    CHECK_THAT(error_of([&] { (void)merge_shard_outputs({good, dir + "/bad.npz"}, dir + "/out.npz"); }, ErrorKind::input),
               Catch::Contains("bad.npz: member r.npy: damaged member (CRC-32 is"));
    CHECK_FALSE(test::file_exists(dir + "/out.npz"));
    const auto r = test::run_dnamba("merge -o " + q(dir + "/cli.npz") + " " + q(dir + "/bad.npz"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("CRC-32"));
    CHECK_FALSE(test::file_exists(dir + "/cli.npz"));
}

TEST_CASE("merge: huge NPY shapes are input errors, not out of memory", "[hardening][merge]") {
    const std::string dir = test::scratch_dir("hard_npy");
    const std::string names = "name\tchrom\tstart\tend\tstrand\n";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"(1099511627776, 0)", "more rows of zero columns"},
        {"(0, 1099511627776)", "more columns than any embedding"},
        {"(4611686018427387904, 4)", "truncated data"},
        {"(1, 2, 3)", "expected a 2-D array"},
    };
    int i = 0;
    for (const auto& [shape, message] : cases) {
        INFO(shape);
        const std::string path = dir + "/s" + std::to_string(i++) + ".npy";
        test::write_file(path, npy_bytes(shape, 16));
        test::write_file(npy_names_path(path), names);
        const auto r = test::run_dnamba("merge -o " + q(dir + "/out.npy") + " " + q(path));
        CHECK(r.exit_code == 3);
        CHECK_THAT(r.err, Catch::Contains(path) && Catch::Contains(message));
        CHECK_FALSE(test::file_exists(dir + "/out.npy"));
    }
    // The empty table numpy writes for zero rows still merges.
    test::write_file(dir + "/empty.npy", npy_bytes("(0, 8)", 0));
    test::write_file(dir + "/empty.names.tsv", names);
    CHECK(merge_shard_outputs({dir + "/empty.npy"}, dir + "/merged.npy") == 0);
}

namespace {

// Four 500-base records (60 bases a line) under `dir`, indexed once; returns the FASTA path.
std::string indexed_genome(const std::string& dir, const std::string& name = "g.fa") {
    std::string text;
    const char* bases = "ACGTTGCA";
    for (int c = 1; c <= 4; ++c) {
        text += ">chr" + std::to_string(c) + " some description\n";
        for (int i = 0; i < 500; ++i) {
            text += bases[(i * c + i / 7) % 8];
            if (i % 60 == 59 || i == 499) text += '\n';
        }
    }
    const std::string path = dir + "/" + name;
    test::write_file(path, text);
    const IndexedFasta fa(path);  // builds path.fai
    REQUIRE(fa.names().size() == 4);
    return path;
}

using test::dir_entries;

}  // namespace

TEST_CASE("faidx: the index is built under a temporary name and no temporary file stays", "[hardening][faidx]") {
    const std::string dir = test::scratch_dir("hard_fai_tmp");
    indexed_genome(dir);
    CHECK(dir_entries(dir) == std::vector<std::string>{"g.fa", "g.fa.fai"});
    CHECK(test::read_file(dir + "/g.fa.fai").substr(0, 22) == "chr1\t500\t23\t60\t61\nchr2");
    // A FASTA htslib cannot index leaves neither an index nor a temporary file.
    test::write_file(dir + "/bad.fa", ">a\nAC GT\n");
    CHECK_THROWS_AS(IndexedFasta(dir + "/bad.fa"), Error);
    CHECK(dir_entries(dir) == std::vector<std::string>{"bad.fa", "g.fa", "g.fa.fai"});
}

TEST_CASE("faidx: a truncated, stale or inconsistent .fai is detected and rebuilt", "[hardening][faidx]") {
    const std::string dir = test::scratch_dir("hard_fai_stale");
    const std::string fa = indexed_genome(dir);
    const std::string fai = fa + ".fai";
    const std::string good = test::read_file(fai);
    const auto lines = [&] {
        std::vector<std::string> out;
        std::size_t at = 0;
        while (at < good.size()) {
            const std::size_t nl = good.find('\n', at);
            out.push_back(good.substr(at, nl - at + 1));
            at = nl + 1;
        }
        return out;
    }();
    REQUIRE(lines.size() == 4);
    const std::vector<std::pair<std::string, std::string>> cases = {
        {lines[0], "data after the last indexed sequence chr1"},              // truncated: 3 sequences missing
        {lines[0] + lines[1] + "chr3\t500\t10", "incomplete"},                // interrupted write
        {lines[0] + "chr2\t400" + lines[1].substr(8) + lines[2] + lines[3], "chr2 is longer in the FASTA"},
        {lines[0] + lines[2] + lines[1] + lines[3], "the FASTA changed since it was indexed"},  // reordered
        {lines[0] + lines[1] + lines[2] + "chr4\t900" + lines[3].substr(8), "runs past the end"},
        {"chr1\tx\n", "not a FASTA index line"},
    };
    for (const auto& [text, reason] : cases) {
        INFO(text);
        test::write_file(fai, text);
        // `plan` over 100-base windows: 20 rows, all four chromosomes (5 before the check).
        const auto r = test::run_dnamba("plan -i " + q(fa) + " --window 100 --shard-rows 5 -o " + q(dir + "/plan.tsv"));
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.err, Catch::Contains(fai + " does not match") && Catch::Contains(reason) &&
                              Catch::Contains("rebuilding it") && Catch::Contains("over 20 row(s)"));
        CHECK(test::read_file(fai) == good);
        CHECK(dir_entries(dir) == std::vector<std::string>{"g.fa", "g.fa.fai", "plan.tsv"});
    }
    // A consistent index is used as it is, without a word.
    const auto r = test::run_dnamba("index " + q(fa));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.err, !Catch::Contains("does not match") && Catch::Contains("4 sequence(s), 2000 bases"));
}

TEST_CASE("faidx: a stale index that cannot be rebuilt is refused", "[hardening][faidx]") {
    const std::string dir = test::scratch_dir("hard_fai_ro");
    const std::string fa = indexed_genome(dir);
    const std::string first_line = test::read_file(fa + ".fai").substr(0, test::read_file(fa + ".fai").find('\n') + 1);
    test::write_file(fa + ".fai", first_line);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_write, std::filesystem::perm_options::remove);
    if (::access(dir.c_str(), W_OK) == 0) {  // root ignores the mode
        std::filesystem::permissions(dir, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
        WARN("running as root: read-only directory case not testable");
        return;
    }
    const auto msg = error_of([&] { IndexedFasta f(fa); }, ErrorKind::input);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
    CHECK_THAT(msg, Catch::Contains("does not match it") && Catch::Contains("not writable"));
}

TEST_CASE("faidx: bgzip FASTA with a truncated .fai is rebuilt", "[hardening][faidx]") {
    const std::string dir = test::scratch_dir("hard_fai_bgzf");
    for (const char* f : {"genome.fa.gz", "genome.fa.gz.fai", "genome.fa.gz.gzi"})
        std::filesystem::copy_file(test::testdata(std::string("regions/") + f), dir + "/" + f);
    const std::string fa = dir + "/genome.fa.gz";
    const std::string good = test::read_file(fa + ".fai");
    { const IndexedFasta ok(fa); CHECK(ok.names().size() == 4); }
    test::write_file(fa + ".fai", good.substr(0, good.find('\n') + 1));
    const IndexedFasta fixed(fa);
    CHECK(fixed.names().size() == 4);
    CHECK(fixed.total_length() == 650);
    CHECK(test::read_file(fa + ".fai") == good);
}

TEST_CASE("cli: an output that is one of the inputs is refused and the input kept", "[hardening][cli]") {
    const std::string dir = test::scratch_dir("hard_out_in");
    const std::string model = test::testdata("golden/a_caduceus_ph");
    const std::string fa = indexed_genome(dir, "g.tsv");  // a FASTA that happens to end in .tsv
    const std::string original = test::read_file(fa);
    test::write_file(dir + "/r.tsv", "chr1\t0\t100\n");
    std::filesystem::create_symlink(fa, dir + "/link.tsv");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"embed -m " + q(model) + " -i " + q(fa) + " -o " + q(fa), fa},
        {"embed -m " + q(model) + " -i " + q(fa) + " -o " + q(dir + "/./g.tsv"), fa},           // another spelling
        {"embed -m " + q(model) + " -i " + q(dir + "/link.tsv") + " -o " + q(fa), "link.tsv"},  // through a link
        {"embed -m " + q(model) + " -i " + q(fa) + " --regions " + q(dir + "/r.tsv") + " -o " + q(dir + "/r.tsv"), "r.tsv"},
        {"plan -i " + q(fa) + " --window 100 --shard-rows 5 -o " + q(fa), fa},
    };
    for (const auto& [args, input] : cases) {
        INFO(args);
        const auto r = test::run_dnamba(args);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains("is also an input") && Catch::Contains(input));
    }
    CHECK(test::read_file(fa) == original);
    CHECK(test::read_file(dir + "/r.tsv") == "chr1\t0\t100\n");
    // train-head: the head file may not replace the --embeddings table (checked before any work).
    const auto r = test::run_dnamba("train-head --regions " + q(dir + "/r.tsv") + " --embeddings " + q(dir + "/r.tsv") +
                                    " -o " + q(dir + "/r.tsv"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("is also an input"));
    CHECK(test::read_file(dir + "/r.tsv") == "chr1\t0\t100\n");
    // merge: a pooled .npy's names table counts as an input too.
    CHECK_THAT(error_of([&] { (void)merge_shard_outputs({dir + "/a.npy"}, dir + "/a.npy"); }, ErrorKind::usage),
               Catch::Contains("is also an input"));
    CHECK(std::vector<std::string>{"g.tsv", "g.tsv.fai", "link.tsv", "r.tsv"} == dir_entries(dir));
}

TEST_CASE("cli: absurd --threads and --batch-tokens values are refused and leave no file", "[hardening][cli]") {
    const std::string dir = test::scratch_dir("hard_threads");
    const std::string fa = indexed_genome(dir);
    for (const char* t : {"100000", "-3", "1025"}) {
        INFO(t);
        const auto r = test::run_dnamba("embed -m " + q(test::testdata("golden/a_caduceus_ph")) + " -i " + q(fa) +
                                        " -o " + q(dir + "/out.tsv") + " --threads " + t);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains(std::string("--threads ") + t + ": expected 0 (all cores) to 1024"));
    }
    CHECK(dir_entries(dir) == std::vector<std::string>{"g.fa", "g.fa.fai"});
    // --batch-tokens above 2^30 would pack a genome into one pass: refused, nothing left.
    for (const char* cmd : {"embed -m M", "classify --head H"}) {
        std::string args = cmd;
        args.replace(args.size() - 1, 1, std::string(cmd).back() == 'M' ? q(test::testdata("golden/a_caduceus_ph"))
                                                                        : q(test::testdata("../tests/fuzz/corpus/head/kmer1.head")));
        const auto r = test::run_dnamba(args + " -i " + q(fa) + " --window 100 -o " + q(dir + "/out.tsv") +
                                        " --batch-tokens 99999999999999");
        INFO(args);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains("--batch-tokens 99999999999999: expected 1 to 1073741824"));
    }
    CHECK(dir_entries(dir) == std::vector<std::string>{"g.fa", "g.fa.fai"});
    CHECK_THAT(error_of([] { check_thread_count(5000); }, ErrorKind::usage), Catch::Contains("--threads 5000"));
    CHECK_NOTHROW(check_thread_count(0));
    CHECK_NOTHROW(check_thread_count(k_max_threads));
}

TEST_CASE("faidx: the checks read the right bytes of a FASTA larger than one BGZF block", "[hardening][faidx]") {
    // 64 KiB is where plain-file offsets and BGZF virtual offsets part: a check that mixed them
    // up passed on small files and rebuilt every large index.
    const std::string dir = test::scratch_dir("hard_fai_large");
    std::string text;
    for (int c = 1; c <= 3; ++c) {
        text += ">chr" + std::to_string(c) + " a description that makes the header line longer\n";
        for (int i = 0; i < 40000; ++i) {
            text += "ACGT"[(i * 7 + c) % 4];
            if (i % 70 == 69) text += '\n';
        }
        text += '\n';
    }
    test::write_file(dir + "/big.fa", text);
    auto r = test::run_dnamba("index " + q(dir + "/big.fa"));
    REQUIRE(r.exit_code == 0);
    const std::string good = test::read_file(dir + "/big.fa.fai");
    r = test::run_dnamba("index " + q(dir + "/big.fa"));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.err, !Catch::Contains("does not match") && Catch::Contains("3 sequence(s), 120000 bases"));
    test::write_file(dir + "/big.fa.fai", good.substr(0, good.find('\n', good.find('\n') + 1) + 1));  // 2 of 3
    r = test::run_dnamba("index " + q(dir + "/big.fa"));
    CHECK_THAT(r.err, Catch::Contains("data after the last indexed sequence chr2") && Catch::Contains("3 sequence(s)"));
    CHECK(test::read_file(dir + "/big.fa.fai") == good);
}

TEST_CASE("tables: embedding and calls rows with a bad strand or coordinates are refused (fuzz_tables)", "[hardening][tables]") {
    const std::string dir = test::scratch_dir("hard_tables");
    const std::string header = "name\tchrom\tstart\tend\tstrand\te0\n";
    const std::vector<std::pair<std::string, std::string>> rows = {
        {"a\tchr1\t0\t10\t0\t1.5\n", "strand '0' is not +, - or ."},
        {"a\tchr1\t0\t10\t+-\t1.5\n", "strand '+-'"},
        {"a\tchr1\t-5\t10\t+\t1.5\n", "start -5 and end 10 are not 0 <= start <= end"},
        {"a\tchr1\t10\t5\t+\t1.5\n", "start 10 and end 5"},
    };
    for (const auto& [row, message] : rows) {
        INFO(row);
        test::write_file(dir + "/t.tsv", header + row);
        CHECK_THAT(error_of([&] { (void)read_embedding_table(dir + "/t.tsv"); }, ErrorKind::input),
                   Catch::Contains(dir + "/t.tsv:2: ") && Catch::Contains(message));
    }
    test::write_file(dir + "/ok.tsv", header + "a\tchr1\t0\t10\t-\t1.5\nb\tchr1\t3\t3\t.\t2\n");
    const EmbeddingTable t = read_embedding_table(dir + "/ok.tsv");
    REQUIRE(t.rows.size() == 2);
    CHECK(t.rows[0].strand == '-');
    CHECK(t.rows[1].strand == '.');
    CHECK(t.X(1, 0) == 2.0f);
    // The same rule for the calls table `dnamba track` reads.
    test::write_file(dir + "/calls.tsv", "name\tchrom\tstart\tend\tstrand\tp_a\tp_b\tpredicted\nr\tchr1\t0\t100\tx\t0.2\t0.8\tb\n");
    test::write_file(dir + "/g.fa", ">chr1\n" + std::string(200, 'A') + "\n");
    const auto r = test::run_dnamba("track --calls " + q(dir + "/calls.tsv") + " --genome " + q(dir + "/g.fa") +
                                    " -o " + q(dir + "/t.bedgraph"));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("calls.tsv:2: strand 'x'"));
    CHECK_FALSE(test::file_exists(dir + "/t.bedgraph"));
}

TEST_CASE("messages: classify output formats, --device cuda:N, top-level help, merge of one shard twice", "[hardening][messages]") {
    const std::string dir = test::scratch_dir("hard_messages");
    const std::string fa = indexed_genome(dir);
    // classify -o calls.txt: the message names .tsv beside the track formats.
    auto r = test::run_dnamba("classify --head " + q(dir + "/none.head") + " -i " + q(fa) + " --window 100 -o " +
                              q(dir + "/calls.txt"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("calls.txt: unknown output format; expected .tsv") && Catch::Contains(".bedGraph") &&
                          Catch::Contains(".bw"));
#ifndef DNAMBA_HAVE_CUDA
    // The device number is kept in the message.
    r = test::run_dnamba("embed -m " + q(test::testdata("golden/a_caduceus_ph")) + " -i " + q(fa) + " -o " +
                         q(dir + "/e.tsv") + " --device cuda:1");
    CHECK(r.exit_code == 5);
    CHECK_THAT(r.err, Catch::Contains("--device cuda:1: this dnamba was built without the CUDA kernels"));
#endif
    CHECK_THAT(error_of([] { (void)parse_device("cuda:99999999999"); }, ErrorKind::usage),
               Catch::Contains("expected cuda:N"));
    // The top-level help: embed reads more than FASTA.
    r = test::run_dnamba("--help");
    CHECK_THAT(r.out + r.err, Catch::Contains("embed   embed records, regions or windows of FASTA/FASTQ/SAM/BAM/CRAM"));
    // merge: one shard given twice (another spelling of the same file) is refused.
    r = test::run_dnamba("embed -m " + q(test::testdata("golden/a_caduceus_ph")) + " -i " + q(fa) + " -o " + q(dir + "/s.tsv"));
    REQUIRE(r.exit_code == 0);
    r = test::run_dnamba("merge -o " + q(dir + "/m.tsv") + " " + q(dir + "/s.tsv") + " " + q(dir + "/./s.tsv"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("s.tsv is given twice (shard 1 is"));
    CHECK_FALSE(test::file_exists(dir + "/m.tsv"));
}

TEST_CASE("train-head: folds against rows, groups and classes are checked before the model is loaded", "[hardening][head]") {
    const std::string fa = test::testdata("example/two-species.fa"), bed = test::testdata("example/two-species.bed");
    const std::string out = test::scratch_dir("hard_train_early") + "/x.head";
    // --model points nowhere: before the check these runs ended in the model error (or, with a
    // model, in the folds error after embedding every region).
    const std::string base = "train-head -i " + q(fa) + " --regions " + q(bed) + " -m /nonexistent-model -o " + q(out);
    const std::vector<std::pair<std::string, std::string>> cases = {
        {" --folds 100", "100-fold cross-validation needs at least 100 rows, got 80"},
        {" --folds 1", "folds and inner folds must both be >= 2"},
        {" --group-column 1 --folds 100", "needs at least 100 distinct groups, got 80"},
    };
    for (const auto& [extra, message] : cases) {
        INFO(extra);
        const auto r = test::run_dnamba(base + extra);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains(message));
        CHECK_THAT(r.err, !Catch::Contains("nonexistent-model"));
    }
    const auto r = test::run_dnamba(base + " --label-column 9");
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("no column 9 for the label"));
    CHECK_FALSE(test::file_exists(out));
    // The same check, as the library gives it.
    CHECK_THAT(error_of([] { (void)check_head_training({0, 0, 1}, {"a", "b"}, {}, HeadTrainOptions{}, false); },
                        ErrorKind::input),
               Catch::Contains("class 'b' has 1 example(s)"));
    HeadTrainOptions two;
    two.folds = 2;
    const auto folds = check_head_training({0, 0, 1, 1}, {"a", "b"}, {}, two, false);
    REQUIRE(folds.size() == 4);
    CHECK(folds[0] != folds[1]);
    CHECK(folds[2] != folds[3]);
}
