// Several engines behind one pipeline (issue #16, --device cuda:all / cuda:I,J): the scheduler
// (one compute thread per engine, batches to whichever is free) and the ordered writer, tested
// with CPU engines and plain workers standing in for GPUs: the output is one engine's, row for
// row, whatever the number of engines and their speeds; memory stays bounded; an engine that
// fails mid-run fails the run with its device named and nothing under the output name.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "dnamba/classify.hpp"
#include "dnamba/embed.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/error.hpp"
#include "dnamba/vep.hpp"
#include "pipeline/run_batched.hpp"
#include "test_util.hpp"

using namespace dnamba;
using test::q;
using test::random_dna;

namespace {

const std::string k_model = test::testdata("models/tiny-caduceus");

// `n` engines of the CPU engine (one thread each), named cuda:0 .. cuda:n-1 as make_engines
// names GPUs.
Engines cpu_engines(const Model& model, int n) {
    std::vector<std::unique_ptr<Engine>> engines;
    std::vector<std::string> names;
    EngineOptions eo;
    eo.threads = 1;
    for (int i = 0; i < n; ++i) {
        engines.push_back(make_cpu_engine(model, eo));
        names.push_back("cuda:" + std::to_string(i));
    }
    return Engines(std::move(engines), std::move(names));
}

// A CPU engine that fails as a GPU would (Error(device)) on its `fail_at`-th pass (1-based),
// and counts its passes.
class FailingEngine final : public Engine {
public:
    FailingEngine(const Model& model, int fail_at) : inner_(make_cpu_engine(model, EngineOptions{1})), fail_at_(fail_at) {}
    Matrix forward_packed(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>& lengths) override {
        if (++passes == fail_at_) fail(ErrorKind::device, "CUDA error: out of memory (after retrying the pass in halves)");
        return inner_->forward_packed(ids, lengths);
    }
    std::string description() const override { return "failing " + inner_->description(); }
    std::atomic<int> passes{0};

private:
    std::unique_ptr<Engine> inner_;
    int fail_at_;
};

// A FASTA of 40 records of 120-260 bases.
std::string write_records(const std::string& dir) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += ">r" + std::to_string(i) + "\n" + random_dna(120 + 37 * (i % 5), 100 + i) + "\n";
    test::write_file(dir + "/in.fa", text);
    return dir + "/in.fa";
}

}  // namespace

TEST_CASE("multi-engine: the scheduler keeps input order whatever the workers' speeds, uses every worker, and "
          "bounds what waits for the writer",
          "[pipeline][multi]") {
    for (const std::size_t workers : {1u, 2u, 3u, 5u}) {
        INFO(workers << " workers");
        std::vector<std::string> names;
        for (std::size_t w = 0; w < workers; ++w) names.push_back("cuda:" + std::to_string(w));
        const std::size_t depth = 2, n_items = 60;
        std::size_t next_item = 0;
        std::atomic<int> outstanding{0}, most{0};
        std::vector<std::size_t> order, by_worker(workers, 0);
        pipeline::run_batched_workers<int>(
            [&](int& item) {
                if (next_item == n_items) return false;
                item = static_cast<int>(next_item++);
                return true;
            },
            [](const int&) { return std::size_t{1}; }, pipeline::BatchBudget{2, 0, depth}, names,
            [&](std::size_t w, std::vector<int>& items) {
                // uneven speeds: worker 0 is slow, the others vary per batch
                const int ms = w == 0 ? 4 : (items.front() * 7 + static_cast<int>(w)) % 3;
                std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                const int now = ++outstanding;
                int seen = most.load();
                while (now > seen && !most.compare_exchange_weak(seen, now)) {}
                return std::make_pair(w, items);
            },
            [&](std::pair<std::size_t, std::vector<int>>& r) {
                --outstanding;
                ++by_worker[r.first];
                for (int i : r.second) order.push_back(static_cast<std::size_t>(i));
                std::this_thread::sleep_for(std::chrono::microseconds(300));  // a writer that takes time
            });
        std::vector<std::size_t> want(n_items);
        for (std::size_t i = 0; i < n_items; ++i) want[i] = i;
        CHECK(order == want);
        for (std::size_t w = 0; w < workers; ++w) CHECK(by_worker[w] > 0);
        // results waiting: the reorder window (depth + workers) plus one being put per worker
        CHECK(most.load() <= static_cast<int>(depth + 2 * workers));
    }
}

TEST_CASE("multi-engine: a worker's device error names its device and stops the run; input errors keep their text",
          "[pipeline][multi]") {
    const std::vector<std::string> names{"cuda:0", "cuda:1", "cuda:2"};
    for (const ErrorKind kind : {ErrorKind::device, ErrorKind::input}) {
        std::size_t next_item = 0, written = 0;
        std::vector<int> seen;
        try {
            pipeline::run_batched_workers<int>(
                [&](int& item) {
                    if (next_item == 300) return false;
                    item = static_cast<int>(next_item++);
                    return true;
                },
                [](const int&) { return std::size_t{1}; }, pipeline::BatchBudget{1, 0, 2}, names,
                [&](std::size_t w, std::vector<int>& items) {
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
                    if (w == 1 && items.front() >= 20) fail(kind, "lost the device");
                    return items.front();
                },
                [&](int& i) {
                    seen.push_back(i);
                    ++written;
                });
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.kind() == kind);
            CHECK(std::string(e.what()) == (kind == ErrorKind::device ? "cuda:1: lost the device" : "lost the device"));
        }
        CHECK(written < 300);
        for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == static_cast<int>(i));  // in order to the end
    }
    CHECK_THROWS_WITH(pipeline::run_batched_workers<int>([](int&) { return false; }, [](const int&) { return std::size_t{1}; },
                                                         pipeline::BatchBudget{}, {},
                                                         [](std::size_t, std::vector<int>&) { return 0; }, [](int&) {}),
                      Catch::Contains("no compute worker"));
}

TEST_CASE("multi-engine: several CPU engines give one engine's embed, stream, features and vep output", "[pipeline][multi]") {
    const std::string dir = test::scratch_dir("multi_engine_same");
    const std::string fasta = write_records(dir);
    const Model model = load_model(k_model);
    auto one = make_cpu_engine(model, EngineOptions{1});
    InputOptions in;
    in.path = fasta;
    in.windows.window = 100;
    in.windows.stride = 50;
    EmbedOptions opt;
    opt.pool = PoolMode::mean;
    opt.rc = RcMode::average;
    opt.batch_tokens = 250;  // two or so windows a pass: dozens of batches
    opt.progress = false;
    const auto base = embed_input(*one, model, in, dir + "/one.tsv", opt);
    const std::string want = test::read_file(dir + "/one.tsv");
    REQUIRE(base.records > 60);
    for (const int n : {2, 3, 4}) {
        INFO(n << " engines");
        const Engines engines = cpu_engines(model, n);
        CHECK(engines.size() == static_cast<std::size_t>(n));
        const std::string out = dir + "/multi" + std::to_string(n) + ".tsv";
        const auto s = embed_input(engines, model, in, out, opt);
        CHECK(s.records == base.records);
        CHECK(test::read_file(out) == want);
    }
    // per-position .npz, and the stream the Python API reads
    opt.pool = PoolMode::none;
    (void)embed_input(*one, model, in, dir + "/one.npz", opt);
    const Engines three = cpu_engines(model, 3);
    (void)embed_input(three, model, in, dir + "/three.npz", opt);
    const auto a = test::read_npz_simple(dir + "/one.npz"), b = test::read_npz_simple(dir + "/three.npz");
    REQUIRE(a.size() == b.size());
    for (const auto& [name, m] : a) {
        REQUIRE(b.count(name) == 1);
        CHECK(test::rel_error(b.at(name), m) == 0.0);
    }
    std::vector<RowInfo> rows_one, rows_three;
    std::vector<Matrix> vals_one, vals_three;
    for (const bool multi : {false, true}) {
        EmbeddingStream stream(multi ? three : Engines(*one), model, open_input(in), opt);
        EmbeddingBatch batch;
        while (stream.next(batch)) {
            for (std::size_t i = 0; i < batch.rows.size(); ++i) {
                (multi ? rows_three : rows_one).push_back(batch.rows[i]);
                (multi ? vals_three : vals_one).push_back(batch.values[i]);
            }
        }
    }
    REQUIRE(rows_three.size() == rows_one.size());
    for (std::size_t i = 0; i < rows_one.size(); ++i) {
        CHECK(rows_three[i].name == rows_one[i].name);
        CHECK(test::rel_error(vals_three[i], vals_one[i]) == 0.0);
    }
    {  // a stream closed after its first batch (Python's close()) stops every engine's thread
        EmbeddingStream early(three, model, open_input(in), opt);
        EmbeddingBatch batch;
        REQUIRE(early.next(batch));
        CHECK(batch.rows.front().name == rows_one.front().name);
    }
    // classify/train-head features (the embedding and 2-mers)
    FeatureSpec spec;
    spec.kmer = 2;
    EmbedOptions fo;
    fo.pool = PoolMode::mean;
    fo.batch_tokens = 200;
    fo.progress = false;
    Matrix f_one, f_three;
    for (const bool multi : {false, true}) {
        std::vector<Vector> rows;
        const Engines single(*one);
        extract_features(in, spec, multi ? &three : &single, &model, fo, [&](FeatureBatch& b) {
            for (Eigen::Index i = 0; i < b.X.rows(); ++i) rows.emplace_back(b.X.row(i).transpose());
        });
        Matrix& X = multi ? f_three : f_one;
        X.resize(static_cast<Eigen::Index>(rows.size()), rows.front().size());
        for (std::size_t i = 0; i < rows.size(); ++i) X.row(static_cast<Eigen::Index>(i)) = rows[i].transpose();
    }
    REQUIRE(f_one.rows() == static_cast<Eigen::Index>(base.records));
    CHECK(test::rel_error(f_three, f_one) == 0.0);
    // vep: records in VCF order, each scored as one engine scores it
    const Model vep_model = load_model(test::testdata("golden/a_caduceus_ph"));
    VepOptions vo;
    vo.vcf = test::testdata("vep/variants.vcf");
    vo.fasta = test::testdata("vep/genome.fa");
    vo.window = 64;
    vo.scores = {VariantScore::masked_llr, VariantScore::llr, VariantScore::emb_l2};
    vo.model_name = "a_caduceus_ph";
    vo.batch_tokens = 64;
    vo.progress = false;
    auto vep_one = make_cpu_engine(vep_model, EngineOptions{1});
    (void)vep_score_file(*vep_one, vep_model, vo, dir + "/vep_one.tsv");
    const auto vs = vep_score_file(cpu_engines(vep_model, 3), vep_model, vo, dir + "/vep_three.tsv");
    CHECK(vs.batches > 3);
    CHECK(test::read_file(dir + "/vep_three.tsv") == test::read_file(dir + "/vep_one.tsv"));
}

TEST_CASE("multi-engine: an engine failing mid-run fails embed with its device named and no output", "[pipeline][multi]") {
    const std::string dir = test::scratch_dir("multi_engine_fail");
    const std::string fasta = write_records(dir);
    const Model model = load_model(k_model);
    std::vector<std::unique_ptr<Engine>> list;
    list.push_back(make_cpu_engine(model, EngineOptions{1}));
    auto failing = std::make_unique<FailingEngine>(model, 2);
    FailingEngine* watch = failing.get();
    list.push_back(std::move(failing));
    list.push_back(make_cpu_engine(model, EngineOptions{1}));
    const Engines engines(std::move(list), {"cuda:0", "cuda:1", "cuda:2"});
    InputOptions in;
    in.path = fasta;
    EmbedOptions opt;
    opt.pool = PoolMode::mean;
    opt.batch_tokens = 150;  // one record a pass: 40 batches
    opt.progress = false;
    for (const std::string name : {"out.tsv", "out.npz"}) {
        watch->passes = 0;
        if (name == "out.npz") opt.pool = PoolMode::none;
        try {
            (void)embed_input(engines, model, in, dir + "/" + name, opt);
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::device);
            CHECK_THAT(std::string(e.what()), Catch::StartsWith("cuda:1: CUDA error: out of memory"));
        }
        CHECK(watch->passes >= 2);
        CHECK_FALSE(test::file_exists(dir + "/" + name));
    }
    for (const auto& e : std::filesystem::directory_iterator(dir))
        CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("multi-engine: --device cuda:all and cuda:I,J parse, and say what to do without GPUs", "[engine][multi]") {
    const DeviceSpec all = parse_device("cuda:all");
    CHECK(all.kind == DeviceKind::cuda);
    CHECK(all.all);
    CHECK(all.is_list());
    const DeviceSpec two = parse_device("cuda:0,1");
    CHECK(two.indices == std::vector<int>{0, 1});
    CHECK(two.is_list());
    CHECK(parse_device("cuda:1,1").indices == std::vector<int>{1, 1});  // two engines on one GPU
    const DeviceSpec one = parse_device("cuda:3");
    CHECK_FALSE(one.is_list());
    CHECK(one.index == 3);
    for (const char* bad : {"cuda:", "cuda:0,", "cuda:,1", "cuda:a", "cuda:0;1", "cuda:0,,1", "cuda:99999", "cuda:-1",
                            "cuda:ALL", "gpu:0"}) {
        INFO(bad);
        CHECK(test::error_of([&] { (void)parse_device(bad); }, ErrorKind::usage).find(bad) != std::string::npos);
    }
    const Model model = load_model(k_model);
    CHECK(make_engines(model, parse_device("cpu"), EngineOptions{1}).size() == 1);
    CHECK_THAT(test::error_of([&] { (void)make_engine(model, two, EngineOptions{}); }, ErrorKind::usage),
               Catch::Contains("make_engines"));
    // bench --stages times one engine: refused for a list before any engine is made
    const auto stages = test::run_dnamba("bench --preset caduceus-1k --length 100 --device cuda:0,1 --stages");
    CHECK(stages.exit_code == 2);
    CHECK_THAT(stages.err, Catch::Contains("--stages") && Catch::Contains("not a list"));
    if (cuda_device_count() > 0) return;  // the rest is what a machine without a GPU says
    CHECK_THAT(test::error_of([&] { (void)make_engines(model, all, EngineOptions{}); }, ErrorKind::device),
               Catch::Contains("cuda:all") && Catch::Contains("--device cpu"));
    CHECK_THAT(test::error_of([&] { (void)make_engines(model, two, EngineOptions{}); }, ErrorKind::device),
               Catch::Contains("cuda:0"));
    // through the binary: exit 5, the device named, nothing written
    const std::string dir = test::scratch_dir("multi_engine_cli");
    const std::string fasta = write_records(dir);
    for (const std::string dev : {"cuda:all", "cuda:0,1"}) {
        const auto r = test::run_dnamba("embed -q -m " + q(k_model) + " -i " + q(fasta) + " --device " + dev + " -o " +
                                        q(dir + "/out.tsv"));
        CHECK(r.exit_code == 5);
        CHECK_THAT(r.err, Catch::Contains(dev == "cuda:all" ? "cuda:all" : "cuda:0"));
        CHECK_FALSE(test::file_exists(dir + "/out.tsv"));
    }
}
