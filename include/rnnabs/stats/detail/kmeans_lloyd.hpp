#pragma once
// Lloyd iterations for rnnabs::kmeans: threaded assignment + centre update over fixed row chunks.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"
#include "rnnabs/stats/detail/covariance.hpp"

namespace rnnabs::detail {

/// Rows per GEMM tile of the assignment, and the least rows per parallel chunk (one accumulator each).
inline constexpr index_t kmeans_tile = 256;
inline constexpr index_t kmeans_min_chunk = 8192;

/// Rows per chunk: a function of N only (never of the thread count), at most ~64 accumulators, and
/// at least 2 chunks (see stat_chunk_rows).
inline index_t kmeans_chunk_rows(index_t n) { return stat_chunk_rows(n, kmeans_min_chunk); }

struct kmeans_result {
  matrix<double> centers;
  index_vector labels;
  double inertia = 0;
  index_t n_iter = 0;
  bool converged = false;
};

inline double weight_at(const vector<double>& w, index_t i) { return w.size() > 0 ? w(i) : 1.0; }

/// Shapes, finiteness, K in [1, N], weights (size N, finite, >= 0, positive sum).
template <class T>
void check_kmeans_input(const matrix_cref<T>& x, index_t k, const vector<double>& w, const char* who) {
  require(x.rows() > 0 && x.cols() > 0, who, ": X is empty (", x.rows(), " x ", x.cols(), ")");
  require_finite(x, who, "X");
  require(k >= 1 && k <= x.rows(), who, ": n_clusters must be in [1, N] = [1, ", x.rows(), "], got ", k);
  if (w.size() == 0) return;
  require(w.size() == x.rows(), who, ": sample_weight has ", w.size(), " entries, X has ", x.rows(), " rows");
  require_finite(w, who, "sample_weight");
  require((w.array() >= 0.0).all(), who, ": sample_weight has a negative entry (", w.minCoeff(), ")");
  require(w.sum() > 0.0, who, ": sample_weight sums to zero");
}

/// argmin_k ||x - c_k||² as argmin_k (b_k - 2 x·c'_k) with c'_k = c_k - μ, b_k = ||c'_k||² + 2 μ·c'_k and μ the
/// centres' mean: the GEMM then sees centres near the origin, so the cancellation error of the expanded
/// square scales with the spread of the data, not with its offset. Ties go to the lower index.
template <class T>
struct nearest_centre_kernel {
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> ct;  // D x K: (c_k - μ)ᵀ
  vector<double> b;
  explicit nearest_centre_kernel(const matrix<double>& c) {
    const vector<double> mu = c.colwise().mean().transpose();
    const matrix<double> cp = c.rowwise() - mu.transpose();
    ct = cp.transpose().template cast<T>();
    const matrix<double> cpr = ct.transpose().template cast<double>();  // the rounded centres the GEMM uses
    b = cpr.rowwise().squaredNorm() + 2.0 * (cpr * mu);
  }
  /// Labels of rows [b0, e0) into `out` (indexed from row b0).
  template <class F>
  void run(const matrix_cref<T>& x, index_t b0, index_t e0, F&& on_label) const {
    const index_t k = ct.cols();
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> g(kmeans_tile, k);
    for (index_t r0 = b0; r0 < e0; r0 += kmeans_tile) {
      const index_t m = std::min(kmeans_tile, e0 - r0);
      g.topRows(m).noalias() = x.middleRows(r0, m) * ct;
      for (index_t r = 0; r < m; ++r) {
        index_t best = 0;
        double best_s = b(0) - 2.0 * static_cast<double>(g(r, 0));
        for (index_t j = 1; j < k; ++j) {
          const double s = b(j) - 2.0 * static_cast<double>(g(r, j));
          if (s < best_s) best_s = s, best = j;
        }
        on_label(r0 + r, best);
      }
    }
  }
};

template <class T>
double squared_distance(const matrix_cref<T>& x, index_t i, const matrix<double>& c, index_t k) {
  double s = 0;
  for (index_t j = 0; j < x.cols(); ++j) {
    const double d = static_cast<double>(x(i, j)) - c(k, j);
    s += d * d;
  }
  return s;
}

template <class T>
void assign_labels(const matrix_cref<T>& x, const matrix<double>& c, index_vector& labels) {
  const nearest_centre_kernel<T> kern(c);
  const index_t n = x.rows(), chunk = kmeans_chunk_rows(n);
  labels.resize(n);
  parallel_for(chunk_count(n, chunk), [&](index_t ci) {
    kern.run(x, ci * chunk, std::min(n, (ci + 1) * chunk), [&](index_t i, index_t l) { labels(i) = l; });
  });
}

/// Σ_i w_i ||x_i - c(label_i)||², exactly (not through the expanded square).
template <class T>
double kmeans_inertia(const matrix_cref<T>& x, const vector<double>& w, const matrix<double>& c,
                      const index_vector& labels) {
  return chunked_reduce(
      x.rows(), kmeans_chunk_rows(x.rows()), 0.0,
      [&](index_t b, index_t e, double& acc) {
        for (index_t i = b; i < e; ++i) acc += weight_at(w, i) * squared_distance<T>(x, i, c, labels(i));
      },
      [](double& t, double p) { t += p; });
}

/// ||x_i - c_k|| for every row and centre (N x K).
template <class T>
matrix<T> centre_distances(const matrix_cref<T>& x, const matrix<double>& c) {
  matrix<T> out(x.rows(), c.rows());
  const index_t chunk = kmeans_chunk_rows(x.rows());
  parallel_for(chunk_count(x.rows(), chunk), [&](index_t ci) {
    for (index_t i = ci * chunk; i < std::min(x.rows(), (ci + 1) * chunk); ++i)
      for (index_t k = 0; k < c.rows(); ++k) out(i, k) = static_cast<T>(std::sqrt(squared_distance<T>(x, i, c, k)));
  });
  return out;
}

/// tol · (mean over features of the population variance of X), sklearn's scale for the centre shift.
template <class T>
double kmeans_tolerance(const matrix_cref<T>& x, double tol) {
  if (tol == 0.0) return 0.0;
  const vector<double> m = column_mean<T>(x);
  const vector<double> ss = chunked_reduce(
      x.rows(), kmeans_chunk_rows(x.rows()), vector<double>(vector<double>::Zero(x.cols())),
      [&](index_t b, index_t e, vector<double>& acc) {
        for (index_t i = b; i < e; ++i) acc += (x.row(i).transpose().template cast<double>() - m).cwiseAbs2();
      },
      [](vector<double>& t, const vector<double>& p) { t += p; });
  return tol * ss.mean() / static_cast<double>(x.rows());
}

struct lloyd_sums {
  matrix<double> sums;  // K x D weighted coordinate sums
  vector<double> weight;
};

/// Empty clusters (zero weight) take, in index order, the points farthest from their assigned centres.
template <class T>
void relocate_empty(const matrix_cref<T>& x, const vector<double>& w, const matrix<double>& c,
                    const index_vector& labels, lloyd_sums& s) {
  std::vector<index_t> empty;
  for (index_t j = 0; j < c.rows(); ++j)
    if (s.weight(j) == 0.0) empty.push_back(j);
  if (empty.empty()) return;
  const index_t n = x.rows(), chunk = kmeans_chunk_rows(n);
  std::vector<double> dist(static_cast<std::size_t>(n));
  parallel_for(chunk_count(n, chunk), [&](index_t ci) {
    for (index_t i = ci * chunk; i < std::min(n, (ci + 1) * chunk); ++i)
      dist[static_cast<std::size_t>(i)] = squared_distance<T>(x, i, c, labels(i));
  });
  std::vector<index_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index_t{0});
  const auto ne = static_cast<std::ptrdiff_t>(std::min<std::size_t>(empty.size(), order.size()));
  std::partial_sort(order.begin(), order.begin() + ne, order.end(), [&](index_t a, index_t b) {
    const double da = dist[static_cast<std::size_t>(a)], db = dist[static_cast<std::size_t>(b)];
    return da > db || (da == db && a < b);
  });
  for (std::ptrdiff_t e = 0; e < ne; ++e) {
    const index_t far = order[static_cast<std::size_t>(e)], to = empty[static_cast<std::size_t>(e)];
    const index_t from = labels(far);
    const double wi = weight_at(w, far);
    const vector<double> xi = x.row(far).transpose().template cast<double>();
    s.sums.row(from) -= wi * xi.transpose();
    s.weight(from) -= wi;
    s.sums.row(to) = wi * xi.transpose();
    s.weight(to) = wi;
  }
}

/// Lloyd from centres `c` (sklearn's loop: stop on unchanged labels or a small total centre shift; an
/// empty cluster takes the point farthest from its assigned centre, farthest first, lower index on ties).
template <class T>
kmeans_result lloyd(const matrix_cref<T>& x, const vector<double>& w, matrix<double> c, index_t max_iter,
                    double tol) {
  const index_t n = x.rows(), d = x.cols(), k = c.rows(), chunk = kmeans_chunk_rows(n);
  const double tol_abs = kmeans_tolerance<T>(x, tol);
  kmeans_result r;
  r.labels.resize(n);
  index_vector old_labels = index_vector::Constant(n, -1);
  const lloyd_sums zero{matrix<double>::Zero(k, d), vector<double>::Zero(k)};
  bool strict = false, small_shift = false;
  index_t it = 0;
  for (; it < max_iter; ++it) {
    const nearest_centre_kernel<T> kern(c);
    lloyd_sums s = chunked_reduce(
        n, chunk, zero,
        [&](index_t b, index_t e, lloyd_sums& acc) {
          kern.run(x, b, e, [&](index_t i, index_t l) {
            r.labels(i) = l;
            const double wi = weight_at(w, i);
            acc.sums.row(l) += wi * x.row(i).template cast<double>();
            acc.weight(l) += wi;
          });
        },
        [](lloyd_sums& t, const lloyd_sums& p) {
          t.sums += p.sums;
          t.weight += p.weight;
        });
    relocate_empty(x, w, c, r.labels, s);
    matrix<double> c_new = c;
    for (index_t j = 0; j < k; ++j)
      if (s.weight(j) > 0) c_new.row(j) = s.sums.row(j) / s.weight(j);
    const double shift = (c_new - c).squaredNorm();
    c = std::move(c_new);
    if (r.labels == old_labels) {
      strict = true;
      break;
    }
    if (shift <= tol_abs) {
      small_shift = true;
      break;
    }
    old_labels = r.labels;
  }
  r.n_iter = std::min(it + 1, max_iter);
  if (!strict) assign_labels<T>(x, c, r.labels);  // labels of the final centres
  r.inertia = kmeans_inertia<T>(x, w, c, r.labels);
  r.converged = strict || small_shift;
  r.centers = std::move(c);
  return r;
}

}  // namespace rnnabs::detail
