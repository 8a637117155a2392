// Hostile inputs (issue #17): deeply nested and duplicate-key JSON, absurd config sizes,
// safetensors shapes that overflow, NaN weights, damaged NPZ members, stale FASTA indexes,
// outputs that are inputs, absurd --threads. Each names what it refuses and leaves nothing.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "dnamba/error.hpp"
#include "dnamba/head.hpp"
#include "dnamba/model.hpp"
#include "model/safetensors.hpp"
#include "test_util.hpp"
#include "util/json_parse.hpp"

using namespace dnamba;

namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }

template <typename F>
std::string error_of(F f, ErrorKind expected_kind) {
    try {
        f();
    } catch (const Error& e) {
        CHECK(static_cast<int>(e.kind()) == static_cast<int>(expected_kind));
        return e.what();
    }
    FAIL("no dnamba::Error thrown");
    return "";
}

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
