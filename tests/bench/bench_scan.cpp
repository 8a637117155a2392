// Scan-only micro-benchmark of the CUDA selective scan (kernels/selective_scan.cu): one
// sequence, d_inner 512, d_state 16 by default, fp32 in and out, z gate and D skip on.
// Prints the median of --repeat timed runs (after a warm-up), the bytes the scan must move
// at least (u, delta, z read, y written, B and C read: 4*(4*L*d_inner + 2*L*d_state) bytes)
// and the bandwidth that implies.
//   build-gpu/tests/dnamba_bench_scan [L [d_inner [d_state [repeat [chunk]]]]]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "selective_scan.hpp"

namespace k = dnamba::kernels;

static void check(const std::string& e) {
    if (!e.empty()) {
        std::fprintf(stderr, "bench_scan: %s\n", e.c_str());
        std::exit(1);
    }
}

int main(int argc, char** argv) {
    const int L = argc > 1 ? std::atoi(argv[1]) : 1048576;
    const int di = argc > 2 ? std::atoi(argv[2]) : 512;
    const int N = argc > 3 ? std::atoi(argv[3]) : 16;
    const int repeat = argc > 4 ? std::atoi(argv[4]) : 10;
    const int chunk = argc > 5 ? std::atoi(argv[5]) : 0;  // 0: the kernel's default
    std::mt19937 g(1);
    std::uniform_real_distribution<float> unit(-1, 1), dt(0.001f, 0.1f), neg(-8, -0.1f);
    const std::size_t ld = static_cast<std::size_t>(L) * di;
    std::vector<float> u(ld), delta(ld), z(ld), A(static_cast<std::size_t>(di) * N), D(di), bc(static_cast<std::size_t>(L) * 2 * N);
    for (auto& x : u) x = unit(g);
    for (auto& x : delta) x = dt(g);
    for (auto& x : z) x = unit(g);
    for (auto& x : A) x = neg(g);
    for (auto& x : D) x = unit(g);
    for (auto& x : bc) x = unit(g);
    auto upload = [&](const std::vector<float>& h) {
        void* p = nullptr;
        check(k::device_alloc(&p, h.size() * sizeof(float)));
        check(k::copy_to_device(p, h.data(), h.size() * sizeof(float)));
        return static_cast<float*>(p);
    };
    k::ScanArgs a;
    a.length = L;
    a.d_inner = di;
    a.d_state = N;
    a.u = upload(u);
    a.delta = upload(delta);
    a.z = upload(z);
    a.ld_z = di;
    a.A = upload(A);
    a.D = upload(D);
    float* dbc = upload(bc);
    a.B = dbc;
    a.C = dbc + N;
    a.ld_bc = 2 * N;
    void* y = nullptr;
    check(k::device_alloc(&y, ld * sizeof(float)));
    a.y = static_cast<float*>(y);
    void* ws = nullptr;
    check(k::device_alloc(&ws, k::scan_workspace_floats(L, di, N, chunk) * sizeof(float)));
    a.workspace = static_cast<float*>(ws);
    a.chunk = chunk;
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
    const double bytes = 4.0 * (4.0 * L * di + 2.0 * L * N);
    const double med = ms[ms.size() / 2];
    std::printf("scan L=%d d_inner=%d d_state=%d fp32 chunk=%d: median %.3f ms (min %.3f, max %.3f) over %d runs; "
                "at least %.1f MB moved -> %.0f GB/s effective\n",
                L, di, N, chunk > 0 ? chunk : k::scan_default_chunk(L), med, ms.front(), ms.back(), repeat, bytes / 1e6, bytes / med / 1e6);
    return 0;
}
