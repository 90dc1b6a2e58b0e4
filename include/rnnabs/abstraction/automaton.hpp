#pragma once
// The automaton of an abstraction (RNNRepair, Xie et al., ICML 2021), stored sparsely, with an inverted index
// from every transition to the training (sample, step) postings that traverse it.
//
// A trace of length T, with states s_1..s_T (1..n) and per-step labels l_1..l_T, is extended with the
// initial pseudo-step (0, 0): transition j = 0..T-1 goes from (S[j], L[j]) to (S[j+1], L[j+1]) and
// consumes input j (token j, or 0 for feature input). A transition is the 5-tuple
// (state, label, token, next label, next state); its token-free edge is the 4-tuple without the token.
// Both are kept as sorted key tables (CSR): count(key) is the number of postings of the key.
// RNNRepair's dense m x C x V x C x m tensor (~1 GB on a text task) is never formed.
//
//   auto a = rnnabs::automaton::from(train_traces, train_states, abs.n_states());
//   a.count({.from = 0, .label = 0, .token = 0, .next_label = 3, .to = 7});
//   for (rnnabs::posting p : a.postings(0, 0, 3, 7)) ...           // token-free edge -> (sample, step)
//   a.edge_probability(0, 0, 3, 7);                                 // P(edge | from state, label)
//   a.remove({12, 40}); a.add(new_states, new_labels, new_tokens);  // incremental
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "rnnabs/abstraction/detail/postings_table.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/profile.hpp"

namespace rnnabs {

/// A transition (state, label) --token--> (next state, next label).
struct transition {
  index_t from = 0, label = 0, token = 0, next_label = 0, to = 0;
  friend bool operator==(const transition&, const transition&) = default;
  friend auto operator<=>(const transition&, const transition&) = default;
};

/// A token-free edge (state, label) --> (next state, next label).
struct edge {
  index_t from = 0, label = 0, next_label = 0, to = 0;
  friend bool operator==(const edge&, const edge&) = default;
  friend auto operator<=>(const edge&, const edge&) = default;
};

class automaton {
 public:
  automaton() = default;

  /// Builds from per-sequence states (1..n_states-1), per-step labels (0..n_labels-1) and tokens
  /// (empty for feature input; otherwise ids in [0, vocab_size)). vocab_size 0: 1 + the largest token
  /// (1 without tokens). Sample ids are the positions in `states`.
  static automaton build(const std::vector<index_vector>& states, const std::vector<index_vector>& labels,
                         const std::vector<index_vector>& tokens, index_t n_states, index_t n_labels,
                         index_t vocab_size = 0) {
    constexpr const char* who = "automaton::build";
    require(!states.empty(), who, ": no sequences");
    require(n_states >= 2, who, ": n_states (initial state included) must be >= 2, got ", n_states);
    require(n_labels >= 1, who, ": n_labels must be >= 1, got ", n_labels);
    require(vocab_size >= 0, who, ": vocab_size must be >= 0, got ", vocab_size);
    index_t v = vocab_size;
    if (v == 0) {
      v = 1;
      for (const auto& t : tokens)
        if (t.size()) v = std::max(v, t.maxCoeff() + 1);
    }
    automaton a;
    a.m_ = n_states;
    a.c_ = n_labels;
    a.v_ = v;
    a.has_tokens_ = !tokens.empty();
    require(a.fits_keys(), who, ": m^2 C^2 V = ", n_states, "^2 x ", n_labels, "^2 x ", v,
            " transitions do not fit a 64-bit key");
    auto [e5, e4] = a.entries(states, labels, tokens, 0, who);
    a.t5_ = detail::postings_table::build(std::move(e5), a.max_key5());
    a.t4_ = detail::postings_table::build(std::move(e4), a.max_key4());
    a.rebuild_derived();
    return a;
  }

  /// From profiled traces and their abstract states (see abstraction::states / train_states).
  template <class T>
  static automaton from(const traces<T>& tr, const std::vector<index_vector>& states, index_t n_states,
                        index_t vocab_size = 0) {
    require(static_cast<index_t>(states.size()) == tr.size(), "automaton::from: ", states.size(),
            " state sequences for ", tr.size(), " traces");
    require(tr.num_classes() >= 1, "automaton::from: the traces have no classes");
    return build(states, tr.step_labels, tr.tokens, n_states, tr.num_classes(), vocab_size);
  }

  // --- incremental update ----------------------------------------------------------------------
  /// Adds sequences (same conventions as build; tokens must be known ids); returns their sample ids.
  std::vector<index_t> add(const std::vector<index_vector>& states, const std::vector<index_vector>& labels,
                           const std::vector<index_vector>& tokens = {}) {
    constexpr const char* who = "automaton::add";
    require(m_ > 0, who, ": the automaton is empty; use build()");
    require(!states.empty(), who, ": no sequences");
    require(tokens.empty() || has_tokens_ || v_ > 1, who, ": tokens given, but the automaton was built without");
    require(!tokens.empty() || !has_tokens_, who, ": the automaton consumes tokens; give the new sequences' tokens");
    const auto first = static_cast<index_t>(lengths_.size());
    auto [e5, e4] = entries(states, labels, tokens, first, who);
    t5_.merge(detail::postings_table::build(std::move(e5), max_key5()));
    t4_.merge(detail::postings_table::build(std::move(e4), max_key4()));
    rebuild_derived();
    std::vector<index_t> ids(states.size());
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = first + static_cast<index_t>(i);
    return ids;
  }

  /// Removes samples (their postings and counts); ids stay reserved. invalid_argument for an unknown
  /// or already removed id.
  void remove(const std::vector<index_t>& samples) {
    std::vector<char> gone(lengths_.size(), 0);
    for (index_t s : samples) {
      require(s >= 0 && s < static_cast<index_t>(lengths_.size()), "automaton::remove: sample ", s, " outside [0, ",
              lengths_.size(), ")");
      require(alive_[static_cast<std::size_t>(s)] != 0, "automaton::remove: sample ", s, " was already removed");
      gone[static_cast<std::size_t>(s)] = 1;
    }
    for (std::size_t s = 0; s < gone.size(); ++s)
      if (gone[s]) alive_[s] = 0;
    t5_.filter(gone);
    t4_.filter(gone);
    rebuild_derived();
  }

  // --- sizes -----------------------------------------------------------------------------------
  index_t n_states() const noexcept { return m_; }
  index_t n_labels() const noexcept { return c_; }
  index_t vocab_size() const noexcept { return v_; }
  bool consumes_tokens() const noexcept { return has_tokens_; }
  /// Sample ids handed out (removed ones included).
  index_t n_samples() const noexcept { return static_cast<index_t>(lengths_.size()); }
  index_t n_live_samples() const noexcept {
    return static_cast<index_t>(std::count(alive_.begin(), alive_.end(), char{1}));
  }
  bool is_live(index_t sample) const {
    return sample >= 0 && sample < n_samples() && alive_[static_cast<std::size_t>(sample)] != 0;
  }
  index_t length(index_t sample) const { return lengths_.at(static_cast<std::size_t>(sample)); }
  /// Distinct transitions (5-tuples) and distinct token-free edges (4-tuples).
  index_t n_transitions() const noexcept { return t5_.size(); }
  index_t n_edges() const noexcept { return t4_.size(); }
  /// Total steps counted (= postings).
  index_t total_count() const noexcept { return t5_.total(); }

  // --- lookups ---------------------------------------------------------------------------------
  index_t count(const transition& t) const {
    const index_t i = t5_.find(key5(t, "automaton::count"));
    return i < 0 ? 0 : t5_.count(i);
  }
  index_t count(const edge& e) const {
    const index_t i = t4_.find(key4(e, "automaton::count"));
    return i < 0 ? 0 : t4_.count(i);
  }
  index_t count(index_t from, index_t label, index_t next_label, index_t to) const {
    return count(edge{from, label, next_label, to});
  }
  /// (sample, step) postings of a transition, in (sample, step) order; empty when never seen.
  std::span<const posting> postings(const transition& t) const {
    const index_t i = t5_.find(key5(t, "automaton::postings"));
    return i < 0 ? std::span<const posting>() : t5_.postings(i);
  }
  std::span<const posting> postings(const edge& e) const {
    const index_t i = t4_.find(key4(e, "automaton::postings"));
    return i < 0 ? std::span<const posting>() : t4_.postings(i);
  }
  std::span<const posting> postings(index_t from, index_t label, index_t next_label, index_t to) const {
    return postings(edge{from, label, next_label, to});
  }
  /// Distinct training samples traversing a transition / an edge, ascending.
  std::vector<index_t> samples(const transition& t) const { return distinct_samples(postings(t)); }
  std::vector<index_t> samples(const edge& e) const { return distinct_samples(postings(e)); }

  /// Enumeration of the distinct transitions (sorted by (from, label, token, next_label, to)).
  transition transition_at(index_t i) const { return decode5(t5_.key(i)); }
  index_t count_at(index_t i) const { return t5_.count(i); }
  std::span<const posting> postings_at(index_t i) const { return t5_.postings(i); }
  /// Enumeration of the distinct token-free edges (sorted by (from, label, next_label, to)).
  edge edge_at(index_t i) const { return decode4(t4_.key(i)); }
  index_t edge_count_at(index_t i) const { return t4_.count(i); }
  std::span<const posting> edge_postings_at(index_t i) const { return t4_.postings(i); }

  // --- marginals -------------------------------------------------------------------------------
  /// Steps leaving (state, label), any token.
  index_t out_count(index_t from, index_t label) const {
    check_node(from, label, "automaton::out_count");
    return t4_.range_total(key4({from, label, 0, 0}), key4_end(from, label));
  }
  /// Steps leaving (state, label) on `token`.
  index_t out_count(index_t from, index_t label, index_t token) const {
    check_node(from, label, "automaton::out_count");
    check_token(token, "automaton::out_count");
    const transition lo{from, label, token, 0, 0};
    return t5_.range_total(key5(lo, "automaton::out_count"), key5(lo, "") + static_cast<std::uint64_t>(c_ * m_));
  }
  /// P_lbl: P(edge | from, label) ignoring the token; nullopt when (from, label) has no out-steps.
  std::optional<double> edge_probability(const edge& e) const {
    const index_t den = out_count(e.from, e.label);
    if (den == 0) return std::nullopt;
    return static_cast<double>(count(e)) / static_cast<double>(den);
  }
  std::optional<double> edge_probability(index_t from, index_t label, index_t next_label, index_t to) const {
    return edge_probability(edge{from, label, next_label, to});
  }
  /// P_tok: P(next label, next state | from, label, token); nullopt when never seen.
  std::optional<double> edge_probability(const transition& t) const {
    const index_t den = out_count(t.from, t.label, t.token);
    if (den == 0) return std::nullopt;
    return static_cast<double>(count(t)) / static_cast<double>(den);
  }
  /// The transitions that consume `token`, with their counts (the contexts of the token).
  std::vector<std::pair<transition, index_t>> token_contexts(index_t token) const {
    check_token(token, "automaton::token_contexts");
    std::vector<std::pair<transition, index_t>> r;
    const auto w = static_cast<std::size_t>(token);
    for (index_t k = tok_off_[w]; k < tok_off_[w + 1]; ++k) {
      const index_t i = tok_keys_[static_cast<std::size_t>(k)];
      r.emplace_back(decode5(t5_.key(i)), t5_.count(i));
    }
    return r;
  }
  /// States with an edge into `to` and the steps on those edges: (state, count), by state.
  std::vector<std::pair<index_t, index_t>> predecessors(index_t to) const {
    require(to >= 0 && to < m_, "automaton::predecessors: state ", to, " outside [0, ", m_, ")");
    std::vector<std::pair<index_t, index_t>> r;
    for (index_t s = 0; s < m_; ++s) {
      const index_t c = state_edges_[static_cast<std::size_t>(s * m_ + to)];
      if (c > 0) r.emplace_back(s, c);
    }
    return r;
  }
  /// Every state from which `to` can be reached by one or more transitions, ascending.
  std::vector<index_t> reachable_into(index_t to) const {
    require(to >= 0 && to < m_, "automaton::reachable_into: state ", to, " outside [0, ", m_, ")");
    std::vector<char> seen(static_cast<std::size_t>(m_), 0);
    std::vector<index_t> stack{to};
    while (!stack.empty()) {
      const index_t x = stack.back();
      stack.pop_back();
      for (index_t s = 0; s < m_; ++s)
        if (!seen[static_cast<std::size_t>(s)] && state_edges_[static_cast<std::size_t>(s * m_ + x)] > 0) {
          seen[static_cast<std::size_t>(s)] = 1;
          stack.push_back(s);
        }
    }
    std::vector<index_t> r;
    for (index_t s = 0; s < m_; ++s)
      if (seen[static_cast<std::size_t>(s)]) r.push_back(s);
    return r;
  }
  /// m x m: steps from state s to state s' (labels and tokens summed out).
  matrix<index_t> state_transition_counts() const {
    matrix<index_t> r(m_, m_);
    for (index_t s = 0; s < m_; ++s)
      for (index_t t = 0; t < m_; ++t) r(s, t) = state_edges_[static_cast<std::size_t>(s * m_ + t)];
    return r;
  }

  // --- persistence -----------------------------------------------------------------------------
  /// Versioned, atomic rnnabs archive (kind "automaton"); an .npz NumPy reads. Needs rnnabs::zip.
  void save(const std::filesystem::path& path) const;
  /// io_error on another kind, a newer version, or inconsistent content.
  static automaton load(const std::filesystem::path& path);
  static constexpr int archive_version = 1;

  friend bool operator==(const automaton& a, const automaton& b) {
    return a.m_ == b.m_ && a.c_ == b.c_ && a.v_ == b.v_ && a.has_tokens_ == b.has_tokens_ && a.lengths_ == b.lengths_ &&
           a.alive_ == b.alive_ && a.t5_.keys() == b.t5_.keys() && a.t5_.offsets() == b.t5_.offsets() &&
           a.t5_.all_postings() == b.t5_.all_postings() && a.t4_.keys() == b.t4_.keys() &&
           a.t4_.offsets() == b.t4_.offsets() && a.t4_.all_postings() == b.t4_.all_postings();
  }

 private:
  using u64 = std::uint64_t;

  bool fits_keys() const {
    const long double k = static_cast<long double>(m_) * m_ * c_ * c_ * v_;
    return k < 9.0e18L;
  }
  u64 max_key5() const { return static_cast<u64>(m_ * c_) * static_cast<u64>(v_ * c_ * m_) - 1; }
  u64 max_key4() const { return static_cast<u64>(m_ * c_) * static_cast<u64>(c_ * m_) - 1; }
  // Mixed radix in lexicographic order of the tuple: sorting keys sorts tuples.
  u64 pack5(index_t s, index_t l, index_t w, index_t l2, index_t s2) const {
    return (((static_cast<u64>(s) * static_cast<u64>(c_) + static_cast<u64>(l)) * static_cast<u64>(v_) +
             static_cast<u64>(w)) *
                static_cast<u64>(c_) +
            static_cast<u64>(l2)) *
               static_cast<u64>(m_) +
           static_cast<u64>(s2);
  }
  u64 pack4(index_t s, index_t l, index_t l2, index_t s2) const {
    return ((static_cast<u64>(s) * static_cast<u64>(c_) + static_cast<u64>(l)) * static_cast<u64>(c_) +
            static_cast<u64>(l2)) *
               static_cast<u64>(m_) +
           static_cast<u64>(s2);
  }
  transition decode5(u64 k) const {
    transition t;
    t.to = static_cast<index_t>(k % static_cast<u64>(m_));
    k /= static_cast<u64>(m_);
    t.next_label = static_cast<index_t>(k % static_cast<u64>(c_));
    k /= static_cast<u64>(c_);
    t.token = static_cast<index_t>(k % static_cast<u64>(v_));
    k /= static_cast<u64>(v_);
    t.label = static_cast<index_t>(k % static_cast<u64>(c_));
    k /= static_cast<u64>(c_);
    t.from = static_cast<index_t>(k);
    return t;
  }
  edge decode4(u64 k) const {
    edge e;
    e.to = static_cast<index_t>(k % static_cast<u64>(m_));
    k /= static_cast<u64>(m_);
    e.next_label = static_cast<index_t>(k % static_cast<u64>(c_));
    k /= static_cast<u64>(c_);
    e.label = static_cast<index_t>(k % static_cast<u64>(c_));
    k /= static_cast<u64>(c_);
    e.from = static_cast<index_t>(k);
    return e;
  }
  void check_node(index_t s, index_t l, const char* who) const {
    require(m_ > 0, who, ": the automaton is empty");
    require(s >= 0 && s < m_, who, ": state ", s, " outside [0, ", m_, ")");
    require(l >= 0 && l < c_, who, ": label ", l, " outside [0, ", c_, ")");
  }
  void check_token(index_t w, const char* who) const {
    require(w >= 0 && w < v_, who, ": token ", w, " outside the vocabulary [0, ", v_, ")");
  }
  u64 key5(const transition& t, const char* who) const {
    if (*who) {
      check_node(t.from, t.label, who);
      check_node(t.to, t.next_label, who);
      check_token(t.token, who);
    }
    return pack5(t.from, t.label, t.token, t.next_label, t.to);
  }
  u64 key4(const edge& e, const char* who = "") const {
    if (*who) {
      check_node(e.from, e.label, who);
      check_node(e.to, e.next_label, who);
    }
    return pack4(e.from, e.label, e.next_label, e.to);
  }
  u64 key4_end(index_t s, index_t l) const { return pack4(s, l, 0, 0) + static_cast<u64>(c_ * m_); }

  static std::vector<index_t> distinct_samples(std::span<const posting> p) {
    std::vector<index_t> r;
    for (const posting& q : p)
      if (r.empty() || r.back() != q.sample) r.push_back(q.sample);
    return r;
  }

  /// Validated (key, posting) entries of new sequences numbered from `first`, in (sample, step) order.
  std::pair<std::vector<detail::keyed_posting>, std::vector<detail::keyed_posting>> entries(
      const std::vector<index_vector>& states, const std::vector<index_vector>& labels,
      const std::vector<index_vector>& tokens, index_t first, const char* who) {
    require(labels.size() == states.size(), who, ": ", states.size(), " state sequences but ", labels.size(),
            " label sequences");
    require(tokens.empty() || tokens.size() == states.size(), who, ": ", states.size(), " state sequences but ",
            tokens.size(), " token sequences");
    require(first + static_cast<index_t>(states.size()) <= std::numeric_limits<std::int32_t>::max(), who,
            ": too many samples for 32-bit posting ids");
    std::size_t total = 0;
    for (std::size_t i = 0; i < states.size(); ++i) {
      const index_t len = states[i].size();
      require(len > 0, who, ": sequence ", i, " is empty");
      require(len <= std::numeric_limits<std::int32_t>::max(), who, ": sequence ", i, " is too long");
      require(labels[i].size() == len, who, ": sequence ", i, " has ", len, " states but ", labels[i].size(),
              " labels");
      if (!tokens.empty())
        require(tokens[i].size() == len, who, ": sequence ", i, " has ", len, " states but ", tokens[i].size(),
                " tokens");
      for (index_t j = 0; j < len; ++j) {
        require(states[i](j) >= 1 && states[i](j) < m_, who, ": state ", states[i](j), " at step ", j, " of sequence ",
                i, " is outside [1, ", m_, ") (state 0 is the initial state only)");
        require(labels[i](j) >= 0 && labels[i](j) < c_, who, ": label ", labels[i](j), " at step ", j, " of sequence ",
                i, " is outside [0, ", c_, ")");
        if (!tokens.empty())
          require(tokens[i](j) >= 0 && tokens[i](j) < v_, who, ": token ", tokens[i](j), " at step ", j,
                  " of sequence ", i, " is unknown (vocabulary [0, ", v_, "))");
      }
      total += static_cast<std::size_t>(len);
    }
    std::vector<detail::keyed_posting> e5(total), e4(total);
    std::size_t k = 0;
    for (std::size_t i = 0; i < states.size(); ++i) {
      const auto& s = states[i];
      const auto& l = labels[i];
      index_t ps = 0, pl = 0;
      const auto id = static_cast<std::int32_t>(first + static_cast<index_t>(i));
      for (index_t j = 0; j < s.size(); ++j, ++k) {
        const index_t w = tokens.empty() ? 0 : tokens[i](j);
        const posting p{id, static_cast<std::int32_t>(j)};
        e5[k] = {pack5(ps, pl, w, l(j), s(j)), p};
        e4[k] = {pack4(ps, pl, l(j), s(j)), p};
        ps = s(j);
        pl = l(j);
      }
      lengths_.push_back(s.size());
      alive_.push_back(1);
    }
    return {std::move(e5), std::move(e4)};
  }

  /// Token index and state-to-state counts, from t5_/t4_.
  void rebuild_derived() {
    tok_off_.assign(static_cast<std::size_t>(v_) + 1, 0);
    for (index_t i = 0; i < t5_.size(); ++i) ++tok_off_[static_cast<std::size_t>(decode5(t5_.key(i)).token) + 1];
    for (std::size_t w = 0; w < static_cast<std::size_t>(v_); ++w) tok_off_[w + 1] += tok_off_[w];
    tok_keys_.assign(static_cast<std::size_t>(t5_.size()), 0);
    std::vector<index_t> fill(tok_off_.begin(), tok_off_.end() - 1);
    for (index_t i = 0; i < t5_.size(); ++i)
      tok_keys_[static_cast<std::size_t>(fill[static_cast<std::size_t>(decode5(t5_.key(i)).token)]++)] = i;
    state_edges_.assign(static_cast<std::size_t>(m_ * m_), 0);
    for (index_t i = 0; i < t4_.size(); ++i) {
      const edge e = decode4(t4_.key(i));
      state_edges_[static_cast<std::size_t>(e.from * m_ + e.to)] += t4_.count(i);
    }
  }

  index_t m_ = 0, c_ = 0, v_ = 0;
  bool has_tokens_ = false;
  std::vector<index_t> lengths_;
  std::vector<char> alive_;
  detail::postings_table t5_, t4_;
  std::vector<index_t> tok_off_, tok_keys_, state_edges_;
};

}  // namespace rnnabs

#if defined(RNNABS_HAVE_ZIP)
#include "rnnabs/abstraction/detail/automaton_io.hpp"
#endif
