#pragma once
// Row-major cuBLAS wrappers and small utility kernels shared by the backend.
//
// cuBLAS is column-major; a row-major m×n matrix with leading dimension ld is the column-major n×m
// matrix of the same memory. So C = op(A)·op(B) (row-major) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ
// (column-major): the operands swap, the transpose flags stay.
#include <cstddef>
#include <cstdint>

#include "rnnabs/cuda/error.cuh"
#include "rnnabs/cuda/runtime.cuh"

namespace rnnabs::cuda {

/// C (m×n) = alpha·op(A)·op(B) + beta·C, all row-major; op(A) is m×k, op(B) is k×n.
inline void gemm_rm(cublasHandle_t h, bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) {
  RNNABS_CUDA_CHECK(cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, B,
                                ldb, A, lda, &beta, C, ldc));
}
inline void gemm_rm(cublasHandle_t h, bool ta, bool tb, int m, int n, int k, double alpha, const double* A, int lda,
                    const double* B, int ldb, double beta, double* C, int ldc) {
  RNNABS_CUDA_CHECK(cublasDgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, B,
                                ldb, A, lda, &beta, C, ldc));
}

namespace kernels {

/// out[c] = beta·out[c] + Σ_r M[r][c] (rows summed in order: deterministic).
template <class T>
__global__ void column_sums(const T* __restrict__ M, int rows, int cols, int ld, T beta, T* __restrict__ out) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  T s = 0;
  for (int r = 0; r < rows; ++r) s += M[static_cast<std::size_t>(r) * ld + c];
  out[c] = beta * out[c] + s;
}

/// y[i] = static_cast<To>(x[i]).
template <class To, class From>
__global__ void convert(const From* __restrict__ x, std::size_t n, To* __restrict__ y) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    y[i] = static_cast<To>(x[i]);
}

/// x[i] += a·y[i].
template <class T>
__global__ void axpy(std::size_t n, T a, const T* __restrict__ y, T* __restrict__ x) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    x[i] += a * y[i];
}

}  // namespace kernels

/// Blocks of 256 threads covering n items, capped for grid-stride loops.
inline unsigned grid_for(std::size_t n, unsigned block = 256, unsigned cap = 65535) {
  const std::size_t g = (n + block - 1) / block;
  return static_cast<unsigned>(g == 0 ? 1 : (g > cap ? cap : g));
}

template <class T>
void column_sums(const T* M, int rows, int cols, int ld, T beta, T* out, cudaStream_t s) {
  if (cols <= 0) return;
  kernels::column_sums<T><<<grid_for(static_cast<std::size_t>(cols), 128), 128, 0, s>>>(M, rows, cols, ld, beta, out);
  RNNABS_CUDA_CHECK_LAUNCH("column_sums kernel");
}

template <class To, class From>
void convert(const From* x, std::size_t n, To* y, cudaStream_t s) {
  if (n == 0) return;
  kernels::convert<To, From><<<grid_for(n), 256, 0, s>>>(x, n, y);
  RNNABS_CUDA_CHECK_LAUNCH("convert kernel");
}

template <class T>
void axpy(std::size_t n, T a, const T* y, T* x, cudaStream_t s) {
  if (n == 0) return;
  kernels::axpy<T><<<grid_for(n), 256, 0, s>>>(n, a, y, x);
  RNNABS_CUDA_CHECK_LAUNCH("axpy kernel");
}

}  // namespace rnnabs::cuda
