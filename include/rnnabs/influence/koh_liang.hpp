#pragma once
// Koh & Liang (ICML 2017) influence functions: the effect of removing (or up-weighting) one training
// sample on a test loss, to first order, at a minimum ŵ of the training objective
//   L(w) = (1/N) Σ_i ℓ_i(w) + regularizer,  H = ∇²L(ŵ):
//   up-weighting i by ε:  d ℓ_test / dε = −∇ℓ_testᵀ H⁻¹ ∇ℓ_i
//   removing i (ε = −1/N): Δℓ_test ≈ (1/N) ∇ℓ_testᵀ H⁻¹ ∇ℓ_i          (what `scores` holds)
// Positive = removing the sample would raise the test loss (it helps); negative = it hurts. One
// inverse-HVP per test vector (s_test = (H + λI)⁻¹ ∇ℓ_test, any ihvp_solver), then one pass of
// per-sample training gradients against all s_test at once.
//
//   rnnabs::cg_ihvp solver(train.subset(hessian_ids), w, {.damping = 1e-3});
//   auto r = rnnabs::koh_liang(train, w, rnnabs::sample_gradients(test, w), solver);   // r.scores: N x m
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/influence/gradients.hpp"
#include "rnnabs/influence/ihvp.hpp"
#include "rnnabs/nn/concepts.hpp"

namespace rnnabs {

struct koh_liang_result {
  matrix<double> s_test;  ///< P x m: (H + λI)⁻¹ ∇ℓ_test,k
  matrix<double> scores;  ///< N x m: predicted change of test loss k when training sample i is removed
  ihvp_report report;     ///< the inverse-HVP solve
};

/// Influence of every sample of `train` on each test-gradient column (P x m; e.g. sample_gradients(test,
/// w), or mean_sample_gradient(test, w) for a set of test losses), with `solver` for the inverse HVPs.
template <sample_objective F, ihvp_solver Solver>
koh_liang_result koh_liang(const F& train, const vector<typename F::scalar>& w, const matrix<double>& test_gradients,
                           Solver& solver, gradient_block_options o = {}) {
  require(test_gradients.rows() == train.parameter_count(), "koh_liang: the test gradients have ",
          test_gradients.rows(), " rows, the objective has ", train.parameter_count(), " parameters");
  koh_liang_result r;
  r.s_test = solver.solve(test_gradients);
  r.report = solver.report();
  require<numerical_error>(r.s_test.allFinite(), "koh_liang: the inverse-HVP solve returned non-finite values");
  r.scores = gradient_products(train, w, r.s_test, o) / static_cast<double>(train.sample_count());
  return r;
}

/// Self-influence ∇ℓ_iᵀ (H + λI)⁻¹ ∇ℓ_i / N of each sample given precomputed inverse-HVPs of the
/// samples' own gradients (the "which samples does the model find hardest" score of mislabel search).
inline vector<double> self_influence(const matrix<double>& gradients, const matrix<double>& inverse_hvps,
                                     index_t n_train) {
  require(gradients.rows() == inverse_hvps.rows() && gradients.cols() == inverse_hvps.cols(),
          "self_influence: ", gradients.rows(), " x ", gradients.cols(), " gradients vs ", inverse_hvps.rows(), " x ",
          inverse_hvps.cols(), " inverse-HVPs");
  require(n_train >= 1, "self_influence: n_train must be >= 1");
  return (gradients.array() * inverse_hvps.array()).colwise().sum().transpose() / static_cast<double>(n_train);
}

}  // namespace rnnabs
