#pragma once
// Options and parameters of the Gaussian mixture (see gmm.hpp).
#include <cstdint>
#include <optional>
#include <string_view>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// Covariance structure, as in scikit-learn.
enum class covariance_type { full, tied, diag, spherical };

/// How the first parameters are found when none are given.
enum class gmm_init {
  kmeans,            ///< k-means (k-means++ seeding + Lloyd), then one hard assignment (sklearn's default)
  kmeans_plusplus,   ///< k-means++ centres, then a hard assignment to the nearest centre
  random,            ///< uniform random responsibilities, normalised per point (sklearn's 'random')
  random_from_data,  ///< K distinct random points as centres, then a hard assignment
};

/// What EM does when a component empties (weight below min_weight) or its covariance is not
/// positive definite after reg_covar is added.
enum class degenerate_policy {
  reseed,  ///< move it to the worst-explained points (lowest likelihood), data variance, weight 1/N
  error,   ///< throw numerical_error naming the component and what to change
  keep,    ///< leave an empty component in place (scikit-learn's behaviour); non-PD still throws
};

/// Arithmetic of the EM iterations' fused E+M pass (initialisation, reseeding, predict and score
/// always run in double).
enum class em_precision {
  double_precision,  ///< double throughout (the default)
  single_precision,  ///< E-step and each tile's sums in float, sums across tiles and the M-step in
                     ///< double: about twice as fast, ~1e-6 relative agreement with double; what
                     ///< scikit-learn does for float32 input (it computes in float32 throughout)
};

struct gmm_options {
  index_t n_components = 1;
  covariance_type covariance = covariance_type::full;
  double tol = 1e-3;        ///< stop when the mean log-likelihood changes by less than this
  double reg_covar = 1e-6;  ///< added to covariance diagonals: keeps them positive definite
  index_t max_iter = 100;
  index_t n_init = 1;  ///< restarts; the fit with the highest lower bound is kept
  gmm_init init = gmm_init::kmeans;
  bool warm_start = false;  ///< a refit starts from the current parameters
  std::uint64_t seed = 0;
  degenerate_policy on_degenerate = degenerate_policy::reseed;
  double min_weight = 1e-8;  ///< a component below this weight counts as empty
  em_precision precision = em_precision::double_precision;
};

/// Parameters of a mixture. Covariance layout by type (as sklearn, with full stacked in 2-d):
/// full (K·D)×D — rows k·D…k·D+D−1 are Σ_k; tied D×D; diag K×D; spherical K×1.
struct gmm_parameters {
  vector<double> weights;      // K
  matrix<double> means;        // K×D
  matrix<double> covariances;  // see above
};

inline std::string_view to_string(covariance_type c) noexcept {
  switch (c) {
    case covariance_type::full: return "full";
    case covariance_type::tied: return "tied";
    case covariance_type::diag: return "diag";
    case covariance_type::spherical: return "spherical";
  }
  return "?";
}

inline covariance_type parse_covariance_type(std::string_view s) {
  for (auto c : {covariance_type::full, covariance_type::tied, covariance_type::diag, covariance_type::spherical})
    if (s == to_string(c)) return c;
  throw invalid_argument(detail::concat("covariance type '", s, "' is not one of full, tied, diag, spherical"));
}

/// Free parameters of a mixture (for BIC/AIC), as scikit-learn counts them.
constexpr index_t gmm_parameter_count(covariance_type c, index_t K, index_t D) noexcept {
  index_t cov = 0;
  switch (c) {
    case covariance_type::full: cov = K * D * (D + 1) / 2; break;
    case covariance_type::tied: cov = D * (D + 1) / 2; break;
    case covariance_type::diag: cov = K * D; break;
    case covariance_type::spherical: cov = K; break;
  }
  return cov + K * D + K - 1;
}

}  // namespace rnnabs
