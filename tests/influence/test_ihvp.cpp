// Tests of the influence layer's objectives and inverse-HVP solvers: softmax_regression_objective
// against finite differences; every solver against a direct solve of a finite-difference Hessian on
// L2-regularized logistic and softmax regression; typed errors (non-PSD Hessians without damping, a
// diverging LiSSA, mismatched sizes) and LiSSA's recovery by rescaling.
#include <gtest/gtest.h>

#include <cmath>

#include <Eigen/LU>
#include <rnnabs/influence.hpp>
#include <rnnabs/nn.hpp>

#include "helpers.hpp"

namespace influence_ihvp_tests {

using namespace rnnabs;
using namespace influence_test;

static_assert(check_sample_objective<softmax_regression_objective<double>>());
static_assert(sample_objective<batch_objective<rnn_classifier<lstm_cell, float>>>);
static_assert(sample_objective<quadratic_objective>);

/// Central-difference gradient of f.loss and Hessian of f.loss_gradient (the independent reference).
template <class F>
vector<double> fd_gradient(const F& f, const vector<double>& w, double h = 1e-6) {
  vector<double> g(w.size());
  for (index_t i = 0; i < w.size(); ++i) {
    vector<double> a = w, b = w;
    a(i) += h;
    b(i) -= h;
    g(i) = (static_cast<double>(f.loss(a)) - static_cast<double>(f.loss(b))) / (2 * h);
  }
  return g;
}
template <class F>
matrix<double> fd_hessian(const F& f, const vector<double>& w, double h = 1e-5) {
  matrix<double> H(w.size(), w.size());
  for (index_t i = 0; i < w.size(); ++i) {
    vector<double> a = w, b = w;
    a(i) += h;
    b(i) -= h;
    H.col(i) = (f.loss_gradient(a) - f.loss_gradient(b)) / (2 * h);
  }
  return 0.5 * (H + H.transpose());
}

double rel(const matrix<double>& a, const matrix<double>& b) { return (a - b).norm() / std::max(1e-300, b.norm()); }

class SoftmaxRegression : public ::testing::TestWithParam<index_t> {};

TEST_P(SoftmaxRegression, DerivativesMatchFiniteDifferences) {
  const index_t classes = GetParam();
  const auto f = make_logistic(40, 4, 3, 0.05, classes);
  const vector<double> w = random_vector(f.parameter_count(), 7, 0.5);
  EXPECT_LT(rel(f.loss_gradient(w), fd_gradient(f, w)), 1e-8);
  const matrix<double> H = fd_hessian(f, w);
  EXPECT_LT(rel(f.hessian(w), H), 1e-7);
  const vector<double> v = random_vector(f.parameter_count(), 8);
  EXPECT_LT(rel(f.hessian_vector_product(w, v), H * v), 1e-7);
  // Per-sample gradients average to the gradient without the L2 term.
  const matrix<double> g = f.per_sample_gradients(w);
  EXPECT_LT(rel(g.colwise().mean().transpose(), f.loss_gradient(w) - f.l2() * w), 1e-12);
  // A subset is the same objective over those rows.
  const std::vector<index_t> ids{3, 17, 5};
  const auto s = f.subset(ids);
  EXPECT_EQ(s.sample_count(), 3);
  const matrix<double> gs = s.per_sample_gradients(w);
  for (index_t k = 0; k < 3; ++k) EXPECT_LT(rel(gs.row(k), g.row(ids[static_cast<std::size_t>(k)])), 1e-15);
  EXPECT_LT(rel(s.subset(std::vector<index_t>{1}).per_sample_gradients(w), g.row(17)), 1e-15);
  const vector<double> l = f.per_sample_losses(w);
  EXPECT_NEAR(l.mean() + 0.5 * f.l2() * w.squaredNorm(), f.loss(w), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Influence, SoftmaxRegression, ::testing::Values(index_t{1}, index_t{3}));

TEST(InfluenceObjective, SoftmaxRegressionRejectsBadInput) {
  matrix<double> x = matrix<double>::Ones(4, 2);
  EXPECT_THROW(softmax_regression_objective<double>(x, index_vector::Zero(3), 1), invalid_argument);
  index_vector y(4);
  y << 0, 1, 2, 0;
  EXPECT_THROW(softmax_regression_objective<double>(x, y, 1), invalid_argument);  // label 2 for a binary model
  x(1, 1) = std::nan("");
  EXPECT_THROW(softmax_regression_objective<double>(x, index_vector::Zero(4), 1), invalid_argument);
}

/// The reference: (H_fd + λI)⁻¹ U by LU.
template <class F>
matrix<double> reference(const F& f, const vector<double>& w, const matrix<double>& u, double damping) {
  matrix<double> H = fd_hessian(f, w);
  H.diagonal().array() += damping;
  return H.fullPivLu().solve(u);
}

struct convex_case {
  softmax_regression_objective<double> f = make_logistic(60, 4, 11, 0.1, 3);
  vector<double> w = newton_fit(f, vector<double>::Zero(f.parameter_count()));
  matrix<double> u = [this] {
    matrix<double> m(f.parameter_count(), 3);
    for (index_t k = 0; k < 3; ++k) m.col(k) = random_vector(f.parameter_count(), 20 + static_cast<std::uint64_t>(k));
    return m;
  }();
};

TEST(InfluenceIhvp, ExplicitMatchesDirectSolve) {
  convex_case c;
  explicit_ihvp s(c.f, c.w, {.damping = 0.01});
  EXPECT_LT(rel(s.solve(c.u), reference(c.f, c.w, c.u, 0.01)), 1e-7);
  EXPECT_GT(s.report().min_eigenvalue, 0);
  // Without an analytic hessian() the Hessian is built from HVPs: the same answer.
  explicit_ihvp q(make_quadratic(30, 5, 0.5, 4), random_vector(5, 1));
  const auto quad = make_quadratic(30, 5, 0.5, 4);
  EXPECT_LT(rel(q.solve(c.u.topRows(5)), quad.mean_a().fullPivLu().solve(c.u.topRows(5))), 1e-12);
}

TEST(InfluenceIhvp, ConjugateGradientMatchesDirectSolve) {
  convex_case c;
  cg_ihvp s(c.f, c.w, {.damping = 0.01, .tol = 1e-12, .max_iter = 200});
  EXPECT_LT(rel(s.solve(c.u), reference(c.f, c.w, c.u, 0.01)), 1e-7);
  EXPECT_TRUE(s.report().converged);
  EXPECT_LE(s.report().iterations, c.f.parameter_count() + 5);
  EXPECT_FALSE(s.report().history.empty());
}

TEST(InfluenceIhvp, LissaMatchesDirectSolve) {
  convex_case c;
  // Full-batch steps: deterministic, converges to the exact inverse.
  lissa_ihvp s(c.f, c.w, {.damping = 0.01, .depth = 20000, .batch_size = 1000, .tol = 1e-13});
  EXPECT_LT(rel(s.solve(c.u), reference(c.f, c.w, c.u, 0.01)), 1e-6);
  EXPECT_GE(s.report().scale, 1.0);
  // Mini-batches: a noisy but unbiased estimate, close after averaging repetitions.
  lissa_ihvp m(c.f, c.w, {.damping = 0.05, .depth = 600, .repetitions = 8, .batch_size = 20, .seed = 3});
  EXPECT_LT(rel(m.solve(c.u.col(0)), reference(c.f, c.w, c.u.col(0), 0.05)), 0.1);
}

TEST(InfluenceIhvp, ArnoldiWithFullRankIsExact) {
  // Binary logistic regression: distinct eigenvalues, so the Krylov space from one start vector is
  // the whole space (a softmax model's repeated eigenvalue l2 would leave part of it out, by design).
  struct {
    softmax_regression_objective<double> f = make_logistic(60, 6, 12, 0.1);
    vector<double> w = newton_fit(f, vector<double>::Zero(f.parameter_count()));
    matrix<double> u = random_vector(f.parameter_count() * 2, 5).reshaped(f.parameter_count(), 2);
  } c;
  const index_t p = c.f.parameter_count();
  arnoldi_ihvp s(c.f, c.w, {.damping = 0.01, .rank = p, .iterations = p});
  EXPECT_LT(rel(s.solve(c.u), reference(c.f, c.w, c.u, 0.01)), 1e-6);
  // The kept eigenvalues are the Hessian's largest.
  Eigen::SelfAdjointEigenSolver<matrix<double>> es(c.f.hessian(c.w));
  arnoldi_ihvp top(c.f, c.w, {.damping = 0.01, .rank = 3, .iterations = p});
  for (index_t k = 0; k < 3; ++k) EXPECT_NEAR(top.eigenvalues()(k), es.eigenvalues()(p - 1 - k), 1e-8);
}

TEST(InfluenceIhvp, SolversAgreeOnAnRnnObjective) {
  // A tiny LSTM in double: CG, LiSSA (full batch) and explicit on its exact HVPs.
  rnn_config cfg{.input_size = 2, .hidden_size = 3, .num_classes = 2};
  rnn_classifier<lstm_cell, double> model(cfg, 5);
  sequence_batch<double> b;
  rng g(2);
  b.labels.resize(12);
  for (index_t i = 0; i < 12; ++i) {
    matrix<double> x(2 + i % 3, 2);
    for (index_t k = 0; k < x.size(); ++k) x.data()[k] = g.normal();
    b.features.push_back(x);
    b.labels(i) = i % 2;
  }
  batch_objective f(model, b, /*l2=*/0.5);  // strongly convex enough with the L2 term
  const vector<double> w = model.parameters();
  const vector<double> u = random_vector(f.parameter_count(), 9);
  explicit_ihvp e(f, w, {.damping = 0.1});
  const matrix<double> ref = e.solve(u);
  cg_ihvp cg(f, w, {.damping = 0.1, .tol = 1e-12, .max_iter = 500});
  EXPECT_LT(rel(cg.solve(u), ref), 1e-7);
  lissa_ihvp li(f, w, {.damping = 0.1, .depth = 5000, .batch_size = 100, .tol = 1e-12});
  EXPECT_LT(rel(li.solve(u), ref), 1e-6);
}

TEST(InfluenceIhvp, NonPositiveDefiniteHessianIsATypedError) {
  const auto q = make_quadratic(20, 6, -1.5, 5);  // mean A has negative eigenvalues
  const vector<double> w = random_vector(6, 1);
  const vector<double> u = random_vector(6, 2);
  EXPECT_THROW(explicit_ihvp(q, w), numerical_error);
  try {
    explicit_ihvp e(q, w);
    FAIL();
  } catch (const numerical_error& err) {
    EXPECT_NE(std::string(err.what()).find("set damping above"), std::string::npos) << err.what();
  }
  cg_ihvp cg(q, w);
  try {
    cg.solve(u);
    FAIL() << "cg accepted an indefinite Hessian";
  } catch (const numerical_error& err) {
    EXPECT_NE(std::string(err.what()).find("damping"), std::string::npos) << err.what();
  }
  // Enough damping makes both well-posed.
  const double lo = Eigen::SelfAdjointEigenSolver<matrix<double>>(q.mean_a()).eigenvalues()(0);
  explicit_ihvp ok(q, w, {.damping = -lo + 0.5});
  cg_ihvp cgok(q, w, {.damping = -lo + 0.5, .tol = 1e-12});
  EXPECT_LT(rel(cgok.solve(u), ok.solve(u)), 1e-8);
}

TEST(InfluenceIhvp, LissaDivergenceIsRecoveredOrReported) {
  const auto q = make_quadratic(40, 5, 0.2, 6);
  const vector<double> w = random_vector(5, 1), u = random_vector(5, 3);
  const double top = Eigen::SelfAdjointEigenSolver<matrix<double>>(q.mean_a()).eigenvalues()(4);
  // A scale far below the largest eigenvalue: the recursion blows up at once.
  lissa_ihvp bad(q, w, {.damping = 0.01, .scale = top / 50, .depth = 3000, .batch_size = 100, .max_rescales = 0});
  EXPECT_THROW(bad.solve(u), numerical_error);
  // With rescaling allowed the same run recovers and reports it.
  lissa_ihvp rec(q, w, {.damping = 0.01, .scale = top / 50, .depth = 20000, .batch_size = 100, .tol = 1e-13});
  const matrix<double> x = rec.solve(u);
  EXPECT_GT(rec.report().rescales, 0);
  matrix<double> a = q.mean_a();
  a.diagonal().array() += 0.01;
  EXPECT_LT(rel(x, a.fullPivLu().solve(u)), 1e-6);
  // Negative curvature: no scale helps over a long recursion — a typed error with advice.
  const auto neg = make_quadratic(40, 5, -2.0, 7);
  lissa_ihvp nc(neg, w, {.damping = 0.0, .depth = 2000, .batch_size = 100, .max_rescales = 2});
  try {
    nc.solve(u);
    FAIL() << "lissa accepted negative curvature";
  } catch (const numerical_error& err) {
    EXPECT_NE(std::string(err.what()).find("raise damping"), std::string::npos) << err.what();
  }
}

TEST(InfluenceIhvp, BadInputIsATypedError) {
  convex_case c;
  EXPECT_THROW(cg_ihvp(c.f, vector<double>::Zero(3)), invalid_argument);
  EXPECT_THROW(cg_ihvp(c.f, c.w, {.damping = -1}), invalid_argument);
  cg_ihvp s(c.f, c.w);
  EXPECT_THROW(s.solve(matrix<double>::Ones(4, 1)), invalid_argument);
  matrix<double> nan_u = c.u;
  nan_u(0, 0) = std::nan("");
  EXPECT_THROW(s.solve(nan_u), invalid_argument);
  EXPECT_THROW(explicit_ihvp(c.f, c.w, {.max_parameters = 4}), invalid_argument);
  EXPECT_THROW(lissa_ihvp(c.f, c.w, {.depth = 0}), invalid_argument);
  EXPECT_THROW(arnoldi_ihvp(c.f, c.w, {.rank = 5, .iterations = 2}), invalid_argument);
}

TEST(InfluenceIhvp, ResultsDoNotDependOnTheThreadCount) {
  convex_case c;
  const int saved = max_threads();
  set_threads(1);
  cg_ihvp a(c.f, c.w, {.damping = 0.01});
  lissa_ihvp la(c.f, c.w, {.damping = 0.05, .depth = 50, .batch_size = 8, .seed = 2});
  const matrix<double> x1 = a.solve(c.u), l1 = la.solve(c.u);
  set_threads(2);
  cg_ihvp b(c.f, c.w, {.damping = 0.01});
  lissa_ihvp lb(c.f, c.w, {.damping = 0.05, .depth = 50, .batch_size = 8, .seed = 2});
  const matrix<double> x2 = b.solve(c.u), l2 = lb.solve(c.u);
  set_threads(saved);
  EXPECT_TRUE(x1 == x2);
  EXPECT_TRUE(l1 == l2);
}

}  // namespace influence_ihvp_tests
