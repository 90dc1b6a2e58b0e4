#pragma once
// Parameter algebra of the Gaussian mixture: validation, precision-Cholesky factors in
// scikit-learn's layout, the kernels' view of the parameters, and the M-step from shifted sums.
#include <Eigen/Cholesky>
#include <cmath>
#include <limits>
#include <vector>

#include "rnnabs/stats/detail/gmm_kernels.hpp"
#include "rnnabs/stats/gmm_types.hpp"

namespace rnnabs::detail {

inline constexpr double log_2pi = 1.8378770664093454836;
inline constexpr double gmm_nk_eps = 10 * std::numeric_limits<double>::epsilon();  // as sklearn: no 0/0

/// Rows × cols of the covariance array for a type.
inline std::pair<index_t, index_t> covariance_shape(covariance_type c, index_t K, index_t D) noexcept {
  switch (c) {
    case covariance_type::full: return {K * D, D};
    case covariance_type::tied: return {D, D};
    case covariance_type::diag: return {K, D};
    case covariance_type::spherical: return {K, 1};
  }
  return {0, 0};
}

inline void check_parameters(const gmm_parameters& p, covariance_type c, index_t K, index_t D, const char* who) {
  require(p.weights.size() == K, who, ": weights has ", p.weights.size(), " entries, expected n_components = ", K);
  require(p.means.rows() == K && p.means.cols() == D, who, ": means is ", p.means.rows(), " x ", p.means.cols(),
          ", expected ", K, " x ", D);
  const auto [r, cc] = covariance_shape(c, K, D);
  require(p.covariances.rows() == r && p.covariances.cols() == cc, who, ": covariances is ", p.covariances.rows(),
          " x ", p.covariances.cols(), ", expected ", r, " x ", cc, " for covariance type ", to_string(c));
  require_finite(p.weights, who, "weights");
  require_finite(p.means, who, "means");
  require_finite(p.covariances, who, "covariances");
  require((p.weights.array() >= 0).all() && std::abs(p.weights.sum() - 1.0) < 1e-6, who,
          ": weights must be non-negative and sum to 1 (sum is ", p.weights.sum(), ")");
  if (c == covariance_type::diag || c == covariance_type::spherical)
    require((p.covariances.array() > 0).all(), who, ": ", to_string(c), " covariances must be positive");
}

/// Upper-triangular U with Σ⁻¹ = U Uᵀ from a covariance block; false if Σ is not positive definite.
inline bool precision_factor(const Eigen::Ref<const matrix<double>>& cov, Eigen::Ref<matrix<double>> U) {
  const index_t D = cov.rows();
  Eigen::LLT<Eigen::MatrixXd> llt(cov);
  if (llt.info() != Eigen::Success) return false;
  const Eigen::MatrixXd L = llt.matrixL();
  for (index_t a = 0; a < D; ++a)
    if (!(L(a, a) > 0) || !std::isfinite(L(a, a))) return false;
  const Eigen::MatrixXd Z = L.triangularView<Eigen::Lower>().solve(Eigen::MatrixXd::Identity(D, D));
  U = Z.transpose();
  return U.allFinite();
}

/// Precision-Cholesky factors in sklearn's layout (full: (K·D)×D stacked upper factors; tied D×D;
/// diag K×D and spherical K×1: 1/σ). Components whose covariance is not PD are listed in `bad`.
inline matrix<double> precision_cholesky(const matrix<double>& cov, covariance_type c, index_t K, index_t D,
                                         std::vector<index_t>& bad) {
  bad.clear();
  matrix<double> P(cov.rows(), cov.cols());
  switch (c) {
    case covariance_type::full:
      for (index_t k = 0; k < K; ++k)
        if (!precision_factor(cov.middleRows(k * D, D), P.middleRows(k * D, D))) {
          bad.push_back(k);
          P.middleRows(k * D, D).setIdentity();
        }
      break;
    case covariance_type::tied:
      if (!precision_factor(cov, P)) {
        for (index_t k = 0; k < K; ++k) bad.push_back(k);
        P.setIdentity();
      }
      break;
    case covariance_type::diag:
    case covariance_type::spherical:
      for (index_t k = 0; k < cov.rows(); ++k) {
        bool ok = true;
        for (index_t a = 0; a < cov.cols(); ++a) {
          ok = ok && cov(k, a) > 0 && std::isfinite(cov(k, a));
          P(k, a) = ok ? 1.0 / std::sqrt(cov(k, a)) : 1.0;
        }
        if (!ok) bad.push_back(k);
      }
      break;
  }
  return P;
}

/// log|U_k| for each component.
inline vector<double> log_det_factor(const matrix<double>& P, covariance_type c, index_t K, index_t D) {
  vector<double> ld(K);
  for (index_t k = 0; k < K; ++k) {
    double s = 0;
    switch (c) {
      case covariance_type::full:
        for (index_t a = 0; a < D; ++a) s += std::log(P(k * D + a, a));
        break;
      case covariance_type::tied:
        for (index_t a = 0; a < D; ++a) s += std::log(P(a, a));
        break;
      case covariance_type::diag:
        for (index_t a = 0; a < D; ++a) s += std::log(P(k, a));
        break;
      case covariance_type::spherical: s = static_cast<double>(D) * std::log(P(k, 0)); break;
    }
    ld[k] = s;
  }
  return ld;
}

/// The kernels' view of (weights, means, precision factors).
inline gmm_kernel_model kernel_model(const vector<double>& w, const matrix<double>& mu, const matrix<double>& P,
                                     covariance_type c) {
  const index_t K = mu.rows(), D = mu.cols();
  gmm_kernel_model m;
  m.k = K;
  m.d = D;
  m.full = c == covariance_type::full || c == covariance_type::tied;
  m.tied = c == covariance_type::tied;
  m.mu.assign(mu.data(), mu.data() + K * D);
  const vector<double> ld = log_det_factor(P, c, K, D);
  m.c.resize(K);
  for (index_t k = 0; k < K; ++k)
    m.c[k] = (w[k] > 0 ? std::log(w[k]) : -std::numeric_limits<double>::infinity()) + ld[k] -
             0.5 * static_cast<double>(D) * log_2pi;
  if (m.full) {
    m.pc.assign(P.data(), P.data() + P.size());
  } else {
    m.hp.resize(K * D);
    for (index_t k = 0; k < K; ++k)
      for (index_t a = 0; a < D; ++a) {
        const double u = P(k, c == covariance_type::spherical ? 0 : a);
        m.hp[k * D + a] = 0.5 * u * u;
      }
    m.set_scales();
  }
  return m;
}

/// M-step from statistics summed around `shift` (the means they were accumulated with).
/// Weights are normalised; each covariance gets reg_covar on its diagonal.
inline gmm_parameters m_step(const gmm_stats& st, const matrix<double>& shift, covariance_type c, double reg) {
  const index_t K = st.k, D = st.d;
  gmm_parameters p;
  p.weights.resize(K);
  p.means.resize(K, D);
  const auto [rows, cols] = covariance_shape(c, K, D);
  p.covariances = matrix<double>::Zero(rows, cols);
  double total = 0;
  for (index_t k = 0; k < K; ++k) total += st.nk[k] + gmm_nk_eps;
  for (index_t k = 0; k < K; ++k) {
    const double nk = st.nk[k] + gmm_nk_eps;
    p.weights[k] = nk / total;
    const double* s1 = st.s1.data() + k * D;
    for (index_t a = 0; a < D; ++a) p.means(k, a) = shift(k, a) + s1[a] / nk;
    if (!st.full) {
      const double* s2 = st.s2.data() + k * D;
      double sum = 0;
      for (index_t a = 0; a < D; ++a) {
        const double delta = s1[a] / nk;
        const double v = std::max(0.0, s2[a] / nk - delta * delta) + reg;
        if (c == covariance_type::diag) p.covariances(k, a) = v;
        sum += v;
      }
      if (c == covariance_type::spherical) p.covariances(k, 0) = sum / static_cast<double>(D);
    } else {
      const double* s2 = st.s2.data() + k * D * D;
      // Σ_n r (x−μ_new)(x−μ_new)ᵀ = S − nk δδᵀ with δ = s1/nk.
      for (index_t a = 0; a < D; ++a)
        for (index_t b = 0; b <= a; ++b) {
          const double v = s2[a * D + b] - s1[a] * s1[b] / nk;
          if (c == covariance_type::full) {
            p.covariances(k * D + a, b) = v / nk;
          } else {
            p.covariances(a, b) += v;
          }
        }
    }
  }
  if (c == covariance_type::full) {
    for (index_t k = 0; k < K; ++k) {
      auto S = p.covariances.middleRows(k * D, D);
      for (index_t a = 0; a < D; ++a) {
        for (index_t b = 0; b < a; ++b) S(b, a) = S(a, b);
        S(a, a) += reg;
      }
    }
  } else if (c == covariance_type::tied) {
    auto& S = p.covariances;
    for (index_t a = 0; a < D; ++a) {
      for (index_t b = 0; b <= a; ++b) S(a, b) /= total;
      for (index_t b = 0; b < a; ++b) S(b, a) = S(a, b);
      S(a, a) += reg;
    }
  }
  return p;
}

}  // namespace rnnabs::detail
