#pragma once
// Influence kernels on the GPU: batched per-sample gradient dot products in GEMM form (the inner
// products TracIn and gradient-similarity scores are made of) and random projections of gradients
// (cuRAND + cuBLAS) that shrink P-dimensional gradients to k before any scoring at scale.
// Accumulation is in double whatever the gradients' scalar (float gradients are widened per
// column chunk on the device, then DGEMM).
//
//   matrix<double> S = rnnabs::cuda::gradient_dot_products(G_test, G_train);   // m×n = G_test G_trainᵀ
//   matrix<double> T = rnnabs::cuda::tracin_scores<float>({{lr1, &Gt1, &Gr1}, {lr2, &Gt2, &Gr2}});
//   matrix<double> Z = rnnabs::cuda::random_projection(G, 256, /*seed=*/7);      // n×k
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "rnnabs/cuda/blas.cuh"
#include "rnnabs/cuda/runtime.cuh"

namespace rnnabs::cuda {

namespace kernels {
/// out (rows×w, row-major) = in[:, c0:c0+w] widened to double; in is rows×ld.
template <class T>
__global__ void column_block(const T* __restrict__ in, std::size_t rows, std::size_t ld, std::size_t c0, std::size_t w,
                             double* __restrict__ out) {
  const std::size_t n = rows * w;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t r = i / w, c = i - r * w;
    out[i] = static_cast<double>(in[r * ld + c0 + c]);
  }
}
}  // namespace kernels

/// One checkpoint of TracIn: learning rate and the per-sample gradients there (rows = samples).
template <class T>
struct tracin_checkpoint {
  double learning_rate = 1;
  const matrix<T>* test = nullptr;   // m×P
  const matrix<T>* train = nullptr;  // n×P
};

namespace detail {
/// S += scale · A Bᵀ on the device (S: m×n row-major doubles, already allocated).
template <class T>
void add_dot_products(context& ctx, const matrix<T>& A, const matrix<T>& B, double scale, device_buffer<double>& S,
                      index_t chunk) {
  const index_t m = A.rows(), n = B.rows(), P = A.cols();
  cudaStream_t s = ctx.stream.get();
  device_buffer<T> a, b;
  a.upload(A.data(), static_cast<std::size_t>(A.size()), s);
  b.upload(B.data(), static_cast<std::size_t>(B.size()), s);
  const double one = 1.0;
  if constexpr (std::same_as<T, double>) {
    gemm_rm(ctx.blas, false, true, static_cast<int>(m), static_cast<int>(n), static_cast<int>(P), scale, a.data(),
            static_cast<int>(P), b.data(), static_cast<int>(P), one, S.data(), static_cast<int>(n));
  } else {
    const index_t w = std::min(chunk, P);
    device_buffer<double> ac(static_cast<std::size_t>(m * w)), bc(static_cast<std::size_t>(n * w));
    for (index_t c0 = 0; c0 < P; c0 += w) {
      const index_t cw = std::min(w, P - c0);
      kernels::column_block<T><<<grid_for(static_cast<std::size_t>(m * cw)), 256, 0, s>>>(
          a.data(), static_cast<std::size_t>(m), static_cast<std::size_t>(P), static_cast<std::size_t>(c0),
          static_cast<std::size_t>(cw), ac.data());
      kernels::column_block<T><<<grid_for(static_cast<std::size_t>(n * cw)), 256, 0, s>>>(
          b.data(), static_cast<std::size_t>(n), static_cast<std::size_t>(P), static_cast<std::size_t>(c0),
          static_cast<std::size_t>(cw), bc.data());
      RNNABS_CUDA_CHECK_LAUNCH("column_block kernel");
      gemm_rm(ctx.blas, false, true, static_cast<int>(m), static_cast<int>(n), static_cast<int>(cw), scale, ac.data(),
              static_cast<int>(cw), bc.data(), static_cast<int>(cw), one, S.data(), static_cast<int>(n));
    }
  }
  ctx.synchronize();  // a, b and the chunks go out of scope
}
}  // namespace detail

/// TracIn scores Σ_c lr_c · G_test,c G_train,cᵀ (m×n) over checkpoints, accumulated in double.
template <class T>
matrix<double> tracin_scores(const std::vector<tracin_checkpoint<T>>& checkpoints, index_t chunk = 4096) {
  const char* who = "cuda::tracin_scores";
  require(!checkpoints.empty(), who, ": no checkpoints");
  require(chunk >= 1, who, ": chunk must be >= 1, got ", chunk);
  const index_t m = checkpoints.front().test ? checkpoints.front().test->rows() : 0;
  const index_t n = checkpoints.front().train ? checkpoints.front().train->rows() : 0;
  for (std::size_t c = 0; c < checkpoints.size(); ++c) {
    const auto& k = checkpoints[c];
    require(k.test && k.train, who, ": checkpoint ", c, " lacks its gradients");
    require(k.test->rows() == m && k.train->rows() == n && k.test->cols() == k.train->cols() && m > 0 && n > 0 &&
                k.test->cols() > 0,
            who, ": checkpoint ", c, " has gradients ", k.test->rows(), " x ", k.test->cols(), " and ", k.train->rows(),
            " x ", k.train->cols(), ", expected ", m, " x P and ", n, " x P");
    require(std::isfinite(k.learning_rate), who, ": learning rate of checkpoint ", c, " is ", k.learning_rate);
  }
  require_device(who);
  context ctx;
  device_buffer<double> S(static_cast<std::size_t>(m * n));
  S.zero(ctx.stream);
  for (const auto& k : checkpoints) detail::add_dot_products(ctx, *k.test, *k.train, k.learning_rate, S, chunk);
  matrix<double> out(m, n);
  S.download(out.data(), static_cast<std::size_t>(out.size()), ctx.stream);
  return out;
}

/// m×n matrix of ⟨test_i, train_j⟩ (G_test G_trainᵀ), accumulated in double. `chunk`: columns widened at once.
template <class T>
matrix<double> gradient_dot_products(const matrix<T>& test, const matrix<T>& train, index_t chunk = 4096) {
  return tracin_scores<T>({{1.0, &test, &train}}, chunk);
}

/// Z = G R (n×k) with R (P×k) of independent N(0, 1/k) entries from cuRAND's Philox generator
/// (seeded: the same R for the same seed, P and k). E‖Z_i‖² = ‖G_i‖², inner products are kept in
/// expectation (Johnson–Lindenstrauss). `R_out` receives R (the CPU twin multiplies by it).
template <class T>
matrix<double> random_projection(const matrix<T>& G, index_t k, std::uint64_t seed, matrix<double>* R_out = nullptr) {
  const char* who = "cuda::random_projection";
  const index_t n = G.rows(), P = G.cols();
  require(n > 0 && P > 0, who, ": G is empty (", n, " x ", P, ")");
  require(k >= 1, who, ": k must be >= 1, got ", k);
  require_device(who);
  context ctx;
  cudaStream_t s = ctx.stream.get();
  curand_generator gen(seed, s);
  const std::size_t count = static_cast<std::size_t>(P * k);
  device_buffer<double> R(count + (count % 2));  // cuRAND's normal generator fills an even count
  RNNABS_CUDA_CHECK(curandGenerateNormalDouble(gen, R.data(), R.size(), 0.0, 1.0 / std::sqrt(static_cast<double>(k))));
  device_buffer<T> g;
  g.upload(G.data(), static_cast<std::size_t>(G.size()), s);
  device_buffer<double> gd;
  const double* gp = nullptr;
  if constexpr (std::same_as<T, double>) {
    gp = g.data();
  } else {
    gd.resize(static_cast<std::size_t>(G.size()));
    convert<double, T>(g.data(), gd.size(), gd.data(), s);
    gp = gd.data();
  }
  device_buffer<double> Z(static_cast<std::size_t>(n * k));
  gemm_rm(ctx.blas, false, false, static_cast<int>(n), static_cast<int>(k), static_cast<int>(P), 1.0, gp,
          static_cast<int>(P), R.data(), static_cast<int>(k), 0.0, Z.data(), static_cast<int>(k));
  matrix<double> out(n, k);
  Z.download(out.data(), static_cast<std::size_t>(out.size()), s);
  if (R_out) {
    R_out->resize(P, k);
    R.download(R_out->data(), count, s);
  }
  return out;
}

}  // namespace rnnabs::cuda
