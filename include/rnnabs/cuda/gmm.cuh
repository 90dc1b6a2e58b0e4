#pragma once
// Gaussian mixture EM on the GPU: the twin of rnnabs::gaussian_mixture (stats/gmm.hpp) for the four
// covariance types, giving the same gmm_parameters (scikit-learn's parameterisation).
//
//   rnnabs::gaussian_mixture g({.n_components = 37, .covariance = rnnabs::covariance_type::diag});
//   rnnabs::cuda::gmm_fit_report r = rnnabs::cuda::fit(g, Z);          // EM on the device
//   rnnabs::cuda::fit(g, Z, rnnabs::cuda::backend::cpu);               // the same call, on the CPU
//
// Per iteration one kernel streams the points in tiles of P points (one thread per point): it
// computes each point's K weighted log-densities, an online log-sum-exp (running max and rescaled
// sum: one sweep over the components), the responsibilities — kept in shared memory for the tile
// only, so the N×K matrix is never written — and adds the tile's sufficient statistics, shifted by
// the current means exactly as the CPU kernels do (detail::gmm_stats: Σr, Σr(x−μ), Σr(x−μ)(x−μ)ᵀ), to
// per-block partial sums in double. A second kernel adds the partials in block order (deterministic
// on a given device). The M-step, the precision Cholesky factors and the degenerate-component
// policy are the CPU code itself (a K×D×D host step), so both backends share one parameterisation.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "rnnabs/cuda/blas.cuh"
#include "rnnabs/cuda/runtime.cuh"
#include "rnnabs/stats/gmm.hpp"

namespace rnnabs::cuda {

/// What a GPU fit reports beyond the parameters (gaussian_mixture keeps these only for CPU fits).
struct gmm_fit_report {
  double lower_bound = -std::numeric_limits<double>::infinity();
  index_t n_iter = 0;
  bool converged = false;
  index_t n_reseeded = 0;
  std::vector<double> history;
  backend used = backend::cuda;
};

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

/// Streaming E+M pass (Lse = false: statistics into partial[block][1 + e], Σ w·lse into partial[block][0])
/// or E-step only (Lse = true: log p(x_i) into lse_out[i]). x is N×D row-major; w may be null (weights 1).
/// Shared memory: (D + K + 1)·P doubles with P = blockDim.x, a power of two.
template <bool Lse>
__global__ void gmm_pass(const double* __restrict__ x, const double* __restrict__ w, long long n, gmm_device_model m,
                         const gmm_entry* __restrict__ entries, int n_entries, double* __restrict__ partial,
                         double* __restrict__ lse_out) {
  extern __shared__ double sh[];
  const int P = static_cast<int>(blockDim.x), tid = static_cast<int>(threadIdx.x), D = m.D, K = m.K;
  double* xs = sh;           // D×P, feature-major
  double* rs = xs + D * P;   // K×P: log-densities, then w·responsibilities
  double* red = rs + K * P;  // P
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
      __syncthreads();
      for (int e = tid; e < n_entries; e += P) {
        const gmm_entry en = entries[e];
        const double* r = rs + en.k * P;
        double acc = 0;
        if (en.kind == 0) {
          for (int p = 0; p < P; ++p) acc += r[p];
        } else {
          const double ma = m.mu[en.k * D + en.a];
          const double* xa = xs + en.a * P;
          if (en.kind == 1) {
            for (int p = 0; p < P; ++p) acc += r[p] * (xa[p] - ma);
          } else {
            const double mb = m.mu[en.k * D + en.b];
            const double* xb = xs + en.b * P;
            for (int p = 0; p < P; ++p) acc += r[p] * (xa[p] - ma) * (xb[p] - mb);
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
__global__ inline void sum_partials(const double* __restrict__ partial, int blocks, int width, double* __restrict__ out) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= width) return;
  double s = 0;
  for (int b = 0; b < blocks; ++b) s += partial[static_cast<std::size_t>(b) * width + j];
  out[j] = s;
}

}  // namespace kernels

/// Points (and optional sample weights) resident on the device, ready for repeated EM passes.
class gmm_device_data {
 public:
  /// X: N×D, any real scalar (stored as double); sample_weight: N non-negative values or null.
  template <class Derived>
  gmm_device_data(const Eigen::MatrixBase<Derived>& X, const double* sample_weight, cudaStream_t s = nullptr)
      : n_(X.rows()), d_(X.cols()) {
    require_device("cuda::gmm_device_data");
    require(n_ > 0 && d_ > 0, "cuda::gmm_device_data: X is empty (", n_, " x ", d_, ")");
    const matrix<double> h = X.template cast<double>();  // row-major N×D
    x_.upload(h.data(), static_cast<std::size_t>(h.size()), s);
    if (sample_weight) w_.upload(sample_weight, static_cast<std::size_t>(n_), s);
  }
  index_t n() const noexcept { return n_; }
  index_t d() const noexcept { return d_; }
  const double* x() const noexcept { return x_.data(); }
  const double* w() const noexcept { return w_.empty() ? nullptr : w_.data(); }

 private:
  index_t n_, d_;
  device_buffer<double> x_, w_;
};

/// Launches the GPU passes for one model shape (K components, covariance type, D features).
class gmm_engine {
 public:
  gmm_engine(const gmm_device_data& data, index_t K, covariance_type c, cudaStream_t s = nullptr)
      : data_(data), K_(K), c_(c), s_(s) {
    const index_t D = data.d();
    full_ = c == covariance_type::full || c == covariance_type::tied;
    std::vector<kernels::gmm_entry> e;
    for (int k = 0; k < K; ++k) e.push_back({0, k, 0, 0});
    for (int k = 0; k < K; ++k)
      for (int a = 0; a < D; ++a) e.push_back({1, k, a, 0});
    for (int k = 0; k < K; ++k)
      for (int a = 0; a < D; ++a)
        if (full_) {
          for (int b = 0; b <= a; ++b) e.push_back({2, k, a, b});
        } else {
          e.push_back({2, k, a, a});
        }
    n_entries_ = static_cast<int>(e.size());
    entries_.resize(e.size());
    RNNABS_CUDA_CHECK(cudaMemcpyAsync(entries_.data(), e.data(), e.size() * sizeof(kernels::gmm_entry),
                                      cudaMemcpyHostToDevice, s_));
    // Tile: the largest power of two <= 128 points whose shared memory fits the device.
    const device_info dev = current_device();
    P_ = 128;
    while (P_ >= 32 && shared_bytes(P_) > dev.shared_per_block_optin) P_ /= 2;
    require(P_ >= 32, "cuda::gaussian_mixture: ", K, " components x ", D,
            " features need more shared memory per block than the device has; use the CPU backend");
    const std::size_t bytes = shared_bytes(P_);
    RNNABS_CUDA_CHECK(cudaFuncSetAttribute(kernels::gmm_pass<false>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(bytes)));
    RNNABS_CUDA_CHECK(cudaFuncSetAttribute(kernels::gmm_pass<true>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(bytes)));
    int per_sm = 0;
    RNNABS_CUDA_CHECK(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernels::gmm_pass<false>, P_, bytes));
    const long long tiles = (data.n() + P_ - 1) / P_;
    blocks_ = static_cast<int>(std::min<long long>(tiles, static_cast<long long>(std::max(per_sm, 1)) * dev.sm_count));
    partial_.resize(static_cast<std::size_t>(blocks_) * (n_entries_ + 1));
    total_.resize(static_cast<std::size_t>(n_entries_ + 1));
  }

  int tile_points() const noexcept { return P_; }
  int blocks() const noexcept { return blocks_; }

  /// One fused E+M pass: the CPU's detail::gmm_stats (shifted by the model's means) and Σ w log p(x).
  rnnabs::detail::gmm_stats em_pass(const rnnabs::detail::gmm_kernel_model& m) {
    const kernels::gmm_device_model dm = upload(m);
    kernels::gmm_pass<false><<<blocks_, P_, shared_bytes(P_), s_>>>(data_.x(), data_.w(), data_.n(), dm,
                                                                    entries_.data(), n_entries_, partial_.data(),
                                                                    nullptr);
    RNNABS_CUDA_CHECK_LAUNCH("gmm_pass<stats> kernel");
    const int width = n_entries_ + 1;
    kernels::sum_partials<<<grid_for(static_cast<std::size_t>(width), 128), 128, 0, s_>>>(partial_.data(), blocks_,
                                                                                          width, total_.data());
    RNNABS_CUDA_CHECK_LAUNCH("sum_partials kernel");
    std::vector<double> t(static_cast<std::size_t>(width));
    total_.download(t.data(), t.size(), s_);
    const index_t D = data_.d();
    rnnabs::detail::gmm_stats st(K_, D, full_);
    st.loglik = t[0];
    std::size_t e = 1;
    for (index_t k = 0; k < K_; ++k) st.nk[k] = t[e++];
    for (index_t k = 0; k < K_; ++k)
      for (index_t a = 0; a < D; ++a) st.s1[k * D + a] = t[e++];
    for (index_t k = 0; k < K_; ++k)
      for (index_t a = 0; a < D; ++a)
        if (full_) {
          for (index_t b = 0; b <= a; ++b) st.s2[(k * D + a) * D + b] = t[e++];
        } else {
          st.s2[k * D + a] = t[e++];
        }
    return st;
  }

  /// log p(x_i) of every point under the model (the E-step alone), N values.
  vector<double> score_samples(const rnnabs::detail::gmm_kernel_model& m) {
    const kernels::gmm_device_model dm = upload(m);
    lse_.resize(static_cast<std::size_t>(data_.n()));
    kernels::gmm_pass<true><<<blocks_, P_, shared_bytes(P_), s_>>>(data_.x(), nullptr, data_.n(), dm, nullptr, 0,
                                                                   nullptr, lse_.data());
    RNNABS_CUDA_CHECK_LAUNCH("gmm_pass<lse> kernel");
    vector<double> out(data_.n());
    lse_.download(out.data(), static_cast<std::size_t>(out.size()), s_);
    return out;
  }

 private:
  std::size_t shared_bytes(int P) const {
    return static_cast<std::size_t>(data_.d() + K_ + 1) * static_cast<std::size_t>(P) * sizeof(double);
  }
  kernels::gmm_device_model upload(const rnnabs::detail::gmm_kernel_model& m) {
    require(m.k == K_ && m.d == data_.d() && m.full == full_, "cuda::gmm_engine: model of ", m.k, " x ", m.d,
            " does not match the engine's ", K_, " x ", data_.d());
    std::vector<double> h;
    h.insert(h.end(), m.mu.begin(), m.mu.end());
    const std::size_t o_hp = h.size();
    h.insert(h.end(), m.hp.begin(), m.hp.end());
    const std::size_t o_pc = h.size();
    h.insert(h.end(), m.pc.begin(), m.pc.end());
    const std::size_t o_c = h.size();
    h.insert(h.end(), m.c.begin(), m.c.end());
    if (model_.size() < h.size()) model_.resize(h.size());
    RNNABS_CUDA_CHECK(cudaMemcpyAsync(model_.data(), h.data(), h.size() * sizeof(double), cudaMemcpyHostToDevice, s_));
    const double* base = model_.data();
    return {static_cast<int>(m.k), static_cast<int>(m.d), m.full, m.tied, base, base + o_hp, base + o_pc, base + o_c};
  }

  const gmm_device_data& data_;
  index_t K_;
  covariance_type c_;
  cudaStream_t s_;
  bool full_ = false;
  int n_entries_ = 0, P_ = 128, blocks_ = 1;
  device_buffer<kernels::gmm_entry> entries_;
  device_buffer<double> partial_, total_, model_, lse_;
};

namespace detail {

inline void check_gmm_options(const gmm_options& o, index_t n) {
  const char* who = "cuda::fit(gaussian_mixture)";
  require(o.n_components >= 1, who, ": n_components = ", o.n_components, ", expected >= 1");
  require(o.n_components <= n, who, ": n_components = ", o.n_components, " exceeds the number of samples ", n);
  require(o.max_iter >= 1, who, ": max_iter = ", o.max_iter, ", expected >= 1");
  require(o.n_init >= 1, who, ": n_init = ", o.n_init, ", expected >= 1");
  require(o.tol >= 0 && std::isfinite(o.tol), who, ": tol = ", o.tol, ", expected a finite value >= 0");
  require(o.reg_covar >= 0 && std::isfinite(o.reg_covar), who, ": reg_covar = ", o.reg_covar,
          ", expected a finite value >= 0");
  require(o.min_weight >= 0 && o.min_weight < 1, who, ": min_weight = ", o.min_weight, ", expected a value in [0, 1)");
}

/// The CPU's degenerate-component policy (gaussian_mixture::factor_and_settle) with the worst-explained
/// points found by a GPU E-step. Returns the number of reseeded components.
inline index_t factor_and_settle(const gmm_options& o, gmm_engine& eng, const rnnabs::detail::packed_points& P,
                                 gmm_parameters& p, matrix<double>& pchol, index_t iter,
                                 rnnabs::detail::data_moments& mom) {
  const covariance_type c = o.covariance;
  const index_t K = o.n_components, D = P.d;
  std::vector<index_t> not_pd;
  pchol = rnnabs::detail::precision_cholesky(p.covariances, c, K, D, not_pd);
  std::vector<index_t> bad = not_pd;
  for (index_t k = 0; k < K; ++k)
    if (p.weights[k] < o.min_weight && std::find(bad.begin(), bad.end(), k) == bad.end()) bad.push_back(k);
  if (bad.empty()) return 0;
  std::sort(bad.begin(), bad.end());
  const auto describe = [&] {
    return rnnabs::detail::concat("cuda::fit(gaussian_mixture): component ", bad.front(),
                                  " is degenerate (empty or not positive definite) ",
                                  iter == 0 ? "at initialisation" : "at iteration " + std::to_string(iter), " (",
                                  bad.size(), " of ", K, "); increase reg_covar (now ", o.reg_covar,
                                  "), use fewer components, or set on_degenerate = reseed");
  };
  if (o.on_degenerate == degenerate_policy::error) throw numerical_error(describe());
  if (o.on_degenerate == degenerate_policy::keep) {
    if (!not_pd.empty()) throw numerical_error(describe());
    return 0;
  }
  require<numerical_error>(static_cast<index_t>(bad.size()) < K && c != covariance_type::tied, describe(),
                           " — every component is affected, nothing to reseed from");
  mom.compute(P);
  vector<double> w = p.weights;
  for (index_t k : bad) w[k] = 0;
  w /= w.sum();
  const vector<double> lse = eng.score_samples(rnnabs::detail::kernel_model(w, p.means, pchol, c));
  std::vector<std::pair<double, index_t>> worst(static_cast<std::size_t>(P.n));
  for (index_t i = 0; i < P.n; ++i)
    worst[static_cast<std::size_t>(i)] = {P.weight(i) > 0 ? lse[i] : std::numeric_limits<double>::infinity(), i};
  const auto m = static_cast<std::ptrdiff_t>(bad.size());
  std::partial_sort(worst.begin(), worst.begin() + m, worst.end());
  const double w0 = 1.0 / static_cast<double>(P.n);
  for (std::size_t j = 0; j < bad.size(); ++j) {
    const index_t k = bad[j];
    p.means.row(k) = rnnabs::detail::packed_row(P, worst[j].second).transpose();
    p.weights[k] = w0;
    switch (c) {
      case covariance_type::full:
        p.covariances.middleRows(k * D, D) = (mom.var.array() + o.reg_covar).matrix().asDiagonal();
        break;
      case covariance_type::diag: p.covariances.row(k) = (mom.var.array() + o.reg_covar).matrix().transpose(); break;
      case covariance_type::spherical: p.covariances(k, 0) = mom.var.mean() + o.reg_covar; break;
      case covariance_type::tied: break;
    }
  }
  p.weights /= p.weights.sum();
  std::vector<index_t> still;
  pchol = rnnabs::detail::precision_cholesky(p.covariances, c, K, D, still);
  require<numerical_error>(still.empty(), describe(), " — reseeding failed (the data have zero variance?)");
  return static_cast<index_t>(bad.size());
}

struct gmm_run {
  gmm_parameters p;
  gmm_fit_report report;
};

/// EM from p0 with GPU passes and the CPU's M-step (gaussian_mixture::em's loop).
inline gmm_run em(const gmm_options& o, gmm_engine& eng, const rnnabs::detail::packed_points& P, gmm_parameters p,
                  rnnabs::detail::data_moments& mom) {
  gmm_run out;
  matrix<double> pchol;
  out.report.n_reseeded += factor_and_settle(o, eng, P, p, pchol, 0, mom);
  double lb = -std::numeric_limits<double>::infinity();
  for (index_t it = 1; it <= o.max_iter; ++it) {
    const double prev = lb;
    const rnnabs::detail::gmm_stats st = eng.em_pass(rnnabs::detail::kernel_model(p.weights, p.means, pchol, o.covariance));
    lb = st.loglik / P.weight_sum;
    require<numerical_error>(std::isfinite(lb), "cuda::fit(gaussian_mixture): the log-likelihood is ", lb,
                             " at iteration ", it, "; the data or parameters overflow (rescale the data)");
    out.report.history.push_back(lb);
    out.report.n_iter = it;
    p = rnnabs::detail::m_step(st, p.means, o.covariance, o.reg_covar);
    const index_t moved = factor_and_settle(o, eng, P, p, pchol, it, mom);
    out.report.n_reseeded += moved;
    if (moved == 0 && std::abs(lb - prev) < o.tol) {
      out.report.converged = true;
      break;
    }
  }
  out.p = std::move(p);
  out.report.lower_bound = lb;
  return out;
}

}  // namespace detail

/// Fits `g` (its options: n_components, covariance, tol, reg_covar, max_iter, n_init, init, seed,
/// on_degenerate, min_weight) on the rows of X with the chosen backend. The initial parameters come
/// from the CPU's initialisation with the same seeds (or from `initial`), so both backends start
/// alike; with backend::cuda every E-step and statistics pass runs on the device. Afterwards `g`
/// holds the fitted parameters (as gaussian_mixture::from_parameters, options kept); the report
/// carries the lower bound, iterations and convergence. warm_start is not supported on the GPU.
template <class Derived>
gmm_fit_report fit(gaussian_mixture& g, const Eigen::MatrixBase<Derived>& X, backend b = backend::cuda,
                   const vector<double>* sample_weight = nullptr, const gmm_parameters* initial = nullptr) {
  if (b == backend::cpu) {
    if (sample_weight && initial) g.fit(X, *sample_weight, *initial);
    else if (sample_weight) g.fit(X, *sample_weight);
    else if (initial) g.fit(X, *initial);
    else g.fit(X);
    return {g.lower_bound(), g.n_iter(), g.converged(), g.n_reseeded(), g.lower_bound_history(), backend::cpu};
  }
  const gmm_options o = g.options();
  const char* who = "cuda::fit(gaussian_mixture)";
  if (sample_weight)
    require(sample_weight->size() == X.rows(), who, ": sample_weight has ", sample_weight->size(), " entries, X has ",
            X.rows(), " rows");
  const auto P = rnnabs::detail::pack_points(X, sample_weight ? sample_weight->data() : nullptr, who);
  detail::check_gmm_options(o, P.n);
  if (initial) rnnabs::detail::check_parameters(*initial, o.covariance, o.n_components, P.d, who);
  stream s;
  const gmm_device_data data(X, sample_weight ? sample_weight->data() : nullptr, s.get());
  gmm_engine eng(data, o.n_components, o.covariance, s.get());
  rnnabs::detail::data_moments mom;
  const index_t runs = initial ? 1 : o.n_init;
  detail::gmm_run best;
  bool have = false;
  for (index_t r = 0; r < runs; ++r) {
    gmm_parameters p0 = initial ? *initial : rnnabs::detail::initial_parameters(X, P, o, rng::stream(o.seed, r)());
    detail::gmm_run cur = detail::em(o, eng, P, std::move(p0), mom);
    if (!have || cur.report.lower_bound > best.report.lower_bound) {
      best = std::move(cur);
      have = true;
    }
  }
  g = gaussian_mixture::from_parameters(best.p, o.covariance);
  g.options() = o;
  return best.report;
}

/// GPU twin of gaussian_mixture::score_samples: log p(x) of each row under g's parameters.
template <class Derived>
vector<double> score_samples(const gaussian_mixture& g, const Eigen::MatrixBase<Derived>& X) {
  require(X.cols() == g.n_features(), "cuda::score_samples: X has ", X.cols(), " columns, the model has ",
          g.n_features());
  rnnabs::require_data(X, "cuda::score_samples");
  stream s;
  const gmm_device_data data(X, nullptr, s.get());
  gmm_engine eng(data, g.n_components(), g.options().covariance, s.get());
  return eng.score_samples(rnnabs::detail::kernel_model(g.weights(), g.means(), g.precisions_cholesky(),
                                                        g.options().covariance));
}

}  // namespace rnnabs::cuda
