// The automaton: counts, postings and marginals against a brute-force reference, incremental updates,
// save/load, DOT/JSON export, bad input.
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <rnnabs/abstraction/automaton.hpp>
#include <rnnabs/abstraction/export.hpp>
#include <rnnabs/io/npz.hpp>
#include <unistd.h>

#include "common.hpp"

namespace abstraction_automaton_tests {

using namespace rnnabs;
using abstraction_test::make_paths;
using abstraction_test::random_paths;
using key5 = std::array<index_t, 5>;
using key4 = std::array<index_t, 4>;

struct reference {
  std::map<key5, std::vector<posting>> t5;
  std::map<key4, std::vector<posting>> t4;
  explicit reference(const random_paths& p, const std::set<index_t>& skip = {}, index_t id0 = 0) { add(p, skip, id0); }
  void add(const random_paths& p, const std::set<index_t>& skip = {}, index_t id0 = 0) {
    for (std::size_t i = 0; i < p.states.size(); ++i) {
      const auto id = static_cast<index_t>(i) + id0;
      if (skip.count(id)) continue;
      index_t s = 0, l = 0;
      for (index_t j = 0; j < p.states[i].size(); ++j) {
        const index_t w = p.tokens.empty() ? 0 : p.tokens[i](j), s2 = p.states[i](j), l2 = p.labels[i](j);
        const posting q{static_cast<std::int32_t>(id), static_cast<std::int32_t>(j)};
        t5[{s, l, w, l2, s2}].push_back(q);
        t4[{s, l, l2, s2}].push_back(q);
        s = s2;
        l = l2;
      }
    }
  }
};

void expect_matches(const automaton& a, const reference& ref, index_t m, index_t C, index_t V) {
  ASSERT_EQ(a.n_transitions(), static_cast<index_t>(ref.t5.size()));
  ASSERT_EQ(a.n_edges(), static_cast<index_t>(ref.t4.size()));
  index_t i = 0, total = 0;
  for (const auto& [k, posts] : ref.t5) {  // same order: sorted tuples
    const transition t{k[0], k[1], k[2], k[3], k[4]};
    EXPECT_EQ(a.transition_at(i), t);
    EXPECT_EQ(a.count(t), static_cast<index_t>(posts.size()));
    const auto got = a.postings(t);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), posts.begin(), posts.end()));
    total += static_cast<index_t>(posts.size());
    ++i;
  }
  EXPECT_EQ(a.total_count(), total);
  for (const auto& [k, posts] : ref.t4) {
    const edge e{k[0], k[1], k[2], k[3]};
    EXPECT_EQ(a.count(e), static_cast<index_t>(posts.size()));
    const auto got = a.postings(e);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), posts.begin(), posts.end()));
    std::set<index_t> ids;
    for (auto p : posts) ids.insert(p.sample);
    const auto s = a.samples(e);
    EXPECT_TRUE(std::equal(s.begin(), s.end(), ids.begin(), ids.end()));
  }
  // Marginals, brute force.
  for (index_t s = 0; s < m; ++s)
    for (index_t l = 0; l < C; ++l) {
      index_t out = 0;
      for (const auto& [k, posts] : ref.t4)
        if (k[0] == s && k[1] == l) out += static_cast<index_t>(posts.size());
      EXPECT_EQ(a.out_count(s, l), out);
      for (const auto& [k, posts] : ref.t4)
        if (k[0] == s && k[1] == l) {
          const auto p = a.edge_probability(edge{k[0], k[1], k[2], k[3]});
          ASSERT_TRUE(p.has_value());
          EXPECT_DOUBLE_EQ(*p, static_cast<double>(posts.size()) / static_cast<double>(out));
        }
      if (out == 0) {
        EXPECT_FALSE(a.edge_probability(edge{s, l, 0, 1}).has_value());
      }
      for (index_t w = 0; w < V; ++w) {
        index_t outw = 0;
        for (const auto& [k, posts] : ref.t5)
          if (k[0] == s && k[1] == l && k[2] == w) outw += static_cast<index_t>(posts.size());
        EXPECT_EQ(a.out_count(s, l, w), outw);
        for (const auto& [k, posts] : ref.t5)
          if (k[0] == s && k[1] == l && k[2] == w) {
            EXPECT_DOUBLE_EQ(*a.edge_probability(transition{k[0], k[1], k[2], k[3], k[4]}),
                             static_cast<double>(posts.size()) / static_cast<double>(outw));
          }
      }
    }
  for (index_t w = 0; w < V; ++w) {
    std::vector<std::pair<transition, index_t>> want;
    for (const auto& [k, posts] : ref.t5)
      if (k[2] == w) want.push_back({transition{k[0], k[1], k[2], k[3], k[4]}, static_cast<index_t>(posts.size())});
    EXPECT_EQ(a.token_contexts(w), want);
  }
  for (index_t to = 0; to < m; ++to) {
    std::map<index_t, index_t> pred;
    for (const auto& [k, posts] : ref.t4)
      if (k[3] == to) pred[k[0]] += static_cast<index_t>(posts.size());
    const std::vector<std::pair<index_t, index_t>> want(pred.begin(), pred.end());
    EXPECT_EQ(a.predecessors(to), want);
    // Transitive closure by fixed point.
    std::set<index_t> reach;
    bool grew = true;
    while (grew) {
      grew = false;
      for (const auto& [k, posts] : ref.t4)
        if ((k[3] == to || reach.count(k[3])) && !reach.count(k[0])) grew = reach.insert(k[0]).second || grew;
    }
    const auto r = a.reachable_into(to);
    EXPECT_TRUE(std::equal(r.begin(), r.end(), reach.begin(), reach.end())) << "to " << to;
  }
}

TEST(Automaton, MatchesBruteForceWithTokens) {
  const index_t m = 6, C = 3, V = 4;
  const auto p = make_paths(120, 9, m, C, V, 3);
  const auto a = automaton::build(p.states, p.labels, p.tokens, m, C);
  EXPECT_EQ(a.vocab_size(), V);
  EXPECT_TRUE(a.consumes_tokens());
  expect_matches(a, reference(p), m, C, V);
}

TEST(Automaton, MatchesBruteForceWithoutTokens) {
  const index_t m = 9, C = 2;
  const auto p = make_paths(200, 12, m, C, 1, 5);
  const auto a = automaton::build(p.states, p.labels, {}, m, C);
  EXPECT_EQ(a.vocab_size(), 1);
  EXPECT_FALSE(a.consumes_tokens());
  expect_matches(a, reference(p), m, C, 1);
  // Without tokens, transitions and edges coincide.
  EXPECT_EQ(a.n_transitions(), a.n_edges());
}

TEST(Automaton, IncrementalAddAndRemoveMatchRebuild) {
  const index_t m = 5, C = 3, V = 3;
  const auto p = make_paths(80, 7, m, C, V, 11);
  const auto q = make_paths(30, 7, m, C, V, 12);
  auto a = automaton::build(p.states, p.labels, p.tokens, m, C, V);
  const auto ids = a.add(q.states, q.labels, q.tokens);
  ASSERT_EQ(ids.size(), 30u);
  EXPECT_EQ(ids.front(), 80);
  reference ref(p);
  ref.add(q, {}, 80);
  expect_matches(a, ref, m, C, V);
  EXPECT_EQ(a.n_samples(), 110);

  const std::set<index_t> gone = {0, 5, 79, 80, 109};
  a.remove(std::vector<index_t>(gone.begin(), gone.end()));
  EXPECT_EQ(a.n_live_samples(), 105);
  EXPECT_FALSE(a.is_live(5));
  reference ref2(p, gone);
  ref2.add(q, gone, 80);
  expect_matches(a, ref2, m, C, V);
  EXPECT_THROW(a.remove({5}), invalid_argument);
  EXPECT_THROW(a.remove({110}), invalid_argument);
}

TEST(Automaton, SaveLoadRoundTrip) {
  const auto p = make_paths(60, 8, 7, 2, 5, 21);
  auto a = automaton::build(p.states, p.labels, p.tokens, 7, 2, 6);
  a.remove({3, 4});
  const auto path = std::filesystem::temp_directory_path() / "rnnabs_test_automaton.npz";
  a.save(path);
  const automaton b = automaton::load(path);
  EXPECT_TRUE(a == b);
  EXPECT_EQ(b.vocab_size(), 6);
  EXPECT_EQ(b.n_live_samples(), 58);
  EXPECT_THROW(automaton::load(std::filesystem::temp_directory_path() / "rnnabs_no_such_automaton.npz"), io_error);
  std::filesystem::remove(path);
}

// Fuzzing finding (docs/fuzzing.md, archive #1): automaton::load summed the 'lengths' member and
// allocated a step index of that many entries (a crafted file asked for 4 TiB, std::bad_alloc /
// an ASan allocation-size abort), and a sum that overflows was undefined behaviour. The size
// tables derived from 'meta' (m^2 and V + 1 entries) are now bounded by io::max_alloc_bytes too.
TEST(Automaton, LoadRejectsHugeLengthsAndSizesWithIoError) {
  const auto p = make_paths(6, 4, 4, 2, 3, 5);
  const auto a = automaton::build(p.states, p.labels, p.tokens, 4, 2, 3);
  const auto dir = std::filesystem::temp_directory_path() /
                   ("rnnabs_test_automaton_fuzz_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  a.save(dir / "good.npz");
  const auto members = io::npz_read(dir / "good.npz");
  const auto with = [&](const std::string& name, const xt::xarray<std::int64_t>& v) {
    auto m = members;
    m[name] = io::to_npy_array(v);
    const auto f = dir / (name + ".npz");
    io::save_npz(f, m);
    return f;
  };
  EXPECT_NO_THROW(automaton::load(dir / "good.npz"));
  xt::xarray<std::int64_t> len = xt::xarray<std::int64_t>::from_shape({6});
  len.fill(std::int64_t{1} << 40);  // 6 * 2^40 steps: far over the limit
  EXPECT_THROW(automaton::load(with("lengths", len)), io_error);
  len.fill(std::int64_t{1} << 62);  // the sum overflows int64
  EXPECT_THROW(automaton::load(with("lengths", len)), io_error);
  // meta = [m, C, V, tokens]: m = 2^31 passes the 64-bit key test but needs an m^2 edge table.
  EXPECT_THROW(automaton::load(with("meta", xt::xarray<std::int64_t>{std::int64_t{1} << 31, 1, 1, 0})), io_error);
  EXPECT_THROW(automaton::load(with("meta", xt::xarray<std::int64_t>{2, 1, std::int64_t{1} << 59, 1})), io_error);
  std::filesystem::remove_all(dir);
}

TEST(Automaton, DotAndJsonParseBack) {
  const auto p = make_paths(40, 6, 5, 2, 3, 31);
  const auto a = automaton::build(p.states, p.labels, p.tokens, 5, 2);
  const nlohmann::json j = nlohmann::json::parse(to_json(a, {.postings = true}).dump());
  EXPECT_EQ(j["format"], "rnnabs-automaton");
  EXPECT_EQ(j["n_states"].get<index_t>(), 5);
  ASSERT_EQ(static_cast<index_t>(j["transitions"].size()), a.n_transitions());
  index_t total = 0;
  for (std::size_t i = 0; i < j["transitions"].size(); ++i) {
    const auto& e = j["transitions"][i];
    const transition t{e["from"], e["label"], e["token"], e["next_label"], e["to"]};
    EXPECT_EQ(e["count"].get<index_t>(), a.count(t));
    EXPECT_EQ(static_cast<index_t>(e["postings"].size()), a.count(t));
    total += e["count"].get<index_t>();
  }
  EXPECT_EQ(total, a.total_count());

  // DOT: parse every "sX -> sY [label=\"N (p)\"]" line back into the state-to-state counts.
  const std::string dot = to_dot(a);
  EXPECT_EQ(dot.rfind("digraph", 0), 0u);
  const matrix<index_t> st = a.state_transition_counts();
  index_t edges = 0;
  std::istringstream is(dot);
  for (std::string line; std::getline(is, line);) {
    long s = 0, t = 0, c = 0;
    if (std::sscanf(line.c_str(), " s%ld -> s%ld [label=\"%ld", &s, &t, &c) == 3) {
      EXPECT_EQ(st(s, t), c);
      ++edges;
    }
  }
  EXPECT_EQ(edges, (st.array() > 0).count());
  EXPECT_NE(to_dot(a, {.per_label = true}).find("->"), std::string::npos);
}

TEST(Automaton, TraceDotParsesBackIntoThePath) {
  const auto p = make_paths(40, 6, 5, 2, 3, 31);
  const auto a = automaton::build(p.states, p.labels, p.tokens, 5, 2);
  // Sample 3's own path: every step's edge, label and training count come back out of the DOT.
  std::vector<transition> path;
  index_t s = 0, l = 0;
  for (index_t j = 0; j < p.states[3].size(); ++j) {
    path.push_back({s, l, p.tokens[3](j), p.labels[3](j), p.states[3](j)});
    s = p.states[3](j);
    l = p.labels[3](j);
  }
  const std::string dot = trace_to_dot(a, path, {.token_name = [](index_t w) { return "w" + std::to_string(w); }});
  EXPECT_EQ(dot.rfind("digraph", 0), 0u);
  std::istringstream is(dot);
  index_t steps = 0, faded = 0;
  for (std::string line; std::getline(is, line);) {
    long from = 0, to = 0, j = 0, tok = 0, lab = 0, next = 0, c = 0;
    if (std::sscanf(line.c_str(),
                    " s%ld -> s%ld [penwidth=2, color=blue, fontcolor=blue, label=\"%ld: w%ld, %ld->%ld (%ld)", &from,
                    &to, &j, &tok, &lab, &next, &c) == 7) {
      ASSERT_LT(j, static_cast<long>(path.size()));
      const transition& t = path[static_cast<std::size_t>(j)];
      EXPECT_EQ(transition({from, lab, tok, next, to}), t);
      EXPECT_EQ(c, a.count(t));
      EXPECT_GE(c, 1);  // the sample is in the automaton
      ++steps;
    } else if (line.find("color=gray85") != std::string::npos) {
      ++faded;
    }
  }
  EXPECT_EQ(steps, static_cast<index_t>(path.size()));
  EXPECT_EQ(faded, (a.state_transition_counts().array() > 0).count());
  EXPECT_EQ(trace_to_dot(a, path, {.automaton = false}).find("gray85"), std::string::npos);
  EXPECT_THROW(trace_to_dot(a, std::vector<transition>{}), invalid_argument);
}

TEST(Automaton, BadInputGetsTypedErrors) {
  const auto p = make_paths(10, 5, 4, 2, 3, 41);
  EXPECT_THROW(automaton::build({}, {}, {}, 4, 2), invalid_argument);                       // empty data
  EXPECT_THROW(automaton::build(p.states, p.labels, p.tokens, 4, 1), invalid_argument);     // labels >= C
  EXPECT_THROW(automaton::build(p.states, p.labels, p.tokens, 3, 2), invalid_argument);     // states >= m
  EXPECT_THROW(automaton::build(p.states, p.labels, p.tokens, 4, 2, 2), invalid_argument);  // tokens >= V
  auto bad = p;
  bad.states[0](0) = 0;  // the initial state inside a trace
  EXPECT_THROW(automaton::build(bad.states, bad.labels, bad.tokens, 4, 2), invalid_argument);
  bad = p;
  bad.labels[1].resize(bad.labels[1].size() + 1);
  EXPECT_THROW(automaton::build(bad.states, bad.labels, bad.tokens, 4, 2), invalid_argument);
  auto a = automaton::build(p.states, p.labels, p.tokens, 4, 2, 3);
  auto unknown = p;
  unknown.tokens[0](0) = 3;  // not in the vocabulary
  EXPECT_THROW(a.add(unknown.states, unknown.labels, unknown.tokens), invalid_argument);
  EXPECT_THROW(a.add(p.states, p.labels, {}), invalid_argument);  // token automaton, no tokens
  EXPECT_THROW((void)a.count(transition{0, 0, 5, 0, 1}), invalid_argument);
  EXPECT_THROW((void)a.token_contexts(-1), invalid_argument);
  EXPECT_THROW((void)a.predecessors(4), invalid_argument);
  EXPECT_EQ(a.n_samples(), 10);  // failed adds leave it unchanged
}

}  // namespace abstraction_automaton_tests
