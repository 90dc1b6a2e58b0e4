#pragma once
// Lloyd iterations for rnnabs::kmeans: threaded assignment + centre update over fixed row chunks.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"
#include "rnnabs/stats/detail/covariance.hpp"

namespace rnnabs::detail {

/// The least rows per parallel chunk (one accumulator each).
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

/// argmin_k ||x - c_k||² as argmin_k (n_k - 2 (x - μ)·c'_k) with c'_k = c_k - μ, n_k = ||c'_k||² and μ the
/// centres' mean, so the cancellation error of the expanded square scales with the spread of the data,
/// not with its offset. Points sit in SIMD lanes: a tile of `lanes` points is centred and transposed
/// (D x lanes), then each centre costs D broadcast multiply-adds and one compare-select over the tile —
/// no GEMM call, whose packing dominates at D ≈ 10. The last tile is padded, so every point takes the
/// same arithmetic path. Ties go to the lower index.
template <class T>
struct nearest_centre_kernel {
  static constexpr index_t lanes = 64 / sizeof(T) * 4;  // four 512-bit accumulators
  index_t k = 0, d = 0;
  std::vector<T> c;   // K x D row-major: c'_k
  std::vector<T> nk;  // ||c'_k||² of the rounded c'_k
  std::vector<T> mu;  // the centres' mean, rounded to T: what the tiles are centred by
  explicit nearest_centre_kernel(const matrix<double>& centres) : k(centres.rows()), d(centres.cols()) {
    require(k <= std::numeric_limits<std::int32_t>::max(), "kmeans: ", k, " clusters exceed the 32-bit lane labels");
    mu.resize(static_cast<std::size_t>(d));
    for (index_t j = 0; j < d; ++j) mu[static_cast<std::size_t>(j)] = static_cast<T>(centres.col(j).mean());
    c.resize(static_cast<std::size_t>(k * d));
    nk.resize(static_cast<std::size_t>(k));
    for (index_t q = 0; q < k; ++q) {
      double n2 = 0;
      for (index_t j = 0; j < d; ++j) {
        const T v = static_cast<T>(centres(q, j) - static_cast<double>(mu[static_cast<std::size_t>(j)]));
        c[static_cast<std::size_t>(q * d + j)] = v;
        n2 += static_cast<double>(v) * static_cast<double>(v);
      }
      nk[static_cast<std::size_t>(q)] = static_cast<T>(n2);
    }
  }
  /// Calls on_label(i, label) for rows i in [b0, e0), in order.
  template <class F>
  void run(const matrix_cref<T>& x, index_t b0, index_t e0, F&& on_label) const {
    // GCC/Clang vector extensions (Eigen's fixed-size arrays spilled the running minimum to memory);
    // `nv` independent accumulators, so the multiply-adds are throughput- not latency-bound.
    using lane_int = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
    typedef T vec __attribute__((vector_size(64)));
    typedef lane_int ivec __attribute__((vector_size(64)));
    constexpr index_t w = 64 / sizeof(T), nv = lanes / w;
    // The tile, centred and transposed ([j][p]), in a plain T buffer read back with memcpy (one
    // vector load): no vector types inside containers, which nvcc's host pass rejects.
    std::vector<T> xs(static_cast<std::size_t>(lanes * d));
    // By reference: returning a 64-byte vector by value draws -Wpsabi where AVX-512 is off.
    auto load = [&](vec& r, index_t j, index_t v) { std::memcpy(&r, xs.data() + j * lanes + v * w, sizeof(vec)); };
    const T inf = std::numeric_limits<T>::infinity();
    for (index_t r0 = b0; r0 < e0; r0 += lanes) {
      const index_t m = std::min(lanes, e0 - r0);
      for (index_t p = 0; p < lanes; ++p) {
        const T* xp = p < m ? x.data() + (r0 + p) * x.outerStride() : nullptr;  // row-major, unit inner stride
        for (index_t j = 0; j < d; ++j)
          xs[j * lanes + p] = xp ? xp[j] - mu[static_cast<std::size_t>(j)] : T(0);
      }
      vec bs[nv];
      ivec bi[nv];
      for (index_t v = 0; v < nv; ++v) bs[v] = vec{} + inf, bi[v] = ivec{};
      for (index_t q = 0; q < k; ++q) {
        const T* cq = c.data() + q * d;
        vec a[nv];
        for (index_t v = 0; v < nv; ++v) {
          load(a[v], 0, v);
          a[v] *= cq[0];
        }
        for (index_t j = 1; j < d; ++j)
          for (index_t v = 0; v < nv; ++v) {
            vec xj;
            load(xj, j, v);
            a[v] += xj * cq[j];
          }
        const T n2 = nk[static_cast<std::size_t>(q)];
        const ivec qv = ivec{} + static_cast<lane_int>(q);
        for (index_t v = 0; v < nv; ++v) {
          const vec sv = n2 - T(2) * a[v];
          const ivec lt = sv < bs[v];  // strict: ties keep the lower index
          // Bitwise selects, not `?:` on vectors, which nvcc's front end rejects in host code.
          bi[v] = (lt & qv) | (~lt & bi[v]);
          bs[v] = (vec)((lt & (ivec)sv) | (~lt & (ivec)bs[v]));
        }
      }
      for (index_t p = 0; p < m; ++p) on_label(r0 + p, static_cast<index_t>(bi[p / w][p % w]));
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
  matrix<double> sums;  // K x D weighted coordinate sums (row-major)
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
          double* sums = acc.sums.data();  // K x D row-major
          kern.run(x, b, e, [&](index_t i, index_t l) {
            r.labels(i) = l;
            const double wi = weight_at(w, i);
            double* row = sums + l * d;
            for (index_t j = 0; j < d; ++j) row[j] += wi * static_cast<double>(x(i, j));
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
