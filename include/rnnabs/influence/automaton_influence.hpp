#pragma once
// RNNRepair's model-based influence (Xie et al., ICML 2021, "Proposed"): a training sample influences a test
// input as much as it shares the test's abstract transitions. For a test trace with states S and
// per-step labels L (extended by the initial pseudo-step (0, 0), as the automaton), its token-free
// edges are (S[j], L[j]) → (S[j+1], L[j+1]) for j = 0 … T−1; the score of training sample i is
//   overlap(i) = |{edges of the test that i also traverses}| / |{edges of the test}|      ∈ [0, 1].
// Fixed against the released code: the last transition is used (it skipped j = T−1),
// each distinct edge counts once (it double-counted repeats), and the divisor is the test's own
// number of edges (it was a hard-coded 27). Both old behaviours stay available as options.
// The transition → training-sample postings of the automaton make this a sparse lookup per edge.
//
//   auto s = rnnabs::automaton_influence(a, test_states, test_labels);   // N x m overlaps
#include <algorithm>
#include <vector>

#include "rnnabs/abstraction/automaton.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

struct automaton_influence_options {
  bool include_last_transition = true;  ///< false: skip the step T−1 → T (the released off-by-one)
  bool distinct_edges = true;           ///< false: an edge the test repeats counts as often (released)
  double divisor = 0;                   ///< > 0: a fixed divisor instead of the test's edge count (released: 27)
  /// Rows for training samples [first_sample, first_sample + n_samples) only (n_samples < 0: to the
  /// last): with a training set sharded across ranks, each rank scores its own samples.
  index_t first_sample = 0, n_samples = -1;
};

/// N x m (N = a.n_samples(), removed samples score 0; or the rows of o's sample range): the overlap of
/// every training sample with each test trace (states 1..n_states-1 and labels per step; see the file
/// comment).
inline matrix<double> automaton_influence(const automaton& a, const std::vector<index_vector>& test_states,
                                          const std::vector<index_vector>& test_labels,
                                          automaton_influence_options o = {}) {
  constexpr const char* who = "automaton_influence";
  require(!test_states.empty(), who, ": no test traces");
  require(test_states.size() == test_labels.size(), who, ": ", test_states.size(), " state sequences but ",
          test_labels.size(), " label sequences");
  require(o.divisor >= 0, who, ": divisor must be >= 0, got ", o.divisor);
  const index_t n = a.n_samples(), m = static_cast<index_t>(test_states.size());
  const index_t first = o.first_sample, rows = o.n_samples < 0 ? n - first : o.n_samples;
  require(first >= 0 && rows >= 0 && first + rows <= n, who, ": samples [", first, ", ", first + rows,
          ") outside the automaton's ", n);
  matrix<double> out = matrix<double>::Zero(rows, m);
  parallel_for(
      m,
      [&](index_t k) {
        const auto& s = test_states[static_cast<std::size_t>(k)];
        const auto& l = test_labels[static_cast<std::size_t>(k)];
        require(s.size() == l.size() && s.size() > 0, who, ": test trace ", k, " has ", s.size(), " states and ",
                l.size(), " labels (need equal, non-zero lengths)");
        for (index_t t = 0; t < s.size(); ++t) {
          require(s(t) >= 1 && s(t) < a.n_states(), who, ": state ", s(t), " at step ", t, " of test trace ", k,
                  " is outside [1, ", a.n_states(), ")");
          require(l(t) >= 0 && l(t) < a.n_labels(), who, ": label ", l(t), " at step ", t, " of test trace ", k,
                  " is outside [0, ", a.n_labels(), ")");
        }
        std::vector<edge> edges;
        const index_t steps = o.include_last_transition ? s.size() : s.size() - 1;
        for (index_t j = 0; j < steps; ++j) edges.push_back({j == 0 ? 0 : s(j - 1), j == 0 ? 0 : l(j - 1), l(j), s(j)});
        if (o.distinct_edges) {
          std::sort(edges.begin(), edges.end());
          edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
        }
        if (edges.empty()) return;
        const double div = o.divisor > 0 ? o.divisor : static_cast<double>(edges.size());
        // Each training sample counts once per edge however often it takes that edge.
        std::vector<index_t> seen(static_cast<std::size_t>(rows), -1);
        auto col = out.col(k);
        for (std::size_t e = 0; e < edges.size(); ++e)
          for (const posting& p : a.postings(edges[e])) {
            const index_t i = p.sample - first;
            if (i < 0 || i >= rows) continue;
            auto& mark = seen[static_cast<std::size_t>(i)];
            if (mark == static_cast<index_t>(e)) continue;
            mark = static_cast<index_t>(e);
            col(i) += 1.0 / div;
          }
      },
      /*small=*/m == 1);
  return out;
}

}  // namespace rnnabs
