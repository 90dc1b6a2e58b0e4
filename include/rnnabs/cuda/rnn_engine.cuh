#pragma once
// Our own recurrent engine on the GPU: cuBLAS GEMMs + fused pointwise cell kernels, for what cuDNN
// has no answer to — the exact Hessian-vector product through LSTM/GRU cells (cuDNN has no double
// backward) and a forward pass that records every step's hidden state. The twin of the CPU engine
// (nn/detail/engine.hpp) and of rnn_classifier's loss_gradient / hessian_vector_product / forward.
//
// Parameters stay in the flat PyTorch layout on the device (each tensor is a view at its offset),
// so gradients and H·v come back in rnn_classifier's order with no repacking. Scope: one layer, one
// direction, feature input, a last-step head with cross-entropy, and sequences of equal length
// (the benchmark shape); other configurations throw invalid_argument and stay on the CPU.
//
//   rnnabs::cuda::rnn_engine<rnnabs::lstm_cell> gpu(model);          // model: rnn_classifier
//   gpu.set_batch(batch);                                             // uploads X and the labels
//   rnnabs::vector<float> hv = gpu.hessian_vector_product(v);         // exact H v of the mean loss
//
// Per step t (rows b of the batch, time-major): XP = X W_ihᵀ + b_ih for all steps in one GEMM;
// HP = h_{t−1} W_hhᵀ + b_hh; the cell kernel. With tangents (θ + εv) each product of two dual
// matrices is three GEMMs; the backward pass carries (dh, dc) and their tangents from step to step.
#include <memory>
#include <string>
#include <vector>

#include "rnnabs/cuda/blas.cuh"
#include "rnnabs/cuda/cells.cuh"
#include "rnnabs/cuda/runtime.cuh"
#include "rnnabs/nn/rnn_classifier.hpp"

namespace rnnabs::cuda {

namespace kernels {

/// State pointers of one step, passed by value to the cell kernels: prev (null at t = 0) and next
/// (forward: the new states; backward: the carried state gradients, read then overwritten).
template <class T>
struct state_ptrs {
  const T* prev[2] = {nullptr, nullptr};
  const T* prevd[2] = {nullptr, nullptr};
  T* next[2] = {nullptr, nullptr};
  T* nextd[2] = {nullptr, nullptr};
};

/// M[r][c] (rows×cols) = v[c] (set) or += v[c].
template <class T>
__global__ void broadcast_row(T* __restrict__ M, int rows, int cols, const T* __restrict__ v, bool add) {
  const std::size_t n = static_cast<std::size_t>(rows) * cols;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const T x = v[i % static_cast<std::size_t>(cols)];
    M[i] = add ? M[i] + x : x;
  }
}

/// One step of the cell forward for B rows × H units. prev* are null at t = 0 (zero states).
template <class Cell, class T, bool Tan>
__global__ void cell_forward(int B, int H, const T* __restrict__ xp, const T* __restrict__ xpd,
                             const T* __restrict__ hp, const T* __restrict__ hpd, state_ptrs<T> sp,
                             T* __restrict__ cache, T* __restrict__ cached) {
  using C = device_cell<Cell>;
  using io = dev_io<T, Tan>;
  using S = typename io::S;
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= B * H) return;
  const int b = idx / H, j = idx - b * H;
  S xg[C::G], hg[C::G], pv[C::K], nx[C::K], cc[C::CC];
  for (int k = 0; k < C::G; ++k) {
    const std::size_t o = static_cast<std::size_t>(b) * C::G * H + k * H + j;
    xg[k] = io::load(xp, xpd, o);
    hg[k] = io::load(hp, hpd, o);
  }
  for (int k = 0; k < C::K; ++k)
    pv[k] = sp.prev[k] ? io::load(sp.prev[k], sp.prevd[k], static_cast<std::size_t>(idx)) : io::zero();
  C::template forward<T>(xg, hg, pv, nx, cc);
  for (int k = 0; k < C::K; ++k) io::store(sp.next[k], sp.nextd[k], static_cast<std::size_t>(idx), nx[k]);
  for (int k = 0; k < C::CC; ++k) io::store(cache, cached, static_cast<std::size_t>(b) * C::CC * H + k * H + j, cc[k]);
}

/// One step of BPTT: carry (the state gradients from the step after, plus the head's) in, the
/// pre-activation gradients out, carry replaced by the gradients w.r.t. the previous state (the
/// recurrent GEMM adds the rest). prev* are null at t = 0.
template <class Cell, class T, bool Tan>
__global__ void cell_backward(int B, int H, const T* __restrict__ cache, const T* __restrict__ cached, state_ptrs<T> sp,
                              T* __restrict__ dxp, T* __restrict__ dxpd, T* __restrict__ dhp, T* __restrict__ dhpd) {
  using C = device_cell<Cell>;
  using io = dev_io<T, Tan>;
  using S = typename io::S;
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= B * H) return;
  const int b = idx / H, j = idx - b * H;
  S cc[C::CC], pv[C::K], dn[C::K], dxg[C::G], dhg[C::G], dp[C::K];
  for (int k = 0; k < C::CC; ++k) cc[k] = io::load(cache, cached, static_cast<std::size_t>(b) * C::CC * H + k * H + j);
  for (int k = 0; k < C::K; ++k) {
    pv[k] = sp.prev[k] ? io::load(sp.prev[k], sp.prevd[k], static_cast<std::size_t>(idx)) : io::zero();
    dn[k] = io::load(sp.next[k], sp.nextd[k], static_cast<std::size_t>(idx));
  }
  C::template backward<T>(cc, pv, dn, dxg, dhg, dp);
  for (int k = 0; k < C::G; ++k) {
    const std::size_t o = static_cast<std::size_t>(b) * C::G * H + k * H + j;
    io::store(dxp, dxpd, o, dxg[k]);
    io::store(dhp, dhpd, o, dhg[k]);
  }
  for (int k = 0; k < C::K; ++k) io::store(sp.next[k], sp.nextd[k], static_cast<std::size_t>(idx), dp[k]);
}

/// Softmax cross-entropy per row with weight w: loss[r], dz = w (p − e_y) and, with tangents,
/// dzd = w (p ⊙ zd − p (p·zd)).
template <class T, bool Tan>
__global__ void softmax_xent(int B, int C, const T* __restrict__ z, const T* __restrict__ zd, const int* __restrict__ y,
                             T w, double* __restrict__ loss, T* __restrict__ dz, T* __restrict__ dzd) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= B) return;
  const T* zr = z + static_cast<std::size_t>(r) * C;
  double m = zr[0];
  for (int c = 1; c < C; ++c) m = fmax(m, static_cast<double>(zr[c]));
  double s = 0;
  for (int c = 0; c < C; ++c) s += exp(static_cast<double>(zr[c]) - m);
  const int yr = y[r];
  loss[r] = m + log(s) - static_cast<double>(zr[yr]);
  double pz = 0;
  if constexpr (Tan)
    for (int c = 0; c < C; ++c) pz += exp(static_cast<double>(zr[c]) - m) / s * static_cast<double>(zd[r * C + c]);
  for (int c = 0; c < C; ++c) {
    const double p = exp(static_cast<double>(zr[c]) - m) / s;
    dz[static_cast<std::size_t>(r) * C + c] = static_cast<T>(w * (p - (c == yr ? 1.0 : 0.0)));
    if constexpr (Tan)
      dzd[static_cast<std::size_t>(r) * C + c] = static_cast<T>(w * p * (static_cast<double>(zd[r * C + c]) - pz));
  }
}

}  // namespace kernels

/// A value matrix and its tangent on the device.
template <class T>
struct device_pair {
  device_buffer<T> v, d;
  void resize(std::size_t n, bool tan) {
    v.resize(n);
    if (tan) d.resize(n);
  }
};

template <recurrent_cell Cell, class T = float>
class rnn_engine {
  static_assert(std::same_as<Cell, lstm_cell> || std::same_as<Cell, gru_cell>,
                "rnnabs::cuda::rnn_engine: the GPU cells are lstm_cell and gru_cell");
  using DC = device_cell<Cell>;

 public:
  /// Takes the model's shape and parameters (checks the supported scope).
  explicit rnn_engine(const rnn_classifier<Cell, T>& model) : cfg_(checked(model.config())) {
    layout_ = make_rnn_layout(cfg_, Cell::gates, idx_, model.names());
    blas_ = std::make_unique<cublas_handle>(stream_.get());
    set_parameters(model.parameters());
  }

  /// The config, once the scope and a device are checked (before any member touches the device).
  static rnn_config checked(const rnn_config& c) {
    const char* who = "cuda::rnn_engine";
    require(c.num_layers == 1 && !c.bidirectional, who, ": one unidirectional layer only (got ", c.num_layers,
            " layer(s)", c.bidirectional ? ", bidirectional" : "", "); use the CPU engine");
    require(!c.token_input(), who, ": feature input only (the model has an embedding); use the CPU engine");
    require(c.head == head_mode::last_step && c.loss == loss_kind::cross_entropy, who,
            ": a last-step head with cross_entropy only; use the CPU engine");
    require_device(who);
    return c;
  }

  /// Replaces θ (flat, state_dict order).
  void set_parameters(const vector<T>& theta) {
    require(theta.size() == layout_.size(), "cuda::rnn_engine::set_parameters: ", theta.size(),
            " values, the model has ", layout_.size());
    theta_.upload(theta.data(), static_cast<std::size_t>(theta.size()), stream_);
  }
  index_t parameter_count() const noexcept { return layout_.size(); }

  /// Uploads a batch: every sequence must have the same length (labels needed for the loss).
  void set_batch(const sequence_batch<T>& b) {
    const char* who = "cuda::rnn_engine::set_batch";
    require(b.size() > 0 && !b.has_tokens(), who, ": a non-empty batch of feature sequences is needed");
    B_ = b.size();
    T_ = b.length(0);
    const index_t I = cfg_.input_size;
    for (index_t i = 0; i < B_; ++i) {
      require(b.length(i) == T_, who, ": sequence ", i, " has ", b.length(i), " steps, sequence 0 has ", T_,
              " (the GPU engine takes equal lengths)");
      require(b.features[static_cast<std::size_t>(i)].cols() == I, who, ": sequence ", i, " has ",
              b.features[static_cast<std::size_t>(i)].cols(), " features, the model takes ", I);
    }
    require(b.labels.size() == B_, who, ": ", b.labels.size(), " labels for ", B_, " sequences");
    std::vector<T> x(static_cast<std::size_t>(T_ * B_ * I));  // time-major: row t·B + b
    for (index_t i = 0; i < B_; ++i)
      for (index_t t = 0; t < T_; ++t)
        for (index_t a = 0; a < I; ++a)
          x[static_cast<std::size_t>((t * B_ + i) * I + a)] = b.features[static_cast<std::size_t>(i)](t, a);
    std::vector<int> y(static_cast<std::size_t>(B_));
    for (index_t i = 0; i < B_; ++i) {
      require(b.labels(i) >= 0 && b.labels(i) < cfg_.num_classes, who, ": label ", b.labels(i), " of sequence ", i,
              " is outside [0, ", cfg_.num_classes, ")");
      y[static_cast<std::size_t>(i)] = static_cast<int>(b.labels(i));
    }
    x_.upload(x, stream_);
    y_.upload(y, stream_);
  }

  /// Forward pass: logits (B×C) and, when record, every step's hidden state (T×H per sequence).
  rnn_output<T> forward(bool record) {
    run<false>(nullptr, false, nullptr, nullptr);
    rnn_output<T> out;
    const index_t C = cfg_.num_classes, H = cfg_.hidden_size;
    out.logits.resize(B_, C);
    z_.v.download(out.logits.data(), static_cast<std::size_t>(B_ * C), stream_);
    out.probabilities.resize(B_, C);
    out.predictions.resize(B_);
    for (index_t r = 0; r < B_; ++r) {
      rnnabs::detail::output_distribution(cfg_.loss, out.logits.row(r).data(), C, out.probabilities.row(r).data());
      index_t best = 0;
      out.probabilities.row(r).maxCoeff(&best);
      out.predictions[r] = best;
    }
    if (record) {
      std::vector<T> h(static_cast<std::size_t>(T_ * B_ * H));
      s_[0].v.download(h.data(), h.size(), stream_);
      out.hidden.assign(static_cast<std::size_t>(B_), matrix<T>(T_, H));
      for (index_t i = 0; i < B_; ++i)
        for (index_t t = 0; t < T_; ++t)
          for (index_t j = 0; j < H; ++j)
            out.hidden[static_cast<std::size_t>(i)](t, j) = h[static_cast<std::size_t>((t * B_ + i) * H + j)];
    }
    return out;
  }

  /// Gradient of the mean loss (flat layout); loss_out receives the loss.
  vector<T> loss_gradient(double* loss_out = nullptr) {
    g_.resize(static_cast<std::size_t>(layout_.size()));
    run<false>(nullptr, true, g_.data(), nullptr);
    if (loss_out) *loss_out = last_loss();
    return download(g_);
  }

  /// Exact Hessian of the mean loss times v (flat layout); gradient_out receives the gradient.
  vector<T> hessian_vector_product(const vector<T>& v, vector<T>* gradient_out = nullptr) {
    require(v.size() == layout_.size(), "cuda::rnn_engine::hessian_vector_product: v has ", v.size(),
            " entries, the model has ", layout_.size());
    vdir_.upload(v.data(), static_cast<std::size_t>(v.size()), stream_);
    g_.resize(static_cast<std::size_t>(layout_.size()));
    hv_.resize(static_cast<std::size_t>(layout_.size()));
    run<true>(vdir_.data(), true, g_.data(), hv_.data());
    if (gradient_out) *gradient_out = download(g_);
    return download(hv_);
  }

  /// Device-side H·v with v and the result already on the device (for benchmarks and solvers).
  void hessian_vector_product_device(const T* v, T* hv, T* g) { run<true>(v, true, g, hv); }
  void loss_gradient_device(T* g) { run<false>(nullptr, true, g, nullptr); }
  void synchronize() const { stream_.synchronize(); }
  cudaStream_t stream() const noexcept { return stream_.get(); }
  const parameter_layout& layout() const noexcept { return layout_; }

  /// Mean loss of the last run.
  double last_loss() {
    std::vector<double> l(static_cast<std::size_t>(B_));
    loss_.download(l.data(), l.size(), stream_);
    double s = 0;
    for (double x : l) s += x;
    return s / static_cast<double>(B_);
  }

 private:
  vector<T> download(const device_buffer<T>& b) {
    vector<T> out(layout_.size());
    b.download(out.data(), static_cast<std::size_t>(out.size()), stream_);
    return out;
  }
  const T* P(const T* base, index_t tensor) const { return base ? base + layout_[tensor].offset : nullptr; }
  T* P(T* base, index_t tensor) const { return base ? base + layout_[tensor].offset : nullptr; }
  unsigned cells_grid() const { return static_cast<unsigned>((B_ * cfg_.hidden_size + 127) / 128); }

  /// Forward (+ backward when `backward`) with tangents when Tan (v: direction on the device).
  template <bool Tan>
  void run(const T* v, bool backward, T* g, T* hv) {
    require(B_ > 0, "cuda::rnn_engine: no batch; call set_batch first");
    const int B = static_cast<int>(B_), Tn = static_cast<int>(T_), I = static_cast<int>(cfg_.input_size),
              H = static_cast<int>(cfg_.hidden_size), G = static_cast<int>(Cell::gates), GH = G * H,
              C = static_cast<int>(cfg_.num_classes), K = DC::K, CC = DC::CC;
    const int TB = Tn * B;
    cudaStream_t s = stream_;
    cublasHandle_t h = blas_->get();
    const auto& e = idx_.cell[0];
    const T* th = theta_.data();
    const T *Wih = P(th, e[0]), *Whh = P(th, e[1]), *bih = P(th, e[2]), *bhh = P(th, e[3]),
            *Wfc = P(th, idx_.fc_weight), *bfc = P(th, idx_.fc_bias);
    const T *Vih = P(v, e[0]), *Vhh = P(v, e[1]), *vbih = P(v, e[2]), *vbhh = P(v, e[3]), *Vfc = P(v, idx_.fc_weight),
            *vbfc = P(v, idx_.fc_bias);
    const std::size_t tb = static_cast<std::size_t>(TB);
    xp_.resize(tb * GH, Tan);
    hp_.resize(static_cast<std::size_t>(B) * GH, Tan);
    for (int k = 0; k < K; ++k) s_[k].resize(tb * H, Tan);
    cache_.resize(tb * CC * H, Tan);
    z_.resize(static_cast<std::size_t>(B) * C, Tan);
    const T one(1), zero(0);
    // XP = X W_ihᵀ + b_ih (all steps); tangent X V_ihᵀ + v_bih.
    gemm_rm(h, false, true, TB, GH, I, one, x_.data(), I, Wih, I, zero, xp_.v.data(), GH);
    bias(xp_.v.data(), TB, GH, bih, true);
    if constexpr (Tan) {
      gemm_rm(h, false, true, TB, GH, I, one, x_.data(), I, Vih, I, zero, xp_.d.data(), GH);
      bias(xp_.d.data(), TB, GH, vbih, true);
    }
    for (int t = 0; t < Tn; ++t) {
      const std::size_t o = static_cast<std::size_t>(t) * B * H, po = o - static_cast<std::size_t>(B) * H;
      bias(hp_.v.data(), B, GH, bhh, false);
      if constexpr (Tan) bias(hp_.d.data(), B, GH, vbhh, false);
      if (t > 0) {
        gemm_rm(h, false, true, B, GH, H, one, s_[0].v.data() + po, H, Whh, H, one, hp_.v.data(), GH);
        if constexpr (Tan) {
          gemm_rm(h, false, true, B, GH, H, one, s_[0].d.data() + po, H, Whh, H, one, hp_.d.data(), GH);
          gemm_rm(h, false, true, B, GH, H, one, s_[0].v.data() + po, H, Vhh, H, one, hp_.d.data(), GH);
        }
      }
      kernels::state_ptrs<T> ptr;
      for (int k = 0; k < K; ++k) {
        ptr.prev[k] = t > 0 ? s_[k].v.data() + po : nullptr;
        ptr.prevd[k] = (Tan && t > 0) ? s_[k].d.data() + po : nullptr;
        ptr.next[k] = s_[k].v.data() + o;
        ptr.nextd[k] = Tan ? s_[k].d.data() + o : nullptr;
      }
      kernels::cell_forward<Cell, T, Tan><<<cells_grid(), 128, 0, s>>>(
          B, H, xp_.v.data() + static_cast<std::size_t>(t) * B * GH,
          Tan ? xp_.d.data() + static_cast<std::size_t>(t) * B * GH : nullptr, hp_.v.data(),
          Tan ? hp_.d.data() : nullptr, ptr, cache_.v.data() + static_cast<std::size_t>(t) * B * CC * H,
          Tan ? cache_.d.data() + static_cast<std::size_t>(t) * B * CC * H : nullptr);
      RNNABS_CUDA_CHECK_LAUNCH("cell_forward kernel");
    }
    // Head on the last step's state.
    const std::size_t last = static_cast<std::size_t>(Tn - 1) * B * H;
    const T* feat = s_[0].v.data() + last;
    const T* featd = Tan ? s_[0].d.data() + last : nullptr;
    gemm_rm(h, false, true, B, C, H, one, feat, H, Wfc, H, zero, z_.v.data(), C);
    bias(z_.v.data(), B, C, bfc, true);
    if constexpr (Tan) {
      gemm_rm(h, false, true, B, C, H, one, featd, H, Wfc, H, zero, z_.d.data(), C);
      gemm_rm(h, false, true, B, C, H, one, feat, H, Vfc, H, one, z_.d.data(), C);
      bias(z_.d.data(), B, C, vbfc, true);
    }
    if (!backward) return;

    // Loss and the head's gradient (mean over the batch).
    dz_.resize(static_cast<std::size_t>(B) * C, Tan);
    loss_.resize(static_cast<std::size_t>(B));
    kernels::softmax_xent<T, Tan><<<static_cast<unsigned>((B + 127) / 128), 128, 0, s>>>(
        B, C, z_.v.data(), Tan ? z_.d.data() : nullptr, y_.data(), one / static_cast<T>(B), loss_.data(), dz_.v.data(),
        Tan ? dz_.d.data() : nullptr);
    RNNABS_CUDA_CHECK_LAUNCH("softmax_xent kernel");
    // fc: g_W = dZᵀ feat, g_b = Σ dZ (tangents: dŻᵀ feat + dZᵀ feaṫ, Σ dŻ).
    gemm_rm(h, true, false, C, H, B, one, dz_.v.data(), C, feat, H, zero, P(g, idx_.fc_weight), H);
    column_sums<T>(dz_.v.data(), B, C, C, zero, P(g, idx_.fc_bias), s);
    if constexpr (Tan) {
      gemm_rm(h, true, false, C, H, B, one, dz_.d.data(), C, feat, H, zero, P(hv, idx_.fc_weight), H);
      gemm_rm(h, true, false, C, H, B, one, dz_.v.data(), C, featd, H, one, P(hv, idx_.fc_weight), H);
      column_sums<T>(dz_.d.data(), B, C, C, zero, P(hv, idx_.fc_bias), s);
    }
    // The carry starts as the head's gradient w.r.t. the last state: dfeat = dZ W_fc (+ tangents).
    for (int k = 0; k < K; ++k) {
      carry_[k].resize(static_cast<std::size_t>(B) * H, Tan);
      carry_[k].v.zero(s);
      if constexpr (Tan) carry_[k].d.zero(s);
    }
    gemm_rm(h, false, false, B, H, C, one, dz_.v.data(), C, Wfc, H, zero, carry_[0].v.data(), H);
    if constexpr (Tan) {
      gemm_rm(h, false, false, B, H, C, one, dz_.d.data(), C, Wfc, H, zero, carry_[0].d.data(), H);
      gemm_rm(h, false, false, B, H, C, one, dz_.v.data(), C, Vfc, H, one, carry_[0].d.data(), H);
    }
    dxp_.resize(tb * GH, Tan);
    dhp_.resize(tb * GH, Tan);
    for (int t = Tn - 1; t >= 0; --t) {
      const std::size_t o = static_cast<std::size_t>(t) * B * H, po = o - static_cast<std::size_t>(B) * H;
      kernels::state_ptrs<T> ptr;
      for (int k = 0; k < K; ++k) {
        ptr.prev[k] = t > 0 ? s_[k].v.data() + po : nullptr;
        ptr.prevd[k] = (Tan && t > 0) ? s_[k].d.data() + po : nullptr;
        ptr.next[k] = carry_[k].v.data();
        ptr.nextd[k] = Tan ? carry_[k].d.data() : nullptr;
      }
      const std::size_t go = static_cast<std::size_t>(t) * B * GH;
      kernels::cell_backward<Cell, T, Tan><<<cells_grid(), 128, 0, s>>>(
          B, H, cache_.v.data() + static_cast<std::size_t>(t) * B * CC * H,
          Tan ? cache_.d.data() + static_cast<std::size_t>(t) * B * CC * H : nullptr, ptr, dxp_.v.data() + go,
          Tan ? dxp_.d.data() + go : nullptr, dhp_.v.data() + go, Tan ? dhp_.d.data() + go : nullptr);
      RNNABS_CUDA_CHECK_LAUNCH("cell_backward kernel");
      if (t > 0) {  // dh_{t−1} += dHP_t W_hh (+ tangents)
        gemm_rm(h, false, false, B, H, GH, one, dhp_.v.data() + go, GH, Whh, H, one, carry_[0].v.data(), H);
        if constexpr (Tan) {
          gemm_rm(h, false, false, B, H, GH, one, dhp_.d.data() + go, GH, Whh, H, one, carry_[0].d.data(), H);
          gemm_rm(h, false, false, B, H, GH, one, dhp_.v.data() + go, GH, Vhh, H, one, carry_[0].d.data(), H);
        }
      }
    }
    // Parameter gradients: W_ih, b_ih over all rows; W_hh pairs step t's dHP with step t−1's h.
    gemm_rm(h, true, false, GH, I, TB, one, dxp_.v.data(), GH, x_.data(), I, zero, P(g, e[0]), I);
    column_sums<T>(dxp_.v.data(), TB, GH, GH, zero, P(g, e[2]), s);
    column_sums<T>(dhp_.v.data(), TB, GH, GH, zero, P(g, e[3]), s);
    const int rows = TB - B;
    const std::size_t skip = static_cast<std::size_t>(B) * GH;
    if (rows > 0) {
      gemm_rm(h, true, false, GH, H, rows, one, dhp_.v.data() + skip, GH, s_[0].v.data(), H, zero, P(g, e[1]), H);
    } else {
      RNNABS_CUDA_CHECK(cudaMemsetAsync(P(g, e[1]), 0, static_cast<std::size_t>(GH) * H * sizeof(T), s));
    }
    if constexpr (Tan) {
      gemm_rm(h, true, false, GH, I, TB, one, dxp_.d.data(), GH, x_.data(), I, zero, P(hv, e[0]), I);
      column_sums<T>(dxp_.d.data(), TB, GH, GH, zero, P(hv, e[2]), s);
      column_sums<T>(dhp_.d.data(), TB, GH, GH, zero, P(hv, e[3]), s);
      if (rows > 0) {
        gemm_rm(h, true, false, GH, H, rows, one, dhp_.d.data() + skip, GH, s_[0].v.data(), H, zero, P(hv, e[1]), H);
        gemm_rm(h, true, false, GH, H, rows, one, dhp_.v.data() + skip, GH, s_[0].d.data(), H, one, P(hv, e[1]), H);
      } else {
        RNNABS_CUDA_CHECK(cudaMemsetAsync(P(hv, e[1]), 0, static_cast<std::size_t>(GH) * H * sizeof(T), s));
      }
    }
  }

  void bias(T* M, int rows, int cols, const T* v, bool add) {
    kernels::broadcast_row<T>
        <<<grid_for(static_cast<std::size_t>(rows) * cols), 256, 0, stream_.get()>>>(M, rows, cols, v, add);
    RNNABS_CUDA_CHECK_LAUNCH("broadcast_row kernel");
  }

  rnn_config cfg_;
  parameter_layout layout_;
  rnn_parameter_index idx_;
  cuda::stream stream_;
  std::unique_ptr<cublas_handle> blas_;
  index_t B_ = 0, T_ = 0;
  device_buffer<T> theta_, vdir_, g_, hv_, x_;
  device_buffer<int> y_;
  device_buffer<double> loss_;
  device_pair<T> xp_, hp_, cache_, z_, dz_, dxp_, dhp_;
  device_pair<T> s_[2], carry_[2];
};

}  // namespace rnnabs::cuda
