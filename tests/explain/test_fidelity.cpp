// Fidelity tests with black boxes whose true explanation is known: the explainer's PCR is exact and the
// random baseline's matches its combinatorial expectation; LIME recovers a linear model's top features.
#include <gtest/gtest.h>

#include <rnnabs/explain/fidelity.hpp>
#include <rnnabs/explain/lemna.hpp>

namespace explain_fidelity_tests {

using namespace rnnabs;

// Positive (0.9) exactly when features 2 and 5 are both present (non-zero).
auto and_box = [](const matrix<double>& X) {
  vector<double> s(X.rows());
  for (index_t i = 0; i < X.rows(); ++i) s(i) = X(i, 2) != 0 && X(i, 5) != 0 ? 0.9 : 0.1;
  return s;
};

TEST(Fidelity, FeatureTestsExactForTheTrueExplanation) {
  const index_t p = 10, n = 400;
  std::vector<feature_case<double>> cases;
  for (index_t c = 0; c < n; ++c) {
    index_vector r(p);
    r << 2, 5, 0, 1, 3, 4, 6, 7, 8, 9;
    cases.push_back({vector<double>::Ones(p), r});
  }
  const vector<double> zero = vector<double>::Zero(p);
  const auto rep = feature_fidelity(and_box, cases, zero, zero, {.n_features = 2, .seed = 3});
  EXPECT_EQ(rep.deduction.explainer, 0.0);
  EXPECT_EQ(rep.synthetic.explainer, 1.0);
  EXPECT_EQ(rep.augmentation.explainer, 1.0);
  EXPECT_NEAR(rep.deduction.random, 28.0 / 45.0, 0.07);  // both kept: C(8,2)/C(10,2)
  EXPECT_NEAR(rep.synthetic.random, 1.0 / 45.0, 0.03);   // both chosen
  EXPECT_NEAR(rep.augmentation.random, 1.0 / 45.0, 0.03);
  EXPECT_EQ(rep.deduction.cases, n);
}

TEST(Fidelity, SequenceTestsAndLemnaEndToEnd) {
  // The score at target t is high when tokens t and t−1 are both non-null.
  auto g = [](const token_batch& b, const index_vector& t) {
    vector<double> s(static_cast<index_t>(b.size()));
    for (std::size_t i = 0; i < b.size(); ++i) {
      const index_t q = t(static_cast<index_t>(i));
      s(static_cast<index_t>(i)) = b[i](q) != 0 && (q == 0 || b[i](q - 1) != 0) ? 0.8 : 0.2;
    }
    return s;
  };
  static_assert(position_scorer<decltype(g)>);
  rng r(3);
  std::vector<sequence_case> cases;
  lemna ex({.mixture = {.n_components = 1}, .n_samples = 200, .half_width = 10});
  for (int c = 0; c < 30; ++c) {
    index_vector seq(60);
    for (auto& v : seq) v = 1 + static_cast<index_t>(r.below(256));
    const index_t t = 1 + static_cast<index_t>(r.below(59));
    const auto e = ex.explain_sequence(at_position(g, t), seq, t);
    cases.push_back({seq, t, e.top_positions(5)});
    const index_vector top2 = e.top_positions(2);
    EXPECT_TRUE((top2(0) == t && top2(1) == t - 1) || (top2(0) == t - 1 && top2(1) == t)) << t;
  }
  const auto rep = sequence_fidelity(g, cases, index_vector::Zero(60), {.n_features = 5, .seed = 1});
  EXPECT_EQ(rep.deduction.explainer, 0.0);
  EXPECT_EQ(rep.synthetic.explainer, 1.0);
  EXPECT_EQ(rep.augmentation.explainer, 1.0);
  EXPECT_GT(rep.deduction.random, 0.6);
  EXPECT_LT(rep.synthetic.random, 0.2);
}

TEST(Fidelity, LimeRecoversALinearModel) {
  const index_t p = 12;
  auto lin = [](const matrix<double>& X) {
    return (0.1 + 0.5 * X.col(7).array() - 0.3 * X.col(1).array() + 0.2 * X.col(4).array()).matrix().eval();
  };
  const vector<double> one = vector<double>::Ones(p), zero = vector<double>::Zero(p);
  const auto [rank, coef] = lime_explain(lin, one, zero, {.seed = 2});
  EXPECT_EQ(rank(0), 7);
  EXPECT_EQ(rank(1), 1);
  EXPECT_EQ(rank(2), 4);
  EXPECT_NEAR(coef(7), 0.5, 1e-4);
  EXPECT_NEAR(coef(1), -0.3, 1e-4);
}

TEST(Fidelity, CraftPatchKeepsTheTarget) {
  index_vector seq(6), lab(6), top(2);
  seq << 5, 6, 7, 8, 9, 10;
  lab << 0, 0, 1, 0, 0, 0;
  top << 2, 4;  // the target itself among the top positions
  const auto s = craft_patch(seq, lab, 2, top, 1, 1);
  EXPECT_EQ(s.sequence(2), 7);
  EXPECT_EQ(s.sequence(4), 1);
  EXPECT_EQ(s.labels(2), 1);
  EXPECT_EQ(s.labels(4), 0);
  EXPECT_THROW(craft_patch(seq, lab, 9, top, 1, 1), invalid_argument);
}

TEST(Fidelity, BadInputThrows) {
  const vector<double> zero = vector<double>::Zero(10);
  std::vector<feature_case<double>> none;
  EXPECT_THROW(feature_fidelity(and_box, none, zero, zero), invalid_argument);
  std::vector<feature_case<double>> bad{{vector<double>::Ones(10), index_vector::Constant(1, 12)}};
  EXPECT_THROW(feature_fidelity(and_box, bad, zero, zero), invalid_argument);
}

}  // namespace explain_fidelity_tests
