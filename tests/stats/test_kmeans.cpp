// rnnabs::kmeans against scikit-learn 1.2.1 (fixtures: tests/fixtures/make_pca_fixtures.py), plus
// seeding, determinism across thread counts, float input and bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <unistd.h>

#include <rnnabs/core/concepts.hpp>
#include <rnnabs/core/parallel.hpp>
#include <rnnabs/core/rng.hpp>
#include <rnnabs/io/npy.hpp>
#include <rnnabs/io/npz.hpp>
#include <rnnabs/stats/kmeans.hpp>

namespace stats_kmeans_tests {

using namespace rnnabs;
namespace fs = std::filesystem;

static_assert(check_state_partitioner<kmeans>());
static_assert(check_state_partitioner<kmeans, float>());

matrix<double> fx(const std::string& name) {
  return io::load_npy_matrix<double>(fs::path(RNNABS_TEST_DATA) / "pca" / (name + ".npy"));
}
index_vector fx_labels(const std::string& name) {
  return io::load_npy_matrix<index_t>(fs::path(RNNABS_TEST_DATA) / "pca" / (name + ".npy")).col(0);
}
double rel_err(const matrix<double>& a, const matrix<double>& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  if (a.rows() != b.rows() || a.cols() != b.cols()) return 1e300;
  return (a - b).cwiseAbs().maxCoeff() / std::max(b.cwiseAbs().maxCoeff(), 1e-300);
}

/// K well-separated Gaussian blobs in D dimensions.
template <class T>
matrix<T> blobs(index_t n, index_t d, index_t k, std::uint64_t seed, double spread = 10.0) {
  rng g(seed);
  matrix<double> c(k, d);
  for (index_t j = 0; j < k; ++j)
    for (index_t e = 0; e < d; ++e) c(j, e) = spread * g.normal();
  matrix<T> x(n, d);
  for (index_t i = 0; i < n; ++i)
    for (index_t e = 0; e < d; ++e) x(i, e) = static_cast<T>(c(i % k, e) + g.normal());
  return x;
}

struct parity_case {
  const char* tag;
  const char* init;
  bool weighted;
};

class KmeansParity : public ::testing::TestWithParam<parity_case> {};

// From identical initial centres, Lloyd's result matches sklearn's KMeans(init=..., algorithm="lloyd").
TEST_P(KmeansParity, LloydMatchesScikitLearn) {
  const auto& pc = GetParam();
  const matrix<double> X = fx("km_X");
  const vector<double> w = pc.weighted ? vector<double>(fx("km_weights").col(0)) : vector<double>();
  kmeans km({.n_clusters = 5, .max_iter = 300, .tol = 1e-4});
  km.fit_from_centres(X, fx(pc.init), w);
  const std::string t = pc.tag;
  EXPECT_EQ(km.labels(), fx_labels("km_labels" + t));
  EXPECT_LT(rel_err(km.centers(), fx("km_centers" + t)), 1e-9);
  EXPECT_NEAR(km.inertia(), fx("km_inertia" + t)(0, 0), 1e-9 * fx("km_inertia" + t)(0, 0));
  EXPECT_EQ(km.n_iter(), static_cast<index_t>(fx("km_n_iter" + t)(0, 0)));
  EXPECT_TRUE(km.converged());
  EXPECT_EQ(km.predict(X), km.labels());
  // transform: distances to each centre; the label is the nearest.
  const matrix<double> dist = km.transform(X);
  ASSERT_EQ(dist.cols(), 5);
  for (index_t i = 0; i < X.rows(); i += 37) {
    index_t j = 0;
    dist.row(i).minCoeff(&j);
    EXPECT_EQ(j, km.labels()(i));
    EXPECT_NEAR(dist(i, 2), (X.row(i) - km.centers().row(2)).norm(), 1e-12);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, KmeansParity,
                         ::testing::Values(parity_case{"", "km_init", false}, parity_case{"_weighted", "km_init", true},
                                           parity_case{"_empty", "km_init_empty", false}),
                         [](const auto& p) { return p.index == 0 ? std::string("plain") : p.param.tag + 1; });

TEST(Kmeans, PlusPlusSeedsOneCentrePerBlob) {
  const matrix<double> X = blobs<double>(2000, 3, 6, 4);
  rng g1(17), g2(17);
  const index_vector a = kmeans_plusplus_indices(X, 6, g1);
  const index_vector b = kmeans_plusplus_indices(X, 6, g2);
  EXPECT_EQ(a, b);
  std::set<index_t> blob;
  for (index_t i = 0; i < a.size(); ++i) blob.insert(a(i) % 6);
  EXPECT_EQ(blob.size(), 6u);
  // Weighted: zero-weight rows are never chosen.
  vector<double> w = vector<double>::Ones(2000);
  for (index_t i = 0; i < 2000; i += 2) w(i) = 0.0;
  rng g3(5);
  const matrix<double> c = kmeans_plusplus_init(X, 6, g3, w);
  rng g4(5);
  const index_vector idx = kmeans_plusplus_indices(X, 6, g4, w);
  for (index_t i = 0; i < idx.size(); ++i) {
    EXPECT_EQ(idx(i) % 2, 1);
    EXPECT_EQ(c.row(i), X.row(idx(i)));
  }
}

TEST(Kmeans, FitFindsTheBlobs) {
  const matrix<double> X = fx("km_X");
  kmeans km({.n_clusters = 5, .n_init = 4, .seed = 1});
  km.fit(X);
  EXPECT_LE(km.inertia(), fx("km_inertia")(0, 0) * (1 + 1e-9));
  EXPECT_EQ(km.n_clusters(), 5);
  EXPECT_EQ(km.predict(X), km.labels());
}

TEST(Kmeans, SaveLoadRoundTripAndCorruptFiles) {
  const matrix<double> X = fx("km_X");
  kmeans km({.n_clusters = 5, .n_init = 2, .seed = 0xFFFFFFFFFFFFFFFFull});
  km.fit(X);
  const fs::path path = fs::temp_directory_path() / ("rnnabs_test_kmeans_" + std::to_string(::getpid()) + ".npz");
  km.save(path);
  const kmeans back = kmeans::load(path);
  EXPECT_EQ(back.centers(), km.centers());
  EXPECT_EQ(back.labels(), km.labels());
  EXPECT_EQ(back.inertia(), km.inertia());
  EXPECT_EQ(back.options().seed, km.options().seed);
  EXPECT_EQ(back.predict(X), km.predict(X));
  EXPECT_EQ(back.transform(X), km.transform(X));
  // Corrupt content: a label outside the clusters, a fractional iteration count, NaN centres.
  const auto good = io::npz_read(path);
  auto edit = [&](const std::string& name, const xt::xarray<double>& v) {
    auto m = good;
    m[name] = io::to_npy_array(v);
    io::save_npz(path, m);
  };
  edit("labels", xt::xarray<double>{0, 1, 7});
  EXPECT_THROW(kmeans::load(path), io_error);
  edit("n_iter", xt::xarray<double>(2.5));
  EXPECT_THROW(kmeans::load(path), io_error);
  edit("centers", xt::xarray<double>{{std::nan(""), 1.0}});
  EXPECT_THROW(kmeans::load(path), io_error);
  fs::remove(path);
  EXPECT_THROW(kmeans(3).save(path), invalid_argument);  // not fitted
  EXPECT_FALSE(fs::exists(path));
}

TEST(Kmeans, BitIdenticalForOneAndTwoThreads) {
  const int saved = max_threads();
  const matrix<float> X = blobs<float>(60000, 5, 8, 9, 3.0);  // overlapping: many Lloyd iterations
  kmeans a({.n_clusters = 8, .n_init = 2, .seed = 3}), b({.n_clusters = 8, .n_init = 2, .seed = 3});
  set_threads(1);
  a.fit(X);
  set_threads(2);
  b.fit(X);
  set_threads(saved);
  EXPECT_GT(a.n_iter(), 2);
  EXPECT_EQ(a.centers(), b.centers());
  EXPECT_EQ(a.labels(), b.labels());
  EXPECT_EQ(a.inertia(), b.inertia());
  EXPECT_EQ(a.n_iter(), b.n_iter());
}

TEST(Kmeans, FloatInputMatchesDouble) {
  const matrix<double> X = fx("km_X");
  const matrix<float> Xf = X.cast<float>();
  kmeans kd({.n_clusters = 5}), kf({.n_clusters = 5});
  kd.fit_from_centres(X, fx("km_init"));
  kf.fit_from_centres(Xf, fx("km_init"));
  EXPECT_EQ(kf.labels(), kd.labels());
  EXPECT_LT(rel_err(kf.centers(), kd.centers()), 1e-5);
  EXPECT_NEAR(kf.inertia(), kd.inertia(), 1e-5 * kd.inertia());
  static_assert(std::is_same_v<decltype(kf.transform(Xf)), matrix<float>>);
}

// The lane-parallel assignment against a brute-force argmin in double, on data far from the origin
// (the kernel centres by the centres' mean) and with a partial last tile; a different label is allowed
// only for a tie within the scalar type's rounding of the expanded square.
template <class T>
void expect_exact_argmin() {
  rng g(21);
  const index_t n = 1000 + 37, d = 10, k = 37;
  matrix<T> X(n, d);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < d; ++j) X(i, j) = static_cast<T>(1000.0 + 3.0 * static_cast<double>(i % 7) + g.normal());
  kmeans km({.n_clusters = k, .max_iter = 2, .seed = 4});
  km.fit(X);
  const index_vector got = km.predict(X);
  const matrix<double>& C = km.centers();
  const double eps = std::numeric_limits<T>::epsilon();
  index_t wrong = 0;
  for (index_t i = 0; i < n; ++i) {
    const Eigen::RowVectorXd x = X.row(i).template cast<double>();
    index_t best = 0;
    for (index_t q = 1; q < k; ++q)
      if ((x - C.row(q)).squaredNorm() < (x - C.row(best)).squaredNorm()) best = q;
    const double db = (x - C.row(best)).squaredNorm(), dg = (x - C.row(got(i))).squaredNorm();
    // Rounding of ||c'||² - 2 (x - μ)·c' scales with |x - μ|·|c'| (≈ 10 · 10 here).
    if (got(i) != best && dg - db > 64 * eps * 100.0) ++wrong;
  }
  EXPECT_EQ(wrong, 0);
}

TEST(Kmeans, AssignmentIsTheExactArgminFloat) { expect_exact_argmin<float>(); }
TEST(Kmeans, AssignmentIsTheExactArgminDouble) { expect_exact_argmin<double>(); }

// Hamerly's bounds skip the kernel only where the kernel's answer is certain: the bounded Lloyd must
// be bit-identical to the plain one — overlapping clusters (many close calls), an offset copy (large
// norms, where the margin matters), a lattice with exact ties, weights, float and double, strict
// convergence (tol = 0) as well as sklearn's shift rule.
template <class T>
void expect_bounds_are_exact() {
  struct case_ {
    matrix<T> x;
    index_t k;
    double tol;
    bool weighted;
  };
  std::vector<case_> cases;
  cases.push_back({blobs<T>(8011, 6, 20, 3, 1.5), 16, 0.0, false});  // heavily overlapping, to strict convergence
  matrix<T> off = blobs<T>(6000, 4, 9, 5, 2.0);
  off.array() += T(300);
  cases.push_back({off, 16, 1e-4, true});
  matrix<T> lattice(5000, 3);  // integer grid: exact distance ties
  rng g(9);
  for (index_t i = 0; i < lattice.rows(); ++i)
    for (index_t j = 0; j < 3; ++j) lattice(i, j) = static_cast<T>(g.below(7));
  cases.push_back({lattice, 10, 0.0, true});
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const matrix_cref<T> x(cases[c].x);
    vector<double> w;
    if (cases[c].weighted) {
      w.resize(x.rows());
      for (index_t i = 0; i < x.rows(); ++i) w(i) = 0.25 + static_cast<double>(i % 5);
    }
    rng seed(11 + c);
    const index_t k = cases[c].k;
    const index_vector idx = detail::kmeans_plusplus<T>(x, k, seed, w);
    matrix<double> c0(k, x.cols());
    for (index_t j = 0; j < k; ++j) c0.row(j) = x.row(idx(j)).template cast<double>();
    const auto plain = detail::lloyd<T>(x, w, c0, 300, cases[c].tol, false);
    const auto fast = detail::lloyd<T>(x, w, c0, 300, cases[c].tol, true);
    SCOPED_TRACE(::testing::Message() << "case " << c);
    EXPECT_GT(plain.n_iter, 5);
    EXPECT_EQ(fast.n_iter, plain.n_iter);
    EXPECT_TRUE(fast.labels == plain.labels);
    EXPECT_TRUE(fast.centers == plain.centers);
    EXPECT_EQ(fast.inertia, plain.inertia);
  }
}
TEST(Kmeans, HamerlyBoundsGiveTheSameLloydFloat) { expect_bounds_are_exact<float>(); }
TEST(Kmeans, HamerlyBoundsGiveTheSameLloydDouble) { expect_bounds_are_exact<double>(); }

TEST(Kmeans, BadInputThrowsTypedErrors) {
  const matrix<double> X = fx("km_X");
  kmeans fresh(3);
  EXPECT_THROW(fresh.predict(X), invalid_argument);
  EXPECT_THROW(fresh.transform(X), invalid_argument);
  EXPECT_THROW(kmeans(601).fit(X), invalid_argument);
  EXPECT_THROW(kmeans(0).fit(X), invalid_argument);
  EXPECT_THROW(kmeans(2).fit(matrix<double>(0, 4)), invalid_argument);
  EXPECT_THROW(kmeans({.n_clusters = 2, .n_init = 0}).fit(X), invalid_argument);
  EXPECT_THROW(kmeans({.n_clusters = 2, .max_iter = 0}).fit(X), invalid_argument);
  EXPECT_THROW(kmeans({.n_clusters = 2, .tol = -1.0}).fit(X), invalid_argument);
  matrix<double> bad = X;
  bad(7, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(kmeans(2).fit(bad), invalid_argument);
  bad(7, 2) = -std::numeric_limits<double>::infinity();
  EXPECT_THROW(kmeans(2).fit(bad), invalid_argument);
  EXPECT_THROW(kmeans(2).fit(X, vector<double>::Ones(5)), invalid_argument);
  EXPECT_THROW(kmeans(2).fit(X, vector<double>(-vector<double>::Ones(600))), invalid_argument);
  EXPECT_THROW(kmeans(2).fit(X, vector<double>::Zero(600)), invalid_argument);
  EXPECT_THROW(kmeans(5).fit_from_centres(X, matrix<double>::Zero(4, 4)), invalid_argument);
  EXPECT_THROW(kmeans(5).fit_from_centres(X, matrix<double>::Zero(5, 3)), invalid_argument);
  rng g(1);
  EXPECT_THROW(kmeans_plusplus_init(X, 601, g), invalid_argument);
  kmeans km(3);
  km.fit(X);
  EXPECT_THROW(km.predict(matrix<double>::Zero(3, 5)), invalid_argument);
  EXPECT_THROW(km.transform(matrix<double>(0, 4)), invalid_argument);
  try {
    kmeans(601).fit(X);
  } catch (const invalid_argument& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("kmeans::fit"), std::string::npos) << m;
    EXPECT_NE(m.find("n_clusters"), std::string::npos) << m;
    EXPECT_NE(m.find("601"), std::string::npos) << m;
  }
}

}  // namespace stats_kmeans_tests
