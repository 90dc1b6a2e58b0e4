#pragma once
// k-means (Lloyd) with greedy k-means++ seeding; models rnnabs::state_partitioner.
//
//   rnnabs::kmeans km({.n_clusters = 37, .n_init = 3, .seed = 7});
//   km.fit(Z);                          // N x D, float or double, any row-major Eigen expression
//   rnnabs::index_vector s = km.predict(Z);
//
// Follows scikit-learn's KMeans(algorithm="lloyd"): same seeding scheme, same stopping rule
// (labels unchanged, or total squared centre shift <= tol · mean feature variance), same
// empty-cluster rule (an empty cluster takes the point farthest from its own centre). Threaded
// over fixed row chunks merged in order: results are bit-identical for any thread count.
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"
#include "rnnabs/stats/detail/kmeans_init.hpp"
#include "rnnabs/stats/detail/kmeans_lloyd.hpp"

namespace rnnabs {

struct kmeans_options {
  index_t n_clusters = 8;
  /// Restarts from independent seedings (streams of `seed`); the lowest inertia wins.
  index_t n_init = 1;
  index_t max_iter = 300;
  /// Stop when Σ_k ||c_k(new) - c_k(old)||² <= tol · (mean per-feature variance of X).
  double tol = 1e-4;
  std::uint64_t seed = 0;
};

namespace detail {
/// n_init >= 1, max_iter >= 1, tol finite and >= 0.
inline void check_kmeans_options(const kmeans_options& o, const char* who) {
  require(o.n_init >= 1, who, ": n_init must be >= 1, got ", o.n_init);
  require(o.max_iter >= 1, who, ": max_iter must be >= 1, got ", o.max_iter);
  require(o.tol >= 0.0 && std::isfinite(o.tol), who, ": tol must be finite and >= 0, got ", o.tol);
}
}  // namespace detail

/// Greedy k-means++ (Arthur & Vassilvitskii; sklearn's 2 + ln K local trials per centre): indices of
/// the K rows chosen as initial centres. `sample_weight` (size N, or empty for ones) weights both the
/// sampling and the potential.
template <class Derived>
index_vector kmeans_plusplus_indices(const Eigen::MatrixBase<Derived>& x, index_t k, rng& gen,
                                     const vector<double>& sample_weight = vector<double>()) {
  using T = typename Derived::Scalar;
  static_assert(real_scalar<T>, "rnnabs::kmeans_plusplus: X must hold float or double");
  const matrix_cref<T> xr(x.derived());
  detail::check_kmeans_input(xr, k, sample_weight, "kmeans_plusplus_init");
  return detail::kmeans_plusplus<T>(xr, k, gen, sample_weight);
}

/// The K x D initial centres (double) chosen by greedy k-means++; see kmeans_plusplus_indices.
template <class Derived>
matrix<double> kmeans_plusplus_init(const Eigen::MatrixBase<Derived>& x, index_t k, rng& gen,
                                    const vector<double>& sample_weight = vector<double>()) {
  const index_vector idx = kmeans_plusplus_indices(x, k, gen, sample_weight);
  matrix<double> c(k, x.cols());
  for (index_t j = 0; j < k; ++j) c.row(j) = x.row(idx(j)).template cast<double>();
  return c;
}

class kmeans {
 public:
  kmeans() = default;
  explicit kmeans(const kmeans_options& o) : opt_(o) {}
  explicit kmeans(index_t n_clusters) { opt_.n_clusters = n_clusters; }

  /// n_init runs of k-means++ seeding + Lloyd; keeps the lowest inertia.
  template <class Derived>
  kmeans& fit(const Eigen::MatrixBase<Derived>& x, const vector<double>& sample_weight = vector<double>()) {
    using T = typename Derived::Scalar;
    static_assert(real_scalar<T>, "rnnabs::kmeans: X must hold float or double");
    const matrix_cref<T> xr(x.derived());
    check(xr, sample_weight, "kmeans::fit");
    detail::kmeans_result best;
    for (index_t run = 0; run < opt_.n_init; ++run) {
      rng gen = rng::stream(opt_.seed, static_cast<std::uint64_t>(run));
      const index_vector idx = detail::kmeans_plusplus<T>(xr, opt_.n_clusters, gen, sample_weight);
      matrix<double> c0(opt_.n_clusters, xr.cols());
      for (index_t j = 0; j < c0.rows(); ++j) c0.row(j) = xr.row(idx(j)).template cast<double>();
      detail::kmeans_result r = detail::lloyd<T>(xr, sample_weight, std::move(c0), opt_.max_iter, opt_.tol);
      if (run == 0 || r.inertia < best.inertia) best = std::move(r);
    }
    res_ = std::move(best);
    return *this;
  }

  /// A fitted model from a result computed elsewhere (the GPU backend's cuda::fit).
  static kmeans from_result(const kmeans_options& o, detail::kmeans_result r) {
    kmeans km(o);
    km.res_ = std::move(r);
    return km;
  }

  /// One Lloyd run from the given K x D initial centres (no seeding; n_init and seed unused).
  template <class Derived>
  kmeans& fit_from_centres(const Eigen::MatrixBase<Derived>& x, const matrix<double>& initial_centres,
                           const vector<double>& sample_weight = vector<double>()) {
    using T = typename Derived::Scalar;
    static_assert(real_scalar<T>, "rnnabs::kmeans: X must hold float or double");
    const matrix_cref<T> xr(x.derived());
    check(xr, sample_weight, "kmeans::fit_from_centres");
    require(initial_centres.rows() == opt_.n_clusters && initial_centres.cols() == xr.cols(),
            "kmeans::fit_from_centres: initial_centres is ", initial_centres.rows(), " x ", initial_centres.cols(),
            ", expected n_clusters x D = ", opt_.n_clusters, " x ", xr.cols());
    require_finite(initial_centres, "kmeans::fit_from_centres", "initial_centres");
    res_ = detail::lloyd<T>(xr, sample_weight, initial_centres, opt_.max_iter, opt_.tol);
    return *this;
  }

  /// Index of the nearest centre of each row.
  template <class Derived>
  index_vector predict(const Eigen::MatrixBase<Derived>& x) const {
    using T = typename Derived::Scalar;
    check_fitted(x, "kmeans::predict");
    const matrix_cref<T> xr(x.derived());
    require_finite(xr, "kmeans::predict", "X");
    index_vector labels(xr.rows());
    detail::assign_labels<T>(xr, res_.centers, labels);
    return labels;
  }

  /// Euclidean distance of each row to each centre (N x K), in X's scalar type.
  template <class Derived>
  matrix<typename Derived::Scalar> transform(const Eigen::MatrixBase<Derived>& x) const {
    using T = typename Derived::Scalar;
    check_fitted(x, "kmeans::transform");
    const matrix_cref<T> xr(x.derived());
    require_finite(xr, "kmeans::transform", "X");
    return detail::centre_distances<T>(xr, res_.centers);
  }

  bool fitted() const noexcept { return res_.centers.rows() > 0; }
  /// K x D, in double.
  const matrix<double>& centers() const noexcept { return res_.centers; }
  /// Labels of the training rows from the final centres.
  const index_vector& labels() const noexcept { return res_.labels; }
  /// Σ_i w_i ||x_i - c(label_i)||² on the training rows.
  double inertia() const noexcept { return res_.inertia; }
  /// Lloyd iterations of the kept run.
  index_t n_iter() const noexcept { return res_.n_iter; }
  bool converged() const noexcept { return res_.converged; }
  index_t n_clusters() const noexcept { return opt_.n_clusters; }
  index_t n_features() const noexcept { return res_.centers.cols(); }
  const kmeans_options& options() const noexcept { return opt_; }

 private:
  template <class T>
  void check(const matrix_cref<T>& x, const vector<double>& w, const char* who) const {
    detail::check_kmeans_options(opt_, who);
    detail::check_kmeans_input(x, opt_.n_clusters, w, who);
  }
  template <class Derived>
  void check_fitted(const Eigen::MatrixBase<Derived>& x, const char* who) const {
    using T = typename Derived::Scalar;
    static_assert(real_scalar<T>, "rnnabs::kmeans: X must hold float or double");
    require(fitted(), who, ": called before fit");
    require(x.rows() > 0 && x.cols() > 0, who, ": X is empty (", x.rows(), " x ", x.cols(), ")");
    require(x.cols() == n_features(), who, ": X has ", x.cols(), " columns, expected ", n_features());
  }

  kmeans_options opt_;
  detail::kmeans_result res_;
};

}  // namespace rnnabs
