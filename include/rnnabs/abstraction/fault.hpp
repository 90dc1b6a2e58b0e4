#pragma once
// Fault interpretation (RNNRepair, Xie et al., ICML 2021, §A.3.2): for failed (or benign) test inputs, the K = 1..K_max
// nearest training traces under the masked trace distance, and how many of them carry the test's true
// label or the RNN's (wrong) prediction.
//
//   auto train_x = rnnabs::normalized_traces(train_abstract, n, C);
//   auto test_x  = rnnabs::normalized_traces(test_abstract, n, C, rnnabs::feature_set::all, train_x.steps);
//   auto rep = rnnabs::neighbour_statistics(test_x, rnnabs::failed_tests(test), test.truth, test.predictions,
//                                           train_x, train.truth, 100);
//
// Per K, with cnt_y(x) = #top-K neighbours of x whose training truth is y:
//   frac_any_*  fraction of targets with >= 1 such neighbour                         (metric 1)
//   share_*     mean over all targets of cnt(x) / K: the share of the neighbourhood   (metric 2, fixed:
//               RNNRepair divided the metric-1 fraction by K)
//   mean_cnt_*  mean count over the targets with >= 1 such neighbour (NaN if none)
//   mean_dist_* mean distance of those neighbours, averaged over the same targets   (metric 3)
// "truth" uses the test's true label y, "pred" the RNN's prediction ŷ. Ties in distance are broken by
// the training index, so the neighbour lists are deterministic.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "rnnabs/abstraction/features.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/nn/profile.hpp"

namespace rnnabs {

struct neighbour_row {
  index_t k = 0;
  double frac_any_truth = 0, share_truth = 0, mean_cnt_truth = 0, mean_dist_truth = 0;
  double frac_any_pred = 0, share_pred = 0, mean_cnt_pred = 0, mean_dist_pred = 0;
};

struct neighbour_report {
  std::vector<neighbour_row> rows;  ///< K = 1..max_k
  index_t n_targets = 0;
  /// Per target: the max_k nearest training indices, nearest first.
  std::vector<std::vector<index_t>> neighbours;
};

/// Indices of the test samples the RNN gets wrong (prediction != truth, truth known).
template <class T>
index_vector failed_tests(const traces<T>& tr) {
  std::vector<index_t> r;
  for (index_t i = 0; i < tr.size(); ++i)
    if (tr.truth(i) >= 0 && tr.predictions(i) != tr.truth(i)) r.push_back(i);
  return Eigen::Map<const index_vector>(r.data(), static_cast<index_t>(r.size()));
}

/// `count` correctly predicted test samples drawn without replacement with a seeded generator
/// (RNNRepair drew them unseeded), ascending; all of them when there are fewer.
template <class T>
index_vector benign_tests(const traces<T>& tr, index_t count, std::uint64_t seed) {
  std::vector<index_t> ok;
  for (index_t i = 0; i < tr.size(); ++i)
    if (tr.truth(i) >= 0 && tr.predictions(i) == tr.truth(i)) ok.push_back(i);
  rng g(seed);
  g.shuffle(std::span<index_t>(ok));
  ok.resize(std::min(ok.size(), static_cast<std::size_t>(std::max<index_t>(count, 0))));
  std::sort(ok.begin(), ok.end());
  return Eigen::Map<const index_vector>(ok.data(), static_cast<index_t>(ok.size()));
}

/// The neighbour statistics of `targets` (indices into `test`) among the `train` traces.
inline neighbour_report neighbour_statistics(const trace_matrix& test, const index_vector& targets,
                                             const index_vector& test_truth, const index_vector& test_pred,
                                             const trace_matrix& train, const index_vector& train_truth,
                                             index_t max_k = 100) {
  constexpr const char* who = "neighbour_statistics";
  require(train.size() > 0, who, ": no training traces");
  require(max_k >= 1, who, ": max_k must be >= 1, got ", max_k);
  require(train_truth.size() == train.size(), who, ": ", train_truth.size(), " training labels for ", train.size(),
          " traces");
  require(test_truth.size() == test.size() && test_pred.size() == test.size(), who,
          ": test labels/predictions do not match the ", test.size(), " test traces");
  for (index_t t = 0; t < targets.size(); ++t)
    require(targets(t) >= 0 && targets(t) < test.size(), who, ": target ", targets(t), " outside [0, ", test.size(),
            ")");
  const index_t kmax = std::min(max_k, train.size()), nt = targets.size();
  neighbour_report rep;
  rep.n_targets = nt;
  rep.neighbours.resize(static_cast<std::size_t>(nt));
  std::vector<std::vector<double>> dist(static_cast<std::size_t>(nt));
  // One target per work item; the distance loop inside runs on the calling thread.
  parallel_for(nt, [&](index_t t) {
    const index_t q = targets(t);
    const index_t n = train.size(), w = train.width;
    std::vector<double> d(static_cast<std::size_t>(n));
    for (index_t j = 0; j < n; ++j) {
      const index_t k = std::max(test.lengths(q), train.lengths(j)) * w;
      d[static_cast<std::size_t>(j)] =
          k == 0 ? 0.0 : (test.x.row(q).head(k) - train.x.row(j).head(k)).cwiseAbs().sum() / static_cast<double>(k);
    }
    std::vector<index_t> idx(static_cast<std::size_t>(n));
    std::iota(idx.begin(), idx.end(), index_t{0});
    std::partial_sort(idx.begin(), idx.begin() + kmax, idx.end(), [&](index_t a, index_t b) {
      const double da = d[static_cast<std::size_t>(a)], db = d[static_cast<std::size_t>(b)];
      return da < db || (da == db && a < b);
    });
    idx.resize(static_cast<std::size_t>(kmax));
    auto& dd = dist[static_cast<std::size_t>(t)];
    for (index_t j : idx) dd.push_back(d[static_cast<std::size_t>(j)]);
    rep.neighbours[static_cast<std::size_t>(t)] = std::move(idx);
  });
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (index_t k = 1; k <= max_k; ++k) {
    neighbour_row r;
    r.k = k;
    const index_t kk = std::min(k, kmax);
    double any_t = 0, any_p = 0, share_t = 0, share_p = 0, cnt_t = 0, cnt_p = 0, dist_t = 0, dist_p = 0;
    for (index_t t = 0; t < nt; ++t) {
      const auto& nb = rep.neighbours[static_cast<std::size_t>(t)];
      const auto& dd = dist[static_cast<std::size_t>(t)];
      const index_t y = test_truth(targets(t)), p = test_pred(targets(t));
      index_t ct = 0, cp = 0;
      double st = 0, sp = 0;
      for (index_t j = 0; j < kk; ++j) {
        const index_t lab = train_truth(nb[static_cast<std::size_t>(j)]);
        if (lab == y) ++ct, st += dd[static_cast<std::size_t>(j)];
        if (lab == p) ++cp, sp += dd[static_cast<std::size_t>(j)];
      }
      share_t += static_cast<double>(ct) / static_cast<double>(k);
      share_p += static_cast<double>(cp) / static_cast<double>(k);
      if (ct > 0) any_t += 1, cnt_t += static_cast<double>(ct), dist_t += st / static_cast<double>(ct);
      if (cp > 0) any_p += 1, cnt_p += static_cast<double>(cp), dist_p += sp / static_cast<double>(cp);
    }
    const double n = static_cast<double>(std::max<index_t>(nt, 1));
    r.frac_any_truth = any_t / n;
    r.frac_any_pred = any_p / n;
    r.share_truth = share_t / n;
    r.share_pred = share_p / n;
    r.mean_cnt_truth = any_t > 0 ? cnt_t / any_t : nan;
    r.mean_dist_truth = any_t > 0 ? dist_t / any_t : nan;
    r.mean_cnt_pred = any_p > 0 ? cnt_p / any_p : nan;
    r.mean_dist_pred = any_p > 0 ? dist_p / any_p : nan;
    rep.rows.push_back(r);
  }
  return rep;
}

}  // namespace rnnabs
