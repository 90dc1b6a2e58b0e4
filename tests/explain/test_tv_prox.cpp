// 1-D total-variation prox (Johnson's DP) against a brute-force dual solver and the optimality
// certificate, float and double.
#include <gtest/gtest.h>

#include <cmath>
#include <rnnabs/core/rng.hpp>
#include <rnnabs/explain/tv_prox.hpp>

namespace explain_tv_prox_tests {

using namespace rnnabs;

// Brute force: the dual  min_u ½‖y − Dᵀu‖²  s.t. |u_k| ≤ λ  by cyclic coordinate descent run to a fixed point,
// then x = y − Dᵀu  ((Dᵀu)_j = u_{j−1} − u_j).
vector<double> tv_brute(const vector<double>& y, double lam) {
  const index_t n = y.size();
  if (n < 2) return y;
  vector<double> u = vector<double>::Zero(n - 1);
  auto x_of = [&](index_t j) {
    const double a = j > 0 ? u(j - 1) : 0.0, b = j < n - 1 ? u(j) : 0.0;
    return y(j) - (a - b);
  };
  for (int sweep = 0; sweep < 400000; ++sweep) {
    double change = 0;
    for (index_t k = 0; k < n - 1; ++k) {
      // d/du_k ½‖x‖² with x_k = y_k − u_{k−1} + u_k, x_{k+1} = y_{k+1} − u_k + u_{k+1}: x_k − x_{k+1} = 0.
      const double xk = x_of(k) - u(k), xk1 = x_of(k + 1) + u(k);  // parts without u_k
      const double nu = std::clamp((xk1 - xk) / 2.0, -lam, lam);
      change = std::max(change, std::abs(nu - u(k)));
      u(k) = nu;
    }
    if (change <= 1e-15) break;
  }
  vector<double> x(n);
  for (index_t j = 0; j < n; ++j) x(j) = x_of(j);
  return x;
}

// Optimality certificate of x = prox: u_k = Σ_{i≤k} (x_i − y_i) must satisfy |u_k| ≤ λ, equal λ·sign(x_{k+1} − x_k)
// where x jumps, and Σ (x − y) = 0. Returns the largest violation.
double certificate(const vector<double>& y, const vector<double>& x, double lam) {
  const index_t n = y.size();
  double u = 0, viol = 0;
  for (index_t k = 0; k < n; ++k) {
    u += x(k) - y(k);
    if (k == n - 1) {
      viol = std::max(viol, std::abs(u));
      break;
    }
    const double d = x(k + 1) - x(k);
    if (d > 0) viol = std::max(viol, std::abs(u - lam));
    else if (d < 0) viol = std::max(viol, std::abs(u + lam));
    else viol = std::max(viol, std::abs(u) - lam);
  }
  return viol;
}

vector<double> random_signal(rng& g, index_t n, double jump) {
  vector<double> y(n);
  double level = 0;
  for (index_t i = 0; i < n; ++i) {
    if (g.uniform() < 0.2) level = jump * g.normal();
    y(i) = level + g.normal();
  }
  return y;
}

TEST(TvProx, MatchesBruteForceOnSmallSignals) {
  rng g(3);
  for (int rep = 0; rep < 60; ++rep) {
    const index_t n = 2 + static_cast<index_t>(g.below(14));
    const vector<double> y = random_signal(g, n, 3.0);
    for (double lam : {0.01, 0.3, 1.0, 2.5, 50.0}) {
      const vector<double> x = tv_prox(y, lam);
      const vector<double> b = tv_brute(y, lam);
      ASSERT_LE((x - b).cwiseAbs().maxCoeff(), 1e-12) << "n=" << n << " lambda=" << lam;
      ASSERT_LE(certificate(y, x, lam), 1e-12);
    }
  }
}

TEST(TvProx, ClosedForms) {
  vector<double> y(4);
  y << 1, 2, 3, 10;
  // λ huge: every value fuses to the mean.
  EXPECT_NEAR((tv_prox(y, 1e6).array() - 4.0).abs().maxCoeff(), 0.0, 1e-12);
  // λ = 0: identity.
  EXPECT_EQ(tv_prox(y, 0.0), y);
  // Two points: x = (a + λ, b − λ) while λ < (b − a)/2.
  vector<double> two(2);
  two << 0, 4;
  const vector<double> x = tv_prox(two, 1.5);
  EXPECT_DOUBLE_EQ(x(0), 1.5);
  EXPECT_DOUBLE_EQ(x(1), 2.5);
  // A single value and an empty vector.
  vector<double> one(1);
  one << 7;
  EXPECT_EQ(tv_prox(one, 3.0)(0), 7.0);
  EXPECT_EQ(tv_prox(vector<double>(0), 1.0).size(), 0);
}

TEST(TvProx, LargeSignalSatisfiesCertificateAndInPlace) {
  rng g(11);
  const vector<double> y = random_signal(g, 200000, 5.0);
  vector<double> x = y;
  tv_workspace ws;
  tv_prox(x.data(), x.size(), 2.0, x.data(), ws);  // in place
  EXPECT_LE(certificate(y, x, 2.0), 1e-8);
  EXPECT_LT(total_variation(x), total_variation(y));
}

TEST(TvProx, FloatAgreesWithDouble) {
  rng g(5);
  const vector<double> y = random_signal(g, 1000, 2.0);
  const vector<float> yf = y.cast<float>();
  const vector<float> xf = tv_prox(yf, 0.7f);
  const vector<double> xd = tv_prox(y, 0.7);
  EXPECT_LE((xf.cast<double>() - xd).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(TvProx, BadLambdaThrows) {
  vector<double> y = vector<double>::Ones(5);
  EXPECT_THROW(tv_prox(y, -1.0), invalid_argument);
  EXPECT_THROW(tv_prox(y, std::nan("")), invalid_argument);
}

}  // namespace explain_tv_prox_tests
