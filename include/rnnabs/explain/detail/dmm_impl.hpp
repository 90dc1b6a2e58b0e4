#pragma once
// Bodies of explain/dmm.hpp: the shared blocked-Gibbs core (z, stick-breaking, relabelled posterior
// means) and the two coefficient priors.
#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <string_view>
#include <vector>

#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/validate.hpp"
#include "rnnabs/explain/detail/random.hpp"
#include "rnnabs/explain/relabel.hpp"

namespace rnnabs {

inline vector<double> regression_responsibilities(const vector<double>& x, double y, const vector<double>& w,
                                                  const matrix<double>& coef, const vector<double>& b0,
                                                  const vector<double>& var) {
  const index_t J = w.size();
  vector<double> l(J);
  for (index_t j = 0; j < J; ++j) {
    if (w(j) <= 0 || var(j) <= 0) {
      l(j) = -std::numeric_limits<double>::infinity();
      continue;
    }
    const double e = y - b0(j) - coef.row(j).dot(x);
    l(j) = std::log(w(j)) - 0.5 * std::log(2 * std::numbers::pi * var(j)) - e * e / (2 * var(j));
  }
  const double mx = l.maxCoeff();
  require<numerical_error>(std::isfinite(mx), "regression_responsibilities: no component has positive weight");
  const vector<double> r = (l.array() - mx).exp().matrix();
  return r / r.sum();
}

inline double log_tau_density(const vector<double>& tau, double sigma2, double l1, double l2) {
  const auto p = static_cast<double>(tau.size());
  const double r = l1 * l1 / (8 * sigma2 * l2);
  return -p * std::numbers::ln2 - p * detail::log_normal_cdf_neg(std::sqrt(2 * r)) +
         0.5 * p * std::log(r / std::numbers::pi) - r * tau.cwiseInverse().sum() - 1.5 * tau.array().log().sum();
}

inline matrix<double> dp_mixture_fit::responsibilities(const matrix<double>& X, const vector<double>& y) const {
  require(X.cols() == coef.cols() && y.size() == X.rows(), "dp_mixture_fit::responsibilities: X is ", X.rows(), " x ",
          X.cols(), ", y has ", y.size(), " entries, the model has ", coef.cols(), " features");
  matrix<double> R(X.rows(), n_components());
  for (index_t i = 0; i < X.rows(); ++i)
    R.row(i) =
        regression_responsibilities(X.row(i).transpose(), y(i), weights, coef, intercepts, variances).transpose();
  return R;
}

inline vector<double> dp_mixture_fit::predict_mean(const matrix<double>& X) const {
  require(X.cols() == coef.cols(), "dp_mixture_fit::predict_mean: X has ", X.cols(), " columns, expected ",
          coef.cols());
  const index_t p = coef.cols();
  vector<double> out = X * weighted_coef.leftCols(p).colwise().sum().transpose();
  out.array() += weighted_coef.col(p).sum();
  return out;
}

inline matrix<double> dp_mixture_fit::predictive_quantiles(const matrix<double>& X, const std::vector<double>& probs,
                                                           index_t n_draws, std::uint64_t seed) const {
  require(X.cols() == coef.cols(), "dp_mixture_fit::predictive_quantiles: X has ", X.cols(), " columns, expected ",
          coef.cols());
  require(!draw_coef.empty(), "dp_mixture_fit::predictive_quantiles: no stored draws (max_stored_draws = 0?)");
  require(n_draws >= 1, "dp_mixture_fit::predictive_quantiles: n_draws must be >= 1");
  for (const double q : probs)
    require(q >= 0 && q <= 1, "dp_mixture_fit::predictive_quantiles: probability ", q, " outside [0, 1]");
  const index_t p = coef.cols(), J = n_components(), S = static_cast<index_t>(draw_coef.size());
  matrix<double> out(X.rows(), static_cast<index_t>(probs.size()));
  parallel_for(
      X.rows(),
      [&](index_t i) {
        rng g = rng::stream(seed, static_cast<std::uint64_t>(i));
        std::vector<double> sim(static_cast<std::size_t>(n_draws)), logw(static_cast<std::size_t>(J));
        for (index_t d = 0; d < n_draws; ++d) {
          const auto s = static_cast<std::size_t>(g.below(static_cast<std::uint64_t>(S)));
          for (index_t j = 0; j < J; ++j)
            logw[static_cast<std::size_t>(j)] = draw_weights[s](j) > 0 ? std::log(draw_weights[s](j))
                                                                       : -std::numeric_limits<double>::infinity();
          const index_t j = detail::categorical_log_draw(g, logw.data(), J);
          const double mu = draw_coef[s](j, p) + draw_coef[s].row(j).head(p).dot(X.row(i));
          sim[static_cast<std::size_t>(d)] = mu + std::sqrt(draw_variances[s](j)) * g.normal();
        }
        std::sort(sim.begin(), sim.end());
        for (std::size_t k = 0; k < probs.size(); ++k) {  // linear interpolation (R type 7)
          const double h = probs[k] * static_cast<double>(n_draws - 1);
          const auto lo = static_cast<std::size_t>(std::floor(h));
          const std::size_t hi = std::min(lo + 1, sim.size() - 1);
          out(i, static_cast<index_t>(k)) = sim[lo] + (h - static_cast<double>(lo)) * (sim[hi] - sim[lo]);
        }
      },
      /*small=*/true);
  return out;
}

inline index_t dp_mixture_fit::component_of(const vector<double>& x, double y) const {
  require(x.size() == coef.cols(), "dp_mixture_fit::component_of: x has ", x.size(), " features, expected ",
          coef.cols());
  index_t best = 0;
  regression_responsibilities(x, y, weights, coef, intercepts, variances).maxCoeff(&best);
  return best;
}

inline index_vector dp_mixture_fit::rank_by_contribution(index_t j, const vector<double>& x,
                                                         const vector<double>& null_value) const {
  require(j >= 0 && j < n_components() && x.size() == coef.cols() && null_value.size() == coef.cols(),
          "dp_mixture_fit::rank_by_contribution: bad component or vector sizes");
  const vector<double> c = (coef.row(j).transpose().array() * (x - null_value).array()).matrix();
  index_vector r(c.size());
  std::iota(r.begin(), r.end(), index_t{0});
  std::stable_sort(r.begin(), r.end(), [&](index_t a, index_t b) { return c(a) > c(b); });
  return r;
}

inline index_vector dp_mixture_fit::rank_by_magnitude(index_t j) const {
  require(j >= 0 && j < n_components(), "dp_mixture_fit::rank_by_magnitude: no component ", j);
  index_vector r(coef.cols());
  std::iota(r.begin(), r.end(), index_t{0});
  std::stable_sort(r.begin(), r.end(),
                   [&](index_t a, index_t b) { return std::abs(coef(j, a)) > std::abs(coef(j, b)); });
  return r;
}

namespace detail {

/// State and steps shared by both samplers. Coefficients are J × m with the intercept last (m = p + 1) when
/// fitted.
struct dp_core {
  static constexpr index_t z_chunk = 2048;
  const matrix<double>& X;  // n × m (intercept column included)
  const vector<double>& y;
  index_t n, m, p, J;
  bool intercept;
  std::uint64_t seed;
  index_vector z;
  vector<double> pi, var;
  matrix<double> B;  // J × m
  double alpha = 1;
  // sufficient statistics per component
  std::vector<matrix<double>> xtx;
  std::vector<vector<double>> xty;
  vector<double> yty;
  index_vector count;
  // posterior accumulation
  index_vector ref;
  vector<double> sum_pi, sum_var;
  matrix<double> sum_B, sum_piB;
  double sum_alpha = 0;
  index_t kept = 0;
  index_t thin = 1;  // store every thin-th kept draw
  std::vector<vector<double>> d_pi, d_var;
  std::vector<matrix<double>> d_B;
  std::vector<double> ll_trace;

  dp_core(const matrix<double>& Xa, const vector<double>& yy, index_t J_, bool icpt, std::uint64_t s)
      : X(Xa), y(yy), n(Xa.rows()), m(Xa.cols()), p(Xa.cols() - (icpt ? 1 : 0)), J(J_), intercept(icpt), seed(s),
        z(index_vector::Zero(Xa.rows())), pi(vector<double>::Constant(J_, 1.0 / static_cast<double>(J_))),
        var(vector<double>::Ones(J_)), B(matrix<double>::Zero(J_, Xa.cols())), xtx(static_cast<std::size_t>(J_)),
        xty(static_cast<std::size_t>(J_)), yty(J_), count(J_), sum_pi(vector<double>::Zero(J_)),
        sum_var(vector<double>::Zero(J_)), sum_B(matrix<double>::Zero(J_, Xa.cols())),
        sum_piB(matrix<double>::Zero(J_, Xa.cols())) {}

  /// f(j) for every component: on the team when the per-iteration work is large enough to pay for the
  /// wake-up (results are the same either way: one rng stream per component).
  template <class F>
  void for_components(F&& f) const {
    if (static_cast<double>(n) * static_cast<double>(m) * static_cast<double>(m) +
            static_cast<double>(J) * static_cast<double>(m) * static_cast<double>(m) * static_cast<double>(m) >
        4e6)
      parallel_for(J, f);
    else
      for (index_t j = 0; j < J; ++j) f(j);
  }

  rng stream(std::uint64_t it, std::uint64_t part, std::uint64_t kind) const {
    return rng::stream(seed, (it * 4 + kind) * 1000003ull + part);
  }

  /// z_i ~ Cat(π_j N(y_i; x_i β_j, σ_j²)), in fixed chunks of rows; returns the complete-data log-likelihood.
  double sample_z(index_t it) {
    const index_t nc = chunk_count(n, z_chunk);
    std::vector<double> ll(static_cast<std::size_t>(nc), 0.0);
    vector<double> logc(J);
    for (index_t j = 0; j < J; ++j)
      logc(j) = pi(j) > 0 ? std::log(pi(j)) - 0.5 * std::log(2 * std::numbers::pi * var(j))
                          : -std::numeric_limits<double>::infinity();
    parallel_for(
        nc,
        [&](index_t c) {  // small: one chunk runs without opening a team
          const index_t b = c * z_chunk, e = std::min(n, b + z_chunk);
          rng g = stream(static_cast<std::uint64_t>(it), static_cast<std::uint64_t>(c), 0);
          Eigen::MatrixXd fit(e - b, J);  // rows × J, one GEMV per component (Eigen threads no GEMV)
          for (index_t j = 0; j < J; ++j) fit.col(j).noalias() = X.middleRows(b, e - b) * B.row(j).transpose();
          std::vector<double> lw(static_cast<std::size_t>(J));
          double acc = 0;
          for (index_t i = b; i < e; ++i) {
            for (index_t j = 0; j < J; ++j) {
              const double r = y(i) - fit(i - b, j);
              lw[static_cast<std::size_t>(j)] = logc(j) - r * r / (2 * var(j));
            }
            const index_t k = categorical_log_draw(g, lw.data(), J);
            z(i) = k;
            acc += lw[static_cast<std::size_t>(k)];
          }
          ll[static_cast<std::size_t>(c)] = acc;
        },
        /*small=*/true);
    return std::accumulate(ll.begin(), ll.end(), 0.0);
  }

  /// ν_j ~ Beta(1 + n_j, α + Σ_{l>j} n_l), π by stick-breaking, α ~ Gamma(J + e − 1, f − Σ log(1 − ν_j)).
  void sample_sticks(rng& g, double e_shape, double f_rate) {
    count.setZero();
    for (index_t i = 0; i < n; ++i) ++count(z(i));
    double rest = 0, log1m = 0, stick = 1;
    std::vector<double> tail(static_cast<std::size_t>(J + 1), 0);
    for (index_t j = J - 1; j >= 0; --j)
      tail[static_cast<std::size_t>(j)] = tail[static_cast<std::size_t>(j + 1)] + static_cast<double>(count(j));
    for (index_t j = 0; j < J - 1; ++j) {
      rest = tail[static_cast<std::size_t>(j + 1)];
      double nu = beta_draw(g, 1 + static_cast<double>(count(j)), alpha + rest);
      nu = std::clamp(nu, 1e-300, 1 - 1e-16);
      pi(j) = stick * nu;
      stick *= 1 - nu;
      log1m += std::log1p(-nu);
    }
    pi(J - 1) = stick;
    if (J > 1) alpha = gamma_draw(g, static_cast<double>(J) + e_shape - 1, f_rate - log1m);
  }

  /// Per-component XᵀX, Xᵀy, yᵀy of the rows currently assigned.
  void gather_stats() {
    std::vector<std::vector<index_t>> rows(static_cast<std::size_t>(J));
    for (index_t i = 0; i < n; ++i) rows[static_cast<std::size_t>(z(i))].push_back(i);
    for_components([&](index_t j) {
      const auto& r = rows[static_cast<std::size_t>(j)];
      const auto nj = static_cast<index_t>(r.size());
      auto& A = xtx[static_cast<std::size_t>(j)];
      A = matrix<double>::Zero(m, m);
      xty[static_cast<std::size_t>(j)] = vector<double>::Zero(m);
      yty(j) = 0;
      if (nj == 0) return;
      Eigen::MatrixXd Xj(nj, m);
      vector<double> yj(nj);
      for (index_t k = 0; k < nj; ++k) {
        Xj.row(k) = X.row(r[static_cast<std::size_t>(k)]);
        yj(k) = y(r[static_cast<std::size_t>(k)]);
      }
      Eigen::MatrixXd G = Eigen::MatrixXd::Zero(m, m);
      G.selfadjointView<Eigen::Lower>().rankUpdate(Xj.transpose());
      A = G.selfadjointView<Eigen::Lower>();
      xty[static_cast<std::size_t>(j)] = Xj.transpose() * yj;
      yty(j) = yj.squaredNorm();
    });
  }

  /// After burn-in: relabel against the first kept draw and accumulate.
  void accumulate() {
    if (kept == 0) ref = z;
    const index_vector perm = kept == 0 ? index_vector(index_vector::LinSpaced(J, 0, J - 1))
                                        : relabel_permutation(ref, z, J);
    for (index_t a = 0; a < J; ++a) {
      const index_t d = perm(a);
      sum_pi(a) += pi(d);
      sum_var(a) += var(d);
      sum_B.row(a) += B.row(d);
      sum_piB.row(a) += pi(d) * B.row(d);
    }
    if (kept % thin == 0) {
      vector<double> pp(J), vv(J);
      matrix<double> bb(J, p + 1);
      bb.setZero();
      for (index_t a = 0; a < J; ++a) {
        pp(a) = pi(perm(a));
        vv(a) = var(perm(a));
        bb.row(a).head(p) = B.row(perm(a)).head(p);
        if (intercept) bb(a, p) = B(perm(a), p);
      }
      d_pi.push_back(std::move(pp));
      d_var.push_back(std::move(vv));
      d_B.push_back(std::move(bb));
    }
    sum_alpha += alpha;
    ++kept;
  }

  void set_storage(index_t iterations, index_t burn, index_t max_stored) {
    const index_t n_kept = std::max<index_t>(iterations - 1 - burn, 1);
    thin = max_stored > 0 ? std::max<index_t>(1, (n_kept + max_stored - 1) / max_stored) : n_kept + 1;
  }

  void summarise(dp_mixture_fit& f) const {
    const double s = static_cast<double>(std::max<index_t>(kept, 1));
    f.weights = sum_pi / s;
    f.variances = sum_var / s;
    f.coef = sum_B.leftCols(p) / s;
    f.intercepts = intercept ? vector<double>(sum_B.col(p) / s) : vector<double>::Zero(J);
    f.weighted_coef = matrix<double>::Zero(J, p + 1);
    f.weighted_coef.leftCols(p) = sum_piB.leftCols(p) / s;
    if (intercept) f.weighted_coef.col(p) = sum_piB.col(p) / s;
    f.alpha = sum_alpha / s;
    f.draw_weights = d_pi;
    f.draw_variances = d_var;
    f.draw_coef = d_B;
    f.kept_draws = kept;
    f.log_likelihood_trace = ll_trace;
    f.assignments.resize(n);
    f.counts = index_vector::Zero(J);
    const matrix<double> Xf = X.leftCols(p);
    for (index_t i = 0; i < n; ++i) {
      index_t best = 0;
      regression_responsibilities(Xf.row(i).transpose(), y(i), f.weights, f.coef, f.intercepts, f.variances)
          .maxCoeff(&best);
      f.assignments(i) = best;
      ++f.counts(best);
    }
  }
};

inline matrix<double> with_intercept(const matrix<double>& X, bool icpt) {
  if (!icpt) return X;
  matrix<double> Xa(X.rows(), X.cols() + 1);
  Xa.leftCols(X.cols()) = X;
  Xa.col(X.cols()).setOnes();
  return Xa;
}

inline void check_dp_input(const matrix<double>& X, const vector<double>& y, index_t J, index_t iters, index_t burn,
                           std::string_view who) {
  require_data(X, who, -1, "X");
  require(y.size() == X.rows(), who, ": y has ", y.size(), " entries, X has ", X.rows(), " rows");
  require_finite(y, who, "y");
  require(J >= 1, who, ": truncation must be >= 1, got ", J);
  require(burn >= 0 && iters > burn, who, ": iterations (", iters, ") must exceed burn_in (", burn, ")");
}

/// β ~ N(P⁻¹ r, s² P⁻¹) through the Cholesky factor of P; numerical_error when P is not positive definite.
inline vector<double> draw_gaussian_precision(rng& g, const Eigen::MatrixXd& P, const vector<double>& r, double s2,
                                              vector<double>* mean_out = nullptr) {
  Eigen::LLT<Eigen::MatrixXd> llt(P);
  require<numerical_error>(llt.info() == Eigen::Success, "dmm: a posterior precision matrix is not positive definite");
  const vector<double> mu = llt.solve(r);
  if (mean_out) *mean_out = mu;
  vector<double> e(P.rows());
  for (index_t i = 0; i < e.size(); ++i) e(i) = g.normal();
  const vector<double> d = llt.matrixU().solve(e);  // U = Lᵀ: d ~ N(0, P⁻¹)
  return mu + std::sqrt(s2) * d;
}

}  // namespace detail

inline dp_mixture_fit dmm::fit(const matrix<double>& X0, const vector<double>& y) const {
  const dmm_options& o = opt_;
  const index_t burn = o.burn_in < 0 ? o.iterations / 2 : o.burn_in;
  detail::check_dp_input(X0, y, o.truncation, o.iterations, burn, "dmm::fit");
  require(o.prior_variance > 0 && o.a > 0 && o.b > 0 && o.alpha_shape > 0 && o.alpha_rate > 0 &&
              o.intercept_prior_variance > 0,
          "dmm::fit: prior parameters must be > 0");
  const matrix<double> X = detail::with_intercept(X0, o.fit_intercept);
  const index_t J = o.truncation;
  detail::dp_core c(X, y, J, o.fit_intercept, o.seed);
  c.set_storage(o.iterations, burn, o.max_stored_draws);
  const index_t m = c.m, p = c.p;
  vector<double> prior_prec = vector<double>::Constant(m, 1.0 / o.prior_variance);
  if (o.fit_intercept) prior_prec(p) = 1.0 / o.intercept_prior_variance;
  vector<double> prior_mean = vector<double>::Zero(m);
  if (o.prior_mean_column_means) prior_mean.head(p) = X0.colwise().mean().transpose();
  rng g = c.stream(0, 0, 3);
  // Initialisation from the prior (as the released code).
  c.alpha = o.alpha_shape;
  {
    double stick = 1;
    for (index_t j = 0; j < J - 1; ++j) {
      const double nu = detail::beta_draw(g, 1, c.alpha);
      c.pi(j) = stick * nu;
      stick *= 1 - nu;
    }
    c.pi(J - 1) = stick;
  }
  for (index_t j = 0; j < J; ++j) {
    c.var(j) = detail::inv_gamma_draw(g, o.a, o.b);
    for (index_t l = 0; l < m; ++l) c.B(j, l) = prior_mean(l) + std::sqrt(c.var(j) / prior_prec(l)) * g.normal();
  }
  for (index_t it = 1; it < o.iterations; ++it) {
    c.ll_trace.push_back(c.sample_z(it));
    rng gi = c.stream(static_cast<std::uint64_t>(it), 0, 1);
    c.sample_sticks(gi, o.alpha_shape, o.alpha_rate);
    c.gather_stats();
    c.for_components([&](index_t j) {
      rng gj = c.stream(static_cast<std::uint64_t>(it), static_cast<std::uint64_t>(j), 2);
      Eigen::MatrixXd P = c.xtx[static_cast<std::size_t>(j)];
      P.diagonal() += prior_prec;
      const vector<double> r = c.xty[static_cast<std::size_t>(j)] + prior_prec.cwiseProduct(prior_mean);
      Eigen::LLT<Eigen::MatrixXd> llt(P);
      require<numerical_error>(llt.info() == Eigen::Success, "dmm::fit: posterior precision not positive definite");
      const vector<double> mu = llt.solve(r);
      const double astar = o.a + 0.5 * static_cast<double>(c.count(j));
      const double quad = prior_mean.dot(prior_prec.cwiseProduct(prior_mean)) + c.yty(j) - mu.dot(P * mu);
      const double bstar = o.b + 0.5 * std::max(quad, 0.0);
      c.var(j) = detail::inv_gamma_draw(gj, astar, bstar);  // σ² first (blocked NIG draw) ...
      vector<double> e(m);
      for (index_t l = 0; l < m; ++l) e(l) = gj.normal();
      c.B.row(j) = (mu + std::sqrt(c.var(j)) * vector<double>(llt.matrixU().solve(e))).transpose();  // ... then β | σ²
    });
    if (it > burn) c.accumulate();
  }
  dp_mixture_fit f;
  c.summarise(f);
  return f;
}

inline dmm_men_fit dmm_men::fit(const matrix<double>& X0, const vector<double>& y) const {
  const dmm_men_options& o = opt_;
  const index_t burn = o.burn_in < 0 ? o.iterations / 2 : o.burn_in;
  detail::check_dp_input(X0, y, o.truncation, o.iterations, burn, "dmm_men::fit");
  require(o.n_nets >= 1, "dmm_men::fit: n_nets must be >= 1, got ", o.n_nets);
  require(o.a > 0 && o.b > 0 && o.alpha_shape > 0 && o.alpha_rate > 0 && o.lambda1_shape > 0 && o.lambda2_shape > 0 &&
              o.lambda_rate > 0 && o.lambda_step > 0 && o.intercept_prior_variance > 0,
          "dmm_men::fit: prior parameters must be > 0");
  const matrix<double> X = detail::with_intercept(X0, o.fit_intercept);
  const index_t J = o.truncation, K = o.n_nets;
  detail::dp_core c(X, y, J, o.fit_intercept, o.seed);
  c.set_storage(o.iterations, burn, o.max_stored_draws);
  const index_t m = c.m, p = c.p;
  const double alpha_e = o.net_concentration > 0 ? o.net_concentration : 1.0 / static_cast<double>(K);
  const double v0inv = 1.0 / o.intercept_prior_variance;
  matrix<double> tau = matrix<double>::Constant(J, p, 0.5);  // τ' (released: 0.5 at start)
  index_vector cnet(J);
  matrix<double> lam(K, 2);
  vector<double> w;
  rng g = c.stream(0, 0, 3);
  c.alpha = o.alpha_shape;
  {
    double stick = 1;
    for (index_t j = 0; j < J - 1; ++j) {
      const double nu = detail::beta_draw(g, 1, c.alpha);
      c.pi(j) = stick * nu;
      stick *= 1 - nu;
    }
    c.pi(J - 1) = stick;
  }
  w = detail::dirichlet_draw(g, vector<double>::Constant(K, alpha_e));
  for (index_t k = 0; k < K; ++k) {
    lam(k, 0) = detail::gamma_draw(g, o.lambda1_shape, o.lambda_rate);
    lam(k, 1) = detail::gamma_draw(g, o.lambda2_shape, o.lambda_rate);
  }
  std::vector<double> logw(static_cast<std::size_t>(K));
  for (index_t j = 0; j < J; ++j) {
    for (index_t k = 0; k < K; ++k) logw[static_cast<std::size_t>(k)] = std::log(w(k));
    cnet(j) = detail::categorical_log_draw(g, logw.data(), K);
    c.var(j) = detail::inv_gamma_draw(g, o.a, o.b);
    const double l2 = lam(cnet(j), 1);
    for (index_t l = 0; l < p; ++l) c.B(j, l) = std::sqrt(c.var(j) / l2 * (1 - tau(j, l))) * g.normal();
    if (o.fit_intercept) c.B(j, p) = std::sqrt(c.var(j) * o.intercept_prior_variance) * g.normal();
  }
  // log N_p(β_j features; 0, σ²/λ2 diag(1 − τ')) — the part of the β prior that depends on λ2 and σ².
  auto log_beta_prior = [&](index_t j, double l2, double s2) {
    double q = 0, ld = 0;
    for (index_t l = 0; l < p; ++l) {
      const double sl = 1 - tau(j, l);
      q += c.B(j, l) * c.B(j, l) / sl;
      ld += std::log(sl);
    }
    const auto pd = static_cast<double>(p);
    return -0.5 * pd * std::log(2 * std::numbers::pi * s2 / l2) - 0.5 * ld - 0.5 * l2 * q / s2;
  };
  auto log_tau = [&](index_t j, double s2, double l1, double l2) {
    return log_tau_density(tau.row(j).transpose(), s2, l1, l2);
  };
  matrix<double> sum_lam = matrix<double>::Zero(K, 2);
  index_t acc_sigma = 0, tries_sigma = 0, acc_lam = 0, tries_lam = 0;
  std::vector<index_t> sigma_acc(static_cast<std::size_t>(J)), sigma_try(static_cast<std::size_t>(J));
  for (index_t it = 1; it < o.iterations; ++it) {
    c.ll_trace.push_back(c.sample_z(it));
    rng gi = c.stream(static_cast<std::uint64_t>(it), 0, 1);
    c.sample_sticks(gi, o.alpha_shape, o.alpha_rate);
    // c_j: w_k · N(β_j; 0, σ_j²/λ2_k S_j) · p(τ_j | σ_j², λ_k).
    for (index_t j = 0; j < J; ++j) {
      for (index_t k = 0; k < K; ++k)
        logw[static_cast<std::size_t>(k)] = std::log(w(k)) + log_beta_prior(j, lam(k, 1), c.var(j)) +
                                            log_tau(j, c.var(j), lam(k, 0), lam(k, 1));
      cnet(j) = detail::categorical_log_draw(gi, logw.data(), K);
    }
    vector<double> aw = vector<double>::Constant(K, alpha_e);
    for (index_t j = 0; j < J; ++j) aw(cnet(j)) += 1;
    w = detail::dirichlet_draw(gi, aw);
    c.gather_stats();
    std::fill(sigma_acc.begin(), sigma_acc.end(), 0);
    std::fill(sigma_try.begin(), sigma_try.end(), 0);
    c.for_components([&](index_t j) {
      rng gj = c.stream(static_cast<std::uint64_t>(it), static_cast<std::uint64_t>(j), 2);
      const double l1 = lam(cnet(j), 0), l2 = lam(cnet(j), 1);
      if (c.count(j) == 0) {  // prior draws
        c.var(j) = detail::inv_gamma_draw(gj, o.a, o.b);
        const double r = l1 * l1 / (8 * c.var(j) * l2), a = std::sqrt(2 * r);
        for (index_t l = 0; l < p; ++l) {
          const double t = detail::normal_tail_draw(gj, a);  // |Y| > √(2r), τ = Y²/(2r) ~ TruncGamma(½, r) on (1, ∞)
          tau(j, l) = std::clamp(2 * r / (t * t), 1e-300, 1 - 1e-12);
          c.B(j, l) = std::sqrt(c.var(j) / l2 * (1 - tau(j, l))) * gj.normal();
        }
        if (o.fit_intercept) c.B(j, p) = std::sqrt(c.var(j) * o.intercept_prior_variance) * gj.normal();
        return;
      }
      // β | σ², τ
      Eigen::MatrixXd P = c.xtx[static_cast<std::size_t>(j)];
      vector<double> D(m);
      for (index_t l = 0; l < p; ++l) D(l) = l2 / (1 - tau(j, l));
      if (o.fit_intercept) D(p) = v0inv;
      P.diagonal() += D;
      const vector<double> beta = detail::draw_gaussian_precision(gj, P, c.xty[static_cast<std::size_t>(j)], c.var(j));
      c.B.row(j) = beta.transpose();
      // τ | β, σ²: 1/(τ − 1) ~ InvGauss(λ1 / (2 λ2 |β_l|), λ1² / (4 λ2 σ²)), τ' = ℓ / (1 + ℓ)
      for (index_t l = 0; l < p; ++l) {
        const double ab = std::abs(beta(l));
        const double mu = ab > 0 ? l1 / (2 * l2 * ab) : std::numeric_limits<double>::infinity();
        const double ell = detail::inv_gauss_draw(gj, mu, l1 * l1 / (4 * l2 * c.var(j)));
        tau(j, l) = std::clamp(ell / (1 + ell), 1e-300, 1 - 1e-12);
        D(l) = l2 / (1 - tau(j, l));
      }
      // σ² | β, τ: independence MH, proposal IG(a + (n_j + m)/2, b + ½(RSS + βᵀDβ)), ratio p(τ|σ²')/p(τ|σ²).
      const auto& A = c.xtx[static_cast<std::size_t>(j)];
      const double rss = std::max(c.yty(j) - 2 * beta.dot(c.xty[static_cast<std::size_t>(j)]) + beta.dot(A * beta),
                                  0.0);
      const double astar = o.a + 0.5 * static_cast<double>(c.count(j) + m);
      const double bstar = o.b + 0.5 * (rss + beta.dot(D.cwiseProduct(beta)));
      const double prop = detail::inv_gamma_draw(gj, astar, bstar);
      const double logr = log_tau(j, prop, l1, l2) - log_tau(j, c.var(j), l1, l2);
      ++sigma_try[static_cast<std::size_t>(j)];
      if (std::log(std::max(gj.uniform(), 1e-300)) < logr) {
        c.var(j) = prop;
        ++sigma_acc[static_cast<std::size_t>(j)];
      }
    });
    for (index_t j = 0; j < J; ++j) {
      acc_sigma += sigma_acc[static_cast<std::size_t>(j)];
      tries_sigma += sigma_try[static_cast<std::size_t>(j)];
    }
    // λ_k: log-normal random walk; target = Gamma priors × Π_{j: c_j = k} N(β_j | λ2) p(τ_j | λ1, λ2).
    for (index_t k = 0; k < K; ++k) {
      auto log_target = [&](double l1, double l2) {
        double t = (o.lambda1_shape - 1) * std::log(l1) - o.lambda_rate * l1 + (o.lambda2_shape - 1) * std::log(l2) -
                   o.lambda_rate * l2;
        for (index_t j = 0; j < J; ++j)
          if (cnet(j) == k) t += log_beta_prior(j, l2, c.var(j)) + log_tau(j, c.var(j), l1, l2);
        return t + std::log(l1) + std::log(l2);  // Jacobian of the log scale
      };
      const double n1 = lam(k, 0) * std::exp(o.lambda_step * gi.normal());
      const double n2 = lam(k, 1) * std::exp(o.lambda_step * gi.normal());
      const double logr = log_target(n1, n2) - log_target(lam(k, 0), lam(k, 1));
      ++tries_lam;
      if (std::log(std::max(gi.uniform(), 1e-300)) < logr) {
        lam(k, 0) = n1;
        lam(k, 1) = n2;
        ++acc_lam;
      }
    }
    if (it > burn) {
      c.accumulate();
      sum_lam += lam;
    }
  }
  dmm_men_fit f;
  c.summarise(f);
  f.net_of_component = cnet;
  f.lambdas = sum_lam / static_cast<double>(std::max<index_t>(c.kept, 1));
  f.sigma_acceptance = tries_sigma ? static_cast<double>(acc_sigma) / static_cast<double>(tries_sigma) : 0.0;
  f.lambda_acceptance = tries_lam ? static_cast<double>(acc_lam) / static_cast<double>(tries_lam) : 0.0;
  return f;
}

}  // namespace rnnabs
