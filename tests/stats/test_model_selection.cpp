#include <gtest/gtest.h>

#include <rnnabs/stats/model_selection.hpp>

namespace stats_model_selection_tests {

using namespace rnnabs;

TEST(SweepGmm, BicPicksThePlantedNumberOfComponentsAndMatchesSingleFits) {
  rng g(17);
  const index_t n = 6000, d = 2, k_true = 4;
  matrix<double> X(n, d);
  for (index_t i = 0; i < n; ++i) {
    const auto j = static_cast<double>(g.below(k_true));
    X(i, 0) = 8.0 * j + g.normal();
    X(i, 1) = (j == 2 ? 6.0 : 0.0) + 0.5 * g.normal();
  }
  const gmm_sweep_options o{.n_components = {1, 2, 3, 4, 5, 6, 8},
                            .covariances = {covariance_type::diag, covariance_type::full},
                            .base = {.n_init = 2, .seed = 3}};
  index_t seen = 0;
  const auto r = sweep_gmm(X, o, [&](const gmm_sweep_entry&) { ++seen; });
  EXPECT_EQ(seen, 14);
  ASSERT_EQ(r.entries.size(), 14u);
  const auto& best = r.entries[r.best_bic()];
  EXPECT_EQ(best.n_components, k_true);
  ASSERT_TRUE(best.model.has_value());
  // Each entry equals an independent fit with the same options (same seed), BIC included.
  for (const auto& e : r.entries) {
    gmm_options opt = o.base;
    opt.n_components = e.n_components;
    opt.covariance = e.covariance;
    gaussian_mixture single(opt);
    single.fit(X);
    EXPECT_EQ(single.lower_bound(), e.lower_bound);
    EXPECT_NEAR(single.bic(X), e.bic, 1e-9 * std::abs(e.bic));
    EXPECT_NEAR(single.aic(X), e.aic, 1e-9 * std::abs(e.aic));
  }
  // Only the best model is kept unless asked.
  index_t kept = 0;
  for (const auto& e : r.entries) kept += e.model.has_value();
  EXPECT_EQ(kept, 1);
}

TEST(SweepGmm, BadCandidatesAreRejected) {
  const matrix<double> X = matrix<double>::Random(50, 2);
  EXPECT_THROW(sweep_gmm(X, {.n_components = {}}), invalid_argument);
  EXPECT_THROW(sweep_gmm(X, {.n_components = {0}}), invalid_argument);
  EXPECT_THROW(sweep_gmm(X, {.n_components = {51}}), invalid_argument);
  EXPECT_THROW(sweep_gmm(X, {.n_components = {2}, .covariances = {}}), invalid_argument);
}

}  // namespace stats_model_selection_tests
