#pragma once
// Principal component analysis of row samples (models rnnabs::dimension_reducer).
//
//   rnnabs::pca p({.n_components = 10});
//   p.fit(traces);                       // N x D, float or double, any row-major Eigen expression
//   matrix<float> z = p.transform(traces);
//
// Default solver: the covariance route for tall data (blocked SYRK accumulated in double, then a
// symmetric eigensolver), the fast and exact choice when D is at most a few thousand.
// Parameters are stored in double whatever the input scalar. Component signs are deterministic:
// the largest-magnitude entry of each component is positive.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>

#include "rnnabs/core/communicator.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"
#include "rnnabs/stats/detail/pca_solvers.hpp"

namespace rnnabs {

enum class pca_solver {
  covariance_eigh,  ///< D x D covariance, then eigh: N·D² work, one pass over X. Default.
  randomized,       ///< Halko et al. randomized SVD: for wide data (D ≫ a few thousand) and few components.
  exact,            ///< thin SVD of the centred data: small data, or a reference.
};

inline const char* to_string(pca_solver s) noexcept {
  switch (s) {
    case pca_solver::covariance_eigh: return "covariance_eigh";
    case pca_solver::randomized: return "randomized";
    case pca_solver::exact: return "exact";
  }
  return "?";
}

struct pca_options {
  /// Components kept; -1 keeps min(N, D).
  index_t n_components = -1;
  /// In (0, 1): keep the fewest components whose explained variance ratio sums past this fraction
  /// (sklearn's float n_components; overrides n_components; not with the randomized solver). 0: off.
  double variance_fraction = 0.0;
  pca_solver solver = pca_solver::covariance_eigh;
  /// transform() divides each score by the component's standard deviation.
  bool whiten = false;
  /// Seed of the randomized solver's test matrix.
  std::uint64_t seed = 0;
  /// Randomized solver: extra test vectors, and subspace iterations (-1: 7 if k < 0.1·min(N, D), else 4).
  index_t oversamples = 10;
  index_t power_iterations = -1;
};

class pca {
 public:
  pca() = default;
  explicit pca(const pca_options& o) : opt_(o) {}
  explicit pca(index_t n_components) { opt_.n_components = n_components; }

  /// Fits on the rows of X (N x D, N >= 2). Throws invalid_argument on bad input or options.
  template <class Derived>
  pca& fit(const Eigen::MatrixBase<Derived>& x) {
    using T = typename Derived::Scalar;
    static_assert(real_scalar<T>, "rnnabs::pca: X must hold float or double");
    const matrix_cref<T> xr(x.derived());  // no copy for row-major storage
    fit_impl<T>(xr);
    return *this;
  }

  /// Distributed fit (solver covariance_eigh): X is this rank's rows, in global row order by rank (any
  /// split; rows move between neighbours when the ranks' rows do not start at multiples of
  /// shard_row_alignment), `comm` the ranks holding the rest. Collective; every rank ends with the model
  /// fit(all rows) gives on one process, bit for bit.
  template <class Derived, communicator C>
  pca& fit(const Eigen::MatrixBase<Derived>& x, const C& comm) {
    using T = typename Derived::Scalar;
    static_assert(real_scalar<T>, "rnnabs::pca: X must hold float or double");
    if (!rows_aligned(comm, x.rows())) return fit(align_rows<T>(comm, matrix<T>(x)), comm);
    const matrix_cref<T> xr(x.derived());
    fit_impl<T>(xr, comm);
    return *this;
  }

  /// Scores (X - mean)·componentsᵀ (N x k), whitened if asked, computed and returned in X's scalar type.
  template <class Derived>
  matrix<typename Derived::Scalar> transform(const Eigen::MatrixBase<Derived>& x) const {
    using T = typename Derived::Scalar;
    static_assert(real_scalar<T>, "rnnabs::pca: X must hold float or double");
    check_input(x, n_features(), "pca::transform", "X");
    const matrix_cref<T> xr(x.derived());
    require_finite(xr, "pca::transform", "X");
    return detail::affine_rows<T>(xr, mean_, projection(), vector<double>());
  }

  /// Back to feature space: Z·components + mean (undoing the whitening first).
  template <class Derived>
  matrix<typename Derived::Scalar> inverse_transform(const Eigen::MatrixBase<Derived>& z) const {
    using T = typename Derived::Scalar;
    static_assert(real_scalar<T>, "rnnabs::pca: Z must hold float or double");
    check_input(z, n_components(), "pca::inverse_transform", "Z");
    const matrix_cref<T> zr(z.derived());
    require_finite(zr, "pca::inverse_transform", "Z");
    matrix<double> w = components_;
    if (opt_.whiten) w = explained_variance_.cwiseSqrt().asDiagonal() * w;
    return detail::affine_rows<T>(zr, vector<double>(), w, mean_);
  }

  template <class Derived>
  matrix<typename Derived::Scalar> fit_transform(const Eigen::MatrixBase<Derived>& x) {
    fit(x);
    return transform(x);
  }

  bool fitted() const noexcept { return components_.rows() > 0; }
  /// k x D, one unit-norm direction per row, by decreasing variance.
  const matrix<double>& components() const noexcept { return components_; }
  const vector<double>& mean() const noexcept { return mean_; }
  /// Variance along each component (ddof = 1).
  const vector<double>& explained_variance() const noexcept { return explained_variance_; }
  const vector<double>& explained_variance_ratio() const noexcept { return explained_variance_ratio_; }
  /// Singular values of the centred data: sqrt((N - 1)·explained_variance).
  const vector<double>& singular_values() const noexcept { return singular_values_; }
  /// Probabilistic-PCA noise: mean variance of the discarded directions (0 when none are discarded).
  double noise_variance() const noexcept { return noise_variance_; }
  index_t n_components() const noexcept { return components_.rows(); }
  index_t n_features() const noexcept { return components_.cols(); }
  index_t n_samples() const noexcept { return n_samples_; }
  const pca_options& options() const noexcept { return opt_; }

  /// A fitted model from its quantities (as another backend or tool computed them: components k x D
  /// by decreasing variance, mean D, per-component variance / ratio / singular value k); the options
  /// keep `o` but n_components = k. invalid_argument on inconsistent shapes or non-finite values.
  static pca from_fitted(const pca_options& o, matrix<double> components, vector<double> mean,
                         vector<double> explained_variance, vector<double> explained_variance_ratio,
                         vector<double> singular_values, double noise_variance, index_t n_samples) {
    const index_t k = components.rows(), d = components.cols();
    require(k >= 1 && d >= 1 && mean.size() == d && explained_variance.size() == k &&
                explained_variance_ratio.size() == k && singular_values.size() == k && n_samples >= 2,
            "pca::from_fitted: inconsistent shapes (components ", k, " x ", d, ", mean ", mean.size(),
            ", explained_variance ", explained_variance.size(), ", n_samples ", n_samples, ")");
    require(components.allFinite() && mean.allFinite() && explained_variance.allFinite() &&
                explained_variance_ratio.allFinite() && singular_values.allFinite() && std::isfinite(noise_variance),
            "pca::from_fitted: non-finite parameters");
    pca p(o);
    p.opt_.n_components = k;
    p.components_ = std::move(components);
    p.mean_ = std::move(mean);
    p.explained_variance_ = std::move(explained_variance);
    p.explained_variance_ratio_ = std::move(explained_variance_ratio);
    p.singular_values_ = std::move(singular_values);
    p.noise_variance_ = noise_variance;
    p.n_samples_ = n_samples;
    return p;
  }

  /// Saves the fitted model (an rnnabs archive, kind "pca": an .npz NumPy can read). Needs rnnabs::zip.
  void save(const std::filesystem::path& path) const;
  /// Loads a model written by save(); io_error on a file of another kind or a newer format.
  static pca load(const std::filesystem::path& path);
  static constexpr int archive_version = 1;

 private:
  template <class T>
  void fit_impl(const matrix_cref<T>& x, communicator_ref comm = {});
  template <class Derived>
  void check_input(const Eigen::MatrixBase<Derived>& x, index_t cols, const char* who, const char* what) const {
    require(fitted(), who, ": called before fit");
    require(x.rows() > 0 && x.cols() > 0, who, ": ", what, " is empty (", x.rows(), " x ", x.cols(), ")");
    require(x.cols() == cols, who, ": ", what, " has ", x.cols(), " columns, expected ", cols);
  }
  matrix<double> projection() const {  // D x k: components ᵀ, scaled for whitening
    matrix<double> w = components_.transpose();
    if (opt_.whiten) w = w * explained_variance_.cwiseSqrt().cwiseInverse().asDiagonal();
    return w;
  }

  pca_options opt_;
  matrix<double> components_;
  vector<double> mean_, explained_variance_, explained_variance_ratio_, singular_values_;
  double noise_variance_ = 0;
  index_t n_samples_ = 0;
};

}  // namespace rnnabs

#include "rnnabs/stats/detail/pca_impl.hpp"
