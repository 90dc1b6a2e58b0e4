#pragma once
// Penalised linear regression for local surrogates:
//
//   fused lasso   ½ Σ_i w_i (y_i − b0 − x_i β)²  +  λ_tv Σ_j |β_{j+1} − β_j|  +  λ1 ‖β‖₁  +  ½ λ2 ‖β‖²
//   elastic net   the same with λ_tv = 0, by cyclic coordinate descent (covariance updates, glmnet-style)
//
// (sums, not means: λ_tv = √(n ln p) with w = 1 and no intercept is exactly LEMNA's genlasso call).
// The intercept b0 is optional and never penalised. Both solvers work on the Gram form
// A = XᵀWX, c = XᵀWy, so the per-iteration cost is O(p²) whatever n is.
//
// Fused lasso algorithm: FISTA (below). When it has not converged after `active_set_after` iterations (an
// ill-conditioned X, e.g. LEMNA's raw byte values) and λ1 = 0, p ≤ 512, the dual — a box-constrained QP in
// the p − 1 edge variables — is solved by a primal-dual active-set (semi-smooth Newton) iteration; its
// active set gives the fused blocks, the point is polished and certified as below and returned when it
// passes (a few p³ steps, independent of the conditioning of X); otherwise FISTA goes on.
// FISTA (Beck & Teboulle 2009) with step 1/L (L = λ_max(A) + λ2 by power
// iteration), the exact prox  soft_threshold(tv_prox(v, tλ_tv), tλ1)  (Friedman et al. 2007), and
// gradient-based adaptive restart (O'Donoghue & Candès 2015).
// Stopping rule: every `check_every` iterations the iterate's fused blocks and zero blocks (which the prox
// makes exact) define a candidate active set; "polishing" solves the equality-constrained least squares on
// that set exactly (a small Cholesky). A point — polished or the plain iterate — is accepted when its KKT
// violation (the largest distance of the subgradient certificate from its allowed set, computed exactly by
// interval propagation along the chain, see detail/fused_lasso_impl.hpp) is ≤ tol · max(‖c‖∞, λ_tv, λ1).
// The polished point is the exact optimum up to rounding once the active set is right, which is typically
// after a few dozen iterations. `converged` is false when max_iter passes first.
//
// Errors: invalid_argument for shape mismatches, NaN/Inf in X, y or weights, negative weights or penalties,
// and for a rank-deficient design (A + λ2 I not positive definite: the fused-lasso solution is then not
// unique) — elastic_net accepts rank-deficient designs when λ2 > 0.
//
//   auto fit = rnnabs::fused_lasso(X, y, {.lambda_tv = std::sqrt(n * std::log(p))});
//   fit.coef, fit.intercept, fit.converged, fit.kkt_violation
#include <cmath>
#include <limits>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"
#include "rnnabs/explain/tv_prox.hpp"

namespace rnnabs {

struct fused_lasso_options {
  double lambda_tv = 0;           // fusion penalty on consecutive coefficients
  double lambda_l1 = 0;           // lasso penalty
  double lambda_l2 = 0;           // ridge penalty (½ λ2 ‖β‖²)
  bool fit_intercept = false;     // unpenalised intercept
  double tol = 1e-10;             // relative KKT tolerance (see the stopping rule above)
  index_t max_iter = 200000;      // FISTA iterations
  index_t check_every = 10;       // iterations between KKT checks / polishing attempts
  bool polish = true;             // try the exact active-set solve at each check
  bool active_set = true;         // λ1 = 0: try the dual active-set solver when FISTA is slow (see above)
  index_t active_set_after = -1;  // ... after this many FISTA iterations without convergence (0: at once;
                                  // < 0: at once for ill-conditioned A (λ_max / min Cholesky pivot > 1000), else 30)
};

struct elastic_net_options {
  double lambda_l1 = 0;
  double lambda_l2 = 0;
  bool fit_intercept = false;
  double tol = 1e-10;         // relative KKT tolerance
  index_t max_iter = 100000;  // full coordinate sweeps
};

/// Result of a penalised regression.
struct penalized_fit {
  vector<double> coef;       // β (p)
  double intercept = 0;      // b0 (0 without fit_intercept)
  index_t iterations = 0;    // FISTA iterations / CD sweeps
  bool converged = false;    // the KKT tolerance was met
  bool polished = false;     // the returned point came from the exact active-set solve
  double kkt_violation = 0;  // absolute KKT violation of the returned point
  double objective = 0;      // value of the objective at the returned point
};

/// The Gram form of a (weighted) least-squares problem; build it once, solve it with several penalties.
struct gram_problem {
  matrix<double> A;  // XᵀWX, with the intercept as the last row/column when fitted
  vector<double> c;  // XᵀWy (same layout)
  double yty = 0;    // yᵀWy
  index_t p = 0;     // number of coefficients (without the intercept)
  bool intercept = false;
};

/// Gram form of X (n×p), y (n) and optional non-negative weights (n). Validates finiteness and shapes.
template <class DX, class DY>
gram_problem make_gram(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<DY>& y, bool fit_intercept,
                       const vector<double>* weights = nullptr, std::string_view who = "make_gram");

/// Fused lasso on a Gram problem; `warm` (p or p+1 entries with the intercept last) starts FISTA there.
inline penalized_fit fused_lasso(const gram_problem& g, const fused_lasso_options& o = {},
                                 const vector<double>* warm = nullptr);

/// Fused lasso of y on X.
template <class DX, class DY>
penalized_fit fused_lasso(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<DY>& y,
                          const fused_lasso_options& o = {}, const vector<double>* weights = nullptr) {
  return fused_lasso(make_gram(X, y, o.fit_intercept, weights, "fused_lasso"), o);
}

/// Elastic net on a Gram problem by coordinate descent.
inline penalized_fit elastic_net(const gram_problem& g, const elastic_net_options& o = {},
                                 const vector<double>* warm = nullptr);

/// Elastic net of y on X.
template <class DX, class DY>
penalized_fit elastic_net(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<DY>& y,
                          const elastic_net_options& o = {}, const vector<double>* weights = nullptr) {
  return elastic_net(make_gram(X, y, o.fit_intercept, weights, "elastic_net"), o);
}

/// KKT violation of (β, b0) for the sparse fused-lasso objective on g (0 at the exact optimum).
inline double fused_lasso_kkt_violation(const gram_problem& g, const vector<double>& beta_and_intercept,
                                        double lambda_tv, double lambda_l1, double lambda_l2);

/// Objective value (the constant ½ yᵀWy included).
inline double fused_lasso_objective(const gram_problem& g, const vector<double>& beta_and_intercept, double lambda_tv,
                                    double lambda_l1, double lambda_l2);

}  // namespace rnnabs

#include "rnnabs/explain/detail/fused_lasso_impl.hpp"
