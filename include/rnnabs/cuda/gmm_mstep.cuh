#pragma once
// The M-step of the GPU mixture, on the device: from one pass's summed statistics to the next
// parameters (weights, means, covariances in scikit-learn's layout), their precision-Cholesky
// factors, and the kernel model the next pass reads — so an EM iteration moves K + 1 numbers to the
// host (Σ w log p and a flag per component), not the statistics and the model.
//
// The arithmetic is the CPU's (detail::m_step, precision_cholesky, kernel_model in
// stats/detail/gmm_params.hpp) in the same order; the Cholesky factor is a plain column Cholesky and
// an in-place triangular inverse (the CPU uses Eigen's LLT and a triangular solve: equal to rounding).
// The functions are __host__ __device__, so the host tests check them against the CPU code on any
// machine; on the device one thread handles one component (tied: one thread for all), K·D³/3 flops.
// A flagged component (not positive definite, or below min_weight) is handed to the CPU's
// degenerate-component policy.
#include <cmath>

#include "rnnabs/stats/gmm_types.hpp"

namespace rnnabs::cuda {

/// Where each sum sits in a pass's totals (gmm_engine's entries): [0] Σ w log p, then Σr per component,
/// Σr(x−μ) per component and feature, then Σr(x−μ)² (diag) or the lower triangle of Σr(x−μ)(x−μ)ᵀ
/// (full), component by component.
struct packed_stats_layout {
  int K = 0, D = 0;
  bool full = false, second = true;  // second = false: first moments only (k-means)
  __host__ __device__ int nk(int k) const { return 1 + k; }
  __host__ __device__ int s1(int k, int a) const { return 1 + K + k * D + a; }
  /// b <= a (full); b == a (diag).
  __host__ __device__ int s2(int k, int a, int b) const {
    const int base = 1 + K + K * D;
    return full ? base + k * (D * (D + 1) / 2) + a * (a + 1) / 2 + b : base + k * D + a;
  }
  __host__ __device__ int width() const { return 1 + K + K * D + (!second ? 0 : full ? K * (D * (D + 1) / 2) : K * D); }
};

/// Per-component outcome of the device M-step.
enum mstep_flag : int { mstep_ok = 0, mstep_not_pd = 1, mstep_light = 2 };

/// Inputs and outputs of the M-step (device or host pointers alike).
struct mstep_args {
  packed_stats_layout L;
  covariance_type type = covariance_type::full;
  const double* t = nullptr;  // the pass's totals
  double reg = 0, min_weight = 0;
  // The parameters, CPU layout (gmm_parameters): weight K, mean K×D, cov by type.
  double *weight = nullptr, *mean = nullptr, *cov = nullptr;
  // The kernel model the next pass reads: mu K×D (also the shift the totals were summed around: read
  // before it is overwritten, by the same thread), hp K×D, pc (tied ? 1 : K)×D×D, c K.
  double *mu = nullptr, *hp = nullptr, *pc = nullptr, *c = nullptr;
  int* flag = nullptr;  // K
};

namespace detail {
inline constexpr double mstep_log_2pi = 1.8378770664093454836;
inline constexpr double mstep_nk_eps = 10 * 2.220446049250313e-16;  // = gmm_nk_eps (10 ε), as sklearn

/// Σ_j (nk_j + ε) in component order (the CPU's total).
__host__ __device__ inline double total_weight(const mstep_args& g) {
  double total = 0;
  for (int j = 0; j < g.L.K; ++j) total += g.t[g.L.nk(j)] + mstep_nk_eps;
  return total;
}

/// U (D×D row-major, upper) with A⁻¹ = U Uᵀ for the symmetric A (lower triangle read); U = L⁻ᵀ with
/// A = L Lᵀ. Returns log|U| = −Σ log L_jj, or NaN when A is not positive definite.
__host__ __device__ inline double upper_precision_factor(const double* A, int D, double* U) {
  for (int j = 0; j < D; ++j) {  // L (lower) into U's lower triangle
    double s = A[j * D + j];
    for (int m = 0; m < j; ++m) s -= U[j * D + m] * U[j * D + m];
    if (!(s > 0) || !isfinite(s)) return NAN;
    const double ljj = sqrt(s);
    U[j * D + j] = ljj;
    for (int i = j + 1; i < D; ++i) {
      double v = A[i * D + j];
      for (int m = 0; m < j; ++m) v -= U[i * D + m] * U[j * D + m];
      U[i * D + j] = v / ljj;
    }
  }
  double logdet = 0;
  for (int j = 0; j < D; ++j) logdet -= log(U[j * D + j]);
  // Z = L⁻¹ in place, column by column from the left: column j needs Z's column j above row i and
  // L's entries right of column j, which are still L.
  for (int j = 0; j < D; ++j) {
    U[j * D + j] = 1.0 / U[j * D + j];
    for (int i = j + 1; i < D; ++i) {
      double v = 0;
      for (int m = j; m < i; ++m) v += U[i * D + m] * U[m * D + j];
      U[i * D + j] = -v / U[i * D + i];
    }
  }
  for (int a = 0; a < D; ++a)  // U = Zᵀ: upper, zeros below
    for (int b = 0; b < a; ++b) {
      U[b * D + a] = U[a * D + b];
      U[a * D + b] = 0.0;
    }
  for (int q = 0; q < D * D; ++q)
    if (!isfinite(U[q])) return NAN;
  return logdet;
}

/// log w + log|U| − D/2 log 2π: the constant of a component's weighted log-density.
__host__ __device__ inline double log_constant(double w, double logdet, int D) {
  return (w > 0 ? log(w) : -INFINITY) + logdet - 0.5 * D * mstep_log_2pi;
}

/// Component k of a full, diag or spherical mixture.
__host__ __device__ inline void mstep_component(const mstep_args& g, int k) {
  const int D = g.L.D;
  const double total = total_weight(g);
  const double nk = g.t[g.L.nk(k)] + mstep_nk_eps;
  const double w = nk / total;
  g.weight[k] = w;
  for (int a = 0; a < D; ++a) g.mean[k * D + a] = g.mu[k * D + a] + g.t[g.L.s1(k, a)] / nk;
  for (int a = 0; a < D; ++a) g.mu[k * D + a] = g.mean[k * D + a];
  double logdet = 0;
  bool pd = true;
  if (g.type == covariance_type::full) {
    double* S = g.cov + k * D * D;
    for (int a = 0; a < D; ++a)
      for (int b = 0; b <= a; ++b) {
        const double v = g.t[g.L.s2(k, a, b)] - g.t[g.L.s1(k, a)] * g.t[g.L.s1(k, b)] / nk;
        S[a * D + b] = v / nk;
      }
    for (int a = 0; a < D; ++a) {
      for (int b = 0; b < a; ++b) S[b * D + a] = S[a * D + b];
      S[a * D + a] += g.reg;
    }
    double* U = g.pc + k * D * D;
    logdet = upper_precision_factor(S, D, U);
    pd = !isnan(logdet);
    if (!pd)
      for (int q = 0; q < D * D; ++q) U[q] = q % (D + 1) == 0 ? 1.0 : 0.0;
  } else {
    double sum = 0;
    for (int a = 0; a < D; ++a) {
      const double delta = g.t[g.L.s1(k, a)] / nk;
      const double s2 = g.t[g.L.s2(k, a, a)] / nk - delta * delta;
      const double v = (s2 > 0 ? s2 : 0.0) + g.reg;
      if (g.type == covariance_type::diag) g.cov[k * D + a] = v;
      sum += v;
    }
    if (g.type == covariance_type::spherical) g.cov[k] = sum / D;
    for (int a = 0; a < D; ++a) {
      const double v = g.type == covariance_type::spherical ? g.cov[k] : g.cov[k * D + a];
      const bool ok = v > 0 && isfinite(v);
      pd = pd && ok;
      const double u = ok ? 1.0 / sqrt(v) : 1.0;
      g.hp[k * D + a] = 0.5 * u * u;
      if (g.type == covariance_type::diag || a == 0) logdet += g.type == covariance_type::diag ? log(u) : D * log(u);
    }
  }
  g.c[k] = log_constant(w, logdet, D);
  g.flag[k] = !pd ? mstep_not_pd : w < g.min_weight ? mstep_light : mstep_ok;
}

/// A tied mixture: every component's weight and mean, the shared covariance and its factor.
__host__ __device__ inline void mstep_tied(const mstep_args& g) {
  const int K = g.L.K, D = g.L.D;
  const double total = total_weight(g);
  double* S = g.cov;
  for (int q = 0; q < D * D; ++q) S[q] = 0.0;
  for (int k = 0; k < K; ++k) {
    const double nk = g.t[g.L.nk(k)] + mstep_nk_eps;
    g.weight[k] = nk / total;
    for (int a = 0; a < D; ++a) g.mean[k * D + a] = g.mu[k * D + a] + g.t[g.L.s1(k, a)] / nk;
    for (int a = 0; a < D; ++a)
      for (int b = 0; b <= a; ++b) S[a * D + b] += g.t[g.L.s2(k, a, b)] - g.t[g.L.s1(k, a)] * g.t[g.L.s1(k, b)] / nk;
  }
  for (int a = 0; a < D; ++a) {
    for (int b = 0; b <= a; ++b) S[a * D + b] /= total;
    for (int b = 0; b < a; ++b) S[b * D + a] = S[a * D + b];
    S[a * D + a] += g.reg;
  }
  for (int q = 0; q < K * D; ++q) g.mu[q] = g.mean[q];
  const double logdet = upper_precision_factor(S, D, g.pc);
  const bool pd = !isnan(logdet);
  if (!pd)
    for (int q = 0; q < D * D; ++q) g.pc[q] = q % (D + 1) == 0 ? 1.0 : 0.0;
  for (int k = 0; k < K; ++k) {
    g.c[k] = log_constant(g.weight[k], pd ? logdet : 0.0, D);
    g.flag[k] = !pd ? mstep_not_pd : g.weight[k] < g.min_weight ? mstep_light : mstep_ok;
  }
}
}  // namespace detail

namespace kernels {
/// One thread per component (tied: thread 0 does all).
__global__ inline void gmm_mstep(mstep_args g) {
  const int k = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (g.type == covariance_type::tied) {
    if (k == 0) cuda::detail::mstep_tied(g);
  } else if (k < g.L.K) {
    cuda::detail::mstep_component(g, k);
  }
}
}  // namespace kernels

}  // namespace rnnabs::cuda
