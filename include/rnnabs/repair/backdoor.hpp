#pragma once
// The backdoor study of RNNRepair (Xie et al., ICML 2021, §B.5), corrected: poison training texts of one class
// with a trigger token, find from the automaton the abstract contexts in which the trigger was
// learned, use them to place the trigger in test inputs (guided vs random positions), and fix the
// model by retraining without the training samples that taught the trigger in those contexts.
//
//   auto p = rnnabs::poison(train_tokens, train_labels, /*cls=*/0, /*count=*/100, trigger, seed);
//   ... train on p.tokens, profile, abstract, build the automaton ...
//   auto ctx = rnnabs::find_trigger_contexts(automaton, trigger);
//   auto where = rnnabs::place_trigger(ctx, test_view.path(i), seed);   // guided / random position, R_x
//   auto base = rnnabs::random_removal(where.influential, ctx.samples, automaton.n_samples(), seed);
//
// Corrections of RNNRepair's code: insertion points cover every position 0..T, so length-1 texts work
// (it drew from 1..len−1); the random removal set is drawn without replacement; callers evaluate the
// retrained model (it evaluated the backdoored one) on inputs kept in their order (it sorted them by
// length) — rnnabs never reorders a batch.
#include <algorithm>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "rnnabs/abstraction/automaton.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/repair/edits.hpp"
#include "rnnabs/repair/paths.hpp"

namespace rnnabs {

/// Poisoned training data: the sequences with the trigger inserted, which samples were poisoned and where.
struct poisoning {
  std::vector<index_vector> tokens;
  std::vector<index_t> poisoned;   ///< sample ids, ascending
  std::vector<index_t> positions;  ///< insertion point of each poisoned sample (0..T_i)
};

/// Inserts `trigger` into `count` sequences of class `cls`, drawn without replacement, each at a
/// uniform insertion point in [0, T_i] (RNNRepair drew [1, T_i − 1], which fails on length-1 texts).
/// Draws from rng(seed). invalid_argument when the class has fewer than `count` samples or the
/// trigger already occurs in the data (the attack needs a token of its own).
inline poisoning poison(const std::vector<index_vector>& tokens, const index_vector& labels, index_t cls, index_t count,
                        index_t trigger, std::uint64_t seed) {
  constexpr const char* who = "poison";
  require(!tokens.empty() && labels.size() == static_cast<index_t>(tokens.size()), who, ": ", tokens.size(),
          " sequences for ", labels.size(), " labels");
  require(count >= 1, who, ": count must be >= 1, got ", count);
  std::vector<index_t> pool;
  for (index_t i = 0; i < labels.size(); ++i) {
    require(tokens[static_cast<std::size_t>(i)].size() > 0, who, ": sequence ", i, " is empty");
    require(!(tokens[static_cast<std::size_t>(i)].array() == trigger).any(), who, ": the trigger token ", trigger,
            " already occurs in sequence ", i, "; choose a token that is not in the corpus");
    if (labels(i) == cls) pool.push_back(i);
  }
  require(static_cast<index_t>(pool.size()) >= count, who, ": class ", cls, " has ", pool.size(),
          " sequences, fewer than the ", count, " to poison");
  rng g(seed);
  poisoning p;
  p.poisoned = draw_without_replacement(g, std::move(pool), static_cast<std::size_t>(count));
  std::sort(p.poisoned.begin(), p.poisoned.end());
  std::vector<token_insertion> edits;
  for (const index_t i : p.poisoned) {
    const index_t len = tokens[static_cast<std::size_t>(i)].size();
    p.positions.push_back(static_cast<index_t>(g.below(static_cast<std::uint64_t>(len + 1))));
    edits.push_back({i, p.positions.back(), trigger});
  }
  p.tokens = apply_insertions(tokens, edits);
  return p;
}

/// Where the automaton's training transitions read the trigger: per node (state, label), the number
/// of such steps and the distinct training samples taking them.
struct trigger_contexts {
  index_t trigger = 0;
  std::map<abstract_node, index_t> weight;
  std::map<abstract_node, std::vector<index_t>> samples_at;
  std::vector<index_t> samples;  ///< every sample that reads the trigger somewhere (ascending)

  bool contains(abstract_node n) const { return weight.count(n) > 0; }
};

inline trigger_contexts find_trigger_contexts(const automaton& a, index_t trigger) {
  require(a.consumes_tokens(), "find_trigger_contexts: the automaton consumes no tokens");
  trigger_contexts c;
  c.trigger = trigger;
  for (const auto& [t, n] : a.token_contexts(trigger)) {
    const abstract_node node{t.from, t.label};
    c.weight[node] += n;
    auto& s = c.samples_at[node];
    const auto add = a.samples(t);
    s.insert(s.end(), add.begin(), add.end());
    c.samples.insert(c.samples.end(), add.begin(), add.end());
  }
  for (auto& [node, s] : c.samples_at) {
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
  }
  std::sort(c.samples.begin(), c.samples.end());
  c.samples.erase(std::unique(c.samples.begin(), c.samples.end()), c.samples.end());
  return c;
}

/// Where to put the trigger in one input, from its abstract path (T transitions, T + 1 insertion points).
struct trigger_placement {
  std::vector<index_t> in_context;   ///< insertion points whose node is a trigger context, ascending
  index_t guided = -1;               ///< the in-context point of largest weight (the first on ties)
  index_t random = -1;               ///< a uniform point among the others
  std::vector<index_t> influential;  ///< R_x: the samples that read the trigger in any of those contexts
  /// Both attacks can be made: some points are in context and some are not.
  bool usable() const noexcept { return guided >= 0 && random >= 0; }
};

/// The random point is drawn from rng(seed).
inline trigger_placement place_trigger(const trigger_contexts& ctx, std::span<const transition> path,
                                       std::uint64_t seed) {
  require(!path.empty(), "place_trigger: empty path");
  trigger_placement p;
  std::vector<index_t> others;
  index_t best = 0;
  std::vector<abstract_node> nodes;
  for (index_t j = 0; j <= static_cast<index_t>(path.size()); ++j) {
    const abstract_node n = node_before(path, j);
    const auto it = ctx.weight.find(n);
    if (it == ctx.weight.end()) {
      others.push_back(j);
      continue;
    }
    p.in_context.push_back(j);
    nodes.push_back(n);
    if (it->second > best) {
      best = it->second;
      p.guided = j;
    }
  }
  if (!others.empty() && !p.in_context.empty()) {
    rng g(seed);
    p.random = others[static_cast<std::size_t>(g.below(others.size()))];
  }
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  for (const auto& n : nodes) {
    const auto& s = ctx.samples_at.at(n);
    p.influential.insert(p.influential.end(), s.begin(), s.end());
  }
  std::sort(p.influential.begin(), p.influential.end());
  p.influential.erase(std::unique(p.influential.begin(), p.influential.end()), p.influential.end());
  return p;
}

/// The baseline removal set for a fix: |influential| distinct samples drawn without replacement from
/// `pool` minus `influential` (the other trigger readers, as in RNNRepair), topped up from the rest of
/// the n training samples when that pool is too small; fewer only when fewer than |influential|
/// samples lie outside it (check the size). Ascending; draws from rng(seed).
inline std::vector<index_t> random_removal(std::span<const index_t> influential, std::span<const index_t> pool,
                                           index_t n, std::uint64_t seed) {
  require(static_cast<index_t>(influential.size()) <= n, "random_removal: ", influential.size(),
          " samples to match among ", n);
  std::vector<char> taken(static_cast<std::size_t>(n), 0);
  for (const index_t i : influential) {
    require(i >= 0 && i < n, "random_removal: sample ", i, " outside [0, ", n, ")");
    taken[static_cast<std::size_t>(i)] = 1;
  }
  std::vector<index_t> first, rest;
  for (const index_t i : pool) {
    require(i >= 0 && i < n, "random_removal: pool sample ", i, " outside [0, ", n, ")");
    if (!taken[static_cast<std::size_t>(i)]) {
      first.push_back(i);
      taken[static_cast<std::size_t>(i)] = 2;
    }
  }
  rng g(seed);
  const std::size_t want = influential.size();
  std::vector<index_t> out = draw_without_replacement(g, std::move(first), want);
  if (out.size() < want) {
    for (index_t i = 0; i < n; ++i)
      if (!taken[static_cast<std::size_t>(i)]) rest.push_back(i);
    const auto more = draw_without_replacement(g, std::move(rest), want - out.size());
    out.insert(out.end(), more.begin(), more.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace rnnabs
