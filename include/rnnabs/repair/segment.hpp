#pragma once
// Segment-level repair (RNNRepair, Xie et al., ICML 2021, §4.4), corrected. For a test input the model gets
// wrong, with true label y:
//   1. fault point  the last step j whose token flips the running prediction from y (or from the
//                   start) to a wrong label: L[j+1] != y and (j = 0 or L[j] = y) (fault_point)
//   2. candidates   training samples of class y that reach the node (S[j], L[j]) the model stood in
//                   before the faulty token (node_reach; the initial node for j = 0)
//   3. matching     per candidate, the longest suffix of the test's transitions 0..j-1 that occurs in
//                   the candidate's path as a sequence of (state, label, token, label, state) tuples
//                   (longest_suffix_match: KMP over the reversed paths, O(j + T_c)); never a
//                   substring search on joined strings, where "3-1-…" matched inside "13-1-…" (RNNRepair)
//   4. insertion    the faulty token goes right after the matched segment (leftmost occurrence of
//                   the longest match), where the candidate stands in the same abstract node; with no
//                   match it goes right after the candidate's first arrival in (S[j], L[j]) (the
//                   reason it is a candidate), never "before the last token" (RNNRepair)
//   5. selection    guided: the top_n candidates by match length (ties: lower sample id); random:
//                   top_n drawn without replacement from rng::stream(seed, target) (all of them when
//                   fewer than top_n), each with its own insertion point
// Targets whose faulty token is <unk> are skipped (inserting <unk> teaches nothing) and reported;
// <unk> elsewhere in a target is kept and matched like any token.
//
//   auto plan = rnnabs::plan_segment_repair(train_view, automaton, test_view, targets,
//                                           {.top_n = 15, .strategy = rnnabs::selection::guided});
//   auto edited = rnnabs::apply_insertions(train_view.tokens, plan.insertions());
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "rnnabs/abstraction/automaton.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/repair/edits.hpp"
#include "rnnabs/repair/paths.hpp"

namespace rnnabs {

/// The fault point of a sequence with per-step labels ℓ_1..ℓ_T and true label y (see this header's
/// comment); nullopt when the last label is y (the model is right at the end).
inline std::optional<index_t> fault_point(const index_vector& step_labels, index_t truth) {
  const index_t T = step_labels.size();
  require(T > 0, "fault_point: no step label");
  if (step_labels(T - 1) == truth) return std::nullopt;
  for (index_t j = T - 1; j >= 0; --j)
    if (step_labels(j) != truth && (j == 0 || step_labels(j - 1) == truth)) return j;
  return std::nullopt;  // unreachable: j = 0 qualifies once every later label is wrong
}

/// The longest suffix of `prefix` found contiguously in `candidate`: candidate[end − length, end)
/// equals prefix's last `length` transitions; among occurrences of that length the leftmost. length 0
/// (end −1) when not even the last transition occurs.
struct segment_match {
  index_t length = 0;
  index_t end = -1;
};

inline segment_match longest_suffix_match(std::span<const transition> prefix, std::span<const transition> candidate) {
  const auto p = static_cast<index_t>(prefix.size()), c = static_cast<index_t>(candidate.size());
  if (p == 0 || c == 0) return {};
  // Reversed pattern P'[k] = prefix[p-1-k]; a suffix of prefix is a prefix of P'. KMP failure function.
  const auto pat = [&](index_t k) -> const transition& { return prefix[static_cast<std::size_t>(p - 1 - k)]; };
  std::vector<index_t> fail(static_cast<std::size_t>(p), 0);
  for (index_t k = 1, q = 0; k < p; ++k) {
    while (q > 0 && !(pat(k) == pat(q))) q = fail[static_cast<std::size_t>(q - 1)];
    if (pat(k) == pat(q)) ++q;
    fail[static_cast<std::size_t>(k)] = q;
  }
  // Scan the reversed candidate; q = longest prefix of P' ending at reversed position i. A later i
  // is an earlier start in the candidate, so the last i that attains the maximum is the leftmost.
  index_t best = 0, best_i = -1;
  for (index_t i = 0, q = 0; i < c; ++i) {
    const transition& x = candidate[static_cast<std::size_t>(c - 1 - i)];
    while (q > 0 && !(x == pat(q))) q = fail[static_cast<std::size_t>(q - 1)];
    if (x == pat(q)) ++q;
    if (q > 0 && q >= best) {
      best = q;
      best_i = i;
    }
    if (q == p) q = fail[static_cast<std::size_t>(q - 1)];
  }
  if (best == 0) return {};
  const index_t start = c - 1 - best_i;
  return {best, start + best};
}

enum class selection { guided, random };
constexpr std::string_view to_string(selection s) { return s == selection::guided ? "guided" : "random"; }

/// Why a target got no edit.
enum class skip_reason { none, not_a_failure, oov_fault_token, no_candidates };
constexpr std::string_view to_string(skip_reason r) {
  switch (r) {
    case skip_reason::none: return "planned";
    case skip_reason::not_a_failure: return "not a failure (the last label is the truth)";
    case skip_reason::oov_fault_token: return "the faulty token is out of vocabulary (<unk>)";
    case skip_reason::no_candidates: return "no training sample of the true class reaches the pre-fault node";
  }
  return "?";
}

/// One chosen edit: insert the target's faulty token into training sample `sample` at `position`.
struct segment_edit {
  index_t sample = 0;
  index_t position = 0;
  index_t match_length = 0;  ///< transitions matched before the insertion point (0: the no-match rule)
};

struct target_plan {
  index_t target = 0;  ///< test sequence id
  skip_reason skipped = skip_reason::none;
  index_t fault_step = -1;    ///< j
  index_t fault_token = -1;   ///< token j
  abstract_node pre_fault{};  ///< (S[j], L[j])
  index_t candidates = 0;     ///< training samples of the true class reaching pre_fault
  index_t oov_tokens = 0;     ///< <unk> tokens in the target (kept)
  std::vector<segment_edit> edits;
};

struct segment_repair_options {
  index_t top_n = 5;
  selection strategy = selection::guided;
  std::uint64_t seed = 0;  ///< random selection: target t draws from rng::stream(seed, t)
  index_t unk_token = 1;   ///< id of <unk> (data::vocabulary::unk); < 0: no OOV rule
};

struct segment_repair_plan {
  std::vector<target_plan> targets;

  /// Every edit as an insertion of the target's faulty token (positions on the original samples).
  std::vector<token_insertion> insertions() const {
    std::vector<token_insertion> r;
    for (const auto& t : targets)
      for (const auto& e : t.edits) r.push_back({e.sample, e.position, t.fault_token});
    return r;
  }
  index_t planned() const { return count(skip_reason::none); }
  index_t count(skip_reason why) const {
    return static_cast<index_t>(
        std::count_if(targets.begin(), targets.end(), [&](const auto& t) { return t.skipped == why; }));
  }
  /// Targets that got fewer than top_n edits because they had fewer candidates.
  index_t short_of(index_t top_n) const {
    return static_cast<index_t>(std::count_if(targets.begin(), targets.end(), [&](const auto& t) {
      return t.skipped == skip_reason::none && static_cast<index_t>(t.edits.size()) < top_n;
    }));
  }
  /// Distinct training samples edited.
  index_t edited_samples() const {
    std::vector<index_t> s;
    for (const auto& t : targets)
      for (const auto& e : t.edits) s.push_back(e.sample);
    std::sort(s.begin(), s.end());
    return static_cast<index_t>(std::unique(s.begin(), s.end()) - s.begin());
  }
};

/// Where a token goes into candidate `path` to be read from `node`: after the matched segment, or by
/// the no-match rule after the first arrival in `node` (`first_step`, −1 for the initial node).
inline segment_edit place_in_candidate(std::span<const transition> prefix, std::span<const transition> path,
                                       index_t sample, index_t first_step) {
  const segment_match m = longest_suffix_match(prefix, path);
  if (m.length > 0) return {sample, m.end, m.length};
  return {sample, first_step + 1, 0};
}

/// Plans segment-level repair of `targets` (ids into `test`) from the training samples of `train`,
/// whose automaton is `a` (built from train's states, labels and tokens, same sample ids).
inline segment_repair_plan plan_segment_repair(const labelled_paths& train, const automaton& a,
                                               const labelled_paths& test, std::span<const index_t> targets,
                                               const segment_repair_options& o) {
  constexpr const char* who = "plan_segment_repair";
  require(o.top_n >= 1, who, ": top_n must be >= 1, got ", o.top_n);
  require(train.size() > 0 && !train.tokens.empty(), who, ": the training view holds no token sequence");
  require(!test.tokens.empty() && test.tokens.size() == test.states.size(), who,
          ": the test view holds no token sequences (segment repair edits tokens)");
  require(a.n_samples() == train.size() && a.consumes_tokens(), who, ": the automaton has ", a.n_samples(), " samples",
          a.consumes_tokens() ? "" : " and consumes no tokens", "; the training view has ", train.size(),
          " token sequences");
  require(train.truth.size() == train.size() && test.truth.size() == test.size(), who,
          ": the views need a truth per sequence");
  const node_reach reach = node_reach::from(a);
  std::vector<std::vector<transition>> paths(static_cast<std::size_t>(train.size()));  // built once, on first use
  const auto train_path = [&](index_t i) -> const std::vector<transition>& {
    auto& p = paths[static_cast<std::size_t>(i)];
    if (p.empty()) p = train.path(i);
    return p;
  };
  segment_repair_plan plan;
  for (const index_t t : targets) {
    require(t >= 0 && t < test.size(), who, ": target ", t, " outside [0, ", test.size(), ")");
    const auto tu = static_cast<std::size_t>(t);
    target_plan tp;
    tp.target = t;
    const index_t y = test.truth(t);
    const auto& tok = test.tokens[tu];
    if (o.unk_token >= 0) tp.oov_tokens = (tok.array() == o.unk_token).count();
    const auto j = fault_point(test.labels[tu], y);
    if (!j) {
      tp.skipped = skip_reason::not_a_failure;
      plan.targets.push_back(std::move(tp));
      continue;
    }
    tp.fault_step = *j;
    tp.fault_token = tok(*j);
    const std::vector<transition> path = test.path(t);
    tp.pre_fault = node_before(path, *j);
    if (o.unk_token >= 0 && tp.fault_token == o.unk_token) {
      tp.skipped = skip_reason::oov_fault_token;
      plan.targets.push_back(std::move(tp));
      continue;
    }
    std::vector<node_reach::entry> cand;
    for (const auto& e : reach.samples(tp.pre_fault))
      if (train.truth(e.sample) == y) cand.push_back(e);
    tp.candidates = static_cast<index_t>(cand.size());
    if (cand.empty()) {
      tp.skipped = skip_reason::no_candidates;
      plan.targets.push_back(std::move(tp));
      continue;
    }
    const std::span<const transition> prefix(path.data(), static_cast<std::size_t>(*j));
    const auto place = [&](const node_reach::entry& e) {
      return place_in_candidate(prefix, train_path(e.sample), e.sample, e.step);
    };
    const auto keep = static_cast<std::size_t>(std::min<index_t>(o.top_n, tp.candidates));
    if (o.strategy == selection::guided) {
      std::vector<segment_edit> all;
      all.reserve(cand.size());
      for (const auto& e : cand) all.push_back(place(e));
      std::stable_sort(all.begin(), all.end(),
                       [](const segment_edit& x, const segment_edit& z) { return x.match_length > z.match_length; });
      all.resize(keep);
      tp.edits = std::move(all);
    } else {
      rng g = rng::stream(o.seed, static_cast<std::uint64_t>(t));
      for (const auto& e : draw_without_replacement(g, std::move(cand), keep)) tp.edits.push_back(place(e));
    }
    plan.targets.push_back(std::move(tp));
  }
  return plan;
}

}  // namespace rnnabs
