#pragma once
// The three PCA solvers. Each returns the leading right singular vectors of the centred data (as
// rows), their variances s²/(N-1) in decreasing order, and the total variance.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <Eigen/SVD>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"
#include "rnnabs/stats/detail/covariance.hpp"

namespace rnnabs::detail {

struct pca_spectrum {
  matrix<double> components;  // r x D, rows = directions, decreasing variance
  vector<double> variances;   // r: s² / (N - 1)
  double total_variance = 0;  // sum of the per-feature variances (ddof = 1)
  bool complete = false;      // true: all min(N, D) variances are present (eigh, exact)
};

/// Least rows per chunk of the row-wise passes (centring copies, products, transform).
inline constexpr index_t pca_row_chunk = 8192;
inline index_t pca_chunk_rows(index_t n) { return stat_chunk_rows(n, pca_row_chunk); }

/// a·b for tall a, by row chunks (each output row depends only on its own input row).
template <class A>
Eigen::MatrixXd tall_times(const A& a, const Eigen::MatrixXd& b) {
  const index_t n = a.rows(), ch = pca_chunk_rows(n);
  Eigen::MatrixXd y(n, b.cols());
  parallel_for(chunk_count(n, ch), [&](index_t c) {
    const index_t b0 = c * ch, m = std::min(ch, n - b0);
    y.middleRows(b0, m).noalias() = a.middleRows(b0, m) * b;
  });
  return y;
}

/// aᵀ·y for tall a and y: per-chunk products summed in chunk order.
template <class A>
Eigen::MatrixXd tall_t_times(const A& a, const Eigen::MatrixXd& y) {
  const index_t n = a.rows();
  return chunked_reduce(
      n, pca_chunk_rows(n), Eigen::MatrixXd(Eigen::MatrixXd::Zero(a.cols(), y.cols())),
      [&](index_t b0, index_t e0, Eigen::MatrixXd& acc) {
        acc.noalias() += a.middleRows(b0, e0 - b0).transpose() * y.middleRows(b0, e0 - b0);
      },
      [](Eigen::MatrixXd& t, const Eigen::MatrixXd& p) { t += p; });
}

/// A NaN/Inf anywhere in X makes its column sum non-finite, so the finiteness check rides on the mean
/// pass for free; only then is X scanned again to name the bad entry.
template <class T>
void require_finite_via_mean(const matrix_cref<T>& x, const vector<double>& mean, const char* who) {
  if (mean.allFinite()) [[likely]]
    return;
  require_finite(x, who, "X");
  throw numerical_error(concat(who, ": the column sums of X overflow double (entries too large)"));
}

/// Covariance (blocked SYRK, double accumulation) then a symmetric eigensolver.
/// Distributed: X is this rank's rows of `global_n` (starting at a multiple of shard_row_alignment).
template <class T>
pca_spectrum pca_covariance_eigh(const matrix_cref<T>& x, vector<double>& mean, communicator_ref comm = {},
                                 index_t global_n = -1) {
  const index_t n = global_n < 0 ? x.rows() : global_n;
  // On several ranks each checks its own rows first, so every rank reports the same bad entry.
  if (comm.size() > 1) collectively(comm, [&] { require_finite(x, "pca::fit", "X"); });
  const scatter_stats st = row_scatter<T>(x, comm, n);
  mean = st.mean;
  require_finite_via_mean<T>(x, mean, "pca::fit");
  require<numerical_error>(st.scatter.diagonal().allFinite(),
                           "pca::fit: the covariance of X overflows (entries too large)");
  const double dof = static_cast<double>(n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es;
  eigen_serial([&] { es.compute(st.full_scatter() / dof); });
  require<numerical_error>(es.info() == Eigen::Success,
                           "pca::fit (covariance_eigh): the eigensolver did not converge on the ", x.cols(), " x ",
                           x.cols(), " covariance");
  const index_t d = x.cols(), r = std::min(n, d);
  pca_spectrum s;
  s.components.resize(r, d);
  s.variances.resize(r);
  // Eigen sorts ascending; round-off can leave tiny negative eigenvalues of a PSD matrix: clip them.
  for (index_t i = 0; i < r; ++i) {
    s.components.row(i) = es.eigenvectors().col(d - 1 - i).transpose();
    s.variances(i) = std::max(es.eigenvalues()(d - 1 - i), 0.0);
  }
  s.total_variance = es.eigenvalues().cwiseMax(0.0).sum();
  s.complete = true;
  return s;
}

/// X - mean in double (N x D), row chunks in parallel.
template <class T>
matrix<double> centred_copy(const matrix_cref<T>& x, const vector<double>& mean) {
  matrix<double> xc(x.rows(), x.cols());
  const index_t ch = pca_chunk_rows(x.rows());
  parallel_for(chunk_count(x.rows(), ch), [&](index_t c) {
    const index_t b = c * ch, m = std::min(ch, x.rows() - b);
    xc.middleRows(b, m) = x.middleRows(b, m).template cast<double>().rowwise() - mean.transpose();
  });
  return xc;
}

/// Thin SVD of the centred data (divide and conquer): exact, for small data.
template <class T>
pca_spectrum pca_exact_svd(const matrix_cref<T>& x, vector<double>& mean) {
  mean = column_mean<T>(x);
  require_finite_via_mean<T>(x, mean, "pca::fit");
  const Eigen::MatrixXd xc = centred_copy<T>(x, mean);
  Eigen::BDCSVD<Eigen::MatrixXd> svd;
  eigen_serial([&] { svd.compute(xc, Eigen::ComputeThinV); });
  require<numerical_error>(svd.info() == Eigen::Success, "pca::fit (exact): the SVD of the ", x.rows(), " x ", x.cols(),
                           " centred data did not converge");
  const double dof = static_cast<double>(x.rows() - 1);
  pca_spectrum s;
  s.components = svd.matrixV().transpose();
  s.variances = svd.singularValues().array().square() / dof;
  s.total_variance = s.variances.sum();
  s.complete = true;
  return s;
}

/// Orthonormal basis of the columns of a (tall) matrix: thin Q of a Householder QR.
inline Eigen::MatrixXd thin_q(const Eigen::MatrixXd& a) {
  Eigen::MatrixXd q;
  eigen_serial([&] {
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
    q = qr.householderQ() * Eigen::MatrixXd::Identity(a.rows(), a.cols());
  });
  return q;
}

/// Randomized SVD (Halko, Martinsson & Tropp 2011, alg. 4.4): a Gaussian test matrix of k + oversamples
/// columns drawn from `seed`, `power_iterations` subspace iterations re-orthonormalized by QR, then an
/// exact SVD of the small projected matrix. Holds one centred double copy of X.
template <class T>
pca_spectrum pca_randomized_svd(const matrix_cref<T>& x, index_t k, index_t oversamples, index_t power_iterations,
                                std::uint64_t seed, vector<double>& mean) {
  const index_t n = x.rows(), d = x.cols();
  mean = column_mean<T>(x);
  require_finite_via_mean<T>(x, mean, "pca::fit");
  const matrix<double> xc = centred_copy<T>(x, mean);
  const index_t l = std::min(k + oversamples, std::min(n, d));
  if (power_iterations < 0)
    power_iterations = (static_cast<double>(k) < 0.1 * static_cast<double>(std::min(n, d))) ? 7 : 4;

  rng gen(seed);
  Eigen::MatrixXd omega(d, l);
  for (index_t j = 0; j < l; ++j)
    for (index_t i = 0; i < d; ++i) omega(i, j) = gen.normal();

  Eigen::MatrixXd q = thin_q(tall_times(xc, omega));  // N x l
  for (index_t it = 0; it < power_iterations; ++it) {
    const Eigen::MatrixXd z = thin_q(tall_t_times(xc, q));  // D x l
    q = thin_q(tall_times(xc, z));
  }
  const Eigen::MatrixXd b = tall_t_times(xc, q).transpose();  // l x D
  Eigen::BDCSVD<Eigen::MatrixXd> svd;
  eigen_serial([&] { svd.compute(b, Eigen::ComputeThinV); });
  require<numerical_error>(svd.info() == Eigen::Success, "pca::fit (randomized): the SVD of the ", l, " x ", d,
                           " projected matrix did not converge");
  const double dof = static_cast<double>(n - 1);
  pca_spectrum s;
  s.components = svd.matrixV().transpose();
  s.variances = svd.singularValues().array().square() / dof;
  // Total variance from the per-feature variances (the spectrum is incomplete): Σ_j Σ_i xc_ij² / (N-1).
  s.total_variance = chunked_reduce(
                         n, pca_chunk_rows(n), 0.0,
                         [&](index_t b0, index_t e0, double& acc) { acc += xc.middleRows(b0, e0 - b0).squaredNorm(); },
                         [](double& t, double p) { t += p; }) /
                     dof;
  s.complete = false;
  return s;
}

/// (x - shift)·w + offset for every row of x (shift or offset may be empty), in T, by 256-row tiles
/// with one reused buffer per chunk: the scalar of the data, not double, so a float transform runs at
/// float GEMM speed and never allocates an N x D temporary.
template <class T>
matrix<T> affine_rows(const matrix_cref<T>& x, const vector<double>& shift, const matrix<double>& w,
                      const vector<double>& offset) {
  constexpr index_t tile = 256;
  const index_t n = x.rows(), ch = pca_chunk_rows(n);
  const matrix<T> wt = w.template cast<T>();
  const Eigen::Matrix<T, 1, Eigen::Dynamic> sh =
      shift.size() ? Eigen::Matrix<T, 1, Eigen::Dynamic>(shift.transpose().template cast<T>())
                   : Eigen::Matrix<T, 1, Eigen::Dynamic>::Zero(x.cols());
  const Eigen::Matrix<T, 1, Eigen::Dynamic> off =
      offset.size() ? Eigen::Matrix<T, 1, Eigen::Dynamic>(offset.transpose().template cast<T>())
                    : Eigen::Matrix<T, 1, Eigen::Dynamic>::Zero(w.cols());
  matrix<T> out(n, w.cols());
  parallel_for(chunk_count(n, ch), [&](index_t c) {
    const index_t b = c * ch, e = std::min(n, b + ch);
    matrix<T> buf(std::min(tile, e - b), x.cols());
    for (index_t r0 = b; r0 < e; r0 += tile) {
      const index_t m = std::min(tile, e - r0);
      buf.topRows(m) = x.middleRows(r0, m).rowwise() - sh;
      out.middleRows(r0, m).noalias() = buf.topRows(m) * wt;
      out.middleRows(r0, m).rowwise() += off;
    }
  });
  return out;
}

/// Sign convention: the entry of largest magnitude of each component (the first such, on ties) is positive.
inline void flip_signs(matrix<double>& components) {
  for (index_t i = 0; i < components.rows(); ++i) {
    index_t j = 0;
    components.row(i).cwiseAbs().maxCoeff(&j);
    if (components(i, j) < 0) components.row(i) *= -1.0;
  }
}

}  // namespace rnnabs::detail
