#pragma once
// The abstract view of a set of sequences that the repair algorithms read: per sequence its abstract
// states, per-step labels, tokens, truth and final prediction, and its path through the automaton.
//
// A path is the list of transitions of one sequence, extended with the initial pseudo-step (0, 0)
// as everywhere in rnnabs (RNNRepair's convention): transition j goes from (S[j], L[j]) to (S[j+1], L[j+1]) and
// consumes token j, so the node (S[j], L[j]) is where the model stands before reading token j.
//
//   auto train_view = rnnabs::labelled_paths::from(train_traces, abs.train_states());
//   auto reach = rnnabs::node_reach::from(automaton);   // (state, label) -> samples that get there
#include <algorithm>
#include <span>
#include <tuple>
#include <vector>

#include "rnnabs/abstraction/automaton.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/profile.hpp"

namespace rnnabs {

/// A node of the automaton: an abstract state with the label predicted there.
struct abstract_node {
  index_t state = 0, label = 0;
  friend bool operator==(const abstract_node&, const abstract_node&) = default;
  friend auto operator<=>(const abstract_node&, const abstract_node&) = default;
};

/// Transitions of one sequence (states 1..n and labels per step; tokens, or none for feature input).
inline std::vector<transition> abstract_path(const index_vector& states, const index_vector& labels,
                                             const index_vector& tokens) {
  require(states.size() == labels.size() && (tokens.size() == 0 || tokens.size() == states.size()),
          "abstract_path: ", states.size(), " states, ", labels.size(), " labels, ", tokens.size(), " tokens");
  std::vector<transition> p(static_cast<std::size_t>(states.size()));
  index_t s = 0, l = 0;
  for (index_t j = 0; j < states.size(); ++j) {
    p[static_cast<std::size_t>(j)] = {s, l, tokens.size() ? tokens(j) : 0, labels(j), states(j)};
    s = states(j);
    l = labels(j);
  }
  return p;
}

/// The node before token j (j = 0..T; j = T is after the last token) of a path.
inline abstract_node node_before(std::span<const transition> path, index_t j) {
  require(j >= 0 && j <= static_cast<index_t>(path.size()), "node_before: step ", j, " outside [0, ", path.size(), "]");
  if (j == static_cast<index_t>(path.size())) {
    if (path.empty()) return {0, 0};
    const auto& t = path.back();
    return {t.to, t.next_label};
  }
  const auto& t = path[static_cast<std::size_t>(j)];
  return {t.from, t.label};
}

/// Per-sequence abstract data of a set of token sequences.
struct labelled_paths {
  std::vector<index_vector> states;  ///< per sequence: T_i abstract states in 1..n
  std::vector<index_vector> labels;  ///< per sequence: T_i per-step predicted labels
  std::vector<index_vector> tokens;  ///< per sequence: T_i token ids (empty for feature input)
  index_vector truth;                ///< true class per sequence
  index_vector predictions;          ///< final predicted class per sequence

  index_t size() const noexcept { return static_cast<index_t>(states.size()); }
  std::vector<transition> path(index_t i) const {
    const auto k = static_cast<std::size_t>(i);
    return abstract_path(states.at(k), labels.at(k), tokens.empty() ? index_vector() : tokens.at(k));
  }

  /// From profiled traces (labels, tokens, truth, predictions) and their abstract states.
  template <class T>
  static labelled_paths from(const traces<T>& tr, std::vector<index_vector> states) {
    tr.validate("labelled_paths::from");
    require(static_cast<index_t>(states.size()) == tr.size(), "labelled_paths::from: ", states.size(),
            " state sequences for ", tr.size(), " traces");
    for (index_t i = 0; i < tr.size(); ++i)
      require(states[static_cast<std::size_t>(i)].size() == tr.length(i), "labelled_paths::from: sequence ", i, " has ",
              states[static_cast<std::size_t>(i)].size(), " states for ", tr.length(i), " steps");
    return {std::move(states), tr.step_labels, tr.tokens, tr.truth, tr.predictions};
  }
};

/// Which samples of an automaton reach each node, and the first step at which they do: the inverted
/// index (node -> samples) that RNNRepair rebuilt by scanning every transition per query.
class node_reach {
 public:
  /// One sample reaching a node: after consuming token `step` (so a token inserted at step + 1 is
  /// read from that node).
  struct entry {
    index_t sample = 0;
    index_t step = 0;
  };

  static node_reach from(const automaton& a) {
    node_reach r;
    r.m_ = a.n_states();
    r.c_ = a.n_labels();
    std::vector<std::tuple<index_t, index_t, index_t>> all;  // (node key, sample, step)
    all.reserve(static_cast<std::size_t>(a.total_count()));
    for (index_t i = 0; i < a.n_edges(); ++i) {
      const edge e = a.edge_at(i);
      const index_t key = e.to * r.c_ + e.next_label;
      for (const posting& p : a.edge_postings_at(i)) all.emplace_back(key, p.sample, p.step);
    }
    std::sort(all.begin(), all.end());
    r.off_.assign(static_cast<std::size_t>(r.m_ * r.c_) + 1, 0);
    for (std::size_t k = 0; k < all.size(); ++k) {
      const auto& [key, s, step] = all[k];
      if (k > 0 && std::get<0>(all[k - 1]) == key && std::get<1>(all[k - 1]) == s) continue;  // first step only
      r.entries_.push_back({s, step});
      ++r.off_[static_cast<std::size_t>(key) + 1];
    }
    for (std::size_t k = 1; k < r.off_.size(); ++k) r.off_[k] += r.off_[k - 1];
    for (index_t s = 0; s < a.n_samples(); ++s)
      if (a.is_live(s)) r.live_.push_back({s, -1});
    return r;
  }

  /// Samples reaching `n`, ascending. The initial node (0, 0) is reached by every live sample before
  /// its first token (step −1).
  std::span<const entry> samples(abstract_node n) const {
    require(n.state >= 0 && n.state < m_ && n.label >= 0 && n.label < c_, "node_reach::samples: node (", n.state, ", ",
            n.label, ") outside the automaton's ", m_, " states x ", c_, " labels");
    if (n.state == 0) return n.label == 0 ? std::span<const entry>(live_) : std::span<const entry>();
    const auto k = static_cast<std::size_t>(n.state * c_ + n.label);
    return {entries_.data() + off_[k], static_cast<std::size_t>(off_[k + 1] - off_[k])};
  }

 private:
  index_t m_ = 0, c_ = 0;
  std::vector<index_t> off_;
  std::vector<entry> entries_, live_;
};

}  // namespace rnnabs
