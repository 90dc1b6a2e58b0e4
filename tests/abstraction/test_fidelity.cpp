// SimNN, the feature ablation, the component sweep and its proposal rule, fault interpretation.
#include <gtest/gtest.h>

#include <cmath>

#include <rnnabs/abstraction/fault.hpp>
#include <rnnabs/abstraction/fidelity.hpp>

#include "common.hpp"

namespace abstraction_fidelity_tests {

using namespace rnnabs;
using abstraction_test::random_traces;

TEST(Simnn, SeparableToyIsLearnedExactly) {
  rng g(5);
  const index_t n = 400, d = 6, C = 3;
  matrix<double> x(n, d);
  index_vector y(n);
  for (index_t i = 0; i < n; ++i) {
    y(i) = i % C;
    for (index_t j = 0; j < d; ++j) x(i, j) = 0.3 * g.normal();
    x(i, y(i)) += 3.0;  // class c: large coordinate c
  }
  simnn probe({.iterations = 300, .learning_rate = 0.05, .seed = 1});
  probe.fit(x, y, C);
  EXPECT_EQ(probe.accuracy(x, y), 1.0);
  EXPECT_LT(probe.loss(), probe.loss_history().front());
  // Deterministic across thread counts.
  set_threads(1);
  simnn p1({.iterations = 50, .seed = 2});
  p1.fit(x, y, C);
  set_threads(2);
  simnn p2({.iterations = 50, .seed = 2});
  p2.fit(x, y, C);
  EXPECT_EQ(p1.weights(), p2.weights());
  EXPECT_EQ(p1.bias(), p2.bias());
  EXPECT_THROW(probe.fit(x, index_vector::Constant(n, 3), C), invalid_argument);
  EXPECT_THROW(probe.fit(matrix<double>(0, 3), index_vector(0), C), invalid_argument);
  EXPECT_THROW((void)probe.predict(matrix<double>::Zero(2, 5)), invalid_argument);
}

/// Traces whose final label is determined by the state of the last step: the probe on abstract
/// traces must reach 100 % on train and test.
TEST(Simnn, FidelityOnFaithfulAbstraction) {
  auto train = random_traces(300, 6, 4, 2, 2, 21, /*fixed_len=*/true);
  auto test = random_traces(100, 6, 4, 2, 2, 22, true);
  for (auto* tr : {&train, &test})
    for (index_t i = 0; i < tr->size(); ++i) {
      tr->predictions(i) = tr->step_labels[static_cast<std::size_t>(i)](5);
      tr->truth(i) = tr->predictions(i);
    }
  auto model = build_abstraction(train, {.pca_components = 2, .n_clusters = 2, .seed = 1});
  const auto& abs = model.abstraction;
  const auto f = simnn_fidelity(abs, train, abs.train_states(), test, abs.states(test), feature_set::all,
                                {.iterations = 300, .learning_rate = 0.05});
  EXPECT_EQ(f.train_accuracy, 1.0);
  EXPECT_EQ(f.test_accuracy, 1.0);
  EXPECT_EQ(f.n_train, 300);
  EXPECT_EQ(f.rnn_test_accuracy, 1.0);
  const auto ab = feature_ablation(abs, train, abs.train_states(), test, abs.states(test), {.iterations = 100});
  ASSERT_EQ(ab.size(), 5u);
  EXPECT_EQ(ab[0].features, feature_set::label);
  EXPECT_EQ(ab[0].test_accuracy, 1.0);  // the last label is the prediction
}

TEST(Fidelity, ComponentSweepAndProposal) {
  const auto train = random_traces(200, 8, 5, 3, 4, 31);
  const auto test = random_traces(60, 8, 5, 3, 4, 32);
  std::vector<index_t> seen;
  const auto rows = component_sweep(
      train, test, {.pca_components = 3, .n_clusters = {2, 4, 6}, .seed = 1, .simnn = {.iterations = 60}},
      [&](const component_sweep_row& r) { seen.push_back(r.n_clusters); });
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(seen, (std::vector<index_t>{2, 4, 6}));
  for (const auto& r : rows) {
    EXPECT_TRUE(std::isfinite(r.bic));
    EXPECT_GE(r.simnn_test_accuracy, 0.0);
    EXPECT_LE(r.stability.weighted_mean, 1.0);
  }
  EXPECT_LT(rows[1].bic, rows[0].bic);  // 4 clusters in the data
  const index_t k = propose_components(rows);
  EXPECT_TRUE(k == 2 || k == 4 || k == 6);
  // The rule, on made-up rows: smallest n near the best accuracy and the best stability.
  std::vector<component_sweep_row> fake(3);
  fake[0].n_clusters = 10, fake[0].simnn_test_accuracy = 0.80, fake[0].stability.weighted_mean = 0.90;
  fake[1].n_clusters = 20, fake[1].simnn_test_accuracy = 0.895, fake[1].stability.weighted_mean = 0.95;
  fake[2].n_clusters = 30, fake[2].simnn_test_accuracy = 0.90, fake[2].stability.weighted_mean = 0.955;
  EXPECT_EQ(propose_components(fake), 20);
  for (auto& r : fake) r.simnn_test_accuracy = std::nan("");
  fake[0].bic = 3, fake[1].bic = 1, fake[2].bic = 2;
  EXPECT_EQ(propose_components(fake), 20);
}

TEST(Fault, NeighbourStatisticsByBruteForce) {
  auto train = random_traces(80, 5, 4, 2, 3, 41);
  auto test = random_traces(30, 5, 4, 2, 3, 42);
  auto model = build_abstraction(train, {.pca_components = 2, .n_clusters = 3, .seed = 1});
  const auto& abs = model.abstraction;
  const auto trx = normalized_traces(abs.abstract_traces(train), 3, 2);
  const auto tex = normalized_traces(abs.abstract_traces(test), 3, 2, feature_set::all, trx.steps);
  index_vector targets = failed_tests(test);
  if (targets.size() == 0) targets = benign_tests(test, 5, 1);
  const index_t K = 10;
  const auto rep = neighbour_statistics(tex, targets, test.truth, test.predictions, trx, train.truth, K);
  ASSERT_EQ(static_cast<index_t>(rep.rows.size()), K);
  // Brute force for K = 10.
  double any = 0, share = 0;
  for (index_t t = 0; t < targets.size(); ++t) {
    std::vector<std::pair<double, index_t>> d;
    for (index_t j = 0; j < trx.size(); ++j) d.push_back({trace_distance(tex, targets(t), trx, j), j});
    std::sort(d.begin(), d.end());
    index_t c = 0;
    for (index_t j = 0; j < K; ++j) {
      EXPECT_EQ(rep.neighbours[static_cast<std::size_t>(t)][static_cast<std::size_t>(j)],
                d[static_cast<std::size_t>(j)].second);
      c += train.truth(d[static_cast<std::size_t>(j)].second) == test.truth(targets(t));
    }
    any += c > 0;
    share += static_cast<double>(c) / static_cast<double>(K);
  }
  const double n = static_cast<double>(targets.size());
  EXPECT_DOUBLE_EQ(rep.rows.back().frac_any_truth, any / n);
  EXPECT_NEAR(rep.rows.back().share_truth, share / n, 1e-12);
  EXPECT_LE(rep.rows.front().frac_any_truth, rep.rows.back().frac_any_truth);
  const auto benign = benign_tests(test, 7, 3);
  EXPECT_EQ(benign.size(), 7);
  EXPECT_EQ(benign, benign_tests(test, 7, 3));
  for (index_t i = 0; i < benign.size(); ++i) EXPECT_EQ(test.predictions(benign(i)), test.truth(benign(i)));
  EXPECT_THROW(
      neighbour_statistics(tex, index_vector::Constant(1, 999), test.truth, test.predictions, trx, train.truth, K),
      invalid_argument);
}

}  // namespace abstraction_fidelity_tests
