// rnnabs::pca against scikit-learn 1.2.1 (fixtures: tests/fixtures/make_pca_fixtures.py), plus
// determinism across thread counts, float input, the covariance kernel and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <unistd.h>

#include <rnnabs/core/concepts.hpp>
#include <rnnabs/core/parallel.hpp>
#include <rnnabs/core/rng.hpp>
#include <rnnabs/core/tensor_bridge.hpp>
#include <rnnabs/io/npy.hpp>
#include <rnnabs/io/npz.hpp>
#include <rnnabs/stats/pca.hpp>

namespace stats_pca_tests {

using namespace rnnabs;
namespace fs = std::filesystem;

static_assert(check_dimension_reducer<pca>());
static_assert(check_dimension_reducer<pca, float>());

matrix<double> fx(const std::string& name) {
  return io::load_npy_matrix<double>(fs::path(RNNABS_TEST_DATA) / "pca" / (name + ".npy"));
}

/// max |a - b| / max |b|.
double rel_err(const matrix<double>& a, const matrix<double>& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  if (a.rows() != b.rows() || a.cols() != b.cols()) return 1e300;
  return (a - b).cwiseAbs().maxCoeff() / std::max(b.cwiseAbs().maxCoeff(), 1e-300);
}
double rel_err(const vector<double>& a, const matrix<double>& b) { return rel_err(matrix<double>(a), b); }

/// Signs (+1/-1) that align the rows of `a` with the rows of `ref`.
vector<double> row_signs(const matrix<double>& a, const matrix<double>& ref) {
  vector<double> s(a.rows());
  for (index_t i = 0; i < a.rows(); ++i) s(i) = a.row(i).dot(ref.row(i)) < 0 ? -1.0 : 1.0;
  return s;
}

/// Random N x D data with a known spread of variances, in T.
template <class T>
matrix<T> random_data(index_t n, index_t d, std::uint64_t seed, double offset = 5.0) {
  rng g(seed);
  matrix<T> x(n, d);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < d; ++j)
      x(i, j) = static_cast<T>(offset + (1.0 + static_cast<double>(j)) * g.normal() + (j > 0 ? 0.5 * x(i, j - 1) : 0));
  return x;
}

class PcaParity : public ::testing::TestWithParam<pca_solver> {};

TEST_P(PcaParity, MatchesScikitLearnFull) {
  const matrix<double> X = fx("pca_X");
  pca p({.n_components = 5, .solver = GetParam()});
  p.fit(X);
  ASSERT_TRUE(p.fitted());
  EXPECT_EQ(p.n_components(), 5);
  EXPECT_EQ(p.n_features(), 12);
  const matrix<double> ref = fx("pca_components");
  const vector<double> s = row_signs(p.components(), ref);
  EXPECT_LT(rel_err(matrix<double>(s.asDiagonal() * p.components()), ref), 1e-9);
  EXPECT_LT(rel_err(p.mean(), fx("pca_mean")), 1e-12);
  EXPECT_LT(rel_err(p.explained_variance(), fx("pca_explained_variance")), 1e-9);
  EXPECT_LT(rel_err(p.explained_variance_ratio(), fx("pca_explained_variance_ratio")), 1e-9);
  EXPECT_LT(rel_err(p.singular_values(), fx("pca_singular_values")), 1e-9);
  EXPECT_NEAR(p.noise_variance(), fx("pca_noise_variance")(0, 0), 1e-9 * fx("pca_noise_variance")(0, 0));
  const matrix<double> z = p.transform(X);
  EXPECT_LT(rel_err(matrix<double>(z * s.asDiagonal()), fx("pca_transform")), 1e-9);
  EXPECT_LT(rel_err(p.inverse_transform(z), fx("pca_inverse_transform")), 1e-9);
  EXPECT_LT(rel_err(p.fit_transform(X), z), 1e-12);

  pca w({.n_components = 5, .solver = GetParam(), .whiten = true});
  w.fit(X);
  const matrix<double> zw = w.transform(X);
  EXPECT_LT(rel_err(matrix<double>(zw * s.asDiagonal()), fx("pca_transform_whiten")), 1e-9);
  EXPECT_LT(rel_err(w.inverse_transform(zw), fx("pca_inverse_transform_whiten")), 1e-9);
  // Whitened scores have unit variance.
  const vector<double> var = (zw.rowwise() - zw.colwise().mean()).colwise().squaredNorm().transpose() /
                             static_cast<double>(X.rows() - 1);
  EXPECT_LT((var.array() - 1.0).abs().maxCoeff(), 1e-9);
}

TEST_P(PcaParity, AllComponentsAndVarianceFraction) {
  const matrix<double> X = fx("pca_X");
  pca all(pca_options{.solver = GetParam()});
  all.fit(X);
  EXPECT_EQ(all.n_components(), 12);
  EXPECT_LT(rel_err(all.explained_variance(), fx("pca_all_explained_variance")), 1e-9);
  EXPECT_NEAR(all.explained_variance_ratio().sum(), 1.0, 1e-12);
  EXPECT_EQ(all.noise_variance(), 0.0);
  // Orthonormal rows.
  EXPECT_LT((all.components() * all.components().transpose() - matrix<double>::Identity(12, 12)).cwiseAbs().maxCoeff(),
            1e-12);
  pca frac({.variance_fraction = 0.9, .solver = GetParam()});
  frac.fit(X);
  EXPECT_EQ(frac.n_components(), static_cast<index_t>(fx("pca_fraction_0.9_n_components")(0, 0)));
}

INSTANTIATE_TEST_SUITE_P(Solvers, PcaParity, ::testing::Values(pca_solver::covariance_eigh, pca_solver::exact),
                         [](const auto& p) { return std::string(to_string(p.param)); });

TEST(Pca, RandomizedCloseOnLowRankData) {
  const matrix<double> X = fx("lowrank_X");
  pca p({.n_components = 5, .solver = pca_solver::randomized, .seed = 3});
  p.fit(X);
  const matrix<double> ref = fx("lowrank_components");
  const vector<double> s = row_signs(p.components(), ref);
  EXPECT_LT(rel_err(matrix<double>(s.asDiagonal() * p.components()), ref), 1e-6);
  EXPECT_LT(rel_err(p.explained_variance(), fx("lowrank_explained_variance")), 1e-8);
  EXPECT_LT(rel_err(p.explained_variance_ratio(), fx("lowrank_explained_variance_ratio")), 1e-6);
  // Same seed, same answer; the covariance route agrees.
  pca q({.n_components = 5, .solver = pca_solver::randomized, .seed = 3});
  q.fit(X);
  EXPECT_EQ(p.components(), q.components());
  pca c(5);
  c.fit(X);
  EXPECT_LT(rel_err(c.explained_variance(), fx("lowrank_explained_variance")), 1e-9);
}

TEST(Pca, SignRuleLargestEntryPositive) {
  for (auto solver : {pca_solver::covariance_eigh, pca_solver::exact, pca_solver::randomized}) {
    pca p({.n_components = 4, .solver = solver});
    p.fit(random_data<double>(400, 9, 11));
    for (index_t i = 0; i < p.n_components(); ++i) {
      index_t j = 0;
      p.components().row(i).cwiseAbs().maxCoeff(&j);
      EXPECT_GT(p.components()(i, j), 0.0) << to_string(solver) << " component " << i;
    }
  }
}

// Several covariance chunks (32768 rows) and blocks (256 rows), with a ragged tail.
TEST(Pca, CovarianceKernelMatchesTwoPassReference) {
  const matrix<float> X = random_data<float>(70001, 7, 5, 100.0);
  const detail::scatter_stats st = detail::row_scatter<float>(X);
  const matrix<double> xd = X.cast<double>();
  const vector<double> mean = xd.colwise().mean().transpose();
  const matrix<double> xc = xd.rowwise() - mean.transpose();
  const matrix<double> ref = xc.transpose() * xc;
  EXPECT_EQ(st.n, 70001.0);
  EXPECT_LT(rel_err(st.mean, mean), 1e-14);
  // float SYRK inside 256-row blocks: ~sqrt(256)·eps_float relative.
  EXPECT_LT(rel_err(matrix<double>(st.full_scatter()), ref), 2e-6);
  const detail::scatter_stats sd = detail::row_scatter<double>(xd);
  EXPECT_LT(rel_err(matrix<double>(sd.full_scatter()), ref), 1e-13);
}

TEST(Pca, BitIdenticalForOneAndTwoThreads) {
  const int saved = max_threads();
  const matrix<float> X = random_data<float>(100000, 16, 21);
  for (auto solver : {pca_solver::covariance_eigh, pca_solver::randomized}) {
    pca a({.n_components = 6, .solver = solver, .seed = 9}), b({.n_components = 6, .solver = solver, .seed = 9});
    set_threads(1);
    a.fit(X);
    const matrix<float> za = a.transform(X);
    set_threads(2);
    b.fit(X);
    const matrix<float> zb = b.transform(X);
    EXPECT_EQ(a.components(), b.components()) << to_string(solver);
    EXPECT_EQ(a.explained_variance(), b.explained_variance()) << to_string(solver);
    EXPECT_EQ(a.mean(), b.mean()) << to_string(solver);
    EXPECT_EQ(za, zb) << to_string(solver);
  }
  set_threads(saved);
}

TEST(Pca, FloatInputMatchesDouble) {
  const matrix<double> X = fx("pca_X");
  const matrix<float> Xf = X.cast<float>();
  pca pd(5), pf(5);
  pd.fit(X);
  pf.fit(Xf);
  EXPECT_LT((pf.components() - pd.components()).cwiseAbs().maxCoeff(), 1e-5);
  EXPECT_LT(rel_err(pf.explained_variance(), matrix<double>(pd.explained_variance())), 1e-5);
  const matrix<float> zf = pf.transform(Xf);
  static_assert(std::is_same_v<decltype(pf.transform(Xf)), matrix<float>>);
  EXPECT_LT(rel_err(matrix<double>(zf.cast<double>()), matrix<double>(pd.transform(X))), 1e-5);
}

TEST(Pca, AcceptsViewsAndExpressions) {
  const matrix<double> X = fx("pca_X");
  pca ref(3);
  ref.fit(X);
  // Zero-copy view of an xtensor container.
  auto xt = to_xtensor(X);
  pca a(3);
  a.fit(as_eigen(xt));
  EXPECT_EQ(a.components(), ref.components());
  // A column-major copy and a lazy expression (converted once).
  const Eigen::MatrixXd xc = X;
  pca b(3);
  b.fit(xc);
  EXPECT_LT(rel_err(b.components(), ref.components()), 1e-12);
  pca c(3);
  c.fit(X * 2.0);
  EXPECT_LT(rel_err(c.components(), ref.components()), 1e-12);
  EXPECT_LT(rel_err(matrix<double>(a.transform(matrix_cref<double>(X.topRows(10)))),
                    matrix<double>(ref.transform(X).topRows(10))),
            1e-15);
}

TEST(Pca, SaveLoadRoundTrip) {
  const matrix<double> X = fx("pca_X");
  pca p({.n_components = 4, .whiten = true});
  p.fit(X);
  const fs::path path = fs::temp_directory_path() / "rnnabs_test_pca_roundtrip.npz";
  p.save(path);
  const pca q = pca::load(path);
  fs::remove(path);
  EXPECT_EQ(q.n_components(), 4);
  EXPECT_EQ(q.components(), p.components());
  EXPECT_EQ(q.explained_variance(), p.explained_variance());
  EXPECT_EQ(q.noise_variance(), p.noise_variance());
  EXPECT_EQ(q.transform(X), p.transform(X));
  EXPECT_THROW(pca::load(fs::path(RNNABS_TEST_DATA) / "pca" / "pca_X.npy"), io_error);
}

// Found while writing the fuzz harness for the archive loaders (docs/fuzzing.md): load cast the
// float64 'n_samples' scalar to index_t unchecked (NaN, 1e300, -1: undefined behaviour).
TEST(Pca, LoadRejectsABadSampleCountWithIoError) {
  pca p(2);
  p.fit(fx("pca_X"));
  const fs::path path = fs::temp_directory_path() / ("rnnabs_test_pca_fuzz_" + std::to_string(::getpid()) + ".npz");
  p.save(path);
  const auto good = io::npz_read(path);
  for (const double bad : {std::nan(""), 1e300, -1.0, 2.5}) {
    auto m = good;
    m["n_samples"] = io::to_npy_array(xt::xarray<double>(bad));
    io::save_npz(path, m);
    EXPECT_THROW(pca::load(path), io_error) << bad;
  }
  fs::remove(path);
}

TEST(Pca, BadInputThrowsTypedErrors) {
  matrix<double> X = fx("pca_X");
  pca fresh(3);
  EXPECT_THROW(fresh.transform(X), invalid_argument);
  EXPECT_THROW(fresh.inverse_transform(matrix<double>::Zero(2, 3)), invalid_argument);
  EXPECT_THROW(fresh.save(fs::temp_directory_path() / "rnnabs_never.npz"), invalid_argument);
  EXPECT_THROW(pca(3).fit(matrix<double>(0, 12)), invalid_argument);
  EXPECT_THROW(pca(1).fit(matrix<double>::Ones(1, 12)), invalid_argument);
  EXPECT_THROW(pca(13).fit(X), invalid_argument);
  EXPECT_THROW(pca(0).fit(X), invalid_argument);
  EXPECT_THROW(pca(pca_options{.variance_fraction = 1.5}).fit(X), invalid_argument);
  EXPECT_THROW(pca(pca_options{.variance_fraction = 0.5, .solver = pca_solver::randomized}).fit(X), invalid_argument);
  for (auto solver : {pca_solver::covariance_eigh, pca_solver::exact, pca_solver::randomized}) {
    matrix<double> bad = X;
    bad(123, 4) = std::numeric_limits<double>::quiet_NaN();
    try {
      pca({.n_components = 2, .solver = solver}).fit(bad);
      ADD_FAILURE() << "NaN accepted by " << to_string(solver);
    } catch (const invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("[123, 4]"), std::string::npos) << e.what();
    }
    bad(123, 4) = std::numeric_limits<double>::infinity();
    EXPECT_THROW(pca({.n_components = 2, .solver = solver}).fit(bad), invalid_argument);
  }
  EXPECT_THROW(pca(2).fit(matrix<double>::Constant(10, 3, 1.0)), numerical_error);
  pca p(3);
  p.fit(X);
  EXPECT_THROW(p.transform(matrix<double>::Zero(4, 11)), invalid_argument);
  EXPECT_THROW(p.transform(matrix<double>(0, 12)), invalid_argument);
  matrix<double> nan_row = X.topRows(2);
  nan_row(1, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(p.transform(nan_row), invalid_argument);
  EXPECT_THROW(p.inverse_transform(matrix<double>::Zero(4, 2)), invalid_argument);
  try {
    pca(13).fit(X);
  } catch (const invalid_argument& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("pca::fit"), std::string::npos) << m;
    EXPECT_NE(m.find("n_components"), std::string::npos) << m;
    EXPECT_NE(m.find("13"), std::string::npos) << m;
  }
}

}  // namespace stats_pca_tests
