#pragma once
// LEMNA (Guo et al., CCS 2018): explain one prediction of a black box by a mixture of K linear regressions
// with a fused-lasso penalty, fitted by EM on perturbed samples around the instance; the explanation is the
// coefficient vector of the component that best explains the unperturbed instance (row 0).
//
//   y_i ≈ x_i β_k + b_k + ε,  ε ~ N(0, σ_k²) with probability π_k
//   M-step per component:  β_k = argmin ½ Σ_i r_ik (y_i − b_k − x_i β)² + λ_tv TV(β) + λ1‖β‖₁ + ½λ2‖β‖²
//                          (exactly, by explain/fused_lasso.hpp, warm-started), σ_k² = Σ r_ik e_ik² / N_k
//   E-step in log space (log-sum-exp).  Stop when |ΔlogL| ≤ tol·(1 + |logL|) or after max_iter.
//
// This is the Lagrangian form of the paper's constraint Σ|β_{j+1} − β_j| ≤ S (the constraint form itself is the
// option tv_bound = S: each M-step then finds the λ whose solution has TV = S); with K = 1, raw-value design,
// no intercept and λ_tv = √(n ln p) it is exactly the released code's genlasso call.
// Defaults are the recommended mode: mask design with intercept (the fusion penalty then acts on effects,
// not on byte values), K = 3 components (the paper used 6; see docs/explain.md for the trade-off).
//
//   rnnabs::lemna explainer({.n_components = 3});
//   auto e = explainer.explain_sequence(scorer, seq, t);   // scorer: token_batch -> scores
//   e.ranking  (features, most important first)   e.positions(e.ranking(0))  (sequence position)
#include <cstdint>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/explain/fused_lasso.hpp"
#include "rnnabs/explain/perturbation.hpp"
#include "rnnabs/explain/scorer.hpp"

namespace rnnabs {

struct mixture_regression_options {
  index_t n_components = 3;  // K
  double lambda_tv = -1;     // fusion penalty; < 0: √(n ln p), the released code's λ
  double lambda_l1 = 0;      // lasso penalty (the "sparse fused lasso"; 0 in LEMNA)
  double lambda_l2 = 0;      // ridge
  bool fit_intercept = true;
  index_t max_iter = 100;  // EM iterations
  double tol = 1e-6;       // relative log-likelihood change
  index_t n_init = 1;      // restarts (0: residual-quantile start; r > 0: random hard partitions)
  std::uint64_t seed = 0;
  double variance_floor = 1e-8;     // σ_k² ≥ variance_floor · Var(y) (+ a tiny absolute floor)
  double min_component_weight = 0;  // drop a component when N_k falls below this (0: max(p + 1, 1 % of n))
  double solver_tol = 1e-9;         // KKT tolerance of each M-step
  double tv_bound = 0;              // > 0: the paper's constraint form TV(β_k) ≤ tv_bound instead of λ_tv
                                    // (each M-step searches its λ; slower)
};

/// A fitted mixture of linear regressions.
struct mixture_regression {
  vector<double> weights;           // π (K; 0 for dropped components)
  matrix<double> coef;              // K × p
  vector<double> intercepts;        // K
  vector<double> variances;         // σ² (K)
  matrix<double> responsibilities;  // n × K
  double log_likelihood = 0;
  double lambda_tv = 0;              // the λ used (Lagrangian form)
  vector<double> component_lambdas;  // constraint form: the λ that met the bound, per component
  index_t iterations = 0;
  bool converged = false;
  /// Component with the largest responsibility for row i.
  index_t component_of(index_t i) const {
    index_t best = 0;
    responsibilities.row(i).maxCoeff(&best);
    return best;
  }
};

/// EM for a K-component mixture of penalised linear regressions of y (n) on X (n × p).
/// invalid_argument on NaN/Inf, shape mismatch, K < 1 or n < 2.
inline mixture_regression fit_mixture_regression(const matrix<double>& X, const vector<double>& y,
                                                 const mixture_regression_options& o = {});

struct lemna_options {
  mixture_regression_options mixture{};
  design_mode design = design_mode::mask;  // raw_values + fit_intercept = false + K = 1: the released code
  index_t n_samples = 500;                 // perturbed samples (+1 original)
  index_t half_width = 20;                 // sequences: window of 2h+1 cells
  index_t null_token = 0;                  // sequences: token of a nullified cell
  bool pin_target = false;                 // sequences: never nullify the target position
  double keep_probability = 0;             // features: Bernoulli keep rate; ≤ 0: LEMNA-style k ~ U{1..p−1}
  std::uint64_t seed = 0;
  double tie_tolerance = 1e-9;  // coefficients within this relative distance rank as ties
};

/// One explanation.
struct lemna_explanation {
  vector<double> importance;  // per feature: the chosen component's coefficient
  index_vector ranking;       // features by importance, descending; ties: closer to the target, then smaller
  index_vector positions;     // feature → sequence position (sequences) or feature index (features)
  index_t component = 0;      // k*: the component of the unperturbed instance
  mixture_regression model;
  vector<double> scores;  // black-box scores of the samples (row 0: the instance)
  /// The top-k features as positions (sequence positions or feature indices).
  index_vector top_positions(index_t k) const {
    k = std::min(k, ranking.size());
    index_vector out(k);
    for (index_t i = 0; i < k; ++i) out(i) = positions(ranking(i));
    return out;
  }
};

class lemna {
 public:
  explicit lemna(lemna_options o = {}) : opt_(o) {}
  const lemna_options& options() const noexcept { return opt_; }
  lemna_options& options() noexcept { return opt_; }

  /// Explains the score of `seq` at `target`: `f` scores a token_batch (one score per sequence, e.g. the
  /// probability of the explained class at `target`).
  // clang-format off
  template <class F>
    requires black_box_scorer<F, token_batch>
  lemna_explanation explain_sequence(const F& f, const index_vector& seq, index_t target) const;
  // clang-format on

  /// Explains the score of feature vector x: `f` scores a matrix<T> (one row per input).
  // clang-format off
  template <class T, class F>
    requires black_box_scorer<F, matrix<T>>
  lemna_explanation explain_features(const F& f, const vector<T>& x, const vector<T>& null_value) const;
  // clang-format on

  /// The surrogate step alone, on samples already scored (design: (n+1) × p, row 0 = the instance).
  lemna_explanation explain_samples(const matrix<double>& design, const vector<double>& scores,
                                    const index_vector& positions, index_t target) const;

 private:
  lemna_options opt_;
};

/// Features ordered by value descending; values within tol·max|v| are ties, broken by |position − target|
/// then by position.
inline index_vector rank_with_ties(const vector<double>& v, const index_vector& positions, index_t target, double tol);

}  // namespace rnnabs

#include "rnnabs/explain/detail/lemna_impl.hpp"
