// GPU influence kernels against Eigen on the host: gradient dot products, TracIn sums, random
// projections (skipped without a device).
#include <gtest/gtest.h>

#include "cuda_test.hpp"
#include "rnnabs/cuda/backend.cuh"
#include "rnnabs/cuda/influence.cuh"

namespace {
using namespace rnnabs;
using test::rel_err;

template <class T>
matrix<T> gaussian(index_t r, index_t c) {
  return matrix<T>::NullaryExpr(r, c, [] { return static_cast<T>(test::normal()); });
}

template <class T>
void dot_products_match() {
  const matrix<T> A = gaussian<T>(17, 1000), B = gaussian<T>(29, 1000);
  const matrix<double> ref = A.template cast<double>() * B.template cast<double>().transpose();
  EXPECT_LT(rel_err(cuda::gradient_dot_products(A, B, /*chunk=*/300), ref), 1e-13);  // double accumulation
  const matrix<T> A2 = gaussian<T>(17, 1000), B2 = gaussian<T>(29, 1000);
  const matrix<double> ref2 = 0.1 * ref + 0.05 * (A2.template cast<double>() * B2.template cast<double>().transpose());
  EXPECT_LT(rel_err(cuda::tracin_scores<T>({{0.1, &A, &B}, {0.05, &A2, &B2}}), ref2), 1e-13);
}
TEST(CudaInfluence, DotProductsFloat) {
  RNNABS_REQUIRE_GPU();
  dot_products_match<float>();
}
TEST(CudaInfluence, DotProductsDouble) {
  RNNABS_REQUIRE_GPU();
  dot_products_match<double>();
}

TEST(CudaInfluence, RandomProjection) {
  RNNABS_REQUIRE_GPU();
  const matrix<float> G = gaussian<float>(40, 3000);
  matrix<double> R;
  const matrix<double> Z = cuda::random_projection(G, 512, 11, &R);
  EXPECT_LT(rel_err(Z, (G.cast<double>() * R).eval()), 1e-12);
  EXPECT_EQ(cuda::random_projection(G, 512, 11), Z);  // seeded
  EXPECT_NE(cuda::random_projection(G, 512, 12), Z);
  EXPECT_NEAR(R.array().square().mean() * 512, 1.0, 0.02);  // N(0, 1/k)
  // Norms are kept within JL's distortion.
  for (index_t i = 0; i < G.rows(); ++i)
    EXPECT_NEAR(Z.row(i).squaredNorm() / G.row(i).cast<double>().squaredNorm(), 1.0, 0.3);
  EXPECT_THROW(cuda::random_projection(G, 0, 1), invalid_argument);
}

TEST(CudaBackend, DotProductsEitherBranch) {
  const matrix<float> a = matrix<float>::NullaryExpr(6, 500, [] { return static_cast<float>(test::normal()); });
  const matrix<float> c = matrix<float>::NullaryExpr(40, 500, [] { return static_cast<float>(test::normal()); });
  const matrix<double> cpu = cuda::gradient_dot_products(a, c, cuda::backend::cpu);
  EXPECT_LT(rel_err(cpu, (a.cast<double>() * c.cast<double>().transpose()).eval()), 1e-15);
  if (!cuda::has_device()) GTEST_SKIP() << "no CUDA device (cudaGetDeviceCount): GPU branch not run";
  EXPECT_LT(rel_err(cuda::gradient_dot_products(a, c, cuda::backend::cuda), cpu), 1e-12);
}

}  // namespace
