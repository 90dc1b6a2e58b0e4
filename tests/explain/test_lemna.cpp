// Perturbation sampling (window write-back at the sequence ends, masks), the mixture-regression EM
// (planted components, the K = 1 reduction to genlasso's golden values) and LEMNA explanations of
// synthetic black boxes whose important positions are known.
#include <gtest/gtest.h>

#include <cmath>
#include <rnnabs/core/rng.hpp>
#include <rnnabs/explain/lemna.hpp>

#include "helpers.hpp"

namespace explain_lemna_tests {

using namespace rnnabs;

index_vector random_sequence(rng& g, index_t L) {
  index_vector s(L);
  for (index_t i = 0; i < L; ++i) s(i) = 1 + static_cast<index_t>(g.below(256));
  return s;
}

TEST(Perturbation, WindowWriteBackIsAlignedAtBothEnds) {
  rng g(1);
  const index_vector seq = random_sequence(g, 60);
  for (index_t t : {0, 3, 20, 30, 50, 59}) {
    const auto s = perturb_window(seq, t, {.half_width = 20, .n_samples = 200, .seed = 9});
    const index_t first = std::max<index_t>(0, t - 20), last = std::min<index_t>(59, t + 20);
    ASSERT_EQ(s.positions.size(), last - first + 1) << t;
    EXPECT_EQ(s.positions(0), first);
    EXPECT_EQ(s.inputs[0], seq);
    EXPECT_TRUE((s.mask.row(0).array() == 1.0).all());
    for (index_t r = 1; r <= 200; ++r) {
      const auto& in = s.inputs[static_cast<std::size_t>(r)];
      const double kept = s.mask.row(r).sum();
      EXPECT_GE(kept, 1.0);
      EXPECT_LE(kept, static_cast<double>(s.positions.size() - 1));
      for (index_t i = 0; i < 60; ++i) {
        if (i < first || i > last) {
          ASSERT_EQ(in(i), seq(i)) << "t=" << t << " r=" << r << " position " << i << " outside the window changed";
        } else {
          ASSERT_EQ(in(i), s.mask(r, i - first) != 0.0 ? seq(i) : 0) << "t=" << t << " position " << i;
        }
      }
    }
    const matrix<double> raw = s.design(design_mode::raw_values);
    for (index_t j = 0; j < s.positions.size(); ++j) EXPECT_EQ(raw(0, j), static_cast<double>(seq(s.positions(j))));
  }
}

TEST(Perturbation, SeededAndPinnedTarget) {
  rng g(2);
  const index_vector seq = random_sequence(g, 30);
  const auto a = perturb_window(seq, 10, {.half_width = 5, .n_samples = 50, .seed = 4, .pin_target = true});
  const auto b = perturb_window(seq, 10, {.half_width = 5, .n_samples = 50, .seed = 4, .pin_target = true});
  const auto c = perturb_window(seq, 10, {.half_width = 5, .n_samples = 50, .seed = 5, .pin_target = true});
  EXPECT_EQ(a.mask, b.mask);
  EXPECT_NE(a.mask, c.mask);
  EXPECT_TRUE((a.mask.col(5).array() == 1.0).all());  // column of position 10
  EXPECT_THROW(perturb_window(seq, 30, {}), invalid_argument);
  EXPECT_THROW(perturb_window(index_vector(0), 0, {}), invalid_argument);
  EXPECT_THROW(perturb_window(seq, 3, {.half_width = 0, .pin_target = true}), invalid_argument);  // empty window
}

TEST(Perturbation, FeatureMasks) {
  vector<double> x(8), null = vector<double>::Zero(8);
  x << 1, 2, 3, 4, 5, 6, 7, 8;
  const auto s = perturb_features(x, null, {.n_samples = 4000, .keep_probability = 0.3, .seed = 3});
  EXPECT_NEAR(s.mask.bottomRows(4000).mean(), 0.3, 0.01);
  for (index_t r = 0; r <= 4000; ++r)
    for (index_t j = 0; j < 8; ++j) ASSERT_EQ(s.inputs(r, j), s.mask(r, j) != 0 ? x(j) : 0.0);
  const auto l = perturb_features(x, null, {.n_samples = 500, .keep_probability = 0, .seed = 3});
  for (index_t r = 1; r <= 500; ++r) {
    ASSERT_GE(l.mask.row(r).sum(), 1.0);
    ASSERT_LE(l.mask.row(r).sum(), 7.0);
  }
  vector<double> bad = x;
  bad(2) = std::nan("");
  EXPECT_THROW(perturb_features(bad, null, {}), invalid_argument);
}

TEST(MixtureRegression, SingleComponentIsGenlassosFusedLasso) {
  const index_t n = 501, p = 41;
  matrix<double> X(n, p);
  vector<double> y(n);
  for (index_t j = 0; j < p; ++j) X(0, j) = static_cast<double>((37 * j + 11) % 257);
  for (index_t i = 1; i < n; ++i)
    for (index_t j = 0; j < p; ++j) X(i, j) = ((31 * i + 17 * j + i * j) % 41) >= (i % 40) + 1 ? X(0, j) : 0.0;
  for (index_t i = 0; i < n; ++i) {
    double z = 0;
    for (index_t j = 0; j < p; ++j) z += (j >= 18 && j <= 22 ? 2.0 : 0.1) * X(i, j);
    y(i) = 1.0 / (1.0 + std::exp(-(z / 256.0 - 3.0)));
  }
  const auto m = fit_mixture_regression(X, y, {.n_components = 1, .fit_intercept = false});
  EXPECT_NEAR(m.lambda_tv, 43.1335090784, 1e-9);
  const matrix<double> ref = explain_test::read_csv(explain_test::fixture("testB_beta.csv"), true);
  EXPECT_LE((m.coef.row(0).transpose() - ref.col(1)).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(MixtureRegression, EmRecoversPlantedComponents) {
  rng g(17);
  const index_t n = 900, p = 12;
  matrix<double> X(n, p), B(3, p);
  B.setZero();
  B.row(0).segment(0, 4).setConstant(2.0);
  B.row(1).segment(6, 4).setConstant(-1.5);
  B.row(2).segment(3, 6).setConstant(1.0);
  const double b0[3] = {0.0, 1.0, -1.0}, pi[3] = {0.5, 0.3, 0.2};
  vector<double> y(n);
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < p; ++j) X(i, j) = g.uniform() < 0.5 ? 1.0 : 0.0;
    const double u = g.uniform();
    const index_t k = u < pi[0] ? 0 : (u < pi[0] + pi[1] ? 1 : 2);
    y(i) = b0[k] + X.row(i).dot(B.row(k)) + 0.05 * g.normal();
  }
  const auto m = fit_mixture_regression(X, y, {.n_components = 3, .lambda_tv = 1.0, .n_init = 4, .seed = 2});
  ASSERT_TRUE(m.converged);
  // Match components by intercept.
  for (index_t k = 0; k < 3; ++k) {
    index_t best = 0;
    (m.intercepts.array() - b0[k]).abs().minCoeff(&best);
    EXPECT_NEAR(m.intercepts(best), b0[k], 0.05) << k;
    EXPECT_NEAR(m.weights(best), pi[k], 0.05) << k;
    EXPECT_LE((m.coef.row(best) - B.row(k)).cwiseAbs().maxCoeff(), 0.05) << k;
    EXPECT_NEAR(std::sqrt(m.variances(best)), 0.05, 0.015) << k;
  }
}

TEST(Lemna, FindsTheImportantBytesOfASyntheticSequenceModel) {
  rng g(5);
  const index_t L = 80;
  const index_vector seq = random_sequence(g, L);
  for (index_t t : {40, 2, 78}) {
    // The black box: the start probability at t depends on bytes t and t−1 (and weakly on t+3).
    auto scorer = [t](const token_batch& b) {
      vector<double> s(static_cast<index_t>(b.size()));
      for (std::size_t i = 0; i < b.size(); ++i) {
        const auto& q = b[i];
        double z = -2.0 + 3.0 * (q(t) != 0);
        if (t >= 1) z += 2.0 * (q(t - 1) != 0);
        if (t + 3 < q.size()) z += 0.7 * (q(t + 3) != 0);
        s(static_cast<index_t>(i)) = 1.0 / (1.0 + std::exp(-z));
      }
      return s;
    };
    static_assert(check_black_box_scorer<decltype(scorer), token_batch>());
    lemna explainer({.mixture = {.n_components = 2}, .seed = 11});
    const auto e = explainer.explain_sequence(scorer, seq, t);
    EXPECT_EQ(e.positions(0), std::max<index_t>(0, t - 20));
    EXPECT_EQ(e.positions(e.positions.size() - 1), std::min<index_t>(L - 1, t + 20));
    const index_vector top = e.top_positions(2);
    EXPECT_EQ(top(0), t) << "t=" << t;
    if (t >= 1) {
      EXPECT_EQ(top(1), t - 1) << "t=" << t;
    }
    // Same seed, same explanation.
    const auto e2 = explainer.explain_sequence(scorer, seq, t);
    EXPECT_EQ(e.ranking, e2.ranking);
    EXPECT_EQ(e.importance, e2.importance);
  }
}

TEST(Lemna, FeatureExplanationAndBadScores) {
  vector<double> x = vector<double>::Constant(10, 2.0), null = vector<double>::Zero(10);
  auto scorer = [](const matrix<double>& X) {
    return ((X.col(7) * 1.5 + X.col(2) * 0.5).array() - 2.0).matrix().eval();
  };
  const auto e = lemna({.mixture = {.n_components = 1, .lambda_tv = 0.0}}).explain_features(scorer, x, null);
  EXPECT_EQ(e.ranking(0), 7);
  EXPECT_EQ(e.ranking(1), 2);
  EXPECT_NEAR(e.importance(7), 3.0, 1e-9);  // mask coefficient = effect of keeping the feature (1.5 · 2)
  auto nan_scorer = [](const matrix<double>& X) {
    vector<double> s = vector<double>::Zero(X.rows());
    s(3) = std::nan("");
    return s;
  };
  EXPECT_THROW(lemna().explain_features(nan_scorer, x, null), invalid_argument);
  // A strided Eigen block (a column of a row-major matrix) and float scores are read correctly.
  struct member_box {
    matrix<double> scores;
    auto operator()(const matrix<double>& X) const {
      (void)X;
      return scores.col(1);
    }
  };
  member_box mb{matrix<double>::Zero(11, 3)};
  for (index_t i = 0; i < 11; ++i) mb.scores(i, 1) = static_cast<double>(i);
  const vector<double> got = score_batch(mb, matrix<double>(11, 2), 11, "test");
  for (index_t i = 0; i < 11; ++i) EXPECT_EQ(got(i), static_cast<double>(i));
  auto float_box = [](const matrix<double>& X) {
    return std::vector<float>(static_cast<std::size_t>(X.rows()), 0.25f);
  };
  const index_t nf = 37 + static_cast<index_t>(mb.scores.rows() % 5);  // not a compile-time size (GCC 12 array-bounds)
  EXPECT_EQ(score_batch(float_box, matrix<double>(nf, 2), nf, "test")(3), 0.25);
  auto short_scorer = [](const matrix<double>& X) {  // runtime size: GCC 12 -Warray-bounds false positive at 3
    return std::vector<double>(static_cast<std::size_t>(X.rows() / 100 + 3), 0.5);
  };
  EXPECT_THROW(lemna().explain_features(short_scorer, x, null), invalid_argument);
}

TEST(Lemna, SingleComponentEqualsTheFusedLassoOfTheSamples) {
  rng g(8);
  const index_vector seq = random_sequence(g, 120);
  auto box = [](const token_batch& b) {
    vector<double> s(static_cast<index_t>(b.size()));
    for (std::size_t i = 0; i < b.size(); ++i)
      s(static_cast<index_t>(i)) = 0.1 + 0.5 * (b[i](60) != 0) + 0.2 * (b[i](58) != 0);
    return s;
  };
  for (const bool raw : {false, true}) {
    const lemna ex({.mixture = {.n_components = 1, .fit_intercept = !raw},
                    .design = raw ? design_mode::raw_values : design_mode::mask,
                    .seed = 4});
    const auto e = ex.explain_sequence(box, seq, 60);
    const auto s = perturb_window(seq, 60, {.half_width = 20, .n_samples = 500, .seed = 4});
    const vector<double> y = score_batch(box, s.inputs, 501, "test");
    const matrix<double> X = s.design(raw ? design_mode::raw_values : design_mode::mask);
    const auto f = fused_lasso(X, y, {.lambda_tv = std::sqrt(501 * std::log(41.0)), .fit_intercept = !raw});
    EXPECT_LE((e.importance - f.coef).cwiseAbs().maxCoeff(), 1e-9 * f.coef.cwiseAbs().maxCoeff()) << raw;
    EXPECT_EQ(e.top_positions(1)(0), 60) << raw;
  }
}

TEST(MixtureRegression, ConstraintFormMeetsTheBound) {
  rng g(31);
  const index_t n = 400, p = 15;
  matrix<double> X(n, p);
  vector<double> y(n);
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < p; ++j) X(i, j) = g.uniform() < 0.5 ? 1.0 : 0.0;
    y(i) = 0.2 + X.row(i).segment(5, 4).sum() - 0.7 * X(i, 12) + 0.1 * g.normal();
  }
  const auto unc = fused_lasso(X, y, {.fit_intercept = true});
  const double tv_ols = total_variation(unc.coef);
  for (const double S : {0.5 * tv_ols, 0.1 * tv_ols, 2 * tv_ols}) {
    const auto m = fit_mixture_regression(X, y, {.n_components = 1, .tv_bound = S});
    const vector<double> b = m.coef.row(0).transpose();
    if (S >= tv_ols) {
      EXPECT_EQ(m.component_lambdas(0), 0.0);
      EXPECT_LE((b - unc.coef).cwiseAbs().maxCoeff(), 1e-9);
      continue;
    }
    EXPECT_NEAR(total_variation(b), S, 1e-6 * S);
    // The bound is active: the Lagrangian solution at the λ found is the same point, and any other feasible
    // point (a larger λ) fits worse.
    const double lam = m.component_lambdas(0);
    EXPECT_GT(lam, 0.0);
    const auto same = fused_lasso(X, y, {.lambda_tv = lam, .fit_intercept = true});
    EXPECT_LE((same.coef - b).cwiseAbs().maxCoeff(), 1e-6);
    const auto tighter = fused_lasso(X, y, {.lambda_tv = 1.5 * lam, .fit_intercept = true});
    const vector<double> rb = y - X * b - vector<double>::Constant(n, m.intercepts(0));
    const vector<double> rt = y - X * tighter.coef - vector<double>::Constant(n, tighter.intercept);
    EXPECT_LT(rb.squaredNorm(), rt.squaredNorm());
  }
}

TEST(MixtureRegression, RankDeficientDesignIsAnInvalidArgument) {
  matrix<double> X(50, 3);
  vector<double> y(50);
  for (index_t i = 0; i < 50; ++i) {
    X(i, 0) = static_cast<double>(i % 2);
    X(i, 1) = X(i, 0);  // duplicate column
    X(i, 2) = static_cast<double>((i / 2) % 2);
    y(i) = X(i, 0) + 0.1 * static_cast<double>(i % 3);
  }
  EXPECT_THROW(fit_mixture_regression(X, y, {.n_components = 1, .lambda_tv = 1.0}), invalid_argument);
}

TEST(Lemna, RankingTieRule) {
  vector<double> v(5);
  v << 1.0, 2.0, 2.0, 1.0, 2.0;
  index_vector pos(5);
  pos << 10, 11, 12, 13, 14;
  const index_vector r = rank_with_ties(v, pos, 13, 1e-9);
  // Ties among {11, 12, 14} by distance to 13: 12 (1), 14 (1) → smaller position first, then 11 (2).
  index_vector expect(5);
  expect << 2, 4, 1, 3, 0;
  EXPECT_EQ(r, expect);
}

}  // namespace explain_lemna_tests
