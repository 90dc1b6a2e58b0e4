#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <rnnabs/io/npz.hpp>
#include <rnnabs/stats/gmm.hpp>
#include <unistd.h>

namespace stats_gmm_tests {

using namespace rnnabs;
namespace fs = std::filesystem;

using npz = std::map<std::string, io::npy_array>;

npz fixture(const std::string& type) {
  return io::npz_read(fs::path(RNNABS_TEST_DATA) / "gmm" / ("parity_" + type + ".npz"));
}
matrix<double> get(const npz& f, const std::string& k) { return io::to_matrix<double>(f.at(k)); }

/// max |a-b| / max(|b|) over the array: relative to the array's scale, so near-zero entries
/// are not held to an impossible standard.
double rel_err(const matrix<double>& a, const matrix<double>& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  if (a.rows() != b.rows() || a.cols() != b.cols()) return 1e300;
  const double scale = std::max(b.cwiseAbs().maxCoeff(), 1e-300);
  return (a - b).cwiseAbs().maxCoeff() / scale;
}

gmm_parameters initial(const npz& f) {
  gmm_parameters p;
  p.weights = get(f, "weights0").col(0);
  p.means = get(f, "means0");
  p.covariances = get(f, "covariances0");
  return p;
}

class GmmParity : public ::testing::TestWithParam<std::string> {};

// From identical initial parameters, every EM iterate matches scikit-learn's.
TEST_P(GmmParity, IteratesMatchScikitLearn) {
  const auto f = fixture(GetParam());
  const matrix<double> X = get(f, "X");
  const auto iters = io::to_matrix<std::int64_t>(f.at("iters"));
  for (index_t i = 0; i < iters.rows(); ++i) {
    const auto m = static_cast<index_t>(iters(i, 0));
    SCOPED_TRACE("iterations " + std::to_string(m));
    gaussian_mixture g({.n_components = 3,
                        .covariance = parse_covariance_type(GetParam()),
                        .tol = 0.0,
                        .max_iter = m,
                        .on_degenerate = degenerate_policy::error});
    g.fit(X, initial(f));
    const std::string s = "_" + std::to_string(m);
    EXPECT_EQ(g.n_iter(), m);
    EXPECT_LT(rel_err(g.weights(), get(f, "weights" + s)), 1e-9);
    EXPECT_LT(rel_err(g.means(), get(f, "means" + s)), 1e-9);
    EXPECT_LT(rel_err(g.covariances(), get(f, "covariances" + s)), 1e-9);
    EXPECT_LT(rel_err(g.precisions_cholesky(), get(f, "precisions_cholesky" + s)), 1e-9);
    EXPECT_NEAR(g.lower_bound(), get(f, "lower_bound" + s)(0, 0), 1e-9 * std::abs(g.lower_bound()));
  }
  // The final model's posterior, densities, labels and criteria.
  gaussian_mixture g({.n_components = 3,
                      .covariance = parse_covariance_type(GetParam()),
                      .tol = 0.0,
                      .max_iter = static_cast<index_t>(iters(iters.rows() - 1, 0))});
  g.fit(X, initial(f));
  EXPECT_LT(rel_err(g.predict_proba(X), get(f, "predict_proba")), 1e-9);
  EXPECT_LT(rel_err(g.score_samples(X), get(f, "score_samples")), 1e-9);
  const auto lab = io::to_matrix<std::int64_t>(f.at("predict"));
  const index_vector pred = g.predict(X);
  for (index_t i = 0; i < X.rows(); ++i) ASSERT_EQ(pred[i], lab(i, 0)) << "row " << i;
  EXPECT_NEAR(g.bic(X), get(f, "bic")(0, 0), 1e-9 * std::abs(g.bic(X)));
  EXPECT_NEAR(g.aic(X), get(f, "aic")(0, 0), 1e-9 * std::abs(g.aic(X)));
  EXPECT_EQ(g.n_parameters(), io::to_matrix<std::int64_t>(f.at("n_parameters"))(0, 0));
}

INSTANTIATE_TEST_SUITE_P(AllCovarianceTypes, GmmParity, ::testing::Values("full", "tied", "diag", "spherical"));

/// Points from a few separated Gaussian blobs (seeded).
matrix<double> blobs(index_t n, index_t d, index_t k, std::uint64_t seed, double spread = 6.0) {
  rng g(seed);
  matrix<double> c(k, d), X(n, d);
  for (index_t j = 0; j < k; ++j)
    for (index_t a = 0; a < d; ++a) c(j, a) = spread * g.normal();
  for (index_t i = 0; i < n; ++i) {
    const auto j = static_cast<index_t>(g.below(static_cast<std::uint64_t>(k)));
    for (index_t a = 0; a < d; ++a) X(i, a) = c(j, a) + (0.5 + 0.3 * static_cast<double>(a % 3)) * g.normal();
  }
  return X;
}

class GmmTypes : public ::testing::TestWithParam<covariance_type> {};

TEST_P(GmmTypes, BitIdenticalForOneAndTwoThreads) {
  const matrix<double> X = blobs(20011, 5, 6, 7);
  auto fit = [&](int threads) {
    set_threads(threads);
    gaussian_mixture g({.n_components = 6, .covariance = GetParam(), .max_iter = 30, .n_init = 2, .seed = 11});
    g.fit(X);
    return g;
  };
  const auto a = fit(1), b = fit(2);
  set_threads(2);
  EXPECT_EQ(a.lower_bound(), b.lower_bound());
  EXPECT_EQ(a.n_iter(), b.n_iter());
  EXPECT_TRUE(a.means() == b.means());
  EXPECT_TRUE(a.covariances() == b.covariances());
  EXPECT_TRUE(a.weights() == b.weights());
  EXPECT_TRUE(a.predict_proba(X) == b.predict_proba(X));
}

// Integer sample weights are the same as repeating rows: an independent route to the same fit.
TEST_P(GmmTypes, SampleWeightsEqualRepeatedRows) {
  const matrix<double> X = blobs(400, 3, 3, 21);
  rng g(3);
  vector<double> w(X.rows());
  index_t total = 0;
  for (index_t i = 0; i < X.rows(); ++i) total += static_cast<index_t>(w[i] = static_cast<double>(g.below(3)));
  matrix<double> R(total, X.cols());
  for (index_t i = 0, r = 0; i < X.rows(); ++i)
    for (int c = 0; c < static_cast<int>(w[i]); ++c) R.row(r++) = X.row(i);
  gmm_parameters p0;
  {
    gaussian_mixture init({.n_components = 3, .covariance = GetParam(), .max_iter = 1, .seed = 5});
    init.fit(X);
    p0 = init.parameters();
  }
  gaussian_mixture a({.n_components = 3, .covariance = GetParam(), .tol = 0, .max_iter = 15});
  gaussian_mixture e = a;
  a.fit(R, p0);
  e.fit(X, w, p0);
  EXPECT_LT(rel_err(e.means(), a.means()), 1e-10);
  EXPECT_LT(rel_err(e.covariances(), a.covariances()), 1e-10);
  EXPECT_LT(rel_err(e.weights(), a.weights()), 1e-10);
  EXPECT_NEAR(e.lower_bound(), a.lower_bound(), 1e-10 * std::abs(a.lower_bound()));
}

// The float pass against the double one from the same start, over 20 iterations: the
// float kernels (their exp, lane blocks and tile conversion) must give the double fit to float accuracy,
// and stay bit-identical for any thread count.
TEST_P(GmmTypes, SinglePrecisionPassAgreesWithDouble) {
  const matrix<double> X = blobs(8011, 5, 6, 7);
  gmm_parameters p0;
  {
    gaussian_mixture init({.n_components = 6, .covariance = GetParam(), .max_iter = 1, .seed = 5});
    init.fit(X);
    p0 = init.parameters();
  }
  auto fit = [&](em_precision prec, int threads) {
    set_threads(threads);
    gaussian_mixture g({.n_components = 6, .covariance = GetParam(), .tol = 0, .max_iter = 20, .precision = prec});
    g.fit(X, p0);
    return g;
  };
  const auto d = fit(em_precision::double_precision, 2);
  const auto s1 = fit(em_precision::single_precision, 1), s2 = fit(em_precision::single_precision, 2);
  EXPECT_LT(rel_err(s2.means(), d.means()), 2e-5);
  EXPECT_LT(rel_err(s2.covariances(), d.covariances()), 2e-4);
  EXPECT_LT(rel_err(s2.weights(), d.weights()), 2e-4);
  EXPECT_NEAR(s2.lower_bound(), d.lower_bound(), 1e-6 * std::abs(d.lower_bound()));
  EXPECT_FALSE(s2.means() == d.means());  // the float path really ran
  EXPECT_EQ(s1.lower_bound(), s2.lower_bound());
  EXPECT_TRUE(s1.means() == s2.means());
  EXPECT_TRUE(s1.covariances() == s2.covariances());
}

INSTANTIATE_TEST_SUITE_P(AllCovarianceTypes, GmmTypes,
                         ::testing::Values(covariance_type::full, covariance_type::tied, covariance_type::diag,
                                           covariance_type::spherical));

// The kernels' exponential (division-free polynomial) against the C library's, over its whole range.
TEST(GmmKernels, ExpIsWithinTwoUlpOfStdExp) {
  std::vector<double> x;
  rng g(1);
  for (int i = 0; i < 200000; ++i) x.push_back(-745.0 * g.uniform());
  for (int i = 0; i < 2000; ++i) x.push_back(-1e-3 * i);
  x.push_back(0.0);
  x.push_back(-708.0);
  x.push_back(-800.0);
  std::vector<double> y = x;
  detail::exp_nonpositive(y.data(), static_cast<index_t>(y.size()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = std::exp(x[i]);
    if (x[i] < -708.3) {
      EXPECT_EQ(y[i], 0.0);
    } else {
      ASSERT_LE(std::abs(y[i] - e), 4.5e-16 * e) << "x = " << x[i];
    }
  }
}

// The float exponential against the correctly rounded one (std::exp in double, then rounded).
TEST(GmmKernels, FloatExpIsWithinTwoUlpOfTheRoundedExp) {
  std::vector<float> x;
  rng g(2);
  for (int i = 0; i < 200000; ++i) x.push_back(static_cast<float>(-87.0 * g.uniform()));
  for (int i = 0; i < 2000; ++i) x.push_back(-1e-4f * static_cast<float>(i));
  x.push_back(0.0f);
  x.push_back(-87.0f);
  x.push_back(-90.0f);
  x.push_back(-1000.0f);
  std::vector<float> y = x;
  detail::exp_nonpositive(y.data(), static_cast<index_t>(y.size()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] < -87.3f) {
      EXPECT_EQ(y[i], 0.0f);
      continue;
    }
    const auto e = static_cast<float>(std::exp(static_cast<double>(x[i])));
    ASSERT_LE(std::abs(y[i] - e), 2.0f * (std::nextafter(e, 1.0f) - e)) << "x = " << x[i];
  }
}

// Responsibilities far below a point's largest are exactly 0 (never subnormal); the rest are exact.
template <class S>
void expect_tiny_responsibilities_are_zero(S below, S above) {
  detail::basic_gmm_scratch<S> s(3, 1);
  std::vector<S> w(detail::gmm_tile, S(1));
  for (index_t p = 0; p < detail::gmm_tile; ++p) {
    s.lp[p] = S(0);
    s.lp[detail::gmm_tile + p] = below;
    s.lp[2 * detail::gmm_tile + p] = above;
  }
  detail::tile_normalize(3, w.data(), s);
  const double want = std::exp(static_cast<double>(above)) / (1.0 + std::exp(static_cast<double>(above)));
  for (index_t p = 0; p < detail::gmm_tile; ++p) {
    EXPECT_EQ(s.lp[detail::gmm_tile + p], S(0));
    EXPECT_NEAR(static_cast<double>(s.lp[2 * detail::gmm_tile + p]), want,
                4 * std::numeric_limits<S>::epsilon() * want);
    EXPECT_TRUE(std::isnormal(s.lp[2 * detail::gmm_tile + p]));
  }
}
TEST(GmmKernels, TinyResponsibilitiesAreZeroNotSubnormal) {
  expect_tiny_responsibilities_are_zero<double>(-650.0, -550.0);
  expect_tiny_responsibilities_are_zero<float>(-70.0f, -60.0f);
}

/// The statistics of one double diag pass (raw moments where they cancel little) against the pass
/// with every component summed around its own mean: same E-step, so the same log-likelihood bit for
/// bit, and sums within the raw moments' error bound.
void expect_pass_matches_shifted(const detail::packed_points& P, const detail::gmm_kernel_model& m) {
  const detail::gmm_stats got = detail::em_pass(P, m), want = detail::em_pass_as<double>(P, m);
  EXPECT_EQ(got.loglik, want.loglik);
  const auto v = [](const std::vector<double>& x) {
    return Eigen::Map<const matrix<double>>(x.data(), static_cast<index_t>(x.size()), 1);
  };
  EXPECT_EQ(v(got.nk), v(want.nk));
  for (index_t j = 0; j < m.k; ++j)
    for (index_t a = 0; a < m.d; ++a) {
      const std::size_t i = static_cast<std::size_t>(j * m.d + a);
      const double nk = want.nk[static_cast<std::size_t>(j)];
      // s1 relative to nk·σ (a mean shift), s2 relative to itself (a variance).
      EXPECT_NEAR(got.s1[i], want.s1[i], 1e-11 * nk * std::sqrt(want.s2[i] / nk)) << j << "," << a;
      EXPECT_NEAR(got.s2[i], want.s2[i], 1e-10 * want.s2[i]) << j << "," << a;
    }
}

detail::gmm_kernel_model diag_model(const matrix<double>& means, const matrix<double>& sigma) {
  const index_t K = means.rows();
  const vector<double> w = vector<double>::Constant(K, 1.0 / static_cast<double>(K));
  return detail::kernel_model(w, means, sigma.cwiseInverse(), covariance_type::diag);
}

TEST(GmmKernels, RawMomentPassMatchesTheShiftedSums) {
  const matrix<double> X = blobs(20011, 5, 6, 21);
  const auto P = detail::pack_points(X, nullptr, "test");
  const matrix<double> means = X.topRows(6);
  const matrix<double> sigma = matrix<double>::Constant(6, 5, 2.0);
  const auto m = diag_model(means, sigma);
  const std::vector<unsigned char> none(6, 0);
  EXPECT_EQ(detail::split_diag_components(P, m, none).raw.size(), 6u);  // the fast path is taken
  expect_pass_matches_shifted(P, m);
}

// Tight clusters far from the data's centre: components whose current σ predicts a large cancellation
// are summed shifted from the start; one whose σ hides it (broad model, tight data) fails the check
// after the pass and is summed again, shifted.
TEST(GmmKernels, CancellingComponentsAreSummedAroundTheirMeans) {
  rng g(5);
  const index_t n = 20000, d = 3;
  matrix<double> X(n, d);  // one point in 2000 in the far cluster: the centre stays near 5
  for (index_t i = 0; i < n; ++i)
    for (index_t a = 0; a < d; ++a) {
      const bool far = i % 2000 == 0;
      X(i, a) = (far ? 1e4 : 0.0) + (far ? 1e-2 : 1.0) * g.normal();
    }
  const auto P = detail::pack_points(X, nullptr, "test");
  matrix<double> means(3, d), sigma(3, d);
  means.row(0).setConstant(1e4);  // the far, tight cluster
  means.row(1).setZero();
  means.row(2).setConstant(1.0);
  sigma.row(0).setConstant(1e-2);
  sigma.row(1).setConstant(1.0);
  sigma.row(2).setConstant(1.0);
  const std::vector<unsigned char> none(3, 0);
  {
    const auto m = diag_model(means, sigma);
    const detail::diag_split sp = detail::split_diag_components(P, m, none);
    EXPECT_EQ(sp.shifted, std::vector<index_t>{0});
    expect_pass_matches_shifted(P, m);
  }
  sigma.row(0).setConstant(1e4);  // predicts ρ ≈ 2 (raw), but its points sit within 1e-2 of 1e4
  const auto m = diag_model(means, sigma);
  const detail::diag_split sp = detail::split_diag_components(P, m, none);
  ASSERT_EQ(sp.raw.size(), 3u);
  detail::gmm_stats st = detail::em_pass_as<double>(P, m, &sp);
  std::vector<unsigned char> failed(3, 0);
  EXPECT_TRUE(detail::convert_raw_moments(st, m, P.centre, sp.raw, failed));
  EXPECT_EQ(failed, (std::vector<unsigned char>{1, 0, 0}));
  expect_pass_matches_shifted(P, m);
}

TEST(Gmm, FloatInputGivesTheSameFitAsItsDoubleValues) {
  const matrix<double> Xd = blobs(3000, 4, 4, 8);
  const matrix<float> Xf = Xd.cast<float>();
  const matrix<double> Xfd = Xf.cast<double>();
  gaussian_mixture a({.n_components = 4, .covariance = covariance_type::full, .seed = 3});
  gaussian_mixture b = a;
  a.fit(Xf);
  b.fit(Xfd);
  EXPECT_TRUE(a.means() == b.means());
  EXPECT_EQ(a.lower_bound(), b.lower_bound());
}

TEST(Gmm, RecoversTheMixtureItSampledFrom) {
  gmm_parameters truth;
  truth.weights.resize(3);
  truth.weights << 0.2, 0.5, 0.3;
  truth.means.resize(3, 2);
  truth.means << -5, 0, 0, 4, 6, -1;
  truth.covariances.resize(6, 2);
  truth.covariances << 1.0, 0.3, 0.3, 0.5, 0.6, -0.2, -0.2, 0.8, 1.5, 0.0, 0.0, 0.3;
  auto [S, lab] = gaussian_mixture::from_parameters(truth, covariance_type::full).sample(200000, 99);
  ASSERT_EQ(S.rows(), 200000);
  gaussian_mixture fit({.n_components = 3, .seed = 4});
  fit.fit(S);
  // Match components by their means (order is arbitrary).
  for (index_t k = 0; k < 3; ++k) {
    index_t best = 0;
    for (index_t j = 1; j < 3; ++j)
      if ((fit.means().row(j) - truth.means.row(k)).norm() < (fit.means().row(best) - truth.means.row(k)).norm())
        best = j;
    EXPECT_LT((fit.means().row(best) - truth.means.row(k)).norm(), 0.02);
    EXPECT_NEAR(fit.weights()[best], truth.weights[k], 0.005);
    EXPECT_LT((fit.covariance(best) - truth.covariances.middleRows(2 * k, 2)).cwiseAbs().maxCoeff(), 0.03);
  }
  (void)lab;
}

TEST(Gmm, BadInputGetsTypedErrors) {
  const matrix<double> X = blobs(100, 3, 2, 1);
  gaussian_mixture g({.n_components = 2});
  matrix<double> bad = X;
  bad(7, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(g.fit(bad), invalid_argument);
  bad(7, 1) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(g.fit(bad), invalid_argument);
  EXPECT_THROW(g.fit(matrix<double>(0, 3)), invalid_argument);
  EXPECT_THROW(gaussian_mixture({.n_components = 101}).fit(X), invalid_argument);
  EXPECT_THROW(gaussian_mixture({.n_components = 0}).fit(X), invalid_argument);
  EXPECT_THROW(gaussian_mixture({.n_components = 2, .reg_covar = -1}).fit(X), invalid_argument);
  EXPECT_THROW(g.predict(X), invalid_argument);  // not fitted
  g.fit(X);
  EXPECT_THROW(g.predict(matrix<double>::Zero(4, 2)), invalid_argument);
  vector<double> w = vector<double>::Ones(100);
  w[3] = -1;
  EXPECT_THROW(g.fit(X, w), invalid_argument);
  EXPECT_THROW(g.fit(X, vector<double>::Ones(99)), invalid_argument);
  gmm_parameters p = g.parameters();
  p.means.resize(2, 2);
  EXPECT_THROW(g.fit(X, p), invalid_argument);
  EXPECT_THROW(parse_covariance_type("diagonal"), invalid_argument);
}

// Data with an exact duplicate cluster: without regularisation its full covariance is singular.
matrix<double> with_point_mass() {
  matrix<double> X = blobs(300, 3, 2, 2);
  for (index_t i = 0; i < 40; ++i) X.row(i) << 50, 50, 50;
  return X;
}

TEST(Gmm, DegeneratePolicies) {
  const matrix<double> X = with_point_mass();
  gmm_options o{.n_components = 3, .covariance = covariance_type::full, .reg_covar = 0.0, .seed = 1};
  o.on_degenerate = degenerate_policy::error;
  try {
    gaussian_mixture(o).fit(X);
    FAIL() << "expected numerical_error";
  } catch (const numerical_error& e) {
    EXPECT_NE(std::string(e.what()).find("reg_covar"), std::string::npos) << e.what();
  }
  o.on_degenerate = degenerate_policy::keep;
  EXPECT_THROW(gaussian_mixture(o).fit(X), numerical_error);
  o.on_degenerate = degenerate_policy::reseed;
  o.max_iter = 5;
  {
    gaussian_mixture r(o);  // the point mass collapses again and again; each time it is moved
    r.fit(X);
    EXPECT_GT(r.n_reseeded(), 0);
    EXPECT_TRUE(r.covariances().allFinite());
    EXPECT_TRUE(std::isfinite(r.lower_bound()));
  }
  o.reg_covar = 1e-6;  // with regularisation every policy fits
  gaussian_mixture g(o);
  g.fit(X);
  EXPECT_TRUE(std::isfinite(g.lower_bound()));
  EXPECT_TRUE(g.covariances().allFinite());
}

TEST(Gmm, EmptyComponentIsReseededOrKept) {
  const matrix<double> X = blobs(500, 2, 2, 4);
  gmm_parameters p;
  p.weights.resize(3);
  p.weights << 0.5, 0.5 - 1e-12, 1e-12;
  p.means.resize(3, 2);
  p.means << X.row(0), X.row(1), 1e6, 1e6;  // third component far from all data: it empties
  p.covariances = matrix<double>::Ones(3, 2);
  gaussian_mixture keep({.n_components = 3,
                         .covariance = covariance_type::diag,
                         .max_iter = 20,
                         .on_degenerate = degenerate_policy::keep});
  keep.fit(X, p);
  EXPECT_LT(keep.weights()[2], 1e-8);
  gaussian_mixture reseed({.n_components = 3, .covariance = covariance_type::diag, .max_iter = 20});
  reseed.fit(X, p);
  EXPECT_GT(reseed.n_reseeded(), 0);
  EXPECT_GT(reseed.weights()[2], 1e-3);
  EXPECT_GT(reseed.lower_bound(), keep.lower_bound());
  gaussian_mixture err({.n_components = 3,
                        .covariance = covariance_type::diag,
                        .max_iter = 20,
                        .on_degenerate = degenerate_policy::error});
  EXPECT_THROW(err.fit(X, p), numerical_error);
}

TEST(Gmm, EveryInitMethodFindsTheSameOptimumOnSeparatedBlobs) {
  const matrix<double> X = blobs(1500, 3, 4, 12, 10.0);
  std::vector<double> bounds;
  for (auto init : {gmm_init::kmeans, gmm_init::kmeans_plusplus, gmm_init::random, gmm_init::random_from_data}) {
    gaussian_mixture g({.n_components = 4,
                        .covariance = covariance_type::diag,
                        .tol = 1e-7,
                        .max_iter = 300,
                        .n_init = 6,
                        .init = init,
                        .seed = 2});
    g.fit(X);
    EXPECT_TRUE(g.converged()) << static_cast<int>(init);
    bounds.push_back(g.lower_bound());
    gaussian_mixture h(g.options());  // the same seed gives the same fit
    h.fit(X);
    EXPECT_EQ(g.lower_bound(), h.lower_bound());
  }
  for (double b : bounds) EXPECT_NEAR(b, bounds[0], 1e-6);
}

TEST(Gmm, WarmStartContinuesFromTheCurrentFit) {
  const matrix<double> X = blobs(2000, 3, 3, 5);
  gaussian_mixture a({.n_components = 3, .covariance = covariance_type::full, .tol = 0, .max_iter = 10, .seed = 1});
  a.fit(X);
  gaussian_mixture b({.n_components = 3, .covariance = covariance_type::full, .tol = 0, .max_iter = 4, .seed = 1});
  b.fit(X);
  b.options().warm_start = true;
  b.options().max_iter = 6;
  b.fit(X);
  EXPECT_LT(rel_err(b.means(), a.means()), 1e-12);
  EXPECT_NEAR(b.lower_bound(), a.lower_bound(), 1e-12 * std::abs(a.lower_bound()));
}

TEST(Gmm, SaveLoadRoundTrip) {
  const matrix<double> X = blobs(1000, 4, 3, 6);
  for (auto c : {covariance_type::full, covariance_type::tied, covariance_type::diag, covariance_type::spherical}) {
    gaussian_mixture g({.n_components = 3, .covariance = c, .seed = 8});
    g.fit(X);
    const fs::path f = fs::temp_directory_path() / ("rnnabs_gmm_" + std::string(to_string(c)) + ".npz");
    g.save(f);
    const gaussian_mixture h = gaussian_mixture::load(f);
    fs::remove(f);
    EXPECT_TRUE(h.means() == g.means());
    EXPECT_TRUE(h.covariances() == g.covariances());
    EXPECT_TRUE(h.predict_proba(X) == g.predict_proba(X));
    EXPECT_EQ(h.options().covariance, c);
    EXPECT_EQ(h.n_iter(), g.n_iter());
  }
  {
    gaussian_mixture g({.n_components = 3,
                        .covariance = covariance_type::diag,
                        .seed = 8,
                        .precision = em_precision::single_precision});
    g.fit(X);
    const fs::path f = fs::temp_directory_path() / "rnnabs_gmm_single.npz";
    g.save(f);
    const gaussian_mixture h = gaussian_mixture::load(f);
    fs::remove(f);
    EXPECT_EQ(h.options().precision, em_precision::single_precision);
  }
  EXPECT_THROW(gaussian_mixture::load(fs::temp_directory_path() / "rnnabs_no_such_file.npz"), io_error);
}

// Found while writing the fuzz harness for the archive loaders (docs/fuzzing.md): load parsed the
// 'seed' string with std::stoull (std::invalid_argument / std::out_of_range escaped) and cast the
// float64 counts (max_iter, n_init, n_iter) to index_t unchecked (NaN or 1e300: undefined behaviour).
TEST(Gmm, LoadRejectsCorruptSeedAndCountsWithIoError) {
  gaussian_mixture g({.n_components = 2, .seed = 8});
  g.fit(blobs(100, 2, 2, 3));
  const fs::path dir = fs::temp_directory_path() / ("rnnabs_gmm_fuzz_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  g.save(dir / "good.npz");
  const npz good = io::npz_read(dir / "good.npz");
  const auto with = [&](const std::string& name, const io::npy_array& a) {
    npz m = good;
    m[name] = a;
    const fs::path f = dir / (name + ".npz");
    io::save_npz(f, m);
    return f;
  };
  const auto text = [](const std::string& s) {
    io::npy_array a;
    a.type = io::dtype::u1;
    a.shape = {s.size()};
    a.data = s;
    return a;
  };
  const auto scalar = [](double v) { return io::to_npy_array(xt::xarray<double>(v)); };
  EXPECT_NO_THROW(gaussian_mixture::load(dir / "good.npz"));
  EXPECT_THROW(gaussian_mixture::load(with("seed", text("x8"))), io_error);
  EXPECT_THROW(gaussian_mixture::load(with("seed", text("99999999999999999999999"))), io_error);
  EXPECT_THROW(gaussian_mixture::load(with("seed", text(""))), io_error);
  EXPECT_THROW(gaussian_mixture::load(with("max_iter", scalar(std::nan("")))), io_error);
  EXPECT_THROW(gaussian_mixture::load(with("n_init", scalar(1e300))), io_error);
  EXPECT_THROW(gaussian_mixture::load(with("n_iter", scalar(-1))), io_error);
  EXPECT_THROW(gaussian_mixture::load(with("init", scalar(2.5))), io_error);
  fs::remove_all(dir);
}

TEST(Gmm, ModelsTheStatePartitionerConcept) {
  static_assert(check_state_partitioner<gaussian_mixture>());
  const matrix<double> X = blobs(200, 2, 2, 3);
  gaussian_mixture g({.n_components = 2});
  g.fit(X);
  EXPECT_EQ(g.n_clusters(), 2);
  EXPECT_EQ(g.predict(X).size(), 200);
}

}  // namespace stats_gmm_tests
