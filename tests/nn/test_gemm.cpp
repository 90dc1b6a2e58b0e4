// Tests of nn/detail/gemm.hpp (the packed products of the recurrence and the gradient
// contractions) against a plain triple loop in long double: every row-tile tail (M not a multiple
// of MR), partial panels (N not a multiple of NR, and N < one packet), K = 0 and 1, A stored as
// itself or as its transpose, overwrite and accumulate, sub-blocks with leading dimensions wider
// than the operands, float and double.
#include <gtest/gtest.h>

#include <rnnabs/core.hpp>
#include <rnnabs/nn/detail/gemm.hpp>

namespace nn_gemm_tests {

using namespace rnnabs;

template <class T>
void check_case(index_t M, index_t K, index_t N, bool trans_a, bool accumulate, std::uint64_t seed) {
  rng g(seed);
  auto fill = [&](matrix<T>& m) {
    for (index_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(g.uniform() * 2 - 1);
  };
  // Operands live inside wider matrices, so the leading dimensions differ from the widths.
  matrix<T> a_store(trans_a ? K + 1 : M + 2, (trans_a ? M : K) + 3), b(K, N), c_store(M + 1, N + 5);
  fill(a_store);
  fill(b);
  fill(c_store);
  const matrix<T> c0 = c_store;
  auto a = trans_a ? a_store.block(1, 2, K, M) : a_store.block(2, 1, M, K);
  detail::packed_rhs<T> pb;
  pb.pack(b);
  auto c = c_store.block(1, 3, M, N);
  if (trans_a) detail::gemm_packed_tn(a, pb, c, accumulate);
  else detail::gemm_packed(a, pb, c, accumulate);
  for (index_t i = 0; i < c_store.rows(); ++i)
    for (index_t j = 0; j < c_store.cols(); ++j) {
      const bool inside = i >= 1 && i < 1 + M && j >= 3 && j < 3 + N;
      if (!inside) {
        ASSERT_EQ(c_store(i, j), c0(i, j)) << "wrote outside C at (" << i << ", " << j << ")";
        continue;
      }
      long double want = accumulate ? c0(i, j) : 0.0L, scale = std::abs(want);
      for (index_t k = 0; k < K; ++k) {
        const long double p = static_cast<long double>(trans_a ? a(k, i - 1) : a(i - 1, k)) * b(k, j - 3);
        want += p;
        scale += std::abs(p);
      }
      const double tol = 4.0 * static_cast<double>(K + 1) * std::numeric_limits<T>::epsilon() *
                         static_cast<double>(scale + 1e-30L);
      ASSERT_NEAR(static_cast<double>(c_store(i, j)), static_cast<double>(want), tol)
          << "M=" << M << " K=" << K << " N=" << N << " trans_a=" << trans_a << " acc=" << accumulate << " at ("
          << i - 1 << ", " << j - 3 << ")";
    }
}

template <class T>
void sweep() {
  std::uint64_t seed = 1;
  for (index_t M : {1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 37})
    for (index_t K : {0, 1, 6, 33})
      for (index_t N : {1, 3, 8, 15, 16, 17, 31, 32, 33, 65, 100})
        for (bool trans_a : {false, true})
          for (bool acc : {false, true}) check_case<T>(M, K, N, trans_a, acc, seed++);
}

TEST(PackedGemm, MatchesTheTripleLoopFloat) { sweep<float>(); }
TEST(PackedGemm, MatchesTheTripleLoopDouble) { sweep<double>(); }

TEST(PackedGemm, RecurrenceShapes) {
  // The per-step shapes of the benchmarks: 32 and 64 rows, H = 128, G·H = 512, both directions.
  check_case<float>(64, 128, 512, false, true, 7);
  check_case<float>(32, 512, 128, false, false, 8);
  check_case<float>(512, 200, 128, true, true, 9);
}

TEST(PackedGemm, RepackingReusesTheBufferForNewShapes) {
  detail::packed_rhs<double> pb;
  matrix<double> big = matrix<double>::Ones(40, 70), small = matrix<double>::Constant(3, 5, 2.0);
  pb.pack(big);
  pb.pack(small);
  EXPECT_EQ(pb.rows(), 3);
  EXPECT_EQ(pb.cols(), 5);
  matrix<double> a = matrix<double>::Ones(2, 3), c(2, 5);
  detail::gemm_packed(a, pb, c, false);
  EXPECT_TRUE((c.array() == 6.0).all());
}

}  // namespace nn_gemm_tests
