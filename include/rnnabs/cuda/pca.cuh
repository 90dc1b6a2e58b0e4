#pragma once
// PCA on the GPU, the twin of rnnabs::pca's covariance_eigh solver: the mean by column sums, the
// covariance by cuBLAS DSYRK over centred row chunks (accumulated in double whatever the input
// scalar), then cuSOLVER's symmetric eigensolver (syevd). Same conventions as the CPU: components
// by decreasing variance, the largest-magnitude entry of each positive, variances clipped at 0.
//
//   rnnabs::cuda::pca_result r = rnnabs::cuda::pca_fit(X, 10);
#include <algorithm>
#include <vector>

#include "rnnabs/cuda/blas.cuh"
#include "rnnabs/cuda/runtime.cuh"
#include "rnnabs/stats/pca.hpp"

namespace rnnabs::cuda {

/// The fitted quantities of rnnabs::pca (same meaning and layout).
struct pca_result {
  matrix<double> components;  // k×D
  vector<double> mean, explained_variance, explained_variance_ratio, singular_values;
  double noise_variance = 0;
  index_t n_samples = 0;
};

namespace kernels {
/// Row-major chunk (rows×D) minus the mean, in place.
__global__ inline void centre_rows(double* __restrict__ x, std::size_t rows, int D, const double* __restrict__ mean) {
  const std::size_t n = rows * static_cast<std::size_t>(D);
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    x[i] -= mean[i % static_cast<std::size_t>(D)];
}
}  // namespace kernels

/// Fits k components (-1: all min(N, D)) of the rows of X (N×D, N >= 2) on the device.
template <class Derived>
pca_result pca_fit(const Eigen::MatrixBase<Derived>& X, index_t n_components = -1, index_t chunk_rows = 65536) {
  using T = typename Derived::Scalar;
  static_assert(real_scalar<T>, "rnnabs::cuda::pca_fit: X must hold float or double");
  const char* who = "cuda::pca_fit";
  const index_t N = X.rows(), D = X.cols(), max_k = std::min(N, D);
  require(N >= 2 && D >= 1, who, ": X needs at least 2 rows and 1 column, got ", N, " x ", D);
  require(n_components == -1 || (n_components >= 1 && n_components <= max_k), who,
          ": n_components must be in [1, min(N, D)] = [1, ", max_k, "] (or -1), got ", n_components);
  require(chunk_rows >= 1, who, ": chunk_rows must be >= 1");
  require_finite(X, who, "X");
  require_device(who);
  const matrix_cref<T> xr(X.derived());
  const matrix<T> copy = xr.outerStride() == D ? matrix<T>() : matrix<T>(xr);  // rows must be contiguous
  const T* xbase = copy.size() ? copy.data() : xr.data();
  context ctx;
  cudaStream_t s = ctx.stream.get();
  const index_t ch = std::min(chunk_rows, N);
  device_buffer<T> raw(static_cast<std::size_t>(ch * D));
  device_buffer<double> xd(static_cast<std::size_t>(ch * D)), mean(static_cast<std::size_t>(D)),
      cov(static_cast<std::size_t>(D * D)), evals(static_cast<std::size_t>(D));
  // Pass 1: Σ rows, chunk by chunk (column sums are ordered: deterministic).
  mean.zero(s);
  auto load = [&](index_t b, index_t m) {
    RNNABS_CUDA_CHECK(cudaMemcpyAsync(raw.data(), xbase + b * D, static_cast<std::size_t>(m * D) * sizeof(T),
                                      cudaMemcpyHostToDevice, s));
    convert<double, T>(raw.data(), static_cast<std::size_t>(m * D), xd.data(), s);
  };
  for (index_t b = 0; b < N; b += ch) {
    const index_t m = std::min(ch, N - b);
    load(b, m);
    column_sums<double>(xd.data(), static_cast<int>(m), static_cast<int>(D), static_cast<int>(D), 1.0, mean.data(), s);
  }
  std::vector<double> hmean(static_cast<std::size_t>(D));
  mean.download(hmean.data(), hmean.size(), s);
  for (double& v : hmean) v /= static_cast<double>(N);
  RNNABS_CUDA_CHECK(
      cudaMemcpyAsync(mean.data(), hmean.data(), hmean.size() * sizeof(double), cudaMemcpyHostToDevice, s));
  // Pass 2: scatter Σ (x − mean)(x − mean)ᵀ by SYRK. A row-major m×D chunk is the column-major D×m
  // matrix A, so the scatter is A·Aᵀ (D×D, lower triangle, column-major).
  cov.zero(s);
  for (index_t b = 0; b < N; b += ch) {
    const index_t m = std::min(ch, N - b);
    load(b, m);
    kernels::centre_rows<<<grid_for(static_cast<std::size_t>(m * D)), 256, 0, s>>>(
        xd.data(), static_cast<std::size_t>(m), static_cast<int>(D), mean.data());
    RNNABS_CUDA_CHECK_LAUNCH("centre_rows kernel");
    const double one = 1.0;
    RNNABS_CUDA_CHECK(cublasDsyrk(ctx.blas, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, static_cast<int>(D),
                                  static_cast<int>(m), &one, xd.data(), static_cast<int>(D), &one, cov.data(),
                                  static_cast<int>(D)));
  }
  // Covariance (ddof = 1) and its eigen-decomposition.
  const double inv = 1.0 / static_cast<double>(N - 1);
  RNNABS_CUDA_CHECK(cublasDscal(ctx.blas, static_cast<int>(D * D), &inv, cov.data(), 1));
  int lwork = 0;
  RNNABS_CUDA_CHECK(cusolverDnDsyevd_bufferSize(ctx.solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER,
                                                static_cast<int>(D), cov.data(), static_cast<int>(D), evals.data(),
                                                &lwork));
  device_buffer<double> work(static_cast<std::size_t>(std::max(lwork, 1)));
  device_buffer<int> info(1);
  RNNABS_CUDA_CHECK(cusolverDnDsyevd(ctx.solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, static_cast<int>(D),
                                     cov.data(), static_cast<int>(D), evals.data(), work.data(), lwork, info.data()));
  int hinfo = 0;
  info.download(&hinfo, 1, s);
  require<numerical_error>(hinfo == 0, who, ": cusolverDnDsyevd did not converge (info = ", hinfo, ") on the ", D,
                           " x ", D, " covariance");
  std::vector<double> hev(static_cast<std::size_t>(D)), hvec(static_cast<std::size_t>(D * D));
  evals.download(hev.data(), hev.size(), s);
  cov.download(hvec.data(), hvec.size(), s);  // column j (contiguous) = eigenvector of eigenvalue j, ascending

  const index_t r = max_k, k = n_components == -1 ? max_k : n_components;
  matrix<double> comps(r, D);
  vector<double> var(r);
  double total = 0;
  for (index_t j = 0; j < D; ++j) total += std::max(hev[static_cast<std::size_t>(j)], 0.0);
  for (index_t i = 0; i < r; ++i) {
    const index_t j = D - 1 - i;
    for (index_t a = 0; a < D; ++a) comps(i, a) = hvec[static_cast<std::size_t>(j * D + a)];
    var(i) = std::max(hev[static_cast<std::size_t>(j)], 0.0);
  }
  require<numerical_error>(total > 0.0, who, ": X has zero variance (all ", N, " rows are equal)");
  pca_result out;
  out.components = comps.topRows(k);
  rnnabs::detail::flip_signs(out.components);
  out.mean = Eigen::Map<const vector<double>>(hmean.data(), D);
  out.explained_variance = var.head(k);
  out.explained_variance_ratio = var.head(k) / total;
  out.singular_values = (out.explained_variance * static_cast<double>(N - 1)).cwiseSqrt();
  out.noise_variance = k >= max_k ? 0.0 : var.segment(k, max_k - k).mean();
  out.n_samples = N;
  return out;
}

}  // namespace rnnabs::cuda
