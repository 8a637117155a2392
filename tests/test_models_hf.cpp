// Hugging Face checkpoints (issue #17 item 6): tokenizer files checked against the DNA character
// vocabulary (a text vocabulary is refused unless --force-vocab), hub ids found in the local
// cache and never downloaded, and the shipped model's config.json naming no code to run.
// Fixtures are made here from the tiny golden checkpoint; nothing is downloaded.
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "dnamba/error.hpp"
#include "dnamba/model.hpp"
#include "test_util.hpp"

using namespace dnamba;
using test::q;
namespace fs = std::filesystem;

namespace {

const std::string k_model = test::testdata("golden/a_caduceus_ph");

// A copy of the tiny checkpoint in `dir`.
std::string tiny_checkpoint(const std::string& dir) {
    fs::create_directories(dir);
    for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(k_model + "/" + f, dir + "/" + f);
    return dir;
}

// The tokenizer files the Caduceus CaduceusTokenizer saves (save_pretrained), trimmed.
void write_caduceus_tokenizer(const std::string& dir) {
    test::write_file(dir + "/tokenizer_config.json", R"({
  "added_tokens_decoder": {
    "0": {"content": "[CLS]", "special": true}, "1": {"content": "[SEP]", "special": true},
    "2": {"content": "[BOS]", "special": true}, "3": {"content": "[MASK]", "special": true},
    "4": {"content": "[PAD]", "special": true}, "5": {"content": "[RESERVED]", "special": true},
    "6": {"content": "[UNK]", "special": true}},
  "characters": ["A", "C", "G", "T", "N"],
  "model_max_length": 131072,
  "tokenizer_class": "CaduceusTokenizer"
})");
    test::write_file(dir + "/special_tokens_map.json", R"({"bos_token": "[BOS]", "cls_token": "[CLS]",
  "eos_token": "[SEP]", "mask_token": "[MASK]", "pad_token": "[PAD]", "sep_token": "[SEP]",
  "unk_token": {"content": "[UNK]", "lstrip": false}})");
}

// A text Mamba's tokenizer.json (GPT-NeoX BPE, as state-spaces/mamba-130m-hf has it): 50280 tokens.
void write_text_tokenizer(const std::string& dir) {
    nlohmann::json vocab = nlohmann::json::object();
    vocab["<|endoftext|>"] = 0;
    vocab["<|padding|>"] = 1;
    for (int i = 2; i < 50280; ++i) vocab["t" + std::to_string(i)] = i;
    vocab["A"] = 34;
    nlohmann::json j = {{"version", "1.0"},
                        {"added_tokens", {{{"id", 0}, {"content", "<|endoftext|>"}, {"special", true}}}},
                        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
    test::write_file(dir + "/tokenizer.json", j.dump());
}

std::string vocab_error(const std::string& dir) {
    return test::error_of([&] { check_model_vocabulary(dir); }, ErrorKind::model);
}

// Sets an environment variable for one scope (children started in it inherit it).
struct ScopedEnv {
    std::string name;
    std::string old;
    bool had;
    ScopedEnv(const std::string& n, const char* value) : name(n), had(std::getenv(n.c_str()) != nullptr) {
        if (had) old = std::getenv(n.c_str());
        if (value) ::setenv(n.c_str(), value, 1);
        else ::unsetenv(n.c_str());
    }
    ~ScopedEnv() {
        if (had) ::setenv(name.c_str(), old.c_str(), 1);
        else ::unsetenv(name.c_str());
    }
};

}  // namespace

TEST_CASE("hf: Caduceus tokenizer files pass, other vocabularies are refused naming the file", "[hardening][hf]") {
    const std::string root = test::scratch_dir("hf_vocab");
    const std::string fa = test::testdata("example/two-species.fa");

    const std::string good = tiny_checkpoint(root + "/caduceus");
    write_caduceus_tokenizer(good);
    check_model_vocabulary(good);
    auto r = test::run_dnamba("embed -q -m " + q(good) + " -i " + q(fa) + " -o " + q(root + "/good.tsv"));
    CHECK(r.exit_code == 0);

    // A text Mamba's BPE vocabulary: exit 4 naming tokenizer.json, nothing written; --force-vocab runs.
    const std::string text = tiny_checkpoint(root + "/text");
    write_text_tokenizer(text);
    std::string e = vocab_error(text);
    CHECK_THAT(e, Catch::Contains(text + "/tokenizer.json: \"added_tokens\" gives the id 0 to '<|endoftext|>', expected '[CLS]'") &&
                      Catch::Contains("--force-vocab"));
    r = test::run_dnamba("embed -q -m " + q(text) + " -i " + q(fa) + " -o " + q(root + "/text.tsv"));
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Catch::Contains("tokenizer.json") && Catch::Contains("DNA character vocabulary"));
    CHECK_FALSE(test::file_exists(root + "/text.tsv"));
    r = test::run_dnamba("embed -q --force-vocab -m " + q(text) + " -i " + q(fa) + " -o " + q(root + "/text.tsv"));
    CHECK(r.exit_code == 0);
    CHECK(test::file_exists(root + "/text.tsv"));
    // The same vocabulary without its added_tokens: refused for its size.
    test::write_file(text + "/tokenizer.json",
                     R"({"model": {"type": "BPE", "vocab": {)" + [] {
                         std::string v;
                         for (int i = 0; i < 50280; ++i) v += (i ? "," : "") + std::string("\"t") + std::to_string(i) + "\":" + std::to_string(i);
                         return v;
                     }() + "}}}");
    CHECK_THAT(vocab_error(text), Catch::Contains("tokenizer.json: \"model\".\"vocab\" has 50280 tokens, the character vocabulary 12"));

    // tokenizer_config.json: other characters (an RNA model) or other special ids.
    const std::string rna = tiny_checkpoint(root + "/rna");
    write_caduceus_tokenizer(rna);
    test::write_file(rna + "/tokenizer_config.json", R"({"characters": ["A", "C", "G", "U", "N"]})");
    CHECK_THAT(vocab_error(rna), Catch::Contains(rna + "/tokenizer_config.json: \"characters\" is ['A','C','G','U','N'], "
                                                       "expected ['A','C','G','T','N']"));
    test::write_file(rna + "/tokenizer_config.json", R"({"added_tokens_decoder": {"3": {"content": "[PAD]"}}})");
    CHECK_THAT(vocab_error(rna), Catch::Contains("\"added_tokens_decoder\" gives '[PAD]' the id 3, expected 4"));
    // special_tokens_map.json: a text model's specials.
    fs::remove(rna + "/tokenizer_config.json");
    test::write_file(rna + "/special_tokens_map.json", R"({"bos_token": "<|endoftext|>"})");
    CHECK_THAT(vocab_error(rna), Catch::Contains(rna + "/special_tokens_map.json: bos_token is '<|endoftext|>', not one "
                                                       "of the built-in special tokens"));
    test::write_file(rna + "/special_tokens_map.json", R"({"mask_token": "[UNK]"})");
    CHECK_THAT(vocab_error(rna), Catch::Contains("mask_token is '[UNK]', expected '[MASK]'"));
    // Not JSON, or nested without bound: the strict parser's errors, naming the file.
    test::write_file(rna + "/special_tokens_map.json", std::string(100000, '['));
    CHECK_THAT(vocab_error(rna), Catch::Contains(rna + "/special_tokens_map.json nests JSON deeper than 64 levels"));
    // A small character tokenizer.json that agrees: accepted.
    fs::remove(rna + "/special_tokens_map.json");
    test::write_file(rna + "/tokenizer.json", R"({"added_tokens": [{"id": 3, "content": "[MASK]"}],
      "model": {"type": "WordLevel", "vocab": {"[CLS]": 0, "[MASK]": 3, "A": 7, "C": 8, "G": 9, "T": 10, "N": 11}}})");
    check_model_vocabulary(rna);
}

TEST_CASE("hf: a hub id is found in the local Hugging Face cache, never downloaded", "[hardening][hf]") {
    const std::string root = test::scratch_dir("hf_cache");
    const std::string repo = root + "/hub/models--dna-org--tiny-caduceus";
    tiny_checkpoint(repo + "/snapshots/0123abcd");
    tiny_checkpoint(repo + "/snapshots/fedc9876");
    fs::create_directories(repo + "/refs");
    test::write_file(repo + "/refs/main", "fedc9876\n");
    {
        const ScopedEnv cache("HF_HUB_CACHE", (root + "/hub").c_str());
        CHECK(hf_hub_cache_dir() == root + "/hub");
        CHECK(resolve_model_dir("dna-org/tiny-caduceus") == repo + "/snapshots/fedc9876");
        // A directory of that name wins; a path that is not a hub id is left to the loader.
        CHECK(resolve_model_dir(k_model) == k_model);
        CHECK(resolve_model_dir("a/b/c") == "a/b/c");
        const auto r = test::run_dnamba("info -m dna-org/tiny-caduceus");
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::Contains("model            dna-org/tiny-caduceus (" + repo + "/snapshots/fedc9876)"));
        // Without refs/main: the one snapshot, or an error when there are several.
        fs::remove(repo + "/refs/main");
        CHECK_THAT(test::error_of([] { (void)resolve_model_dir("dna-org/tiny-caduceus"); }, ErrorKind::model),
                   Catch::Contains(repo + " holds 2 snapshots and no refs/main"));
        fs::remove_all(repo + "/snapshots/0123abcd");
        CHECK(resolve_model_dir("dna-org/tiny-caduceus") == repo + "/snapshots/fedc9876");
        // Not in the cache: where it looked, and no download.
        const auto missing = test::run_dnamba("embed -m state-spaces/mamba-130m-hf -i x.fa -o " + q(root + "/e.tsv"));
        CHECK(missing.exit_code == 4);
        CHECK_THAT(missing.err, Catch::Contains("--model state-spaces/mamba-130m-hf: no such directory, and not in the local "
                                                "Hugging Face cache (looked for " + root +
                                                "/hub/models--state-spaces--mamba-130m-hf/snapshots)") &&
                                    Catch::Contains("dnamba never downloads"));
    }
    {
        // HF_HOME/hub when HF_HUB_CACHE is not set; then XDG_CACHE_HOME, then ~/.cache.
        const ScopedEnv cache("HF_HUB_CACHE", nullptr);
        const ScopedEnv home("HF_HOME", root.c_str());
        CHECK(resolve_model_dir("dna-org/tiny-caduceus") == repo + "/snapshots/fedc9876");
        const ScopedEnv no_home("HF_HOME", nullptr);
        const ScopedEnv xdg("XDG_CACHE_HOME", "/nonexistent/xdg");
        CHECK(hf_hub_cache_dir() == "/nonexistent/xdg/huggingface/hub");
        const ScopedEnv no_xdg("XDG_CACHE_HOME", nullptr);
        const ScopedEnv user("HOME", "/nonexistent/home");
        CHECK(hf_hub_cache_dir() == "/nonexistent/home/.cache/huggingface/hub");
    }
}

TEST_CASE("hf: the shipped model's config.json names no code to run and reads as a Caduceus config", "[hardening][hf]") {
    const std::string dir = test::testdata("../models/caduceus-ps-1m-debian");
    const auto config = nlohmann::json::parse(test::read_file(dir + "/config.json"));
    // no auto_map: it would point transformers (trust_remote_code) at Python files not shipped
    CHECK_FALSE(config.contains("auto_map"));
    CHECK(config.at("model_type") == "caduceus");
    CHECK(config.at("architectures") == nlohmann::json::array({"CaduceusForMaskedLM"}));
    // The shipped model has no tokenizer files to disagree with; its vocabulary is the built-in one.
    check_model_vocabulary(dir);
    // Where transformers is installed: its generic config class reads the file (no remote code).
    if (std::system("python3 -c 'import transformers' 2>/dev/null") != 0) return;
    CHECK(std::system(("python3 -c 'import sys, transformers; c = transformers.PretrainedConfig.from_pretrained(sys.argv[1]); "
                       "assert c.to_dict()[\"d_model\"] == 128' " + q(dir)).c_str()) == 0);
}
