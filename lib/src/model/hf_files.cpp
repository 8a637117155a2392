// What a Hugging Face checkpoint brings beside config.json and the weights: the tokenizer files,
// checked against the built-in Caduceus character vocabulary (a text Mamba's BPE vocabulary would
// otherwise be fed DNA letters as ids 7..11 and give plausible-looking nonsense), and the local
// hub cache, where `--model org/name` is looked up (never downloaded).
//
// The built-in vocabulary (tokenizer.hpp): [CLS]=0 [SEP]=1 [BOS]=2 [MASK]=3 [PAD]=4
// [RESERVED]=5 [UNK]=6 A=7 C=8 G=9 T=10 N=11, as the Caduceus CaduceusTokenizer writes it:
// tokenizer_config.json "characters": ["A","C","G","T","N"] and "added_tokens_decoder"
// {"0": {"content": "[CLS]"}, ...}; special_tokens_map.json {"unk_token": "[UNK]", ...}.
#include <dirent.h>
#include <sys/stat.h>

#include <array>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dnamba/error.hpp"
#include "dnamba/model.hpp"
#include "util/json_parse.hpp"

namespace dnamba {
namespace {

using nlohmann::json;

constexpr std::array<const char*, 12> k_vocab = {"[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]",
                                                 "[UNK]", "A",     "C",     "G",      "T",     "N"};
constexpr int k_first_char = 7;
// tokenizer.json of a large text model is a few MB; more than this is not a tokenizer of ours.
constexpr std::uint64_t k_max_tokenizer_bytes = std::uint64_t{64} << 20;

bool is_file(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_dir(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

json read_json(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) fail(ErrorKind::model, path + ": cannot read");
    if (static_cast<std::uint64_t>(st.st_size) > k_max_tokenizer_bytes)
        fail(ErrorKind::model, path + ": " + std::to_string(st.st_size) + " bytes, more than a tokenizer file of 64 MiB");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(ErrorKind::model, path + ": cannot open");
    std::ostringstream s;
    s << in.rdbuf();
    return json_parse_strict(s.str(), ErrorKind::model, path);
}

std::string vocab_listing() {
    std::string out;
    for (std::size_t i = 0; i < k_vocab.size(); ++i) out += (i ? " " : "") + std::string(k_vocab[i]) + "=" + std::to_string(i);
    return out;
}

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
    fail(ErrorKind::model, path + ": " + what + "; dnamba's tokenizer is the DNA character vocabulary (" +
                               vocab_listing() + "), so this model would read DNA as other tokens (a text "
                               "model?). --force-vocab uses it anyway");
}

// The token text of a special-token entry: "[UNK]" or {"content": "[UNK]", ...}; "" otherwise.
std::string token_text(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return "";
}

std::string quoted(const std::string& s) { return "'" + (s.size() > 40 ? s.substr(0, 40) + "..." : s) + "'"; }

// Checks that token `text` has id `id` where the built-in vocabulary has one for it.
void check_id(const std::string& path, const std::string& where, const std::string& text, std::int64_t id) {
    for (std::size_t i = 0; i < k_vocab.size(); ++i) {
        if (text == k_vocab[i]) {
            if (id != static_cast<std::int64_t>(i))
                refuse(path, where + " gives " + quoted(text) + " the id " + std::to_string(id) + ", expected " +
                                 std::to_string(i));
            return;
        }
    }
    if (id >= 0 && id < static_cast<std::int64_t>(k_vocab.size()))
        refuse(path, where + " gives the id " + std::to_string(id) + " to " + quoted(text) + ", expected " +
                         quoted(k_vocab[static_cast<std::size_t>(id)]));
}

void check_tokenizer_config(const std::string& path) {
    const json j = read_json(path);
    if (!j.is_object()) refuse(path, "not a JSON object");
    if (j.contains("characters")) {
        const json& chars = j["characters"];
        if (!chars.is_array()) refuse(path, "\"characters\" is not a list");
        std::vector<std::string> got;
        for (const auto& c : chars) got.push_back(c.is_string() ? c.get<std::string>() : c.dump());
        bool same = got.size() == k_vocab.size() - k_first_char;
        for (std::size_t i = 0; same && i < got.size(); ++i) same = got[i] == k_vocab[k_first_char + i];
        if (!same) {
            std::string listed;
            for (const auto& c : got) listed += (listed.empty() ? "" : ",") + quoted(c);
            refuse(path, "\"characters\" is [" + listed + "], expected ['A','C','G','T','N'] (ids 7 to 11)");
        }
    }
    if (j.contains("added_tokens_decoder") && j["added_tokens_decoder"].is_object()) {
        for (const auto& [key, entry] : j["added_tokens_decoder"].items()) {
            char* end = nullptr;
            const long long id = std::strtoll(key.c_str(), &end, 10);
            if (end == key.c_str() || *end != '\0') refuse(path, "\"added_tokens_decoder\" has the id " + quoted(key));
            check_id(path, "\"added_tokens_decoder\"", token_text(entry), id);
        }
    }
}

void check_special_tokens_map(const std::string& path) {
    const json j = read_json(path);
    if (!j.is_object()) refuse(path, "not a JSON object");
    // The roles whose token the model must know by its id; the others only need to be ours.
    const std::array<std::pair<const char*, const char*>, 3> fixed = {
        {{"unk_token", "[UNK]"}, {"pad_token", "[PAD]"}, {"mask_token", "[MASK]"}}};
    for (const auto& [role, value] : j.items()) {
        if (value.is_array()) continue;  // additional_special_tokens
        const std::string text = token_text(value);
        bool known = false;
        for (const char* v : k_vocab) known = known || (text == v && v[0] == '[');
        if (!known) refuse(path, role + " is " + quoted(text) + ", not one of the built-in special tokens");
        for (const auto& [name, want] : fixed)
            if (role == name && text != want) refuse(path, role + " is " + quoted(text) + ", expected '" + want + "'");
    }
}

void check_tokenizer_json(const std::string& path) {
    const json j = read_json(path);
    if (!j.is_object()) refuse(path, "not a JSON object");
    if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
        for (const auto& t : j["added_tokens"]) {
            if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer()) continue;
            check_id(path, "\"added_tokens\"", token_text(t), t["id"].get<std::int64_t>());
        }
    }
    if (!j.contains("model") || !j["model"].is_object() || !j["model"].contains("vocab")) return;
    const json& vocab = j["model"]["vocab"];
    const std::string size = std::to_string(vocab.size()) + " tokens";
    if (vocab.is_object()) {  // WordLevel, BPE, WordPiece: token -> id
        if (vocab.size() > k_vocab.size() * 4)
            refuse(path, "\"model\".\"vocab\" has " + size + ", the character vocabulary 12");
        for (const auto& [text, id] : vocab.items())
            if (id.is_number_integer()) check_id(path, "\"model\".\"vocab\"", text, id.get<std::int64_t>());
        for (int i = k_first_char; i < static_cast<int>(k_vocab.size()); ++i)
            if (!vocab.contains(k_vocab[static_cast<std::size_t>(i)]))
                refuse(path, "\"model\".\"vocab\" (" + size + ") has no token " + quoted(k_vocab[static_cast<std::size_t>(i)]));
    } else if (vocab.is_array()) {  // Unigram: [[piece, score], ...], the id is the position
        if (vocab.size() > k_vocab.size() * 4)
            refuse(path, "\"model\".\"vocab\" has " + size + ", the character vocabulary 12");
        for (std::size_t i = 0; i < vocab.size(); ++i)
            if (vocab[i].is_array() && !vocab[i].empty() && vocab[i][0].is_string())
                check_id(path, "\"model\".\"vocab\"", vocab[i][0].get<std::string>(), static_cast<std::int64_t>(i));
    }
}

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    std::size_t b = 0;
    while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    return s.substr(b);
}

// "org/name": one '/', each side a hub name (letters, digits, '-', '_', '.'; not "." or "..").
bool is_hub_id(const std::string& s) {
    const std::size_t slash = s.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == s.size() || s.find('/', slash + 1) != std::string::npos)
        return false;
    const auto part_ok = [](const std::string& p) {
        if (p == "." || p == ".." || p.size() > 96) return false;
        for (const char c : p)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
        return true;
    };
    return part_ok(s.substr(0, slash)) && part_ok(s.substr(slash + 1));
}

}  // namespace

void check_model_vocabulary(const std::string& dir) {
    const std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
    if (is_file(base + "tokenizer_config.json")) check_tokenizer_config(base + "tokenizer_config.json");
    if (is_file(base + "special_tokens_map.json")) check_special_tokens_map(base + "special_tokens_map.json");
    if (is_file(base + "tokenizer.json")) check_tokenizer_json(base + "tokenizer.json");
}

std::string hf_hub_cache_dir() {
    if (const std::string c = env_or("HF_HUB_CACHE", ""); !c.empty()) return c;
    if (const std::string h = env_or("HF_HOME", ""); !h.empty()) return h + "/hub";
    if (const std::string x = env_or("XDG_CACHE_HOME", ""); !x.empty()) return x + "/huggingface/hub";
    return env_or("HOME", "") + "/.cache/huggingface/hub";
}

std::string resolve_model_dir(const std::string& model) {
    if (is_dir(model) || !is_hub_id(model)) return model;
    const std::string cache = hf_hub_cache_dir();
    const std::string repo = cache + "/models--" + model.substr(0, model.find('/')) + "--" + model.substr(model.find('/') + 1);
    const std::string why = "--model " + model + ": no such directory, and not in the local Hugging Face cache";
    const std::string hint = "; dnamba never downloads: fetch it first (huggingface-cli download " + model +
                             "), set HF_HUB_CACHE or HF_HOME to the cache that has it, or give the checkpoint directory";
    if (!is_dir(repo + "/snapshots")) fail(ErrorKind::model, why + " (looked for " + repo + "/snapshots" + ")" + hint);
    std::string revision;
    if (std::ifstream ref(repo + "/refs/main"); ref) {
        std::getline(ref, revision);
        revision = trim(revision);
        if (!revision.empty() && !is_dir(repo + "/snapshots/" + revision))
            fail(ErrorKind::model, why + ": " + repo + "/refs/main names the revision " + revision + ", but " + repo +
                                       "/snapshots/" + revision + " is missing" + hint);
    }
    if (revision.empty()) {  // no refs/main: the one snapshot there is
        std::vector<std::string> snapshots;
        if (auto* d = ::opendir((repo + "/snapshots").c_str())) {
            while (const dirent* e = ::readdir(d)) {
                const std::string name = e->d_name;
                if (name != "." && name != ".." && is_dir(repo + "/snapshots/" + name)) snapshots.push_back(name);
            }
            ::closedir(d);
        }
        if (snapshots.empty()) fail(ErrorKind::model, why + " (" + repo + "/snapshots is empty)" + hint);
        if (snapshots.size() > 1)
            fail(ErrorKind::model, "--model " + model + ": " + repo + " holds " + std::to_string(snapshots.size()) +
                                       " snapshots and no refs/main to choose one; give the snapshot directory");
        revision = snapshots.front();
    }
    return repo + "/snapshots/" + revision;
}

}  // namespace dnamba
