// Tests of the influence methods against independent references: Koh & Liang against actual
// leave-one-out refits (convex model, first order), SGD-influence against counterfactual replays of
// the recorded SGD run (logistic regression and a small LSTM), TracIn / TracInCP / gradient
// similarity against direct sums, the automaton-based influence against a brute-force overlap, and
// the ranking metrics against hand-computed values.
#include <gtest/gtest.h>

#include <span>
#include <type_traits>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <unistd.h>

#include <rnnabs/influence.hpp>
#include <rnnabs/nn.hpp>

#include "helpers.hpp"

namespace influence_methods_tests {

using namespace rnnabs;
using namespace influence_test;

TEST(InfluenceKohLiang, MatchesLeaveOneOutToFirstOrder) {
  const auto f = make_logistic(80, 3, 21, 0.05);
  const auto test = make_logistic(10, 3, 22, 0.0);
  const vector<double> w = newton_fit(f, vector<double>::Zero(f.parameter_count()));
  cg_ihvp solver(f, w, {.tol = 1e-12});
  const matrix<double> gt = mean_sample_gradient(test, w);
  const auto r = koh_liang(f, w, gt, solver);
  ASSERT_EQ(r.scores.rows(), 80);
  ASSERT_EQ(r.scores.cols(), 1);
  const double base = test.per_sample_losses(w).mean();
  vector<double> actual(80), predicted = r.scores.col(0);
  for (index_t i = 0; i < 80; ++i) {
    std::vector<index_t> keep;
    for (index_t j = 0; j < 80; ++j)
      if (j != i) keep.push_back(j);
    const auto fi = f.subset(keep);
    const vector<double> wi = newton_fit(fi, w);
    actual(i) = test.per_sample_losses(wi).mean() - base;
  }
  EXPECT_GT(pearson(predicted, actual), 0.99);
  EXPECT_GT(spearman(predicted, actual), 0.97);
  EXPECT_LT((predicted - actual).cwiseAbs().maxCoeff(), 0.25 * actual.cwiseAbs().maxCoeff());
  EXPECT_LT((predicted - actual).norm(), 0.1 * actual.norm());
  // Per test point: the columns of several test gradients are the per-point scores.
  const auto per = koh_liang(f, w, sample_gradients(test, w), solver);
  EXPECT_EQ(per.scores.cols(), 10);
  EXPECT_LT((per.scores.rowwise().mean() - r.scores).norm(), 1e-10 * r.scores.norm());
  // Every solver gives the same scores.
  explicit_ihvp ex(f, w);
  EXPECT_LT((koh_liang(f, w, gt, ex).scores - r.scores).norm(), 1e-8 * r.scores.norm());
}

TEST(InfluenceKohLiang, RejectsMismatchedSizes) {
  const auto f = make_logistic(20, 3, 1, 0.1);
  const vector<double> w = vector<double>::Zero(f.parameter_count());
  cg_ihvp s(f, w);
  EXPECT_THROW(koh_liang(f, w, matrix<double>::Ones(2, 1), s), invalid_argument);
  EXPECT_THROW(gradient_products(f, w, matrix<double>::Ones(2, 1)), invalid_argument);
  EXPECT_THROW(gradient_products(f, vector<double>::Zero(3).eval(), matrix<double>::Ones(4, 1)), invalid_argument);
}

TEST(InfluenceGradients, BlocksMatchTheWholeMatrix) {
  const auto f = make_logistic(53, 4, 2, 0.0, 3);
  const vector<double> w = random_vector(f.parameter_count(), 3);
  const matrix<double> v = random_vector(f.parameter_count() * 2, 4).reshaped(f.parameter_count(), 2);
  const matrix<double> full = f.per_sample_gradients(w) * v;
  vector<double> norms;
  const matrix<double> blocked = gradient_products(f, w, v, {.block = 7}, &norms);
  EXPECT_LT((blocked - full).norm(), 1e-12 * full.norm());
  EXPECT_LT((norms - f.per_sample_gradients(w).rowwise().norm()).norm(), 1e-12);
  EXPECT_LT((sample_gradients(f, w) - f.per_sample_gradients(w).transpose()).norm(), 1e-14);
}

// ---- SGD-influence ---------------------------------------------------------------------------------

/// (L_test(θ_T with sample j's weight 1 − ε) − L_test(θ_T)) / ε ≈ −d/dw_j: the brute-force effect of
/// leaving j out of its batches, to first order (the estimate is linear in the removal).
template <class F, class G>
double replay_effect(const F& f, const G& test, const vector<double>& w0, index_t j, index_t epochs, index_t batch,
                     double lr, index_t from_epoch, double eps = 1e-5) {
  vector<double> weight = vector<double>::Ones(f.sample_count());
  const vector<double> base = sgd_run(f, w0, epochs, batch, lr, 9, &weight, nullptr, from_epoch);
  weight(j) = 1 - eps;
  const vector<double> wj = sgd_run(f, w0, epochs, batch, lr, 9, &weight, nullptr, from_epoch);
  weight(j) = 1 + eps;
  const vector<double> wk = sgd_run(f, w0, epochs, batch, lr, 9, &weight, nullptr, from_epoch);
  // Central difference in the weight; removal is weight −1, so the first-order effect is −dL/dweight.
  (void)base;
  return -(test.per_sample_losses(wk).mean() - test.per_sample_losses(wj).mean()) / (2 * eps);
}

TEST(InfluenceSgd, MatchesCounterfactualReplay) {
  const auto f = make_logistic(30, 3, 31, 0.01);
  const auto test = make_logistic(8, 3, 32, 0.0);
  const vector<double> w0 = vector<double>::Zero(f.parameter_count());
  sgd_trajectory<double> traj;
  sgd_run(f, w0, 4, 6, 0.5, 9, nullptr, &traj);
  ASSERT_TRUE(traj.plain_sgd());
  EXPECT_EQ(traj.epochs(), 4);
  EXPECT_EQ(traj.steps().size(), 20u);
  const matrix<double> gt = mean_sample_gradient(test, traj.final_parameters());
  const auto r = sgd_influence(f, traj, gt);
  EXPECT_EQ(r.steps, 20);
  EXPECT_EQ(r.by_epoch.size(), 4u);
  ASSERT_EQ(r.gain.size(), 4u);
  for (double gn : r.gain) EXPECT_TRUE(gn > 0.0 && gn <= 1.0 + 1e-9) << gn;  // convex, ηλ_max < 2: (I − ηH) contracts
  for (index_t j : {0, 7, 19, 29}) {
    const double all = replay_effect(f, test, w0, j, 4, 6, 0.5, 0);
    EXPECT_NEAR(r.all_epochs(j, 0), all, 1e-6 * std::max(1.0, std::abs(all))) << "sample " << j;
    // The last-epoch estimate is the effect of leaving j out of the last epoch's batch only.
    const double last = replay_effect(f, test, w0, j, 4, 6, 0.5, 3);
    EXPECT_NEAR(r.last_epoch(j, 0), last, 1e-6 * std::max(1.0, std::abs(last))) << "sample " << j;
  }
  // epochs_back = 1 is the last-epoch estimate again.
  const auto one = sgd_influence(f, traj, gt, {.epochs_back = 1});
  EXPECT_LT((one.all_epochs - r.last_epoch).norm(), 1e-14 + 1e-12 * r.last_epoch.norm());
}

TEST(InfluenceSgd, RecordedLstmRunMatchesReplay) {
  // The whole stack: train() records the run of a tiny LSTM, SGD-influence uses its exact HVPs.
  rnn_config cfg{.input_size = 2, .hidden_size = 3, .num_classes = 2, .loss = loss_kind::softmax_bce};
  rnn_classifier<lstm_cell, double> model(cfg, 4);
  const vector<double> w0 = model.parameters();
  sequence_batch<double> data, test;
  rng g(5);
  for (auto* b : {&data, &test}) {
    const index_t n = b == &data ? 12 : 4;
    b->labels.resize(n);
    for (index_t i = 0; i < n; ++i) {
      matrix<double> x(2 + i % 3, 2);
      for (index_t k = 0; k < x.size(); ++k) x.data()[k] = g.normal();
      b->features.push_back(x);
      b->labels(i) = i % 2;
    }
  }
  sgd_trajectory<double> traj;
  basic_train_options<double> o{.epochs = 3, .batch_size = 5, .seed = 2, .progress = false};
  o.on_step = traj.recorder();
  train(model, data, sgd{.lr = 0.3}, o);
  traj.finish(model.parameters());
  ASSERT_TRUE(traj.plain_sgd());
  const batch_objective f(model, data);
  const batch_objective t(model, test);
  const auto r = sgd_influence(f, traj, mean_sample_gradient(t, traj.final_parameters()));
  // Replay the recorded batches with sample j's weight perturbed.
  const auto replay = [&](index_t j, double weight) {
    vector<double> w = w0;
    for (const auto& st : traj.steps()) {
      const matrix<double> gs = f.subset(st.batch).per_sample_gradients(w);
      vector<double> gsum = vector<double>::Zero(w.size());
      for (std::size_t k = 0; k < st.batch.size(); ++k)
        gsum += (st.batch[k] == j ? weight : 1.0) * gs.row(static_cast<index_t>(k)).transpose();
      w -= st.learning_rate * gsum / static_cast<double>(st.batch.size());
    }
    return t.per_sample_losses(w).mean();
  };
  for (index_t j : {0, 5, 11}) {
    const double eps = 1e-5;
    const double fd = -(replay(j, 1 + eps) - replay(j, 1 - eps)) / (2 * eps);
    EXPECT_NEAR(r.all_epochs(j, 0), fd, 1e-6 * std::max(1.0, std::abs(fd))) << "sample " << j;
  }
}

TEST(InfluenceSgd, RefusesWhatItCannotModel) {
  const auto f = make_logistic(20, 2, 1, 0.0);
  const vector<double> w0 = vector<double>::Zero(f.parameter_count());
  sgd_trajectory<double> traj;
  sgd_run(f, w0, 1, 5, 0.5, 1, nullptr, &traj);
  // A run whose updates are not θ − η g (here: a momentum-like extra term).
  sgd_trajectory<double> mom;
  vector<double> w = w0, g = vector<double>::Ones(w.size());
  const std::vector<index_t> ids{0, 1};
  mom.record(step_record<double>{0, 0, &ids, &w, &g, 0.1, 0.0});
  w = w - 0.1 * g - 0.05 * g;
  mom.record(step_record<double>{0, 1, &ids, &w, &g, 0.1, 0.0});
  mom.finish(w - 0.1 * g);
  EXPECT_FALSE(mom.plain_sgd());
  const matrix<double> u = matrix<double>::Ones(f.parameter_count(), 1);
  EXPECT_THROW(sgd_influence(f, mom, u), invalid_argument);
  sgd_trajectory<double> open;
  EXPECT_THROW(sgd_influence(f, open, u), invalid_argument);
  EXPECT_THROW(sgd_influence(f, traj, matrix<double>::Ones(2, 1)), invalid_argument);
  EXPECT_THROW(sgd_influence(f.subset(std::vector<index_t>{0, 1}), traj, u), invalid_argument);  // ids beyond 2
}

TEST(InfluenceSgd, TrajectorySavesAndLoads) {
  const auto f = make_logistic(20, 2, 1, 0.0);
  sgd_trajectory<double> traj;
  sgd_run(f, vector<double>::Zero(f.parameter_count()).eval(), 2, 6, 0.5, 1, nullptr, &traj);
  const auto path = std::filesystem::temp_directory_path() / ("rnnabs_traj_" + std::to_string(::getpid()) + ".npz");
  traj.save(path);
  const auto back = sgd_trajectory<double>::load(path);
  std::filesystem::remove(path);
  ASSERT_EQ(back.steps().size(), traj.steps().size());
  for (std::size_t s = 0; s < traj.steps().size(); ++s) {
    EXPECT_EQ(back.steps()[s].batch, traj.steps()[s].batch);
    EXPECT_EQ(back.steps()[s].epoch, traj.steps()[s].epoch);
    EXPECT_TRUE(back.steps()[s].parameters == traj.steps()[s].parameters);
  }
  EXPECT_TRUE(back.final_parameters() == traj.final_parameters());
  const matrix<double> u = matrix<double>::Ones(f.parameter_count(), 1);
  EXPECT_TRUE(sgd_influence(f, back, u).all_epochs == sgd_influence(f, traj, u).all_epochs);
  EXPECT_THROW(sgd_trajectory<double>::load(path), io_error);
}

// Found while writing the fuzz harness for the archive loaders (docs/fuzzing.md): load cast the
// float64 batch offsets, ids and epochs to index_t unchecked (NaN, 1e300: undefined behaviour) and
// read batch_ids[offsets[k] .. offsets[k+1]) without checking that range against batch_ids
// (offsets need not be monotone: only the last one was compared with the id count): out of bounds.
TEST(InfluenceSgd, TrajectoryLoadRejectsCorruptOffsetsWithIoError) {
  sgd_trajectory<double> t;
  vector<double> w = vector<double>::Zero(2), g = vector<double>::Ones(2);
  const std::vector<index_t> b0{0, 1}, b1{2};
  t.record(step_record<double>{0, 0, &b0, &w, &g, 0.1, 0.0});
  w -= 0.1 * g;
  t.record(step_record<double>{0, 1, &b1, &w, &g, 0.1, 0.0});
  t.finish(w - 0.1 * g);
  const auto dir = std::filesystem::temp_directory_path() / ("rnnabs_traj_fuzz_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  t.save(dir / "good.npz");
  const auto good = io::npz_read(dir / "good.npz");
  const auto with = [&](const std::string& name, const xt::xarray<double>& v) {
    auto m = good;
    m[name] = io::to_npy_array(v);
    const auto f = dir / (name + ".npz");
    io::save_npz(f, m);
    return f;
  };
  EXPECT_EQ(sgd_trajectory<double>::load(dir / "good.npz").steps().size(), 2u);
  // 3 ids; offsets 0, 1000, 3: step 0 would read ids[0..1000).
  EXPECT_THROW(sgd_trajectory<double>::load(with("batch_offsets", {0.0, 1000.0, 3.0})), io_error);
  EXPECT_THROW(sgd_trajectory<double>::load(with("batch_offsets", {0.0, std::nan(""), 3.0})), io_error);
  EXPECT_THROW(sgd_trajectory<double>::load(with("batch_offsets", {0.0, 1.5, 3.0})), io_error);
  EXPECT_THROW(sgd_trajectory<double>::load(with("batch_ids", {0.0, 1e300, 2.0})), io_error);
  EXPECT_THROW(sgd_trajectory<double>::load(with("epochs", {0.0, -std::numeric_limits<double>::infinity()})), io_error);
  std::filesystem::remove_all(dir);
}

// ---- TracIn ------------------------------------------------------------------------------------------

TEST(InfluenceTracin, MatchesDirectSums) {
  const auto f = make_logistic(25, 3, 41, 0.0);
  const auto test = make_logistic(4, 3, 42, 0.0);
  sgd_trajectory<double> traj;
  sgd_run(f, vector<double>::Zero(f.parameter_count()).eval(), 3, 5, 0.4, 2, nullptr, &traj);
  // TracIn over the run: the per-step sum.
  matrix<double> expect = matrix<double>::Zero(25, 4);
  for (const auto& st : traj.steps()) {
    const matrix<double> gtr = f.per_sample_gradients(st.parameters), gte = test.per_sample_gradients(st.parameters);
    for (index_t i : st.batch)
      expect.row(i) += st.learning_rate / static_cast<double>(st.batch.size()) * gtr.row(i) * gte.transpose();
  }
  const matrix<double> got = tracin(f, test, traj);
  EXPECT_LT((got - expect).norm(), 1e-12 * expect.norm());
  // TracInCP over checkpoints with their rates; one checkpoint at rate 1 is the gradient dot product.
  std::vector<checkpoint<double>> cps;
  for (const auto& p : traj.epoch_starts()) cps.push_back({p, 0.4});
  matrix<double> cp_expect = matrix<double>::Zero(25, 4);
  for (const auto& c : cps)
    cp_expect += 0.4 * f.per_sample_gradients(c.parameters) * test.per_sample_gradients(c.parameters).transpose();
  EXPECT_LT((tracin_cp(f, test, cps) - cp_expect).norm(), 1e-12 * cp_expect.norm());
  const vector<double>& w = traj.final_parameters();
  const matrix<double> dot = f.per_sample_gradients(w) * test.per_sample_gradients(w).transpose();
  EXPECT_LT((gradient_similarity(f, test, w) - dot).norm(), 1e-12 * dot.norm());
  // Aggregate: the mean test loss's gradient.
  EXPECT_LT((gradient_similarity(f, test, w, {.aggregate = true}).col(0) - dot.rowwise().mean()).norm(),
            1e-12 * dot.norm());
  // Cosine: the dot over both norms, within [-1, 1].
  const matrix<double> cos = gradient_similarity(f, test, w, {.normalize = true});
  const vector<double> na = f.per_sample_gradients(w).rowwise().norm(),
                       nb = test.per_sample_gradients(w).rowwise().norm();
  for (index_t i = 0; i < 25; ++i)
    for (index_t k = 0; k < 4; ++k) EXPECT_NEAR(cos(i, k), dot(i, k) / (na(i) * nb(k)), 1e-12);
}

/// Only per-sample gradients (no loss, no Hessian): what a user brings from a framework without HVPs.
template <class F>
struct gradients_only {
  using scalar = typename F::scalar;
  F f;
  index_t parameter_count() const { return f.parameter_count(); }
  index_t sample_count() const { return f.sample_count(); }
  matrix<scalar> per_sample_gradients(const vector<scalar>& w) const { return f.per_sample_gradients(w); }
  gradients_only subset(std::span<const index_t> ids) const { return {f.subset(ids)}; }
};

TEST(InfluenceTracin, NeedsOnlyPerSampleGradients) {
  const auto f = make_logistic(25, 3, 41, 0.0);
  const auto test = make_logistic(4, 3, 42, 0.0);
  using G = gradients_only<std::remove_cvref_t<decltype(f)>>;
  static_assert(check_gradient_objective<G>());
  static_assert(!sample_objective<G>, "no Hessian-vector product: not enough for Koh & Liang");
  const G gf{f}, gt{test};
  sgd_trajectory<double> traj;
  sgd_run(f, vector<double>::Zero(f.parameter_count()).eval(), 3, 5, 0.4, 2, nullptr, &traj);
  const vector<double>& w = traj.final_parameters();
  EXPECT_EQ(tracin(gf, gt, traj), tracin(f, test, traj));
  EXPECT_EQ(gradient_similarity(gf, gt, w, {.normalize = true}), gradient_similarity(f, test, w, {.normalize = true}));
  EXPECT_EQ(gradient_products(gf, w, matrix<double>::Ones(f.parameter_count(), 2)),
            gradient_products(f, w, matrix<double>::Ones(f.parameter_count(), 2)));
}

TEST(InfluenceTracin, RandomProjectionApproximatesAndIsSeeded) {
  const auto f = make_logistic(30, 40, 5, 0.0);
  const auto test = make_logistic(3, 40, 6, 0.0);
  const vector<double> w = random_vector(f.parameter_count(), 1, 0.1);
  const matrix<double> exact = gradient_similarity(f, test, w);
  const matrix<double> a = gradient_similarity(f, test, w, {.projection = 4000, .seed = 1});
  const matrix<double> b = gradient_similarity(f, test, w, {.projection = 4000, .seed = 1});
  EXPECT_TRUE(a == b);
  EXPECT_LT((a - exact).norm(), 0.1 * exact.norm());
  EXPECT_GT(pearson(a.reshaped(), exact.reshaped()), 0.98);
  const matrix<double> c = gradient_similarity(f, test, w, {.projection = 4000, .seed = 2});
  EXPECT_FALSE(a == c);
}

// ---- automaton-based influence --------------------------------------------------------------------------

TEST(InfluenceAutomaton, OverlapMatchesBruteForce) {
  rng g(3);
  const index_t n = 60, m = 6, C = 3;
  std::vector<index_vector> states, labels;
  for (index_t i = 0; i < n; ++i) {
    const index_t len = 1 + static_cast<index_t>(g.below(8));
    index_vector s(len), l(len);
    for (index_t t = 0; t < len; ++t) {
      s(t) = 1 + static_cast<index_t>(g.below(static_cast<std::uint64_t>(m - 1)));
      l(t) = static_cast<index_t>(g.below(static_cast<std::uint64_t>(C)));
    }
    states.push_back(s);
    labels.push_back(l);
  }
  const auto a = automaton::build(states, labels, {}, m, C);
  // Test traces: a few training traces themselves, and random ones.
  std::vector<index_vector> ts{states[3], states[10]}, tl{labels[3], labels[10]};
  for (int k = 0; k < 3; ++k) {
    index_vector s(6), l(6);
    for (index_t t = 0; t < 6; ++t) {
      s(t) = 1 + static_cast<index_t>(g.below(static_cast<std::uint64_t>(m - 1)));
      l(t) = static_cast<index_t>(g.below(static_cast<std::uint64_t>(C)));
    }
    s(3) = s(1);  // a repeated edge
    l(3) = l(1);
    s(2) = s(0);
    l(2) = l(0);
    ts.push_back(s);
    tl.push_back(l);
  }
  const auto edges_of = [](const index_vector& s, const index_vector& l, bool last) {
    std::vector<edge> e;
    const index_t steps = last ? s.size() : s.size() - 1;
    for (index_t j = 0; j < steps; ++j) e.push_back({j ? s(j - 1) : 0, j ? l(j - 1) : 0, l(j), s(j)});
    return e;
  };
  for (bool distinct : {true, false})
    for (bool last : {true, false}) {
      const matrix<double> got = automaton_influence(a, ts, tl,
                                                     {.include_last_transition = last, .distinct_edges = distinct});
      for (std::size_t k = 0; k < ts.size(); ++k) {
        std::vector<edge> te = edges_of(ts[k], tl[k], last);
        if (distinct) {
          std::sort(te.begin(), te.end());
          te.erase(std::unique(te.begin(), te.end()), te.end());
        }
        for (index_t i = 0; i < n; ++i) {
          const auto mine = edges_of(states[static_cast<std::size_t>(i)], labels[static_cast<std::size_t>(i)], true);
          const std::set<edge> own(mine.begin(), mine.end());
          double hits = 0;
          for (const auto& e : te) hits += own.count(e) ? 1.0 : 0.0;
          const double expect = te.empty() ? 0.0 : hits / static_cast<double>(te.size());
          EXPECT_NEAR(got(i, static_cast<index_t>(k)), expect, 1e-12)
              << "distinct " << distinct << " last " << last << " test " << k << " sample " << i;
        }
      }
    }
  // A training trace overlaps itself completely.
  const matrix<double> self = automaton_influence(a, ts, tl);
  EXPECT_DOUBLE_EQ(self(3, 0), 1.0);
  EXPECT_DOUBLE_EQ(self(10, 1), 1.0);
  // The released divisor: a fixed 27.
  const matrix<double> fixed = automaton_influence(a, ts, tl, {.divisor = 27});
  auto own = edges_of(ts[0], tl[0], true);
  std::sort(own.begin(), own.end());
  own.erase(std::unique(own.begin(), own.end()), own.end());
  EXPECT_NEAR(fixed(3, 0), static_cast<double>(own.size()) / 27.0, 1e-12);
  // Bad input.
  EXPECT_THROW(automaton_influence(a, {index_vector::Constant(3, m)}, {index_vector::Zero(3)}), invalid_argument);
  EXPECT_THROW(automaton_influence(a, {index_vector::Ones(3)}, {index_vector::Constant(3, C)}), invalid_argument);
  EXPECT_THROW(automaton_influence(a, {index_vector::Ones(3)}, {index_vector::Zero(2)}), invalid_argument);
}

// ---- metrics -------------------------------------------------------------------------------------------

TEST(InfluenceMetrics, RankingsRecallAndCorrelations) {
  vector<double> s(6);
  s << 0.5, -2.0, 3.0, -2.0, 0.0, 1.0;
  EXPECT_EQ(ranking(s), (std::vector<index_t>{1, 3, 4, 0, 5, 2}));
  EXPECT_EQ(ranking(s, false), (std::vector<index_t>{2, 5, 0, 4, 1, 3}));
  const auto order = ranking(s);
  EXPECT_EQ(recall_at_fractions(order, {3, 2}, {0.0, 0.34, 0.5, 1.0}), (std::vector<double>{0.0, 0.5, 0.5, 1.0}));
  EXPECT_EQ(top_fraction_in(order, {3, 2, 4}, 0.5), (std::vector<index_t>{3, 4}));
  vector<double> a(5), b(5);
  a << 1, 2, 3, 4, 5;
  b << 2, 4, 6, 8, 10;
  EXPECT_NEAR(pearson(a, b), 1.0, 1e-15);
  b << 5, 4, 3, 2, 1;
  EXPECT_NEAR(spearman(a, b), -1.0, 1e-15);
  // Ties get average ranks: [1, 2.5, 2.5, 4].
  vector<double> t(4);
  t << 1, 3, 3, 7;
  const vector<double> r = average_ranks(t);
  EXPECT_DOUBLE_EQ(r(1), 2.5);
  EXPECT_DOUBLE_EQ(r(2), 2.5);
  EXPECT_TRUE(std::isnan(pearson(vector<double>::Ones(3), a.head(3))));
  EXPECT_THROW(recall_at_fractions(order, {}, {0.5}), invalid_argument);
  EXPECT_THROW(recall_at_fractions(order, {9}, {0.5}), invalid_argument);
}

}  // namespace influence_methods_tests
