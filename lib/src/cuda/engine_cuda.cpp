// The CUDA engine: the CPU engine's forward pass (cpu/engine_cpu.cpp) on the GPU through the
// kernels/ launch API, in fp32 or bf16 (GEMM inputs and outputs and the layer activations in
// bf16, fp32 accumulation, fp32 residual stream, norms and scan states).
//
// Memory plan. Only two arrays span the whole input: the fp32 residual stream and the mixer
// output (the next layer's input), L x C each. Everything else (the normed rows, in_proj
// output, conv output, x_proj/dt_proj outputs, scan outputs) is one chunk of rows, reused for
// every chunk, direction and layer. With several chunks, where every direction runs in_proj
// again, the chunk's arrays share memory by lifetime: the normed rows live in the conv
// output's buffer until in_proj has read them, dt_proj writes delta over in_proj's x half once
// the conv has read it, and the scan writes its output over the z half it reads (each element
// read before it is written): 3.5 KB a row in bf16 instead of 7 (d_model 256), so twice the
// rows fit the same memory. The final norm's rows use in_proj's buffer in every plan.
// A direction runs its chunks in scan order and carries the scan state from one chunk to the
// next (state_out -> state_in); the conv reads K-1 rows of halo around the chunk, so chunks
// change nothing but rounding. When the whole input is one
// chunk, in_proj runs once for both directions (tied projections); with several chunks it runs
// once per direction (the price of O(chunk) memory).
//
// RCPS without flips: the reverse-complement half rc(M(rc(x2))) equals running M on x2 in
// place with the two directions' roles swapped (the forward weights scan backwards) and with
// in_proj's input columns and out_proj's output rows reversed (uploaded once as such).
//
// With DNAMBA_FUSED=1 in the environment (opt-in: correct but slower than the three kernels on an
// H100 in session 18, kernels/PERF_NOTES.md entry 55), in bf16 a direction's
// conv1d + SiLU, x_proj and delta (dt_proj + bias + softplus) are one kernel
// (kernels/conv_proj.cu) where it runs (d_conv 4, d_inner a multiple of 16 up to 1,024, dt_rank
// up to 32): u is written once and never read back before the scan, nor x_dbl's dt columns; it
// writes delta over the x half like the three kernels do, the rows of halo that other blocks
// overwrite copied aside first (halo_). Elsewhere the three kernels run.
//
// Results leave the device chunk by chunk (final norm of a chunk, copy into a pinned buffer,
// then into the result on the host while the next chunk is copied), or, for pooled
// embeddings, as per-sequence sums reduced on the device.
//
// Out of memory (an allocation, a launch, or a plan leaving less than 512 MiB free): chunk
// buffers are retried at half the rows (down to 1,024); if the whole-input arrays do not fit,
// the pass is retried once with no buffers held, then a batch of several sequences runs as two
// halves (recursively); each retry is reported on stderr, and a single sequence that cannot
// fit fails with the memory it needs and the memory free.
#ifdef DNAMBA_HAVE_CUDA

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "conv.hpp"
#include "cuda/engine_cuda.hpp"
#include "dnamba/error.hpp"
#include "dnamba/log.hpp"
#include "elementwise.hpp"
#include "gemm.hpp"
#include "norm.hpp"
#include "pooling.hpp"
#include "runtime.hpp"
#include "scan.hpp"

namespace dnamba {
namespace {

// An allocation that failed for lack of device memory (the engine retries smaller).
class DeviceOutOfMemory : public Error {
public:
    explicit DeviceOutOfMemory(const std::string& message) : Error(ErrorKind::device, message) {}
};

void check(const kernels::Status& s, const char* what) {
    if (s.ok()) return;
    const std::string m = std::string("CUDA engine, ") + what + ": " + s.message();
    if (s.is_out_of_memory()) throw DeviceOutOfMemory(m);
    fail(ErrorKind::device, m);
}

// Memory left free after the plan, for kernel launches, cuBLASLt and the driver: a plan that
// leaves less is treated as not fitting.
constexpr std::size_t k_headroom = std::size_t{512} << 20;

bool enough_headroom() {
    std::size_t free_bytes = 0, total_bytes = 0;
    if (!kernels::device_memory(&free_bytes, &total_bytes).ok()) return true;
    return free_bytes >= k_headroom;
}

// The device memory one engine's arrays hold, and its peak (with the GEMM workspace).
struct MemoryTracker {
    std::size_t bytes = 0, peak = 0;
    void add(std::size_t n) {
        bytes += n;
        peak = std::max(peak, bytes + kernels::gemm_workspace_bytes());
    }
    void remove(std::size_t n) noexcept { bytes -= n; }
};

// A device array that only grows (release() gives the memory back), counted in its engine's
// MemoryTracker.
template <typename T>
class DeviceArray {
public:
    explicit DeviceArray(MemoryTracker& memory) : memory_(&memory) {}
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;
    ~DeviceArray() { release(); }
    void release() noexcept {
        kernels::device_free(ptr_);
        memory_->remove(size_ * sizeof(T));
        ptr_ = nullptr;
        size_ = 0;
    }
    T* reserve(std::size_t n, const char* what) {
        if (n > size_) {
            release();
            void* p = nullptr;
            const kernels::Status e = kernels::device_alloc(&p, n * sizeof(T));
            if (!e.ok()) {
                const std::string m = std::string("CUDA engine: cannot allocate ") + std::to_string(n * sizeof(T) >> 20) +
                                      " MiB for " + what + " (" + e.message() + ")";
                if (e.is_out_of_memory()) throw DeviceOutOfMemory(m);
                fail(ErrorKind::device, m);
            }
            ptr_ = static_cast<T*>(p);
            size_ = n;
            memory_->add(n * sizeof(T));
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
    MemoryTracker* memory_;
    T* ptr_ = nullptr;
    std::size_t size_ = 0;
};

// Uploads fp32 host values as T (bf16: rounded to nearest even).
template <typename T>
void upload_as(DeviceArray<T>& dst, const float* src, Eigen::Index n, const char* what) {
    if (n <= 0) return;
    if constexpr (std::is_same_v<T, float>) {
        dst.upload(src, static_cast<std::size_t>(n), what);
    } else {
        std::vector<T> v(static_cast<std::size_t>(n));
        for (Eigen::Index i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = kernels::to_bf16(src[i]);
        dst.upload(v.data(), v.size(), what);
    }
}

void upload_f32(DeviceArray<float>& dst, const float* src, Eigen::Index n, const char* what) {
    if (n > 0) dst.upload(src, static_cast<std::size_t>(n), what);
}

// in_proj / out_proj of a direction (GEMM weights in the compute type).
template <typename T>
struct DeviceProj {
    explicit DeviceProj(MemoryTracker& m) : in_proj(m), out_proj(m), in_bias(m), out_bias(m) {}
    DeviceArray<T> in_proj, out_proj;
    DeviceArray<float> in_bias, out_bias;
    bool has_in_bias = false, has_out_bias = false;

    // `rc`: the reverse-complement half's form (in_proj columns, out_proj rows and bias reversed).
    void upload(const MambaWeights& m, bool rc) {
        const Matrix in = rc ? Matrix(m.in_proj.rowwise().reverse()) : m.in_proj;
        const Matrix out = rc ? Matrix(m.out_proj.colwise().reverse()) : m.out_proj;
        const Vector ob = rc ? Vector(m.out_bias.reverse()) : m.out_bias;
        upload_as(in_proj, in.data(), in.size(), "in_proj");
        upload_as(out_proj, out.data(), out.size(), "out_proj");
        upload_f32(in_bias, m.in_bias.data(), m.in_bias.size(), "in_proj bias");
        upload_f32(out_bias, ob.data(), ob.size(), "out_proj bias");
        has_in_bias = m.in_bias.size() > 0;
        has_out_bias = ob.size() > 0;
    }
};

// One Mamba direction: projections (plain and, for RCPS, the rc form) and the rest.
template <typename T>
struct DeviceMamba {
    explicit DeviceMamba(MemoryTracker& m)
        : proj(m), proj_rc(m), x_proj(m), dt_proj(m), conv_w(m), conv_b(m), dt_bias(m), A(m), D(m) {}
    DeviceProj<T> proj, proj_rc;
    DeviceArray<T> x_proj, dt_proj;
    DeviceArray<float> conv_w, conv_b, dt_bias, A, D;
    bool has_conv_b = false, has_dt_bias = false;

    void upload(const MambaWeights& m, bool projections, bool rcps) {
        if (projections) {
            proj.upload(m, false);
            if (rcps) proj_rc.upload(m, true);
        }
        upload_as(x_proj, m.x_proj.data(), m.x_proj.size(), "x_proj");
        upload_as(dt_proj, m.dt_proj.data(), m.dt_proj.size(), "dt_proj");
        upload_f32(conv_w, m.conv_w.data(), m.conv_w.size(), "conv1d");
        upload_f32(conv_b, m.conv_b.data(), m.conv_b.size(), "conv1d bias");
        upload_f32(dt_bias, m.dt_bias.data(), m.dt_bias.size(), "dt_proj bias");
        upload_f32(A, m.A.data(), m.A.size(), "A");
        upload_f32(D, m.D.data(), m.D.size(), "D");
        has_conv_b = m.conv_b.size() > 0;
        has_dt_bias = m.dt_bias.size() > 0;
    }
};

template <typename T>
struct DeviceLayer {
    explicit DeviceLayer(MemoryTracker& m) : fwd(m), rev(m), norm_w(m), norm_b(m) {}
    DeviceMamba<T> fwd, rev;
    DeviceArray<float> norm_w, norm_b;
    bool has_norm_b = false;
};

// 2^18 rows: 1 Mnt of the 131k shape in bf16 holds ~2.4 GiB (the 1 GiB fp32 residual stream,
// the 0.5 GiB layer output, ~0.85 GiB of chunk arrays); the scan and the GEMMs run longer calls
// (kernels/PERF_NOTES.md entry 37).
constexpr std::size_t k_default_chunk_rows = 262144;
constexpr std::size_t k_min_chunk_rows = 1024;

template <typename T>
class CudaEngine final : public Engine {
public:
    CudaEngine(const Model& model, int device, const EngineOptions& options)
        : model_(model), device_(device), chunk_option_(options.chunk_rows) {
        check(kernels::set_device(device), "select the device");
        const ModelConfig& c = model.config;
        const auto& w = model.weights;
        upload_f32(embedding_, w.embedding.data(), w.embedding.size(), "embedding");
        std::vector<int> comp(c.complement_map.begin(), c.complement_map.end());
        complement_.upload(comp.data(), comp.size(), "complement map");
        for (const LayerWeights& l : w.layers) {
            auto dl = std::make_unique<DeviceLayer<T>>(memory_);
            dl->fwd.upload(l.fwd, true, c.rcps);
            if (c.bidirectional) dl->rev.upload(l.rev, !c.weight_tie, c.rcps);
            upload_f32(dl->norm_w, l.norm_w.data(), l.norm_w.size(), "norm");
            dl->has_norm_b = l.norm_b.size() > 0;
            upload_f32(dl->norm_b, l.norm_b.data(), l.norm_b.size(), "norm bias");
            layers_.push_back(std::move(dl));
        }
        upload_f32(norm_f_w_, w.norm_f_w.data(), w.norm_f_w.size(), "norm_f");
        has_norm_f_b_ = w.norm_f_b.size() > 0;
        upload_f32(norm_f_b_, w.norm_f_b.data(), w.norm_f_b.size(), "norm_f bias");
        char name[256] = "GPU";
        (void)kernels::device_name(device_, name, sizeof name);
        name_ = name;
        for (auto& e : events_) check(kernels::event_create(&e), "create an event");
    }

    ~CudaEngine() override {
        for (void* s : staging_) kernels::host_free_pinned(s);
        for (void* e : events_) kernels::event_destroy(e);
    }
    CudaEngine(const CudaEngine&) = delete;
    CudaEngine& operator=(const CudaEngine&) = delete;

    std::string description() const override {
        return "cuda:" + std::to_string(device_) + " (" + name_ + ", " + (bf16_ ? "bf16" : "fp32") + ")";
    }

    void set_profiling(bool on) override {
        profile_ = on;
        stages_.clear();
    }
    std::vector<std::pair<std::string, double>> stage_seconds() const override { return stages_; }
    std::size_t device_bytes() const override { return memory_.bytes + kernels::gemm_workspace_bytes(); }
    std::size_t device_peak_bytes() const override { return memory_.peak; }
    bool pools_on_device() const override { return true; }

    Matrix forward_packed(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>& lengths) override {
        return run(ids, lengths, false);
    }
    Matrix forward_pooled_mean(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>& lengths) override {
        return run(ids, lengths, true);
    }

private:
    static constexpr bool bf16_ = std::is_same_v<T, kernels::bf16>;

    // One pass, or, when the whole-input arrays do not fit, the sequences in two halves.
    Matrix run(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>& lengths, bool pooled) {
        check(kernels::set_device(device_), "select the device");  // the calling thread may be new
        validate(ids, lengths);
        try {
            try {
                return run_once(ids, lengths, pooled);
            } catch (const DeviceOutOfMemory&) {
                // buffers grown for earlier inputs may be in the way: once more with none held
                release_activations();
                return run_once(ids, lengths, pooled);
            }
        } catch (const DeviceOutOfMemory& e) {
            release_activations();
            if (lengths.size() < 2) {
                std::size_t free_bytes = 0, total_bytes = 0;
                (void)kernels::device_memory(&free_bytes, &total_bytes);
                fail(ErrorKind::device, std::string(e.what()) + "; an input of " + std::to_string(ids.size()) +
                                            " tokens needs about " + std::to_string(full_bytes_per_row() * ids.size() >> 20) +
                                            " MiB for its residual stream and layer output, and " +
                                            std::to_string(free_bytes >> 20) + " of " + std::to_string(total_bytes >> 20) +
                                            " MiB of this GPU are free; use a shorter input (--window), --precision "
                                            "bf16, or a GPU with more free memory");
            }
            const std::size_t half = lengths.size() / 2;
            const std::size_t split = std::accumulate(lengths.begin(), lengths.begin() + static_cast<std::ptrdiff_t>(half),
                                                      std::size_t{0});
            log_warning("cuda:" + std::to_string(device_) + ": out of GPU memory for a batch of " +
                        std::to_string(lengths.size()) + " sequences (" +
                        std::to_string(ids.size()) + " tokens); running it as two batches");
            const std::vector<std::int32_t> ids_a(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(split));
            const std::vector<std::int32_t> ids_b(ids.begin() + static_cast<std::ptrdiff_t>(split), ids.end());
            const std::vector<std::size_t> len_a(lengths.begin(), lengths.begin() + static_cast<std::ptrdiff_t>(half));
            const std::vector<std::size_t> len_b(lengths.begin() + static_cast<std::ptrdiff_t>(half), lengths.end());
            const Matrix a = run(ids_a, len_a, pooled);
            const Matrix b = run(ids_b, len_b, pooled);
            Matrix both(a.rows() + b.rows(), a.cols());
            both.topRows(a.rows()) = a;
            both.bottomRows(b.rows()) = b;
            return both;
        }
    }

    void validate(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>& lengths) const {
        check_packed_input(ids, lengths, model_.config.vocab_size);
        if (ids.size() > 0x7fffffffu)
            fail(ErrorKind::input, "the GPU engine takes at most 2^31-1 tokens per pass, got " + std::to_string(ids.size()));
    }

    std::size_t full_bytes_per_row() const {
        const std::size_t C = static_cast<std::size_t>(model_.config.hidden_channels());
        return C * (sizeof(float) + sizeof(T)) + 3 * sizeof(int) + 2;
    }

    // The per-row arrays that depend only on how the input is packed (each row's sequence bounds
    // for the conv, the scan's resets at sequence starts and ends): built and uploaded only when
    // the lengths differ from those of the last upload. Batch after batch of equal windows (the
    // usual `embed` run, every `bench` repeat) then moves only the token ids: at 1 Mnt that spares
    // ~10 MB of host arrays and their upload per pass.
    void upload_layout(const std::vector<std::size_t>& lengths) {
        if (!lengths.empty() && lengths == layout_lengths_) return;
        layout_lengths_.clear();  // no layout held until the four arrays below are all in place
        const std::size_t Ls = std::accumulate(lengths.begin(), lengths.end(), std::size_t{0});
        std::vector<int> seg_begin(Ls), seg_end(Ls);
        std::vector<unsigned char> reset_fwd(Ls, 0), reset_rev(Ls, 0);
        std::size_t total = 0;
        for (std::size_t len : lengths) {
            reset_fwd[total] = 1;
            reset_rev[total + len - 1] = 1;
            std::fill_n(seg_begin.begin() + static_cast<std::ptrdiff_t>(total), len, static_cast<int>(total));
            std::fill_n(seg_end.begin() + static_cast<std::ptrdiff_t>(total), len, static_cast<int>(total + len));
            total += len;
        }
        seg_begin_.upload(seg_begin.data(), Ls, "sequence bounds");
        seg_end_.upload(seg_end.data(), Ls, "sequence bounds");
        reset_fwd_.upload(reset_fwd.data(), Ls, "sequence starts");
        reset_rev_.upload(reset_rev.data(), Ls, "sequence ends");
        layout_lengths_ = lengths;
    }

    void release_activations() noexcept {
        layout_lengths_.clear();
        residual_.release();
        hidden_.release();
        ids_.release();
        seg_begin_.release();
        seg_end_.release();
        reset_fwd_.release();
        reset_rev_.release();
        release_chunk_buffers();
    }

    void release_chunk_buffers() noexcept {
        for (auto* a : {&normed_, &xz_, &u_, &x_dbl_, &delta_, &y_fwd_, &y_rev_, &tmp_, &halo_}) a->release();
        workspace_.release();
        state_.release();
    }

    // Chunk buffers for `rows` output rows; false when they do not fit.
    bool reserve_chunk_buffers(std::size_t rows, std::size_t L) {
        const ModelConfig& c = model_.config;
        const std::size_t d = c.d_model, C = c.hidden_channels(), di = c.d_inner, N = c.d_state, R = c.dt_rank;
        const std::size_t ext = std::min(L, rows + 2 * static_cast<std::size_t>(c.d_conv - 1));
        const bool shared = rows < L;  // several chunks: the arrays shared by lifetime (see the top)
        try {
            // in_proj's output, later the final norm's fp32 rows
            xz_.reserve(std::max(ext * 2 * di, (rows * C * sizeof(float) + sizeof(T) - 1) / sizeof(T)),
                        "in_proj output");
            if (shared) {  // (run_once gave back the one-chunk arrays an earlier input left)
                u_.reserve(std::max(rows * di, ext * d), "conv output and normed rows");
            } else {
                normed_.reserve(ext * d, "normed rows");
                u_.reserve(rows * di, "conv output");
                delta_.reserve(rows * di, "dt_proj output");
                y_fwd_.reserve(rows * di, "scan output");
            }
            x_dbl_.reserve(rows * (R + 2 * N), "x_proj output");
            // the second direction's own scan output only when the whole input is one chunk
            // (chunked passes write theirs over the z half), the mixer-output buffer only for the
            // multiply combine
            if (c.bidirectional && rows >= L && !sums_directions()) y_rev_.reserve(rows * di, "scan output");
            if (c.bidirectional && c.combine == Combine::multiply) tmp_.reserve(rows * d, "mixer output");
            if (std::is_same_v<T, kernels::bf16> && kernels::conv_proj_enabled())  // conv_proj's rows of halo
                halo_.reserve(std::max<std::size_t>(1, kernels::conv_proj_halo_elements(static_cast<int>(rows),
                                                                                         static_cast<int>(di))),
                              "conv halo rows");
            workspace_.reserve(kernels::scan_workspace_floats(static_cast<int>(rows), static_cast<int>(di),
                                                              static_cast<int>(N), 0),
                               "scan workspace");
            state_.reserve(di * N, "scan state");
            if (!enough_headroom()) throw DeviceOutOfMemory("no headroom left");
            return true;
        } catch (const DeviceOutOfMemory&) {
            release_chunk_buffers();
            return false;
        }
    }

    Matrix run_once(const std::vector<std::int32_t>& ids, const std::vector<std::size_t>& lengths, bool pooled) {
        const ModelConfig& c = model_.config;
        const int L = static_cast<int>(ids.size());
        const std::size_t Ls = ids.size();
        const int d = c.d_model, C = c.hidden_channels();
        const auto entered = std::chrono::steady_clock::now();
        ids_.upload(ids.data(), Ls, "token ids");
        upload_layout(lengths);
        // the chunk plan: as asked, else one chunk up to the default; halved while it does not fit.
        // With the segments scan enabled, a batch of equal sequences that needs several chunks is
        // chunked at sequence ends (by default in whole waves of the scan's blocks), so that the
        // scan runs each chunk's sequences without a carry between them (ScanArgsT::segment_rows).
        std::size_t p = kernels::scan_segments_enabled() && lengths.size() > 1 &&
                                std::all_of(lengths.begin(), lengths.end(),
                                            [&](std::size_t n) { return n == lengths.front(); })
                            ? lengths.front()
                            : 0;
        std::size_t rows = std::min(chunk_option_ > 0 ? chunk_option_ : k_default_chunk_rows, Ls);
        if (p > 0 && rows < Ls && chunk_option_ == 0) {
            const std::size_t wave =
                p * static_cast<std::size_t>(kernels::scan_segments_per_wave(static_cast<int>(p), c.d_inner));
            if (wave <= rows) rows = rows / wave * wave;
        }
        const auto whole_sequences = [&](std::size_t r) {  // chunks end at sequence ends, or no segments
            if (p > 0 && r < Ls && r >= p) return r / p * p;
            if (r < Ls) p = 0;
            return r;
        };
        rows = whole_sequences(rows);
        // a plan of several chunks holds none of the one-chunk arrays: give back those an earlier,
        // shorter input left before the whole-input arrays are placed
        if (rows < Ls)
            for (auto* a : {&normed_, &delta_, &y_fwd_, &y_rev_}) a->release();
        float* residual = residual_.reserve(Ls * C, "residual stream");
        hidden_.reserve(Ls * C, "layer output");
        if (!enough_headroom())
            throw DeviceOutOfMemory("CUDA engine: the residual stream and layer output of " + std::to_string(Ls) +
                                    " tokens leave no room on the device");
        while (!reserve_chunk_buffers(rows, Ls)) {
            if (rows <= k_min_chunk_rows)
                throw DeviceOutOfMemory("CUDA engine: out of device memory even for chunks of " + std::to_string(rows) +
                                        " rows");
            const std::size_t next = whole_sequences(rows / 2);
            log_warning("cuda:" + std::to_string(device_) + ": out of GPU memory for chunks of " + std::to_string(rows) +
                        " rows; retrying with " + std::to_string(next));
            rows = next;
        }
        segment_rows_ = static_cast<int>(p);
        chunk_rows_ = static_cast<int>(rows);
        n_chunks_ = static_cast<int>((Ls + rows - 1) / rows);
        L_ = L;

        if (profile_) {  // the token ids, the layout and the buffers' placement
            mark_ = entered;
            step("", "uploads", "uploads + buffers");
        }
        const bool swap = c.rcps && c.fused_add_norm;
        step(kernels::embed_rows(ids_.get(), L, embedding_.get(), d, complement_.get(), c.rcps, residual), "embedding",
             "embedding");
        // Each block's residual add (and RCPS half swap) is fused into its first pre-norm pass,
        // chunk by chunk (see add_norm); the last one into the final norm.
        for (int i = 0; i < c.n_layer; ++i) {
            const DeviceLayer<T>& layer = *layers_[static_cast<std::size_t>(i)];
            pending_ = {i > 0 || swap, i > 0 ? hidden_.get() : nullptr, swap};
            mixer(layer, false);
            if (c.rcps) mixer(layer, true);
        }
        pending_ = {true, hidden_.get(), false};
        return pooled ? pool_output(lengths) : copy_output();
    }

    // The chunk arrays' places (see the top): whether they share memory, the normed rows, the
    // final norm's rows.
    bool shared_arrays() const { return n_chunks_ > 1; }
    T* normed() { return shared_arrays() ? u_.get() : normed_.get(); }
    float* out_rows() { return reinterpret_cast<float*>(xz_.get()); }

    // Final norm of output rows [s0, s0 + n) into out_rows() (C columns).
    void final_norm(int s0, int n) {
        const ModelConfig& c = model_.config;
        const int d = c.d_model, C = c.hidden_channels();
        const float* fb = has_norm_f_b_ ? norm_f_b_.get() : nullptr;
        add_norm(s0, n, s0, s0 + n, 0, norm_f_w_.get(), fb, false, out_rows(), C, "norm_f");
        if (c.rcps) add_norm(s0, n, s0, s0, d, norm_f_w_.get(), fb, true, out_rows() + d, C, "norm_f");
    }

    // Rows [e0, e0 + n) of the residual stream normalised (columns [col0, col0 + d)) into y,
    // with the pending residual update (pending_) applied in place to rows [u0, u1) on the way.
    template <typename Y>
    void add_norm(int e0, int n, int u0, int u1, int col0, const float* w, const float* b, bool reverse_weight, Y* y,
                  int ld_y, const char* what) {
        const ModelConfig& c = model_.config;
        kernels::AddNormArgs<T, Y> a;
        a.residual = residual_.get();
        a.hidden = pending_.active ? pending_.hidden : nullptr;
        a.C = c.hidden_channels();
        a.d = c.d_model;
        a.swap_halves = pending_.active && pending_.swap;
        a.row0 = e0;
        a.length = n;
        a.update_begin = pending_.active ? u0 : 0;
        a.update_end = pending_.active ? u1 : 0;
        a.col0 = col0;
        a.weight = w;
        a.bias = b;
        a.layer_norm = c.norm == NormKind::layer;
        a.eps = c.norm_eps;
        a.reverse_weight = reverse_weight;
        a.y = y;
        a.ld_y = ld_y;
        step(kernels::add_norm_rows(a), what, "residual + norm");
    }

    // Per-position result: chunk by chunk through two pinned buffers, so that the copy of one
    // chunk into the result overlaps the device-to-host copy of the next.
    Matrix copy_output() {
        const int C = model_.config.hidden_channels();
        const std::size_t chunk_bytes = static_cast<std::size_t>(chunk_rows_) * C * sizeof(float);
        if (chunk_bytes > staging_bytes_) {
            for (void*& s : staging_) {
                kernels::host_free_pinned(s);
                s = nullptr;
            }
            staging_bytes_ = 0;
            for (void*& s : staging_) check(kernels::host_alloc_pinned(&s, chunk_bytes), "pinned host buffer");
            staging_bytes_ = chunk_bytes;
        }
        Matrix result(L_, C);
        auto drain = [&](int k) {
            const int s0 = k * chunk_rows_, n = std::min(chunk_rows_, L_ - s0);
            check(kernels::event_synchronize(events_[k % 2]), "copy to host");
            const auto* src = static_cast<const float*>(staging_[k % 2]);
            float* dst = result.data() + static_cast<std::size_t>(s0) * C;
            const std::size_t count = static_cast<std::size_t>(n) * C;
            const std::ptrdiff_t parts = 16;
#pragma omp parallel for schedule(static)
            for (std::ptrdiff_t p = 0; p < parts; ++p) {
                const std::size_t a = count * static_cast<std::size_t>(p) / parts;
                const std::size_t b = count * static_cast<std::size_t>(p + 1) / parts;
                std::memcpy(dst + a, src + a, (b - a) * sizeof(float));
            }
        };
        for (int k = 0; k < n_chunks_; ++k) {
            const int s0 = k * chunk_rows_, n = std::min(chunk_rows_, L_ - s0);
            final_norm(s0, n);
            check(kernels::copy_to_host_async(staging_[k % 2], out_rows(), static_cast<std::size_t>(n) * C * sizeof(float)),
                  "copy to host");
            check(kernels::event_record(events_[k % 2]), "copy to host");
            if (k > 0) drain(k - 1);
        }
        drain(n_chunks_ - 1);
        step("", "copy to host", "copy to host");
        return result;
    }

    // Mean per sequence, reduced on the device in double: only [sequences x C] leaves it.
    Matrix pool_output(const std::vector<std::size_t>& lengths) {
        const int C = model_.config.hidden_channels();
        constexpr std::size_t k_sub_rows = 256;
        // per chunk: pieces (the rows of one sequence within the chunk), each cut into sub-pieces
        // of at most k_sub_rows rows; chunk-local row and sub-piece numbers
        std::vector<int> piece_seq, piece_first, sub_begin, sub_end;
        std::vector<std::size_t> chunk_piece(static_cast<std::size_t>(n_chunks_) + 1, 0),
            chunk_sub(static_cast<std::size_t>(n_chunks_) + 1, 0);
        std::size_t s = 0, start = 0, max_subs = 0;
        for (int k = 0; k < n_chunks_; ++k) {
            const std::size_t c0 = static_cast<std::size_t>(k) * chunk_rows_;
            const std::size_t c1 = std::min(c0 + chunk_rows_, static_cast<std::size_t>(L_));
            const std::size_t sub0 = sub_begin.size();
            while (s < lengths.size() && start < c1) {
                const std::size_t a = std::max(start, c0), b = std::min(start + lengths[s], c1);
                piece_seq.push_back(static_cast<int>(s));
                piece_first.push_back(static_cast<int>(sub_begin.size() - sub0));
                for (std::size_t r = a; r < b; r += k_sub_rows) {
                    sub_begin.push_back(static_cast<int>(r - c0));
                    sub_end.push_back(static_cast<int>(std::min(b, r + k_sub_rows) - c0));
                }
                if (start + lengths[s] > c1) break;  // continues in the next chunk
                start += lengths[s];
                ++s;
            }
            piece_first.push_back(static_cast<int>(sub_begin.size() - sub0));  // closes the chunk's list
            chunk_piece[static_cast<std::size_t>(k) + 1] = piece_seq.size();
            chunk_sub[static_cast<std::size_t>(k) + 1] = sub_begin.size();
            max_subs = std::max(max_subs, sub_begin.size() - sub0);
        }
        piece_seq_.upload(piece_seq.data(), piece_seq.size(), "pooling pieces");
        piece_first_.upload(piece_first.data(), piece_first.size(), "pooling pieces");
        sub_begin_.upload(sub_begin.data(), sub_begin.size(), "pooling pieces");
        sub_end_.upload(sub_end.data(), sub_end.size(), "pooling pieces");
        double* partial = partial_.reserve(max_subs * C, "pooling partial sums");
        const std::size_t n_seq = lengths.size();
        double* sums = sums_.reserve(n_seq * C, "pooled sums");
        check(kernels::fill_zero(sums, n_seq * C * sizeof(double)), "pooled sums");
        for (int k = 0; k < n_chunks_; ++k) {
            const auto ku = static_cast<std::size_t>(k);
            const int s0 = k * chunk_rows_, n = std::min(chunk_rows_, L_ - s0);
            final_norm(s0, n);
            const std::size_t p0 = chunk_piece[ku], q0 = chunk_sub[ku];
            step(kernels::add_row_sums(out_rows(), C, static_cast<int>(chunk_sub[ku + 1] - q0),
                                       sub_begin_.get() + q0, sub_end_.get() + q0, partial,
                                       static_cast<int>(chunk_piece[ku + 1] - p0), piece_seq_.get() + p0,
                                       piece_first_.get() + p0 + ku, sums),
                 "pooling", "pooling");
        }
        std::vector<double> host(n_seq * C);
        check(kernels::copy_to_host(host.data(), sums, host.size() * sizeof(double)), "copy pooled rows to host");
        Matrix pooled(static_cast<Eigen::Index>(n_seq), C);
        for (std::size_t i = 0; i < n_seq; ++i)
            for (int j = 0; j < C; ++j)
                pooled(static_cast<Eigen::Index>(i), j) =
                    static_cast<float>(host[i * C + j] / static_cast<double>(lengths[i]));
        step("", "copy to host", "copy to host");
        return pooled;
    }

    const DeviceProj<T>& projections(const DeviceLayer<T>& layer, bool reverse_direction, bool rc) const {
        const DeviceMamba<T>& owner = (reverse_direction && !model_.config.weight_tie) ? layer.rev : layer.fwd;
        return rc ? owner.proj_rc : owner.proj;
    }

    // The (Bi)Mamba mixer of one channel half: columns [0, d) of the layer output, or for the
    // RCPS reverse-complement half (rc) columns [d, 2d) with the directions' roles swapped.
    void mixer(const DeviceLayer<T>& layer, bool rc) {
        const ModelConfig& c = model_.config;
        const int d = c.d_model, C = c.hidden_channels(), K = c.d_conv;
        T* out = hidden_.get() + (rc ? d : 0);
        const bool bi = c.bidirectional;
        const DeviceProj<T>& pf = projections(layer, false, rc);
        const DeviceProj<T>& pr = projections(layer, true, rc);
        if (n_chunks_ == 1) {
            const int L = L_;
            normalize(layer, rc, 0, L, 0, L);
            pending_.active = false;
            in_proj(pf, L);
            const int di = c.d_inner;
            direction(layer.fwd, 0, 0, L, rc, false, y_fwd_.get(), di);
            if (!bi) {
                out_proj(pf, y_fwd_.get(), di, L, out, C, false, 1.0f);
                return;
            }
            if (!c.weight_tie) in_proj(pr, L);
            if (sums_directions()) {
                // out_proj(y_f) + out_proj(y_r) = out_proj(y_f + y_r) (+ the bias twice): the reverse
                // scan adds its rows to the forward one's, and one GEMM follows
                direction(layer.rev, 0, 0, L, !rc, false, y_fwd_.get(), di, true);
                out_proj(pf, y_fwd_.get(), di, L, out, C, false, 2.0f);
                return;
            }
            direction(layer.rev, 0, 0, L, !rc, false, y_rev_.get(), di);
            out_proj(pf, y_fwd_.get(), di, L, out, C, false, 1.0f);
            combine_into(pr, y_rev_.get(), di, L, out);
            return;
        }
        for (int dir = 0; dir < (bi ? 2 : 1); ++dir) {
            const DeviceMamba<T>& m = dir == 0 ? layer.fwd : layer.rev;
            const DeviceProj<T>& p = dir == 0 ? pf : pr;
            const bool reverse = dir == 0 ? rc : !rc;
            for (int k = 0; k < n_chunks_; ++k) {
                const int chunk = reverse ? n_chunks_ - 1 - k : k;
                const int s0 = chunk * chunk_rows_, s1 = std::min(L_, s0 + chunk_rows_);
                const int e0 = std::max(0, s0 - (K - 1)), e1 = std::min(L_, s1 + K - 1);
                // the first pass (half A, forward, chunks ascending) applies the residual update
                normalize(layer, rc, e0, e1 - e0, s0, s1);
                in_proj(p, e1 - e0);
                // the scan's output over the z half it reads (rows s0.. of xz_, which starts at e0)
                T* y = xz_.get() + static_cast<std::size_t>(s0 - e0) * 2 * c.d_inner + c.d_inner;
                const int ld_y = 2 * c.d_inner;
                direction(m, e0, s0, s1 - s0, reverse, k > 0, y, ld_y);
                T* o = out + static_cast<std::size_t>(s0) * C;
                if (dir == 0) out_proj(p, y, ld_y, s1 - s0, o, C, false, 1.0f);
                else combine_into(p, y, ld_y, s1 - s0, o);
            }
            pending_.active = false;
        }
    }

    // The second direction's output joins the first one's in `out` (add or multiply).
    void combine_into(const DeviceProj<T>& p, const T* y, int ld_y, int n, T* out) {
        const ModelConfig& c = model_.config;
        const int d = c.d_model, C = c.hidden_channels();
        if (c.combine == Combine::add) {
            out_proj(p, y, ld_y, n, out, C, true, 1.0f);
            return;
        }
        out_proj(p, y, ld_y, n, tmp_.get(), d, false, 1.0f);
        step(kernels::combine_rows(out, C, tmp_.get(), d, n, d, true), "combine", "combine");
    }

    // normed_ = the block's pre-norm of residual rows [e0, e0 + n) for this half; a pending
    // residual update is applied to rows [u0, u1).
    void normalize(const DeviceLayer<T>& layer, bool rc, int e0, int n, int u0, int u1) {
        const int d = model_.config.d_model;
        const float* nb = layer.has_norm_b ? layer.norm_b.get() : nullptr;
        add_norm(e0, n, u0, u1, rc ? d : 0, layer.norm_w.get(), nb, rc, normed(), d, "norm");
    }

    void in_proj(const DeviceProj<T>& p, int n) {
        const ModelConfig& c = model_.config;
        const int d = c.d_model, di = c.d_inner;
        step(kernels::gemm_xwt(normed(), d, p.in_proj.get(), 2 * di, d, n, xz_.get(), 2 * di, false), "in_proj",
             "in_proj GEMM");
        if (p.has_in_bias)
            step(kernels::add_bias(xz_.get(), n, 2 * di, 2 * di, p.in_bias.get(), 1.0f), "in_proj bias", "in_proj GEMM");
    }

    void out_proj(const DeviceProj<T>& p, const T* y, int ld_y, int n, T* out, int ldo, bool accumulate,
                  float bias_scale) {
        const ModelConfig& c = model_.config;
        step(kernels::gemm_xwt(y, ld_y, p.out_proj.get(), c.d_model, c.d_inner, n, out, ldo, accumulate), "out_proj",
             "out_proj GEMM");
        if (p.has_out_bias)
            step(kernels::add_bias(out, n, c.d_model, ldo, p.out_bias.get(), bias_scale), "out_proj bias",
                 "out_proj GEMM");
    }

    // Whether the two directions of a layer meet as the sum of their scan outputs before one
    // out_proj (bidirectional add with tied projections: Caduceus' default).
    bool sums_directions() const {
        const ModelConfig& c = model_.config;
        return c.bidirectional && c.combine == Combine::add && c.weight_tie;
    }

    // One direction over output rows [s0, s0 + n) from xz_ (which holds rows from x_row0):
    // conv + SiLU, x_proj, dt_proj + bias + softplus, then the scan with the z gate, into y (row
    // stride ld_y; y += with `accumulate`). `carry`: start from the state the previous chunk left
    // in state_. With shared arrays delta goes over in_proj's x half (read by the conv first).
    void direction(const DeviceMamba<T>& m, int x_row0, int s0, int n, bool reverse, bool carry, T* y, int ld_y,
                   bool accumulate = false) {
        const ModelConfig& c = model_.config;
        const int di = c.d_inner, N = c.d_state, R = c.dt_rank, K = c.d_conv;
        const int ldb = R + 2 * N;
        kernels::ConvArgs<T> conv;
        conv.x = xz_.get();
        conv.ld_x = 2 * di;
        conv.x_row0 = x_row0;
        conv.w = m.conv_w.get();
        conv.bias = m.has_conv_b ? m.conv_b.get() : nullptr;
        conv.row0 = s0;
        conv.length = n;
        conv.total_rows = L_;
        conv.d_inner = di;
        conv.kernel = K;
        conv.reverse = reverse;
        conv.seg_begin = seg_begin_.get();
        conv.seg_end = seg_end_.get();
        conv.U = u_.get();
        const float* dt_bias = m.has_dt_bias ? m.dt_bias.get() : nullptr;
        // delta = softplus(dt_proj + bias) once, for both passes of the scan (dt_rank <= 32: every
        // preset and checkpoint seen); wider ranks: the GEMM, then the softplus inside the scan
        const bool fused_delta = R <= kernels::k_scan_delta_max_rank;
        T* delta = shared_arrays() ? xz_.get() + static_cast<std::size_t>(s0 - x_row0) * 2 * di : delta_.get();
        const int ld_delta = shared_arrays() ? 2 * di : di;
        bool fused = false;  // bf16: the conv, x_proj and delta in one kernel where it runs
        if constexpr (std::is_same_v<T, kernels::bf16>) {
            kernels::ConvProjArgs f;
            f.conv = conv;
            f.x_proj = m.x_proj.get();
            f.n_proj = ldb;
            f.x_dbl = x_dbl_.get();
            f.ld_dbl = ldb;
            f.dt_proj = m.dt_proj.get();
            f.dt_bias = dt_bias;
            f.dt_rank = R;
            f.delta = delta;
            f.ld_delta = ld_delta;
            f.halo = halo_.get();
            if (fused_delta && halo_.get() && kernels::conv_proj_enabled() && kernels::conv_proj_runs(f)) {
                step(kernels::conv_proj(f), "conv1d + x_proj + dt_proj", "conv1d + x_proj + dt_proj");
                fused = true;
            }
        }
        if (!fused) {
            step(kernels::conv1d_silu(conv), "conv1d", "conv1d + SiLU");
            step(kernels::gemm_xwt(u_.get(), di, m.x_proj.get(), ldb, di, n, x_dbl_.get(), ldb, false), "x_proj",
                 "x_proj + dt_proj");
            if (fused_delta)
                step(kernels::scan_delta(x_dbl_.get(), ldb, m.dt_proj.get(), dt_bias, di, R, n, delta, ld_delta),
                     "dt_proj + softplus", "x_proj + dt_proj");
            else
                step(kernels::gemm_xwt(x_dbl_.get(), ldb, m.dt_proj.get(), di, R, n, delta, ld_delta, false),
                     "dt_proj", "x_proj + dt_proj");
        }
        kernels::ScanArgsT<T> a;
        a.length = n;
        a.d_inner = di;
        a.d_state = N;
        a.u = u_.get();
        a.delta = delta;
        a.ld_delta = ld_delta;
        a.delta_bias = fused_delta ? nullptr : dt_bias;
        a.delta_softplus = !fused_delta;
        a.A = m.A.get();
        a.D = m.D.get();
        a.B = x_dbl_.get() + R;
        a.C = x_dbl_.get() + R + N;
        a.ld_bc = ldb;
        a.z = xz_.get() + static_cast<std::size_t>(s0 - x_row0) * 2 * di + di;
        a.ld_z = 2 * di;
        a.reset = (reverse ? reset_rev_.get() : reset_fwd_.get()) + s0;
        a.reverse = reverse;
        a.y = y;
        a.ld_y = ld_y;
        a.accumulate = accumulate;
        a.state_in = carry ? state_.get() : nullptr;
        a.state_out = n_chunks_ > 1 ? state_.get() : nullptr;
        a.workspace = workspace_.get();
        if (segment_rows_ > 0 && s0 % segment_rows_ == 0 && (s0 + n) % segment_rows_ == 0) a.segment_rows = segment_rows_;
        step(kernels::selective_scan(a), "selective scan", "selective scan");
    }

    // Checks a launch; when profiling, waits for it and books its time under `stage`.
    void step(const kernels::Status& error, const char* what, const char* stage) {
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

    const Model& model_;
    int device_ = 0;
    std::size_t chunk_option_ = 0;
    std::string name_;
    bool profile_ = false;
    std::vector<std::pair<std::string, double>> stages_;
    std::chrono::steady_clock::time_point mark_;
    MemoryTracker memory_;  // the device memory of this engine's arrays (declared first: freed last)
    // weights
    DeviceArray<float> embedding_{memory_}, norm_f_w_{memory_}, norm_f_b_{memory_};
    DeviceArray<int> complement_{memory_};
    bool has_norm_f_b_ = false;
    std::vector<std::unique_ptr<DeviceLayer<T>>> layers_;
    // this pass: length, chunk plan, and the residual update not yet applied (residual +=
    // hidden, then the RCPS half swap), which the next pre-norm pass applies chunk by chunk
    int L_ = 0, chunk_rows_ = 0, n_chunks_ = 0;
    int segment_rows_ = 0;  // the length of every sequence of a batch of equal ones, whose chunks end at sequence ends; else 0
    struct PendingUpdate {
        bool active = false;
        const T* hidden = nullptr;
        bool swap = false;
    } pending_;
    // whole-input arrays
    DeviceArray<int> ids_{memory_}, seg_begin_{memory_}, seg_end_{memory_};
    DeviceArray<unsigned char> reset_fwd_{memory_}, reset_rev_{memory_};
    std::vector<std::size_t> layout_lengths_;  // the lengths seg_*_ and reset_*_ were built for
    DeviceArray<float> residual_{memory_};
    DeviceArray<T> hidden_{memory_};
    // one chunk's working set
    DeviceArray<T> normed_{memory_}, xz_{memory_}, u_{memory_}, x_dbl_{memory_}, delta_{memory_}, y_fwd_{memory_},
        y_rev_{memory_}, tmp_{memory_}, halo_{memory_};
    DeviceArray<float> workspace_{memory_}, state_{memory_};
    // results
    DeviceArray<int> piece_seq_{memory_}, piece_first_{memory_}, sub_begin_{memory_}, sub_end_{memory_};
    DeviceArray<double> partial_{memory_}, sums_{memory_};
    void* staging_[2] = {nullptr, nullptr};  // pinned host buffers, one chunk of output each
    std::size_t staging_bytes_ = 0;
    void* events_[2] = {nullptr, nullptr};
};

}  // namespace

std::unique_ptr<Engine> make_cuda_engine(const Model& model, int device, const EngineOptions& options) {
    const int n = kernels::device_count();
    if (n == 0) fail(ErrorKind::device, "--device cuda: no CUDA GPU is visible (no driver or no device)");
    if (device < 0 || device >= n)
        fail(ErrorKind::device, "--device cuda:" + std::to_string(device) + ": only " + std::to_string(n) +
                                    " CUDA device(s) visible (0.." + std::to_string(n - 1) + ")");
    if (options.precision == Precision::bf16) return std::make_unique<CudaEngine<kernels::bf16>>(model, device, options);
    return std::make_unique<CudaEngine<float>>(model, device, options);
}

}  // namespace dnamba

#endif  // DNAMBA_HAVE_CUDA
