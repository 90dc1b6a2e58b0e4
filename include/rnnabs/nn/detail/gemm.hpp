#pragma once
// C (+)= A·B and C (+)= Aᵀ·B for the rnn engine: the per-step products with B a weight matrix
// (constant over the steps and the chunks of a call, so packed once), and the gradient
// contractions with B the data side (packed once per product). Eigen's general product packs both
// operands on every call; for the per-step shapes (a few dozen rows × H × G·H) that packing took
// about a quarter of the time, and its 48×4 AVX-512 tile reaches ~55-60 % of the FMA peak. Here B
// is packed in column panels and the register tile is MR rows × NV packets.
//
// Every C element is one fixed-order sum over k (no K blocking, no threads), so the results
// depend on neither the thread count nor the row-block a row falls in.
#include <algorithm>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "rnnabs/core/types.hpp"

namespace rnnabs::detail {

template <class T>
struct gemm_tile {
  using packet = typename Eigen::internal::packet_traits<T>::type;
  static constexpr int P = Eigen::internal::unpacket_traits<packet>::size;
  // Vector registers of the target (Eigen's figure; 16 for SSE on x86-64, 32 with AVX-512).
  static constexpr int registers = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS;
  // 32 registers: 16 accumulators + 2 packets of B + 1 broadcast. Measured on Zen 5 (AVX-512) at the
  // per-step shapes: 8×2 reaches 205-214 GFLOP/s of a 217 peak; 4×4 160, 6×4 195, 8×3 190-200.
  // 16 registers: 6×2 (12 + 2 + 1), 102-108 GFLOP/s with AVX2 on the same machine (Eigen 65-72;
  // half the AVX-512 peak is 108).
  static constexpr int MR = registers >= 32 ? 8 : 6, NV = 2;
  static constexpr int NR = NV * P;  // columns of a panel
};

/// B (K × N) in column panels of NR columns: panel p holds columns [p·NR, p·NR + NR) as K rows of
/// NR contiguous values, zero beyond column N.
template <class T>
class packed_rhs {
 public:
  static constexpr int NR = gemm_tile<T>::NR;

  /// Packs b (any Eigen expression of K × N, e.g. a weight's transpose).
  template <class Mat>
  void pack(const Eigen::MatrixBase<Mat>& b) {
    fill(b.rows(), b.cols(), [&](index_t k, index_t c0, index_t w, T* dst) {
      for (index_t c = 0; c < w; ++c) dst[c] = b(k, c0 + c);
    });
  }
  /// Packs the rows `rows` of m (row-major with direct access): row k of B is m.row(rows[k]).
  template <class Mat>
  void pack_rows(const Eigen::MatrixBase<Mat>& m, const std::vector<index_t>& rows) {
    static_assert(Mat::IsRowMajor, "packed_rhs::pack_rows: a row-major matrix");
    const T* base = m.derived().data();
    const index_t ld = m.derived().outerStride();
    fill(static_cast<index_t>(rows.size()), m.cols(), [&](index_t k, index_t c0, index_t w, T* dst) {
      const T* src = base + rows[static_cast<std::size_t>(k)] * ld + c0;
      std::copy(src, src + w, dst);
    });
  }
  index_t rows() const noexcept { return k_; }
  index_t cols() const noexcept { return n_; }
  index_t panels() const noexcept { return (n_ + NR - 1) / NR; }
  const T* panel(index_t p) const noexcept { return data_.data() + p * k_ * NR; }

 private:
  /// Sizes the panels for K × N and has row_part(k, c0, w, dst) write B(k, c0 .. c0 + w) to dst;
  /// the padding beyond column N is zeroed here.
  template <class RowPart>
  void fill(index_t K, index_t N, RowPart&& row_part) {
    k_ = K;
    n_ = N;
    data_.resize(static_cast<std::size_t>(panels() * k_ * NR));
    for (index_t p = 0; p < panels(); ++p) {
      T* dst = data_.data() + p * k_ * NR;
      const index_t c0 = p * NR, w = std::min<index_t>(NR, n_ - c0);
      for (index_t k = 0; k < k_; ++k) {
        row_part(k, c0, w, dst + k * NR);
        std::fill(dst + k * NR + w, dst + (k + 1) * NR, T(0));
      }
    }
  }

  index_t k_ = 0, n_ = 0;
  std::vector<T, Eigen::aligned_allocator<T>> data_;
};

namespace gemm_impl {

/// R rows of A times one panel, into C (row i at c + i·ldc), its first `width` columns. A's element
/// (i, k) is at a[i·lda + k], or with TransA at a[k·lda + i] (A stored as its transpose).
template <class T, int R, bool TransA>
inline void tile(index_t K, const T* a, index_t lda, const T* bp, T* c, index_t ldc, index_t width, bool accumulate) {
  using G = gemm_tile<T>;
  using Pk = typename G::packet;
  constexpr int P = G::P, NV = G::NV, NR = G::NR;
  using namespace Eigen::internal;
  Pk acc[R][NV];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < NV; ++j) acc[i][j] = pset1<Pk>(T(0));
  for (index_t k = 0; k < K; ++k) {
    Pk b[NV];
    for (int j = 0; j < NV; ++j) b[j] = pload<Pk>(bp + k * NR + j * P);
    for (int i = 0; i < R; ++i) {
      const Pk ai = pset1<Pk>(TransA ? a[k * lda + i] : a[i * lda + k]);
      for (int j = 0; j < NV; ++j) acc[i][j] = pmadd(ai, b[j], acc[i][j]);
    }
  }
  if (width == NR) {
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < NV; ++j) {
        T* ci = c + i * ldc + j * P;
        pstoreu(ci, accumulate ? padd(ploadu<Pk>(ci), acc[i][j]) : acc[i][j]);
      }
    return;
  }
  alignas(64) T buf[NR];  // the last, partial panel
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < NV; ++j) pstore(buf + j * P, acc[i][j]);
    T* ci = c + i * ldc;
    for (index_t q = 0; q < width; ++q) ci[q] = accumulate ? ci[q] + buf[q] : buf[q];
  }
}

template <class T, int R, bool TransA>
inline void rows_tail(int r, index_t K, const T* a, index_t lda, const T* bp, T* c, index_t ldc, index_t width,
                      bool accumulate) {
  if constexpr (R > 0) {
    if (r == R) return tile<T, R, TransA>(K, a, lda, bp, c, ldc, width, accumulate);
    rows_tail<T, R - 1, TransA>(r, K, a, lda, bp, c, ldc, width, accumulate);
  }
}

template <class T, bool TransA>
void gemm(index_t M, const T* a, index_t lda, const packed_rhs<T>& b, T* c, index_t ldc, bool accumulate) {
  using G = gemm_tile<T>;
  constexpr int MR = G::MR, NR = G::NR;
  const index_t K = b.rows(), N = b.cols();
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate)
      for (index_t i = 0; i < M; ++i) std::fill(c + i * ldc, c + i * ldc + N, T(0));
    return;
  }
  // Row i of A starts at a + i·step.
  const index_t step = TransA ? 1 : lda;
  for (index_t p = 0; p < b.panels(); ++p) {
    const T* bp = b.panel(p);
    const index_t c0 = p * NR, width = std::min<index_t>(NR, N - c0);
    index_t i = 0;
    for (; i + MR <= M; i += MR)
      tile<T, MR, TransA>(K, a + i * step, lda, bp, c + i * ldc + c0, ldc, width, accumulate);
    if (i < M)
      rows_tail<T, MR - 1, TransA>(static_cast<int>(M - i), K, a + i * step, lda, bp, c + i * ldc + c0, ldc, width,
                                   accumulate);
  }
}

}  // namespace gemm_impl

/// c = a·b (accumulate: c += a·b): a M × K, c M × N, both row-major blocks with direct access.
/// Panel-outer, so a panel stays in cache over all row tiles.
template <class T, class A, class C>
void gemm_packed(const Eigen::MatrixBase<A>& a, const packed_rhs<T>& b, C&& c, bool accumulate) {
  static_assert(A::IsRowMajor && std::remove_reference_t<C>::IsRowMajor, "gemm_packed: row-major operands");
  eigen_assert(a.cols() == b.rows() && c.rows() == a.rows() && c.cols() == b.cols());
  gemm_impl::gemm<T, false>(a.rows(), a.derived().data(), a.derived().outerStride(), b, c.data(), c.outerStride(),
                            accumulate);
}

/// c = aᵀ·b (accumulate: c += aᵀ·b): a K × M (read transposed in place), c M × N, row-major.
template <class T, class A, class C>
void gemm_packed_tn(const Eigen::MatrixBase<A>& a, const packed_rhs<T>& b, C&& c, bool accumulate) {
  static_assert(A::IsRowMajor && std::remove_reference_t<C>::IsRowMajor, "gemm_packed_tn: row-major operands");
  eigen_assert(a.rows() == b.rows() && c.rows() == a.cols() && c.cols() == b.cols());
  gemm_impl::gemm<T, true>(a.cols(), a.derived().data(), a.derived().outerStride(), b, c.data(), c.outerStride(),
                           accumulate);
}

}  // namespace rnnabs::detail
