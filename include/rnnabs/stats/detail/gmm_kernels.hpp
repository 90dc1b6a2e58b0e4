#pragma once
// The per-tile kernels of the streaming EM. One pass over a tile computes the weighted
// log-probabilities of its points under every component, normalizes them into responsibilities
// (log-sum-exp per point), and accumulates the sufficient statistics of the next M-step around
// the current means (shifted sums: the variance never comes from a one-pass E[x²]−E[x]²).
// Loops run over points in fixed-width lane blocks so they vectorize without fast-math and the
// summation order is fixed (bit-identical results for any thread count).
#include <Eigen/Core>
#include <cmath>
#include <limits>

#include "rnnabs/stats/detail/gmm_tiles.hpp"

namespace rnnabs::detail {

inline constexpr index_t gmm_lanes = 8;
static_assert(gmm_tile % gmm_lanes == 0);

/// Component parameters in the form the kernels want.
struct gmm_kernel_model {
  index_t k = 0, d = 0;
  bool full = false;  // full/tied (triangular precision factor) vs diag/spherical
  bool tied = false;  // one factor shared by all components
  aligned_vector<double> mu;  // K×D means (also the shift of the accumulated statistics)
  aligned_vector<double> hp;  // diag: K×D, half precisions 0.5/σ²
  aligned_vector<double> pc;  // full: (tied ? 1 : K)×D×D upper-triangular U with Σ⁻¹ = U Uᵀ, [row d][col j]
  aligned_vector<double> c;   // K: log w_k + log|U_k| − D/2·log 2π

  const double* factor(index_t j) const noexcept { return pc.data() + (tied ? 0 : j) * d * d; }
};

/// Sufficient statistics of one chunk (or of all data, after merging in chunk order).
struct gmm_stats {
  index_t k = 0, d = 0;
  bool full = false;
  std::vector<double> nk;  // K: Σ r
  std::vector<double> s1;  // K×D: Σ r (x − μ)
  std::vector<double> s2;  // diag: K×D Σ r (x − μ)²;  full: K×D×D, lower triangle of Σ r (x − μ)(x − μ)ᵀ
  double loglik = 0;       // Σ w · log p(x)

  gmm_stats() = default;
  gmm_stats(index_t k_, index_t d_, bool full_)
      : k(k_), d(d_), full(full_), nk(k_, 0.0), s1(k_ * d_, 0.0), s2(full_ ? k_ * d_ * d_ : k_ * d_, 0.0) {}
  void merge(const gmm_stats& o) {
    for (std::size_t i = 0; i < nk.size(); ++i) nk[i] += o.nk[i];
    for (std::size_t i = 0; i < s1.size(); ++i) s1[i] += o.s1[i];
    for (std::size_t i = 0; i < s2.size(); ++i) s2[i] += o.s2[i];
    loglik += o.loglik;
  }
};

/// Scratch of one worker: K×tile log-probabilities / responsibilities and per-point temporaries.
struct gmm_scratch {
  aligned_vector<double> lp, diff, mx, lse;
  gmm_scratch(index_t k, index_t d)
      : lp(k * gmm_tile), diff(d * gmm_tile), mx(gmm_tile), lse(gmm_tile) {}
};

/// Weighted component log-densities of one tile: lp[j][p] = log w_j + log N(x_p | μ_j, Σ_j).
inline void tile_log_prob(const gmm_kernel_model& m, const double* x, gmm_scratch& s) {
  constexpr index_t T = gmm_tile, L = gmm_lanes;
  const index_t D = m.d;
  for (index_t j = 0; j < m.k; ++j) {
    const double* mu = m.mu.data() + j * D;
    double* out = s.lp.data() + j * T;
    if (!m.full) {
      const double* hp = m.hp.data() + j * D;
      for (index_t p0 = 0; p0 < T; p0 += L) {
        double acc[L] = {};
        for (index_t a = 0; a < D; ++a) {
          const double* xa = x + a * T + p0;
          const double ma = mu[a], ha = hp[a];
          for (index_t l = 0; l < L; ++l) {
            const double df = xa[l] - ma;
            acc[l] += (ha * df) * df;
          }
        }
        for (index_t l = 0; l < L; ++l) out[p0 + l] = m.c[j] - acc[l];
      }
    } else {
      const double* U = m.factor(j);
      double* df = s.diff.data();
      for (index_t a = 0; a < D; ++a)
        for (index_t p = 0; p < T; ++p) df[a * T + p] = x[a * T + p] - mu[a];
      for (index_t p0 = 0; p0 < T; p0 += L) {
        double acc[L] = {};
        for (index_t b = 0; b < D; ++b) {  // y_b = Σ_{a≤b} (x−μ)_a U_ab
          double y[L] = {};
          for (index_t a = 0; a <= b; ++a) {
            const double u = U[a * D + b];
            const double* da = df + a * T + p0;
            for (index_t l = 0; l < L; ++l) y[l] += da[l] * u;
          }
          for (index_t l = 0; l < L; ++l) acc[l] += y[l] * y[l];
        }
        for (index_t l = 0; l < L; ++l) out[p0 + l] = m.c[j] - 0.5 * acc[l];
      }
    }
  }
}

/// Turns lp into responsibilities times the sample weight, in place, and writes the per-point
/// log-likelihood log Σ_j exp(lp[j][p]) into s.lse. Returns Σ_p w_p · lse_p.
inline double tile_normalize(index_t K, const double* w, gmm_scratch& s) {
  constexpr index_t T = gmm_tile;
  double* lp = s.lp.data();
  double* mx = s.mx.data();
  for (index_t p = 0; p < T; ++p) mx[p] = lp[p];
  for (index_t j = 1; j < K; ++j)
    for (index_t p = 0; p < T; ++p) mx[p] = std::max(mx[p], lp[j * T + p]);
  for (index_t j = 0; j < K; ++j)
    for (index_t p = 0; p < T; ++p) lp[j * T + p] -= mx[p];
  Eigen::Map<Eigen::ArrayXd> e(lp, K * T);
  e = e.exp();
  double* sum = s.lse.data();
  for (index_t p = 0; p < T; ++p) sum[p] = lp[p];
  for (index_t j = 1; j < K; ++j)
    for (index_t p = 0; p < T; ++p) sum[p] += lp[j * T + p];
  alignas(64) double inv[T];
  for (index_t p = 0; p < T; ++p) inv[p] = w[p] / sum[p];
  for (index_t j = 0; j < K; ++j)
    for (index_t p = 0; p < T; ++p) lp[j * T + p] *= inv[p];
  Eigen::Map<Eigen::Array<double, T, 1>> l(sum);
  l = l.log();
  double ll[gmm_lanes] = {};
  for (index_t p0 = 0; p0 < T; p0 += gmm_lanes)
    for (index_t q = 0; q < gmm_lanes; ++q) {
      sum[p0 + q] += mx[p0 + q];
      ll[q] += w[p0 + q] * sum[p0 + q];
    }
  return lane_sum<gmm_lanes>(ll);
}

/// Adds one tile's responsibilities (in s.lp) to the statistics, shifted by the current means.
inline void tile_accumulate(const gmm_kernel_model& m, const double* x, gmm_scratch& s, gmm_stats& st) {
  constexpr index_t T = gmm_tile, L = gmm_lanes;
  const index_t D = m.d;
  double* dfp = s.diff.data();  // one component's centred tile
  for (index_t j = 0; j < m.k; ++j) {
    const double* r = s.lp.data() + j * T;
    const double* mu = m.mu.data() + j * D;
    double a0[L] = {};
    for (index_t p0 = 0; p0 < T; p0 += L)
      for (index_t l = 0; l < L; ++l) a0[l] += r[p0 + l];
    st.nk[j] += lane_sum<L>(a0);
    double* s1 = st.s1.data() + j * D;
    if (!m.full) {
      double* s2 = st.s2.data() + j * D;
      for (index_t a = 0; a < D; ++a) {
        const double* xa = x + a * T;
        const double ma = mu[a];
        double a1[L] = {}, a2[L] = {};
        for (index_t p0 = 0; p0 < T; p0 += L)
          for (index_t l = 0; l < L; ++l) {
            const double d0 = xa[p0 + l] - ma;
            const double rd = r[p0 + l] * d0;
            a1[l] += rd;
            a2[l] += rd * d0;
          }
        s1[a] += lane_sum<L>(a1);
        s2[a] += lane_sum<L>(a2);
      }
    } else {
      double* s2 = st.s2.data() + j * D * D;
      for (index_t a = 0; a < D; ++a) {
        const double* xa = x + a * T;
        const double ma = mu[a];
        double a1[L] = {};
        for (index_t p0 = 0; p0 < T; p0 += L)
          for (index_t l = 0; l < L; ++l) {
            const double d0 = xa[p0 + l] - ma;
            dfp[a * T + p0 + l] = d0;
            a1[l] += r[p0 + l] * d0;
          }
        s1[a] += lane_sum<L>(a1);
      }
      for (index_t a = 0; a < D; ++a) {
        const double* da = dfp + a * T;
        for (index_t b = 0; b <= a; ++b) {
          const double* db = dfp + b * T;
          double acc[L] = {};
          for (index_t p0 = 0; p0 < T; p0 += L)
            for (index_t l = 0; l < L; ++l) acc[l] += (r[p0 + l] * da[p0 + l]) * db[p0 + l];
          s2[a * D + b] += lane_sum<L>(acc);
        }
      }
    }
  }
}

/// One fused E+M pass over all points: statistics for the next M-step and Σ w log p(x).
inline gmm_stats em_pass(const packed_points& P, const gmm_kernel_model& m) {
  const gmm_stats zero(m.k, m.d, m.full);
  return chunked_reduce(
      P.n_tiles, gmm_chunk_tiles, zero,
      [&](index_t tb, index_t te, gmm_stats& st) {
        gmm_scratch s(m.k, m.d);
        for (index_t t = tb; t < te; ++t) {
          const double* x = P.tile(t);
          tile_log_prob(m, x, s);
          st.loglik += tile_normalize(m.k, P.weights(t), s);
          tile_accumulate(m, x, s, st);
        }
      },
      [](gmm_stats& total, const gmm_stats& part) { total.merge(part); });
}

/// E-step only, point by point: f(point, lse, responsibilities with stride gmm_tile) for each real point.
template <class F>
void e_pass(const packed_points& P, const gmm_kernel_model& m, F&& f) {
  parallel_for(P.n_chunks(), [&](index_t c) {
    gmm_scratch s(m.k, m.d);
    alignas(64) double ones[gmm_tile];
    for (double& o : ones) o = 1.0;
    const index_t tb = c * gmm_chunk_tiles, te = std::min(P.n_tiles, tb + gmm_chunk_tiles);
    for (index_t t = tb; t < te; ++t) {
      tile_log_prob(m, P.tile(t), s);
      tile_normalize(m.k, ones, s);
      for (index_t p = 0; p < gmm_tile; ++p) {
        const index_t i = packed_points::point(t, p);
        if (i >= P.n) break;
        f(i, s.lse[p], s.lp.data() + p);
      }
    }
  });
}

}  // namespace rnnabs::detail
