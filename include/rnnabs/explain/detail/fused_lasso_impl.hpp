#pragma once
// Bodies of explain/fused_lasso.hpp.
//
// KKT certificate. With g = c − Aβ − λ2β (the negative gradient of the smooth part), optimality of the
// sparse fused lasso is: there are z_j ∈ ∂|β_j| and v_k ∈ ∂|β_{k+1} − β_k| with
//   g_j = λ1 z_j + λ_tv (v_{j−1} − v_j),   v_{−1} = v_{p−1} = 0.
// Writing w_j = λ_tv v_j gives the chain w_j = w_{j−1} − g_j + λ1 z_j, w_{−1} = 0, and w_j must lie in
// λ_tv·∂|Δ_j| (a point where Δ_j ≠ 0, the interval [−λ_tv, λ_tv] where Δ_j = 0; {0} after the last j).
// The set of reachable w_j is an interval; propagating it along j and snapping to the allowed set whenever
// it misses gives an exact test (violation 0 ⇔ KKT holds) and a violation measure in gradient units.
#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

namespace rnnabs {

template <class DX, class DY>
gram_problem make_gram(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<DY>& y, bool fit_intercept,
                       const vector<double>* weights, std::string_view who) {
  require_data(X, who, -1, "X");
  require(y.cols() == 1 || y.rows() == 1, who, ": y must be a vector, got ", y.rows(), " x ", y.cols());
  require(y.size() == X.rows(), who, ": y has ", y.size(), " entries, X has ", X.rows(), " rows");
  require_finite(y, who, "y");
  const index_t n = X.rows(), p = X.cols(), m = p + (fit_intercept ? 1 : 0);
  matrix<double> Z(n, m);
  Z.leftCols(p) = X.template cast<double>();
  if (fit_intercept) Z.col(p).setOnes();
  vector<double> yw(n);
  for (index_t i = 0; i < n; ++i) yw(i) = static_cast<double>(y(i));
  if (weights) {
    require(weights->size() == n, who, ": weights has ", weights->size(), " entries, X has ", n, " rows");
    for (index_t i = 0; i < n; ++i) {
      const double w = (*weights)(i);
      require(std::isfinite(w) && w >= 0, who, ": weight ", i, " must be finite and >= 0, got ", w);
      const double s = std::sqrt(w);
      Z.row(i) *= s;
      yw(i) *= s;
    }
  }
  gram_problem g;
  g.p = p;
  g.intercept = fit_intercept;
  g.A = matrix<double>::Zero(m, m);
  g.A.selfadjointView<Eigen::Lower>().rankUpdate(Z.transpose());
  g.A.triangularView<Eigen::StrictlyUpper>() = g.A.transpose();
  g.c = Z.transpose() * yw;
  g.yty = yw.squaredNorm();
  return g;
}

namespace detail {

inline double soft_threshold(double v, double t) noexcept { return v > t ? v - t : (v < -t ? v + t : 0.0); }

inline void check_penalties(double tv, double l1, double l2, std::string_view who) {
  require(std::isfinite(tv) && tv >= 0, who, ": lambda_tv must be finite and >= 0, got ", tv);
  require(std::isfinite(l1) && l1 >= 0, who, ": lambda_l1 must be finite and >= 0, got ", l1);
  require(std::isfinite(l2) && l2 >= 0, who, ": lambda_l2 must be finite and >= 0, got ", l2);
}

inline void check_gram(const gram_problem& g, std::string_view who) {
  const index_t m = g.p + (g.intercept ? 1 : 0);
  require(g.p >= 1 && g.A.rows() == m && g.A.cols() == m && g.c.size() == m, who,
          ": inconsistent gram_problem (p = ", g.p, ", A ", g.A.rows(), " x ", g.A.cols(), ", c ", g.c.size(), ")");
  require(g.A.allFinite() && g.c.allFinite(), who, ": gram_problem has non-finite entries");
}

/// Negative gradient of the smooth part, g = c − Aβ − λ2β (λ2 not on the intercept).
inline vector<double> neg_gradient(const gram_problem& g, const vector<double>& b, double l2) {
  vector<double> r = g.c - g.A * b;
  r.head(g.p) -= l2 * b.head(g.p);
  return r;
}

inline double kkt_from_gradient(const gram_problem& g, const vector<double>& b, const vector<double>& grad, double tv,
                                double l1) {
  const index_t p = g.p;
  double viol = g.intercept ? std::abs(grad(p)) : 0.0;
  double lo = 0, hi = 0;
  for (index_t j = 0; j < p; ++j) {
    double zlo, zhi;
    if (b(j) > 0) zlo = zhi = 1;
    else if (b(j) < 0) zlo = zhi = -1;
    else zlo = -1, zhi = 1;
    lo += -grad(j) + l1 * zlo;
    hi += -grad(j) + l1 * zhi;
    double rlo, rhi;
    if (j == p - 1) rlo = rhi = 0;
    else if (b(j + 1) > b(j)) rlo = rhi = tv;
    else if (b(j + 1) < b(j)) rlo = rhi = -tv;
    else rlo = -tv, rhi = tv;
    if (hi < rlo) {
      viol = std::max(viol, rlo - hi);
      lo = hi = rlo;
    } else if (lo > rhi) {
      viol = std::max(viol, lo - rhi);
      lo = hi = rhi;
    } else {
      lo = std::max(lo, rlo);
      hi = std::min(hi, rhi);
    }
  }
  return viol;
}

using dense_llt = Eigen::LLT<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>>;

/// Checks that A + λ2 I (λ2 not on the intercept) is positive definite (invalid_argument otherwise) and
/// returns its Cholesky factorisation.
inline dense_llt require_full_rank(const gram_problem& g, double l2, std::string_view who) {
  matrix<double> M = g.A;
  M.diagonal().head(g.p).array() += l2;
  const double dmax = M.diagonal().maxCoeff();
  dense_llt llt(M);
  bool ok = llt.info() == Eigen::Success && dmax > 0;
  if (ok) {
    const auto L = llt.matrixLLT().diagonal();
    ok = (L.array().square() > 1e-12 * dmax).all();
  }
  require(ok, who, ": the design is rank-deficient (XᵀWX", l2 > 0 ? " + λ2 I" : "", " is singular, ", M.rows(),
          " columns); the solution is not unique — drop constant/duplicate columns or add lambda_l2 > 0");
  return llt;
}

inline double power_lambda_max(const matrix<double>& M) {
  const index_t m = M.rows();
  vector<double> v(m);
  for (index_t i = 0; i < m; ++i) v(i) = 1.0 + 0.01 * static_cast<double>(i % 7);
  v.normalize();
  double rho = 0;
  for (int it = 0; it < 500; ++it) {
    vector<double> w = M * v;
    const double r = v.dot(w);
    const double nw = w.norm();
    if (nw == 0) return 0;
    const double res = (w - r * v).norm();
    v = w / nw;
    if (it > 3 && std::abs(r - rho) <= 1e-7 * r && res <= 1e-3 * r) return std::max(1.01 * r, r + res);
    rho = r;
  }
  return std::min(1.05 * rho + 1e-300, M.diagonal().sum());
}

/// The exact solution on the active set of `x` (its fused blocks, its zero blocks when λ1 > 0, its signs).
/// Returns false when the reduced system is singular or the solution contradicts the assumed signs.
inline bool polish(const gram_problem& g, const vector<double>& x, double tv, double l1, double l2,
                   vector<double>& out) {
  const index_t p = g.p;
  std::vector<index_t> start;  // block starts
  for (index_t j = 0; j < p; ++j)
    if (j == 0 || x(j) != x(j - 1)) start.push_back(j);
  const auto nb = static_cast<index_t>(start.size());
  start.push_back(p);
  std::vector<index_t> var(static_cast<std::size_t>(nb), -1);  // unknown of each block (−1: fixed at zero)
  index_t nv = 0;
  for (index_t b = 0; b < nb; ++b)
    if (!(l1 > 0 && x(start[static_cast<std::size_t>(b)]) == 0)) var[static_cast<std::size_t>(b)] = nv++;
  const index_t ni = nv + (g.intercept ? 1 : 0);
  if (ni == 0) {
    out = vector<double>::Zero(x.size());
    return true;
  }
  // Column sums of A over blocks: S (m × nv), then M = GᵀS.
  const index_t m = g.A.rows();
  matrix<double> S = matrix<double>::Zero(m, ni);
  vector<double> rhs = vector<double>::Zero(ni);
  for (index_t b = 0; b < nb; ++b) {
    const index_t v = var[static_cast<std::size_t>(b)];
    if (v < 0) continue;
    const index_t a = start[static_cast<std::size_t>(b)], e = start[static_cast<std::size_t>(b) + 1] - 1;
    for (index_t j = a; j <= e; ++j) {
      S.col(v) += g.A.col(j);
      S(j, v) += l2;
      rhs(v) += g.c(j);
    }
    const double sg = x(a) > 0 ? 1.0 : -1.0;
    if (l1 > 0) rhs(v) -= l1 * static_cast<double>(e - a + 1) * sg;
    const double s_left = a == 0 ? 0.0 : (x(a) > x(a - 1) ? 1.0 : -1.0);
    const double s_right = e == p - 1 ? 0.0 : (x(e + 1) > x(e) ? 1.0 : -1.0);
    rhs(v) -= tv * (s_left - s_right);
  }
  if (g.intercept) {
    S.col(nv) = g.A.col(p);
    rhs(nv) = g.c(p);
  }
  matrix<double> M(ni, ni);
  for (index_t b = 0; b < nb; ++b) {
    const index_t v = var[static_cast<std::size_t>(b)];
    if (v < 0) continue;
    const index_t a = start[static_cast<std::size_t>(b)], e = start[static_cast<std::size_t>(b) + 1];
    M.row(v) = S.middleRows(a, e - a).colwise().sum();
  }
  if (g.intercept) M.row(nv) = S.row(p);
  Eigen::LLT<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>> llt(M);
  if (llt.info() != Eigen::Success) return false;
  const vector<double> theta = llt.solve(rhs);
  if (!theta.allFinite()) return false;
  out.resize(x.size());
  for (index_t b = 0; b < nb; ++b) {
    const index_t v = var[static_cast<std::size_t>(b)];
    const double val = v < 0 ? 0.0 : theta(v);
    for (index_t j = start[static_cast<std::size_t>(b)]; j < start[static_cast<std::size_t>(b) + 1]; ++j) out(j) = val;
  }
  if (g.intercept) out(p) = theta(nv);
  // The assumed signs must hold.
  for (index_t j = 1; j < p; ++j) {
    const double d0 = x(j) - x(j - 1), d1 = out(j) - out(j - 1);
    if (d0 != 0 && !(d0 > 0 ? d1 > 0 : d1 < 0)) return false;
  }
  if (l1 > 0)
    for (index_t j = 0; j < p; ++j)
      if (x(j) != 0 && !(x(j) > 0 ? out(j) > 0 : out(j) < 0)) return false;
  return true;
}

/// λ1 = 0: the dual  min_{|u| ≤ λ} ½ (c − Dᵀu)ᵀ G (c − Dᵀu),  G = (A + λ2 I)⁻¹, is a box-constrained QP in p − 1
/// variables. A semi-smooth Newton / primal-dual active-set iteration (fix u at ±λ where u − r/Q_ii leaves
/// the box, solve the rest exactly) finds its active set in a few steps on typical problems; the primal
/// pattern it implies is then polished and certified by the caller. Returns false when the sets keep
/// changing after `max_iter` steps (the caller falls back to FISTA).
inline bool dual_active_set(const gram_problem& g, const dense_llt& llt, double tv, vector<double>& pattern,
                            index_t max_iter = 40) {
  const index_t p = g.p, m = g.A.rows(), e = p - 1;
  if (e < 1) return false;
  const Eigen::MatrixXd G = llt.solve(Eigen::MatrixXd::Identity(m, m));
  Eigen::MatrixXd Q(e, e);
  for (index_t k = 0; k < e; ++k)
    for (index_t i = 0; i < e; ++i) Q(i, k) = G(i + 1, k + 1) - G(i + 1, k) - G(i, k + 1) + G(i, k);
  const vector<double> Gc = G * g.c;
  vector<double> q(e);
  for (index_t i = 0; i < e; ++i) q(i) = Gc(i + 1) - Gc(i);
  vector<double> u = vector<double>::Zero(e);
  std::vector<int> state(static_cast<std::size_t>(e), 0), prev(static_cast<std::size_t>(e), 2);
  std::vector<index_t> fr;
  for (index_t it = 0; it <= max_iter; ++it) {
    // Solve for the free variables with the bounded ones fixed.
    fr.clear();
    for (index_t i = 0; i < e; ++i) {
      const int st = state[static_cast<std::size_t>(i)];
      if (st == 0) fr.push_back(i);
      else u(i) = st * tv;
    }
    const auto nf = static_cast<index_t>(fr.size());
    if (nf > 0) {
      Eigen::MatrixXd Qf(nf, nf);
      vector<double> rhs(nf);
      for (index_t a = 0; a < nf; ++a) {
        const index_t i = fr[static_cast<std::size_t>(a)];
        double r = q(i);
        for (index_t k = 0; k < e; ++k)
          if (state[static_cast<std::size_t>(k)] != 0) r -= Q(i, k) * u(k);
        rhs(a) = r;
        for (index_t b = 0; b < nf; ++b) Qf(a, b) = Q(i, fr[static_cast<std::size_t>(b)]);
      }
      const Eigen::LLT<Eigen::MatrixXd> lf(Qf);
      if (lf.info() != Eigen::Success) return false;
      const vector<double> uf = lf.solve(rhs);
      for (index_t a = 0; a < nf; ++a) u(fr[static_cast<std::size_t>(a)]) = uf(a);
    }
    if (state == prev) break;
    if (it == max_iter) return false;
    prev = state;
    const vector<double> r = Q * u - q;  // = −Dβ
    for (index_t i = 0; i < e; ++i) {
      const double v = u(i) - r(i) / Q(i, i);
      state[static_cast<std::size_t>(i)] = v > tv ? 1 : (v < -tv ? -1 : 0);
    }
  }
  // Primal point β = G (c − Dᵀu); edges with a free dual variable are fused exactly (block means).
  vector<double> w = g.c;
  for (index_t j = 0; j < p; ++j) w(j) -= (j > 0 ? u(j - 1) : 0.0) - (j < e ? u(j) : 0.0);
  const vector<double> b = G * w;
  pattern = b;
  index_t a = 0;
  for (index_t j = 1; j <= p; ++j) {
    if (j < p && state[static_cast<std::size_t>(j - 1)] == 0) continue;  // edge (j−1, j) fused
    const double mean = b.segment(a, j - a).mean();
    pattern.segment(a, j - a).setConstant(mean);
    a = j;
  }
  return true;
}

}  // namespace detail

inline double fused_lasso_kkt_violation(const gram_problem& g, const vector<double>& b, double tv, double l1,
                                        double l2) {
  detail::check_gram(g, "fused_lasso_kkt_violation");
  require(b.size() == g.A.rows(), "fused_lasso_kkt_violation: beta has ", b.size(), " entries, expected ", g.A.rows());
  return detail::kkt_from_gradient(g, b, detail::neg_gradient(g, b, l2), tv, l1);
}

inline double fused_lasso_objective(const gram_problem& g, const vector<double>& b, double tv, double l1, double l2) {
  const auto bp = b.head(g.p);
  double tvs = 0;
  for (index_t j = 0; j + 1 < g.p; ++j) tvs += std::abs(bp(j + 1) - bp(j));
  return 0.5 * b.dot(g.A * b) - g.c.dot(b) + 0.5 * g.yty + 0.5 * l2 * bp.squaredNorm() + l1 * bp.cwiseAbs().sum() +
         tv * tvs;
}

inline penalized_fit fused_lasso(const gram_problem& g, const fused_lasso_options& o, const vector<double>* warm) {
  constexpr std::string_view who = "fused_lasso";
  detail::check_gram(g, who);
  detail::check_penalties(o.lambda_tv, o.lambda_l1, o.lambda_l2, who);
  require(std::isfinite(o.tol) && o.tol > 0, who, ": tol must be > 0, got ", o.tol);
  require(o.max_iter >= 1 && o.check_every >= 1, who, ": max_iter and check_every must be >= 1");
  const detail::dense_llt llt = detail::require_full_rank(g, o.lambda_l2, who);
  const index_t p = g.p, m = g.A.rows();
  const double tv = o.lambda_tv, l1 = o.lambda_l1, l2 = o.lambda_l2;
  const double scale0 = std::max({g.c.cwiseAbs().maxCoeff(), tv, l1, 1e-300});
  if (tv == 0 && l1 == 0) {  // ridge / least squares: one solve
    vector<double> b = llt.solve(g.c);
    penalized_fit r;
    r.coef = b.head(p);
    r.intercept = g.intercept ? b(p) : 0.0;
    r.kkt_violation = detail::kkt_from_gradient(g, b, detail::neg_gradient(g, b, l2), 0.0, 0.0);
    r.converged = r.kkt_violation <= o.tol * scale0;
    r.polished = true;
    r.objective = fused_lasso_objective(g, b, tv, l1, l2);
    if (r.converged) return r;
  }
  matrix<double> M = g.A;
  M.diagonal().head(p).array() += l2;
  const double L = detail::power_lambda_max(M);
  const double scale = std::max({g.c.cwiseAbs().maxCoeff(), tv, l1, 1e-300});
  const double target = o.tol * scale;

  vector<double> x = vector<double>::Zero(m);
  if (warm) {
    require(warm->size() == m, who, ": warm start has ", warm->size(), " entries, expected ", m);
    x = *warm;
  }
  vector<double> yv = x, xn(m), v(m), pol;
  tv_workspace ws;
  double t = 1;
  penalized_fit r;
  auto finish = [&](const vector<double>& b, index_t it, double viol, bool polished) {
    r.coef = b.head(p);
    r.intercept = g.intercept ? b(p) : 0.0;
    r.iterations = it;
    r.kkt_violation = viol;
    r.converged = viol <= target;
    r.polished = polished;
    r.objective = fused_lasso_objective(g, b, tv, l1, l2);
    return r;
  };
  // The dual active-set attempt (λ1 = 0), made once FISTA has not converged after `active_set_after` iterations.
  bool tried_active_set = false;
  auto try_active_set = [&](index_t it) {
    tried_active_set = true;
    if (!(o.active_set && l1 == 0 && tv > 0 && p >= 2 && p <= 512)) return false;
    vector<double> pat, pol2;
    if (!detail::dual_active_set(g, llt, tv, pat) || !detail::polish(g, pat, tv, 0.0, l2, pol2)) return false;
    const double pv = detail::kkt_from_gradient(g, pol2, detail::neg_gradient(g, pol2, l2), tv, 0.0);
    if (pv > target) return false;
    finish(pol2, it, pv, true);
    return true;
  };
  // Auto (active_set_after < 0): at once when λ_max / min_i L_ii² — a lower bound of the condition number,
  // the Cholesky pivots being ≥ λ_min — exceeds 1000 (FISTA would crawl), else after 30 iterations.
  index_t as_after = o.active_set_after;
  if (as_after < 0) {
    const double min_pivot = llt.matrixLLT().diagonal().array().square().minCoeff();
    as_after = L / std::max(min_pivot, 1e-300) > 1000 ? 0 : 30;
  }
  if (as_after == 0 && try_active_set(0)) return r;
  for (index_t it = 1; it <= o.max_iter; ++it) {
    v = yv + (g.c - M * yv) / L;
    tv_prox(v.data(), p, tv / L, xn.data(), ws);
    if (l1 > 0)
      for (index_t j = 0; j < p; ++j) xn(j) = detail::soft_threshold(xn(j), l1 / L);
    if (g.intercept) xn(p) = v(p);
    const bool stalled = (xn - x).cwiseAbs().maxCoeff() == 0.0;
    if ((yv - xn).dot(xn - x) > 0) {  // gradient restart
      t = 1;
      yv = xn;
    } else {
      const double tn = 0.5 * (1 + std::sqrt(1 + 4 * t * t));
      yv = xn + ((t - 1) / tn) * (xn - x);
      t = tn;
    }
    x.swap(xn);
    if (it % o.check_every == 0 || stalled || it == o.max_iter) {
      const double viol = detail::kkt_from_gradient(g, x, detail::neg_gradient(g, x, l2), tv, l1);
      if (viol <= target) return finish(x, it, viol, false);
      if (o.polish && detail::polish(g, x, tv, l1, l2, pol)) {
        const double pv = detail::kkt_from_gradient(g, pol, detail::neg_gradient(g, pol, l2), tv, l1);
        if (pv <= target) return finish(pol, it, pv, true);
      }
      if (!tried_active_set && it >= as_after && try_active_set(it)) return r;
      if (stalled || it == o.max_iter) return finish(x, it, viol, false);
    }
  }
  return r;  // not reached
}

inline penalized_fit elastic_net(const gram_problem& g, const elastic_net_options& o, const vector<double>* warm) {
  constexpr std::string_view who = "elastic_net";
  detail::check_gram(g, who);
  detail::check_penalties(0, o.lambda_l1, o.lambda_l2, who);
  require(std::isfinite(o.tol) && o.tol > 0, who, ": tol must be > 0, got ", o.tol);
  require(o.max_iter >= 1, who, ": max_iter must be >= 1");
  if (o.lambda_l2 == 0) detail::require_full_rank(g, 0, who);
  const index_t p = g.p, m = g.A.rows();
  const double l1 = o.lambda_l1, l2 = o.lambda_l2;
  vector<double> b = vector<double>::Zero(m);
  if (warm) {
    require(warm->size() == m, who, ": warm start has ", warm->size(), " entries, expected ", m);
    b = *warm;
  }
  const double scale = std::max({g.c.cwiseAbs().maxCoeff(), l1, 1e-300});
  const double target = o.tol * scale;
  vector<double> r = g.c - g.A * b;  // c − Aβ, kept up to date
  penalized_fit out;
  index_t sweep = 1;
  double viol = 0;
  for (; sweep <= o.max_iter; ++sweep) {
    double dmax = 0;
    for (index_t j = 0; j < m; ++j) {
      const double ajj = g.A(j, j), old = b(j);
      double nw;
      if (j == p) nw = ajj > 0 ? (r(j) + ajj * old) / ajj : 0.0;  // intercept
      else {
        const double den = ajj + l2;
        nw = den > 0 ? detail::soft_threshold(r(j) + ajj * old, l1) / den : 0.0;
      }
      if (nw != old) {
        r.noalias() -= (nw - old) * g.A.col(j);
        b(j) = nw;
        dmax = std::max(dmax, std::abs(nw - old) * std::max(ajj, 1e-300));
      }
    }
    if (dmax <= target || sweep == o.max_iter) {
      r = g.c - g.A * b;  // drop accumulated rounding
      vector<double> grad = r;
      grad.head(p) -= l2 * b.head(p);
      viol = detail::kkt_from_gradient(g, b, grad, 0.0, l1);
      if (viol <= target || sweep == o.max_iter) break;
    }
  }
  out.coef = b.head(p);
  out.intercept = g.intercept ? b(p) : 0.0;
  out.iterations = std::min(sweep, o.max_iter);
  out.kkt_violation = viol;
  out.converged = viol <= target;
  out.objective = fused_lasso_objective(g, b, 0, l1, l2);
  return out;
}

}  // namespace rnnabs
