// The Tomita grammars (data/tomita.hpp) and DFA extraction from an automaton (abstraction/dfa.hpp).
#include <gtest/gtest.h>

#include <rnnabs/abstraction/dfa.hpp>
#include <rnnabs/data/tomita.hpp>

namespace abstraction_tomita_tests {

using namespace rnnabs;

std::vector<index_vector> all_strings(index_t max_len) {
  std::vector<index_vector> r;
  for (index_t len = 1; len <= max_len; ++len)
    for (index_t code = 0; code < (index_t{1} << len); ++code) {
      index_vector s(len);
      for (index_t i = 0; i < len; ++i) s(i) = (code >> (len - 1 - i)) & 1;
      r.push_back(s);
    }
  return r;
}

TEST(Tomita, DfasMatchTheDefinitionsAndAreMinimal) {
  const index_t sizes[] = {2, 3, 5, 4, 4, 3, 5};  // minimal DFA sizes (sink included) of grammars 1..7
  const auto strings = all_strings(10);
  for (int g = 1; g <= 7; ++g) {
    const auto d = data::tomita_dfa(g);
    EXPECT_EQ(d.size(), sizes[g - 1]) << "grammar " << g;
    EXPECT_EQ(data::minimal_size(d), d.size()) << "grammar " << g;
    for (const auto& s : strings) ASSERT_EQ(d.accepts(s), data::tomita_accepts(g, s)) << "grammar " << g;
  }
  EXPECT_TRUE(data::tomita_accepts(2, index_vector{{1, 0, 1, 0}}));
  EXPECT_FALSE(data::tomita_accepts(4, index_vector{{1, 0, 0, 0, 1}}));
  EXPECT_FALSE(data::tomita_accepts(3, index_vector{{1, 0, 1}}));
  EXPECT_TRUE(data::tomita_accepts(3, index_vector{{1, 1, 0, 1}}));
  EXPECT_TRUE(data::tomita_accepts(7, index_vector{{0, 1, 0, 1}}));
  EXPECT_FALSE(data::tomita_accepts(7, index_vector{{1, 0, 1, 0}}));
  EXPECT_THROW(data::tomita_dfa(8), invalid_argument);
  EXPECT_THROW(data::tomita_accepts(1, index_vector{{2}}), invalid_argument);
}

TEST(Tomita, DatasetIsBalancedLabelledAndSeeded) {
  for (int g = 1; g <= 7; ++g) {
    const auto d = data::tomita_dataset(g, 200, 1, 12, 7);
    ASSERT_EQ(d.strings.size(), 200u);
    EXPECT_EQ(d.labels.sum(), 100);
    for (std::size_t i = 0; i < d.strings.size(); ++i) {
      EXPECT_EQ(data::tomita_accepts(g, d.strings[i]), d.labels(static_cast<index_t>(i)) == 1);
      EXPECT_GE(d.strings[i].size(), 1);
      EXPECT_LE(d.strings[i].size(), 12);
    }
    EXPECT_EQ(data::tomita_dataset(g, 200, 1, 12, 7).strings, d.strings);
  }
  EXPECT_THROW(data::tomita_dataset(1, 10, 5, 3, 1), invalid_argument);
}

/// An automaton whose abstract states are the true DFA's states gives back exactly that DFA.
TEST(Tomita, ExtractDfaFromAnExactAbstraction) {
  for (int g = 1; g <= 7; ++g) {
    const auto dfa = data::tomita_dfa(g);
    const auto d = data::tomita_dataset(g, 400, 1, 10, 3);
    std::vector<index_vector> states, labels;
    for (const auto& s : d.strings) {
      index_vector st(s.size()), lb(s.size());
      index_t q = 0;
      for (index_t t = 0; t < s.size(); ++t) {
        q = dfa.next[static_cast<std::size_t>(q)][static_cast<std::size_t>(s(t))];
        st(t) = q + 1;
        lb(t) = dfa.accepting[static_cast<std::size_t>(q)];
      }
      states.push_back(st);
      labels.push_back(lb);
    }
    const index_t m = dfa.size() + 1;
    const auto a = automaton::build(states, labels, d.strings, m, 2, 2);
    matrix<double> pi = matrix<double>::Constant(m, 2, 0.5);
    for (index_t q = 0; q < dfa.size(); ++q) {
      pi(q + 1, 0) = dfa.accepting[static_cast<std::size_t>(q)] ? 0.0 : 1.0;
      pi(q + 1, 1) = 1.0 - pi(q + 1, 0);
    }
    const auto x = extract_dfa(a, pi);
    for (const auto& s : all_strings(9)) ASSERT_EQ(x.classify(s) == 1, dfa.accepts(s)) << "grammar " << g;
    EXPECT_LE(data::minimal_size(x.as_dfa(1)), dfa.size() + 1);
    EXPECT_EQ(x.minimal_states(1), dfa.size());  // the initial state's free output merges it with q0
  }
  EXPECT_THROW(extract_dfa(automaton{}, matrix<double>()), invalid_argument);
}

}  // namespace abstraction_tomita_tests
