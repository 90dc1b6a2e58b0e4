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
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>

#include "rnnabs/core/communicator.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"
#include "rnnabs/stats/detail/kmeans_init.hpp"
#include "rnnabs/stats/detail/kmeans_lloyd.hpp"
#if defined(RNNABS_HAVE_ZIP)
#include "rnnabs/io/archive.hpp"
#endif

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
    return fit_runs<T>(xr, sample_weight, {});
  }

  /// Distributed fit: X (and sample_weight) are this rank's rows, in global row order by rank (any
  /// split; rows move between neighbours when the ranks' rows do not start at multiples of
  /// shard_row_alignment), `comm` the ranks holding the rest. Collective; every rank ends with the
  /// centres, inertia and iteration count of fit(all rows) on one process, bit for bit, and labels()
  /// holds the labels of its own rows.
  template <class Derived, communicator C>
  kmeans& fit(const Eigen::MatrixBase<Derived>& x, const C& comm) {
    return fit(x, vector<double>(), comm);
  }
  template <class Derived, communicator C>
  kmeans& fit(const Eigen::MatrixBase<Derived>& x, const vector<double>& sample_weight, const C& comm) {
    using T = typename Derived::Scalar;
    static_assert(real_scalar<T>, "rnnabs::kmeans: X must hold float or double");
    const matrix_cref<T> xr(x.derived());
    const char* who = "kmeans::fit";
    if (communicator_ref(comm).size() == 1) {
      check(xr, sample_weight, who);
      return fit_runs<T>(xr, sample_weight, comm);
    }
    collectively(comm, [&] {
      require(sample_weight.size() == 0 || sample_weight.size() == xr.rows(), who, ": sample_weight has ",
              sample_weight.size(), " entries, X has ", xr.rows(), " rows");
    });
    if (!rows_aligned(comm, xr.rows())) {
      const bool weighted = any_rank(comm, sample_weight.size() > 0);
      const matrix<T> xa = align_rows<T>(comm, matrix<T>(xr));
      const vector<double> wa =
          weighted ? vector<double>(align_rows<double>(comm, matrix<double>(sample_weight)).col(0)) : vector<double>();
      fit(xa, wa, comm);
      detail::assign_labels<T>(xr, res_.centers, res_.labels);  // the labels of this rank's own rows
      return *this;
    }
    detail::check_kmeans_options(opt_, who);
    const row_shard sh = make_row_shard(comm, xr.rows(), who);
    const index_t d = same_on_every_rank(comm, xr.cols(), who, "row width");
    require(sh.global > 0 && d > 0, who, ": X is empty (", sh.global, " x ", d, ")");
    require(opt_.n_clusters >= 1 && opt_.n_clusters <= sh.global, who, ": n_clusters must be in [1, N] = [1, ",
            sh.global, "], got ", opt_.n_clusters);
    const bool weighted = any_rank(comm, sample_weight.size() > 0);
    collectively(comm, [&] {
      if (xr.rows() > 0) require_finite(xr, who, "X");
      if (!weighted) return;
      require(sample_weight.size() == xr.rows(), who, ": sample_weight has ", sample_weight.size(), " entries, X has ",
              xr.rows(), " rows");
      require_finite(sample_weight, who, "sample_weight");
      require((sample_weight.array() >= 0.0).all(), who, ": sample_weight has a negative entry");
    });
    if (weighted)
      require(any_rank(comm, sample_weight.size() > 0 && sample_weight.maxCoeff() > 0.0), who,
              ": sample_weight sums to zero");
    return fit_runs<T>(xr, sample_weight, comm);
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

  static constexpr int archive_version = 1;
  /// Writes the fitted model as an rnnabs archive (.npz: centers, labels, inertia, options);
  /// io_error without zip support (link rnnabs::zip), like every fitted object's save/load.
  void save(const std::filesystem::path& path) const;
  /// Loads a model written by save(); io_error on another kind, a newer format or corrupt content.
  static kmeans load(const std::filesystem::path& path);

 private:
  template <class T>
  kmeans& fit_runs(const matrix_cref<T>& xr, const vector<double>& w, communicator_ref comm) {
    const row_shard sh = make_row_shard(comm, xr.rows(), "kmeans::fit");
    detail::kmeans_result best;
    for (index_t run = 0; run < opt_.n_init; ++run) {
      rng gen = rng::stream(opt_.seed, static_cast<std::uint64_t>(run));
      const index_vector idx = detail::kmeans_plusplus<T>(xr, opt_.n_clusters, gen, w, comm);
      matrix<double> c0(opt_.n_clusters, xr.cols());
      for (index_t j = 0; j < c0.rows(); ++j) c0.row(j) = global_row(comm, sh, xr, idx(j)).transpose();
      detail::kmeans_result r = detail::lloyd<T>(xr, w, std::move(c0), opt_.max_iter, opt_.tol, true, comm);
      if (run == 0 || r.inertia < best.inertia) best = std::move(r);
    }
    res_ = std::move(best);
    return *this;
  }
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

#if defined(RNNABS_HAVE_ZIP)
inline void kmeans::save(const std::filesystem::path& path) const {
  require(fitted(), "kmeans::save: called before fit");
  io::archive a("kmeans", archive_version);
  a.put("centers", res_.centers);
  a.put("labels", vector<double>(res_.labels.cast<double>()));
  a.put_scalar("inertia", res_.inertia);
  a.put_scalar("n_iter", static_cast<double>(res_.n_iter));
  a.put_scalar("converged", res_.converged ? 1.0 : 0.0);
  a.put_scalar("n_init", static_cast<double>(opt_.n_init));
  a.put_scalar("max_iter", static_cast<double>(opt_.max_iter));
  a.put_scalar("tol", opt_.tol);
  a.put_string("seed", std::to_string(opt_.seed));
  io::save(path, a);
}

inline kmeans kmeans::load(const std::filesystem::path& path) {
  const io::archive a = io::load(path, "kmeans", archive_version);
  const std::string where = rnnabs::detail::concat("kmeans::load: ", path.string());
  kmeans km;
  km.res_.centers = a.get("centers");
  const index_t k = km.res_.centers.rows(), d = km.res_.centers.cols();
  require<io_error>(k >= 1 && d >= 1 && km.res_.centers.allFinite(), where, ": the centers (", k, " x ", d,
                    ") are empty or not finite");
  const vector<double> labels = a.get_vector("labels");
  km.res_.labels.resize(labels.size());
  for (index_t i = 0; i < labels.size(); ++i) {
    require<io_error>(labels(i) >= 0 && labels(i) < static_cast<double>(k) && labels(i) == std::trunc(labels(i)), where,
                      ": label ", labels(i), " of row ", i, " is not a cluster in [0, ", k, ")");
    km.res_.labels(i) = static_cast<index_t>(labels(i));
  }
  km.res_.inertia = a.get_scalar("inertia");
  require<io_error>(std::isfinite(km.res_.inertia) && km.res_.inertia >= 0, where, ": inertia ", km.res_.inertia,
                    " is not finite and >= 0");
  km.res_.n_iter = a.get_integer("n_iter", 0, std::numeric_limits<std::int32_t>::max());
  km.res_.converged = a.get_integer("converged", 0, 1) == 1;
  km.opt_.n_clusters = k;
  km.opt_.n_init = a.get_integer("n_init", 1, std::numeric_limits<std::int32_t>::max());
  km.opt_.max_iter = a.get_integer("max_iter", 1, std::numeric_limits<std::int32_t>::max());
  km.opt_.tol = a.get_scalar("tol");
  km.opt_.seed = a.get_uint64_string("seed");
  try {
    detail::check_kmeans_options(km.opt_, "kmeans::load");
  } catch (const invalid_argument& e) {
    throw io_error(rnnabs::detail::concat(where, ": ", e.what()));
  }
  return km;
}
#else
inline void kmeans::save(const std::filesystem::path&) const {
  throw io_error("kmeans::save: this build has no archive support; link rnnabs::zip (zlib + minizip)");
}
inline kmeans kmeans::load(const std::filesystem::path&) {
  throw io_error("kmeans::load: this build has no archive support; link rnnabs::zip (zlib + minizip)");
}
#endif

}  // namespace rnnabs
