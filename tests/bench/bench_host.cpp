// The host side of `dnamba embed` alone (issue #12 item 5, issue #16): the reader (FASTA, windows),
// the tokenizer and the writer, with an engine that computes nothing, so the rate printed is the
// most any GPU engine could be fed at. A program that prints numbers, not a test.
//
//   dnamba_bench_host MBP WINDOW [ENGINES [EXT]]
//
// writes a random genome of MBP million bases (4 records, 60-column lines) under $TMPDIR (or
// /tmp), then embeds it in WINDOW-base windows, mean-pooled, into a .EXT file (npy or tsv;
// default npy) with ENGINES null engines (default 1: the compute threads tokenize in parallel),
// and prints the wall time and Mbp/s. The files are removed at the end.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "dnamba/embed.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"
#include "dnamba/model.hpp"

using namespace dnamba;

namespace {

// Pools on the "device": returns [sequences x C] rows whose first column is the sum of the
// token ids (so the tokenizer's work is used), the rest zero.
class NullEngine final : public Engine {
public:
    explicit NullEngine(int channels) : channels_(channels) {}
    Matrix forward_packed(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>&) override {
        return Matrix::Zero(static_cast<Eigen::Index>(ids.size()), channels_);
    }
    Matrix forward_pooled_mean(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>& lengths) override {
        Matrix out = Matrix::Zero(static_cast<Eigen::Index>(lengths.size()), channels_);
        std::size_t at = 0;
        for (std::size_t i = 0; i < lengths.size(); ++i) {
            long long sum = 0;
            for (std::size_t k = 0; k < lengths[i]; ++k) sum += ids[at + k];
            at += lengths[i];
            out(static_cast<Eigen::Index>(i), 0) = static_cast<float>(sum);
        }
        return out;
    }
    bool pools_on_device() const override { return true; }
    std::string description() const override { return "null engine"; }

private:
    int channels_;
};

void write_genome(const std::string& path, long long mbp) {
    std::ofstream out(path, std::ios::binary);
    std::mt19937_64 rng(1);
    const long long per = mbp * 1000000 / 4;
    std::string line(61, '\n');
    for (int c = 0; c < 4; ++c) {
        out << ">chr" << c + 1 << "\n";
        for (long long left = per; left > 0; left -= 60) {
            const long long n = std::min(left, 60LL);
            std::uint64_t bits = 0;
            for (long long i = 0; i < n; ++i) {
                if (i % 32 == 0) bits = rng();
                line[static_cast<std::size_t>(i)] = "ACGT"[bits & 3];
                bits >>= 2;
            }
            line[static_cast<std::size_t>(n)] = '\n';
            out.write(line.data(), n + 1);
        }
    }
    if (!out) fail(ErrorKind::io, "cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: dnamba_bench_host MBP WINDOW [ENGINES [npy|tsv]]\n");
        return 2;
    }
    try {
        const long long mbp = std::atoll(argv[1]), window = std::atoll(argv[2]);
        const int engines = argc > 3 ? std::atoi(argv[3]) : 1;
        const std::string ext = argc > 4 ? argv[4] : "npy";
        if (mbp < 1 || window < 1 || engines < 1 || (ext != "npy" && ext != "tsv")) {
            std::fprintf(stderr, "dnamba_bench_host: MBP, WINDOW and ENGINES must be positive, EXT npy or tsv\n");
            return 2;
        }
        set_log_quiet(true);
        const char* tmp = std::getenv("TMPDIR");
        const std::string base = std::string(tmp && *tmp ? tmp : "/tmp") + "/dnamba_bench_host_" + std::to_string(getpid());
        const std::string fasta = base + ".fa", output = base + "." + ext;
        auto t0 = std::chrono::steady_clock::now();
        write_genome(fasta, mbp);
        const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

        const ModelConfig config = preset_config("caduceus-131k");
        const Model model = make_random_model(config, 1);  // the shapes embed checks; no weights are used
        std::vector<std::unique_ptr<Engine>> list;
        std::vector<std::string> names;
        for (int i = 0; i < engines; ++i) {
            list.push_back(std::make_unique<NullEngine>(config.d_model));
            names.push_back("null:" + std::to_string(i));
        }
        const Engines all(std::move(list), std::move(names));
        InputOptions in;
        in.path = fasta;
        in.windows.window = window;
        EmbedOptions opt;
        opt.pool = PoolMode::mean;
        opt.progress = false;
        t0 = std::chrono::steady_clock::now();
        const EmbedSummary s = embed_input(all, model, in, output, opt);
        const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("host side of embed: %lld Mbp genome (written in %.1f s), %lld-nt windows, %d null engine(s), .%s: "
                    "%zu rows in %.2f s = %.1f Mbp/s\n",
                    mbp, gen_s, window, engines, ext.c_str(), s.records, sec, static_cast<double>(s.bases) / sec / 1e6);
        std::filesystem::remove(fasta);
        std::filesystem::remove(fasta + ".fai");
        std::filesystem::remove(output);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dnamba_bench_host: %s\n", e.what());
        return 1;
    }
    return 0;
}
