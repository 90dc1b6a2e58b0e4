#pragma once
// Gaussian mixture fitted by EM — full, tied, diag and spherical covariances, with scikit-learn's
// parameterisation (precision Cholesky factors) and results, computed by a streaming fused E+M pass
// that never forms the N×K responsibility matrix (see detail/gmm_kernels.hpp).
//
//   rnnabs::gaussian_mixture gmm({.n_components = 37, .covariance = rnnabs::covariance_type::diag});
//   gmm.fit(Z);                        // Z: N×D, float or double, any Eigen expression
//   rnnabs::index_vector s = gmm.predict(Z);
//   double bic = gmm.bic(Z);
#include <algorithm>
#include <filesystem>
#include <limits>
#include <numeric>
#include <vector>

#include "rnnabs/core/concepts.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/stats/detail/gmm_init.hpp"
#include "rnnabs/stats/detail/gmm_params.hpp"
#include "rnnabs/stats/gmm_types.hpp"

namespace rnnabs {

class gaussian_mixture {
 public:
  explicit gaussian_mixture(gmm_options o = {}) : opt_(o) {}

  /// Fits by EM (n_init restarts from opt.init, or continuing from the current fit with warm_start).
  template <class Derived>
  gaussian_mixture& fit(const Eigen::MatrixBase<Derived>& X) {
    const auto P = detail::pack_points(X, nullptr, "gaussian_mixture::fit");
    return fit_packed(X, P, nullptr);
  }
  /// Fits with per-sample weights (non-negative; they scale each point's contribution).
  template <class Derived>
  gaussian_mixture& fit(const Eigen::MatrixBase<Derived>& X, const vector<double>& sample_weight) {
    require(sample_weight.size() == X.rows(), "gaussian_mixture::fit: sample_weight has ", sample_weight.size(),
            " entries, X has ", X.rows(), " rows");
    const auto P = detail::pack_points(X, sample_weight.data(), "gaussian_mixture::fit");
    return fit_packed(X, P, nullptr);
  }
  /// Runs EM from the given parameters (one run; opt.init and n_init are not used).
  template <class Derived>
  gaussian_mixture& fit(const Eigen::MatrixBase<Derived>& X, const gmm_parameters& initial) {
    const auto P = detail::pack_points(X, nullptr, "gaussian_mixture::fit");
    return fit_packed(X, P, &initial);
  }
  /// Weighted EM from the given parameters.
  template <class Derived>
  gaussian_mixture& fit(const Eigen::MatrixBase<Derived>& X, const vector<double>& sample_weight,
                        const gmm_parameters& initial) {
    require(sample_weight.size() == X.rows(), "gaussian_mixture::fit: sample_weight has ", sample_weight.size(),
            " entries, X has ", X.rows(), " rows");
    const auto P = detail::pack_points(X, sample_weight.data(), "gaussian_mixture::fit");
    return fit_packed(X, P, &initial);
  }

  /// Most likely component of each row.
  /// Distributed fit: X (and sample_weight) are this rank's rows, in global row order by rank (any
  /// split; rows move between neighbours when the ranks' rows do not start at multiples of
  /// shard_row_alignment), `comm` the ranks holding the rest. Collective; every rank ends with the same
  /// model, bit for bit the model fit(all rows) gives on one process.
  template <class Derived, communicator C>
  gaussian_mixture& fit(const Eigen::MatrixBase<Derived>& X, const C& comm) {
    return fit_sharded(X.derived(), nullptr, nullptr, comm);
  }
  template <class Derived, communicator C>
  gaussian_mixture& fit(const Eigen::MatrixBase<Derived>& X, const vector<double>& sample_weight, const C& comm) {
    return fit_sharded(X.derived(), &sample_weight, nullptr, comm);
  }
  template <class Derived, communicator C>
  gaussian_mixture& fit(const Eigen::MatrixBase<Derived>& X, const gmm_parameters& initial, const C& comm) {
    return fit_sharded(X.derived(), nullptr, &initial, comm);
  }
  /// Mean log-likelihood of all ranks' rows (collective).
  template <class Derived, communicator C>
  double score(const Eigen::MatrixBase<Derived>& X, const C& comm) const {
    using S = typename Derived::Scalar;
    if (!rows_aligned(comm, X.rows())) return score(align_rows<S>(comm, matrix<S>(X)), comm);
    return score_packed(detail::pack_points(X, nullptr, "gaussian_mixture::score", comm));
  }

  template <class Derived>
  index_vector predict(const Eigen::MatrixBase<Derived>& X) const {
    index_vector out(X.rows());
    e_step(X, "gaussian_mixture::predict", [&](index_t i, double, const double* r) {
      index_t best = 0;
      for (index_t k = 1; k < k_(); ++k)
        if (r[k * detail::gmm_tile] > r[best * detail::gmm_tile]) best = k;
      out[i] = best;
    });
    return out;
  }
  /// Posterior probability of each component for each row (N×K).
  template <class Derived>
  matrix<double> predict_proba(const Eigen::MatrixBase<Derived>& X) const {
    matrix<double> out(X.rows(), k_());
    e_step(X, "gaussian_mixture::predict_proba", [&](index_t i, double, const double* r) {
      for (index_t k = 0; k < k_(); ++k) out(i, k) = r[k * detail::gmm_tile];
    });
    return out;
  }
  /// log p(x) of each row under the mixture.
  template <class Derived>
  vector<double> score_samples(const Eigen::MatrixBase<Derived>& X) const {
    vector<double> out(X.rows());
    e_step(X, "gaussian_mixture::score_samples", [&](index_t i, double lse, const double*) { out[i] = lse; });
    return out;
  }
  /// Mean log-likelihood of the rows.
  template <class Derived>
  double score(const Eigen::MatrixBase<Derived>& X) const {
    const vector<double> s = score_samples(X);
    return detail::ordered_sum(s) / static_cast<double>(s.size());
  }
  /// Bayesian information criterion on X (lower is better).
  template <class Derived>
  double bic(const Eigen::MatrixBase<Derived>& X) const {
    const double n = static_cast<double>(X.rows());
    return -2.0 * score(X) * n + static_cast<double>(n_parameters()) * std::log(n);
  }
  /// BIC on all ranks' rows (X: this rank's; collective).
  template <class Derived, communicator C>
  double bic(const Eigen::MatrixBase<Derived>& X, const C& comm) const {
    index_t n = 0;
    for (const index_t r : all_gather_value(communicator_ref(comm), static_cast<index_t>(X.rows()))) n += r;
    const double s = score(X, comm);
    return -2.0 * s * static_cast<double>(n) + static_cast<double>(n_parameters()) * std::log(static_cast<double>(n));
  }
  /// Akaike information criterion on X (lower is better).
  template <class Derived>
  double aic(const Eigen::MatrixBase<Derived>& X) const {
    return -2.0 * score(X) * static_cast<double>(X.rows()) + 2.0 * static_cast<double>(n_parameters());
  }

  /// A model holding the given parameters, as if fitted (for sampling, scoring, or imported models).
  static gaussian_mixture from_parameters(const gmm_parameters& p, covariance_type c);

  /// n draws from the fitted mixture, grouped by component (as sklearn), with their components.
  std::pair<matrix<double>, index_vector> sample(index_t n, std::uint64_t seed) const;

  // --- state ------------------------------------------------------------------------------
  bool fitted() const noexcept { return fitted_; }
  bool converged() const noexcept { return converged_; }
  index_t n_iter() const noexcept { return n_iter_; }
  /// Mean log-likelihood of the training data at the last E-step (sklearn's lower_bound_).
  double lower_bound() const noexcept { return lower_bound_; }
  /// lower_bound() of every iteration of the kept run.
  const std::vector<double>& lower_bound_history() const noexcept { return history_; }
  /// Components moved by the reseed policy during the kept run.
  index_t n_reseeded() const noexcept { return n_reseeded_; }
  index_t n_components() const noexcept { return opt_.n_components; }
  index_t n_clusters() const noexcept { return opt_.n_components; }
  index_t n_features() const noexcept { return p_.means.cols(); }
  index_t n_parameters() const noexcept { return gmm_parameter_count(opt_.covariance, k_(), n_features()); }
  const gmm_options& options() const noexcept { return opt_; }
  gmm_options& options() noexcept { return opt_; }
  const gmm_parameters& parameters() const {
    require_fitted("gaussian_mixture::parameters");
    return p_;
  }
  const vector<double>& weights() const { return parameters().weights; }
  const matrix<double>& means() const { return parameters().means; }
  /// Covariances in the type's layout (see gmm_parameters).
  const matrix<double>& covariances() const { return parameters().covariances; }
  /// Σ_k as a dense D×D matrix, for any covariance type.
  matrix<double> covariance(index_t k) const;
  /// Precision Cholesky factors in scikit-learn's layout (same shapes as covariances()).
  const matrix<double>& precisions_cholesky() const {
    require_fitted("gaussian_mixture::precisions_cholesky");
    return pchol_;
  }

  /// Versioned, atomic save (an NPZ readable from NumPy) and load.
  void save(const std::filesystem::path& path) const;
  static gaussian_mixture load(const std::filesystem::path& path);

  /// Mean log-likelihood of data already packed (no copy of X).
  double score_packed(const detail::packed_points& P) const {
    require_fitted("gaussian_mixture::score");
    require(P.d == n_features(), "gaussian_mixture::score: X has ", P.d, " columns, the model was fitted on ",
            n_features());
    vector<double> s(P.n);
    detail::e_pass(P, detail::kernel_model(p_.weights, p_.means, pchol_, opt_.covariance),
                   [&](index_t i, double lse, const double*) { s[i] = lse; });
    double total = 0;  // in global row order, as one process sums
    chain_fold(P.comm, total, [&](double& t) {
      for (index_t i = 0; i < s.size(); ++i) t += s[i];
    });
    return total / static_cast<double>(P.global_n());
  }

  /// Fit on data already packed (lets a component sweep pack once for many fits).
  template <class Derived>
  gaussian_mixture& fit_packed(const Eigen::MatrixBase<Derived>& X, const detail::packed_points& P,
                               const gmm_parameters* initial);

 private:
  template <class Derived>
  gaussian_mixture& fit_sharded(const Derived& X, const vector<double>* w, const gmm_parameters* initial,
                                communicator_ref comm) {
    using S = typename Derived::Scalar;
    const bool weighted = any_rank(comm, w != nullptr);  // a rank without rows may pass none
    collectively(comm, [&] {
      require(!w || w->size() == X.rows(), "gaussian_mixture::fit: sample_weight has ", w ? w->size() : 0,
              " entries, X has ", X.rows(), " rows");
      require(!weighted || w || X.rows() == 0,
              "gaussian_mixture::fit: this rank passes no sample_weight for its rows, other ranks do");
    });
    const vector<double> none;
    const vector<double>* wp = weighted ? (w ? w : &none) : nullptr;
    if (!rows_aligned(comm, X.rows())) {
      const matrix<S> Xa = align_rows<S>(comm, matrix<S>(X));
      if (!wp) return fit_sharded(Xa, nullptr, initial, comm);
      const vector<double> wa = align_rows<double>(comm, matrix<double>(*wp)).col(0);
      return fit_sharded(Xa, &wa, initial, comm);
    }
    const auto P = detail::pack_points(X, wp ? wp->data() : nullptr, "gaussian_mixture::fit", comm);
    return fit_packed(X, P, initial);
  }
  struct run {
    gmm_parameters p;
    matrix<double> pchol;
    double lower_bound = -std::numeric_limits<double>::infinity();
    index_t n_iter = 0, n_reseeded = 0;
    bool converged = false;
    std::vector<double> history;
  };

  index_t k_() const noexcept { return opt_.n_components; }
  void require_fitted(const char* who) const { require(fitted_, who, ": the model is not fitted; call fit() first"); }
  void check_options(index_t n) const;
  run em(const detail::packed_points& P, gmm_parameters p, detail::data_moments& mom) const;
  /// Precision factors of p into pchol, with the degenerate-component policy applied (iter 0: the
  /// starting parameters); returns how many components were reseeded.
  index_t factor_and_settle(const detail::packed_points& P, gmm_parameters& p, matrix<double>& pchol, index_t iter,
                            detail::data_moments& mom) const;
  template <class Derived, class F>
  void e_step(const Eigen::MatrixBase<Derived>& X, const char* who, F&& f) const {
    require_fitted(who);
    const auto P = detail::pack_points(X, nullptr, who);
    require(P.d == n_features(), who, ": X has ", P.d, " columns, the model was fitted on ", n_features());
    detail::e_pass(P, detail::kernel_model(p_.weights, p_.means, pchol_, opt_.covariance), f);
  }

  gmm_options opt_;
  gmm_parameters p_;
  matrix<double> pchol_;
  bool fitted_ = false, converged_ = false;
  index_t n_iter_ = 0, n_reseeded_ = 0;
  double lower_bound_ = -std::numeric_limits<double>::infinity();
  std::vector<double> history_;
};

static_assert(check_state_partitioner<gaussian_mixture, double>());
static_assert(check_state_partitioner<gaussian_mixture, float>());

}  // namespace rnnabs

#include "rnnabs/stats/detail/gmm_impl.hpp"
