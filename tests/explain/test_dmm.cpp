// DP mixtures of regressions: the random draws, Hungarian relabelling, the responsibilities reference value
// of the released express.cc, the τ density (normalisation by quadrature, log-space at p = 300), and recovery of
// planted parameters by DMM and DMM-MEN; determinism for a seed.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <rnnabs/core/rng.hpp>
#include <rnnabs/explain/dmm.hpp>

namespace explain_dmm_tests {

using namespace rnnabs;

TEST(DpRandom, MomentsOfTheDraws) {
  rng g(1);
  const int n = 200000;
  double sg = 0, sg2 = 0, sb = 0, sig = 0, sgs = 0;
  for (int i = 0; i < n; ++i) {
    const double x = detail::gamma_draw(g, 2.5, 2.0);
    sg += x;
    sg2 += x * x;
    sb += detail::beta_draw(g, 2, 3);
    sig += detail::inv_gauss_draw(g, 1.5, 2.0);
    sgs += detail::gamma_draw(g, 0.3);
  }
  EXPECT_NEAR(sg / n, 1.25, 0.01);                          // shape / rate
  EXPECT_NEAR(sg2 / n - (sg / n) * (sg / n), 0.625, 0.01);  // shape / rate²
  EXPECT_NEAR(sb / n, 0.4, 0.003);
  EXPECT_NEAR(sig / n, 1.5, 0.01);
  EXPECT_NEAR(sgs / n, 0.3, 0.005);
  double st = 0;
  for (int i = 0; i < 20000; ++i) {
    const double t = detail::normal_tail_draw(g, 3.0);
    ASSERT_GT(t, 3.0);
    st += t;
  }
  // E[Z | Z > 3] = φ(3) / Φ(−3) = 3.2831...
  EXPECT_NEAR(st / 20000, 3.28316, 0.01);
  EXPECT_NEAR(detail::log_normal_cdf_neg(31.0), std::log(0.5 * std::erfc(31.0 / std::sqrt(2.0))), 1e-6);
  EXPECT_NEAR(detail::log_normal_cdf_neg(29.0), std::log(0.5 * std::erfc(29.0 / std::sqrt(2.0))), 1e-9);
  EXPECT_TRUE(std::isfinite(detail::log_normal_cdf_neg(1e3)));
}

TEST(Relabel, HungarianFindsTheOptimalAssignment) {
  rng g(4);
  for (int rep = 0; rep < 30; ++rep) {
    const index_t n = 1 + static_cast<index_t>(g.below(6));
    matrix<double> c(n, n);
    for (index_t i = 0; i < c.size(); ++i) c.data()[i] = static_cast<double>(g.below(20));
    const index_vector perm = hungarian(c);
    double best = 1e300;
    std::vector<index_t> q(static_cast<std::size_t>(n));
    std::iota(q.begin(), q.end(), index_t{0});
    do {
      double s = 0;
      for (index_t i = 0; i < n; ++i) s += c(i, q[static_cast<std::size_t>(i)]);
      best = std::min(best, s);
    } while (std::next_permutation(q.begin(), q.end()));
    double got = 0;
    for (index_t i = 0; i < n; ++i) got += c(i, perm(i));
    EXPECT_DOUBLE_EQ(got, best);
  }
  index_vector ref(6), draw(6);
  ref << 0, 0, 1, 1, 2, 2;
  draw << 2, 2, 0, 0, 1, 1;
  const index_vector p = relabel_permutation(ref, draw, 3);
  EXPECT_EQ(p(0), 2);
  EXPECT_EQ(p(1), 0);
  EXPECT_EQ(p(2), 1);
}

TEST(DpMixture, ResponsibilitiesReferenceValue) {
  vector<double> x(2), w(2), b0 = vector<double>::Zero(2), var(2);
  x << 1, 2;
  w << 0.3, 0.7;
  var << 1, 4;
  matrix<double> B(2, 2);
  B << 0.5, 0, 0, 0.5;
  const vector<double> r = regression_responsibilities(x, 1.0, w, B, b0, var);
  EXPECT_NEAR(r(0), 0.4306620105, 1e-10);
  EXPECT_NEAR(r(1), 0.5693379895, 1e-10);
}

TEST(DpMixture, TauDensityIsNormalisedAndFiniteInHighDimension) {
  // p = 1: ∫_0^1 p(τ') dτ' = 1 (substitution τ' = u² removes the endpoint behaviour; midpoint rule).
  for (double s2 : {0.5, 3.0}) {
    const double l1 = 2, l2 = 8;
    const int m = 400000;
    double integral = 0;
    vector<double> t(1);
    for (int i = 0; i < m; ++i) {
      const double u = (i + 0.5) / m;
      t(0) = u * u;
      integral += std::exp(log_tau_density(t, s2, l1, l2)) * 2 * u / m;
    }
    EXPECT_NEAR(integral, 1.0, 1e-4) << s2;
  }
  // p = 300, τ' = 0.5, λ = (2, 8): the released code's linear-space density underflows to 0 (0/0 ratio);
  // in log space the ratio is finite and equals 300 × the one-dimensional log ratio.
  const vector<double> t300 = vector<double>::Constant(300, 0.5), t1 = vector<double>::Constant(1, 0.5);
  const double a = log_tau_density(t300, 3.0, 2, 8), b = log_tau_density(t300, 3.5, 2, 8);
  ASSERT_TRUE(std::isfinite(a) && std::isfinite(b));
  EXPECT_NEAR(b - a, 300 * (log_tau_density(t1, 3.5, 2, 8) - log_tau_density(t1, 3.0, 2, 8)), 1e-9);
}

struct planted {
  matrix<double> X;
  vector<double> y;
  matrix<double> B;
  vector<double> b0, pi;
  double sigma;
};

planted make_planted(std::uint64_t seed, index_t n, index_t p, double sigma) {
  rng g(seed);
  planted d{matrix<double>(n, p), vector<double>(n), matrix<double>::Zero(2, p),
            vector<double>(2),    vector<double>(2), sigma};
  d.B(0, 0) = 2.0;
  d.B(0, 1) = -1.0;
  d.B(1, 1) = 1.5;
  d.B(1, 2) = 2.0;
  d.b0 << 0.5, -1.0;
  d.pi << 0.6, 0.4;
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < p; ++j) d.X(i, j) = g.normal();
    const index_t k = g.uniform() < d.pi(0) ? 0 : 1;
    d.y(i) = d.b0(k) + d.X.row(i).dot(d.B.row(k)) + sigma * g.normal();
  }
  return d;
}

// The two heaviest components of f matched to the planted ones by intercept.
void expect_recovered(const dp_mixture_fit& f, const planted& d, double tol_coef, double tol_pi) {
  std::vector<index_t> ord(static_cast<std::size_t>(f.n_components()));
  std::iota(ord.begin(), ord.end(), index_t{0});
  std::sort(ord.begin(), ord.end(), [&](index_t a, index_t b) { return f.weights(a) > f.weights(b); });
  for (index_t k = 0; k < 2; ++k) {
    const index_t j = std::abs(f.intercepts(ord[0]) - d.b0(k)) < std::abs(f.intercepts(ord[1]) - d.b0(k)) ? ord[0]
                                                                                                          : ord[1];
    EXPECT_NEAR(f.intercepts(j), d.b0(k), tol_coef) << k;
    EXPECT_LE((f.coef.row(j) - d.B.row(k)).cwiseAbs().maxCoeff(), tol_coef) << k;
    EXPECT_NEAR(f.weights(j), d.pi(k), tol_pi) << k;
    EXPECT_NEAR(std::sqrt(f.variances(j)), d.sigma, 0.3 * d.sigma) << k;
  }
}

TEST(Dmm, RecoversPlantedComponentsAndIsDeterministic) {
  const planted d = make_planted(8, 600, 4, 0.1);
  // A weak coefficient prior: the NIG prior N(0, σ² v I) with the released v = 3 shrinks β and inflates σ² when
  // the noise is small (σ² absorbs βᵀβ / v), which is the model, not an error of the sampler.
  dmm sampler({.truncation = 4, .iterations = 600, .burn_in = 200, .prior_variance = 1000, .seed = 3});
  const dp_mixture_fit f = sampler.fit(d.X, d.y);
  EXPECT_EQ(f.kept_draws, 399);
  expect_recovered(f, d, 0.05, 0.06);
  // The predictive mean is the π-weighted mixture of the two lines (with J = 2: no empty components, whose
  // prior draws of β would dominate the mean under a vague prior).
  const dp_mixture_fit f2c = dmm({.truncation = 2, .iterations = 400, .prior_variance = 1000, .seed = 3}).fit(d.X, d.y);
  const vector<double> pm = f2c.predict_mean(d.X.topRows(5));
  // The central 90 % posterior predictive interval covers about 90 % of the data (a well-specified model).
  const matrix<double> q = f2c.predictive_quantiles(d.X, {0.05, 0.95}, 2000, 7);
  double covered = 0;
  for (index_t i = 0; i < d.X.rows(); ++i) covered += d.y(i) >= q(i, 0) && d.y(i) <= q(i, 1);
  EXPECT_NEAR(covered / static_cast<double>(d.X.rows()), 0.90, 0.04);
  EXPECT_EQ(f2c.draw_coef.size(), 199u);
  for (index_t i = 0; i < 5; ++i) {
    const double truth = d.pi(0) * (d.b0(0) + d.X.row(i).dot(d.B.row(0))) +
                         d.pi(1) * (d.b0(1) + d.X.row(i).dot(d.B.row(1)));
    EXPECT_NEAR(pm(i), truth, 0.1);
  }
  // Same seed, same draws; another seed, other draws.
  const dp_mixture_fit f2 = sampler.fit(d.X, d.y);
  EXPECT_EQ(f.coef, f2.coef);
  EXPECT_EQ(f.log_likelihood_trace, f2.log_likelihood_trace);
  const dp_mixture_fit f3 =
      dmm({.truncation = 4, .iterations = 600, .burn_in = 200, .prior_variance = 1000, .seed = 4}).fit(d.X, d.y);
  EXPECT_NE(f.log_likelihood_trace, f3.log_likelihood_trace);
  // Explanation: the component of a training row and its feature ranking.
  const index_t i = 0;
  const auto e = explain_instance(f, d.X.row(i).transpose(), d.y(i), vector<double>::Zero(4));
  EXPECT_EQ(e.component, f.assignments(i));
  EXPECT_EQ(e.ranking.size(), 4);
}

TEST(Dmm, DeterministicForAnyThreadCount) {
  const planted d = make_planted(9, 5000, 3, 0.2);  // several z chunks
  dmm sampler({.truncation = 3, .iterations = 40, .burn_in = 10, .seed = 1});
  const int t0 = max_threads();
  set_threads(1);
  const auto a = sampler.fit(d.X, d.y);
  set_threads(2);
  const auto b = sampler.fit(d.X, d.y);
  set_threads(t0);
  EXPECT_EQ(a.coef, b.coef);
  EXPECT_EQ(a.log_likelihood_trace, b.log_likelihood_trace);
}

TEST(DmmMen, RecoversPlantedSparseComponents) {
  const planted d = make_planted(12, 800, 8, 0.1);
  dmm_men sampler({.truncation = 4, .n_nets = 2, .iterations = 800, .burn_in = 300, .seed = 5});
  const dmm_men_fit f = sampler.fit(d.X, d.y);
  expect_recovered(f, d, 0.06, 0.06);
  EXPECT_GT(f.sigma_acceptance, 0.05);  // the log-space MH step moves (the released code's never did at p = 300)
  EXPECT_GT(f.lambda_acceptance, 0.05);
  EXPECT_TRUE(f.lambdas.allFinite());
  // Zero coefficients stay small; the global ranking by |β| starts with a planted feature.
  const index_t j = f.assignments(0);
  const index_t top = f.rank_by_magnitude(j)(0);
  EXPECT_LT(top, 3);
  const dmm_men_fit f2 = sampler.fit(d.X, d.y);
  EXPECT_EQ(f.coef, f2.coef);
}

TEST(DpMixture, BadInputThrows) {
  matrix<double> X = matrix<double>::Ones(10, 2);
  vector<double> y = vector<double>::Zero(10);
  EXPECT_THROW(dmm({.iterations = 10, .burn_in = 10}).fit(X, y), invalid_argument);
  EXPECT_THROW(dmm({.truncation = 0}).fit(X, y), invalid_argument);
  y(3) = std::nan("");
  EXPECT_THROW(dmm().fit(X, y), invalid_argument);
  EXPECT_THROW(dmm_men().fit(X, vector<double>::Zero(9)), invalid_argument);
}

}  // namespace explain_dmm_tests
