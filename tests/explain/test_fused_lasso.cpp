// Fused lasso and elastic net against genlasso's golden values (genlasso 1.5 in R: fixtures/explain/fl_golden.R),
// scikit-learn's ElasticNet, and an independent dense ADMM written here.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <numeric>
#include <rnnabs/core/rng.hpp>
#include <rnnabs/explain/fused_lasso.hpp>

#include "helpers.hpp"

namespace explain_fused_lasso_tests {

using namespace rnnabs;

struct problem {
  matrix<double> X;
  vector<double> y;
};

problem test_a() {
  const index_t n = 12, p = 6;
  problem q{matrix<double>(n, p), vector<double>(n)};
  const double w[6] = {0.5, 0.5, 0.5, -0.5, -0.5, -0.5};
  for (index_t i = 0; i < n; ++i) {
    double s = 0;
    for (index_t j = 0; j < p; ++j) {
      q.X(i, j) = static_cast<double>((3 * i + 5 * j + i * j * j + 2 * i * i) % 11) - 5.0;
      s += q.X(i, j) * w[j];
    }
    q.y(i) = s + static_cast<double>(((11 * i) % 5) - 2) * 0.1;
  }
  return q;
}

problem test_b() {
  const index_t n = 501, p = 41;
  problem q{matrix<double>(n, p), vector<double>(n)};
  for (index_t j = 0; j < p; ++j) q.X(0, j) = static_cast<double>((37 * j + 11) % 257);
  for (index_t i = 1; i < n; ++i)
    for (index_t j = 0; j < p; ++j) q.X(i, j) = ((31 * i + 17 * j + i * j) % 41) >= (i % 40) + 1 ? q.X(0, j) : 0.0;
  for (index_t i = 0; i < n; ++i) {
    double z = 0;
    for (index_t j = 0; j < p; ++j) z += (j >= 18 && j <= 22 ? 2.0 : 0.1) * q.X(i, j);
    q.y(i) = 1.0 / (1.0 + std::exp(-(z / 256.0 - 3.0)));
  }
  return q;
}

// Independent reference: scaled ADMM on  ½‖√w(y − Xβ − b)‖² + λtv‖Dβ‖₁ + λ1‖β‖₁ + ½λ2‖β‖²  with the split
// z = [Dβ; β], run to a tiny residual (thousands of iterations; dense inverse, small p only).
vector<double> admm_reference(const matrix<double>& X, const vector<double>& y, const vector<double>& w, double tv,
                              double l1, double l2, bool intercept) {
  const index_t n = X.rows(), p = X.cols(), m = p + (intercept ? 1 : 0);
  Eigen::MatrixXd Z(n, m);
  Z.leftCols(p) = X;
  if (intercept) Z.col(p).setOnes();
  Eigen::MatrixXd F = Eigen::MatrixXd::Zero(p - 1 + p, m);  // [D; I] on the coefficients
  for (index_t k = 0; k + 1 < p; ++k) F(k, k) = -1, F(k, k + 1) = 1;
  for (index_t j = 0; j < p; ++j) F(p - 1 + j, j) = 1;
  const Eigen::MatrixXd A = Z.transpose() * w.asDiagonal() * Z;
  const Eigen::VectorXd c = Z.transpose() * w.asDiagonal() * y;
  Eigen::MatrixXd R = Eigen::MatrixXd::Zero(m, m);
  R.topLeftCorner(p, p).diagonal().setConstant(l2);
  const double rho = std::max(1.0, A.diagonal().mean());
  const Eigen::MatrixXd Minv = (A + R + rho * F.transpose() * F).inverse();
  Eigen::VectorXd z = Eigen::VectorXd::Zero(F.rows()), u = z, b(m);
  for (int it = 0; it < 2000000; ++it) {
    b = Minv * (c + rho * F.transpose() * (z - u));
    const Eigen::VectorXd Fb = F * b, zo = z;
    for (index_t k = 0; k < F.rows(); ++k) {
      const double t = (k < p - 1 ? tv : l1) / rho, v = Fb(k) + u(k);
      z(k) = v > t ? v - t : (v < -t ? v + t : 0.0);
    }
    u += Fb - z;
    if (it > 100 && (Fb - z).norm() < 1e-14 * (1 + Fb.norm()) && rho * (z - zo).norm() < 1e-14 * (1 + c.norm())) break;
  }
  return b;
}

TEST(FusedLasso, GenlassoGoldenTestA) {
  const problem q = test_a();
  const double golden[5][6] = {{0.4851131296, 0.4923745314, 0.4754631288, -0.4820263044, -0.5106521169, -0.5053678854},
                               {0.4878375529, 0.4878375529, 0.4804343142, -0.4811254349, -0.4970547803, -0.4970547803},
                               {0.4769887982, 0.4769887982, 0.4769887982, -0.4594456047, -0.4594456047, -0.4594456047},
                               {0.4851560681, 0.4851560681, 0.4851560681, -0.4784785387, -0.4790213844, -0.4790213844},
                               {0.4790747512, 0.4966998743, 0.4737482677, -0.4805859553, -0.5189132238, -0.5049004767}};
  const double lambdas[5] = {0.5, 2, 10, std::sqrt(12 * std::log(6.0)), 0};
  for (const bool active_set : {true, false})
    for (int k = 0; k < 5; ++k) {
      const auto fit = fused_lasso(q.X, q.y,
                                   {.lambda_tv = lambdas[k], .active_set = active_set, .active_set_after = 0});
      ASSERT_TRUE(fit.converged) << "lambda=" << lambdas[k];
      for (index_t j = 0; j < 6; ++j)
        EXPECT_NEAR(fit.coef(j), golden[k][j], 1e-9) << "lambda=" << lambdas[k] << " j=" << j << " " << active_set;
    }
}

TEST(FusedLasso, GenlassoGoldenTestBLemnaShaped) {
  const problem q = test_b();
  const matrix<double> ref = explain_test::read_csv(explain_test::fixture("testB_beta.csv"), true);
  ASSERT_EQ(ref.rows(), 41);
  EXPECT_NEAR(q.y(0), 0.981453435488, 1e-12);
  EXPECT_NEAR(q.y(3), 0.595586646937, 1e-12);
  const auto fit = fused_lasso(q.X, q.y, {.lambda_tv = std::sqrt(501 * std::log(41.0)), .active_set_after = 0});
  ASSERT_TRUE(fit.converged);
  EXPECT_EQ(fit.iterations, 0);  // the dual active set found it
  const auto dflt = fused_lasso(q.X, q.y, {.lambda_tv = std::sqrt(501 * std::log(41.0))});
  ASSERT_TRUE(dflt.converged);
  EXPECT_LE((dflt.coef - ref.col(1)).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LE((fit.coef - ref.col(1)).cwiseAbs().maxCoeff(), 1e-12);
  const auto fista = fused_lasso(q.X, q.y, {.lambda_tv = std::sqrt(501 * std::log(41.0)), .active_set = false});
  ASSERT_TRUE(fista.converged);
  EXPECT_GT(fista.iterations, 0);
  EXPECT_LE((fista.coef - ref.col(1)).cwiseAbs().maxCoeff(), 1e-12);
  // Descending order, ties (equal to 1e-9 relative) broken by the smaller index.
  std::vector<index_t> ord(41);
  std::iota(ord.begin(), ord.end(), 0);
  const double tie = 1e-9 * fit.coef.cwiseAbs().maxCoeff();
  std::stable_sort(ord.begin(), ord.end(), [&](index_t a, index_t b) { return fit.coef(a) > fit.coef(b) + tie; });
  const std::vector<index_t> expect = {19, 20, 21, 22, 18, 23, 40, 39, 17, 11, 8,  9,  4,  5, 6, 7, 12, 36, 30, 31, 32,
                                       33, 34, 35, 14, 15, 16, 24, 25, 29, 26, 27, 28, 13, 0, 1, 2, 37, 38, 3,  10};
  EXPECT_EQ(ord, expect);
}

TEST(FusedLasso, MatchesIndependentAdmmWithL1InterceptWeights) {
  rng g(21);
  for (int rep = 0; rep < 6; ++rep) {
    const index_t n = 30, p = 7;
    matrix<double> X(n, p);
    vector<double> y(n), w(n);
    for (index_t i = 0; i < n; ++i) {
      for (index_t j = 0; j < p; ++j) X(i, j) = g.uniform() < 0.5 ? 1.0 : 0.0;
      y(i) = 0.3 + X.row(i).head(3).sum() - 0.5 * X(i, 5) + 0.2 * g.normal();
      w(i) = rep % 2 ? 0.2 + g.uniform() : 1.0;
    }
    const double tv = 0.5 + rep, l1 = rep >= 3 ? 0.7 : 0.0, l2 = rep == 5 ? 0.3 : 0.0;
    const bool icpt = rep != 2;
    const vector<double> ref = admm_reference(X, y, w, tv, l1, l2, icpt);
    const auto fit = fused_lasso(X, y, {.lambda_tv = tv, .lambda_l1 = l1, .lambda_l2 = l2, .fit_intercept = icpt}, &w);
    ASSERT_TRUE(fit.converged) << rep;
    EXPECT_LE((fit.coef - ref.head(p)).cwiseAbs().maxCoeff(), 1e-8) << rep;
    const auto f2 = fused_lasso(
        X, y, {.lambda_tv = tv, .lambda_l1 = l1, .lambda_l2 = l2, .fit_intercept = icpt, .active_set = false}, &w);
    EXPECT_LE((f2.coef - ref.head(p)).cwiseAbs().maxCoeff(), 1e-8) << rep;
    if (icpt) {
      EXPECT_NEAR(fit.intercept, ref(p), 1e-8) << rep;
    }
  }
}

TEST(FusedLasso, WithoutPolishingFistaAloneConverges) {
  const problem q = test_a();
  fused_lasso_options o{.lambda_tv = 2.0, .tol = 1e-9, .polish = false, .active_set = false};
  const auto fit = fused_lasso(q.X, q.y, o);
  EXPECT_TRUE(fit.converged);
  EXPECT_FALSE(fit.polished);
  EXPECT_NEAR(fit.coef(2), 0.4804343142, 1e-7);
}

TEST(FusedLasso, KktViolationDetectsAWrongPoint) {
  const problem q = test_a();
  const gram_problem g = make_gram(q.X, q.y, false);
  const auto fit = fused_lasso(g, {.lambda_tv = 2.0});
  vector<double> b = fit.coef;
  EXPECT_LE(fused_lasso_kkt_violation(g, b, 2.0, 0, 0), 1e-9);
  b(0) += 1e-3;
  EXPECT_GT(fused_lasso_kkt_violation(g, b, 2.0, 0, 0), 1e-3);
  EXPECT_GT(fused_lasso_objective(g, b, 2.0, 0, 0), fit.objective);
}

TEST(FusedLasso, BadInputThrows) {
  problem q = test_a();
  matrix<double> Xr = q.X;
  Xr.col(3) = Xr.col(2);  // duplicate column: rank-deficient
  EXPECT_THROW(fused_lasso(Xr, q.y, {.lambda_tv = 1.0}), invalid_argument);
  Xr.col(3).setZero();  // zero column (a padded window cell of the as-coded LEMNA)
  EXPECT_THROW(fused_lasso(Xr, q.y, {.lambda_tv = 1.0}), invalid_argument);
  EXPECT_NO_THROW(fused_lasso(Xr, q.y, {.lambda_tv = 1.0, .lambda_l2 = 1e-3}));
  vector<double> yn = q.y;
  yn(4) = std::nan("");
  EXPECT_THROW(fused_lasso(q.X, yn, {.lambda_tv = 1.0}), invalid_argument);
  EXPECT_THROW(fused_lasso(q.X, q.y, {.lambda_tv = -1.0}), invalid_argument);
  vector<double> w = vector<double>::Ones(12);
  w(0) = -1;
  EXPECT_THROW(fused_lasso(q.X, q.y, {.lambda_tv = 1.0}, &w), invalid_argument);
  EXPECT_THROW(fused_lasso(q.X, q.y.head(5), {.lambda_tv = 1.0}), invalid_argument);
}

TEST(ElasticNet, MatchesScikitLearn) {
  const matrix<double> data = explain_test::read_csv(explain_test::fixture("enet_data.csv"), false);
  const matrix<double> ref = explain_test::read_csv(explain_test::fixture("enet_sklearn.csv"), true);
  const matrix<double> X = data.leftCols(6);
  const vector<double> y = data.col(6);
  for (index_t k = 0; k < ref.rows(); ++k) {
    const auto fit = elastic_net(X, y, {.lambda_l1 = ref(k, 0), .lambda_l2 = ref(k, 1), .fit_intercept = true});
    ASSERT_TRUE(fit.converged);
    EXPECT_NEAR(fit.intercept, ref(k, 2), 1e-8);
    for (index_t j = 0; j < 6; ++j) EXPECT_NEAR(fit.coef(j), ref(k, 3 + j), 1e-8) << "row " << k << " coef " << j;
    // The FISTA solver with λ_tv = 0 solves the same problem.
    const auto f2 = fused_lasso(X, y, {.lambda_l1 = ref(k, 0), .lambda_l2 = ref(k, 1), .fit_intercept = true});
    EXPECT_LE((f2.coef - fit.coef).cwiseAbs().maxCoeff(), 1e-8);
  }
}

TEST(ElasticNet, RankDeficientNeedsRidge) {
  matrix<double> X(5, 2);
  X << 1, 1, 2, 2, 3, 3, 4, 4, 5, 5;
  vector<double> y(5);
  y << 1, 2, 3, 4, 5;
  EXPECT_THROW(elastic_net(X, y, {.lambda_l1 = 0.1}), invalid_argument);
  const auto fit = elastic_net(X, y, {.lambda_l1 = 0.1, .lambda_l2 = 1.0});
  EXPECT_TRUE(fit.converged);
  EXPECT_NEAR(fit.coef(0), fit.coef(1), 1e-8);  // the ridge splits the weight equally
}

}  // namespace explain_fused_lasso_tests
