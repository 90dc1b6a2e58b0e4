// GPU twins of the statistics: the streaming GMM E+M pass, whole EM fits, scoring, and PCA, each
// compared with the CPU code on fresh random inputs (skipped without a device).
#include <gtest/gtest.h>

#include "cuda_test.hpp"
#include "rnnabs/cuda/gmm.cuh"
#include "rnnabs/cuda/gmm_mstep.cuh"
#include "rnnabs/cuda/kmeans.cuh"
#include "rnnabs/cuda/backend.cuh"
#include "rnnabs/cuda/pca.cuh"

namespace {
using namespace rnnabs;
using test::rel_err;

/// Blobs: K clusters of N/K points in D dimensions, in scalar T.
template <class T>
matrix<T> blobs(index_t N, index_t D, index_t K) {
  matrix<T> X(N, D);
  matrix<double> c(K, D);
  for (index_t k = 0; k < K; ++k)
    for (index_t a = 0; a < D; ++a) c(k, a) = 4 * test::uniform();
  for (index_t i = 0; i < N; ++i)
    for (index_t a = 0; a < D; ++a) X(i, a) = static_cast<T>(c(i % K, a) + (0.5 + 0.1 * a) * test::normal());
  return X;
}

/// Random valid parameters for a covariance type (means near data points, SPD covariances).
gmm_parameters random_parameters(covariance_type c, index_t K, index_t D) {
  gmm_parameters p;
  p.weights = vector<double>::NullaryExpr(K, [] { return 0.5 + test::uniform(0, 1); });
  p.weights /= p.weights.sum();
  p.means = matrix<double>::NullaryExpr(K, D, [] { return 4 * test::uniform(); });
  const auto spd = [&] {
    const matrix<double> A = matrix<double>::NullaryExpr(D, D, [] { return test::uniform(); });
    return (A * A.transpose() + 0.5 * matrix<double>::Identity(D, D)).eval();
  };
  switch (c) {
    case covariance_type::full:
      p.covariances.resize(K * D, D);
      for (index_t k = 0; k < K; ++k) p.covariances.middleRows(k * D, D) = spd();
      break;
    case covariance_type::tied: p.covariances = spd(); break;
    case covariance_type::diag:
      p.covariances = matrix<double>::NullaryExpr(K, D, [] { return test::uniform(0.3, 2); });
      break;
    case covariance_type::spherical:
      p.covariances = matrix<double>::NullaryExpr(K, 1, [] { return test::uniform(0.3, 2); });
      break;
  }
  return p;
}

const covariance_type all_types[] = {covariance_type::full, covariance_type::tied, covariance_type::diag,
                                     covariance_type::spherical};

template <class T>
void em_pass_matches_cpu() {
  const index_t N = 3001, D = 5, K = 4;  // N not a multiple of the tile: padding is exercised
  const matrix<T> X = blobs<T>(N, D, K);
  vector<double> w = vector<double>::NullaryExpr(N, [] { return test::uniform(0, 2); });
  for (covariance_type c : all_types) {
    SCOPED_TRACE(std::string(to_string(c)));
    const gmm_parameters p = random_parameters(c, K, D);
    std::vector<index_t> bad;
    const matrix<double> pc = rnnabs::detail::precision_cholesky(p.covariances, c, K, D, bad);
    ASSERT_TRUE(bad.empty());
    const auto model = rnnabs::detail::kernel_model(p.weights, p.means, pc, c);
    for (const bool weighted : {false, true}) {
      const auto P = rnnabs::detail::pack_points(X, weighted ? w.data() : nullptr, "test");
      const rnnabs::detail::gmm_stats ref = rnnabs::detail::em_pass(P, model);
      const cuda::device_points data(X, weighted ? w.data() : nullptr);
      cuda::gmm_engine eng(data, K, c);
      const rnnabs::detail::gmm_stats got = eng.em_pass(model);
      using V = Eigen::Map<const Eigen::VectorXd>;
      const auto v = [](const std::vector<double>& x) { return V(x.data(), static_cast<index_t>(x.size())); };
      EXPECT_LT(rel_err(v(got.nk), v(ref.nk)), 1e-11);
      EXPECT_LT(rel_err(v(got.s1), v(ref.s1)), 1e-10);
      EXPECT_LT(rel_err(v(got.s2), v(ref.s2)), 1e-10);
      EXPECT_NEAR(got.loglik, ref.loglik, 1e-10 * std::abs(ref.loglik));
      // score_samples (the E-step alone) against the CPU model.
      const vector<double> lse = eng.score_samples(model);
      const gaussian_mixture g = gaussian_mixture::from_parameters(p, c);
      EXPECT_LT(rel_err(lse, g.score_samples(X)), 1e-12);
    }
  }
}
TEST(CudaGmm, EmPassMatchesCpuFloat) {
  RNNABS_REQUIRE_GPU();
  em_pass_matches_cpu<float>();
}
TEST(CudaGmm, EmPassMatchesCpuDouble) {
  RNNABS_REQUIRE_GPU();
  em_pass_matches_cpu<double>();
}

/// The device M-step's functions, run on the host, against the CPU's m_step + precision_cholesky +
/// kernel_model (runs everywhere: the functions are __host__ __device__).
TEST(CudaGmmMstep, HostRunMatchesTheCpuMstep) {
  const index_t N = 3001, D = 5, K = 4;
  const matrix<double> X = blobs<double>(N, D, K);
  const auto P = rnnabs::detail::pack_points(X, nullptr, "test");
  for (covariance_type c : all_types) {
    SCOPED_TRACE(std::string(to_string(c)));
    const gmm_parameters p = random_parameters(c, K, D);
    std::vector<index_t> bad;
    const auto model = rnnabs::detail::kernel_model(p.weights, p.means,
                                                    rnnabs::detail::precision_cholesky(p.covariances, c, K, D, bad), c);
    rnnabs::detail::gmm_stats st = rnnabs::detail::em_pass(P, model);
    for (const int variant : {0, 1, 2}) {  // 0 as is; 1 an empty component 0 without reg_covar; 2 min_weight
      SCOPED_TRACE(variant);
      if (variant == 1) {
        st.nk[0] = 0;
        std::fill_n(st.s1.begin(), D, 0.0);
        std::fill_n(st.s2.begin(), st.full ? D * D : D, 0.0);
      }
      const double reg = variant == 1 ? 0.0 : 1e-6, min_weight = variant == 2 ? 0.3 : 1e-8;
      const cuda::packed_stats_layout L{static_cast<int>(K), static_cast<int>(D), st.full, true};
      std::vector<double> t(static_cast<std::size_t>(L.width()), 0.0);
      t[0] = st.loglik;
      for (int k = 0; k < K; ++k) {
        t[L.nk(k)] = st.nk[k];
        for (int a = 0; a < D; ++a) {
          t[L.s1(k, a)] = st.s1[k * D + a];
          for (int b = 0; b <= a; ++b)
            if (st.full) t[L.s2(k, a, b)] = st.s2[(k * D + a) * D + b];
          if (!st.full) t[L.s2(k, a, a)] = st.s2[k * D + a];
        }
      }
      const auto [rows, cols] = rnnabs::detail::covariance_shape(c, K, D);
      std::vector<double> w(K), mean(K * D), cov(rows * cols), mu(model.mu.begin(), model.mu.end()), hp(K * D),
          pc(K * D * D), cc(K);
      std::vector<int> flag(K, -1);
      cuda::mstep_args g;
      g.L = L;
      g.type = c;
      g.t = t.data();
      g.reg = reg;
      g.min_weight = min_weight;
      g.weight = w.data();
      g.mean = mean.data();
      g.cov = cov.data();
      g.mu = mu.data();
      g.hp = hp.data();
      g.pc = pc.data();
      g.c = cc.data();
      g.flag = flag.data();
      if (c == covariance_type::tied) {
        cuda::detail::mstep_tied(g);
      } else {
        for (int k = 0; k < K; ++k) cuda::detail::mstep_component(g, k);
      }
      const gmm_parameters ref = rnnabs::detail::m_step(st, p.means, c, reg);
      const matrix<double> pref = rnnabs::detail::precision_cholesky(ref.covariances, c, K, D, bad);
      using M = Eigen::Map<const Eigen::VectorXd>;
      auto v = [](const std::vector<double>& x, std::size_t n) { return M(x.data(), static_cast<index_t>(n)); };
      EXPECT_LT(rel_err(v(w, K), ref.weights), 1e-15);
      EXPECT_LT(rel_err(v(mean, K * D), M(ref.means.data(), K * D)), 1e-15);
      EXPECT_LT(rel_err(v(mu, K * D), M(ref.means.data(), K * D)), 1e-15);
      EXPECT_LT(rel_err(v(cov, rows * cols), M(ref.covariances.data(), rows * cols)), 1e-15);
      for (int k = 0; k < K; ++k) {
        const bool not_pd = std::find(bad.begin(), bad.end(), k) != bad.end();
        EXPECT_EQ(flag[k], not_pd                        ? cuda::mstep_not_pd
                           : ref.weights[k] < min_weight ? cuda::mstep_light
                                                         : cuda::mstep_ok)
            << "component " << k;
      }
      if (c != covariance_type::tied) EXPECT_EQ(variant == 1, !bad.empty());  // tied pools the components
      if (!bad.empty()) continue;  // the factors of a flagged mixture are the CPU policy's business
      const auto mref = rnnabs::detail::kernel_model(ref.weights, ref.means, pref, c);
      EXPECT_LT(rel_err(v(cc, K), M(mref.c.data(), K)), 1e-13);
      if (mref.full) {
        EXPECT_LT(rel_err(v(pc, mref.pc.size()), M(mref.pc.data(), static_cast<index_t>(mref.pc.size()))), 1e-12);
      } else {
        EXPECT_LT(rel_err(v(hp, K * D), M(mref.hp.data(), K * D)), 1e-13);
      }
    }
  }
}

TEST(CudaGmm, FitMatchesCpuForEveryCovarianceType) {
  RNNABS_REQUIRE_GPU();
  const index_t N = 4000, D = 4, K = 5;
  // Double: the CPU's k-means assigns float data in float, the GPU's in double, so a point within
  // float rounding of a tie could start the two fits apart.
  const matrix<double> X = blobs<double>(N, D, K);
  for (covariance_type c : all_types) {
    SCOPED_TRACE(std::string(to_string(c)));
    const gmm_options o{.n_components = K, .covariance = c, .tol = 0.0, .max_iter = 15, .seed = 3};
    gaussian_mixture cpu(o), gpu(o);
    const auto rc = cuda::fit(cpu, X, cuda::backend::cpu);
    const auto rg = cuda::fit(gpu, X, cuda::backend::cuda);  // same seeds: the same k-means start
    EXPECT_EQ(rg.used, cuda::backend::cuda);
    EXPECT_EQ(rg.n_iter, rc.n_iter);
    EXPECT_NEAR(rg.lower_bound, rc.lower_bound, 1e-8 * std::abs(rc.lower_bound));
    EXPECT_LT(rel_err(gpu.weights(), cpu.weights()), 1e-6);
    EXPECT_LT(rel_err(gpu.means(), cpu.means()), 1e-6);
    EXPECT_LT(rel_err(gpu.covariances(), cpu.covariances()), 1e-6);
    EXPECT_EQ(gpu.options().max_iter, 15);
    EXPECT_LT(rel_err(cuda::score_samples(gpu, X), gpu.score_samples(X)), 1e-12);
  }
}

TEST(CudaGmm, FitFromGivenParametersAndWeights) {
  RNNABS_REQUIRE_GPU();
  const index_t N = 2500, D = 3, K = 3;
  const matrix<double> X = blobs<double>(N, D, K);
  const vector<double> w = vector<double>::NullaryExpr(N, [] { return test::uniform(0.1, 1); });
  const gmm_parameters p0 = random_parameters(covariance_type::full, K, D);
  const gmm_options o{.n_components = K, .covariance = covariance_type::full, .tol = 0.0, .max_iter = 10};
  gaussian_mixture cpu(o), gpu(o);
  cuda::fit(cpu, X, cuda::backend::cpu, &w, &p0);
  cuda::fit(gpu, X, cuda::backend::cuda, &w, &p0);
  EXPECT_LT(rel_err(gpu.means(), cpu.means()), 1e-8);
  EXPECT_LT(rel_err(gpu.covariances(), cpu.covariances()), 1e-8);
}

TEST(CudaGmm, FlaggedComponentIsReseededAsOnTheCpu) {
  RNNABS_REQUIRE_GPU();
  const index_t N = 3000, D = 3, K = 3;
  const matrix<double> X = blobs<double>(N, D, K);
  for (covariance_type c : {covariance_type::full, covariance_type::diag}) {
    SCOPED_TRACE(std::string(to_string(c)));
    gmm_parameters p0 = random_parameters(c, K, D);
    p0.means.row(2).setConstant(1e3);  // explains no point: its weight falls below min_weight
    const gmm_options o{.n_components = K, .covariance = c, .tol = 0.0, .max_iter = 6};
    gaussian_mixture cpu(o), gpu(o);
    const auto rc = cuda::fit(cpu, X, cuda::backend::cpu, nullptr, &p0);
    const auto rg = cuda::fit(gpu, X, cuda::backend::cuda, nullptr, &p0);
    EXPECT_GE(rc.n_reseeded, 1);
    EXPECT_EQ(rg.n_reseeded, rc.n_reseeded);
    EXPECT_LT(rel_err(gpu.means(), cpu.means()), 1e-8);
    EXPECT_LT(rel_err(gpu.covariances(), cpu.covariances()), 1e-8);
    EXPECT_NEAR(rg.lower_bound, rc.lower_bound, 1e-9 * std::abs(rc.lower_bound));
  }
}

TEST(CudaGmm, DeviceInitialisationMatchesCpu) {
  RNNABS_REQUIRE_GPU();
  const index_t N = 9000, D = 4, K = 6;  // > 2 chunks of the k-means passes
  const matrix<double> X = blobs<double>(N, D, K);
  const vector<double> w = vector<double>::NullaryExpr(N, [] { return test::uniform(0.2, 1.5); });
  for (gmm_init init : {gmm_init::kmeans, gmm_init::kmeans_plusplus, gmm_init::random_from_data}) {
    for (covariance_type c : {covariance_type::full, covariance_type::diag}) {
      SCOPED_TRACE(std::string(to_string(c)) + " init " + std::to_string(static_cast<int>(init)));
      const gmm_options o{.n_components = K, .covariance = c, .tol = 0.0, .max_iter = 3, .init = init, .seed = 11};
      gaussian_mixture cpu(o), gpu(o);
      cuda::fit(cpu, X, cuda::backend::cpu, &w);
      cuda::fit(gpu, X, cuda::backend::cuda, &w);
      EXPECT_LT(rel_err(gpu.weights(), cpu.weights()), 1e-9);
      EXPECT_LT(rel_err(gpu.means(), cpu.means()), 1e-9);
      EXPECT_LT(rel_err(gpu.covariances(), cpu.covariances()), 1e-9);
    }
  }
}

/// K blobs of N points in D dimensions, N not a multiple of the 4096-point chunks.
TEST(CudaKmeans, SeedingDrawsTheCpuCentres) {
  RNNABS_REQUIRE_GPU();
  const index_t N = 10007, D = 6, K = 9;
  const matrix<double> X = blobs<double>(N, D, K);
  const vector<double> w = vector<double>::NullaryExpr(N, [] { return test::uniform(0, 2); });
  for (const bool weighted : {false, true}) {
    SCOPED_TRACE(weighted ? "weighted" : "unweighted");
    const vector<double> wt = weighted ? w : vector<double>();
    rng a(5), b(5);
    EXPECT_TRUE(cuda::kmeans_plusplus_indices(X, K, a, wt) == kmeans_plusplus_indices(X, K, b, wt));
    EXPECT_EQ(a.uniform(), b.uniform());  // the same number of draws
  }
}

template <class T>
void kmeans_matches_cpu(bool weighted) {
  const index_t N = 10007, D = 5, K = 8;
  const matrix<T> X = blobs<T>(N, D, K);
  const vector<double> w = weighted ? vector<double>::NullaryExpr(N, [] { return test::uniform(0, 2); }).eval()
                                    : vector<double>();
  const kmeans_options o{.n_clusters = K, .n_init = 2, .max_iter = 50, .tol = 1e-6, .seed = 21};
  kmeans cpu(o), gpu(o);
  cuda::fit(cpu, X, cuda::backend::cpu, w);
  cuda::fit(gpu, X, cuda::backend::cuda, w);
  index_t same = 0;
  for (index_t i = 0; i < N; ++i) same += gpu.labels()(i) == cpu.labels()(i);
  if constexpr (std::is_same_v<T, double>) {  // both assign in double: only points within ~1e-16 of a tie could differ
    EXPECT_EQ(same, N);
    EXPECT_EQ(gpu.n_iter(), cpu.n_iter());
    EXPECT_EQ(gpu.converged(), cpu.converged());
    EXPECT_LT(rel_err(gpu.centers(), cpu.centers()), 1e-12);
    EXPECT_NEAR(gpu.inertia(), cpu.inertia(), 1e-12 * cpu.inertia());
    EXPECT_TRUE(gpu.predict(X) == gpu.labels());  // the model is a usable CPU kmeans
  } else {                   // the CPU assigns float data in float: points within rounding of a tie may differ
    EXPECT_GE(same, N - 2);  // one moved point shifts a centre by ~|x − c| / n_k
    EXPECT_LT(rel_err(gpu.centers(), cpu.centers()), 2e-3);
    EXPECT_NEAR(gpu.inertia(), cpu.inertia(), 1e-4 * cpu.inertia());
  }
  EXPECT_EQ(gpu.options().seed, 21u);
}
TEST(CudaKmeans, FitMatchesCpuDouble) {
  RNNABS_REQUIRE_GPU();
  kmeans_matches_cpu<double>(false);
  kmeans_matches_cpu<double>(true);
}
TEST(CudaKmeans, FitMatchesCpuFloat) {
  RNNABS_REQUIRE_GPU();
  kmeans_matches_cpu<float>(false);
}

TEST(CudaKmeans, EmptyClustersAreRelocatedAsOnTheCpu) {
  RNNABS_REQUIRE_GPU();
  // Three distinct rows repeated: seeding runs out of mass and repeats a centre, so Lloyd starts with
  // empty clusters (ties everywhere: the farthest-point rule's index order decides).
  matrix<double> X(5000, 3);
  for (index_t i = 0; i < X.rows(); ++i) X.row(i) << (i % 3), 2.0 * (i % 3 == 1), -1.0 * (i % 3 == 2);
  const kmeans_options o{.n_clusters = 5, .seed = 4};
  kmeans cpu(o), gpu(o);
  cuda::fit(cpu, X, cuda::backend::cpu);
  cuda::fit(gpu, X, cuda::backend::cuda);
  EXPECT_TRUE(gpu.labels() == cpu.labels());
  EXPECT_LT(rel_err(gpu.centers(), cpu.centers()), 1e-14);
  EXPECT_EQ(gpu.n_iter(), cpu.n_iter());
}

TEST(CudaBackend, KmeansCpuBranchIsTheCpuCode) {  // runs everywhere
  const matrix<double> x = blobs<double>(3000, 4, 5);
  kmeans a({.n_clusters = 5, .seed = 2}), b({.n_clusters = 5, .seed = 2});
  cuda::fit(a, x, cuda::backend::cpu);
  b.fit(x);
  EXPECT_TRUE(a.centers() == b.centers());
  EXPECT_TRUE(a.labels() == b.labels());
  // Bad input is refused before any device call (so also without a device).
  kmeans too_many({.n_clusters = 3001});
  EXPECT_THROW(cuda::fit(too_many, x), invalid_argument);
  kmeans bad_tol({.n_clusters = 2, .tol = -1});
  EXPECT_THROW(cuda::fit(bad_tol, x), invalid_argument);
  matrix<double> nan = x;
  nan(7, 1) = std::numeric_limits<double>::quiet_NaN();
  kmeans ok({.n_clusters = 2});
  EXPECT_THROW(cuda::fit(ok, nan), invalid_argument);
}

template <class T>
void pca_matches_cpu() {
  const index_t N = 20000, D = 12, k = 5;
  matrix<T> X(N, D);
  const matrix<double> mix = matrix<double>::NullaryExpr(D, D, [] { return test::uniform(); });
  for (index_t i = 0; i < N; ++i) {
    vector<double> z(D);
    for (index_t a = 0; a < D; ++a) z[a] = (D - a) * test::normal();
    X.row(i) = (mix * z).transpose().template cast<T>().array() + T(3);
  }
  pca cpu({.n_components = k});
  cpu.fit(X);
  const cuda::pca_result gpu = cuda::pca_fit(X, k, /*chunk_rows=*/4096);  // several chunks
  const double t = std::is_same_v<T, float> ? 1e-6 : 1e-10;               // both accumulate in double
  EXPECT_LT(rel_err(gpu.mean, cpu.mean()), t);
  EXPECT_LT(rel_err(gpu.explained_variance, cpu.explained_variance()), t);
  EXPECT_LT(rel_err(gpu.explained_variance_ratio, cpu.explained_variance_ratio()), t);
  EXPECT_LT(rel_err(gpu.singular_values, cpu.singular_values()), t);
  EXPECT_LT(rel_err(gpu.components, cpu.components()), 1e-6);  // eigenvectors: separated spectrum
  EXPECT_NEAR(gpu.noise_variance, cpu.noise_variance(), 1e-8 * cpu.noise_variance());
}
TEST(CudaPca, MatchesCpuFloat) {
  RNNABS_REQUIRE_GPU();
  pca_matches_cpu<float>();
}
TEST(CudaPca, MatchesCpuDouble) {
  RNNABS_REQUIRE_GPU();
  pca_matches_cpu<double>();
}

TEST(CudaBackend, PcaCpuBranchIsTheCpuCode) {  // runs everywhere
  const matrix<double> x = matrix<double>::NullaryExpr(200, 6, [] { return test::normal(); });
  pca p({.n_components = 3}), q({.n_components = 3});
  cuda::fit(p, x, cuda::backend::cpu);
  q.fit(x);
  EXPECT_TRUE(p.components() == q.components());
  pca r({.n_components = 3, .solver = pca_solver::randomized});
  EXPECT_THROW(cuda::fit(r, x, cuda::backend::cuda), invalid_argument);  // before any device call
}

TEST(CudaBackend, PcaGpuBranchMatchesCpu) {
  RNNABS_REQUIRE_GPU();
  const matrix<double> x = matrix<double>::NullaryExpr(5000, 12, [] { return test::normal(); });
  pca p({.n_components = 4}), q({.n_components = 4});
  cuda::fit(p, x);
  q.fit(x);
  EXPECT_LT(rel_err(p.components(), q.components()), 1e-8);
  EXPECT_LT(rel_err(p.explained_variance(), q.explained_variance()), 1e-9);
  EXPECT_LT(rel_err(p.transform(x), q.transform(x)), 1e-8);
}

}  // namespace
