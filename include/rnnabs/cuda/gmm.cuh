#pragma once
// Gaussian mixture EM on the GPU: the twin of rnnabs::gaussian_mixture (stats/gmm.hpp) for the four
// covariance types, giving the same gmm_parameters (scikit-learn's parameterisation).
//
//   rnnabs::gaussian_mixture g({.n_components = 37, .covariance = rnnabs::covariance_type::diag});
//   rnnabs::cuda::gmm_fit_report r = rnnabs::cuda::fit(g, Z);          // EM on the device
//   rnnabs::cuda::fit(g, Z, rnnabs::cuda::backend::cpu);               // the same call, on the CPU
//
// Every pass over the points runs on the device (gmm_engine.cuh: the streaming E+M pass, scoring,
// the statistics of hard labels), and so does the initialisation: k-means (seeding and Lloyd,
// kmeans.cuh), k-means++ and random_from_data centres with their nearest-centre labels, and the
// parameters of those labels; only init = random (per-tile random responsibilities) is the CPU's.
// The M-step and the precision-Cholesky factors run on the device too (gmm_mstep.cuh, the CPU's
// arithmetic); an iteration reads back K + 1 numbers. The degenerate-component policy is the CPU code
// itself, called only when the device flags a component.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "rnnabs/cuda/gmm_engine.cuh"
#include "rnnabs/cuda/kmeans.cuh"
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
    return rnnabs::detail::concat(
        "cuda::fit(gaussian_mixture): component ", bad.front(), " is degenerate (empty or not positive definite) ",
        iter == 0 ? "at initialisation" : "at iteration " + std::to_string(iter), " (", bad.size(), " of ", K,
        "); increase reg_covar (now ", o.reg_covar, "), use fewer components, or set on_degenerate = reseed");
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

/// Parameters of hard labels (device array) with the passes on the device: the CPU's
/// detail::params_from_labels (means first, then the scatter about them).
inline gmm_parameters params_from_labels(gmm_engine& eng, const int* label, index_t D, covariance_type c, double reg) {
  const matrix<double> zero = matrix<double>::Zero(eng.n_components(), D);
  const gmm_parameters first = rnnabs::detail::m_step(eng.label_stats(label, zero), zero, c, reg);
  return rnnabs::detail::m_step(eng.label_stats(label, first.means), first.means, c, reg);
}

/// The CPU's detail::initial_parameters (the same methods, seeds and draws) with every pass over the
/// points on the device; init = random (per-tile random responsibilities) stays the CPU's.
template <class Derived>
gmm_parameters initial_parameters(const Eigen::MatrixBase<Derived>& X, const rnnabs::detail::packed_points& P,
                                  const gmm_options& o, std::uint64_t seed, const device_points& data, gmm_engine& eng,
                                  cudaStream_t s) {
  using T = typename Derived::Scalar;
  const index_t K = o.n_components, D = P.d;
  auto rows = [&](auto&& index_of) {
    matrix<double> c(K, D);
    for (index_t k = 0; k < K; ++k) c.row(k) = rnnabs::detail::packed_row(P, index_of(k)).transpose();
    return c;
  };
  switch (o.init) {
    case gmm_init::kmeans: {  // kmeans({n_clusters = K, n_init = 1, seed}).fit(X, weights)
      const kmeans_options ko{.n_clusters = K, .n_init = 1, .seed = seed};
      kmeans_engine km(data, K, s);
      rng gen = rng::stream(ko.seed, 0);
      const index_vector idx = km.plusplus(gen);
      const matrix_cref<T> xr(X.derived());
      km.lloyd(rows([&](index_t k) { return idx(k); }), ko.max_iter, rnnabs::detail::kmeans_tolerance<T>(xr, ko.tol),
               /*with_labels=*/false);
      return params_from_labels(eng, km.labels(), D, o.covariance, o.reg_covar);
    }
    case gmm_init::kmeans_plusplus: {  // unweighted seeding, then the nearest centres' labels
      rng g(seed);
      kmeans_engine km(data, K, s);
      const index_vector idx = km.plusplus(g, /*weighted=*/false);
      km.assign(rows([&](index_t k) { return idx(k); }));
      return params_from_labels(eng, km.labels(), D, o.covariance, o.reg_covar);
    }
    case gmm_init::random_from_data: {
      rng g(seed);
      std::vector<index_t> idx(static_cast<std::size_t>(P.n));
      std::iota(idx.begin(), idx.end(), index_t{0});
      for (index_t k = 0; k < K; ++k) std::swap(idx[k], idx[k + g.below(P.n - k)]);  // partial Fisher–Yates
      kmeans_engine km(data, K, s);
      km.assign(rows([&](index_t k) { return idx[static_cast<std::size_t>(k)]; }));
      return params_from_labels(eng, km.labels(), D, o.covariance, o.reg_covar);
    }
    case gmm_init::random: break;
  }
  return rnnabs::detail::initial_parameters(X, P, o, seed);
}

struct gmm_run {
  gmm_parameters p;
  gmm_fit_report report;
};

static_assert(cuda::detail::mstep_nk_eps == rnnabs::detail::gmm_nk_eps, "the device M-step's ε is the CPU's");

/// EM from p0 (gaussian_mixture::em's loop) with the passes and the M-step on the device: per
/// iteration the host reads Σ w log p and K flags. A flagged component (not positive definite or below
/// min_weight) brings the parameters back for the CPU's degenerate-component policy, whose result
/// becomes the device model again.
inline gmm_run em(const gmm_options& o, gmm_engine& eng, const rnnabs::detail::packed_points& P, gmm_parameters p,
                  rnnabs::detail::data_moments& mom) {
  const covariance_type c = o.covariance;
  gmm_run out;
  matrix<double> pchol;
  out.report.n_reseeded += factor_and_settle(o, eng, P, p, pchol, 0, mom);
  eng.set_model(rnnabs::detail::kernel_model(p.weights, p.means, pchol, c));
  bool on_host = true;  // p is current (else the device's parameters are)
  double lb = -std::numeric_limits<double>::infinity();
  for (index_t it = 1; it <= o.max_iter; ++it) {
    const double prev = lb;
    const gmm_engine::step_result st = eng.em_step(c, o.reg_covar, o.min_weight);
    on_host = false;
    lb = st.loglik / P.weight_sum;
    require<numerical_error>(std::isfinite(lb), "cuda::fit(gaussian_mixture): the log-likelihood is ", lb,
                             " at iteration ", it, "; the data or parameters overflow (rescale the data)");
    out.report.history.push_back(lb);
    out.report.n_iter = it;
    index_t moved = 0;
    if (st.any_flag()) {
      p = eng.parameters(c);
      on_host = true;
      moved = factor_and_settle(o, eng, P, p, pchol, it, mom);
      eng.set_model(rnnabs::detail::kernel_model(p.weights, p.means, pchol, c));
    }
    out.report.n_reseeded += moved;
    if (moved == 0 && std::abs(lb - prev) < o.tol) {
      out.report.converged = true;
      break;
    }
  }
  out.p = on_host ? std::move(p) : eng.parameters(c);
  out.report.lower_bound = lb;
  return out;
}

}  // namespace detail

/// Fits `g` (its options: n_components, covariance, tol, reg_covar, max_iter, n_init, init, seed,
/// on_degenerate, min_weight) on the rows of X with the chosen backend. The initialisation is the
/// CPU's with the same seeds and draws (or `initial`), so both backends start alike; with
/// backend::cuda it and every E-step and statistics pass run on the device. Afterwards `g`
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
  const device_points data(X, sample_weight ? sample_weight->data() : nullptr, s.get());
  gmm_engine eng(data, o.n_components, o.covariance, s.get());
  rnnabs::detail::data_moments mom;
  const index_t runs = initial ? 1 : o.n_init;
  detail::gmm_run best;
  bool have = false;
  for (index_t r = 0; r < runs; ++r) {
    gmm_parameters p0 = initial ? *initial
                                : detail::initial_parameters(X, P, o, rng::stream(o.seed, r)(), data, eng, s.get());
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
  const device_points data(X, nullptr, s.get());
  gmm_engine eng(data, g.n_components(), g.options().covariance, s.get());
  return eng.score_samples(
      rnnabs::detail::kernel_model(g.weights(), g.means(), g.precisions_cholesky(), g.options().covariance));
}

}  // namespace rnnabs::cuda
