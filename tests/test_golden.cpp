// Golden tests: the CPU engine against the project's PyTorch reference
// (testdata/reference/make_golden.py) on every checkpoint layout and variant, within the
// numerics contract of 1e-4 relative (Frobenius) per sequence, hidden states and logits.
#include <catch2/catch.hpp>
#include <algorithm>
#include <filesystem>
#include <set>

#include "dnamba/engine.hpp"
#include "model/safetensors.hpp"
#include "dnamba/tokenizer.hpp"
#include "test_util.hpp"

using namespace dnamba;

namespace {

std::vector<std::string> golden_cases() {
    std::vector<std::string> cases;
    for (const auto& entry : std::filesystem::directory_iterator(test::testdata("golden")))
        if (entry.is_directory() && std::filesystem::exists(entry.path() / "expected.safetensors"))
            cases.push_back(entry.path().filename().string());
    std::sort(cases.begin(), cases.end());
    return cases;
}

Matrix tensor_matrix(const SafetensorsFile& f, const TensorInfo& t) {
    auto v = f.to_float(t);
    return Eigen::Map<Matrix>(v.data(), t.shape.at(0), t.shape.at(1));
}

}  // namespace

TEST_CASE("golden: every case matches the PyTorch reference within 1e-4", "[golden]") {
    const auto cases = golden_cases();
    REQUIRE(cases.size() >= 10);
    const auto inputs = test::read_fasta_simple(test::testdata("golden/inputs.fa"));
    REQUIRE(inputs.size() == 7);
    std::set<std::size_t> lengths_seen;
    int compared = 0;
    for (const auto& name : cases) {
        const std::string dir = test::testdata("golden/" + name);
        const Model model = load_model(dir);
        auto engine = make_cpu_engine(model, EngineOptions{});
        const SafetensorsFile expected(dir + "/expected.safetensors");
        for (const auto& t : expected.tensors()) {
            if (t.name.rfind("hidden.", 0) != 0) continue;
            const std::string seq_name = t.name.substr(7);
            INFO("case " << name << ", sequence " << seq_name);
            REQUIRE(inputs.count(seq_name) == 1);
            const auto ids = tokenize(inputs.at(seq_name), false);
            const TensorInfo* ids_info = expected.find("ids." + seq_name);
            REQUIRE(ids_info != nullptr);
            const auto want_ids = expected.to_int(*ids_info);
            REQUIRE(want_ids == std::vector<std::int64_t>(ids.begin(), ids.end()));
            const Matrix h = engine->forward(ids);
            const Matrix want = tensor_matrix(expected, t);
            REQUIRE(h.rows() == want.rows());
            REQUIRE(h.cols() == want.cols());
            const double err = test::rel_error(h, want);
            INFO("hidden relative error " << err);
            CHECK(err < 1e-4);
            lengths_seen.insert(ids.size());
            ++compared;
            if (const TensorInfo* lt = expected.find("logits." + seq_name)) {
                const Matrix logits = lm_logits(model, h);
                const Matrix want_logits = tensor_matrix(expected, *lt);
                REQUIRE(logits.rows() == want_logits.rows());
                REQUIRE(logits.cols() == want_logits.cols());
                const double lerr = test::rel_error(logits, want_logits);
                INFO("logits relative error " << lerr);
                CHECK(lerr < 1e-4);
            }
        }
    }
    CHECK(compared >= 50);
    for (std::size_t L : {1, 3, 7, 100, 2047, 2049, 5000}) CHECK(lengths_seen.count(L) == 1);
}

TEST_CASE("golden: the shipped pretrained model matches its training code within 1e-4", "[golden]") {
    // testdata/pretrained: models/train/train_caduceus.py golden (the training code's own forward
    // pass, fp32 on the CPU) on windows of held-out genomes, lengths 1 to 2,500.
    const std::string model_dir = test::testdata("../models/caduceus-ps-1m-debian");
    const Model model = load_model(model_dir);
    CHECK(model.config.rcps);
    CHECK(model.parameter_count == 1080448);
    auto engine = make_cpu_engine(model, EngineOptions{});
    const auto inputs = test::read_fasta_simple(test::testdata("pretrained/inputs.fa"));
    const SafetensorsFile expected(test::testdata("pretrained/expected.safetensors"));
    int compared = 0;
    for (const auto& [name, seq] : inputs) {
        INFO("sequence " << name);
        const TensorInfo* want_info = expected.find("hidden." + name);
        REQUIRE(want_info != nullptr);
        const auto ids = tokenize(seq, false);
        const Matrix h = engine->forward(ids);
        const Matrix want = tensor_matrix(expected, *want_info);
        REQUIRE(h.rows() == want.rows());
        REQUIRE(h.cols() == want.cols());
        const double err = test::rel_error(h, want);
        INFO("hidden relative error " << err);
        CHECK(err < 1e-4);
        if (const TensorInfo* lt = expected.find("logits." + name)) {
            const double lerr = test::rel_error(lm_logits(model, h), tensor_matrix(expected, *lt));
            INFO("logits relative error " << lerr);
            CHECK(lerr < 1e-4);
        }
        ++compared;
    }
    CHECK(compared == 5);
}
