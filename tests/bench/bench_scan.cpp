// Scan-only micro-benchmark of the CUDA selective scan (kernels/scan.cu): one
// sequence, d_inner 512, d_state 16 by default, z gate, D skip, delta bias and softplus on
// (as DEVICE.md's mamba_ssm reference), fp32 or bf16 in and out. Prints the median of
// `repeat` timed runs (after a warm-up), the bytes the scan must move at least (u, delta, z
// read, y written, B and C read) and the bandwidth that implies.
//   build-gpu/tests/dnamba_bench_scan [L [d_inner [d_state [repeat [chunk [fp32|bf16
//                                       [auto|one-pass|chunked|segments [warps per channel [acc]]]]]]]]]
// acc: y += the scan's output (the bidirectional add of the engine's one-chunk passes), y zeroed
// first. segments: a batch of equal sequences of `chunk` rows (a reset at every chunk-th row),
// scanned by the output pass alone over whole sequences (ScanAlgorithm::segments); compare with
// chunked at the same L, whose work the resets do not change.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <type_traits>
#include <vector>

#include "runtime.hpp"
#include "scan.hpp"

namespace k = dnamba::kernels;

static void check(const k::Status& e) {
    if (!e.ok()) {
        std::fprintf(stderr, "bench_scan: %s\n", e.message().c_str());
        std::exit(1);
    }
}

template <typename T>
static int run(int L, int di, int N, int repeat, int chunk, k::ScanAlgorithm algorithm, int warps, bool acc) {
    std::mt19937 g(1);
    std::uniform_real_distribution<float> unit(-1, 1), dt(-5.0f, -1.0f), neg(-8, -0.1f);
    const std::size_t ld = static_cast<std::size_t>(L) * di;
    std::vector<float> u(ld), delta(ld), z(ld), A(static_cast<std::size_t>(di) * N), D(di), bias(di),
        bc(static_cast<std::size_t>(L) * 2 * N);
    for (auto& x : u) x = unit(g);
    for (auto& x : delta) x = dt(g);
    for (auto& x : z) x = unit(g);
    for (auto& x : A) x = neg(g);
    for (auto& x : D) x = unit(g);
    for (auto& x : bias) x = unit(g);
    for (auto& x : bc) x = unit(g);
    auto upload_f32 = [&](const std::vector<float>& h) {
        void* p = nullptr;
        check(k::device_alloc(&p, h.size() * sizeof(float)));
        check(k::copy_to_device(p, h.data(), h.size() * sizeof(float)));
        return static_cast<float*>(p);
    };
    auto upload = [&](const std::vector<float>& h) {
        std::vector<T> v(h.size());
        for (std::size_t i = 0; i < h.size(); ++i) {
            if constexpr (std::is_same_v<T, float>) v[i] = h[i];
            else v[i] = k::to_bf16(h[i]);
        }
        void* p = nullptr;
        check(k::device_alloc(&p, v.size() * sizeof(T)));
        check(k::copy_to_device(p, v.data(), v.size() * sizeof(T)));
        return static_cast<T*>(p);
    };
    k::ScanArgsT<T> a;
    a.length = L;
    a.d_inner = di;
    a.d_state = N;
    a.u = upload(u);
    a.delta = upload(delta);
    a.delta_bias = upload_f32(bias);
    a.delta_softplus = true;
    a.z = upload(z);
    a.ld_z = di;
    a.A = upload_f32(A);
    a.D = upload_f32(D);
    T* dbc = upload(bc);
    a.B = dbc;
    a.C = dbc + N;
    a.ld_bc = 2 * N;
    void* y = nullptr;
    check(k::device_alloc(&y, ld * sizeof(T)));
    check(k::fill_zero(y, ld * sizeof(T)));
    a.y = static_cast<T*>(y);
    a.accumulate = acc;
    void* ws = nullptr;
    check(k::device_alloc(&ws, k::scan_workspace_floats(L, di, N, chunk) * sizeof(float)));
    a.workspace = static_cast<float*>(ws);
    const bool segments = algorithm == k::ScanAlgorithm::segments;
    std::vector<unsigned char> reset;
    if (segments) {
        if (chunk <= 0) {
            std::fprintf(stderr, "bench_scan: segments needs the sequence length as its chunk argument\n");
            std::exit(2);
        }
        reset.assign(static_cast<std::size_t>(L), 0);
        for (int t = 0; t < L; t += chunk) reset[static_cast<std::size_t>(t)] = 1;
        void* r = nullptr;
        check(k::device_alloc(&r, reset.size()));
        check(k::copy_to_device(r, reset.data(), reset.size()));
        a.reset = static_cast<const unsigned char*>(r);
        a.segment_rows = chunk;
    }
    a.chunk = segments ? 0 : chunk;
    a.algorithm = algorithm;
    a.warps_per_channel = warps;
    const bool one_pass = k::scan_picks_one_pass(a);  // automatic: scan.hpp says which
    check(k::selective_scan(a));
    check(k::device_synchronize());
    std::vector<double> ms;
    for (int r = 0; r < repeat; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        check(k::selective_scan(a));
        check(k::device_synchronize());
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double bytes = static_cast<double>(sizeof(T)) * ((acc ? 5.0 : 4.0) * L * di + 2.0 * L * N);
    const double med = ms[ms.size() / 2];
    char how[64];
    if (one_pass) std::snprintf(how, sizeof how, "one-pass warps=%d", warps > 0 ? warps : 0);
    else if (segments) std::snprintf(how, sizeof how, "segments of %d rows", chunk);
    else std::snprintf(how, sizeof how, "chunked chunk=%d", chunk > 0 ? chunk : k::scan_default_chunk(L, di));
    std::printf("scan L=%d d_inner=%d d_state=%d %s %s%s: median %.3f ms (min %.3f, max %.3f) over %d runs; "
                "at least %.1f MB moved -> %.0f GB/s effective\n",
                L, di, N, std::is_same_v<T, float> ? "fp32" : "bf16", how, acc ? " y+=" : "", med, ms.front(), ms.back(), repeat,
                bytes / 1e6, bytes / med / 1e6);
    return 0;
}

int main(int argc, char** argv) {
    const int L = argc > 1 ? std::atoi(argv[1]) : 1048576;
    const int di = argc > 2 ? std::atoi(argv[2]) : 512;
    const int N = argc > 3 ? std::atoi(argv[3]) : 16;
    const int repeat = argc > 4 ? std::atoi(argv[4]) : 10;
    const int chunk = argc > 5 ? std::atoi(argv[5]) : 0;  // 0: the kernel's default
    const bool bf16 = argc > 6 && std::strcmp(argv[6], "bf16") == 0;
    const char* how = argc > 7 ? argv[7] : "auto";
    const k::ScanAlgorithm algorithm = std::strcmp(how, "one-pass") == 0 ? k::ScanAlgorithm::one_pass
                                       : std::strcmp(how, "chunked") == 0  ? k::ScanAlgorithm::chunked
                                       : std::strcmp(how, "segments") == 0 ? k::ScanAlgorithm::segments
                                                                           : k::ScanAlgorithm::automatic;
    const int warps = argc > 8 ? std::atoi(argv[8]) : 0;
    const bool acc = argc > 9 && std::strcmp(argv[9], "acc") == 0;
    return bf16 ? run<k::bf16>(L, di, N, repeat, chunk, algorithm, warps, acc)
                : run<float>(L, di, N, repeat, chunk, algorithm, warps, acc);
}
