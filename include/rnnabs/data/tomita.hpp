#pragma once
// The seven Tomita grammars (regular languages over {0, 1}), the standard ground truth of automaton
// extraction: their minimal DFAs, membership, DFA minimization (to count states of any DFA), and a
// seeded generator of labelled strings with balanced classes.
//
//   auto g = rnnabs::data::tomita_dfa(4);                       // no "000" substring
//   bool in = g.accepts(index_vector{{1, 0, 0, 1}});
//   auto d = rnnabs::data::tomita_dataset(4, 2000, 1, 20, /*seed=*/1);  // d.strings, d.labels (1 = accept)
//
//   1: 1*                         2: (10)*
//   3: no odd-length run of 1s immediately followed by an odd-length run of 0s
//   4: no three consecutive 0s    5: even number of 0s and even number of 1s
//   6: (#0 − #1) ≡ 0 (mod 3)      7: 0*1*0*1*
#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs::data {

/// A complete DFA over the alphabet {0, .., n_symbols-1}; state 0 is the start state.
struct dfa {
  index_t n_symbols = 2;
  std::vector<std::vector<index_t>> next;  ///< next[state][symbol]
  std::vector<char> accepting;             ///< per state

  index_t size() const noexcept { return static_cast<index_t>(next.size()); }
  index_t run(const index_vector& s, index_t from = 0) const {
    index_t q = from;
    for (index_t i = 0; i < s.size(); ++i) {
      require(s(i) >= 0 && s(i) < n_symbols, "dfa::run: symbol ", s(i), " at ", i, " outside [0, ", n_symbols, ")");
      q = next[static_cast<std::size_t>(q)][static_cast<std::size_t>(s(i))];
    }
    return q;
  }
  bool accepts(const index_vector& s) const { return accepting[static_cast<std::size_t>(run(s))] != 0; }
};

/// The number of states of the minimal DFA equivalent to `d` (reachable states, Moore refinement).
inline index_t minimal_size(const dfa& d) {
  const index_t n = d.size();
  std::vector<char> reach(static_cast<std::size_t>(n), 0);
  std::vector<index_t> st{0};
  reach[0] = 1;
  while (!st.empty()) {
    const index_t q = st.back();
    st.pop_back();
    for (index_t a = 0; a < d.n_symbols; ++a) {
      const index_t r = d.next[static_cast<std::size_t>(q)][static_cast<std::size_t>(a)];
      if (!reach[static_cast<std::size_t>(r)]) reach[static_cast<std::size_t>(r)] = 1, st.push_back(r);
    }
  }
  std::vector<index_t> cls(static_cast<std::size_t>(n));
  for (index_t q = 0; q < n; ++q) cls[static_cast<std::size_t>(q)] = d.accepting[static_cast<std::size_t>(q)] ? 1 : 0;
  index_t count = 0;
  for (;;) {
    std::map<std::vector<index_t>, index_t> sig;
    std::vector<index_t> ncls(static_cast<std::size_t>(n), -1);
    for (index_t q = 0; q < n; ++q) {
      if (!reach[static_cast<std::size_t>(q)]) continue;
      std::vector<index_t> key{cls[static_cast<std::size_t>(q)]};
      for (index_t a = 0; a < d.n_symbols; ++a)
        key.push_back(cls[static_cast<std::size_t>(d.next[static_cast<std::size_t>(q)][static_cast<std::size_t>(a)])]);
      const auto it = sig.emplace(std::move(key), static_cast<index_t>(sig.size())).first;
      ncls[static_cast<std::size_t>(q)] = it->second;
    }
    const auto nc = static_cast<index_t>(sig.size());
    if (nc == count) return nc;
    count = nc;
    for (index_t q = 0; q < n; ++q)
      if (reach[static_cast<std::size_t>(q)]) cls[static_cast<std::size_t>(q)] = ncls[static_cast<std::size_t>(q)];
  }
}

/// The minimal DFA of Tomita grammar `g` (1..7).
inline dfa tomita_dfa(int g) {
  require(g >= 1 && g <= 7, "tomita_dfa: grammar ", g, " is not one of 1..7");
  dfa d;
  // Rows: {next on 0, next on 1}; `acc`: accepting states.
  const auto make = [&](std::vector<std::vector<index_t>> t, std::vector<char> acc) {
    d.next = std::move(t);
    d.accepting = std::move(acc);
  };
  switch (g) {
    case 1: make({{1, 0}, {1, 1}}, {1, 0}); break;                                    // 1*
    case 2: make({{2, 1}, {0, 2}, {2, 2}}, {1, 0, 0}); break;                         // (10)*
    case 3: make({{0, 1}, {2, 0}, {3, 4}, {2, 1}, {4, 4}}, {1, 1, 0, 1, 0}); break;   // see above
    case 4: make({{1, 0}, {2, 0}, {3, 0}, {3, 3}}, {1, 1, 1, 0}); break;              // no 000
    case 5: make({{1, 2}, {0, 3}, {3, 0}, {2, 1}}, {1, 0, 0, 0}); break;              // even 0s, even 1s
    case 6: make({{1, 2}, {2, 0}, {0, 1}}, {1, 0, 0}); break;                         // #0 - #1 = 0 mod 3
    default: make({{0, 1}, {2, 1}, {2, 3}, {4, 3}, {4, 4}}, {1, 1, 1, 1, 0}); break;  // 0*1*0*1*
  }
  return d;
}

/// Membership in Tomita grammar g, computed directly from the definition (independent of the DFA).
inline bool tomita_accepts(int g, const index_vector& s) {
  require(g >= 1 && g <= 7, "tomita_accepts: grammar ", g, " is not one of 1..7");
  const index_t n = s.size();
  for (index_t i = 0; i < n; ++i) require(s(i) == 0 || s(i) == 1, "tomita_accepts: symbol ", s(i), " is not 0 or 1");
  switch (g) {
    case 1: return (s.array() == 1).all();
    case 2: {
      if (n % 2) return false;
      for (index_t i = 0; i < n; ++i)
        if (s(i) != (i % 2 == 0 ? 1 : 0)) return false;
      return true;
    }
    case 3: {  // maximal runs: an odd 1-run immediately followed by an odd 0-run that is complete or not
      std::vector<std::pair<index_t, index_t>> runs;  // (symbol, length)
      for (index_t i = 0; i < n;) {
        index_t j = i;
        while (j < n && s(j) == s(i)) ++j;
        runs.emplace_back(s(i), j - i);
        i = j;
      }
      for (std::size_t r = 0; r + 1 < runs.size(); ++r)
        if (runs[r].first == 1 && runs[r].second % 2 == 1 && runs[r + 1].second % 2 == 1) return false;
      return true;
    }
    case 4: {
      index_t z = 0;
      for (index_t i = 0; i < n; ++i) {
        z = s(i) == 0 ? z + 1 : 0;
        if (z >= 3) return false;
      }
      return true;
    }
    case 5: {
      const index_t ones = s.sum();
      return ones % 2 == 0 && (n - ones) % 2 == 0;
    }
    case 6: {
      const index_t ones = s.sum(), zeros = n - ones;
      return ((zeros - ones) % 3 + 3) % 3 == 0;
    }
    default: {  // 0*1*0*1*: at most three symbol changes, starting with 0-block (possibly empty)
      index_t changes = 0;
      for (index_t i = 1; i < n; ++i) changes += s(i) != s(i - 1);
      if (n > 0 && s(0) == 1) ++changes;  // as if preceded by an empty 0-block
      return changes <= 3;
    }
  }
}

struct tomita_data {
  std::vector<index_vector> strings;
  index_vector labels;  ///< 1: in the language, 0: not
};

/// n strings with lengths uniform in [min_len, max_len], half accepted and half rejected (as far as
/// strings of the drawn length exist), drawn uniformly among the strings of that length and class
/// by counting paths in the DFA. Seeded.
inline tomita_data tomita_dataset(int g, index_t n, index_t min_len, index_t max_len, std::uint64_t seed) {
  require(n >= 1, "tomita_dataset: n must be >= 1, got ", n);
  require(min_len >= 1 && max_len >= min_len, "tomita_dataset: bad length range [", min_len, ", ", max_len, "]");
  const dfa d = tomita_dfa(g);
  const index_t q = d.size();
  // ways[r][state][cls]: strings of length r from state ending accepted (cls 1) or not; in double.
  std::vector<std::vector<std::array<double, 2>>> ways(static_cast<std::size_t>(max_len) + 1,
                                                       std::vector<std::array<double, 2>>(static_cast<std::size_t>(q)));
  for (index_t s = 0; s < q; ++s)
    ways[0][static_cast<std::size_t>(s)][d.accepting[static_cast<std::size_t>(s)] ? 1 : 0] = 1;
  for (index_t r = 1; r <= max_len; ++r)
    for (index_t s = 0; s < q; ++s)
      for (int c = 0; c < 2; ++c) {
        double w = 0;
        for (index_t a = 0; a < 2; ++a)
          w += ways[static_cast<std::size_t>(r - 1)][static_cast<std::size_t>(
              d.next[static_cast<std::size_t>(s)][static_cast<std::size_t>(a)])][static_cast<std::size_t>(c)];
        ways[static_cast<std::size_t>(r)][static_cast<std::size_t>(s)][static_cast<std::size_t>(c)] = w;
      }
  rng gen(seed);
  tomita_data out;
  out.labels.resize(n);
  for (index_t i = 0; i < n; ++i) {
    const int want = static_cast<int>(i % 2);
    index_t len = 0;
    for (int tries = 0;; ++tries) {
      len = min_len + static_cast<index_t>(gen.below(static_cast<std::uint64_t>(max_len - min_len + 1)));
      if (ways[static_cast<std::size_t>(len)][0][static_cast<std::size_t>(want)] > 0) break;
      require(tries < 10000, "tomita_dataset: grammar ", g, " has no ", want ? "accepted" : "rejected",
              " strings with lengths in [", min_len, ", ", max_len, "]");
    }
    index_vector s(len);
    index_t state = 0;
    for (index_t k = 0; k < len; ++k) {
      const index_t rem = len - k - 1;
      const double w0 = ways[static_cast<std::size_t>(rem)][static_cast<std::size_t>(
          d.next[static_cast<std::size_t>(state)][0])][static_cast<std::size_t>(want)];
      const double w1 = ways[static_cast<std::size_t>(rem)][static_cast<std::size_t>(
          d.next[static_cast<std::size_t>(state)][1])][static_cast<std::size_t>(want)];
      s(k) = gen.uniform() * (w0 + w1) < w0 ? 0 : 1;
      state = d.next[static_cast<std::size_t>(state)][static_cast<std::size_t>(s(k))];
    }
    out.strings.push_back(std::move(s));
    out.labels(i) = want;
  }
  return out;
}

}  // namespace rnnabs::data
