// Signals and resources (issue #17 item 2), on the real binary: SIGINT/SIGTERM in the middle of
// an embed or of a FASTA index build leave no temporary file and nothing under the final name;
// two runs writing one output leave one complete output; a missing directory, /dev/full, a full
// disk (RLIMIT_FSIZE) and a thread that cannot be created are clean errors that leave nothing;
// the progress line of embed, classify and train-head comes on a timer, not once per batch.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace fs = std::filesystem;

namespace {

const std::string k_model = dnamba::test::testdata("golden/a_caduceus_ph");

// Starts `dnamba args...` with stdout and stderr into `log_base`.out/.err; `in_child` runs in the
// child before exec (rlimits, signal dispositions). Returns the child's pid.
pid_t spawn_dnamba(const std::vector<std::string>& args, const std::string& log_base,
                   const std::function<void()>& in_child = {}) {
    std::vector<std::string> argv_s = {DNAMBA_BINARY};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int out = ::open((log_base + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err = ::open((log_base + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(out, 1);
        ::dup2(err, 2);
        if (in_child) in_child();
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

int wait_status(pid_t pid) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return status;
}

using dnamba::test::dir_entries;

// Waits (up to 60 s) until `dir` holds a file whose name starts with `prefix`; false if `pid`
// ended first.
bool wait_for_entry(const std::string& dir, const std::string& prefix, pid_t pid) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().filename().string().rfind(prefix, 0) == 0) return true;
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return false;
}

// `records` random sequences of `length` bases, 60 per line.
void write_random_fasta(const std::string& path, int records, int length, unsigned seed = 1) {
    std::mt19937 rng(seed);
    std::string text;
    text.reserve(static_cast<std::size_t>(records) * (static_cast<std::size_t>(length) * 61 / 60 + 16));
    for (int r = 0; r < records; ++r) {
        text += ">s" + std::to_string(r) + "\n";
        for (int i = 0; i < length; ++i) {
            text += "ACGT"[rng() & 3];
            if (i % 60 == 59 || i == length - 1) text += '\n';
        }
    }
    dnamba::test::write_file(path, text);
}

}  // namespace

TEST_CASE("signals: SIGINT and SIGTERM in the middle of embed leave no temporary and no output", "[hardening][signals]") {
    const std::string dir = dnamba::test::scratch_dir("sig_embed");
    const std::string fa = dir + "/big.fa";
    write_random_fasta(fa, 40, 20000);  // 800 kb: seconds of the tiny model on one thread
    for (const int sig : {SIGINT, SIGTERM}) {
        INFO("signal " << sig);
        fs::create_directories(dir + "/out");
        const pid_t pid = spawn_dnamba({"embed", "-m", k_model, "-i", fa, "-o", dir + "/out/e.tsv", "-t", "1",
                                        "--batch-tokens", "20000"},
                                       dir + "/log");
        REQUIRE(wait_for_entry(dir + "/out", ".e.tsv.tmp.", pid));
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // some rows written
        REQUIRE(::kill(pid, sig) == 0);
        const int status = wait_status(pid);
        // Died of the signal itself (the handler re-raises it), so a shell sees 128+sig.
        CHECK(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == sig);
        CHECK(dir_entries(dir + "/out").empty());
        fs::remove_all(dir + "/out");
    }
}

TEST_CASE("signals: SIGINT while the .fai is built (dnamba index, on-demand index) leaves no index", "[hardening][signals]") {
    const std::string dir = dnamba::test::scratch_dir("sig_index");
    const std::string fa = dir + "/many.fa";
    // Many short records: htslib's fai_build spends its time per record (a hash insert and a line).
    {
        std::string text;
        for (int r = 0; r < 1500000; ++r) text += ">r" + std::to_string(r) + "\nACGTACGTAC\n";
        dnamba::test::write_file(fa, text);
    }
    const std::vector<std::vector<std::string>> commands = {
        {"index", fa},
        {"embed", "-m", k_model, "-i", fa, "--region", "r7:1-10", "-o", dir + "/e.tsv"},
    };
    for (const auto& args : commands) {
        INFO(args[0]);
        const pid_t pid = spawn_dnamba(args, dir + "/../sig_index_log");
        REQUIRE(wait_for_entry(dir, ".many.fa.fai.tmp.", pid));
        REQUIRE(::kill(pid, SIGINT) == 0);
        const int status = wait_status(pid);
        CHECK(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == SIGINT);
        CHECK(dir_entries(dir) == std::vector<std::string>{"many.fa"});
    }
    // Uninterrupted, the same build leaves the index and nothing else.
    const auto r = dnamba::test::run_dnamba("index " + fa);
    CHECK(r.exit_code == 0);
    CHECK(dir_entries(dir) == std::vector<std::string>{"many.fa", "many.fa.fai"});
    CHECK(dnamba::test::read_file(fa + ".fai").rfind("r0\t10\t4\t10\t11\nr1\t10\t19\t10\t11\n", 0) == 0);
}

TEST_CASE("signals: two runs writing the same output leave one complete output", "[hardening][signals]") {
    const std::string dir = dnamba::test::scratch_dir("sig_concurrent");
    const std::string fa = dir + "/in.fa";
    write_random_fasta(fa, 20, 4000);
    // What each run writes alone.
    for (const char* pool : {"mean", "max"}) {
        const auto r = dnamba::test::run_dnamba("embed -q -t 1 -m " + k_model + " -i " + fa + " --pool " + pool + " -o " +
                                                dir + "/alone_" + pool + ".tsv");
        REQUIRE(r.exit_code == 0);
    }
    const std::string mean = dnamba::test::read_file(dir + "/alone_mean.tsv");
    const std::string max = dnamba::test::read_file(dir + "/alone_max.tsv");
    REQUIRE(mean != max);
    fs::create_directories(dir + "/out");
    for (int round = 0; round < 2; ++round) {
        const pid_t a = spawn_dnamba({"embed", "-q", "-t", "1", "-m", k_model, "-i", fa, "--pool", "mean", "-o",
                                      dir + "/out/e.tsv"},
                                     dir + "/log_a");
        const pid_t b = spawn_dnamba({"embed", "-q", "-t", "1", "-m", k_model, "-i", fa, "--pool", "max", "-o",
                                      dir + "/out/e.tsv"},
                                     dir + "/log_b");
        const int sa = wait_status(a), sb = wait_status(b);
        CHECK((WIFEXITED(sa) && WEXITSTATUS(sa) == 0));
        CHECK((WIFEXITED(sb) && WEXITSTATUS(sb) == 0));
        const std::string got = dnamba::test::read_file(dir + "/out/e.tsv");
        CHECK((got == mean || got == max));  // whichever renamed last, whole
        CHECK(dir_entries(dir + "/out") == std::vector<std::string>{"e.tsv"});
    }
}

TEST_CASE("resources: a missing directory, /dev/full, a full disk and no threads are clean errors that leave nothing",
          "[hardening][signals]") {
    const std::string dir = dnamba::test::scratch_dir("sig_resources");
    const std::string fa = dir + "/in.fa";
    write_random_fasta(fa, 50, 200);
    const std::string embed = "embed -t 1 -m " + k_model + " -i " + fa + " -o ";

    auto r = dnamba::test::run_dnamba(embed + dir + "/no/such/dir/e.tsv");
    CHECK(r.exit_code == 6);
    CHECK_THAT(r.err, Catch::Contains(dir + "/no/such/dir/e.tsv: cannot create output") &&
                          Catch::Contains("(does the directory exist?)"));
    CHECK_FALSE(fs::exists(dir + "/no"));

    // A device is written in place (the format still comes from the name, so through a link):
    // /dev/full fails on the write and stays the device; before, a temporary beside the final
    // name and a rename would have replaced the device node (as root, in /dev).
    fs::create_symlink("/dev/full", dir + "/full.tsv");
    fs::create_symlink("/dev/null", dir + "/null.tsv");
    r = dnamba::test::run_dnamba(embed + dir + "/full.tsv");
    CHECK(r.exit_code == 6);
    CHECK_THAT(r.err, Catch::Contains(dir + "/full.tsv: write failed") && Catch::Contains("No space left on device"));
    struct stat st {};
    REQUIRE(::stat("/dev/full", &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK(fs::is_symlink(dir + "/full.tsv"));
    r = dnamba::test::run_dnamba(embed + dir + "/null.tsv");
    CHECK(r.exit_code == 0);
    CHECK(fs::is_symlink(dir + "/null.tsv"));
    REQUIRE(::stat("/dev/null", &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK(dir_entries(dir) == std::vector<std::string>{"full.tsv", "in.fa", "null.tsv"});

    // A full disk: a file size limit (SIGXFSZ ignored, so the write fails with EFBIG).
    fs::create_directories(dir + "/out");
    pid_t pid = spawn_dnamba({"embed", "-t", "1", "-m", k_model, "-i", fa, "-o", dir + "/out/e.tsv"}, dir + "/log_fsize",
                             [] {
                                 ::signal(SIGXFSZ, SIG_IGN);
                                 const rlimit limit{4096, 4096};
                                 ::setrlimit(RLIMIT_FSIZE, &limit);
                             });
    int status = wait_status(pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 6));
    CHECK_THAT(dnamba::test::read_file(dir + "/log_fsize.err"),
               Catch::Contains(dir + "/out/e.tsv: write failed") && Catch::Contains("File too large"));
    CHECK(dir_entries(dir + "/out").empty());

    // No thread can be created: every new thread's stack (sized by RLIMIT_STACK) is larger than
    // the address space left (RLIMIT_AS), which the main thread, already running, does not need.
    // (Not under AddressSanitizer, whose shadow memory alone is more than any RLIMIT_AS.)
#ifdef __SANITIZE_ADDRESS__
    return;
#endif
    pid = spawn_dnamba({"embed", "-t", "1", "-m", k_model, "-i", fa, "-o", dir + "/out/e.tsv"}, dir + "/log_threads", [] {
        const rlimit stack{rlim_t{64} << 30, RLIM_INFINITY};
        const rlimit as{rlim_t{16} << 30, rlim_t{16} << 30};
        ::setrlimit(RLIMIT_STACK, &stack);
        ::setrlimit(RLIMIT_AS, &as);
    });
    status = wait_status(pid);
    const std::string err = dnamba::test::read_file(dir + "/log_threads.err");
    INFO(err);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 5));
    CHECK_THAT(err, Catch::Contains("dnamba embed: error: cannot start the reader thread: ") &&
                        Catch::Contains("ulimit -u"));
    CHECK(dir_entries(dir + "/out").empty());
}

TEST_CASE("progress: embed, classify and train-head report on a timer, not once per batch", "[hardening][progress]") {
    const std::string dir = dnamba::test::scratch_dir("progress_timer");
    const std::string fa = dir + "/in.fa";
    write_random_fasta(fa, 20, 10000);  // 200 kb in one batch: most of a second on one thread
    std::string bed;
    for (int r = 0; r < 20; ++r) bed += "s" + std::to_string(r) + "\t0\t10000\t" + (r % 2 ? "b" : "a") + "\n";
    dnamba::test::write_file(dir + "/labels.bed", bed);
    const std::string common = " -t 1 --batch-tokens 1000000 -m " + k_model + " -i " + fa;
    // A head for classify, trained quietly.
    REQUIRE(dnamba::test::run_dnamba("train-head -q" + common + " --regions " + dir + "/labels.bed -o " + dir +
                                     "/quiet.head")
                .exit_code == 0);
    const std::vector<std::string> commands = {
        "embed" + common + " -o " + dir + "/e.tsv",
        "classify --head " + dir + "/quiet.head" + common + " --window 10000 -o " + dir + "/c.tsv",
        "train-head" + common + " --regions " + dir + "/labels.bed -o " + dir + "/t.head",
    };
    ::setenv("DNAMBA_PROGRESS_INTERVAL", "0.05", 1);
    for (const auto& command : commands) {
        INFO(command);
        const auto r = dnamba::test::run_dnamba(command);
        REQUIRE(r.exit_code == 0);
        // stderr is a file: one log line per report, "dnamba: <bases>, <rows> rows, <rate>/s, <t> elapsed".
        std::size_t lines = 0, done = 0;
        std::istringstream in(r.err);
        for (std::string line; std::getline(in, line);) {
            if (line.find(" rows, ") == std::string::npos || line.find(" elapsed") == std::string::npos) continue;
            CHECK(line.rfind("dnamba: ", 0) == 0);
            ++lines;
            if (line.find("200.0 kbp, 20 rows") != std::string::npos) ++done;
        }
        // One batch: a report per batch would be one line at most.
        CHECK(lines >= 3);
        CHECK(lines > done);
    }
    const auto quiet = dnamba::test::run_dnamba("embed -q" + common + " -o " + dir + "/q.tsv");
    CHECK(quiet.exit_code == 0);
    CHECK(quiet.err.empty());
    ::unsetenv("DNAMBA_PROGRESS_INTERVAL");
}
