#pragma once
// Starting parameters for EM: from hard labels (k-means, k-means++, random points) or from random
// responsibilities — two passes each (means, then scatter about the means), never one-pass moments.
#include <algorithm>
#include <vector>

#include "rnnabs/core/rng.hpp"
#include "rnnabs/stats/detail/gmm_params.hpp"

namespace rnnabs::detail {

/// Sum in index order (a fixed order, so the value does not depend on how it was computed).
inline double ordered_sum(const vector<double>& v) noexcept {
  double s = 0;
  for (index_t i = 0; i < v.size(); ++i) s += v[i];
  return s;
}

/// Weighted per-feature mean and variance of packed data, computed on first use.
struct data_moments {
  bool ready = false;
  vector<double> mean, var;
  void compute(const packed_points& P) {
    if (ready) return;
    const index_t D = P.d;
    auto pass = [&](const vector<double>* centre) {
      return P.reduce_tiles(
          std::vector<double>(D, 0.0),
          [&](index_t tb, index_t te, std::vector<double>& acc) {
            for (index_t t = tb; t < te; ++t)
              for (index_t a = 0; a < D; ++a) {
                const double* xa = P.tile(t) + a * gmm_tile;
                const double* w = P.weights(t);
                const double c = centre ? (*centre)[a] : 0.0;
                double s = 0;
                for (index_t p = 0; p < gmm_tile; ++p) {
                  const double d0 = xa[p] - c;
                  s += w[p] * (centre ? d0 * d0 : d0);
                }
                acc[a] += s;
              }
          },
          [](std::vector<double>& t, const std::vector<double>& p) {
            for (std::size_t i = 0; i < t.size(); ++i) t[i] += p[i];
          });
    };
    const auto s1 = pass(nullptr);
    mean = Eigen::Map<const vector<double>>(s1.data(), D) / P.weight_sum;
    const auto s2 = pass(&mean);
    var = Eigen::Map<const vector<double>>(s2.data(), D) / P.weight_sum;
    ready = true;
  }
};

/// Statistics of hard labels (label[i] in [0, K)) summed around `shift`.
inline gmm_stats label_stats(const packed_points& P, const index_vector& label, const matrix<double>& shift,
                             bool full) {
  const index_t K = shift.rows(), D = P.d;
  return P.reduce_tiles(
      gmm_stats(K, D, full),
      [&](index_t tb, index_t te, gmm_stats& st) {
        std::vector<double> df(D);
        for (index_t t = tb; t < te; ++t)
          for (index_t p = 0; p < gmm_tile; ++p) {
            const index_t i = packed_points::point(t, p);
            if (i >= P.n) break;
            const index_t k = label[i];
            const double w = P.weights(t)[p];
            st.nk[k] += w;
            for (index_t a = 0; a < D; ++a) {
              df[a] = P.tile(t)[a * gmm_tile + p] - shift(k, a);
              st.s1[k * D + a] += w * df[a];
            }
            if (full) {
              for (index_t a = 0; a < D; ++a)
                for (index_t b = 0; b <= a; ++b) st.s2[(k * D + a) * D + b] += w * df[a] * df[b];
            } else {
              for (index_t a = 0; a < D; ++a) st.s2[k * D + a] += w * df[a] * df[a];
            }
          }
      },
      [](gmm_stats& t, const gmm_stats& p) { t.merge(p); });
}

/// Mixture parameters of a hard partition: means first, then the scatter about them.
inline gmm_parameters params_from_labels(const packed_points& P, const index_vector& label, index_t K,
                                         covariance_type c, double reg) {
  const bool full = c == covariance_type::full || c == covariance_type::tied;
  const matrix<double> zero = matrix<double>::Zero(K, P.d);
  const gmm_parameters first = m_step(label_stats(P, label, zero, full), zero, c, reg);
  return m_step(label_stats(P, label, first.means, full), first.means, c, reg);
}

/// sklearn's 'random' init: responsibilities uniform in [0,1), normalised per point, then two passes.
inline gmm_parameters params_from_random_responsibilities(const packed_points& P, index_t K, covariance_type c,
                                                          double reg, std::uint64_t seed) {
  const bool full = c == covariance_type::full || c == covariance_type::tied;
  auto stats = [&](const matrix<double>& shift) {
    return P.reduce_tiles(
        gmm_stats(K, P.d, full),
        [&](index_t tb, index_t te, gmm_stats& st) {
          gmm_scratch s(K, P.d);
          basic_gmm_partial<double> acc(st);
          for (index_t t = tb; t < te; ++t) {
            // Same draws in both passes and on any number of ranks: the stream of the global tile.
            rng g = rng::stream(seed, static_cast<std::uint64_t>(P.first_tile() + t));
            for (index_t p = 0; p < gmm_tile; ++p) {
              double sum = 0;
              for (index_t k = 0; k < K; ++k) sum += s.lp[k * gmm_tile + p] = g.uniform();
              for (index_t k = 0; k < K; ++k) s.lp[k * gmm_tile + p] *= P.weights(t)[p] / sum;
            }
            gmm_kernel_model m;
            m.k = K;
            m.d = P.d;
            m.full = full;
            m.mu.assign(shift.data(), shift.data() + shift.size());
            tile_accumulate(m, P.tile(t), s, acc);
          }
          acc.flush();
        },
        [](gmm_stats& t, const gmm_stats& p) { t.merge(p); });
  };
  const matrix<double> zero = matrix<double>::Zero(K, P.d);
  const gmm_parameters first = m_step(stats(zero), zero, c, reg);
  return m_step(stats(first.means), first.means, c, reg);
}

/// Index of the nearest centre (squared Euclidean; ties to the lower index) for every point.
inline index_vector nearest_centre(const packed_points& P, const matrix<double>& centres) {
  const index_t K = centres.rows(), D = P.d;
  gmm_kernel_model m;
  m.k = K;
  m.d = D;
  m.mu.assign(centres.data(), centres.data() + centres.size());
  m.hp.assign(static_cast<std::size_t>(K * D), 1.0);
  m.set_scales();
  m.c.assign(static_cast<std::size_t>(K), 0.0);
  index_vector label(P.n);
  parallel_for(P.n_chunks(), [&](index_t c) {
    gmm_scratch s(K, D);
    const index_t tb = c * gmm_chunk_tiles, te = std::min(P.n_tiles, tb + gmm_chunk_tiles);
    for (index_t t = tb; t < te; ++t) {
      tile_log_prob(m, P.tile(t), s);  // −‖x − c_k‖²
      for (index_t p = 0; p < gmm_tile; ++p) {
        const index_t i = packed_points::point(t, p);
        if (i >= P.n) break;
        index_t best = 0;
        for (index_t k = 1; k < K; ++k)
          if (s.lp[k * gmm_tile + p] > s.lp[best * gmm_tile + p]) best = k;
        label[i] = best;
      }
    }
  });
  return label;
}

/// Global row i of the packed data, on every rank (collective: its rank broadcasts it).
inline vector<double> packed_row(const packed_points& P, index_t i) {
  vector<double> x(P.d);
  const int owner = P.shard.owner(i);
  if (owner == P.comm.rank()) {
    const index_t l = i - P.shard.offset, t = l / gmm_tile, p = l % gmm_tile;
    for (index_t a = 0; a < P.d; ++a) x[a] = P.tile(t)[a * gmm_tile + p];
  }
  if (P.comm.size() > 1)
    P.comm.broadcast(std::as_writable_bytes(std::span<double>(x.data(), static_cast<std::size_t>(P.d))), owner);
  return x;
}

}  // namespace rnnabs::detail
