#pragma once
// Judging influence scores: rankings, recall of flagged samples (e.g. flipped labels) among the top
// fraction of a ranking, and Pearson / Spearman correlation against leave-one-out retraining.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// Sample ids ordered by score, ascending (most harmful first under the removal-effect convention)
/// or descending; ties keep the lower id first, so rankings are reproducible.
inline std::vector<index_t> ranking(const vector<double>& scores, bool ascending = true) {
  require(scores.allFinite(), "ranking: the scores have a non-finite value");
  std::vector<index_t> order(static_cast<std::size_t>(scores.size()));
  std::iota(order.begin(), order.end(), index_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](index_t a, index_t b) { return ascending ? scores(a) < scores(b) : scores(a) > scores(b); });
  return order;
}

/// For each fraction f: |top-⌊f·N⌋ of `order` ∩ flagged| / |flagged| (N = order.size()).
inline std::vector<double> recall_at_fractions(const std::vector<index_t>& order, const std::vector<index_t>& flagged,
                                               const std::vector<double>& fractions) {
  require(!flagged.empty(), "recall_at_fractions: no flagged samples");
  const auto n = static_cast<index_t>(order.size());
  std::vector<char> is_flagged(order.size(), 0);
  for (index_t i : flagged) {
    require(i >= 0 && i < n, "recall_at_fractions: flagged id ", i, " is outside [0, ", n, ")");
    is_flagged[static_cast<std::size_t>(i)] = 1;
  }
  const auto total = static_cast<double>(std::count(is_flagged.begin(), is_flagged.end(), char{1}));
  std::vector<double> out;
  for (double f : fractions) {
    require(f >= 0 && f <= 1, "recall_at_fractions: fraction ", f, " is outside [0, 1]");
    const auto top = static_cast<index_t>(std::floor(f * static_cast<double>(n) + 1e-9));
    index_t hits = 0;
    for (index_t k = 0; k < top; ++k) hits += is_flagged[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])];
    out.push_back(static_cast<double>(hits) / total);
  }
  return out;
}

/// The ids among the first ⌊f·N⌋ of `order` that are also in `candidates` (e.g. flips to restore).
inline std::vector<index_t> top_fraction_in(const std::vector<index_t>& order, const std::vector<index_t>& candidates,
                                            double f) {
  require(f >= 0 && f <= 1, "top_fraction_in: fraction ", f, " is outside [0, 1]");
  const auto n = static_cast<index_t>(order.size());
  std::vector<char> in(order.size(), 0);
  for (index_t i : candidates) {
    require(i >= 0 && i < n, "top_fraction_in: candidate id ", i, " is outside [0, ", n, ")");
    in[static_cast<std::size_t>(i)] = 1;
  }
  const auto top = static_cast<index_t>(std::floor(f * static_cast<double>(n) + 1e-9));
  std::vector<index_t> r;
  for (index_t k = 0; k < top; ++k) {
    const index_t i = order[static_cast<std::size_t>(k)];
    if (in[static_cast<std::size_t>(i)]) r.push_back(i);
  }
  std::sort(r.begin(), r.end());
  return r;
}

/// Pearson correlation; NaN when either side is constant.
inline double pearson(const vector<double>& a, const vector<double>& b) {
  require(a.size() == b.size() && a.size() >= 2, "pearson: need two vectors of equal length >= 2, got ", a.size(),
          " and ", b.size());
  const vector<double> x = a.array() - a.mean(), y = b.array() - b.mean();
  const double den = x.norm() * y.norm();
  return den > 0 ? x.dot(y) / den : std::nan("");
}

/// Ranks 1..n with ties given their average rank.
inline vector<double> average_ranks(const vector<double>& a) {
  const std::vector<index_t> o = ranking(a, true);
  vector<double> r(a.size());
  for (std::size_t i = 0; i < o.size();) {
    std::size_t j = i;
    while (j + 1 < o.size() && a(o[j + 1]) == a(o[i])) ++j;
    const double avg = 0.5 * static_cast<double>(i + j) + 1.0;
    for (std::size_t k = i; k <= j; ++k) r(o[k]) = avg;
    i = j + 1;
  }
  return r;
}

/// Spearman rank correlation (Pearson of average ranks).
inline double spearman(const vector<double>& a, const vector<double>& b) {
  require(a.size() == b.size() && a.size() >= 2, "spearman: need two vectors of equal length >= 2, got ", a.size(),
          " and ", b.size());
  return pearson(average_ranks(a), average_ranks(b));
}

}  // namespace rnnabs
