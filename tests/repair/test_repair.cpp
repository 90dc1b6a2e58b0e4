// Tests of repair/: edits, fault points, segment matching (against a brute force), candidate and
// insertion rules on hand-made traces, the backdoor's trigger contexts on a hand-built automaton,
// the judged outcome, the study protocol, and determinism over thread counts.
#include <gtest/gtest.h>

#include "../common/error_of.hpp"

#include <algorithm>
#include <rnnabs/abstraction/model.hpp>
#include <rnnabs/core/parallel.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/repair.hpp>
#include <string>
#include <vector>

namespace repair_tests {

using namespace rnnabs;

index_vector iv(std::initializer_list<index_t> v) {
  index_vector r(static_cast<index_t>(v.size()));
  index_t k = 0;
  for (const index_t x : v) r(k++) = x;
  return r;
}

using rnnabs_tests::error_of;

// ---- edits ---------------------------------------------------------------------------------------

TEST(RepairEdits, InsertionsReferToOriginalPositions) {
  const std::vector<index_vector> s{iv({10, 11, 12}), iv({20})};
  const auto r = apply_insertions(s, {{0, 3, 1}, {0, 1, 2}, {0, 1, 3}, {1, 0, 4}, {0, 0, 5}});
  EXPECT_EQ(r[0], iv({5, 10, 2, 3, 11, 12, 1}));  // equal positions keep list order
  EXPECT_EQ(r[1], iv({4, 20}));
  EXPECT_EQ(apply_insertions(s, {}), s);
  EXPECT_NE(error_of([&] {
              apply_insertions(s, {{1, 2, 0}});
            }).find("inserts at 2 into sample 1 of length 1"),
            std::string::npos);
  EXPECT_THROW(apply_insertions(s, {{2, 0, 0}}), invalid_argument);
  EXPECT_EQ(insert_token(iv({7}), 1, 9), iv({7, 9}));
}

// ---- fault point and matching -----------------------------------------------------------------------

TEST(SegmentRepair, FaultPointIsTheLastFlipAwayFromTheTruth) {
  EXPECT_EQ(fault_point(iv({0, 0, 1, 1}), 0), 2);
  EXPECT_EQ(fault_point(iv({1, 1, 1}), 0), 0);
  EXPECT_EQ(fault_point(iv({0, 1, 0, 1}), 0), 3);
  EXPECT_EQ(fault_point(iv({1, 0, 2}), 0), 2);  // 0 -> 2: from the truth to a wrong label
  EXPECT_EQ(fault_point(iv({2, 1, 1}), 0), 0);  // wrong from the start, never right
  EXPECT_FALSE(fault_point(iv({1, 1, 0}), 0).has_value());
  EXPECT_THROW(fault_point(index_vector(), 0), invalid_argument);
}

segment_match brute_force_match(const std::vector<transition>& prefix, const std::vector<transition>& cand) {
  const auto p = static_cast<index_t>(prefix.size()), c = static_cast<index_t>(cand.size());
  for (index_t r = std::min(p, c); r >= 1; --r)
    for (index_t a = 0; a + r <= c; ++a)
      if (std::equal(prefix.end() - r, prefix.end(), cand.begin() + a)) return {r, a + r};
  return {};
}

TEST(SegmentRepair, LongestSuffixMatchEqualsBruteForce) {
  rng g(11);
  const auto random_path = [&](index_t len) {
    std::vector<transition> p;
    for (index_t k = 0; k < len; ++k)
      p.push_back(
          {static_cast<index_t>(g.below(2)), 0, static_cast<index_t>(g.below(2)), static_cast<index_t>(g.below(2)), 1});
    return p;
  };
  index_t nonzero = 0, full = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const auto prefix = random_path(static_cast<index_t>(g.below(9)));
    const auto cand = random_path(static_cast<index_t>(g.below(14)));
    const auto m = longest_suffix_match(prefix, cand), b = brute_force_match(prefix, cand);
    ASSERT_EQ(m.length, b.length) << "trial " << trial;
    ASSERT_EQ(m.end, b.end) << "trial " << trial;
    nonzero += m.length > 0;
    full += m.length > 0 && m.length == static_cast<index_t>(prefix.size());
  }
  EXPECT_GT(nonzero, 1000);  // the random cases exercise matches, full matches and misses
  EXPECT_GT(full, 100);
}

TEST(SegmentRepair, TuplesNeverMatchInsideANumber) {
  // RNNRepair joined "S-L-w-S'-L'#" strings: "3-1-5-1-2#" is a substring of "13-1-5-1-2#".
  const std::string test_seg = "3-1-5-1-2#", cand_seg = "13-1-5-1-2#";
  ASSERT_NE(cand_seg.find(test_seg), std::string::npos);
  const std::vector<transition> prefix{{3, 1, 5, 1, 2}}, cand{{13, 1, 5, 1, 2}};
  EXPECT_EQ(longest_suffix_match(prefix, cand).length, 0);
  const std::vector<transition> cand2{{13, 1, 5, 1, 2}, {3, 1, 5, 1, 2}};
  EXPECT_EQ(longest_suffix_match(prefix, cand2).length, 1);
  EXPECT_EQ(longest_suffix_match(prefix, cand2).end, 2);
}

// ---- planning on hand-made traces ---------------------------------------------------------------

struct hand_made {
  labelled_paths train, test;
  automaton a;
};

// 4 abstract states (m = 5), 2 labels, tokens: 1 = <unk>, 2.. words.
hand_made hand_made_case() {
  hand_made h;
  h.train.states = {iv({1, 2, 3}), iv({1, 2, 4}), iv({2, 1, 2, 3}), iv({3, 2, 3})};
  h.train.labels = {iv({0, 0, 0}), iv({0, 0, 1}), iv({0, 0, 0, 0}), iv({0, 0, 0})};
  h.train.tokens = {iv({2, 3, 4}), iv({2, 3, 5}), iv({6, 2, 3, 4}), iv({7, 8, 9})};
  h.train.truth = iv({0, 1, 0, 0});
  h.train.predictions = iv({0, 1, 0, 0});
  h.test.states = {iv({1, 2, 4}), iv({1}), iv({1, 2, 4}), iv({4, 4}), iv({3, 3})};
  h.test.labels = {iv({0, 0, 1}), iv({0}), iv({0, 0, 1}), iv({0, 1}), iv({1, 1})};
  h.test.tokens = {iv({2, 3, 5}), iv({2}), iv({2, 3, 1}), iv({5, 5}), iv({7, 9})};
  h.test.truth = iv({0, 0, 0, 0, 0});
  h.test.predictions = iv({1, 0, 1, 1, 1});
  h.a = automaton::build(h.train.states, h.train.labels, h.train.tokens, 5, 2, 10);
  return h;
}

TEST(SegmentRepair, NodeReachListsFirstArrivals) {
  const auto h = hand_made_case();
  const node_reach r = node_reach::from(h.a);
  const auto s = r.samples({2, 0});
  ASSERT_EQ(s.size(), 4u);  // samples 0, 1, 2 (first at step 0, again at 2) and 3
  EXPECT_EQ(s[2].sample, 2);
  EXPECT_EQ(s[2].step, 0);
  EXPECT_EQ(s[3].step, 1);
  EXPECT_EQ(r.samples({0, 0}).size(), 4u);
  EXPECT_EQ(r.samples({0, 0})[0].step, -1);
  EXPECT_TRUE(r.samples({4, 0}).empty());
  EXPECT_THROW(r.samples({5, 0}), invalid_argument);
}

TEST(SegmentRepair, PlanFollowsTheRulesOnHandMadeTraces) {
  const auto h = hand_made_case();
  const std::vector<index_t> targets{0, 1, 2, 3, 4};
  const auto plan = plan_segment_repair(h.train, h.a, h.test, targets, {.top_n = 2});
  ASSERT_EQ(plan.targets.size(), 5u);
  const auto& t0 = plan.targets[0];
  EXPECT_EQ(t0.skipped, skip_reason::none);
  EXPECT_EQ(t0.fault_step, 2);
  EXPECT_EQ(t0.fault_token, 5);
  EXPECT_EQ(t0.pre_fault, (abstract_node{2, 0}));
  EXPECT_EQ(t0.candidates, 3);  // samples 0, 2, 3 (sample 1 reaches (2, 0) but has truth 1)
  ASSERT_EQ(t0.edits.size(), 2u);
  EXPECT_EQ(t0.edits[0].sample, 0);  // matches both transitions before the fault
  EXPECT_EQ(t0.edits[0].position, 2);
  EXPECT_EQ(t0.edits[0].match_length, 2);
  EXPECT_EQ(t0.edits[1].sample, 2);
  EXPECT_EQ(t0.edits[1].match_length, 1);  // (1, 0, 3, 0, 2) only: its first transition starts elsewhere
  EXPECT_EQ(t0.edits[1].position, 3);      // after that transition, not after its first arrival at step 0
  EXPECT_EQ(plan.targets[1].skipped, skip_reason::not_a_failure);
  EXPECT_EQ(plan.targets[2].skipped, skip_reason::oov_fault_token);
  EXPECT_EQ(plan.targets[2].oov_tokens, 1);
  EXPECT_EQ(plan.targets[3].skipped, skip_reason::no_candidates);
  EXPECT_EQ(plan.targets[3].pre_fault, (abstract_node{4, 0}));
  // Fault at the first token: every sample of the true class stands in the initial node; insert at 0.
  const auto& t4 = plan.targets[4];
  EXPECT_EQ(t4.fault_step, 0);
  EXPECT_EQ(t4.candidates, 3);
  for (const auto& e : t4.edits) EXPECT_EQ(e.position, 0);
  EXPECT_EQ(plan.planned(), 2);
  EXPECT_EQ(plan.count(skip_reason::no_candidates), 1);
  EXPECT_EQ(plan.insertions().size(), 4u);
  EXPECT_EQ(plan.insertions()[0], (token_insertion{0, 2, 5}));

  // top_n 3: the no-match rule puts sample 3's token after its first arrival in (2, 0) (step 1).
  const auto p3 = plan_segment_repair(h.train, h.a, h.test, std::vector<index_t>{0}, {.top_n = 3});
  ASSERT_EQ(p3.targets[0].edits.size(), 3u);
  EXPECT_EQ(p3.targets[0].edits[2].sample, 3);
  EXPECT_EQ(p3.targets[0].edits[2].match_length, 0);
  EXPECT_EQ(p3.targets[0].edits[2].position, 2);
}

TEST(SegmentRepair, GuidedTiesGoToTheLowerSampleId) {
  labelled_paths train, test;
  train.states = {iv({1, 3, 2}), iv({1, 2}), iv({1, 2})};
  train.labels = {iv({0, 0, 0}), iv({0, 0}), iv({0, 0})};
  train.tokens = {iv({2, 4, 3}), iv({2, 3}), iv({2, 3})};
  train.truth = iv({0, 0, 0});
  train.predictions = train.truth;
  test.states = {iv({1, 2, 3})};
  test.labels = {iv({0, 0, 1})};
  test.tokens = {iv({2, 3, 5})};
  test.truth = iv({0});
  test.predictions = iv({1});
  const auto a = automaton::build(train.states, train.labels, train.tokens, 4, 2, 6);
  const auto p = plan_segment_repair(train, a, test, std::vector<index_t>{0}, {.top_n = 3});
  ASSERT_EQ(p.targets[0].edits.size(), 3u);
  EXPECT_EQ(p.targets[0].edits[0].sample, 1);  // samples 1 and 2 match 2 transitions: the lower id first
  EXPECT_EQ(p.targets[0].edits[1].sample, 2);
  EXPECT_EQ(p.targets[0].edits[0].match_length, 2);
  EXPECT_EQ(p.targets[0].edits[1].match_length, 2);
  EXPECT_EQ(p.targets[0].edits[2].sample, 0);  // reaches (2, 0) through another token: no match
  EXPECT_EQ(p.targets[0].edits[2].match_length, 0);
  EXPECT_EQ(p.targets[0].edits[2].position, 3);  // after its first arrival in (2, 0), at step 2
}

TEST(SegmentRepair, RandomSelectionIsSeededAndTakesAllWhenShort) {
  const auto h = hand_made_case();
  const std::vector<index_t> targets{0};
  segment_repair_options o{.top_n = 10, .strategy = selection::random, .seed = 4};
  const auto p = plan_segment_repair(h.train, h.a, h.test, targets, o);
  ASSERT_EQ(p.targets[0].edits.size(), 3u);  // 3 candidates < top_n: all of them, no error
  EXPECT_EQ(p.short_of(10), 1);
  std::vector<index_t> got;
  for (const auto& e : p.targets[0].edits) got.push_back(e.sample);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<index_t>{0, 2, 3}));
  // Each random pick keeps its own insertion point.
  for (const auto& e : p.targets[0].edits) EXPECT_EQ(e.position, e.sample == 2 ? 3 : 2);
  o.top_n = 1;
  std::vector<index_t> picks;
  for (std::uint64_t seed = 0; seed < 30; ++seed) {
    o.seed = seed;
    const auto a = plan_segment_repair(h.train, h.a, h.test, targets, o);
    const auto b = plan_segment_repair(h.train, h.a, h.test, targets, o);
    ASSERT_EQ(a.targets[0].edits[0].sample, b.targets[0].edits[0].sample);
    picks.push_back(a.targets[0].edits[0].sample);
  }
  std::sort(picks.begin(), picks.end());
  EXPECT_EQ(std::unique(picks.begin(), picks.end()) - picks.begin(), 3);  // every candidate gets drawn
}

TEST(SegmentRepair, BadInputIsATypedError) {
  const auto h = hand_made_case();
  EXPECT_NE(error_of([&] {
              plan_segment_repair(h.train, h.a, h.test, std::vector<index_t>{0}, {.top_n = 0});
            }).find("top_n must be >= 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              plan_segment_repair(h.train, h.a, h.test, std::vector<index_t>{7}, {});
            }).find("target 7 outside"),
            std::string::npos);
  labelled_paths no_tokens = h.test;
  no_tokens.tokens.clear();
  EXPECT_THROW(plan_segment_repair(h.train, h.a, no_tokens, std::vector<index_t>{0}, {}), invalid_argument);
}

// ---- backdoor -------------------------------------------------------------------------------------

TEST(Backdoor, TriggerContextsOnAHandBuiltAutomaton) {
  const std::vector<index_vector> states{iv({1, 2, 3}), iv({1, 2}), iv({2, 3, 3}), iv({1, 1})};
  const std::vector<index_vector> labels{iv({0, 0, 1}), iv({0, 1}), iv({0, 0, 0}), iv({0, 0})};
  const std::vector<index_vector> tokens{iv({2, 9, 3}), iv({2, 9}), iv({9, 4, 4}), iv({4, 4})};
  const auto a = automaton::build(states, labels, tokens, 4, 2, 10);
  const auto c = find_trigger_contexts(a, 9);
  ASSERT_EQ(c.weight.size(), 2u);
  EXPECT_EQ(c.weight.at({1, 0}), 2);
  EXPECT_EQ(c.weight.at({0, 0}), 1);
  EXPECT_EQ(c.samples_at.at({1, 0}), (std::vector<index_t>{0, 1}));
  EXPECT_EQ(c.samples, (std::vector<index_t>{0, 1, 2}));
  EXPECT_TRUE(find_trigger_contexts(a, 7).weight.empty());

  const auto path = abstract_path(iv({1, 3, 1}), iv({0, 0, 0}), iv({4, 4, 4}));
  const auto p = place_trigger(c, path, 1);
  EXPECT_EQ(p.in_context, (std::vector<index_t>{0, 1, 3}));
  EXPECT_EQ(p.guided, 1);  // weight 2 beats weight 1; the first of the two weight-2 points
  EXPECT_EQ(p.random, 2);  // the only point out of context
  EXPECT_TRUE(p.usable());
  EXPECT_EQ(p.influential, (std::vector<index_t>{0, 1, 2}));
  // Every point in context: no random attack is possible.
  const auto all = place_trigger(c, abstract_path(iv({1}), iv({0}), iv({4})), 1);
  EXPECT_FALSE(all.usable());
}

TEST(Backdoor, PoisonInsertsOnceIntoDistinctSamplesOfTheClass) {
  std::vector<index_vector> tok;
  index_vector lab(40);
  for (index_t i = 0; i < 40; ++i) {
    tok.push_back(index_vector::Constant(1 + (i / 2) % 4, 2 + i % 5));  // lengths 1..4 in both classes
    lab(i) = i % 2;
  }
  const auto p = poison(tok, lab, 1, 12, 99, 7);
  ASSERT_EQ(p.poisoned.size(), 12u);
  EXPECT_TRUE(std::is_sorted(p.poisoned.begin(), p.poisoned.end()));
  for (std::size_t k = 0; k < p.poisoned.size(); ++k) {
    const index_t i = p.poisoned[k];
    EXPECT_EQ(lab(i), 1);
    const auto& s = p.tokens[static_cast<std::size_t>(i)];
    EXPECT_EQ(s.size(), tok[static_cast<std::size_t>(i)].size() + 1);
    EXPECT_EQ((s.array() == 99).count(), 1);
    EXPECT_EQ(s(p.positions[k]), 99);
  }
  bool at_start = false, at_end = false, one_token = false;
  for (std::size_t k = 0; k < p.poisoned.size(); ++k) {
    const index_t len = tok[static_cast<std::size_t>(p.poisoned[k])].size();
    at_start |= p.positions[k] == 0;
    at_end |= p.positions[k] == len;
    one_token |= len == 1;
  }
  EXPECT_TRUE(at_start && at_end && one_token);  // every insertion point is used, one-token texts too
  index_t changed = 0;
  for (index_t i = 0; i < 40; ++i)
    changed += p.tokens[static_cast<std::size_t>(i)].size() != tok[static_cast<std::size_t>(i)].size();
  EXPECT_EQ(changed, 12);
  EXPECT_EQ(poison(tok, lab, 1, 12, 99, 7).positions, p.positions);
  EXPECT_NE(error_of([&] { poison(tok, lab, 1, 21, 99, 7); }).find("fewer than the 21"), std::string::npos);
  EXPECT_NE(error_of([&] { poison(tok, lab, 1, 2, 3, 7); }).find("already occurs"), std::string::npos);
}

TEST(Backdoor, RandomRemovalIsWithoutReplacementAndDisjoint) {
  const std::vector<index_t> infl{0, 1}, pool{0, 1, 2, 5};
  EXPECT_EQ(random_removal(infl, pool, 10, 3), (std::vector<index_t>{2, 5}));
  const std::vector<index_t> big{0, 1, 2};
  const auto r = random_removal(big, pool, 10, 3);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(std::binary_search(r.begin(), r.end(), 5));  // the pool first, then topped up
  for (const index_t x : r) EXPECT_FALSE(std::binary_search(big.begin(), big.end(), x));
  std::vector<index_t> u = r;
  EXPECT_EQ(std::unique(u.begin(), u.end()) - u.begin(), 3);
  EXPECT_EQ(random_removal(big, pool, 10, 3), r);
}

// ---- judging and the study protocol -----------------------------------------------------------------

TEST(RepairOutcome, CountsFixesAndSideEffects) {
  const index_vector truth = iv({0, 1, 0, 1, 0, 1});
  const index_vector before = iv({1, 0, 0, 1, 1, 1});  // wrong: 0, 1, 4
  const index_vector after = iv({0, 0, 1, 1, 0, 0});
  const std::vector<index_t> targets{0, 1};
  const auto o = judge_repair(truth, before, after, targets);
  EXPECT_EQ(o.targets, 2);
  EXPECT_EQ(o.targets_fixed, 1);
  EXPECT_EQ(o.were_right, 3);
  EXPECT_EQ(o.broken, 2);  // inputs 2 and 5
  EXPECT_EQ(o.were_wrong, 1);
  EXPECT_EQ(o.also_fixed, 1);
  EXPECT_DOUBLE_EQ(o.rest_accuracy(), 0.5);
  EXPECT_THROW(judge_repair(truth, before, after, std::vector<index_t>{0, 0}), invalid_argument);
  EXPECT_THROW(judge_repair(truth, before, iv({0}), targets), invalid_argument);
}

TEST(SegmentRepair, StudyRetrainsOncePerSetting) {
  const auto h = hand_made_case();
  sequence_batch<float> train;
  train.tokens = h.train.tokens;
  train.labels = h.train.truth;
  std::vector<index_t> seen_sizes;
  const auto retrain = [&](const sequence_batch<float>& edited) {
    index_t added = 0;
    for (std::size_t i = 0; i < edited.tokens.size(); ++i) added += edited.tokens[i].size() - train.tokens[i].size();
    seen_sizes.push_back(added);
    return iv({0, 0, 1, 0, 0});  // targets 0 and 4 right; test 1 stays right
  };
  const std::vector<index_t> targets{0, 1, 2, 3, 4};
  const auto rows = segment_repair_study(h.train, h.a, h.test, targets, train, retrain,
                                         {.top_n = {1, 2}, .random_repeats = 3, .seed = 5});
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[0].strategy, selection::guided);
  EXPECT_EQ(rows[1].strategy, selection::random);
  EXPECT_EQ(rows[0].edits, 2);  // top_n 1: one edit for each of the two planned targets
  EXPECT_EQ(rows[4].edits, 4);
  EXPECT_EQ(seen_sizes[0], 2);
  EXPECT_EQ(rows[0].outcome.targets, 2);
  EXPECT_EQ(rows[0].outcome.targets_fixed, 2);
  EXPECT_EQ(rows[0].outcome.broken, 0);
}

// ---- determinism over thread counts on a trained model ------------------------------------------------

struct pipeline_result {
  std::vector<index_vector> test_states;
  segment_repair_plan plan;
  index_vector predictions;
};

pipeline_result run_pipeline(int threads) {
  set_threads(threads);
  rng g(3);
  sequence_batch<float> tr, te;
  const auto make = [&](sequence_batch<float>& b, index_t n) {
    b.labels.resize(n);
    for (index_t i = 0; i < n; ++i) {
      index_vector t(3 + static_cast<index_t>(g.below(6)));
      for (index_t k = 0; k < t.size(); ++k) t(k) = 2 + static_cast<index_t>(g.below(10));
      b.labels(i) = (t.array() == 5).any() ? 1 : 0;
      b.tokens.push_back(t);
    }
  };
  make(tr, 96);
  make(te, 48);
  gru_classifier<float> m(rnn_config{.input_size = 6, .vocab_size = 12, .hidden_size = 10, .num_classes = 2}, 9);
  rnnabs::train(m, tr, adam{.lr = 5e-3}, train_options{.epochs = 2, .batch_size = 16, .seed = 2, .progress = false});
  const auto trt = profile(m, tr), tet = profile(m, te);
  auto model = build_abstraction(trt, {.pca_components = 3, .n_clusters = 4, .seed = 1, .vocab_size = 12});
  pipeline_result r;
  r.test_states = model.abstraction.states(tet);
  const auto tr_view = labelled_paths::from(trt, model.abstraction.train_states());
  const auto te_view = labelled_paths::from(tet, r.test_states);
  std::vector<index_t> targets;
  for (index_t i = 0; i < te.size(); ++i)
    if (tet.predictions(i) != tet.truth(i)) targets.push_back(i);
  r.plan = plan_segment_repair(tr_view, model.automaton, te_view, targets,
                               {.top_n = 3, .strategy = selection::random, .seed = 8});
  r.predictions = tet.predictions;
  return r;
}

TEST(SegmentRepair, SameSeedSameResultForOneOrTwoThreads) {
  const auto a = run_pipeline(1), b = run_pipeline(2);
  set_threads(2);
  EXPECT_EQ(a.predictions, b.predictions);
  EXPECT_EQ(a.test_states, b.test_states);
  ASSERT_EQ(a.plan.targets.size(), b.plan.targets.size());
  EXPECT_EQ(a.plan.insertions(), b.plan.insertions());
  EXPECT_GT(a.plan.planned(), 0);
}

}  // namespace repair_tests
