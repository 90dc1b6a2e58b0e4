#pragma once
// Lloyd iterations for rnnabs::kmeans: threaded assignment + centre update over fixed row chunks.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <span>
#include <type_traits>
#include <vector>

#include "rnnabs/core/communicator.hpp"
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
    run_rows<false>(
        x, e0 - b0, [b0](index_t p) { return b0 + p; }, [&](index_t i, index_t l, T, T) { on_label(i, l); });
  }
  /// The kernel over `count` rows row_of(0 … count−1): on_result(row, label, best score, second-best
  /// score), scores being n_k − 2 (x − μ)·c'_k (the second only when `second`; +inf when K = 1). A lane's
  /// arithmetic does not depend on the other lanes, so a row gets the same label in any tile.
  template <bool second, class Rows, class F>
  void run_rows(const matrix_cref<T>& x, index_t count, Rows&& row_of, F&& on_result) const {
    // GCC/Clang vector extensions (Eigen's fixed-size arrays spilled the running minimum to memory);
    // `nv` independent accumulators, so the multiply-adds are throughput- not latency-bound.
    using lane_int = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
    typedef T vec __attribute__((vector_size(64)));
    typedef lane_int ivec __attribute__((vector_size(64)));
    constexpr index_t w = 64 / sizeof(T), nv = lanes / w;
    // The tile, centred and transposed ([j][p]), in a plain T buffer read back with memcpy (one
    // vector load): no vector types inside containers, which nvcc's host pass rejects.
    std::vector<T> xs(static_cast<std::size_t>(lanes * d));
    std::vector<index_t> rows(static_cast<std::size_t>(lanes));
    // By reference: returning a 64-byte vector by value draws -Wpsabi where AVX-512 is off.
    auto load = [&](vec& r, index_t j, index_t v) { std::memcpy(&r, xs.data() + j * lanes + v * w, sizeof(vec)); };
    const T inf = std::numeric_limits<T>::infinity();
    for (index_t r0 = 0; r0 < count; r0 += lanes) {
      const index_t m = std::min(lanes, count - r0);
      for (index_t p = 0; p < lanes; ++p) {
        const T* xp = nullptr;
        if (p < m) {
          rows[static_cast<std::size_t>(p)] = row_of(r0 + p);
          xp = x.data() + rows[static_cast<std::size_t>(p)] * x.outerStride();  // row-major, unit inner stride
        }
        for (index_t j = 0; j < d; ++j) xs[j * lanes + p] = xp ? xp[j] - mu[static_cast<std::size_t>(j)] : T(0);
      }
      vec bs[nv], ss[nv];
      ivec bi[nv];
      for (index_t v = 0; v < nv; ++v) bs[v] = vec{} + inf, ss[v] = vec{} + inf, bi[v] = ivec{};
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
          if constexpr (second) {  // new second best: the old best if sv wins, else min(second, sv)
            const ivec lt2 = sv < ss[v];
            const ivec mn = (lt2 & (ivec)sv) | (~lt2 & (ivec)ss[v]);
            ss[v] = (vec)((lt & (ivec)bs[v]) | (~lt & mn));
          }
          bi[v] = (lt & qv) | (~lt & bi[v]);
          bs[v] = (vec)((lt & (ivec)sv) | (~lt & (ivec)bs[v]));
        }
      }
      for (index_t p = 0; p < m; ++p)
        on_result(rows[static_cast<std::size_t>(p)], static_cast<index_t>(bi[p / w][p % w]), bs[p / w][p % w],
                  ss[p / w][p % w]);
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
                      const index_vector& labels, communicator_ref comm = {}, index_t global_n = -1) {
  const index_t chunk = kmeans_chunk_rows(global_n < 0 ? x.rows() : global_n);
  return chunked_reduce(
      comm, x.rows(), chunk, 0.0,
      [&](index_t b, index_t e, double& acc) {
        for (index_t i = b; i < e; ++i) acc += weight_at(w, i) * squared_distance<T>(x, i, c, labels(i));
      },
      [](double& t, double p) { t += p; }, row_block_chunks(chunk));
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
double kmeans_tolerance(const matrix_cref<T>& x, double tol, communicator_ref comm = {}, index_t global_n = -1) {
  if (tol == 0.0) return 0.0;
  const index_t n = global_n < 0 ? x.rows() : global_n;
  const vector<double> m = column_mean<T>(x, comm, n);
  const index_t chunk = kmeans_chunk_rows(n);
  const vector<double> ss = chunked_reduce(
      comm, x.rows(), chunk, vector<double>(vector<double>::Zero(x.cols())),
      [&](index_t b, index_t e, vector<double>& acc) {
        for (index_t i = b; i < e; ++i) acc += (x.row(i).transpose().template cast<double>() - m).cwiseAbs2();
      },
      [](vector<double>& t, const vector<double>& p) { t += p; }, row_block_chunks(chunk));
  return tol * ss.mean() / static_cast<double>(n);
}

struct lloyd_sums {
  matrix<double> sums;  // K x D weighted coordinate sums (row-major)
  vector<double> weight;
  index_t changed = 0;  // points whose label changed this iteration
  template <class F>
  void for_each_buffer(F&& f) {  // what travels between ranks (core/communicator.hpp)
    f(std::as_writable_bytes(std::span<double>(sums.data(), static_cast<std::size_t>(sums.size()))));
    f(std::as_writable_bytes(std::span<double>(weight.data(), static_cast<std::size_t>(weight.size()))));
    f(std::as_writable_bytes(std::span<index_t>(&changed, 1)));
  }
};

/// The min(m, N) indices of the largest dist, farthest first, lower index on ties: the points that
/// empty clusters take (both backends).
inline std::vector<index_t> farthest_first(const std::vector<double>& dist, std::size_t m) {
  std::vector<index_t> order(dist.size());
  std::iota(order.begin(), order.end(), index_t{0});
  m = std::min(m, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(m), order.end(),
                    [&](index_t a, index_t b) {
                      const double da = dist[static_cast<std::size_t>(a)], db = dist[static_cast<std::size_t>(b)];
                      return da > db || (da == db && a < b);
                    });
  order.resize(m);
  return order;
}

/// Empty clusters (zero weight) take, in index order, the points farthest from their assigned centres.
/// Distributed: each rank's farthest points, then the farthest of those (the same points, same order);
/// each point's rank broadcasts its label, weight and row.
template <class T>
void relocate_empty(const matrix_cref<T>& x, const vector<double>& w, const matrix<double>& c,
                    const index_vector& labels, lloyd_sums& s, communicator_ref comm = {},
                    const row_shard* sh = nullptr) {
  std::vector<index_t> empty;
  for (index_t j = 0; j < c.rows(); ++j)
    if (s.weight(j) == 0.0) empty.push_back(j);
  if (empty.empty()) return;
  const index_t n = x.rows(), chunk = kmeans_chunk_rows(sh ? sh->global : n);
  std::vector<double> dist(static_cast<std::size_t>(n));
  parallel_for(chunk_count(n, chunk), [&](index_t ci) {
    for (index_t i = ci * chunk; i < std::min(n, (ci + 1) * chunk); ++i)
      dist[static_cast<std::size_t>(i)] = squared_distance<T>(x, i, c, labels(i));
  });
  std::vector<index_t> order = farthest_first(dist, empty.size());
  const index_t offset = sh ? sh->offset : 0;
  if (comm.size() > 1) {
    struct far_point {  // (distance, global row); padding: (-inf, N); travels as bytes
      double first;
      index_t second;
    };
    std::vector<far_point> mine(empty.size(), {-std::numeric_limits<double>::infinity(), sh->global});
    for (std::size_t e = 0; e < order.size(); ++e)
      mine[e] = {dist[static_cast<std::size_t>(order[e])], offset + order[e]};
    std::vector<far_point> all(mine.size() * static_cast<std::size_t>(comm.size()));
    comm.all_gather(std::as_bytes(std::span<const far_point>(mine)), std::as_writable_bytes(std::span<far_point>(all)));
    const std::size_t m = std::min<std::size_t>(empty.size(), static_cast<std::size_t>(sh->global));
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(m), all.end(),
                      [](const far_point& a, const far_point& b) {
                        return a.first > b.first || (a.first == b.first && a.second < b.second);
                      });
    order.resize(m);
    for (std::size_t e = 0; e < m; ++e) order[e] = all[e].second;  // global rows from here on
  }
  for (std::size_t e = 0; e < order.size(); ++e) {
    const index_t far = order[e], to = empty[e];
    index_t from = 0;
    double wi = 0;
    vector<double> xi;
    if (comm.size() == 1) {
      from = labels(far);
      wi = weight_at(w, far);
      xi = x.row(far).transpose().template cast<double>();
    } else {
      const int owner = sh->owner(far);
      struct label_weight {
        index_t label = 0;
        double weight = 0;
      } lw;
      if (owner == comm.rank()) lw = {labels(far - offset), weight_at(w, far - offset)};
      lw = broadcast_value(comm, lw, owner);
      from = lw.label;
      wi = lw.weight;
      xi = global_row(comm, *sh, x, far);
    }
    s.sums.row(from) -= wi * xi.transpose();
    s.weight(from) -= wi;
    s.sums.row(to) = wi * xi.transpose();
    s.weight(to) = wi;
  }
}

/// Hamerly's bounds for Lloyd (G. Hamerly, "Making k-means even faster", SDM 2010): per point an upper
/// bound u on the distance to its centre and a lower bound l on the distance to every other centre,
/// moved by the centres' shifts each iteration; a point whose bounds separate its centre from all
/// others keeps its label without the K-centre kernel. The separation must exceed `margin`, a bound on
/// the kernel's rounding error in squared-distance units (the point's and centres' centred squared
/// norms times 32 (D+2) ulps), so a skipped point gets exactly the label the kernel would give it:
/// labels, centres and iteration count are bit-identical to plain Lloyd (tested), only faster.
template <class T>
struct lloyd_bounds {
  std::vector<T> u, l;  // stored in T (half the traffic for float), rounded outward
  double ulp_factor = 0;
  lloyd_bounds(index_t n, index_t d)
      : u(static_cast<std::size_t>(n)), l(static_cast<std::size_t>(n)),
        ulp_factor(32.0 * static_cast<double>(d + 2) * static_cast<double>(std::numeric_limits<T>::epsilon())) {}

  /// ||x_i − μ||² in double (μ the kernel's rounded centres' mean).
  static double centred_norm2(const matrix_cref<T>& x, index_t i, const nearest_centre_kernel<T>& kern) {
    double s = 0;
    for (index_t j = 0; j < x.cols(); ++j) {
      const double v = static_cast<double>(x(i, j)) - static_cast<double>(kern.mu[static_cast<std::size_t>(j)]);
      s += v * v;
    }
    return s;
  }
  static constexpr double up = 1.0 + 4.0 * std::numeric_limits<T>::epsilon(), down = 1.0 / up;
  /// Stores upper/lower bounds rounded outward to T.
  void store(std::size_t i, double ub, double lb) {
    u[i] = static_cast<T>(ub * up);
    l[i] = static_cast<T>(lb * down);
  }
  /// Bounds from the kernel's best and second-best scores (± the margin).
  void set(index_t i, double x2, double margin, T best, T second) {
    store(static_cast<std::size_t>(i), std::sqrt(std::max(0.0, static_cast<double>(best) + x2 + margin)),
          std::sqrt(std::max(0.0, static_cast<double>(second) + x2 - margin)));
  }
};

/// Lloyd from centres `c` (sklearn's loop: stop on unchanged labels or a small total centre shift; an
/// empty cluster takes the point farthest from its assigned centre, farthest first, lower index on ties).
/// `bounds` = false runs every point through the kernel every iteration (the reference for the tests).
/// Distributed: x and w are this rank's rows (each rank's first row at a multiple of
/// shard_row_alignment); sums, shifts and the stop test are global, labels stay with their rows.
template <class T>
kmeans_result lloyd(const matrix_cref<T>& x, const vector<double>& w, matrix<double> c, index_t max_iter, double tol,
                    bool bounds = true, communicator_ref comm = {}) {
  const row_shard sh = make_row_shard(comm, x.rows(), "kmeans::fit");
  const index_t n = x.rows(), d = x.cols(), k = c.rows(), chunk = kmeans_chunk_rows(sh.global);
  const double tol_abs = kmeans_tolerance<T>(x, tol, comm, sh.global);
  kmeans_result r;
  r.labels.resize(n);
  r.labels.setConstant(-1);
  const lloyd_sums zero{matrix<double>::Zero(k, d), vector<double>::Zero(k)};
  bool strict = false, small_shift = false;
  lloyd_bounds<T> bd(bounds ? n : 0, d);
  matrix<double> c_prev;  // the centres of the previous assignment (bounds: their shifts)
  index_t it = 0;
  for (; it < max_iter; ++it) {
    const nearest_centre_kernel<T> kern(c);
    // Per-iteration quantities of the bounds: each centre's shift, the largest shift of any other
    // centre, half the distance to the nearest other centre, the largest centred centre norm.
    const bool use_bounds = bounds && it > 0;
    std::vector<double> shift_of(static_cast<std::size_t>(k), 0.0), other_shift(static_cast<std::size_t>(k), 0.0),
        half_sep(static_cast<std::size_t>(k), std::numeric_limits<double>::infinity());
    double nmax = 0;
    std::vector<double> centre_norm(static_cast<std::size_t>(k), 0.0);  // ||c'_q||, rounded up
    if (bounds) {
      for (index_t q = 0; q < k; ++q) {
        const double nq = static_cast<double>(kern.nk[static_cast<std::size_t>(q)]) * (1.0 + 1e-6);
        nmax = std::max(nmax, nq);
        centre_norm[static_cast<std::size_t>(q)] = std::sqrt(nq);
      }
    }
    if (use_bounds) {
      index_t top = 0;
      for (index_t q = 0; q < k; ++q) {
        shift_of[static_cast<std::size_t>(q)] = (c.row(q) - c_prev.row(q)).norm() * (1.0 + 1e-12);
        if (shift_of[static_cast<std::size_t>(q)] > shift_of[static_cast<std::size_t>(top)]) top = q;
      }
      double runner = 0;
      for (index_t q = 0; q < k; ++q)
        if (q != top) runner = std::max(runner, shift_of[static_cast<std::size_t>(q)]);
      for (index_t q = 0; q < k; ++q)
        other_shift[static_cast<std::size_t>(q)] = q == top ? runner : shift_of[static_cast<std::size_t>(top)];
      for (index_t q = 0; q < k; ++q)
        for (index_t p = q + 1; p < k; ++p) {
          const double h = 0.5 * (c.row(q) - c.row(p)).norm() * (1.0 - 1e-12);
          half_sep[static_cast<std::size_t>(q)] = std::min(half_sep[static_cast<std::size_t>(q)], h);
          half_sep[static_cast<std::size_t>(p)] = std::min(half_sep[static_cast<std::size_t>(p)], h);
        }
    }
    lloyd_sums s = chunked_reduce(
        comm, n, chunk, zero,
        [&](index_t b, index_t e, lloyd_sums& acc) {
          // Blocks of rows small enough for the cache, so the bounds pass, the kernel on the rows it
          // could not settle and the sums (in index order, as plain Lloyd) read each row from cache.
          constexpr index_t block = 4096;
          std::vector<index_t> todo;
          for (index_t b1 = b; b1 < e; b1 += block) {
            const index_t e1 = std::min(e, b1 + block);
            if (!bounds) {
              kern.run(x, b1, e1, [&](index_t i, index_t l) {
                acc.changed += r.labels(i) != l;
                r.labels(i) = l;
              });
            } else {
              todo.clear();
              for (index_t i = b1; i < e1 && !use_bounds; ++i) todo.push_back(i);
              for (index_t i = b1; i < e1 && use_bounds; ++i) {
                // The rows are read irregularly below (tightening): prefetch them in order.
                __builtin_prefetch(x.data() + std::min(i + 16, e1 - 1) * x.outerStride());
                const auto ui = static_cast<std::size_t>(i);
                const index_t a = r.labels(i);
                const auto ua = static_cast<std::size_t>(a);
                double u = static_cast<double>(bd.u[ui]) + shift_of[ua];
                const double l = std::max(0.0, static_cast<double>(bd.l[ui]) - other_shift[ua]);
                auto separated = [&] {
                  // ||x − μ|| <= u + ||c'_a||: the margin without the point's own norm.
                  const double xr = u + centre_norm[ua];
                  const double margin = bd.ulp_factor * (xr * xr + nmax);
                  const double lb = std::max(l, 2.0 * half_sep[ua] - u);
                  return lb > u && (lb - u) * (lb + u) > 2.0 * margin;
                };
                const bool keep = separated() || (u = std::sqrt(squared_distance<T>(x, i, c, a)) * (1.0 + 1e-12),
                                                  separated());  // else tighten u and test again
                bd.store(ui, u, l);
                if (!keep) todo.push_back(i);
              }
              kern.template run_rows<true>(
                  x, static_cast<index_t>(todo.size()), [&](index_t p) { return todo[static_cast<std::size_t>(p)]; },
                  [&](index_t i, index_t l, T best, T second) {
                    acc.changed += r.labels(i) != l;
                    r.labels(i) = l;
                    const double xn = lloyd_bounds<T>::centred_norm2(x, i, kern);
                    bd.set(i, xn, bd.ulp_factor * (xn + nmax), best, second);
                  });
            }
            double* sums = acc.sums.data();  // K x D row-major, points in index order
            for (index_t i = b1; i < e1; ++i) {
              const index_t l = r.labels(i);
              const double wi = weight_at(w, i);
              double* row = sums + l * d;
              for (index_t j = 0; j < d; ++j) row[j] += wi * static_cast<double>(x(i, j));
              acc.weight(l) += wi;
            }
          }
        },
        [](lloyd_sums& t, const lloyd_sums& p) {
          t.sums += p.sums;
          t.weight += p.weight;
          t.changed += p.changed;
        },
        row_block_chunks(chunk));
    relocate_empty(x, w, c, r.labels, s, comm, &sh);
    matrix<double> c_new = c;
    for (index_t j = 0; j < k; ++j)
      if (s.weight(j) > 0) c_new.row(j) = s.sums.row(j) / s.weight(j);
    const double shift = (c_new - c).squaredNorm();
    c_prev = std::move(c);
    c = std::move(c_new);
    if (s.changed == 0) {
      strict = true;
      break;
    }
    if (shift <= tol_abs) {
      small_shift = true;
      break;
    }
  }
  r.n_iter = std::min(it + 1, max_iter);
  if (!strict) assign_labels<T>(x, c, r.labels);  // labels of the final centres
  r.inertia = kmeans_inertia<T>(x, w, c, r.labels, comm, sh.global);
  r.converged = strict || small_shift;
  r.centers = std::move(c);
  return r;
}

}  // namespace rnnabs::detail
