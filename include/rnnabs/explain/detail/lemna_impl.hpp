#pragma once
// Bodies of explain/lemna.hpp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <vector>

#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/validate.hpp"

namespace rnnabs {

namespace detail {

struct em_state {
  vector<double> w;     // π
  matrix<double> beta;  // K × m (intercept last when fitted)
  vector<double> var;   // σ²
  vector<double> lam;   // λ of each component's last M-step
  std::vector<char> alive;
  matrix<double> R;  // n × K
  double loglik = -std::numeric_limits<double>::infinity();
  index_t iters = 0;
  bool converged = false;
};

/// The constraint form of the M-step (the paper's): min ½ Σ r (y − xβ)² s.t. TV(β) ≤ S, through the monotone
/// map λ ↦ TV(β(λ)) of the penalised form: TV(β(0)) ≤ S gives λ = 0; otherwise λ is bracketed by doubling
/// from `lam` and found by regula falsi (Illinois) on TV(β(λ)) − S, to a relative 1e-9 of S. `lam` returns λ.
inline penalized_fit constrained_fit(const gram_problem& g, fused_lasso_options fo, double S,
                                     const vector<double>* warm, double& lam) {
  auto tv_of = [](const penalized_fit& f) { return total_variation(f.coef); };
  fo.lambda_tv = 0;
  penalized_fit f0 = fused_lasso(g, fo, warm);
  if (tv_of(f0) <= S) {
    lam = 0;
    return f0;
  }
  double lo = 0, hlo = tv_of(f0) - S, hi = lam > 0 ? lam : 1.0;
  fo.lambda_tv = hi;
  penalized_fit fh = fused_lasso(g, fo, warm);
  double hhi = tv_of(fh) - S;
  for (int k = 0; hhi > 0 && k < 200; ++k) {
    lo = hi, hlo = hhi;
    hi *= 4;
    fo.lambda_tv = hi;
    fh = fused_lasso(g, fo, warm);
    hhi = tv_of(fh) - S;
  }
  int side = 0;
  for (int it = 0; it < 100 && hhi < -1e-9 * S && hi - lo > 1e-12 * hi; ++it) {
    const double mid = hi - hhi * (hi - lo) / (hhi - hlo);  // root of the secant
    fo.lambda_tv = std::clamp(mid, lo + 1e-3 * (hi - lo), hi - 1e-3 * (hi - lo));
    const penalized_fit fm = fused_lasso(g, fo, warm);
    const double hm = tv_of(fm) - S;
    if (hm > 0) {
      lo = fo.lambda_tv, hlo = hm;
      if (side == -1) hhi *= 0.5;
      side = -1;
    } else {
      hi = fo.lambda_tv, hhi = hm, fh = fm;
      if (side == 1) hlo *= 0.5;
      side = 1;
    }
  }
  lam = hi;
  return fh;  // feasible: TV(β) ≤ S
}

/// One EM run from hard initial labels.
inline em_state run_em(const matrix<double>& D, const vector<double>& y, const std::vector<index_t>& labels, index_t K,
                       index_t p, const mixture_regression_options& o, double lambda_tv, double floor_var,
                       double min_w) {
  const index_t n = D.rows(), m = D.cols();
  em_state s;
  s.w = vector<double>::Zero(K);
  s.beta = matrix<double>::Zero(K, m);
  s.var = vector<double>::Zero(K);
  s.lam = vector<double>::Constant(K, lambda_tv);
  s.alive.assign(static_cast<std::size_t>(K), 1);
  s.R = matrix<double>::Zero(n, K);
  for (index_t i = 0; i < n; ++i) s.R(i, labels[static_cast<std::size_t>(i)]) = 1.0;
  const fused_lasso_options fo{.lambda_tv = lambda_tv,
                               .lambda_l1 = o.lambda_l1,
                               .lambda_l2 = o.lambda_l2,
                               .fit_intercept = o.fit_intercept,
                               .tol = o.solver_tol};
  matrix<double> logp(n, K);
  Eigen::MatrixXd Dw(n, m), G(m, m);
  std::vector<char> started(static_cast<std::size_t>(K), 0);
  double prev = -std::numeric_limits<double>::infinity();
  for (index_t it = 1; it <= o.max_iter; ++it) {
    // M-step, component by component. The Gram matrix is a symmetric rank update, which Eigen never
    // threads (its threaded GEMM costs more than it saves at this size, and it would be nested inside
    // parallel explanations).
    for (index_t k = 0; k < K; ++k)
      [&] {
        auto& alive = s.alive[static_cast<std::size_t>(k)];
        if (!alive) return;
        const auto r = s.R.col(k);
        const double Nk = r.sum();
        if (Nk < min_w) {
          alive = 0;
          return;
        }
        Dw = D.array().colwise() * r.array().sqrt();
        gram_problem g;
        g.p = p;
        g.intercept = o.fit_intercept;
        G.setZero();
        G.selfadjointView<Eigen::Lower>().rankUpdate(Dw.transpose());
        g.A = G.selfadjointView<Eigen::Lower>();
        g.c.noalias() = D.transpose() * (r.array() * y.array()).matrix();
        g.yty = (r.array() * y.array().square()).sum();
        try {
          const vector<double> warm = s.beta.row(k).transpose();
          const vector<double>* w0 = started[static_cast<std::size_t>(k)] ? &warm : nullptr;
          const auto fit = o.tv_bound > 0 ? constrained_fit(g, fo, o.tv_bound, w0, s.lam(k)) : fused_lasso(g, fo, w0);
          s.beta.row(k).head(p) = fit.coef.transpose();
          if (o.fit_intercept) s.beta(k, p) = fit.intercept;
          started[static_cast<std::size_t>(k)] = 1;
        } catch (const invalid_argument&) {  // the component's weighted design became singular: drop it
          if (K == 1) throw;                 // (a single component: the design itself is rank-deficient)
          alive = 0;
          return;
        }
        const vector<double> e = y - D * s.beta.row(k).transpose();
        s.var(k) = std::max((r.array() * e.array().square()).sum() / Nk, floor_var);
        s.w(k) = Nk / static_cast<double>(n);
      }();
    index_t n_alive = 0;
    for (index_t k = 0; k < K; ++k) n_alive += s.alive[static_cast<std::size_t>(k)];
    require<numerical_error>(n_alive > 0, "fit_mixture_regression: every component collapsed (fewer than ", min_w,
                             " effective samples each)");
    for (index_t k = 0; k < K; ++k)
      if (!s.alive[static_cast<std::size_t>(k)]) s.w(k) = 0, s.var(k) = 0, s.beta.row(k).setZero();
    s.w /= s.w.sum();
    // E-step.
    for (index_t k = 0; k < K; ++k) {
      if (!s.alive[static_cast<std::size_t>(k)]) {
        logp.col(k).setConstant(-std::numeric_limits<double>::infinity());
        continue;
      }
      const double c = std::log(s.w(k)) - 0.5 * std::log(2 * std::numbers::pi * s.var(k));
      const vector<double> e = y - D * s.beta.row(k).transpose();
      logp.col(k) = (c - e.array().square() / (2 * s.var(k))).matrix();
    }
    double ll = 0;
    for (index_t i = 0; i < n; ++i) {
      const double mx = logp.row(i).maxCoeff();
      const double lse = mx + std::log((logp.row(i).array() - mx).exp().sum());
      s.R.row(i) = (logp.row(i).array() - lse).exp().matrix();
      ll += lse;
    }
    s.loglik = ll;
    s.iters = it;
    if (K == 1 || std::abs(ll - prev) <= o.tol * (1 + std::abs(ll))) {  // K = 1: one weighted fit is the answer
      s.converged = true;
      break;
    }
    prev = ll;
  }
  return s;
}

}  // namespace detail

inline mixture_regression fit_mixture_regression(const matrix<double>& X, const vector<double>& y,
                                                 const mixture_regression_options& o) {
  constexpr std::string_view who = "fit_mixture_regression";
  require_data(X, who, -1, "X");
  require(y.size() == X.rows(), who, ": y has ", y.size(), " entries, X has ", X.rows(), " rows");
  require_finite(y, who, "y");
  require(o.n_components >= 1, who, ": n_components must be >= 1, got ", o.n_components);
  require(X.rows() >= 2, who, ": need at least 2 samples, got ", X.rows());
  require(o.max_iter >= 1 && o.n_init >= 1, who, ": max_iter and n_init must be >= 1");
  require(std::isfinite(o.tv_bound), who, ": tv_bound must be finite, got ", o.tv_bound);
  const index_t n = X.rows(), p = X.cols(), K = o.n_components, m = p + (o.fit_intercept ? 1 : 0);
  const double lambda_tv =
      o.lambda_tv >= 0 ? o.lambda_tv
                       : std::sqrt(static_cast<double>(n) * std::log(static_cast<double>(std::max<index_t>(p, 2))));
  matrix<double> D(n, m);
  D.leftCols(p) = X;
  if (o.fit_intercept) D.col(p).setOnes();
  const double ybar = y.mean();
  const double vy = (y.array() - ybar).square().mean();
  const double floor_var = std::max({o.variance_floor * vy, 1e-12 * y.squaredNorm() / static_cast<double>(n), 1e-300});
  const double min_w = o.min_component_weight > 0
                           ? o.min_component_weight
                           : (K == 1 ? 0.0 : std::max(static_cast<double>(m), 0.01 * static_cast<double>(n)));

  // Start 0: one regression on all samples, rows split into K quantile bins of its residual.
  // Starts r > 0: random hard partitions from rng::stream(seed, r). Restarts run in parallel; the best
  // log-likelihood wins (the lowest r among equals), so the result does not depend on the thread count.
  std::vector<std::vector<index_t>> labels(static_cast<std::size_t>(o.n_init),
                                           std::vector<index_t>(static_cast<std::size_t>(n), 0));
  if (K > 1) {
    [&] {
      const auto g = make_gram(X, y, o.fit_intercept, nullptr, who);
      const auto f = fused_lasso(g, {.lambda_tv = lambda_tv,
                                     .lambda_l1 = o.lambda_l1,
                                     .lambda_l2 = o.lambda_l2,
                                     .fit_intercept = o.fit_intercept,
                                     .tol = o.solver_tol});
      const vector<double> e = y - X * f.coef - vector<double>::Constant(n, f.intercept);
      std::vector<index_t> ord(static_cast<std::size_t>(n));
      std::iota(ord.begin(), ord.end(), index_t{0});
      std::stable_sort(ord.begin(), ord.end(), [&](index_t a, index_t b) { return e(a) < e(b); });
      for (index_t q = 0; q < n; ++q) labels[0][static_cast<std::size_t>(ord[static_cast<std::size_t>(q)])] = q * K / n;
    }();
    for (index_t r = 1; r < o.n_init; ++r) {
      rng g = rng::stream(o.seed, static_cast<std::uint64_t>(r));
      for (auto& l : labels[static_cast<std::size_t>(r)])
        l = static_cast<index_t>(g.below(static_cast<std::uint64_t>(K)));
    }
  }
  std::vector<detail::em_state> runs(static_cast<std::size_t>(o.n_init));
  auto run = [&](index_t r) {
    runs[static_cast<std::size_t>(r)] = detail::run_em(D, y, labels[static_cast<std::size_t>(r)], K, p, o, lambda_tv,
                                                       floor_var, min_w);
  };
  if (o.n_init == 1) run(0);
  else parallel_for(o.n_init, run);
  std::size_t bi = 0;
  for (std::size_t r = 1; r < runs.size(); ++r)
    if (runs[r].loglik > runs[bi].loglik) bi = r;
  detail::em_state& best = runs[bi];
  mixture_regression out;
  out.weights = best.w;
  out.coef = best.beta.leftCols(p);
  out.intercepts = o.fit_intercept ? vector<double>(best.beta.col(p)) : vector<double>::Zero(K);
  out.variances = best.var;
  out.responsibilities = std::move(best.R);
  out.log_likelihood = best.loglik;
  out.lambda_tv = lambda_tv;
  out.component_lambdas = best.lam;
  out.iterations = best.iters;
  out.converged = best.converged;
  return out;
}

inline index_vector rank_with_ties(const vector<double>& v, const index_vector& positions, index_t target, double tol) {
  const index_t p = v.size();
  require(positions.size() == p, "rank_with_ties: ", positions.size(), " positions for ", p, " values");
  std::vector<index_t> ord(static_cast<std::size_t>(p));
  std::iota(ord.begin(), ord.end(), index_t{0});
  std::stable_sort(ord.begin(), ord.end(), [&](index_t a, index_t b) { return v(a) > v(b); });
  const double eps = tol * (p ? v.cwiseAbs().maxCoeff() : 0.0);
  auto key = [&](index_t j) { return std::pair(std::abs(positions(j) - target), positions(j)); };
  std::size_t b = 0;
  while (b < ord.size()) {
    std::size_t e = b + 1;
    while (e < ord.size() && v(ord[e - 1]) - v(ord[e]) <= eps) ++e;
    std::sort(ord.begin() + static_cast<std::ptrdiff_t>(b), ord.begin() + static_cast<std::ptrdiff_t>(e),
              [&](index_t x, index_t y) { return key(x) < key(y); });
    b = e;
  }
  index_vector out(p);
  for (index_t i = 0; i < p; ++i) out(i) = ord[static_cast<std::size_t>(i)];
  return out;
}

inline lemna_explanation lemna::explain_samples(const matrix<double>& design, const vector<double>& scores,
                                                const index_vector& positions, index_t target) const {
  lemna_explanation e;
  e.model = fit_mixture_regression(design, scores, opt_.mixture);
  e.component = e.model.component_of(0);
  e.importance = e.model.coef.row(e.component).transpose();
  e.positions = positions;
  e.ranking = rank_with_ties(e.importance, positions, target, opt_.tie_tolerance);
  e.scores = scores;
  return e;
}

// clang-format off
template <class F>
  requires black_box_scorer<F, token_batch>
lemna_explanation lemna::explain_sequence(const F& f, const index_vector& seq, index_t target) const {
  // clang-format on
  const auto s = perturb_window(seq, target,
                                {.half_width = opt_.half_width,
                                 .n_samples = opt_.n_samples,
                                 .null_token = opt_.null_token,
                                 .seed = opt_.seed,
                                 .pin_target = opt_.pin_target});
  const vector<double> y = score_batch(f, s.inputs, static_cast<index_t>(s.inputs.size()), "lemna::explain_sequence");
  return explain_samples(s.design(opt_.design), y, s.positions, target);
}

// clang-format off
template <class T, class F>
  requires black_box_scorer<F, matrix<T>>
lemna_explanation lemna::explain_features(const F& f, const vector<T>& x, const vector<T>& null_value) const {
  // clang-format on
  const auto s = perturb_features(
      x, null_value, {.n_samples = opt_.n_samples, .keep_probability = opt_.keep_probability, .seed = opt_.seed});
  const vector<double> y = score_batch(f, s.inputs, s.inputs.rows(), "lemna::explain_features");
  index_vector pos(x.size());
  std::iota(pos.begin(), pos.end(), index_t{0});
  return explain_samples(s.design(opt_.design), y, pos, -1);
}

}  // namespace rnnabs
