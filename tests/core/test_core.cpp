#include <gtest/gtest.h>

#include <numeric>
#include <rnnabs/core.hpp>

namespace core_core_tests {

using namespace rnnabs;

TEST(Rng, SameSeedSameStreamDifferentSeedDifferentStream) {
  rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const auto x = a();
    EXPECT_EQ(x, b());
    (void)c();
  }
  EXPECT_NE(rng(1)(), rng(2)());
  EXPECT_NE(rng::stream(7, 0)(), rng::stream(7, 1)());
}

TEST(Rng, UniformAndNormalMoments) {
  rng g(123);
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = g.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    su += u;
    const double z = g.normal();
    sn += z;
    sn2 += z * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.015);
}

TEST(Rng, BelowIsUnbiasedAndInRange) {
  rng g(9);
  std::vector<int> hist(7, 0);
  for (int i = 0; i < 70000; ++i) {
    auto v = g.below(7);
    ASSERT_LT(v, 7u);
    ++hist[v];
  }
  for (int h : hist) EXPECT_NEAR(h, 10000, 500);
  EXPECT_THROW(g.below(0), invalid_argument);
}

TEST(Parallel, ChunkedReduceIsIndependentOfThreadCount) {
  const index_t n = 100003;
  std::vector<double> x(n);
  rng g(5);
  for (auto& v : x) v = g.normal() * 1e8 + g.uniform();
  auto run = [&](int threads) {
    set_threads(threads);
    return chunked_reduce(
        n, 1000, 0.0,
        [&](index_t b, index_t e, double& acc) {
          for (index_t i = b; i < e; ++i) acc += x[i];
        },
        [](double& t, double p) { t += p; });
  };
  const double one = run(1), two = run(2), three = run(3);
  set_threads(2);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, three);
}

TEST(Parallel, ExceptionsPropagateOutOfTheTeam) {
  EXPECT_THROW(parallel_for(16, [](index_t c) { require<numerical_error>(c != 11, "chunk ", c, " failed"); }),
               numerical_error);
}

TEST(Errors, RequireNamesTheProblem) {
  try {
    require(false, "pca::fit: X has ", 3, " columns, expected ", 4);
    FAIL();
  } catch (const invalid_argument& e) {
    EXPECT_STREQ(e.what(), "pca::fit: X has 3 columns, expected 4");
  }
  matrix<double> m = matrix<double>::Zero(3, 2);
  m(2, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(require_data(m, "t"), invalid_argument);
  EXPECT_THROW(require_data(matrix<double>(0, 2), "t"), invalid_argument);
  EXPECT_THROW(require_data(matrix<double>::Zero(2, 2), "t", 3), invalid_argument);
  EXPECT_NO_THROW(require_data(matrix<double>::Zero(2, 2), "t", 2));
}

TEST(TensorBridge, ViewsShareStorage) {
  xt::xtensor<float, 2> t = xt::zeros<float>({3, 4});
  auto m = as_eigen(t);
  m(1, 2) = 5.f;
  EXPECT_EQ(t(1, 2), 5.f);
  EXPECT_EQ(m.rows(), 3);
  EXPECT_EQ(m.cols(), 4);
  matrix<double> e = matrix<double>::Zero(2, 3);
  auto x = as_xtensor(e);
  x(1, 0) = 7.0;
  EXPECT_EQ(e(1, 0), 7.0);
  auto c = to_xtensor(e);
  EXPECT_EQ(c(1, 0), 7.0);
  xt::xarray<double> a = xt::zeros<double>({2, 2, 2});
  EXPECT_THROW(as_eigen(a), invalid_argument);
  xt::xarray<double, xt::layout_type::dynamic> rm({2, 3}, xt::layout_type::row_major);
  rm(1, 2) = 4.0;
  EXPECT_EQ(as_eigen(rm)(1, 2), 4.0);
  xt::xarray<double, xt::layout_type::dynamic> cm({2, 3}, xt::layout_type::column_major);
  EXPECT_THROW(as_eigen(cm), invalid_argument);
}

struct no_transform {
  void fit(const matrix<double>&) {}
  index_t n_components() const { return 1; }
};
struct good_reducer {
  void fit(const matrix<double>&) {}
  matrix<double> transform(const matrix<double>& x) const { return x; }
  index_t n_components() const { return 1; }
};
TEST(Concepts, ModelledAndNotModelled) {
  static_assert(dimension_reducer<good_reducer>);
  static_assert(!dimension_reducer<no_transform>);
  static_assert(check_dimension_reducer<good_reducer>());
}

}  // namespace core_core_tests
