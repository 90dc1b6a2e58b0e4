#pragma once
// Dirichlet-process mixtures of linear regressions as global surrogates of a black box (Guo et al.,
// NeurIPS 2018), fitted by blocked Gibbs sampling with truncated stick-breaking (Ishwaran & James 2001):
//
//   y_i | z_i = j ~ N(b_j + x_i β_j, σ_j²),  z_i ~ Cat(π),  π = stick-breaking(ν),  ν_j ~ Beta(1, α),
//   α ~ Gamma(e, f),  σ_j² ~ IG(a, b)
//   DMM:      β_j | σ_j² ~ N(m, σ_j² v I)                          (Normal-Inverse-Gamma, conjugate)
//   DMM-MEN:  β_j | σ_j², τ_j, c_j = k ~ N(0, σ_j²/λ2_k · diag(1 − τ_j))   (Bayesian elastic net, Li & Lin
//             2010; τ' = 1/τ ∈ (0,1)), c_j ~ Cat(w), w ~ Dir(α_e), λ1_k ~ Gamma(L, v/2), λ2_k ~ Gamma(R, v/2)
//
// The intercept b_j has a vague N(0, σ_j² · intercept_prior_variance) prior (set fit_intercept = false for
// the released code's no-intercept model). Fixed against the released R code:
// σ² is drawn before β (blocked NIG draw); every conditional uses the current values; DMM-MEN's σ² step is
// an independence Metropolis–Hastings step with the exact shape a + (n_j + p)/2 and its λ step a log-normal
// random walk whose ratio includes the Gamma priors, the β-prior's dependence on λ2 and the Jacobian, and
// c_j's conditional includes p(τ_j | σ_j², λ_k); all densities are in log space (no 0/0 rejections).
// Label switching: after burn-in every draw is relabelled against the labelling of the first kept draw by
// the Hungarian algorithm (explain/relabel.hpp); posterior means accumulate over relabelled draws.
// Determinism: z is drawn in fixed chunks of rows and the component updates with one rng stream per
// (iteration, chunk/component), so a seed gives the same result for any thread count.
//
//   rnnabs::dmm sampler({.truncation = 3, .iterations = 2000, .seed = 1});
//   rnnabs::dp_mixture_fit f = sampler.fit(X, y);        // y: the black box's score of each row of X
//   auto e = f.explain(x, score, null_value);            // the component of (x, score) and its ranking
#include <cstdint>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// Posterior summaries of a DP mixture of linear regressions (DMM and DMM-MEN).
struct dp_mixture_fit {
  vector<double> weights;        // posterior mean π (J)
  matrix<double> coef;           // J × p posterior mean β
  vector<double> intercepts;     // J posterior mean b
  vector<double> variances;      // J posterior mean σ²
  matrix<double> weighted_coef;  // J × (p+1): posterior mean of π_j [β_j, b_j] (for the predictive mean)
  index_vector assignments;      // MAP component of each training row under the posterior means
  index_vector counts;           // rows per component in `assignments`
  double alpha = 0;              // posterior mean of the DP concentration
  index_t kept_draws = 0;
  std::vector<double> log_likelihood_trace;  // complete-data log-likelihood of every iteration
  // Relabelled draws kept for the posterior predictive (thinned to at most max_stored_draws):
  std::vector<vector<double>> draw_weights, draw_variances;
  std::vector<matrix<double>> draw_coef;  // J × (p+1) each, the intercept last

  /// Posterior predictive quantiles of y at each row of X (n × probs.size()), from `n_draws` simulations per
  /// row: a stored draw s uniformly, a component j ~ Cat(π^(s)), y ~ N(b_j + x β_j, σ_j²) (as the released code).
  matrix<double> predictive_quantiles(const matrix<double>& X, const std::vector<double>& probs, index_t n_draws = 8000,
                                      std::uint64_t seed = 0) const;

  index_t n_components() const { return weights.size(); }
  /// n × J responsibilities of (x_i, y_i) under the posterior means (log-sum-exp).
  matrix<double> responsibilities(const matrix<double>& X, const vector<double>& y) const;
  /// Posterior predictive mean E[y | x] = Σ_j E[π_j (b_j + x β_j)].
  vector<double> predict_mean(const matrix<double>& X) const;
  /// Component with the largest responsibility for (x, y).
  index_t component_of(const vector<double>& x, double y) const;
  /// Features of component j ranked by β_j·(x − null) descending (the evidence x carries against a null
  /// input), ties by index.
  index_vector rank_by_contribution(index_t j, const vector<double>& x, const vector<double>& null_value) const;
  /// Features of component j ranked by |β_j| descending (DMM-MEN's global explanation).
  index_vector rank_by_magnitude(index_t j) const;
};

/// One explanation of one instance by a fitted mixture.
struct dp_explanation {
  index_t component = 0;
  vector<double> contribution;  // β_j ∘ (x − null)
  index_vector ranking;         // by contribution, descending
};

inline dp_explanation explain_instance(const dp_mixture_fit& f, const vector<double>& x, double score,
                                       const vector<double>& null_value) {
  dp_explanation e;
  e.component = f.component_of(x, score);
  e.contribution = (f.coef.row(e.component).transpose().array() * (x - null_value).array()).matrix();
  e.ranking = f.rank_by_contribution(e.component, x, null_value);
  return e;
}

struct dmm_options {
  index_t truncation = 3;                // J
  index_t iterations = 2000;             // total sweeps (the released code: 20 000)
  index_t burn_in = -1;                  // < 0: iterations / 2
  double prior_variance = 3;             // V_β = v I (released: 3)
  bool prior_mean_column_means = false;  // m = colMeans(X) as coded (default m = 0)
  double a = 0.5, b = 0.5;               // σ² ~ IG(a, b)
  double alpha_shape = 5, alpha_rate = 1;
  bool fit_intercept = true;
  double intercept_prior_variance = 100;
  index_t max_stored_draws = 1000;  // kept draws stored for predictive_quantiles (thinned)
  std::uint64_t seed = 0;
};

class dmm {
 public:
  explicit dmm(dmm_options o = {}) : opt_(o) {}
  const dmm_options& options() const noexcept { return opt_; }
  /// Samples the posterior for the regression of y (n) on X (n × p). invalid_argument on bad shapes,
  /// NaN/Inf, J < 1, iterations ≤ burn-in.
  dp_mixture_fit fit(const matrix<double>& X, const vector<double>& y) const;

 private:
  dmm_options opt_;
};

struct dmm_men_options {
  index_t truncation = 6;  // J
  index_t n_nets = 3;      // K shared elastic nets
  index_t iterations = 2000;
  index_t burn_in = -1;
  double a = 0.5, b = 0.5;  // σ² ~ IG(a, b)
  double alpha_shape = 5, alpha_rate = 1;
  double net_concentration = -1;                                   // α_e of w ~ Dir(α_e); < 0: 1/K
  double lambda1_shape = 1, lambda2_shape = 4, lambda_rate = 0.5;  // λ1 ~ Gamma(L, v/2), λ2 ~ Gamma(R, v/2)
  double lambda_step = 0.3;                                        // sd of the log-normal random walk on (λ1, λ2)
  bool fit_intercept = true;
  double intercept_prior_variance = 100;
  index_t max_stored_draws = 1000;
  std::uint64_t seed = 0;
};

/// DMM-MEN's extra output.
struct dmm_men_fit : dp_mixture_fit {
  index_vector net_of_component;  // c_j at the last iteration
  matrix<double> lambdas;         // K × 2 posterior means (λ1, λ2)
  double sigma_acceptance = 0;    // acceptance rate of the σ² MH step
  double lambda_acceptance = 0;   // acceptance rate of the λ MH step
};

class dmm_men {
 public:
  explicit dmm_men(dmm_men_options o = {}) : opt_(o) {}
  const dmm_men_options& options() const noexcept { return opt_; }
  dmm_men_fit fit(const matrix<double>& X, const vector<double>& y) const;

 private:
  dmm_men_options opt_;
};

/// log p(τ' | σ², λ1, λ2) of the Bayesian elastic net (Li & Lin 2010), in log space; τ' ∈ (0, 1)^p.
inline double log_tau_density(const vector<double>& tau, double sigma2, double lambda1, double lambda2);

/// Responsibilities under (π, β, b, σ²) for one sample (the express.cc `loopexp3` computation).
inline vector<double> regression_responsibilities(const vector<double>& x, double y, const vector<double>& weights,
                                                  const matrix<double>& coef, const vector<double>& intercepts,
                                                  const vector<double>& variances);

}  // namespace rnnabs

#include "rnnabs/explain/detail/dmm_impl.hpp"
