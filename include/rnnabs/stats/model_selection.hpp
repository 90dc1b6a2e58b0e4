#pragma once
// Choosing the number of mixture components (and the covariance type) by BIC/AIC: one call fits
// every candidate, packing the data once for all fits, and reports the criteria per fit.
//
//   auto r = rnnabs::sweep_gmm(Z, {.n_components = {1, 2, 4, 8, 16, 32}});
//   const auto& best = r.entries[r.best_bic()];
#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "rnnabs/stats/gmm.hpp"

namespace rnnabs {

struct gmm_sweep_options {
  std::vector<index_t> n_components;                                   ///< candidates for K
  std::vector<covariance_type> covariances = {covariance_type::diag};  ///< candidate types
  gmm_options base = {};     ///< everything else (tol, reg_covar, max_iter, n_init, init, seed)
  bool keep_models = false;  ///< keep every fitted model, not only the best by BIC
};

struct gmm_sweep_entry {
  index_t n_components = 0;
  covariance_type covariance = covariance_type::diag;
  double bic = 0, aic = 0;
  double score = 0;        ///< mean log-likelihood at the fitted parameters
  double lower_bound = 0;  ///< mean log-likelihood at the last E-step
  index_t n_iter = 0, n_parameters = 0;
  bool converged = false;
  double seconds = 0;
  std::optional<gaussian_mixture> model;
};

struct gmm_sweep_result {
  std::vector<gmm_sweep_entry> entries;  ///< in the order covariances × n_components
  /// Index of the entry with the lowest BIC (ties: the first, i.e. fewer components).
  index_t best_bic() const {
    return best([](const gmm_sweep_entry& e) { return e.bic; });
  }
  index_t best_aic() const {
    return best([](const gmm_sweep_entry& e) { return e.aic; });
  }

 private:
  template <class F>
  index_t best(F&& f) const {
    require(!entries.empty(), "gmm_sweep_result: no fits");
    index_t b = 0;
    for (index_t i = 1; i < static_cast<index_t>(entries.size()); ++i)
      if (f(entries[i]) < f(entries[b])) b = i;
    return b;
  }
};

/// Fits a mixture for every (covariance type, K) candidate; `on_fit` (optional) sees each entry as it
/// is done (progress display). The model with the best BIC is always kept. With a communicator, X is
/// this rank's rows and every fit, score and criterion is the global one (collective; bit-identical for
/// any number of ranks).
template <class Derived>
gmm_sweep_result sweep_gmm(const Eigen::MatrixBase<Derived>& X, const gmm_sweep_options& o, communicator_ref comm,
                           const std::function<void(const gmm_sweep_entry&)>& on_fit = {}) {
  using S = typename Derived::Scalar;
  if (!rows_aligned(comm, X.rows())) return sweep_gmm(align_rows<S>(comm, matrix<S>(X)), o, comm, on_fit);
  const auto P = detail::pack_points(X, nullptr, "sweep_gmm", comm);
  collectively(comm, [&] {
    require(!o.n_components.empty(), "sweep_gmm: no candidate numbers of components");
    require(!o.covariances.empty(), "sweep_gmm: no candidate covariance types");
    for (index_t k : o.n_components)
      require(k >= 1 && k <= P.global_n(), "sweep_gmm: candidate n_components = ", k, " outside [1, ", P.global_n(),
              "]");
  });
  gmm_sweep_result r;
  double best = std::numeric_limits<double>::infinity();
  std::size_t best_i = 0;
  const double log_n = std::log(static_cast<double>(P.global_n()));
  for (covariance_type c : o.covariances)
    for (index_t k : o.n_components) {
      gmm_options opt = o.base;
      opt.n_components = k;
      opt.covariance = c;
      opt.warm_start = false;
      gaussian_mixture g(opt);
      const auto t0 = std::chrono::steady_clock::now();
      g.fit_packed(X, P, nullptr);
      gmm_sweep_entry e;
      e.n_components = k;
      e.covariance = c;
      e.score = g.score_packed(P);
      e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      e.n_parameters = g.n_parameters();
      const double n = static_cast<double>(P.global_n()), np = static_cast<double>(e.n_parameters);
      e.bic = -2.0 * e.score * n + np * log_n;
      e.aic = -2.0 * e.score * n + 2.0 * np;
      e.lower_bound = g.lower_bound();
      e.n_iter = g.n_iter();
      e.converged = g.converged();
      if (on_fit) on_fit(e);
      if (o.keep_models || e.bic < best) e.model = std::move(g);
      if (e.bic < best) {
        if (!o.keep_models && best < std::numeric_limits<double>::infinity()) r.entries[best_i].model.reset();
        best = e.bic;
        best_i = r.entries.size();
      }
      r.entries.push_back(std::move(e));
    }
  return r;
}

template <class Derived>
gmm_sweep_result sweep_gmm(const Eigen::MatrixBase<Derived>& X, const gmm_sweep_options& o,
                           const std::function<void(const gmm_sweep_entry&)>& on_fit = {}) {
  return sweep_gmm(X, o, communicator_ref{}, on_fit);
}

}  // namespace rnnabs
