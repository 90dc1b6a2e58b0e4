// Distributed fits under mpirun (1, 2 and 3 ranks, see tests/CMakeLists.txt): every rank builds the
// same global data, fits on its shard with the MPI communicator, fits on all rows alone, and the two
// must agree bit for bit. Errors must reach every rank as the same typed exception.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "rnnabs/abstraction/fidelity.hpp"
#include "rnnabs/abstraction/model.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/dist/mpi.hpp"
#include "rnnabs/influence/automaton_influence.hpp"
#include "rnnabs/influence/sharded.hpp"
#include "rnnabs/influence/tracin.hpp"
#include "rnnabs/nn/rnn_classifier.hpp"
#include "rnnabs/nn/softmax_regression.hpp"
#include "rnnabs/stats/model_selection.hpp"
#include "rnnabs/stats/gmm.hpp"
#include "rnnabs/stats/kmeans.hpp"
#include "rnnabs/stats/pca.hpp"

namespace dist_test {

using rnnabs::index_t;
using rnnabs::matrix;

const rnnabs::dist::mpi_communicator* world = nullptr;

/// Three anisotropic blobs and some spread, n × d, the same on every rank.
matrix<double> blobs(index_t n, index_t d, std::uint64_t seed) {
  rnnabs::rng g(seed);
  matrix<double> X(n, d);
  for (index_t i = 0; i < n; ++i) {
    const index_t c = g.below(3);
    for (index_t a = 0; a < d; ++a)
      X(i, a) = 4.0 * static_cast<double>(c) * (a % 2 ? -1 : 1) + (1.0 + static_cast<double>(a)) * g.normal();
  }
  return X;
}

/// Bitwise equality of two matrices (== would call -0 and 0 equal, NaN unequal to itself).
template <class A, class B>
::testing::AssertionResult same_bits(const A& a, const B& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return ::testing::AssertionFailure() << "shapes differ";
  for (index_t i = 0; i < a.rows(); ++i)
    for (index_t j = 0; j < a.cols(); ++j)
      if (const double x = a(i, j), y = b(i, j); std::memcmp(&x, &y, sizeof(double)) != 0)
        return ::testing::AssertionFailure() << "(" << i << ", " << j << "): " << a(i, j) << " vs " << b(i, j);
  return ::testing::AssertionSuccess();
}

struct shard {
  index_t begin, end;
};
shard my_rows(index_t n) {
  const auto [b, e] = rnnabs::shard_rows(n, world->rank(), world->size());
  return {b, e};
}

void expect_same_model(const rnnabs::gaussian_mixture& d, const rnnabs::gaussian_mixture& s) {
  EXPECT_TRUE(same_bits(d.means(), s.means()));
  EXPECT_TRUE(same_bits(d.covariances(), s.covariances()));
  EXPECT_TRUE(same_bits(d.weights(), s.weights()));
  EXPECT_TRUE(same_bits(d.precisions_cholesky(), s.precisions_cholesky()));
  EXPECT_EQ(d.n_iter(), s.n_iter());
  const double ld = d.lower_bound(), ls = s.lower_bound();
  EXPECT_EQ(std::memcmp(&ld, &ls, sizeof ld), 0) << ld << " vs " << ls;
  EXPECT_EQ(d.n_reseeded(), s.n_reseeded());
}

TEST(Dist, ShardRowsCoverTheDataInAlignedPieces) {
  for (const index_t n : {index_t{0}, index_t{1}, index_t{65536}, index_t{200000}})
    for (int size = 1; size <= 4; ++size) {
      index_t next = 0;
      for (int r = 0; r < size; ++r) {
        const auto [b, e] = rnnabs::shard_rows(n, r, size);
        EXPECT_EQ(b, next);
        EXPECT_LE(b, e);
        EXPECT_TRUE(b == e || b % rnnabs::shard_row_alignment == 0) << b;
        next = e;
      }
      EXPECT_EQ(next, n);
    }
}

TEST(Dist, ChunkedReduceFoldsInGlobalOrder) {
  // Partial sums of a badly conditioned series: any change of the summation order changes the bits.
  const index_t n = 3 * rnnabs::shard_row_alignment + 1234;
  auto term = [](index_t i) {
    return std::ldexp(1.0 + 1e-3 * static_cast<double>(i % 97), static_cast<int>(i % 60) - 30);
  };
  auto sum = [&](rnnabs::communicator_ref c, index_t b, index_t e) {
    return rnnabs::chunked_reduce(
        c, e - b, 4096, 0.0,
        [&](index_t lb, index_t le, double& acc) {
          for (index_t i = lb; i < le; ++i) acc += term(b + i);
        },
        [](double& t, double p) { t += p; });
  };
  const auto [b, e] = my_rows(n);
  const double dist = sum(*world, b, e), single = sum(rnnabs::single_process{}, 0, n);
  EXPECT_EQ(std::memcmp(&dist, &single, sizeof dist), 0) << dist << " vs " << single;
}

struct gmm_case {
  rnnabs::covariance_type cov;
  rnnabs::gmm_init init;
  index_t n_init;
  bool weighted;
};

void PrintTo(const gmm_case& c, std::ostream* os) {
  *os << rnnabs::to_string(c.cov) << ", init " << static_cast<int>(c.init) << ", n_init " << c.n_init
      << (c.weighted ? ", weighted" : "");
}

class DistGmm : public ::testing::TestWithParam<gmm_case> {};

TEST_P(DistGmm, EqualsTheSingleProcessFitBitForBit) {
  const gmm_case c = GetParam();
  const index_t n = 2 * rnnabs::shard_row_alignment + 20000;
  const matrix<double> X = blobs(n, 3, 7);
  rnnabs::vector<double> w(n);
  for (index_t i = 0; i < n; ++i) w[i] = 0.5 + static_cast<double>(i % 7) / 7.0;
  const rnnabs::gmm_options o{
      .n_components = 4, .covariance = c.cov, .max_iter = 15, .n_init = c.n_init, .init = c.init, .seed = 11};
  const auto [b, e] = my_rows(n);
  rnnabs::gaussian_mixture dist(o), single(o);
  if (c.weighted) {
    const rnnabs::vector<double> wl = w.segment(b, e - b);
    dist.fit(X.middleRows(b, e - b), wl, *world);
    single.fit(X, w);
  } else {
    dist.fit(X.middleRows(b, e - b), *world);
    single.fit(X);
  }
  expect_same_model(dist, single);
  const double sd = dist.score(X.middleRows(b, e - b), *world), ss = single.score(X);
  EXPECT_EQ(std::memcmp(&sd, &ss, sizeof sd), 0) << sd << " vs " << ss;
}

using ct = rnnabs::covariance_type;
using gi = rnnabs::gmm_init;
INSTANTIATE_TEST_SUITE_P(
    Cases, DistGmm,
    ::testing::Values(gmm_case{ct::diag, gi::random, 1, false}, gmm_case{ct::full, gi::random_from_data, 2, false},
                      gmm_case{ct::tied, gi::random, 1, true}, gmm_case{ct::spherical, gi::random_from_data, 1, true},
                      gmm_case{ct::diag, gi::kmeans, 2, false}, gmm_case{ct::full, gi::kmeans, 1, true},
                      gmm_case{ct::diag, gi::kmeans_plusplus, 1, false}));

TEST(Dist, PcaEqualsTheSingleProcessFitBitForBit) {
  // float rows, as hidden states are: the scatter is summed in double from float SYRKs.
  const index_t n = 2 * rnnabs::shard_row_alignment + 3000;
  const matrix<float> X = blobs(n, 12, 4).cast<float>();
  const auto [b, e] = my_rows(n);
  rnnabs::pca dist(rnnabs::pca_options{.n_components = 5}), single(rnnabs::pca_options{.n_components = 5});
  dist.fit(X.middleRows(b, e - b), *world);
  single.fit(X);
  EXPECT_TRUE(same_bits(dist.components(), single.components()));
  EXPECT_TRUE(same_bits(dist.mean(), single.mean()));
  EXPECT_TRUE(same_bits(dist.explained_variance(), single.explained_variance()));
  EXPECT_EQ(dist.n_samples(), n);
}

TEST(Dist, PcaRefusesUndistributedSolvers) {
  if (world->size() == 1) GTEST_SKIP() << "every solver runs on one rank";
  const index_t n = rnnabs::shard_row_alignment + 10;
  const matrix<double> X = blobs(n, 4, 1);
  const auto [b, e] = my_rows(n);
  rnnabs::pca p(rnnabs::pca_options{.n_components = 2, .solver = rnnabs::pca_solver::randomized});
  EXPECT_THROW(p.fit(X.middleRows(b, e - b), *world), rnnabs::invalid_argument);
}

class DistKmeans : public ::testing::TestWithParam<bool> {};

TEST_P(DistKmeans, EqualsTheSingleProcessFitBitForBit) {
  const bool weighted = GetParam();
  const index_t n = 2 * rnnabs::shard_row_alignment + 777;
  const matrix<float> X = blobs(n, 5, 21).cast<float>();
  rnnabs::vector<double> w(n);
  for (index_t i = 0; i < n; ++i) w[i] = static_cast<double>((i * 7) % 5);  // zeros included
  const rnnabs::kmeans_options o{.n_clusters = 6, .n_init = 2, .max_iter = 50, .seed = 4};
  const auto [b, e] = my_rows(n);
  rnnabs::kmeans dist(o), single(o);
  if (weighted) {
    const rnnabs::vector<double> wl = w.segment(b, e - b);
    dist.fit(X.middleRows(b, e - b), wl, *world);
    single.fit(X, w);
  } else {
    dist.fit(X.middleRows(b, e - b), *world);
    single.fit(X);
  }
  EXPECT_TRUE(same_bits(dist.centers(), single.centers()));
  const double id = dist.inertia(), is = single.inertia();
  EXPECT_EQ(std::memcmp(&id, &is, sizeof id), 0) << id << " vs " << is;
  EXPECT_EQ(dist.n_iter(), single.n_iter());
  EXPECT_TRUE((dist.labels().array() == single.labels().segment(b, e - b).array()).all());
}

INSTANTIATE_TEST_SUITE_P(Weights, DistKmeans, ::testing::Values(false, true));

TEST(Dist, KmeansRelocatesEmptyClustersAsOneProcessDoes) {
  // Three distinct points, five clusters: k-means++ runs out of potential, clusters empty, and the
  // farthest points (ties to the lower global row) are moved into them.
  const index_t n = 2 * rnnabs::shard_row_alignment + 50;
  matrix<double> X(n, 2);
  for (index_t i = 0; i < n; ++i) X.row(i) << static_cast<double>(i % 3), static_cast<double>((i % 3) * (i % 3));
  const rnnabs::kmeans_options o{.n_clusters = 5, .max_iter = 20, .seed = 1};
  const auto [b, e] = my_rows(n);
  rnnabs::kmeans dist(o), single(o);
  dist.fit(X.middleRows(b, e - b), *world);
  single.fit(X);
  EXPECT_TRUE(same_bits(dist.centers(), single.centers()));
  EXPECT_EQ(dist.n_iter(), single.n_iter());
}

TEST(Dist, AlignRowsKeepsTheGlobalOrder) {
  // Uneven shards (rank r holds 40000 + 30000 r rows): after alignment every rank's rows start at a
  // multiple of the alignment and, read in rank order, are the same rows in the same order.
  std::vector<index_t> n(static_cast<std::size_t>(world->size()));
  index_t total = 0, first = 0;
  for (int r = 0; r < world->size(); ++r) {
    n[static_cast<std::size_t>(r)] = 40000 + 30000 * r;
    if (r < world->rank()) first += n[static_cast<std::size_t>(r)];
    total += n[static_cast<std::size_t>(r)];
  }
  matrix<float> x(n[static_cast<std::size_t>(world->rank())], 2);
  for (index_t i = 0; i < x.rows(); ++i) x.row(i) << static_cast<float>(first + i), -static_cast<float>(first + i);
  const matrix<float> a = rnnabs::align_rows(*world, x);
  const std::vector<index_t> m = rnnabs::all_gather_value(rnnabs::communicator_ref(*world), a.rows());
  index_t start = 0;
  for (int r = 0; r < world->rank(); ++r) start += m[static_cast<std::size_t>(r)];
  EXPECT_TRUE(a.rows() == 0 || start % rnnabs::shard_row_alignment == 0) << start;
  for (index_t i = 0; i < a.rows(); ++i) ASSERT_EQ(a(i, 0), static_cast<float>(start + i)) << i;
  EXPECT_TRUE(rnnabs::rows_aligned(*world, a.rows()));
  index_t sum = 0;
  for (const index_t v : m) sum += v;
  EXPECT_EQ(sum, total);
}

/// Sequences of lengths 20..39 with width-16 hidden states drifting between regimes, the same on every rank.
rnnabs::traces<float> sequences(index_t n_seq, std::uint64_t seed) {
  rnnabs::rng g(seed);
  std::vector<matrix<float>> h;
  std::vector<rnnabs::index_vector> y;
  for (index_t i = 0; i < n_seq; ++i) {
    const index_t T = 20 + g.below(20);
    matrix<float> hi(T, 16);
    rnnabs::index_vector yi(T);
    index_t regime = g.below(4);
    for (index_t t = 0; t < T; ++t) {
      if (g.uniform() < 0.2) regime = g.below(4);
      for (index_t a = 0; a < 16; ++a)
        hi(t, a) = static_cast<float>(
            std::tanh(0.8 * static_cast<double>(regime) - 1.2 + 0.05 * static_cast<double>(a)) + 0.1 * g.normal());
      yi(t) = regime % 3;
    }
    h.push_back(std::move(hi));
    y.push_back(std::move(yi));
  }
  return rnnabs::make_traces(std::move(h), std::move(y), 3);
}

/// Sequences [b, e) of tr.
rnnabs::traces<float> slice(const rnnabs::traces<float>& tr, index_t b, index_t e) {
  std::vector<matrix<float>> h(tr.hidden.begin() + b, tr.hidden.begin() + e);
  std::vector<rnnabs::index_vector> y(tr.step_labels.begin() + b, tr.step_labels.begin() + e);
  return rnnabs::make_traces(std::move(h), std::move(y), 3);
}

TEST(Dist, AbstractionAndAutomatonEqualTheSingleProcessBuild) {
  // ~8800 sequences, ~260k steps; an uneven split by sequence, so the steps need aligning.
  const rnnabs::traces<float> all = sequences(8800, 12);
  const index_t n = all.size(), P = world->size(), r = world->rank();
  const index_t b = n * r * r / (P * P), e = n * (r + 1) * (r + 1) / (P * P);
  const rnnabs::abstraction_options o{.pca_components = 5, .n_clusters = 6, .max_iter = 20, .seed = 3};
  const auto dist = rnnabs::build_abstraction(slice(all, b, e), o, *world);
  const auto single = rnnabs::build_abstraction(all, o);
  const auto& pd = dist.abstraction.reducer().pca_model();
  const auto& ps = single.abstraction.reducer().pca_model();
  EXPECT_TRUE(same_bits(pd.components(), ps.components()));
  expect_same_model(dist.abstraction.partitioner(), single.abstraction.partitioner());
  EXPECT_TRUE((dist.abstraction.label_counts().array() == single.abstraction.label_counts().array()).all());
  for (index_t i = b; i < e; ++i)
    ASSERT_TRUE((dist.abstraction.train_states()[static_cast<std::size_t>(i - b)].array() ==
                 single.abstraction.train_states()[static_cast<std::size_t>(i)].array())
                    .all());
  const auto& ad = dist.automaton;
  const auto& as = single.automaton;
  ASSERT_EQ(ad.n_transitions(), as.n_transitions());
  for (index_t k = 0; k < as.n_transitions(); ++k) {
    ASSERT_EQ(ad.transition_at(k), as.transition_at(k));
    ASSERT_EQ(ad.count_at(k), as.count_at(k));
    const auto sd = ad.samples(as.transition_at(k)), ss = as.samples(as.transition_at(k));
    ASSERT_TRUE(std::equal(sd.begin(), sd.end(), ss.begin(), ss.end()));
  }
}

TEST(Dist, RanksWithoutRowsMayPassNothing) {
  // The last rank holds no sequence (abstraction), no rows and no weights (weighted mixture).
  const rnnabs::traces<float> all = sequences(3000, 5);
  const index_t n = all.size(), P = world->size(), r = world->rank();
  const index_t b = P == 1 ? 0 : std::min(n, n * r / (P - 1)), e = P == 1 ? n : std::min(n, n * (r + 1) / (P - 1));
  const rnnabs::abstraction_options o{.pca_components = 4, .n_clusters = 5, .max_iter = 10, .seed = 1};
  rnnabs::default_abstraction dist = rnnabs::make_abstraction(o), single = rnnabs::make_abstraction(o);
  if (e > b) dist.fit(slice(all, b, e), *world);
  else dist.fit(rnnabs::traces<float>{}, *world);
  single.fit(all);
  expect_same_model(dist.partitioner(), single.partitioner());
  EXPECT_TRUE((dist.label_counts().array() == single.label_counts().array()).all());

  const index_t m = 2 * rnnabs::shard_row_alignment + 10;
  const matrix<double> X = blobs(m, 2, 4);
  rnnabs::vector<double> w(m);
  for (index_t i = 0; i < m; ++i) w[i] = 1.0 + static_cast<double>(i % 4);
  const index_t xb = P == 1 ? 0 : std::min(m, m * r / (P - 1)), xe = P == 1 ? m : std::min(m, m * (r + 1) / (P - 1));
  rnnabs::gaussian_mixture gd({.n_components = 3, .max_iter = 5, .seed = 9}),
      gs({.n_components = 3, .max_iter = 5, .seed = 9});
  if (xe > xb) gd.fit(X.middleRows(xb, xe - xb), rnnabs::vector<double>(w.segment(xb, xe - xb)), *world);
  else gd.fit(matrix<double>(0, 2), *world);
  gs.fit(X, w);
  expect_same_model(gd, gs);
}

TEST(Dist, BadInitialParametersOnOneRankStopEveryRank) {
  const index_t n = rnnabs::shard_row_alignment + 100;
  const matrix<double> X = blobs(n, 2, 2);
  const auto [b, e] = my_rows(n);
  rnnabs::gmm_parameters p0;
  p0.weights = rnnabs::vector<double>::Constant(2, 0.5);
  p0.means = matrix<double>::Zero(2, 2);
  p0.means(1, 0) = 1;
  p0.covariances = matrix<double>::Ones(2, 2);                        // diag: K x D
  if (world->rank() == world->size() - 1) p0.covariances(0, 0) = -1;  // bad on the last rank only
  rnnabs::gaussian_mixture g({.n_components = 2, .covariance = ct::diag});
  EXPECT_THROW(g.fit(X.middleRows(b, e - b), p0, *world), rnnabs::invalid_argument);
}

TEST(Dist, ReseedingADegenerateComponentMatchesTheSingleProcess) {
  // Far more components than structure, tiny reg_covar, min_weight high: components empty out and
  // are reseeded at the worst-explained points, chosen across all ranks.
  const index_t n = 2 * rnnabs::shard_row_alignment + 100;
  const matrix<double> X = blobs(n, 2, 3);
  const rnnabs::gmm_options o{.n_components = 12,
                              .covariance = ct::diag,
                              .max_iter = 10,
                              .init = gi::random_from_data,
                              .seed = 5,
                              .on_degenerate = rnnabs::degenerate_policy::reseed,
                              .min_weight = 0.05};
  const auto [b, e] = my_rows(n);
  rnnabs::gaussian_mixture dist(o), single(o);
  dist.fit(X.middleRows(b, e - b), *world);
  single.fit(X);
  EXPECT_GT(single.n_reseeded(), 0);
  expect_same_model(dist, single);
}

TEST(Dist, ARankWithNoRowsTakesPart) {
  const index_t n = rnnabs::shard_row_alignment + 5000;  // 2 blocks: on 3 ranks the last holds nothing
  const matrix<double> X = blobs(n, 2, 9);
  const rnnabs::gmm_options o{.n_components = 3, .max_iter = 5, .init = gi::random, .seed = 2};
  const auto [b, e] = my_rows(n);
  rnnabs::gaussian_mixture dist(o), single(o);
  dist.fit(X.middleRows(b, e - b), *world);
  single.fit(X);
  expect_same_model(dist, single);
}

TEST(Dist, BadInputOnOneRankStopsEveryRankWithTheSameError) {
  const index_t n = rnnabs::shard_row_alignment + 5000;
  matrix<double> X = blobs(n, 2, 1);
  X(n - 1, 1) = std::numeric_limits<double>::quiet_NaN();  // on the last rank that holds rows
  const auto [b, e] = my_rows(n);
  rnnabs::gaussian_mixture g({.n_components = 2, .init = gi::random});
  try {
    g.fit(X.middleRows(b, e - b), *world);
    ADD_FAILURE() << "no error";
  } catch (const rnnabs::invalid_argument& err) {
    EXPECT_NE(std::string(err.what()).find("NaN"), std::string::npos) << err.what();
  }
  EXPECT_FALSE(g.fitted());
}

TEST(Dist, AnySplitOfTheRowsGivesTheSameModels) {
  // Rank r holds 50000 + 20000 r rows: the fits move rows to aligned ranks themselves.
  index_t n = 0, b = 0;
  for (int r = 0; r < world->size(); ++r) {
    if (r == world->rank()) b = n;
    n += 50000 + 20000 * r;
  }
  const index_t e = b + 50000 + 20000 * world->rank();
  const matrix<double> X = blobs(n, 3, 8);
  rnnabs::vector<double> w(n);
  for (index_t i = 0; i < n; ++i) w[i] = 1.0 + static_cast<double>(i % 3);
  const rnnabs::vector<double> wl = w.segment(b, e - b);
  const rnnabs::gmm_options o{.n_components = 3, .covariance = ct::full, .max_iter = 10, .seed = 6};
  rnnabs::gaussian_mixture gd(o), gs(o);
  gd.fit(X.middleRows(b, e - b), wl, *world);
  gs.fit(X, w);
  expect_same_model(gd, gs);
  const double sd = gd.score(X.middleRows(b, e - b), *world), ss = gs.score(X);
  EXPECT_EQ(std::memcmp(&sd, &ss, sizeof sd), 0) << sd << " vs " << ss;
  rnnabs::kmeans kd({.n_clusters = 4, .seed = 2}), ks({.n_clusters = 4, .seed = 2});
  kd.fit(X.middleRows(b, e - b), wl, *world);
  ks.fit(X, w);
  EXPECT_TRUE(same_bits(kd.centers(), ks.centers()));
  EXPECT_TRUE((kd.labels().array() == ks.labels().segment(b, e - b).array()).all());
  rnnabs::pca pd(rnnabs::pca_options{.n_components = 2}), ps(rnnabs::pca_options{.n_components = 2});
  pd.fit(X.middleRows(b, e - b), *world);
  ps.fit(X);
  EXPECT_TRUE(same_bits(pd.components(), ps.components()));
}

// ---- influence over a sharded training set ----------------------------------------------------------

/// C-class softmax regression on n Gaussian points (the same on every rank).
rnnabs::softmax_regression_objective<double> logistic(index_t n, index_t d, index_t classes, std::uint64_t seed) {
  rnnabs::rng g(seed);
  matrix<double> x(n, d);
  rnnabs::index_vector y(n);
  for (index_t i = 0; i < n; ++i) {
    y(i) = static_cast<index_t>(g.below(static_cast<std::uint64_t>(classes)));
    for (index_t j = 0; j < d; ++j) x(i, j) = g.normal() + (j % classes == y(i) ? 1.0 : 0.0);
  }
  return rnnabs::softmax_regression_objective<double>(x, y, classes, /*l2=*/1e-2);
}

template <class F>
F rows_of(const F& f, index_t b, index_t e) {
  std::vector<index_t> ids(static_cast<std::size_t>(e - b));
  std::iota(ids.begin(), ids.end(), b);
  return f.subset(ids);
}

rnnabs::vector<double> gaussian(index_t n, std::uint64_t seed, double scale) {
  rnnabs::rng g(seed);
  rnnabs::vector<double> v(n);
  for (index_t i = 0; i < n; ++i) v(i) = scale * g.normal();
  return v;
}

TEST(DistInfluence, KohLiangAndTracInEqualTheSingleProcessBitForBit) {
  const index_t n = 3000, chunk = 128;
  const auto all = logistic(n, 8, 3, 4), test = logistic(6, 8, 3, 5);
  const auto [b, e] = rnnabs::shard_rows(n, world->rank(), world->size(), chunk);
  const rnnabs::sharded_objective dist(rows_of(all, b, e), *world, {.chunk = chunk});
  const rnnabs::sharded_objective single(all, rnnabs::communicator_ref{}, {.chunk = chunk});
  ASSERT_EQ(dist.sample_count(), n);
  ASSERT_EQ(dist.offset(), b);
  const rnnabs::vector<double> w = gaussian(all.parameter_count(), 7, 0.3);
  const matrix<double> gt = rnnabs::sample_gradients(test, w);
  const rnnabs::gradient_block_options blocks{.block = 64};
  {  // CG
    rnnabs::cg_ihvp sd(dist, w, {.damping = 1e-3, .tol = 1e-10}), ss(single, w, {.damping = 1e-3, .tol = 1e-10});
    const auto rd = rnnabs::koh_liang(dist, w, gt, sd, blocks), rs = rnnabs::koh_liang(single, w, gt, ss, blocks);
    EXPECT_TRUE(same_bits(rd.s_test, rs.s_test));
    EXPECT_TRUE(same_bits(rd.scores, rs.scores.middleRows(b, e - b)));
    EXPECT_EQ(rd.report.iterations, rs.report.iterations);
    // The chunked sums are the objective's own, to rounding: the plain solver agrees closely.
    rnnabs::cg_ihvp plain(all, w, {.damping = 1e-3, .tol = 1e-10});
    const auto rp = rnnabs::koh_liang(all, w, gt, plain);
    EXPECT_LT((rp.scores - rs.scores).norm(), 1e-8 * rp.scores.norm());
    // Top-k merged across the ranks = the top-k of all rows.
    const auto td = rnnabs::top_k(rd.scores, 7, {.first_row = b}, *world);
    const auto ts = rnnabs::top_k(rs.scores, 7);
    ASSERT_EQ(td.size(), ts.size());
    for (std::size_t j = 0; j < ts.size(); ++j) {
      ASSERT_EQ(td[j].size(), 7u);
      for (std::size_t q = 0; q < 7; ++q) {
        EXPECT_EQ(td[j][q].sample, ts[j][q].sample);
        EXPECT_EQ(td[j][q].score, ts[j][q].score);
        if (q > 0) {
          EXPECT_GE(ts[j][q - 1].score, ts[j][q].score);
        }
      }
    }
    const auto low = rnnabs::top_k(rd.scores, 3, {.largest = false, .first_row = b}, *world);
    index_t argmin = 0;
    rs.scores.col(0).minCoeff(&argmin);
    EXPECT_EQ(low[0][0].sample, argmin);
  }
  {  // LiSSA on mini-batches drawn from the global ids
    const rnnabs::lissa_options lo{.damping = 1e-2, .depth = 40, .repetitions = 2, .batch_size = 50, .seed = 3};
    rnnabs::lissa_ihvp ld(dist, w, lo), ls(single, w, lo);
    EXPECT_EQ(ld.scale(), ls.scale());
    EXPECT_TRUE(same_bits(ld.solve(gt), ls.solve(gt)));
  }
  {  // TracInCP / gradient similarity need nothing shared: this rank's rows of the whole
    const std::vector<rnnabs::checkpoint<double>> cps{{w, 0.5}, {gaussian(w.size(), 8, 0.3), 0.25}};
    const rnnabs::tracin_options o{.normalize = true, .projection = 16, .seed = 2, .block = 64};
    EXPECT_TRUE(same_bits(rnnabs::tracin_cp(dist.local(), test, cps, o),
                          rnnabs::tracin_cp(all, test, cps, o).middleRows(b, e - b)));
  }
}

TEST(DistInfluence, BlockedFoldsAndEverySolverEqualTheSingleProcess) {
  const index_t n = 2500;
  const rnnabs::sharded_options so{.chunk = 64, .block = 3};
  const auto all = logistic(n, 5, 3, 14), test = logistic(3, 5, 3, 15);
  const auto [b, e] = rnnabs::shard_rows(n, world->rank(), world->size(), so.alignment());
  const rnnabs::sharded_objective dist(rows_of(all, b, e), *world, so);
  const rnnabs::sharded_objective single(all, rnnabs::communicator_ref{}, so);
  const rnnabs::vector<double> w = gaussian(all.parameter_count(), 3, 0.5);
  const matrix<double> gt = rnnabs::sample_gradients(test, w);
  rnnabs::explicit_ihvp ed(dist, w, {.damping = 1e-3}), es(single, w, {.damping = 1e-3});
  EXPECT_TRUE(same_bits(ed.solve(gt), es.solve(gt)));
  rnnabs::arnoldi_ihvp ad(dist, w, {.rank = 6, .iterations = 12}), as(single, w, {.rank = 6, .iterations = 12});
  EXPECT_TRUE(same_bits(ad.solve(gt), as.solve(gt)));
  rnnabs::cg_ihvp cd(dist, w, {.damping = 1e-3}), cs(single, w, {.damping = 1e-3});
  EXPECT_TRUE(same_bits(cd.solve(gt), cs.solve(gt)));
  // The explicit solve is exact: the chunked Hessian equals the objective's own to rounding.
  matrix<double> h = all.hessian(w);
  h.diagonal().array() += 1e-3;
  EXPECT_LT((es.solve(gt) - h.llt().solve(gt)).norm(), 1e-8 * es.solve(gt).norm());
  EXPECT_EQ(dist.loss(w), single.loss(w));
}

TEST(DistInfluence, AnLstmObjectiveGivesTheSameBitsOnAnyNumberOfRanks) {
  // Float LSTM, sequences of 3..6 steps: chunks of 32 sequences (two model chunks of 16 each).
  using model_t = rnnabs::rnn_classifier<rnnabs::lstm_cell, float>;
  const model_t model(rnnabs::rnn_config{.input_size = 3, .hidden_size = 6, .num_classes = 3}, 4);
  rnnabs::sequence_batch<float> data, test;
  rnnabs::rng g(11);
  for (auto* set : {&data, &test}) {
    const index_t n = set == &data ? 200 : 3;
    set->labels.resize(n);
    for (index_t i = 0; i < n; ++i) {
      matrix<float> x(3 + (i * 7) % 4, 3);
      for (index_t k = 0; k < x.size(); ++k) x.data()[k] = static_cast<float>(g.normal());
      set->features.push_back(x);
      set->labels(i) = static_cast<index_t>(g.below(3));
    }
  }
  const index_t n = data.size(), chunk = 32;
  const auto [b, e] = rnnabs::shard_rows(n, world->rank(), world->size(), chunk);
  std::vector<index_t> mine(static_cast<std::size_t>(e - b));
  std::iota(mine.begin(), mine.end(), b);
  const auto local = rnnabs::subset(data, mine);
  const rnnabs::batch_objective f_all(model, data, 0.1), f_local(model, local, 0.1), f_test(model, test);
  const rnnabs::sharded_objective dist(f_local, *world, {.chunk = chunk});
  const rnnabs::sharded_objective single(f_all, rnnabs::communicator_ref{}, {.chunk = chunk});
  const rnnabs::vector<float> w = model.parameters();
  EXPECT_EQ(dist.loss(w), single.loss(w));
  const rnnabs::vector<float> gd = dist.loss_gradient(w), gs = single.loss_gradient(w);
  EXPECT_EQ(std::memcmp(gd.data(), gs.data(), sizeof(float) * static_cast<std::size_t>(gd.size())), 0);
  const matrix<double> gt = rnnabs::sample_gradients(f_test, w);
  rnnabs::cg_ihvp sd(dist, w, {.damping = 0.5, .tol = 1e-6, .max_iter = 30});
  rnnabs::cg_ihvp ss(single, w, {.damping = 0.5, .tol = 1e-6, .max_iter = 30});
  const rnnabs::gradient_block_options blocks{.block = 32};
  const auto rd = rnnabs::koh_liang(dist, w, gt, sd, blocks), rs = rnnabs::koh_liang(single, w, gt, ss, blocks);
  EXPECT_TRUE(same_bits(rd.s_test, rs.s_test));
  EXPECT_TRUE(same_bits(rd.scores, rs.scores.middleRows(b, e - b)));
}

TEST(DistInfluence, MisalignedShardsStopEveryRankWithTheSameError) {
  if (world->size() == 1) GTEST_SKIP() << "one rank is always aligned";
  const auto all = logistic(1000, 4, 2, 1);
  const index_t b = world->rank() == 0 ? 0 : 100 + 300 * (world->rank() - 1);
  const index_t e = 100 + 300 * world->rank();
  try {
    const rnnabs::sharded_objective dist(rows_of(all, b, e), *world, {.chunk = 64});
    ADD_FAILURE() << "no error";
  } catch (const rnnabs::invalid_argument& err) {
    EXPECT_NE(std::string(err.what()).find("multiple of 64"), std::string::npos) << err.what();
  }
}

TEST(DistInfluence, AutomatonInfluenceOfEachRanksSamples) {
  const rnnabs::traces<float> all = sequences(900, 21);
  const index_t n = all.size();
  const auto [b, e] = rnnabs::shard_rows(n, world->rank(), world->size(), 1);
  const rnnabs::abstraction_options o{.pca_components = 3, .n_clusters = 5, .max_iter = 10, .seed = 2};
  const auto built = rnnabs::build_abstraction(slice(all, b, e), o, *world);  // the global automaton
  std::vector<rnnabs::index_vector> states, labels;
  for (index_t t = 0; t < 4; ++t) {
    states.push_back(built.abstraction.train_states().front().segment(0, 4).eval());
    labels.push_back(all.step_labels[static_cast<std::size_t>(b)].segment(0, 4).eval());
  }
  states = rnnabs::all_gather_sequences(*world, states);  // every rank's test traces, the same everywhere
  labels = rnnabs::all_gather_sequences(*world, labels);
  const matrix<double> full = rnnabs::automaton_influence(built.automaton, states, labels);
  const matrix<double> mine = rnnabs::automaton_influence(built.automaton, states, labels,
                                                          {.first_sample = b, .n_samples = e - b});
  EXPECT_TRUE(same_bits(mine, full.middleRows(b, e - b)));
  EXPECT_GT(full.maxCoeff(), 0.0);
}

TEST(Dist, ModelSelectionSweepEqualsTheSingleProcessSweep) {
  const index_t n = 2 * rnnabs::shard_row_alignment + 9000;
  const matrix<double> X = blobs(n, 3, 17);
  const auto [b, e] = my_rows(n);
  const rnnabs::gmm_sweep_options o{.n_components = {1, 2, 3, 5},
                                    .covariances = {ct::diag, ct::full},
                                    .base = {.max_iter = 15, .seed = 4},
                                    .keep_models = true};
  const auto d = rnnabs::sweep_gmm(X.middleRows(b, e - b), o, *world);
  const auto s = rnnabs::sweep_gmm(X, o);
  ASSERT_EQ(d.entries.size(), s.entries.size());
  for (std::size_t i = 0; i < s.entries.size(); ++i) {
    EXPECT_EQ(std::memcmp(&d.entries[i].bic, &s.entries[i].bic, sizeof(double)), 0) << i;
    EXPECT_EQ(std::memcmp(&d.entries[i].score, &s.entries[i].score, sizeof(double)), 0) << i;
    expect_same_model(*d.entries[i].model, *s.entries[i].model);
  }
  EXPECT_EQ(d.best_bic(), s.best_bic());
}

TEST(Dist, SimnnProbeEqualsTheSingleProcessFit) {
  // Uneven shares (rank r holds a quadratic slice); the rows move to the chunk grid inside the fit.
  const index_t n = 7000, d = 12, P = world->size(), r = world->rank();
  const matrix<double> X = blobs(n, d, 31);
  rnnabs::index_vector y(n);
  for (index_t i = 0; i < n; ++i) y(i) = (X(i, 0) > 0 ? 1 : 0) + (X(i, 1) > 0 ? 2 : 0);
  const index_t b = n * r * r / (P * P), e = n * (r + 1) * (r + 1) / (P * P);
  const rnnabs::simnn_options o{.iterations = 25, .learning_rate = 0.05, .seed = 2};
  rnnabs::simnn pd(o), ps(o);
  pd.fit(X.middleRows(b, e - b), y.segment(b, e - b), 4, *world);
  ps.fit(X, y, 4);
  EXPECT_TRUE(same_bits(pd.weights(), ps.weights()));
  EXPECT_TRUE(same_bits(matrix<double>(pd.bias()), matrix<double>(ps.bias())));
  EXPECT_EQ(std::memcmp(pd.loss_history().data(), ps.loss_history().data(), sizeof(double) * 25), 0);
}

TEST(Dist, ComponentSweepWithSimnnEqualsTheSingleProcessSweep) {
  auto with_truth = [](rnnabs::traces<float> tr) {
    tr.truth = tr.predictions;
    for (index_t i = 0; i < tr.size(); i += 7) tr.truth(i) = (tr.truth(i) + 1) % 3;  // some mistakes
    return tr;
  };
  const rnnabs::traces<float> train = with_truth(sequences(1200, 41)), test = with_truth(sequences(300, 42));
  const index_t P = world->size(), r = world->rank();
  const index_t b = train.size() * r / P, e = train.size() * (r + 1) / P;
  const index_t tb = test.size() * r * r / (P * P), te = test.size() * (r + 1) * (r + 1) / (P * P);
  auto cut = [&](const rnnabs::traces<float>& tr, index_t lo, index_t hi) {
    rnnabs::traces<float> s = slice(tr, lo, hi);
    s.predictions = tr.predictions.segment(lo, hi - lo);
    s.truth = tr.truth.segment(lo, hi - lo);
    return s;
  };
  const rnnabs::component_sweep_options o{
      .pca_components = 4, .n_clusters = {3, 5}, .max_iter = 10, .seed = 5, .simnn = {.iterations = 30, .seed = 1}};
  const auto d = rnnabs::component_sweep(cut(train, b, e), cut(test, tb, te), o, *world);
  const auto s = rnnabs::component_sweep(train, test, o);
  ASSERT_EQ(d.size(), s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double dv[] = {d[i].bic,        d[i].stability.mean,       d[i].stability.weighted_mean,
                         d[i].simnn_loss, d[i].simnn_train_accuracy, d[i].simnn_test_accuracy};
    const double sv[] = {s[i].bic,        s[i].stability.mean,       s[i].stability.weighted_mean,
                         s[i].simnn_loss, s[i].simnn_train_accuracy, s[i].simnn_test_accuracy};
    EXPECT_EQ(std::memcmp(dv, sv, sizeof dv), 0)
        << "row " << i << ": BIC " << d[i].bic << " vs " << s[i].bic << ", SimNN test " << d[i].simnn_test_accuracy
        << " vs " << s[i].simnn_test_accuracy;
    EXPECT_EQ(d[i].n_iter, s[i].n_iter);
    EXPECT_GT(s[i].simnn_test_accuracy, 0.0);
  }
}

}  // namespace dist_test

int main(int argc, char** argv) {
  rnnabs::dist::mpi_session mpi(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  const rnnabs::dist::mpi_communicator world;
  dist_test::world = &world;
  if (world.rank() != 0) {  // one report: the other ranks print only their failures
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS();
  // Every rank's verdict decides the exit code of each rank (mpirun reports the first non-zero one).
  const std::vector<int> all = rnnabs::all_gather_value(rnnabs::communicator_ref(world), failed);
  for (const int f : all) failed |= f;
  return failed;
}
