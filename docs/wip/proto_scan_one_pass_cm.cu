// A one-pass selective scan on channel-major inputs, as a standalone prototype (kernels/PERF_NOTES.md
// entry 35 a): not part of the build, not used by the engine. Session 13, NOT RUN (no device time
// was left): compiled only. It is to measure whether a decoupled look-back between chunks keeps
// the GPU busy and what a one-pass element costs, in two forms: one state a pass of the state
// loop (SP = 1: 114 registers, two 8-warp blocks an SM) or two (SP = 2: 159 registers, one block).
// Its SASS already corrects entry 35's first count (~10 instructions an element): the state loop
// is 271 instructions a lane for 16 elements with SP = 1 (16.9 an element, static) and 441 for 32
// with SP = 2 (13.8): 6 are the recurrence (FMUL, MUFU, FMUL, FFMA; FFMA, FFMA), the rest the
// 32-lane scan, the look-back (lanes 0..SP-1, the whole warp issuing), moves and address work,
// paid once a state per 16 steps. Features kept out on purpose: resets, state in/out, the
// reverse direction, fp32 I/O; inputs are random.
//
//   nvcc -std=c++17 -O3 -arch=sm_90 -o /tmp/proto docs/wip/proto_scan_one_pass_cm.cu && /tmp/proto
//
// Layout: u, dt, z, y [d_inner][L] bf16 (channel-major); B, C [N][L] fp32 (state-major, what
// x_proj's GEMM would write computed transposed); A [d_inner][N], D, bias [d_inner] fp32. As the
// scan-alone benchmark: delta = softplus(dt + bias), y = (C . h + D u) silu(z).
//
// One warp per (channel, chunk of 512 steps): lane l owns steps 16 l .. 16 l + 15. Warps take
// tickets in launch order (chunk-major), so a chunk's predecessor of the same channel always
// holds an earlier ticket and is running or done: waiting on it cannot deadlock. For each state
// (the outer loop; a lane keeps that state's 16 decays and inputs in registers):
//   A. per step d = 2^(delta A log2 e) (MUFU), b = delta u B; the lane's map (a, b): a = 2^(A log2 e
//      sum of its deltas) (one MUFU), b folded step by step;
//   B. a 32-lane Kogge-Stone scan of the lanes' maps; the warp's map is lane 31's;
//   C. the look-back (lane 0): publish the warp's map (flag 1), fold predecessors' maps back to
//      the first one that has published its inclusive state (flag 2), publish this chunk's
//      inclusive state (flag 2);
//   D. each lane's starting state from its exclusive prefix and the chunk's incoming state, then
//      the 16 steps again from registers: h = d h + b, y += C h.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#define CHECK(call)                                                                                 \
    do {                                                                                            \
        cudaError_t e = (call);                                                                     \
        if (e != cudaSuccess) {                                                                     \
            std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e)); \
            std::exit(1);                                                                           \
        }                                                                                           \
    } while (0)

constexpr int K = 16;          // steps a lane
constexpr int CHUNK = 32 * K;  // steps a warp
constexpr int NS = 16;         // states
constexpr int WARPS = 8;       // warps a block
constexpr float LOG2E = 1.4426950408889634f;

__device__ __forceinline__ float ex2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}
// torch's softplus with the fast intrinsics (inputs here are above -5, where 1 + e^v keeps its bits)
__device__ __forceinline__ float softplus(float v) { return v > 20.0f ? v : __logf(1.0f + __expf(v)); }

// 16 values from 16-byte aligned memory as fp32
__device__ __forceinline__ void load16(const float* p, float* out) {
#pragma unroll
    for (int q = 0; q < 4; ++q) {
        const float4 v = reinterpret_cast<const float4*>(p)[q];
        out[4 * q] = v.x, out[4 * q + 1] = v.y, out[4 * q + 2] = v.z, out[4 * q + 3] = v.w;
    }
}
__device__ __forceinline__ void load16(const __nv_bfloat16* p, float* out) {
    const uint4 a = reinterpret_cast<const uint4*>(p)[0], b = reinterpret_cast<const uint4*>(p)[1];
    const unsigned w[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
    for (int q = 0; q < 8; ++q) {
        out[2 * q] = __uint_as_float(w[q] << 16);
        out[2 * q + 1] = __uint_as_float(w[q] & 0xffff0000u);
    }
}

__device__ __forceinline__ int load_acquire(const int* p) {
    int v;
    asm volatile("ld.acquire.gpu.global.s32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
    return v;
}
__device__ __forceinline__ void store_release(int* p, int v) {
    asm volatile("st.release.gpu.global.s32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}

struct Args {
    int L, d_inner, n_chunks;
    const __nv_bfloat16 *u, *dt, *z;
    const float *B, *C, *A, *D, *bias;
    __nv_bfloat16* y;
    float2* agg;     // [chunk][channel][state]: the chunk's map (a, b)
    float* incl;     // [chunk][channel][state]: the state after the chunk
    int* flag;       // [chunk][channel][state]: 0 nothing, 1 map, 2 inclusive state
    int* ticket;
};

// SP: states a pass of the state loop (1 or 2). Two keep twice the decays and inputs in
// registers but interleave two scans and run two states' look-backs side by side (lanes 0, 1).
template <int SP>
__global__ void __launch_bounds__(32 * WARPS) scan_one_pass_cm(Args a) {
    const int lane = threadIdx.x & 31;
    int id = 0;
    if (lane == 0) id = atomicAdd(a.ticket, 1);
    id = __shfl_sync(0xffffffffu, id, 0);
    const int ch = id % a.d_inner, c = id / a.d_inner;
    if (c >= a.n_chunks) return;
    const int t0 = c * CHUNK + lane * K;
    const size_t row = (size_t)ch * a.L;
    // L is a multiple of CHUNK here (the prototype's inputs)
    float delta[K], du[K], y[K];
    float sum = 0.0f;
    {
        float u[K], dt[K];
        load16(a.u + row + t0, u);
        load16(a.dt + row + t0, dt);
        const float bias = a.bias[ch];
#pragma unroll
        for (int i = 0; i < K; ++i) {
            delta[i] = softplus(dt[i] + bias);
            du[i] = delta[i] * u[i];
            y[i] = 0.0f;
            sum += delta[i];
        }
    }
    asm volatile("" : "+f"(sum));  // kept in a register: the compiler would redo the 16 additions every state
    const size_t slot0 = ((size_t)c * a.d_inner + ch) * NS;
#pragma unroll 1
    for (int n0 = 0; n0 < NS; n0 += SP) {
        float d[SP][K], b[SP][K], ma[SP], mb[SP];
#pragma unroll
        for (int s = 0; s < SP; ++s) {
            const int n = n0 + s;
            const float A2 = a.A[ch * NS + n] * LOG2E;
            float bv[K];
            load16(a.B + (size_t)n * a.L + t0, bv);
#pragma unroll
            for (int i = 0; i < K; ++i) {
                d[s][i] = ex2(delta[i] * A2);
                b[s][i] = du[i] * bv[i];
            }
            // A: the lane's map
            ma[s] = ex2(A2 * sum);
            mb[s] = b[s][0];
#pragma unroll
            for (int i = 1; i < K; ++i) mb[s] = fmaf(d[s][i], mb[s], b[s][i]);
        }
        // B: inclusive scans of the lanes' maps (earlier lanes applied first), SP side by side
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
#pragma unroll
            for (int s = 0; s < SP; ++s) {
                const float pa = __shfl_up_sync(0xffffffffu, ma[s], o), pb = __shfl_up_sync(0xffffffffu, mb[s], o);
                if (lane >= o) {
                    mb[s] = fmaf(ma[s], pb, mb[s]);
                    ma[s] *= pa;
                }
            }
        }
        float ea[SP], eb[SP], wa = 1.0f, wb = 0.0f;  // wa, wb: lane s < SP gets state n0 + s's warp map
#pragma unroll
        for (int s = 0; s < SP; ++s) {
            ea[s] = __shfl_up_sync(0xffffffffu, ma[s], 1);
            eb[s] = __shfl_up_sync(0xffffffffu, mb[s], 1);
            if (lane == 0) ea[s] = 1.0f, eb[s] = 0.0f;
            const float xa = __shfl_sync(0xffffffffu, ma[s], 31), xb = __shfl_sync(0xffffffffu, mb[s], 31);
            if (lane == s) wa = xa, wb = xb;
        }
        // C: the look-back, lane s for state n0 + s
        float h_in = 0.0f;
        if (lane < SP) {
            const size_t slot = slot0 + n0 + lane;
            if (c > 0) {
                a.agg[slot] = make_float2(wa, wb);
                store_release(&a.flag[slot], 1);
                float fa = 1.0f, fb = 0.0f;  // h_in = fb + fa * (the state after chunk j)
                for (int j = c - 1;; --j) {
                    const size_t p = ((size_t)j * a.d_inner + ch) * NS + n0 + lane;
                    int f;
                    while ((f = load_acquire(&a.flag[p])) == 0) {
                    }
                    if (f == 2) {
                        h_in = fmaf(fa, __ldcg(&a.incl[p]), fb);
                        break;
                    }
                    const float2 m = __ldcg(&a.agg[p]);
                    fb = fmaf(fa, m.y, fb);
                    fa *= m.x;
                }
            }
            a.incl[slot] = fmaf(wa, h_in, wb);
            store_release(&a.flag[slot], 2);
        }
        // D: the lane's steps from its starting state
#pragma unroll
        for (int s = 0; s < SP; ++s) {
            float h = fmaf(ea[s], __shfl_sync(0xffffffffu, h_in, s), eb[s]);
            float cv[K];
            load16(a.C + (size_t)(n0 + s) * a.L + t0, cv);
#pragma unroll
            for (int i = 0; i < K; ++i) {
                h = fmaf(d[s][i], h, b[s][i]);
                y[i] = fmaf(cv[i], h, y[i]);
            }
        }
    }
    float u[K], z[K];
    load16(a.u + row + t0, u);
    load16(a.z + row + t0, z);
    const float Dd = a.D[ch];
    unsigned w[K / 2];
#pragma unroll
    for (int q = 0; q < K / 2; ++q) {
        float o[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            const int i = 2 * q + r;
            const float g = z[i] / (1.0f + __expf(-z[i]));
            o[r] = fmaf(Dd, u[i], y[i]) * g;
        }
        const __nv_bfloat162 v = __floats2bfloat162_rn(o[0], o[1]);
        w[q] = *reinterpret_cast<const unsigned*>(&v);
    }
    uint4* yp = reinterpret_cast<uint4*>(a.y + row + t0);
    yp[0] = make_uint4(w[0], w[1], w[2], w[3]);
    yp[1] = make_uint4(w[4], w[5], w[6], w[7]);
}

int main(int argc, char** argv) {
    const int d_inner = 512;
    int dev = 0;
    CHECK(cudaGetDevice(&dev));
    cudaDeviceProp prop;
    CHECK(cudaGetDeviceProperties(&prop, dev));
    std::printf("%s, %d SMs\n", prop.name, prop.multiProcessorCount);
    for (const int L : {4096, 131072, 1048576}) {
        const int n_chunks = L / CHUNK;
        const size_t act = (size_t)d_inner * L;
        std::mt19937 g(7);
        std::uniform_real_distribution<float> U(-1, 1), DT(-4, 0.5f), AA(-8, -0.1f), BC(-1, 1), Z(-2, 2);
        std::vector<__nv_bfloat16> hu(act), hdt(act), hz(act);
        std::vector<float> hB((size_t)NS * L), hC((size_t)NS * L), hA(d_inner * NS), hD(d_inner), hbias(d_inner);
        for (size_t i = 0; i < act; ++i) hu[i] = __float2bfloat16(U(g)), hdt[i] = __float2bfloat16(DT(g)), hz[i] = __float2bfloat16(Z(g));
        for (auto& v : hB) v = BC(g);
        for (auto& v : hC) v = BC(g);
        for (auto& v : hA) v = AA(g);
        for (auto& v : hD) v = U(g);
        for (auto& v : hbias) v = U(g) * 0.5f;
        __nv_bfloat16 *u, *dt, *z, *y;
        float *B, *C, *A, *D, *bias, *incl;
        float2* agg;
        int *flag, *ticket;
        CHECK(cudaMalloc(&u, act * 2));
        CHECK(cudaMalloc(&dt, act * 2));
        CHECK(cudaMalloc(&z, act * 2));
        CHECK(cudaMalloc(&y, act * 2));
        CHECK(cudaMalloc(&B, hB.size() * 4));
        CHECK(cudaMalloc(&C, hC.size() * 4));
        CHECK(cudaMalloc(&A, hA.size() * 4));
        CHECK(cudaMalloc(&D, hD.size() * 4));
        CHECK(cudaMalloc(&bias, hbias.size() * 4));
        const size_t slots = (size_t)n_chunks * d_inner * NS;
        CHECK(cudaMalloc(&agg, slots * sizeof(float2)));
        CHECK(cudaMalloc(&incl, slots * 4));
        CHECK(cudaMalloc(&flag, slots * 4));
        CHECK(cudaMalloc(&ticket, 4));
        CHECK(cudaMemcpy(u, hu.data(), act * 2, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(dt, hdt.data(), act * 2, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(z, hz.data(), act * 2, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(B, hB.data(), hB.size() * 4, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(C, hC.data(), hC.size() * 4, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(A, hA.data(), hA.size() * 4, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(D, hD.data(), hD.size() * 4, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(bias, hbias.data(), hbias.size() * 4, cudaMemcpyHostToDevice));
        Args a{L, d_inner, n_chunks, u, dt, z, B, C, A, D, bias, y, agg, incl, flag, ticket};
        const int warps = n_chunks * d_inner;
        const int blocks = (warps + WARPS - 1) / WARPS;
        cudaEvent_t e0, e1;
        CHECK(cudaEventCreate(&e0));
        CHECK(cudaEventCreate(&e1));
        for (const int sp : {1, 2}) {
            std::vector<float> ms;
            for (int rep = 0; rep < 21; ++rep) {
                CHECK(cudaMemsetAsync(flag, 0, slots * 4));
                CHECK(cudaMemsetAsync(ticket, 0, 4));
                CHECK(cudaEventRecord(e0));
                if (sp == 1) scan_one_pass_cm<1><<<blocks, 32 * WARPS>>>(a);
                else scan_one_pass_cm<2><<<blocks, 32 * WARPS>>>(a);
                CHECK(cudaEventRecord(e1));
                CHECK(cudaEventSynchronize(e1));
                CHECK(cudaGetLastError());
                float t = 0;
                CHECK(cudaEventElapsedTime(&t, e0, e1));
                if (rep > 0) ms.push_back(t);
            }
            std::sort(ms.begin(), ms.end());
            std::printf("L=%d d_inner=%d N=%d, %d state(s) a pass: median %.3f ms (min %.3f, max %.3f) over %zu runs\n", L,
                        d_inner, NS, sp, ms[ms.size() / 2], ms.front(), ms.back(), ms.size());
            // check a few channels against a sequential CPU scan of the same (rounded) inputs
            std::vector<__nv_bfloat16> hy(act);
            CHECK(cudaMemcpy(hy.data(), y, act * 2, cudaMemcpyDeviceToHost));
            double worst = 0, norm = 0;
            for (const int chk : {0, 1, 255, d_inner - 1}) {
                std::vector<double> h(NS, 0.0);
                for (int t = 0; t < L; ++t) {
                    const size_t i = (size_t)chk * L + t;
                    const double uu = __bfloat162float(hu[i]), zz = __bfloat162float(hz[i]);
                    const double v = __bfloat162float(hdt[i]) + hbias[chk];
                    const double delta = v > 20 ? v : std::log1p(std::exp(v));
                    double acc = 0;
                    for (int n = 0; n < NS; ++n) {
                        h[n] = std::exp(delta * hA[chk * NS + n]) * h[n] + delta * uu * hB[(size_t)n * L + t];
                        acc += hC[(size_t)n * L + t] * h[n];
                    }
                    const double want = (acc + hD[chk] * uu) * (zz / (1 + std::exp(-zz)));
                    const double got = __bfloat162float(hy[i]);
                    worst = std::max(worst, std::fabs(got - want));
                    norm = std::max(norm, std::fabs(want));
                }
            }
            std::printf("  channels 0, 1, 255, %d against a sequential fp64 scan: max abs error %.3g (max |y| %.3g, bf16 "
                        "rounding of y alone %.3g): %s\n",
                        d_inner - 1, worst, norm, norm * std::ldexp(1.0, -9),
                        worst <= 4 * norm * std::ldexp(1.0, -9) ? "ok" : "WRONG");
        }
        cudaFree(u), cudaFree(dt), cudaFree(z), cudaFree(y), cudaFree(B), cudaFree(C), cudaFree(A), cudaFree(D);
        cudaFree(bias), cudaFree(agg), cudaFree(incl), cudaFree(flag), cudaFree(ticket);
    }
    (void)argc, (void)argv;
    return 0;
}
