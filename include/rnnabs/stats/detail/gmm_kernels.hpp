#pragma once
// The per-tile kernels of the streaming EM. One pass over a tile computes the weighted
// log-probabilities of its points under every component, normalizes them into responsibilities
// (log-sum-exp per point), and accumulates the sufficient statistics of the next M-step around
// the current means (shifted sums: the variance never comes from a one-pass E[x²]−E[x]²).
// Loops run over points in fixed-width lane blocks so they vectorize without fast-math and the
// summation order is fixed (bit-identical results for any thread count).
#include <Eigen/Core>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "rnnabs/stats/detail/gmm_tiles.hpp"

namespace rnnabs::detail {

/// Points processed together by the kernels: several SIMD packets, so each statement has
/// independent dependency chains. Eigen's fixed-size arrays give vector code on any ISA.
inline constexpr index_t gmm_block = 32;
static_assert(gmm_tile % gmm_block == 0);
using gmm_lane_block = Eigen::Array<double, gmm_block, 1>;
using gmm_tile_array = Eigen::Array<double, gmm_tile, 1>;
using gmm_block_map = Eigen::Map<const gmm_lane_block>;
using gmm_tile_map = Eigen::Map<gmm_tile_array>;
using gmm_tile_cmap = Eigen::Map<const gmm_tile_array>;

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
  aligned_vector<double> lp, diff, wdiff, mx, lse;
  gmm_scratch(index_t k, index_t d)
      : lp(k * gmm_tile), diff(d * gmm_tile), wdiff(d * gmm_tile), mx(gmm_tile), lse(gmm_tile) {}
};

/// Weighted component log-densities of one tile: lp[j][p] = log w_j + log N(x_p | μ_j, Σ_j).
inline void tile_log_prob(const gmm_kernel_model& m, const double* x, gmm_scratch& s) {
  constexpr index_t T = gmm_tile, B = gmm_block;
  const index_t D = m.d;
  for (index_t j = 0; j < m.k; ++j) {
    const double* mu = m.mu.data() + j * D;
    double* out = s.lp.data() + j * T;
    if (!m.full) {
      const double* hp = m.hp.data() + j * D;
      for (index_t p0 = 0; p0 < T; p0 += B) {
        gmm_lane_block acc = gmm_lane_block::Zero();
        for (index_t a = 0; a < D; ++a) acc += hp[a] * (gmm_block_map(x + a * T + p0) - mu[a]).square();
        Eigen::Map<gmm_lane_block>(out + p0) = m.c[j] - acc;
      }
    } else {
      const double* U = m.factor(j);
      double* df = s.diff.data();
      for (index_t a = 0; a < D; ++a) gmm_tile_map(df + a * T) = gmm_tile_cmap(x + a * T) - mu[a];
      for (index_t p0 = 0; p0 < T; p0 += B) {
        gmm_lane_block acc = gmm_lane_block::Zero();
        for (index_t b = 0; b < D; ++b) {  // y_b = Σ_{a≤b} (x−μ)_a U_ab
          gmm_lane_block y = gmm_block_map(df + p0) * U[b];
          for (index_t a = 1; a <= b; ++a) y += gmm_block_map(df + a * T + p0) * U[a * D + b];
          acc += y.square();
        }
        Eigen::Map<gmm_lane_block>(out + p0) = m.c[j] - 0.5 * acc;
      }
    }
  }
}

/// exp(v[i]) in place for v[i] <= 0 (log-sum-exp arguments): 2^k·e^r with |r| <= ln2/2 and a
/// degree-13 Taylor polynomial — within 1 ulp of std::exp (tested), no division, so it vectorizes to
/// about half the cost of Eigen's rational approximation. Arguments below -708.3 give 0.
inline void exp_nonpositive(double* v, index_t n) noexcept {
  constexpr double log2e = 1.4426950408889634074, ln2_hi = 0.693145751953125, ln2_lo = 1.42860682030941723212e-6;
  constexpr double shifter = 0x1.8p52;  // adding it rounds to an integer held in the low mantissa bits
  for (index_t i = 0; i < n; ++i) {
    const double x = v[i] < -708.3 ? -708.3 : v[i];
    const double t = x * log2e + shifter;
    const double k = t - shifter;
    const std::int64_t ki = std::bit_cast<std::int64_t>(t) - std::bit_cast<std::int64_t>(shifter);
    const double r = (x - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    const double scale = std::bit_cast<double>(static_cast<std::uint64_t>(ki + 1023) << 52);
    v[i] = v[i] < -708.3 ? 0.0 : p * scale;
  }
}

/// Turns lp into responsibilities times the sample weight, in place, and writes the per-point
/// log-likelihood log Σ_j exp(lp[j][p]) into s.lse. Returns Σ_p w_p · lse_p.
inline double tile_normalize(index_t K, const double* w, gmm_scratch& s) {
  constexpr index_t T = gmm_tile;
  double* lp = s.lp.data();
  gmm_tile_map mx(s.mx.data()), sum(s.lse.data());
  mx = gmm_tile_map(lp);
  for (index_t j = 1; j < K; ++j) mx = mx.max(gmm_tile_map(lp + j * T));
  sum.setZero();
  for (index_t j = 0; j < K; ++j) {
    gmm_tile_map e(lp + j * T);
    e -= mx;
    exp_nonpositive(lp + j * T, T);
    sum += e;
  }
  const gmm_tile_array inv = gmm_tile_cmap(w) / sum;
  for (index_t j = 0; j < K; ++j) gmm_tile_map(lp + j * T) *= inv;
  sum = mx + sum.log();
  return (gmm_tile_cmap(w) * sum).sum();
}

/// Adds one tile's responsibilities (in s.lp) to the statistics, shifted by the current means.
inline void tile_accumulate(const gmm_kernel_model& m, const double* x, gmm_scratch& s, gmm_stats& st) {
  constexpr index_t T = gmm_tile;
  const index_t D = m.d;
  for (index_t j = 0; j < m.k; ++j) {
    const gmm_tile_cmap r(s.lp.data() + j * T);
    const double* mu = m.mu.data() + j * D;
    st.nk[j] += r.sum();
    double* s1 = st.s1.data() + j * D;
    if (!m.full) {
      double* s2 = st.s2.data() + j * D;
      for (index_t a = 0; a < D; ++a) {
        const gmm_tile_array d0 = gmm_tile_cmap(x + a * T) - mu[a];
        const gmm_tile_array rd = r * d0;
        s1[a] += rd.sum();
        s2[a] += (rd * d0).sum();
      }
    } else {
      double* s2 = st.s2.data() + j * D * D;
      double* df = s.diff.data();
      double* wd = s.wdiff.data();
      for (index_t a = 0; a < D; ++a) {
        gmm_tile_map d0(df + a * T), rd(wd + a * T);
        d0 = gmm_tile_cmap(x + a * T) - mu[a];
        rd = r * d0;
        s1[a] += rd.sum();
      }
      for (index_t a = 0; a < D; ++a) {
        const gmm_tile_cmap rd(wd + a * T);
        for (index_t b = 0; b <= a; ++b) s2[a * D + b] += (rd * gmm_tile_cmap(df + b * T)).sum();
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
