#pragma once
// The streaming passes of the GPU Gaussian mixture (and of the GPU k-means sums): per pass one kernel
// streams the points in tiles of P points (one thread per point). It computes each point's K weighted
// log-densities, an online log-sum-exp (running max and rescaled sum: one sweep over the components),
// the responsibilities — kept in shared memory for the tile only, so the N×K matrix is never written —
// and adds the tile's sufficient statistics, shifted by given means exactly as the CPU kernels do
// (detail::gmm_stats: Σr, Σr(x−μ), Σr(x−μ)(x−μ)ᵀ), to per-block partial sums in double. A second kernel
// adds the partials in block order (deterministic on a given device). The same pass with hard labels
// in place of responsibilities gives the statistics of a partition (k-means centres, GMM init).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "rnnabs/cuda/blas.cuh"
#include "rnnabs/cuda/gmm_mstep.cuh"
#include "rnnabs/cuda/points.cuh"
#include "rnnabs/cuda/runtime.cuh"
#include "rnnabs/stats/gmm.hpp"

namespace rnnabs::cuda {

namespace kernels {

/// One accumulated quantity: kind 0 Σr (component k), 1 Σr(x−μ)_a, 2 Σr(x−μ)_a(x−μ)_b.
struct gmm_entry {
  int kind, k, a, b;
};

/// Device view of detail::gmm_kernel_model.
struct gmm_device_model {
  int K, D;
  bool full, tied;
  const double* mu;  // K×D
  const double* hp;  // K×D (diag/spherical)
  const double* pc;  // (tied ? 1 : K)×D×D upper factors (full/tied)
  const double* c;   // K
};

__device__ inline double gmm_log_prob(const gmm_device_model& m, int k, const double* xs, int p, int P) {
  const int D = m.D;
  const double* mu = m.mu + k * D;
  if (!m.full) {
    const double* hp = m.hp + k * D;
    double acc = 0;
    for (int a = 0; a < D; ++a) {
      const double d = xs[a * P + p] - __ldg(mu + a);
      acc += __ldg(hp + a) * d * d;
    }
    return __ldg(m.c + k) - acc;
  }
  const double* U = m.pc + static_cast<std::size_t>(m.tied ? 0 : k) * D * D;
  double acc = 0;
  for (int b = 0; b < D; ++b) {  // y_b = Σ_{a≤b} (x−μ)_a U_ab
    double y = 0;
    for (int a = 0; a <= b; ++a) y += (xs[a * P + p] - __ldg(mu + a)) * __ldg(U + a * D + b);
    acc += y * y;
  }
  return __ldg(m.c + k) - 0.5 * acc;
}

/// What a pass computes: the fused E+M statistics, the E-step's log p(x) alone, or the statistics
/// of hard labels (responsibility w_i for the point's label, 0 elsewhere: k-means sums, GMM init).
enum class pass_mode { stats, lse, labels };

/// Streaming pass over x (N×D row-major; w may be null: weights 1). stats/labels: the entries'
/// statistics into partial[block][1 + e] and (stats) Σ w·lse into partial[block][0]; lse: log p(x_i)
/// into lse_out[i]. labels reads label[i] in [0, K) and uses only the model's means (the shift).
/// Shared memory: (D + K + 1)·P doubles (labels: (D + 3)·P) with P = blockDim.x, a power of two.
template <pass_mode Mode>
__global__ void gmm_pass(const double* __restrict__ x, const double* __restrict__ w, long long n, gmm_device_model m,
                         const gmm_entry* __restrict__ entries, int n_entries, double* __restrict__ partial,
                         double* __restrict__ lse_out, const int* __restrict__ label) {
  constexpr bool Lse = Mode == pass_mode::lse;
  extern __shared__ double sh[];
  const int P = static_cast<int>(blockDim.x), tid = static_cast<int>(threadIdx.x), D = m.D, K = m.K;
  double* xs = sh;  // D×P, feature-major
  // stats/lse: K×P log-densities, then w·responsibilities; labels: P weights and P labels (no K×P
  // block, so k-means with many clusters fits in shared memory).
  double* rs = xs + D * P;
  double* red = rs + (Mode == pass_mode::labels ? 2 : K) * P;  // P
  double* part = Lse ? nullptr : partial + static_cast<std::size_t>(blockIdx.x) * (n_entries + 1);
  if constexpr (!Lse)
    for (int e = tid; e < n_entries; e += P) part[1 + e] = 0.0;
  double ll = 0;
  const long long n_tiles = (n + P - 1) / P;
  for (long long t = blockIdx.x; t < n_tiles; t += gridDim.x) {
    const long long base = t * P;
    __syncthreads();  // the previous tile's readers are done with xs and rs
    const long long avail = n - base < P ? n - base : P;
    for (int q = tid; q < P * D; q += P) {  // coalesced: the tile's rows are contiguous
      const int p = q / D, a = q - p * D;
      xs[a * P + p] = p < avail ? x[base * D + q] : 0.0;
    }
    __syncthreads();
    const long long i = base + tid;
    const bool valid = tid < avail;
    if constexpr (Mode == pass_mode::labels) {
      const double wi = valid ? (w ? w[i] : 1.0) : 0.0;
      rs[tid] = wi;
      rs[P + tid] = valid ? static_cast<double>(label[i]) : -1.0;
    } else {
      double mx = -INFINITY, s = 0;
      for (int k = 0; k < K; ++k) {  // online log-sum-exp
        const double lp = gmm_log_prob(m, k, xs, tid, P);
        rs[k * P + tid] = lp;
        if (lp > mx) {
          s = s * exp(mx - lp) + 1.0;
          mx = lp;
        } else {
          s += exp(lp - mx);
        }
      }
      const double lse = mx + log(s);
      if constexpr (Lse) {
        if (valid) lse_out[i] = lse;
        continue;
      } else {
        const double wi = valid ? (w ? w[i] : 1.0) : 0.0;
        if (valid) ll += wi * lse;
        for (int k = 0; k < K; ++k) rs[k * P + tid] = valid ? wi * exp(rs[k * P + tid] - lse) : 0.0;
      }
    }
    if constexpr (!Lse) {
      __syncthreads();
      for (int e = tid; e < n_entries; e += P) {
        const gmm_entry en = entries[e];
        const double* rk = rs + en.k * P;
        auto r = [&](int p) {  // w·responsibility of point p for component en.k
          if constexpr (Mode == pass_mode::labels) return rs[P + p] == en.k ? rs[p] : 0.0;
          else return rk[p];
        };
        double acc = 0;
        if (en.kind == 0) {
          for (int p = 0; p < P; ++p) acc += r(p);
        } else {
          const double ma = m.mu[en.k * D + en.a];
          const double* xa = xs + en.a * P;
          if (en.kind == 1) {
            for (int p = 0; p < P; ++p) acc += r(p) * (xa[p] - ma);
          } else {
            const double mb = m.mu[en.k * D + en.b];
            const double* xb = xs + en.b * P;
            for (int p = 0; p < P; ++p) acc += r(p) * (xa[p] - ma) * (xb[p] - mb);
          }
        }
        part[1 + e] += acc;
      }
    }
  }
  if constexpr (!Lse) {
    __syncthreads();
    red[tid] = ll;
    __syncthreads();
    for (int h = P / 2; h > 0; h /= 2) {
      if (tid < h) red[tid] += red[tid + h];
      __syncthreads();
    }
    if (tid == 0) part[0] = red[0];
  }
}

/// out[j] = Σ_b partial[b][j], blocks in order.
__global__ inline void sum_partials(const double* __restrict__ partial, int blocks, int width,
                                    double* __restrict__ out) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= width) return;
  double s = 0;
  for (int b = 0; b < blocks; ++b) s += partial[static_cast<std::size_t>(b) * width + j];
  out[j] = s;
}

}  // namespace kernels

/// Which sums a pass accumulates per component: Σr and Σr(x−μ) only (k-means), plus the diagonal
/// Σr(x−μ)² (diag, spherical), or plus the lower triangle of Σr(x−μ)(x−μ)ᵀ (full, tied).
enum class moments { first, diag, full };
inline moments moments_for(covariance_type c) noexcept {
  return c == covariance_type::full || c == covariance_type::tied ? moments::full : moments::diag;
}

/// Launches the GPU passes for one model shape (K components, D features, the sums wanted).
class gmm_engine {
 public:
  gmm_engine(const device_points& data, index_t K, covariance_type c, cudaStream_t s = nullptr)
      : gmm_engine(data, K, moments_for(c), s) {}
  gmm_engine(const device_points& data, index_t K, moments what, cudaStream_t s = nullptr)
      : data_(data), K_(K), what_(what), s_(s) {
    const index_t D = data.d();
    full_ = what == moments::full;
    std::vector<kernels::gmm_entry> e;
    for (int k = 0; k < K; ++k) e.push_back({0, k, 0, 0});
    for (int k = 0; k < K; ++k)
      for (int a = 0; a < D; ++a) e.push_back({1, k, a, 0});
    for (int k = 0; k < K && what != moments::first; ++k)
      for (int a = 0; a < D; ++a)
        if (full_) {
          for (int b = 0; b <= a; ++b) e.push_back({2, k, a, b});
        } else {
          e.push_back({2, k, a, a});
        }
    n_entries_ = static_cast<int>(e.size());
    require(n_entries_ + 1 == layout().width(), "cuda::gmm_engine: internal error: entries and layout disagree");
    entries_.resize(e.size());
    RNNABS_CUDA_CHECK(
        cudaMemcpyAsync(entries_.data(), e.data(), e.size() * sizeof(kernels::gmm_entry), cudaMemcpyHostToDevice, s_));
    RNNABS_CUDA_CHECK(cudaStreamSynchronize(s_));  // e is freed on return
    // Tile: the largest power of two <= 128 points whose shared memory fits the device.
    const device_info dev = current_device();
    P_ = 128;
    while (P_ >= 32 && shared_bytes(P_) > dev.shared_per_block_optin) P_ /= 2;
    require(P_ >= 32, "cuda::gmm_engine: ", K, " components x ", D,
            " features need more shared memory per block than the device has; use the CPU backend");
    const std::size_t bytes = shared_bytes(P_);
    using kernels::pass_mode;
    // The attribute belongs to the kernel, not to this engine: allow the device's maximum, so engines
    // of different shapes can coexist.
    for (auto* f :
         {kernels::gmm_pass<pass_mode::stats>, kernels::gmm_pass<pass_mode::lse>, kernels::gmm_pass<pass_mode::labels>})
      RNNABS_CUDA_CHECK(cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             static_cast<int>(dev.shared_per_block_optin)));
    int per_sm = 0;
    RNNABS_CUDA_CHECK(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernels::gmm_pass<pass_mode::stats>, P_, bytes));
    const long long tiles = (data.n() + P_ - 1) / P_;
    blocks_ = static_cast<int>(std::min<long long>(tiles, static_cast<long long>(std::max(per_sm, 1)) * dev.sm_count));
    partial_.resize(static_cast<std::size_t>(blocks_) * (n_entries_ + 1));
    total_.resize(static_cast<std::size_t>(n_entries_ + 1));
  }

  int tile_points() const noexcept { return P_; }
  int blocks() const noexcept { return blocks_; }
  index_t n_components() const noexcept { return K_; }

  /// One fused E+M pass: the CPU's detail::gmm_stats (shifted by the model's means) and Σ w log p(x).
  rnnabs::detail::gmm_stats em_pass(const rnnabs::detail::gmm_kernel_model& m) {
    require(what_ != moments::first, "cuda::gmm_engine::em_pass: the engine accumulates first moments only");
    return run(kernels::pass_mode::stats, upload(m), nullptr);
  }

  /// The statistics of hard labels (device array of N labels in [0, K)) summed around `shift` (K×D):
  /// the CPU's detail::label_stats. With moments::first, s1 + nk·shift are the k-means sums.
  rnnabs::detail::gmm_stats label_stats(const int* label, const matrix<double>& shift) {
    require(shift.rows() == K_ && shift.cols() == data_.d(), "cuda::gmm_engine::label_stats: shift is ", shift.rows(),
            " x ", shift.cols(), ", expected ", K_, " x ", data_.d());
    rnnabs::detail::gmm_kernel_model m;
    m.k = K_;
    m.d = data_.d();
    m.full = full_;
    m.mu.assign(shift.data(), shift.data() + shift.size());
    return run(kernels::pass_mode::labels, upload(m), label);
  }

  /// Where the sums sit in a pass's totals.
  packed_stats_layout layout() const noexcept {
    return {static_cast<int>(K_), static_cast<int>(data_.d()), full_, what_ != moments::first};
  }

  /// Makes m the device-resident model of the next em_step.
  void set_model(const rnnabs::detail::gmm_kernel_model& m) {
    tied_ = m.tied;
    upload(m);
  }

  /// What the host reads of one device EM iteration.
  struct step_result {
    double loglik = 0;       // Σ w log p(x) under the model the pass used
    std::vector<int> flags;  // per component: mstep_ok, mstep_not_pd or mstep_light
    bool any_flag() const {
      return std::any_of(flags.begin(), flags.end(), [](int f) { return f != mstep_ok; });
    }
  };

  /// One EM iteration on the device: the fused E+M pass under the resident model (set_model or the
  /// previous em_step), then the M-step (gmm_mstep.cuh), which writes the next parameters and makes
  /// their kernel model resident. Reads back Σ w log p and the K flags only.
  step_result em_step(covariance_type c, double reg_covar, double min_weight) {
    require(what_ != moments::first && moments_for(c) == what_ && (c == covariance_type::tied) == tied_,
            "cuda::gmm_engine::em_step: covariance type ", to_string(c), " does not match the engine's model");
    run_pass(kernels::pass_mode::stats, device_model(tied_), nullptr);
    const index_t D = data_.d();
    const auto [rows, cols] = rnnabs::detail::covariance_shape(c, K_, D);
    auto alloc = [&](auto& b, index_t n) {  // poisoned (NaN, flag −1) when allocated: a missed write shows
      if (b.size() == static_cast<std::size_t>(n)) return;
      b.resize(static_cast<std::size_t>(n));
      b.fill_bytes(0xFF, s_);
    };
    alloc(weight_, K_);
    alloc(mean_, K_ * D);
    alloc(cov_, rows * cols);
    alloc(flag_, K_);
    mstep_args g;
    g.L = layout();
    g.type = c;
    g.t = total_.data();
    g.reg = reg_covar;
    g.min_weight = min_weight;
    g.weight = weight_.data();
    g.mean = mean_.data();
    g.cov = cov_.data();
    double* base = model_.data();
    g.mu = base;
    g.hp = base + o_hp();
    g.pc = base + o_pc();
    g.c = base + o_c();
    g.flag = flag_.data();
    kernels::gmm_mstep<<<grid_for(static_cast<std::size_t>(K_), 64), 64, 0, s_>>>(g);
    RNNABS_CUDA_CHECK_LAUNCH("gmm_mstep kernel");
    step_result r;
    total_.download(&r.loglik, 1, s_);
    r.flags.resize(static_cast<std::size_t>(K_));
    flag_.download(r.flags.data(), r.flags.size(), s_);
    return r;
  }

  /// The parameters of the last em_step (copied from the device).
  gmm_parameters parameters(covariance_type c) const {
    require(!weight_.empty(), "cuda::gmm_engine::parameters: no em_step has run");
    const index_t D = data_.d();
    const auto [rows, cols] = rnnabs::detail::covariance_shape(c, K_, D);
    require(cov_.size() == static_cast<std::size_t>(rows * cols), "cuda::gmm_engine::parameters: covariance type ",
            to_string(c), " is not the last em_step's");
    gmm_parameters p;
    p.weights.resize(K_);
    p.means.resize(K_, D);
    p.covariances.resize(rows, cols);
    weight_.download(p.weights.data(), static_cast<std::size_t>(K_), s_);
    mean_.download(p.means.data(), static_cast<std::size_t>(K_ * D), s_);  // row-major, as the device
    cov_.download(p.covariances.data(), static_cast<std::size_t>(rows * cols), s_);
    return p;
  }

  /// log p(x_i) of every point under the model (the E-step alone), N values.
  vector<double> score_samples(const rnnabs::detail::gmm_kernel_model& m) {
    const kernels::gmm_device_model dm = upload(m);
    lse_.resize(static_cast<std::size_t>(data_.n()));
    kernels::gmm_pass<kernels::pass_mode::lse><<<blocks_, P_, shared_bytes(P_), s_>>>(
        data_.x(), nullptr, data_.n(), dm, nullptr, 0, nullptr, lse_.data(), nullptr);
    RNNABS_CUDA_CHECK_LAUNCH("gmm_pass<lse> kernel");
    vector<double> out(data_.n());
    lse_.download(out.data(), static_cast<std::size_t>(out.size()), s_);
    return out;
  }

 private:
  /// The pass and the sum of its block partials into total_ (on the device).
  void run_pass(kernels::pass_mode mode, const kernels::gmm_device_model& dm, const int* label) {
    using kernels::pass_mode;
    if (mode == pass_mode::stats) {
      kernels::gmm_pass<pass_mode::stats><<<blocks_, P_, shared_bytes(P_), s_>>>(
          data_.x(), data_.w(), data_.n(), dm, entries_.data(), n_entries_, partial_.data(), nullptr, nullptr);
      RNNABS_CUDA_CHECK_LAUNCH("gmm_pass<stats> kernel");
    } else {
      kernels::gmm_pass<pass_mode::labels><<<blocks_, P_, shared_bytes(P_), s_>>>(
          data_.x(), data_.w(), data_.n(), dm, entries_.data(), n_entries_, partial_.data(), nullptr, label);
      RNNABS_CUDA_CHECK_LAUNCH("gmm_pass<labels> kernel");
    }
    const int width = n_entries_ + 1;
    kernels::sum_partials<<<grid_for(static_cast<std::size_t>(width), 128), 128, 0, s_>>>(partial_.data(), blocks_,
                                                                                          width, total_.data());
    RNNABS_CUDA_CHECK_LAUNCH("sum_partials kernel");
  }
  /// The pass, with its totals read back as the CPU's gmm_stats.
  rnnabs::detail::gmm_stats run(kernels::pass_mode mode, const kernels::gmm_device_model& dm, const int* label) {
    run_pass(mode, dm, label);
    const int width = n_entries_ + 1;
    std::vector<double> t(static_cast<std::size_t>(width));
    total_.download(t.data(), t.size(), s_);
    const index_t D = data_.d();
    const packed_stats_layout L = layout();
    rnnabs::detail::gmm_stats st(K_, D, full_);
    st.loglik = t[0];
    for (int k = 0; k < K_; ++k) {
      st.nk[k] = t[static_cast<std::size_t>(L.nk(k))];
      for (int a = 0; a < D; ++a) {
        st.s1[k * D + a] = t[static_cast<std::size_t>(L.s1(k, a))];
        if (what_ == moments::diag) st.s2[k * D + a] = t[static_cast<std::size_t>(L.s2(k, a, a))];
        for (int b = 0; b <= a && full_; ++b) st.s2[(k * D + a) * D + b] = t[static_cast<std::size_t>(L.s2(k, a, b))];
      }
    }
    return st;
  }
  /// First moments only (k-means): the labels pass alone, (D + 3)·P; else the stats pass, which also
  /// covers the labels pass: (D + max(K, 2) + 1)·P.
  std::size_t shared_bytes(int P) const {
    const index_t rows = what_ == moments::first ? data_.d() + 3 : data_.d() + std::max<index_t>(K_, 2) + 1;
    return static_cast<std::size_t>(rows) * static_cast<std::size_t>(P) * sizeof(double);
  }
  /// The device model's fixed layout in model_: mu K×D | hp K×D | pc (full moments: K×D×D) | c K.
  std::size_t o_hp() const { return static_cast<std::size_t>(K_ * data_.d()); }
  std::size_t o_pc() const { return 2 * o_hp(); }
  std::size_t o_c() const { return o_pc() + (full_ ? static_cast<std::size_t>(K_ * data_.d() * data_.d()) : 0); }
  kernels::gmm_device_model device_model(bool tied) const {
    const double* base = model_.data();
    return {static_cast<int>(K_), static_cast<int>(data_.d()), full_, tied, base, base + o_hp(), base + o_pc(),
            base + o_c()};
  }
  kernels::gmm_device_model upload(const rnnabs::detail::gmm_kernel_model& m) {
    require(m.k == K_ && m.d == data_.d() && m.full == full_, "cuda::gmm_engine: model of ", m.k, " x ", m.d,
            " does not match the engine's ", K_, " x ", data_.d());
    std::vector<double> h(o_c() + static_cast<std::size_t>(K_), 0.0);
    std::copy(m.mu.begin(), m.mu.end(), h.begin());
    std::copy(m.hp.begin(), m.hp.end(), h.begin() + static_cast<std::ptrdiff_t>(o_hp()));
    std::copy(m.pc.begin(), m.pc.end(), h.begin() + static_cast<std::ptrdiff_t>(o_pc()));
    std::copy(m.c.begin(), m.c.end(), h.begin() + static_cast<std::ptrdiff_t>(o_c()));
    model_.resize(h.size());
    RNNABS_CUDA_CHECK(cudaMemcpyAsync(model_.data(), h.data(), h.size() * sizeof(double), cudaMemcpyHostToDevice, s_));
    RNNABS_CUDA_CHECK(cudaStreamSynchronize(s_));  // h is freed on return
    return device_model(m.tied);
  }

  const device_points& data_;
  index_t K_;
  moments what_;
  cudaStream_t s_;
  bool full_ = false;
  int n_entries_ = 0, P_ = 128, blocks_ = 1;
  device_buffer<kernels::gmm_entry> entries_;
  device_buffer<double> partial_, total_, model_, lse_;
  device_buffer<double> weight_, mean_, cov_;  // the device M-step's parameters
  device_buffer<int> flag_;
  bool tied_ = false;
};

}  // namespace rnnabs::cuda
