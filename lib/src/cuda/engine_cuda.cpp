// The CUDA engine (fp32): the CPU engine's forward pass (cpu/engine_cpu.cpp), step for step,
// on the GPU through the kernels/ launch API. Weights are uploaded once; the working buffers
// of a batch are allocated on first use, grown when a longer batch comes, and reused across
// layers and calls. The reverse direction reads the same in_proj output backwards (no flipped
// copies); with tied projections in_proj runs once for both directions.
//
// Not yet here (GPU-engine issue): bf16, streams and pinned-memory overlap, pooling on the
// device, chunked inputs longer than memory, OOM retry with smaller batches.
#ifdef DNAMBA_HAVE_CUDA

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "conv_norm.hpp"
#include "cuda/engine_cuda.hpp"
#include "device_query.hpp"
#include "dnamba/error.hpp"
#include "engine_ops.hpp"
#include "selective_scan.hpp"

namespace dnamba {
namespace {

void check(const std::string& e, const char* what) {
    if (!e.empty()) fail(ErrorKind::device, std::string("CUDA engine, ") + what + ": " + e);
}

// A device array that only grows.
// Bytes held by every DeviceArray of the process (the engine's device memory).
std::size_t g_device_bytes = 0;

template <typename T>
class DeviceArray {
public:
    DeviceArray() = default;
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;
    ~DeviceArray() {
        kernels::device_free(ptr_);
        g_device_bytes -= size_ * sizeof(T);
    }
    T* reserve(std::size_t n, const char* what) {
        if (n > size_) {
            kernels::device_free(ptr_);
            g_device_bytes -= size_ * sizeof(T);
            ptr_ = nullptr;
            size_ = 0;
            void* p = nullptr;
            const std::string e = kernels::device_alloc(&p, n * sizeof(T));
            if (!e.empty())
                fail(ErrorKind::device, std::string("CUDA engine: cannot allocate ") + std::to_string(n * sizeof(T) >> 20) +
                                            " MiB for " + what + " (" + e + "); use a shorter input or --batch-tokens");
            ptr_ = static_cast<T*>(p);
            size_ = n;
            g_device_bytes += n * sizeof(T);
        }
        return ptr_;
    }
    T* upload(const T* host, std::size_t n, const char* what) {
        T* p = reserve(n, what);
        if (n) check(kernels::copy_to_device(p, host, n * sizeof(T)), what);
        return p;
    }
    T* get() const { return ptr_; }

private:
    T* ptr_ = nullptr;
    std::size_t size_ = 0;
};

struct DeviceMamba {
    DeviceArray<float> in_proj, in_bias, conv_w, conv_b, x_proj, dt_proj, dt_bias, A, D, out_proj, out_bias;
    bool has_in_bias = false, has_conv_b = false, has_out_bias = false;
};

void upload(const MambaWeights& m, DeviceMamba& d) {
    auto put = [](DeviceArray<float>& dst, const float* src, Eigen::Index n, const char* what) {
        if (n > 0) dst.upload(src, static_cast<std::size_t>(n), what);
    };
    put(d.in_proj, m.in_proj.data(), m.in_proj.size(), "in_proj");
    put(d.in_bias, m.in_bias.data(), m.in_bias.size(), "in_proj bias");
    put(d.conv_w, m.conv_w.data(), m.conv_w.size(), "conv1d");
    put(d.conv_b, m.conv_b.data(), m.conv_b.size(), "conv1d bias");
    put(d.x_proj, m.x_proj.data(), m.x_proj.size(), "x_proj");
    put(d.dt_proj, m.dt_proj.data(), m.dt_proj.size(), "dt_proj");
    put(d.dt_bias, m.dt_bias.data(), m.dt_bias.size(), "dt_proj bias");
    put(d.A, m.A.data(), m.A.size(), "A");
    put(d.D, m.D.data(), m.D.size(), "D");
    put(d.out_proj, m.out_proj.data(), m.out_proj.size(), "out_proj");
    put(d.out_bias, m.out_bias.data(), m.out_bias.size(), "out_proj bias");
    d.has_in_bias = m.in_bias.size() > 0;
    d.has_conv_b = m.conv_b.size() > 0;
    d.has_out_bias = m.out_bias.size() > 0;
}

struct DeviceLayer {
    DeviceMamba fwd, rev;
    DeviceArray<float> norm_w, norm_b;
    bool has_norm_b = false;
};

class CudaEngine final : public Engine {
public:
    CudaEngine(const Model& model, int device) : model_(model), device_(device) {
        check(kernels::set_device(device), "select the device");
        const ModelConfig& c = model.config;
        const auto& w = model.weights;
        embedding_.upload(w.embedding.data(), static_cast<std::size_t>(w.embedding.size()), "embedding");
        std::vector<int> comp(c.complement_map.begin(), c.complement_map.end());
        complement_.upload(comp.data(), comp.size(), "complement map");
        for (const LayerWeights& l : w.layers) {
            auto dl = std::make_unique<DeviceLayer>();
            upload(l.fwd, dl->fwd);
            if (c.bidirectional) upload(l.rev, dl->rev);
            dl->norm_w.upload(l.norm_w.data(), static_cast<std::size_t>(l.norm_w.size()), "norm");
            dl->has_norm_b = l.norm_b.size() > 0;
            if (dl->has_norm_b) dl->norm_b.upload(l.norm_b.data(), static_cast<std::size_t>(l.norm_b.size()), "norm bias");
            layers_.push_back(std::move(dl));
        }
        norm_f_w_.upload(w.norm_f_w.data(), static_cast<std::size_t>(w.norm_f_w.size()), "norm_f");
        has_norm_f_b_ = w.norm_f_b.size() > 0;
        if (has_norm_f_b_) norm_f_b_.upload(w.norm_f_b.data(), static_cast<std::size_t>(w.norm_f_b.size()), "norm_f bias");
        char name[256] = "GPU";
        (void)kernels::device_name(device_, name, sizeof name);
        name_ = name;
    }

    ~CudaEngine() override { kernels::host_free_pinned(staging_); }
    CudaEngine(const CudaEngine&) = delete;
    CudaEngine& operator=(const CudaEngine&) = delete;

    std::string description() const override {
        return "cuda:" + std::to_string(device_) + " (" + name_ + ", fp32)";
    }

    void set_profiling(bool on) override {
        profile_ = on;
        stages_.clear();
    }
    std::vector<std::pair<std::string, double>> stage_seconds() const override { return stages_; }
    std::size_t device_bytes() const override { return g_device_bytes; }

    Matrix forward_packed(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>& lengths) override {
        check(kernels::set_device(device_), "select the device");  // the calling thread may be new
        const ModelConfig& c = model_.config;
        const int L = static_cast<int>(ids.size());
        if (L == 0) fail(ErrorKind::input, "cannot run the model on an empty sequence");
        std::vector<int> seg_begin, seg_end;
        std::vector<unsigned char> reset_fwd(ids.size(), 0), reset_rev(ids.size(), 0);
        std::size_t total = 0;
        for (std::size_t len : lengths) {
            if (len == 0) fail(ErrorKind::input, "cannot run the model on an empty sequence");
            reset_fwd[total] = 1;
            reset_rev[total + len - 1] = 1;
            seg_begin.insert(seg_begin.end(), len, static_cast<int>(total));
            seg_end.insert(seg_end.end(), len, static_cast<int>(total + len));
            total += len;
            if (total > ids.size()) break;
        }
        if (total != ids.size())
            fail(ErrorKind::usage, "forward_packed: lengths sum to " + std::to_string(total) + " but " +
                                       std::to_string(ids.size()) + " ids were given");
        for (auto id : ids)
            if (id < 0 || id >= c.vocab_size)
                fail(ErrorKind::input, "token id " + std::to_string(id) + " is outside the model vocabulary of " +
                                           std::to_string(c.vocab_size));
        const int d = c.d_model, C = c.hidden_channels(), di = c.d_inner, N = c.d_state, R = c.dt_rank;
        const std::size_t Ls = static_cast<std::size_t>(L);
        int* dids = ids_.upload(ids.data(), Ls, "token ids");
        seg_begin_.upload(seg_begin.data(), Ls, "sequence bounds");
        seg_end_.upload(seg_end.data(), Ls, "sequence bounds");
        reset_fwd_.upload(reset_fwd.data(), Ls, "sequence starts");
        reset_rev_.upload(reset_rev.data(), Ls, "sequence starts");
        float* hidden = hidden_.reserve(Ls * C, "hidden states");
        float* residual = residual_.reserve(Ls * C, "residual stream");
        float* normed = normed_.reserve(Ls * C, "normed states");
        half_.reserve(Ls * d, "half states");
        out_.reserve(Ls * d, "mixer output");
        xz_.reserve(Ls * 2 * di, "in_proj output");
        u_.reserve(Ls * di, "conv output");
        x_dbl_.reserve(Ls * (R + 2 * N), "x_proj output");
        delta_.reserve(Ls * di, "delta");
        y_fwd_.reserve(Ls * di, "scan output");
        y_rev_.reserve(Ls * di, "scan output");
        out_rev_.reserve(Ls * d, "mixer output");
        workspace_.reserve(kernels::scan_workspace_floats(L, di, N, 0), "scan workspace");

        if (profile_) {
            check(kernels::device_synchronize(), "uploads");
            mark_ = std::chrono::steady_clock::now();
        }
        step(kernels::embed_rows(dids, L, embedding_.get(), d, complement_.get(), c.rcps, hidden), "embedding", "embedding");
        for (int i = 0; i < c.n_layer; ++i) {
            const DeviceLayer& layer = *layers_[static_cast<std::size_t>(i)];
            const bool swap = c.rcps && c.fused_add_norm;
            step(kernels::residual_update(residual, hidden, L, C, i == 0, swap, d), "residual", "residual + norm");
            const float* nb = layer.has_norm_b ? layer.norm_b.get() : nullptr;
            const bool ln = c.norm == NormKind::layer;
            step(kernels::norm_rows(residual, C, 0, d, layer.norm_w.get(), nb, ln, c.norm_eps, false, L, normed, C, 0), "norm", "residual + norm");
            if (c.rcps) {
                step(kernels::norm_rows(residual, C, d, d, layer.norm_w.get(), nb, ln, c.norm_eps, true, L, normed, C, d), "norm", "residual + norm");
                // RCPSWrapper: [M(x1), rc(M(rc(x2)))]
                mixer(layer, normed, C, L, out_.get());
                step(kernels::copy_columns(out_.get(), d, 0, d, L, hidden, C, 0), "copy", "flips and copies");
                step(kernels::flip_both(normed, C, d, d, seg_begin_.get(), seg_end_.get(), L, half_.get(), d, 0), "flip", "flips and copies");
                mixer(layer, half_.get(), d, L, out_.get());
                step(kernels::flip_both(out_.get(), d, 0, d, seg_begin_.get(), seg_end_.get(), L, hidden, C, d), "flip", "flips and copies");
            } else {
                mixer(layer, normed, C, L, hidden);
            }
        }
        step(kernels::residual_update(residual, hidden, L, C, false, false, d), "residual", "residual + norm");
        float* out = normed;
        const float* fb = has_norm_f_b_ ? norm_f_b_.get() : nullptr;
        const bool ln = c.norm == NormKind::layer;
        step(kernels::norm_rows(residual, C, 0, d, norm_f_w_.get(), fb, ln, c.norm_eps, false, L, out, C, 0), "norm_f", "residual + norm");
        if (c.rcps)
            step(kernels::norm_rows(residual, C, d, d, norm_f_w_.get(), fb, ln, c.norm_eps, true, L, out, C, d), "norm_f", "residual + norm");
        // through a pinned staging buffer: a device-to-pageable copy runs at a fraction of the bus speed
        const std::size_t bytes = Ls * C * sizeof(float);
        if (bytes > staging_bytes_) {
            kernels::host_free_pinned(staging_);
            staging_ = nullptr;
            staging_bytes_ = 0;
            check(kernels::host_alloc_pinned(&staging_, bytes), "pinned host buffer");
            staging_bytes_ = bytes;
        }
        step(kernels::copy_to_host(staging_, out, bytes), "copy to host", "copy to host");
        Matrix result(L, C);
        std::memcpy(result.data(), staging_, bytes);
        step("", "copy to host", "copy to host");
        return result;
    }

private:
    // BiMamba (or plain) mixer on x (L rows of stride ldx, first d_model columns) into the
    // contiguous out [L x d_model].
    void mixer(const DeviceLayer& layer, const float* x, int ldx, int L, float* out) {
        const ModelConfig& c = model_.config;
        const int d = c.d_model, di = c.d_inner;
        const DeviceMamba& f = layer.fwd;
        float* xz = xz_.get();
        step(kernels::gemm_xwt(x, ldx, f.in_proj.get(), 2 * di, d, L, xz, 2 * di), "in_proj", "in_proj GEMM");
        if (f.has_in_bias) step(kernels::add_bias(xz, L, 2 * di, 2 * di, f.in_bias.get(), 1.0f), "in_proj bias", "in_proj GEMM");
        direction(f, xz, false, L, y_fwd_.get());
        if (!c.bidirectional) {
            project_out(f, y_fwd_.get(), L, out, d, 1.0f);
            return;
        }
        const DeviceMamba& r = layer.rev;
        const bool tied = c.weight_tie;
        if (!tied) {
            step(kernels::gemm_xwt(x, ldx, r.in_proj.get(), 2 * di, d, L, xz, 2 * di), "in_proj (reverse)", "in_proj GEMM");
            if (r.has_in_bias) step(kernels::add_bias(xz, L, 2 * di, 2 * di, r.in_bias.get(), 1.0f), "in_proj bias", "in_proj GEMM");
        }
        direction(r, xz, true, L, y_rev_.get());
        const std::size_t n = static_cast<std::size_t>(L) * di;
        if (c.combine == Combine::add && tied) {
            step(kernels::add_inplace(y_fwd_.get(), y_rev_.get(), n), "combine", "combine");
            project_out(f, y_fwd_.get(), L, out, d, 2.0f);
            return;
        }
        project_out(f, y_fwd_.get(), L, out, d, 1.0f);
        project_out(tied ? f : r, y_rev_.get(), L, out_rev_.get(), d, 1.0f);
        const std::size_t m = static_cast<std::size_t>(L) * d;
        if (c.combine == Combine::add) step(kernels::add_inplace(out, out_rev_.get(), m), "combine", "combine");
        else step(kernels::mul_inplace(out, out_rev_.get(), m), "combine", "combine");
    }

    void project_out(const DeviceMamba& m, const float* y, int L, float* out, int ldo, float bias_scale) {
        const ModelConfig& c = model_.config;
        step(kernels::gemm_xwt(y, c.d_inner, m.out_proj.get(), c.d_model, c.d_inner, L, out, ldo), "out_proj", "out_proj GEMM");
        if (m.has_out_bias) step(kernels::add_bias(out, L, c.d_model, ldo, m.out_bias.get(), bias_scale), "out_proj bias", "out_proj GEMM");
    }

    // One direction: conv + SiLU, x_proj, dt_proj + softplus, scan with the z gate.
    void direction(const DeviceMamba& m, const float* xz, bool reverse, int L, float* y) {
        const ModelConfig& c = model_.config;
        const int di = c.d_inner, N = c.d_state, R = c.dt_rank, K = c.d_conv;
        const int ldb = R + 2 * N;
        step(kernels::conv1d_silu(xz, 2 * di, m.conv_w.get(), m.has_conv_b ? m.conv_b.get() : nullptr, L, di, K, reverse,
                                   seg_begin_.get(), seg_end_.get(), u_.get()), "conv1d", "conv1d + SiLU");
        step(kernels::gemm_xwt(u_.get(), di, m.x_proj.get(), ldb, di, L, x_dbl_.get(), ldb), "x_proj", "x_proj + dt_proj GEMMs");
        step(kernels::gemm_xwt(x_dbl_.get(), ldb, m.dt_proj.get(), di, R, L, delta_.get(), di), "dt_proj", "x_proj + dt_proj GEMMs");
        step(kernels::bias_softplus(delta_.get(), L, di, m.dt_bias.get()), "softplus", "softplus");
        kernels::ScanArgs a;
        a.length = L;
        a.d_inner = di;
        a.d_state = N;
        a.u = u_.get();
        a.delta = delta_.get();
        a.A = m.A.get();
        a.D = m.D.get();
        a.B = x_dbl_.get() + R;
        a.C = x_dbl_.get() + R + N;
        a.ld_bc = ldb;
        a.z = xz + di;
        a.ld_z = 2 * di;
        a.reset = reverse ? reset_rev_.get() : reset_fwd_.get();
        a.reverse = reverse;
        a.y = y;
        a.workspace = workspace_.get();
        step(kernels::selective_scan(a), "selective scan", "selective scan");
    }

    // Checks a launch; when profiling, waits for it and books its time under `stage`.
    void step(const std::string& error, const char* what, const char* stage) {
        check(error, what);
        if (!profile_) return;
        check(kernels::device_synchronize(), what);
        const auto now = std::chrono::steady_clock::now();
        const double s = std::chrono::duration<double>(now - mark_).count();
        mark_ = now;
        for (auto& [name, total] : stages_)
            if (name == stage) {
                total += s;
                return;
            }
        stages_.emplace_back(stage, s);
    }

    void* staging_ = nullptr;  // pinned host memory for the result
    std::size_t staging_bytes_ = 0;
    const Model& model_;
    bool profile_ = false;
    std::vector<std::pair<std::string, double>> stages_;
    std::chrono::steady_clock::time_point mark_;
    int device_ = 0;
    std::string name_;
    DeviceArray<float> embedding_, norm_f_w_, norm_f_b_;
    DeviceArray<int> complement_;
    bool has_norm_f_b_ = false;
    std::vector<std::unique_ptr<DeviceLayer>> layers_;
    DeviceArray<int> ids_, seg_begin_, seg_end_;
    DeviceArray<unsigned char> reset_fwd_, reset_rev_;
    DeviceArray<float> hidden_, residual_, normed_, half_, out_, xz_, u_, x_dbl_, delta_, y_fwd_, y_rev_, out_rev_,
        workspace_;
};

}  // namespace

std::unique_ptr<Engine> make_cuda_engine(const Model& model, int device) {
    const int n = kernels::device_count();
    if (n == 0) fail(ErrorKind::device, "--device cuda: no CUDA GPU is visible (no driver or no device)");
    if (device < 0 || device >= n)
        fail(ErrorKind::device, "--device cuda:" + std::to_string(device) + ": only " + std::to_string(n) +
                                    " CUDA device(s) visible (0.." + std::to_string(n - 1) + ")");
    return std::make_unique<CudaEngine>(model, device);
}

}  // namespace dnamba

#endif  // DNAMBA_HAVE_CUDA
