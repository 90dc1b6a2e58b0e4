#pragma once
// Random traces for the abstraction tests.
#include <vector>

#include <rnnabs/core/rng.hpp>
#include <rnnabs/nn/profile.hpp>

namespace abstraction_test {

using rnnabs::index_t;
using rnnabs::index_vector;

/// n sequences of lengths in [1, max_len] (or exactly max_len when fixed), hidden width w, C classes;
/// hidden states drawn around `clusters` centres so a mixture finds them; labels follow the cluster.
inline rnnabs::traces<float> random_traces(index_t n, index_t max_len, index_t w, index_t C, index_t clusters,
                                           std::uint64_t seed, bool fixed_len = false, index_t vocab = 0) {
  rnnabs::rng g(seed);
  rnnabs::matrix<double> centres(clusters, w);
  for (index_t i = 0; i < centres.size(); ++i) centres.data()[i] = 6.0 * g.normal();
  rnnabs::traces<float> tr;
  for (index_t i = 0; i < n; ++i) {
    const index_t len = fixed_len ? max_len : 1 + static_cast<index_t>(g.below(static_cast<std::uint64_t>(max_len)));
    rnnabs::matrix<float> h(len, w), p(len, C);
    index_vector lab(len), tok(len);
    for (index_t t = 0; t < len; ++t) {
      const auto c = static_cast<index_t>(g.below(static_cast<std::uint64_t>(clusters)));
      for (index_t j = 0; j < w; ++j) h(t, j) = static_cast<float>(centres(c, j) + 0.3 * g.normal());
      lab(t) = g.uniform() < 0.8 ? c % C : static_cast<index_t>(g.below(static_cast<std::uint64_t>(C)));
      p.row(t).setConstant(0.1f / static_cast<float>(C));
      p(t, lab(t)) += 0.9f;
      if (vocab > 0) tok(t) = static_cast<index_t>(g.below(static_cast<std::uint64_t>(vocab)));
    }
    tr.hidden.push_back(h);
    tr.step_probabilities.push_back(p);
    tr.step_labels.push_back(lab);
    if (vocab > 0) tr.tokens.push_back(tok);
  }
  tr.predictions.resize(n);
  tr.truth.resize(n);
  for (index_t i = 0; i < n; ++i) {
    tr.predictions(i) = tr.step_labels[static_cast<std::size_t>(i)](tr.length(i) - 1);
    tr.truth(i) = g.uniform() < 0.9 ? tr.predictions(i) : static_cast<index_t>(g.below(static_cast<std::uint64_t>(C)));
  }
  return tr;
}

/// Random state / label / token sequences for the automaton (states 1..m-1).
struct random_paths {
  std::vector<index_vector> states, labels, tokens;
};
inline random_paths make_paths(index_t n, index_t max_len, index_t m, index_t C, index_t V, std::uint64_t seed) {
  rnnabs::rng g(seed);
  random_paths r;
  for (index_t i = 0; i < n; ++i) {
    const index_t len = 1 + static_cast<index_t>(g.below(static_cast<std::uint64_t>(max_len)));
    index_vector s(len), l(len), w(len);
    for (index_t t = 0; t < len; ++t) {
      s(t) = 1 + static_cast<index_t>(g.below(static_cast<std::uint64_t>(m - 1)));
      l(t) = static_cast<index_t>(g.below(static_cast<std::uint64_t>(C)));
      w(t) = static_cast<index_t>(g.below(static_cast<std::uint64_t>(V)));
    }
    r.states.push_back(s);
    r.labels.push_back(l);
    if (V > 1) r.tokens.push_back(w);
  }
  return r;
}

}  // namespace abstraction_test
