#pragma once
// A deterministic automaton read off the abstract automaton of a token model, so an extraction can be
// scored against a known language (e.g. the Tomita grammars, data/tomita.hpp).
//
// From state s on token w the DFA moves to the most frequent next state of the training steps that
// left s on w (ties: the smaller state id). A (state, token) pair never seen in training falls back to
// the most frequent next state of token w from any state. Each real state outputs its majority
// per-step label (argmax of P(label | state)); a sequence's output is the label of its last state.
//
//   auto d = rnnabs::extract_dfa(model.automaton, model.abstraction.label_distribution());
//   rnnabs::index_t accept = d.classify(tokens);
//   rnnabs::index_t q = d.minimal_states(1);                         // minimal DFA of "label == 1"
#include <algorithm>
#include <vector>

#include "rnnabs/abstraction/automaton.hpp"
#include "rnnabs/data/tomita.hpp"

namespace rnnabs {

struct extracted_dfa {
  matrix<index_t> next;  ///< m x V (fallbacks filled in)
  index_vector label;    ///< m: output label per state, argmax of P(label | state) (state 0: uniform, so label 0)
  matrix<char> seen;     ///< m x V: the move was observed in training (not a fallback)

  index_t n_states() const noexcept { return next.rows(); }
  index_t n_symbols() const noexcept { return next.cols(); }
  index_t run(const index_vector& tokens) const {
    index_t q = 0;
    for (index_t i = 0; i < tokens.size(); ++i) {
      require(tokens(i) >= 0 && tokens(i) < n_symbols(), "extracted_dfa::run: token ", tokens(i), " at ", i,
              " outside [0, ", n_symbols(), ")");
      q = next(q, tokens(i));
    }
    return q;
  }
  index_t classify(const index_vector& tokens) const { return label(run(tokens)); }
  /// States reachable from state 0.
  index_t reachable_states() const {
    std::vector<char> r(static_cast<std::size_t>(n_states()), 0);
    std::vector<index_t> st{0};
    r[0] = 1;
    while (!st.empty()) {
      const index_t q = st.back();
      st.pop_back();
      for (index_t w = 0; w < n_symbols(); ++w)
        if (!r[static_cast<std::size_t>(next(q, w))])
          r[static_cast<std::size_t>(next(q, w))] = 1, st.push_back(next(q, w));
    }
    return static_cast<index_t>(std::count(r.begin(), r.end(), char{1}));
  }
  /// States of the minimal DFA of "output == accept_label". The virtual initial state's own output (the
  /// empty input, never profiled) is set to whichever value gives the smaller automaton.
  index_t minimal_states(index_t accept_label) const {
    data::dfa d = as_dfa(accept_label);
    const index_t a = data::minimal_size(d);
    d.accepting[0] = d.accepting[0] ? 0 : 1;
    return std::min(a, data::minimal_size(d));
  }
  /// As a complete data::dfa accepting the sequences whose output label is `accept_label`.
  data::dfa as_dfa(index_t accept_label) const {
    data::dfa d;
    d.n_symbols = n_symbols();
    for (index_t q = 0; q < n_states(); ++q) {
      std::vector<index_t> row(static_cast<std::size_t>(n_symbols()));
      for (index_t w = 0; w < n_symbols(); ++w) row[static_cast<std::size_t>(w)] = next(q, w);
      d.next.push_back(std::move(row));
      d.accepting.push_back(label(q) == accept_label ? 1 : 0);
    }
    return d;
  }
};

/// See the file comment. `label_distribution`: the abstraction's m x C P(label | state).
inline extracted_dfa extract_dfa(const automaton& a, const matrix<double>& label_distribution) {
  const index_t m = a.n_states(), V = a.vocab_size(), C = a.n_labels();
  require(m > 0, "extract_dfa: the automaton is empty");
  require(label_distribution.rows() == m && label_distribution.cols() == C, "extract_dfa: label_distribution is ",
          label_distribution.rows(), " x ", label_distribution.cols(), ", expected ", m, " x ", C);
  matrix<index_t> cnt = matrix<index_t>::Zero(m * V, m);  // row s·V + w: steps into each next state
  matrix<index_t> any = matrix<index_t>::Zero(V, m);
  for (index_t i = 0; i < a.n_transitions(); ++i) {
    const transition t = a.transition_at(i);
    cnt(t.from * V + t.token, t.to) += a.count_at(i);
    any(t.token, t.to) += a.count_at(i);
  }
  extracted_dfa d;
  d.next.resize(m, V);
  d.seen = matrix<char>::Zero(m, V);
  for (index_t s = 0; s < m; ++s)
    for (index_t w = 0; w < V; ++w) {
      index_t best = 0;
      if (cnt.row(s * V + w).sum() > 0) {
        cnt.row(s * V + w).maxCoeff(&best);
        d.seen(s, w) = 1;
      } else if (any.row(w).sum() > 0) {
        any.row(w).maxCoeff(&best);
      } else {
        best = s;
      }
      d.next(s, w) = best;
    }
  d.label.resize(m);
  for (index_t s = 0; s < m; ++s) label_distribution.row(s).maxCoeff(&d.label(s));
  return d;
}

}  // namespace rnnabs
