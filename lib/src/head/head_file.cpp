// The head file (see head.hpp): a safetensors file holding the standardiser and the logistic
// model as F32 tensors W [C,F], b [C], mean [F], scale [F], and in __metadata__ one entry,
// "dnamba_head", whose value is JSON text describing how the features were made.
//
// safetensors metadata values must be strings, hence JSON-in-a-string. The file is written by
// safetensors_write_f32, which writes atomically (AtomicOutputFile) and carries metadata; its
// bytes are pinned by a test, so heads written before and after that move are the same files.
// Loading validates everything classify relies on - metadata present and
// parseable, version, field types, tensor dtypes and shapes against the class and feature
// counts, finite values, and the CRC-32 of the tensor data ("data_crc32" in the metadata; a
// head written before it existed loads with a warning) - so a wrong or damaged file fails
// with its name and the problem instead of producing silently wrong probabilities.
#include <cmath>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "dnamba/error.hpp"
#include "dnamba/head.hpp"
#include "dnamba/log.hpp"
#include "head/metrics_json.hpp"
#include "model/safetensors.hpp"
#include "util/crc32.hpp"
#include "util/json_parse.hpp"

namespace dnamba {
namespace {

constexpr int k_head_version = 1;
constexpr const char* k_metadata_key = "dnamba_head";

// Best effort: the CV summary is informational, so a field of the wrong type is skipped.
Metrics metrics_from_json(const nlohmann::json& j) {
    Metrics m;
    if (!j.is_object()) return m;
    auto num = [&](const char* key, double& out) {
        if (j.contains(key) && j[key].is_number()) out = j[key].get<double>();
    };
    num("accuracy", m.accuracy);
    num("macro_f1", m.macro_f1);
    num("mcc", m.mcc);
    if (j.contains("auroc") && j["auroc"].is_number()) m.auroc = j["auroc"].get<double>();
    if (j.contains("auprc") && j["auprc"].is_number()) m.auprc = j["auprc"].get<double>();
    return m;
}

const char* const k_core_keys[] = {"version", "classes", "features", "pool", "rc", "add_sep", "model_fingerprint", "l2", "cv", "data_crc32"};

[[noreturn]] void bad_head(const std::string& path, const std::string& what) {
    fail(ErrorKind::input, path + ": not a valid dnamba head file: " + what);
}

// CRC-32 of the tensors' float32 bytes in the file's order: W (row-major), b, mean, scale.
std::uint32_t head_data_crc(const HeadFile& file) {
    const TrainedHead& h = file.head;
    std::uint32_t crc = crc32_update(0, h.model.W.data(), sizeof(float) * static_cast<std::uint64_t>(h.model.W.size()));
    crc = crc32_update(crc, h.model.b.data(), sizeof(float) * static_cast<std::uint64_t>(h.model.b.size()));
    crc = crc32_update(crc, h.standardizer.mean.data(), sizeof(float) * static_cast<std::uint64_t>(h.standardizer.mean.size()));
    return crc32_update(crc, h.standardizer.scale.data(), sizeof(float) * static_cast<std::uint64_t>(h.standardizer.scale.size()));
}

bool is_core_key(const std::string& key) {
    for (const char* k : k_core_keys)
        if (key == k) return true;
    return false;
}

}  // namespace

nlohmann::json metrics_to_json(const Metrics& m) {
    nlohmann::json j = {{"accuracy", m.accuracy}, {"macro_f1", m.macro_f1}, {"mcc", m.mcc}};
    if (m.auroc) j["auroc"] = *m.auroc;
    if (m.auprc) j["auprc"] = *m.auprc;
    return j;
}

void save_head(const std::string& path, const HeadFile& file) {
    const TrainedHead& h = file.head;
    const auto C = static_cast<std::int64_t>(h.classes.size());
    const auto F = static_cast<std::int64_t>(h.standardizer.mean.size());
    if (C < 2 || h.model.W.rows() != C || h.model.W.cols() != F || h.model.b.size() != C || h.standardizer.scale.size() != F)
        fail(ErrorKind::usage, path + ": inconsistent head: " + std::to_string(C) + " classes, W [" +
                                   std::to_string(h.model.W.rows()) + "," + std::to_string(h.model.W.cols()) + "], b [" +
                                   std::to_string(h.model.b.size()) + "], mean [" + std::to_string(F) + "], scale [" +
                                   std::to_string(h.standardizer.scale.size()) + "]");

    nlohmann::json meta =
        json_parse_strict(file.extra_json.empty() ? std::string("{}") : file.extra_json, ErrorKind::usage, path + ": extra metadata");
    if (!meta.is_object()) fail(ErrorKind::usage, path + ": extra metadata must be a JSON object");
    // The fixed fields are written last so that `extra` can never override them.
    nlohmann::json cv = {{"mean", metrics_to_json(h.cv.mean)}, {"sd", metrics_to_json(h.cv.sd)},
                         {"folds", nlohmann::json::array()}, {"chosen_l2", h.cv.chosen_l2}};
    for (const auto& m : h.cv.folds) cv["folds"].push_back(metrics_to_json(m));
    meta["version"] = k_head_version;
    meta["classes"] = h.classes;
    meta["features"] = file.features;
    meta["pool"] = file.pool;
    meta["rc"] = file.rc;
    meta["add_sep"] = file.add_sep;
    meta["model_fingerprint"] = file.model_fingerprint;
    meta["l2"] = h.l2;
    meta["cv"] = cv;
    meta["data_crc32"] = crc32_hex(head_data_crc(file));

    const std::vector<TensorToWrite> tensors = {{"W", {C, F}, h.model.W.data()},  // row-major [C,F], as stored
                                                {"b", {C}, h.model.b.data()},
                                                {"mean", {F}, h.standardizer.mean.data()},
                                                {"scale", {F}, h.standardizer.scale.data()}};
    safetensors_write_f32(path, tensors, {{k_metadata_key, meta.dump()}});
}

HeadFile load_head(const std::string& path) {
    std::unique_ptr<SafetensorsFile> st;
    try {
        st = std::make_unique<SafetensorsFile>(path);
    } catch (const Error& e) {
        // The reader's message already names the file; a head is user input, not a model.
        fail(ErrorKind::input, e.what());
    }
    const auto it = st->metadata().find(k_metadata_key);
    if (it == st->metadata().end())
        bad_head(path, std::string("no \"") + k_metadata_key + "\" entry in __metadata__ (is this a head from dnamba train-head?)");
    const nlohmann::json meta = json_parse_strict(it->second, ErrorKind::input,
                                                  path + ": not a valid dnamba head file: metadata \"" + k_metadata_key + "\"");
    if (!meta.is_object()) bad_head(path, std::string("metadata \"") + k_metadata_key + "\" is not a JSON object");
    if (!meta.contains("version") || !meta["version"].is_number_integer())
        bad_head(path, "metadata has no integer \"version\"");
    if (meta["version"].get<std::int64_t>() != k_head_version)
        bad_head(path, "head format version " + meta["version"].dump() + " is not supported (this dnamba reads version " +
            std::to_string(k_head_version) + ")");
    auto need_string = [&](const char* key) {
        if (!meta.contains(key) || !meta[key].is_string()) bad_head(path, std::string("metadata has no string \"") + key + "\"");
        return meta[key].get<std::string>();
    };

    HeadFile out;
    out.features = need_string("features");
    out.pool = need_string("pool");
    out.rc = need_string("rc");
    out.model_fingerprint = need_string("model_fingerprint");
    if (!meta.contains("add_sep") || !meta["add_sep"].is_boolean()) bad_head(path, "metadata has no boolean \"add_sep\"");
    out.add_sep = meta["add_sep"].get<bool>();
    if (!meta.contains("classes") || !meta["classes"].is_array()) bad_head(path, "metadata has no \"classes\" array");
    for (const auto& c : meta["classes"]) {
        if (!c.is_string()) bad_head(path, "\"classes\" holds a non-string entry " + c.dump());
        out.head.classes.push_back(c.get<std::string>());
    }
    const auto C = static_cast<std::int64_t>(out.head.classes.size());
    if (C < 2) bad_head(path, "\"classes\" lists " + std::to_string(C) + " class(es); a head needs at least 2");
    if (meta.contains("l2")) {
        if (!meta["l2"].is_number()) bad_head(path, "\"l2\" is not a number");
        out.head.l2 = meta["l2"].get<double>();
    }
    if (meta.contains("cv") && meta["cv"].is_object()) {
        const auto& cv = meta["cv"];
        if (cv.contains("mean")) out.head.cv.mean = metrics_from_json(cv["mean"]);
        if (cv.contains("sd")) out.head.cv.sd = metrics_from_json(cv["sd"]);
        if (cv.contains("folds") && cv["folds"].is_array())
            for (const auto& f : cv["folds"]) out.head.cv.folds.push_back(metrics_from_json(f));
        if (cv.contains("chosen_l2") && cv["chosen_l2"].is_array())
            for (const auto& v : cv["chosen_l2"])
                if (v.is_number()) out.head.cv.chosen_l2.push_back(v.get<double>());
    }
    nlohmann::json extra = nlohmann::json::object();
    for (auto e = meta.begin(); e != meta.end(); ++e)
        if (!is_core_key(e.key())) extra[e.key()] = e.value();
    out.extra_json = extra.dump();

    // Tensors: F32, shapes consistent with C classes and F = mean's length features.
    auto tensor = [&](const char* name, std::size_t rank) -> const TensorInfo& {
        const TensorInfo* t = st->find(name);
        if (!t) bad_head(path, std::string("tensor \"") + name + "\" is missing");
        if (t->dtype != DType::f32)
            bad_head(path, std::string("tensor \"") + name + "\" has dtype " + dtype_name(t->dtype) + ", expected F32");
        if (t->shape.size() != rank)
            bad_head(path, std::string("tensor \"") + name + "\" has shape " + t->shape_string() + ", expected " +
                std::to_string(rank) + " dimension(s)");
        return *t;
    };
    const TensorInfo& mean = tensor("mean", 1);
    const std::int64_t F = mean.shape[0];
    if (F < 1) bad_head(path, "tensor \"mean\" is empty (no features)");
    const TensorInfo& scale = tensor("scale", 1);
    const TensorInfo& W = tensor("W", 2);
    const TensorInfo& b = tensor("b", 1);
    const std::string dims = " (" + std::to_string(C) + " classes, " + std::to_string(F) + " features)";
    if (scale.shape[0] != F) bad_head(path, "tensor \"scale\" has shape " + scale.shape_string() + ", expected [" + std::to_string(F) + "]" + dims);
    if (W.shape[0] != C || W.shape[1] != F)
        bad_head(path, "tensor \"W\" has shape " + W.shape_string() + ", expected [" + std::to_string(C) + "," + std::to_string(F) + "]" + dims);
    if (b.shape[0] != C) bad_head(path, "tensor \"b\" has shape " + b.shape_string() + ", expected [" + std::to_string(C) + "]" + dims);
    // k-mer-only heads: the feature count is fixed by K, so a mismatch means a damaged file.
    if (out.features.rfind("kmer:", 0) == 0) {
        const std::string k = out.features.substr(5);
        if (k.size() == 1 && k[0] >= '1' && k[0] <= '8' && F != (std::int64_t{1} << (2 * (k[0] - '0'))))
            bad_head(path, "features \"" + out.features + "\" need " + std::to_string(std::int64_t{1} << (2 * (k[0] - '0'))) +
                " columns but the tensors have " + std::to_string(F));
    }

    auto load_vec = [&](const TensorInfo& t, Vector& v) {
        const std::vector<float> data = st->to_float(t);
        v = Eigen::Map<const Vector>(data.data(), static_cast<Eigen::Index>(data.size()));
    };
    load_vec(mean, out.head.standardizer.mean);
    load_vec(scale, out.head.standardizer.scale);
    load_vec(b, out.head.model.b);
    const std::vector<float> w = st->to_float(W);
    out.head.model.W = Eigen::Map<const Matrix>(w.data(), C, F);
    // The checksum first: a flipped bit is reported as damage, not as whatever value it made.
    const std::string crc = crc32_hex(head_data_crc(out));
    if (!meta.contains("data_crc32")) {
        log_warning(path + ": head file has no \"data_crc32\" (written by an older dnamba); its tensor data cannot be "
                           "checked for damage (train the head again to add the checksum)");
    } else if (!meta["data_crc32"].is_string() || meta["data_crc32"].get<std::string>() != crc) {
        bad_head(path, "the tensor data is damaged: its CRC-32 is " + crc + ", the file says " +
                           (meta["data_crc32"].is_string() ? meta["data_crc32"].get<std::string>() : meta["data_crc32"].dump()));
    }
    for (const auto& [name, finite] : {std::pair<const char*, bool>{"mean", out.head.standardizer.mean.allFinite()},
                                       {"scale", out.head.standardizer.scale.allFinite()},
                                       {"b", out.head.model.b.allFinite()},
                                       {"W", out.head.model.W.allFinite()}})
        if (!finite) bad_head(path, std::string("tensor \"") + name + "\" holds NaN or infinite values");
    if ((out.head.standardizer.scale.array() <= 0).any()) bad_head(path, "tensor \"scale\" holds a value <= 0");
    return out;
}

}  // namespace dnamba
