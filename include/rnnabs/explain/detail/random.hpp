#pragma once
// Draws the samplers of explain/dmm.hpp need, on rnnabs::rng (same numbers on every platform):
// gamma (Marsaglia & Tsang 2000), beta and Dirichlet via gammas, inverse gamma, inverse Gaussian
// (Michael, Schucany & Haas 1976), the normal tail (Robert 1995), categorical from log-weights,
// multivariate normal from a Cholesky factor.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs::detail {

/// Gamma(shape, rate = 1).
inline double gamma_draw(rng& g, double shape) {
  require(shape > 0 && std::isfinite(shape), "gamma_draw: shape must be > 0, got ", shape);
  if (shape < 1) {
    double u;
    do u = g.uniform();
    while (u == 0.0);
    return gamma_draw(g, shape + 1) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = g.normal();
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = g.uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (u > 0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

/// Gamma(shape, rate).
inline double gamma_draw(rng& g, double shape, double rate) { return gamma_draw(g, shape) / rate; }

/// Inverse gamma with shape a and scale b (density ∝ s^(−a−1) e^(−b/s)).
inline double inv_gamma_draw(rng& g, double a, double b) { return b / gamma_draw(g, a); }

/// Beta(a, b).
inline double beta_draw(rng& g, double a, double b) {
  const double x = gamma_draw(g, a), y = gamma_draw(g, b);
  return x / (x + y);
}

/// Dirichlet(alpha).
inline vector<double> dirichlet_draw(rng& g, const vector<double>& alpha) {
  vector<double> x(alpha.size());
  for (index_t k = 0; k < alpha.size(); ++k) x(k) = gamma_draw(g, alpha(k));
  const double s = x.sum();
  return s > 0 ? vector<double>(x / s) : vector<double>::Constant(x.size(), 1.0 / static_cast<double>(x.size()));
}

/// Inverse Gaussian with mean mu (may be +inf: the Lévy limit) and shape lambda.
inline double inv_gauss_draw(rng& g, double mu, double lambda) {
  const double z = g.normal(), y = z * z;
  if (!std::isfinite(mu)) return lambda / y;  // Lévy(0, λ): λ / χ²₁
  const double x = mu + mu * mu * y / (2 * lambda) -
                   mu / (2 * lambda) * std::sqrt(4 * mu * lambda * y + mu * mu * y * y);
  return g.uniform() <= mu / (mu + x) ? x : mu * mu / x;
}

/// Standard normal conditioned on > a (a ≥ 0): exponential proposals (Robert 1995) for a > 0.5.
inline double normal_tail_draw(rng& g, double a) {
  if (a < 0.5) {
    for (;;) {
      const double z = g.normal();
      if (z > a) return z;
    }
  }
  const double alpha = 0.5 * (a + std::sqrt(a * a + 4));
  for (;;) {
    double u;
    do u = g.uniform();
    while (u == 0.0);
    const double z = a - std::log(u) / alpha;
    const double r = std::exp(-0.5 * (z - alpha) * (z - alpha));
    if (g.uniform() <= r) return z;
  }
}

/// log Φ(−x) for x ≥ 0 without underflow.
inline double log_normal_cdf_neg(double x) {
  if (x < 30) return std::log(0.5 * std::erfc(x / std::numbers::sqrt2));
  const double x2 = x * x;  // asymptotic series of the Mills ratio
  return -0.5 * x2 - std::log(x) - 0.5 * std::log(2 * std::numbers::pi) + std::log1p(-1 / x2 + 3 / (x2 * x2));
}

/// Index drawn with probability ∝ exp(logw) (entries may be −inf; at least one must be finite).
inline index_t categorical_log_draw(rng& g, const double* logw, index_t k) {
  double mx = -std::numeric_limits<double>::infinity();
  for (index_t j = 0; j < k; ++j) mx = std::max(mx, logw[j]);
  double s = 0;
  for (index_t j = 0; j < k; ++j) s += std::exp(logw[j] - mx);
  double u = g.uniform() * s;
  for (index_t j = 0; j < k; ++j) {
    u -= std::exp(logw[j] - mx);
    if (u < 0) return j;
  }
  for (index_t j = k - 1; j >= 0; --j)
    if (logw[j] > -std::numeric_limits<double>::infinity()) return j;
  return k - 1;
}

}  // namespace rnnabs::detail
