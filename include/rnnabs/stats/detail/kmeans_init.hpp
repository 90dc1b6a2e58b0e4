#pragma once
// Greedy k-means++ seeding (sklearn's scheme: 2 + floor(ln K) candidates per centre, keep the one that
// lowers the potential most). Distances are exact squared norms in double; the potential and the
// cumulative sums are formed in a fixed order, so the choice is the same for any thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/stats/detail/kmeans_lloyd.hpp"

namespace rnnabs::detail {

/// First index i with cum[i] >= v (numpy searchsorted, side='left'), clipped to the last index.
inline index_t search_cumulative(const std::vector<double>& cum, double v) {
  const auto it = std::lower_bound(cum.begin(), cum.end(), v);
  return std::min<index_t>(it - cum.begin(), static_cast<index_t>(cum.size()) - 1);
}

template <class T>
index_vector kmeans_plusplus(const matrix_cref<T>& x, index_t k, rng& gen, const vector<double>& w) {
  const index_t n = x.rows(), d = x.cols(), chunk = kmeans_chunk_rows(n);
  const index_t trials = 2 + static_cast<index_t>(std::log(static_cast<double>(k)));
  index_vector chosen(k);
  std::vector<double> closest(static_cast<std::size_t>(n)), cum(static_cast<std::size_t>(n));

  auto prefix = [&](auto&& value) {  // cum[i] = Σ_{j<=i} value(j), sequential: fixed order
    double s = 0;
    for (index_t i = 0; i < n; ++i) cum[static_cast<std::size_t>(i)] = s += value(i);
    return s;
  };
  // First centre: a row drawn with probability proportional to its weight.
  if (w.size() == 0) {
    chosen(0) = static_cast<index_t>(gen.below(static_cast<std::uint64_t>(n)));
  } else {
    const double total = prefix([&](index_t i) { return w(i); });
    chosen(0) = search_cumulative(cum, gen.uniform() * total);
  }
  auto row = [&](index_t i) { return vector<double>(x.row(i).transpose().template cast<double>()); };
  auto sqdist = [&](index_t i, const vector<double>& y) {
    double s = 0;
    for (index_t j = 0; j < d; ++j) {
      const double t = static_cast<double>(x(i, j)) - y(j);
      s += t * t;
    }
    return s;
  };
  {
    const vector<double> y = row(chosen(0));
    parallel_for(chunk_count(n, chunk), [&](index_t ci) {
      for (index_t i = ci * chunk; i < std::min(n, (ci + 1) * chunk); ++i)
        closest[static_cast<std::size_t>(i)] = sqdist(i, y);
    });
  }

  std::vector<index_t> cand(static_cast<std::size_t>(trials));
  std::vector<vector<double>> cand_x(static_cast<std::size_t>(trials));
  for (index_t c = 1; c < k; ++c) {
    const double pot = prefix([&](index_t i) { return weight_at(w, i) * closest[static_cast<std::size_t>(i)]; });
    for (index_t t = 0; t < trials; ++t) {
      cand[static_cast<std::size_t>(t)] = search_cumulative(cum, gen.uniform() * pot);
      cand_x[static_cast<std::size_t>(t)] = row(cand[static_cast<std::size_t>(t)]);
    }
    // Potential after adding each candidate, all candidates in one sweep over X.
    const vector<double> cand_pot = chunked_reduce(
        n, chunk, vector<double>(vector<double>::Zero(trials)),
        [&](index_t b, index_t e, vector<double>& acc) {
          for (index_t i = b; i < e; ++i) {
            const double wi = weight_at(w, i), ci = closest[static_cast<std::size_t>(i)];
            for (index_t t = 0; t < trials; ++t)
              acc(t) += wi * std::min(ci, sqdist(i, cand_x[static_cast<std::size_t>(t)]));
          }
        },
        [](vector<double>& tot, const vector<double>& p) { tot += p; });
    index_t best = 0;
    cand_pot.minCoeff(&best);  // first minimum
    chosen(c) = cand[static_cast<std::size_t>(best)];
    const vector<double>& y = cand_x[static_cast<std::size_t>(best)];
    parallel_for(chunk_count(n, chunk), [&](index_t ci) {
      for (index_t i = ci * chunk; i < std::min(n, (ci + 1) * chunk); ++i) {
        double& cl = closest[static_cast<std::size_t>(i)];
        cl = std::min(cl, sqdist(i, y));
      }
    });
  }
  return chosen;
}

}  // namespace rnnabs::detail
