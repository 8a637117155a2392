// Checkpoint reading: the safetensors parser on corrupt files, config.json errors, tied
// tensor fallbacks, and the tokenizer.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "dnamba/error.hpp"
#include "dnamba/model.hpp"
#include "model/safetensors.hpp"
#include "dnamba/tokenizer.hpp"
#include "test_util.hpp"

using namespace dnamba;

namespace {

// A safetensors file from a raw header text and a data block.
std::string write_raw_safetensors(const std::string& dir, const std::string& name, const std::string& header,
                                  const std::string& data) {
    const std::string path = dir + "/" + name;
    std::string bytes(8, '\0');
    const std::uint64_t n = header.size();
    std::memcpy(bytes.data(), &n, 8);
    test::write_file(path, bytes + header + data);
    return path;
}

using test::error_of;

// Copies a golden model directory and lets the caller edit its config.json.
std::string copy_model(const std::string& golden_case, const std::string& dest_name) {
    const std::string dest = test::scratch_dir(dest_name);
    for (const char* f : {"config.json", "model.safetensors"})
        std::filesystem::copy_file(test::testdata("golden/" + golden_case + "/" + f), dest + "/" + f);
    return dest;
}

void edit_config(const std::string& dir, const std::function<void(nlohmann::json&)>& edit) {
    auto j = nlohmann::json::parse(test::read_file(dir + "/config.json"));
    edit(j);
    test::write_file(dir + "/config.json", j.dump(2));
}

}  // namespace

TEST_CASE("safetensors: valid file round trip with F32/F16/BF16 conversion", "[model][safetensors]") {
    const std::string dir = test::scratch_dir("st_valid");
    // F16 1.0 = 0x3C00, -2.0 = 0xC000; BF16 1.5 = 0x3FC0
    std::string data;
    const float f32[2] = {0.25f, -3.5f};
    data.append(reinterpret_cast<const char*>(f32), 8);
    const std::uint16_t f16[2] = {0x3C00, 0xC000};
    data.append(reinterpret_cast<const char*>(f16), 4);
    const std::uint16_t bf16[1] = {0x3FC0};
    data.append(reinterpret_cast<const char*>(bf16), 2);
    const std::string header =
        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},)"
        R"("c":{"dtype":"BF16","shape":[1],"data_offsets":[12,14]},"__metadata__":{"format":"pt"}})";
    const auto path = write_raw_safetensors(dir, "ok.safetensors", header, data);
    const SafetensorsFile f(path);
    REQUIRE(f.tensors().size() == 3);
    CHECK(f.metadata().at("format") == "pt");
    CHECK(f.to_float(*f.find("a")) == std::vector<float>{0.25f, -3.5f});
    CHECK(f.to_float(*f.find("b")) == std::vector<float>{1.0f, -2.0f});
    CHECK(f.to_float(*f.find("c")) == std::vector<float>{1.5f});
    CHECK(f.find("missing") == nullptr);
    CHECK(f.find("b")->shape_string() == "[1,2]");
    CHECK(half_to_float(0x0001) == Approx(5.960464477539063e-08f));  // smallest subnormal
}

TEST_CASE("safetensors: corrupt files give clear errors naming the file", "[model][safetensors]") {
    const std::string dir = test::scratch_dir("st_corrupt");
    const std::string good = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
    const std::string data16(16, '\0');

    SECTION("too short") {
        const std::string path = dir + "/short.safetensors";
        test::write_file(path, "abc");
        const auto msg = error_of([&] { SafetensorsFile f(path); }, ErrorKind::model);
        CHECK_THAT(msg, Catch::Contains("short.safetensors") && Catch::Contains("too short"));
    }
    SECTION("truncated data") {
        const auto path = write_raw_safetensors(dir, "trunc.safetensors", good, data16.substr(0, 10));
        const auto msg = error_of([&] { SafetensorsFile f(path); }, ErrorKind::model);
        CHECK_THAT(msg, Catch::Contains("trunc.safetensors") && Catch::Contains("tensor w") &&
                            Catch::Contains("past the end"));
    }
    SECTION("truncated header") {
        const std::string path = dir + "/trunc_header.safetensors";
        std::string bytes(8, '\0');
        const std::uint64_t n = 1000;
        std::memcpy(bytes.data(), &n, 8);
        test::write_file(path, bytes + good);
        const auto msg = error_of([&] { SafetensorsFile f(path); }, ErrorKind::model);
        CHECK_THAT(msg, Catch::Contains("header length 1000 exceeds the file size"));
    }
    SECTION("bad JSON") {
        const auto path = write_raw_safetensors(dir, "badjson.safetensors", "{\"w\": [1, 2", data16);
        const auto msg = error_of([&] { SafetensorsFile f(path); }, ErrorKind::model);
        CHECK_THAT(msg, Catch::Contains("badjson.safetensors") && Catch::Contains("not valid JSON"));
    }
    SECTION("offsets out of range") {
        const auto path = write_raw_safetensors(
            dir, "range.safetensors", R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}})", data16);
        const auto msg = error_of([&] { SafetensorsFile f(path); }, ErrorKind::model);
        CHECK_THAT(msg, Catch::Contains("data_offsets [16,32]") && Catch::Contains("past the end"));
    }
    SECTION("begin after end") {
        const auto path = write_raw_safetensors(
            dir, "order.safetensors", R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data16);
        const auto msg = error_of([&] { SafetensorsFile f(path); }, ErrorKind::model);
        CHECK_THAT(msg, Catch::Contains("begin 8 > end 0"));
    }
    SECTION("dtype size does not match the byte range") {
        const auto path = write_raw_safetensors(
            dir, "size.safetensors", R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}})", data16);
        const auto msg = error_of([&] { SafetensorsFile f(path); }, ErrorKind::model);
        CHECK_THAT(msg, Catch::Contains("tensor w") && Catch::Contains("is 8 bytes") &&
                            Catch::Contains("[2,2] of F32 needs 16"));
    }
    SECTION("unknown dtype") {
        const auto path = write_raw_safetensors(
            dir, "dtype.safetensors", R"({"w":{"dtype":"F8_E9","shape":[4],"data_offsets":[0,4]}})", data16);
        const auto msg = error_of([&] { SafetensorsFile f(path); }, ErrorKind::model);
        CHECK_THAT(msg, Catch::Contains("unknown dtype \"F8_E9\""));
    }
    SECTION("overlapping tensors") {
        const auto path = write_raw_safetensors(
            dir, "overlap.safetensors",
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            data16);
        const auto msg = error_of([&] { SafetensorsFile f(path); }, ErrorKind::model);
        CHECK_THAT(msg, Catch::Contains("overlap"));
    }
    SECTION("negative shape") {
        const auto path = write_raw_safetensors(
            dir, "neg.safetensors", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", data16);
        const auto msg = error_of([&] { SafetensorsFile f(path); }, ErrorKind::model);
        CHECK_THAT(msg, Catch::Contains("negative"));
    }
    SECTION("missing file") {
        const auto msg = error_of([&] { SafetensorsFile f(dir + "/nope.safetensors"); }, ErrorKind::model);
        CHECK_THAT(msg, Catch::Contains("nope.safetensors") && Catch::Contains("cannot open"));
    }
}

TEST_CASE("config: unsupported or malformed configs are refused naming the key", "[model][config]") {
    auto msg_for = [](const std::string& text) {
        return error_of([&] { (void)parse_model_config(text, "cfg.json"); }, ErrorKind::model);
    };
    CHECK_THAT(msg_for(R"({"d_model": 64, "n_layer": 2, "vocab_size": 16, "ssm_cfg": {"layer": "Mamba2"}})"),
               Catch::Contains("ssm_cfg.layer") && Catch::Contains("Mamba2"));
    CHECK_THAT(msg_for(R"({"d_model": 64, "n_layer": 2, "vocab_size": 16, "attn_layer_idx": [1]})"),
               Catch::Contains("attn_layer_idx") && Catch::Contains("attention"));
    CHECK_THAT(msg_for(R"({"d_model": 64, "n_layer": 2, "vocab_size": 16, "d_intermediate": 128})"),
               Catch::Contains("d_intermediate"));
    CHECK_THAT(msg_for(R"({"model_type": "llama", "hidden_size": 64})"), Catch::Contains("model_type") &&
                                                                             Catch::Contains("llama"));
    CHECK_THAT(msg_for(R"({"model_type": "mamba2", "hidden_size": 64})"), Catch::Contains("Mamba-2"));
    CHECK_THAT(msg_for(R"({"model_type": "caduceus", "n_layer": 2, "vocab_size": 12})"),
               Catch::Contains("missing key \"d_model\""));
    CHECK_THAT(msg_for(R"({"model_type": "caduceus", "d_model": 8, "n_layer": 2, "vocab_size": 12,
                           "bidirectional_strategy": "concat"})"),
               Catch::Contains("bidirectional_strategy") && Catch::Contains("concat"));
    CHECK_THAT(msg_for(R"({"model_type": "caduceus", "d_model": 8, "n_layer": 2, "vocab_size": 12, "rcps": true})"),
               Catch::Contains("complement_map"));
    CHECK_THAT(msg_for("{not json"), Catch::Contains("cfg.json") && Catch::Contains("not valid JSON"));
    CHECK_THAT(msg_for(R"({"hello": 1})"), Catch::Contains("not a supported checkpoint config"));
    CHECK_THAT(msg_for(R"({"model_type": "mamba", "hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 12,
                           "hidden_act": "gelu"})"),
               Catch::Contains("hidden_act"));
}

TEST_CASE("config: defaults and derived sizes follow the reference classes", "[model][config]") {
    const auto c = parse_model_config(R"({"model_type": "caduceus", "d_model": 40, "n_layer": 2, "vocab_size": 12})", "x");
    CHECK(c.vocab_size == 16);  // padded to a multiple of 8
    CHECK(c.d_inner == 80);
    CHECK(c.dt_rank == 3);      // ceil(40 / 16)
    CHECK(c.bidirectional);
    CHECK(c.weight_tie);
    CHECK(c.fused_add_norm);
    CHECK(c.norm == NormKind::rms);
    CHECK(c.complement_map[7] == 10);
    CHECK(c.complement_map[12] == 12);
    const auto m = parse_model_config(R"({"d_model": 24, "n_layer": 1, "vocab_size": 5, "ssm_cfg": {"expand": 1.5}})", "x");
    CHECK(m.layout == Layout::mamba_ssm);
    CHECK(m.d_inner == 36);
    CHECK(m.vocab_size == 8);
    CHECK_FALSE(m.bidirectional);
    const auto h = parse_model_config(
        R"({"model_type": "mamba", "hidden_size": 32, "num_hidden_layers": 1, "vocab_size": 12, "time_step_rank": 5})", "x");
    CHECK(h.layout == Layout::hf_mamba);
    CHECK(h.vocab_size == 12);  // transformers does not pad
    CHECK(h.dt_rank == 5);
    CHECK(h.d_inner == 64);
}

TEST_CASE("loader: missing and mis-shaped tensors are named", "[model][loader]") {
    const std::string dir = copy_model("a_caduceus_ph", "loader_shape");
    edit_config(dir, [](nlohmann::json& j) { j["d_model"] = 24; });
    const auto msg = error_of([&] { (void)load_model(dir); }, ErrorKind::model);
    CHECK_THAT(msg, Catch::Contains("model.safetensors: tensor") && Catch::Contains("has shape") &&
                        Catch::Contains("expected") && Catch::Contains("d_model=24"));

    const std::string dir2 = copy_model("a_caduceus_ph", "loader_missing");
    edit_config(dir2, [](nlohmann::json& j) { j["n_layer"] = j["n_layer"].get<int>() + 1; });
    const auto msg2 = error_of([&] { (void)load_model(dir2); }, ErrorKind::model);
    CHECK_THAT(msg2, Catch::Contains("is missing"));

    const auto msg3 = error_of([&] { (void)load_model(test::scratch_dir("loader_empty")); }, ErrorKind::model);
    CHECK_THAT(msg3, Catch::Contains("config.json") && Catch::Contains("cannot open"));
}

TEST_CASE("loader: tied tensors absent from the file fall back to their source", "[model][loader]") {
    // Case a drops the tied reverse projections and the LM head (as published checkpoints do);
    // case g keeps every duplicate. Both must give identical weights where tied.
    const Model a = load_model(test::testdata("golden/a_caduceus_ph"));
    CHECK(a.weights.lm_head_tied);
    CHECK(a.weights.lm_head == a.weights.embedding);
    CHECK(a.weights.layers[0].rev.in_proj.size() == 0);  // tied: the engine reuses the forward one
    bool noted = false;
    for (const auto& n : a.notes) noted = noted || n.find("lm_head.weight absent") != std::string::npos;
    CHECK(noted);
    const Model g = load_model(test::testdata("golden/g_caduceus_ps_dups"));
    CHECK(g.config.weight_tie);
    CHECK(g.weights.lm_head == g.weights.embedding);
    const Model i = load_model(test::testdata("golden/i_mamba_ssm_ln_untied"));
    CHECK_FALSE(i.weights.lm_head_tied);
    CHECK_FALSE(i.weights.lm_head == i.weights.embedding);
}

TEST_CASE("tokenizer: Caduceus ids, [UNK], [SEP] and reverse complement", "[tokenizer]") {
    std::size_t unknown = 0;
    const auto ids = tokenize("ACGTNacgtnRY-", false, &unknown);
    CHECK(ids == std::vector<std::int32_t>{7, 8, 9, 10, 11, 7, 8, 9, 10, 11, 6, 6, 6});
    CHECK(unknown == 3);
    CHECK(tokenize("AC", true) == std::vector<std::int32_t>{7, 8, 1});
    CHECK(tokenize("", false).empty());
    CHECK(reverse_complement("AACGTnR") == "RnACGTT");
    CHECK(reverse_complement("acgt") == "acgt");
    const auto map = default_complement_map(16);
    CHECK(reverse_complement_ids(tokenize("AACGTN", false), map) == tokenize("NACGTT", false));
    CHECK(reverse_complement_ids({1, 6, 7}, map) == std::vector<std::int32_t>{10, 6, 1});
}

TEST_CASE("safetensors writer: tensors and metadata round trip through the reader", "[model][safetensors]") {
    const std::string dir = test::scratch_dir("st_write");
    const std::string path = dir + "/w.safetensors";
    const std::vector<float> w = {1.5f, -2.0f, 0.25f, 8.0f, -0.5f, 3.0f}, v = {7.0f};
    const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "{\"json\": [1, 2]}"}};
    safetensors_write_f32(path, {{"w", {2, 3}, w.data()}, {"v", {1}, v.data()}, {"empty", {0, 4}, nullptr}}, meta);
    const SafetensorsFile f(path);
    CHECK(f.metadata() == meta);
    REQUIRE(f.tensors().size() == 3);
    REQUIRE(f.find("w"));
    CHECK(f.find("w")->dtype == DType::f32);
    CHECK(f.find("w")->shape_string() == "[2,3]");
    CHECK(f.to_float(*f.find("w")) == w);
    CHECK(f.to_float(*f.find("v")) == v);
    CHECK(f.find("empty")->numel() == 0);
    // data in the order given, the block 8-byte aligned; the header length comes first
    const std::string bytes = test::read_file(path);
    std::uint64_t header_len = 0;
    std::memcpy(&header_len, bytes.data(), 8);
    CHECK(header_len % 8 == 0);
    CHECK(bytes.size() == 8 + header_len + 28);
    CHECK(std::memcmp(bytes.data() + 8 + header_len, w.data(), 24) == 0);
    // no metadata: no "__metadata__" key at all
    safetensors_write_f32(dir + "/plain.safetensors", {{"v", {1}, v.data()}});
    CHECK(test::read_file(dir + "/plain.safetensors").find("__metadata__") == std::string::npos);
    CHECK(SafetensorsFile(dir + "/plain.safetensors").metadata().empty());
}

TEST_CASE("safetensors writer: a failed write leaves nothing under the final name", "[model][safetensors]") {
    const std::string dir = test::scratch_dir("st_write_fail");
    const std::vector<float> v = {1.0f, 2.0f};
    const std::vector<TensorToWrite> tensors = {{"v", {2}, v.data()}};
    // a directory that does not exist
    const std::string missing = dir + "/no/such/dir/w.safetensors";
    const auto msg = error_of([&] { safetensors_write_f32(missing, tensors, {{"k", "v"}}); }, ErrorKind::io);
    CHECK_THAT(msg, Catch::Contains(missing));
    CHECK_FALSE(std::filesystem::exists(missing));
    // a directory we may not write (root may write anywhere: then only the rest is checked)
    const std::string locked = dir + "/locked";
    std::filesystem::create_directory(locked);
    std::filesystem::permissions(locked, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    if (::access(locked.c_str(), W_OK) != 0) {
        const auto m2 = error_of([&] { safetensors_write_f32(locked + "/w.safetensors", tensors); }, ErrorKind::io);
        CHECK_THAT(m2, Catch::Contains(locked + "/w.safetensors"));
        CHECK(std::filesystem::is_empty(locked));
    }
    std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
    // a directory nobody may create files in, root included
    if (std::filesystem::exists("/proc/self")) {
        const auto m4 = error_of([&] { safetensors_write_f32("/proc/dnamba-test.safetensors", tensors); }, ErrorKind::io);
        CHECK_THAT(m4, Catch::Contains("/proc/dnamba-test.safetensors"));
        CHECK_FALSE(std::filesystem::exists("/proc/dnamba-test.safetensors"));
    }
    // bad arguments: an existing file stays as it was and no temporary is left beside it
    const std::string path = dir + "/kept.safetensors";
    test::write_file(path, "old contents");
    for (const auto& bad : std::vector<std::vector<TensorToWrite>>{{{"v", {2}, v.data()}, {"v", {2}, v.data()}},
                                                                   {{"__metadata__", {2}, v.data()}},
                                                                   {{"n", {-1}, v.data()}},
                                                                   {{"z", {2}, nullptr}}}) {
        const auto m3 = error_of([&] { safetensors_write_f32(path, bad); }, ErrorKind::usage);
        CHECK_THAT(m3, Catch::Contains(path));
    }
    CHECK(test::read_file(path) == "old contents");
    std::size_t entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) entries += e.path().filename() != "locked";
    CHECK(entries == 1);
}
