#pragma once
// Blocked, threaded row statistics of a tall matrix: mean and scatter Σ (x - m)(x - m)ᵀ, in double.
//
// Each block of `block_rows` rows is centred on its own mean while it sits in cache (so the product
// never forms E[xxᵀ] - m mᵀ), its scatter is one SYRK in the data's scalar (float SYRK runs at twice
// the double rate), and block results are merged in double with Chan's pairwise update in a fixed
// order, so the result is the same for any thread count.
#include <algorithm>
#include <cmath>
#include <span>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "rnnabs/core/communicator.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"

namespace rnnabs::detail {

/// Count, mean and scatter (lower triangle kept up to date; see `full_scatter`) of a set of rows.
struct scatter_stats {
  double n = 0;
  vector<double> mean;
  Eigen::MatrixXd scatter;  // column-major: the SYRK's natural layout

  explicit scatter_stats(index_t d = 0) : mean(vector<double>::Zero(d)), scatter(Eigen::MatrixXd::Zero(d, d)) {}

  /// Chan et al.'s merge: this ← this ∪ b. Exact in exact arithmetic, no cancellation in floating point.
  void merge(const scatter_stats& b) {
    if (b.n == 0) return;
    if (n == 0) {
      *this = b;
      return;
    }
    const double nt = n + b.n;
    const vector<double> delta = b.mean - mean;
    scatter.triangularView<Eigen::Lower>() += b.scatter;
    scatter.selfadjointView<Eigen::Lower>().rankUpdate(delta, n * b.n / nt);
    mean += delta * (b.n / nt);
    n = nt;
  }
  template <class F>
  void for_each_buffer(F&& f) {  // what travels between ranks (core/communicator.hpp)
    f(std::as_writable_bytes(std::span<double>(&n, 1)));
    f(std::as_writable_bytes(std::span<double>(mean.data(), static_cast<std::size_t>(mean.size()))));
    f(std::as_writable_bytes(std::span<double>(scatter.data(), static_cast<std::size_t>(scatter.size()))));
  }
  /// The scatter with its upper triangle filled in.
  [[nodiscard]] Eigen::MatrixXd full_scatter() const {
    Eigen::MatrixXd s = scatter.selfadjointView<Eigen::Lower>();
    return s;
  }
};

/// Rows per parallel chunk for N rows: a power of two of at least `min_rows` (few accumulators) and at
/// most shard_row_alignment, aiming at ~64 chunks, and at least 2 chunks once N >= 2. A function of N
/// only, never of the thread or rank count; for N > shard_row_alignment it divides the alignment, so
/// every rank's chunks are the single process's (core/communicator.hpp). Two chunks or more mean the
/// loop body always runs inside an OpenMP region, where Eigen does not thread its products itself (its
/// threaded GEMM re-blocks the depth per thread count, which changes the rounding).
inline index_t stat_chunk_rows(index_t n, index_t min_rows) {
  index_t c = min_rows;
  while (c < chunk_count(n, 64) && c < shard_row_alignment) c *= 2;
  return std::min(c, std::max<index_t>(1, chunk_count(n, 2)));
}

/// Runs f() where Eigen does not thread its products (inside a parallel region, or with one thread):
/// for decompositions whose blocked updates would otherwise round differently with 1 and 2 threads.
template <class F>
void eigen_serial(F&& f) {
  parallel_for(2, [&](index_t c) {
    if (c == 0) f();
  });
}

/// Rows per cache block (one SYRK each) and the least rows per parallel chunk (one accumulator each).
inline constexpr index_t scatter_block_rows = 256;
inline constexpr index_t scatter_chunk_rows = 32768;

/// Statistics of rows [b, e) of X, block by block, merged in order into `acc`.
template <class T>
void scatter_range(const matrix_cref<T>& x, index_t b, index_t e, scatter_stats& acc) {
  const index_t d = x.cols();
  using colmat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  colmat buf(d, scatter_block_rows);  // centred block, transposed: one sample per column
  colmat syrk(d, d);
  vector<double> sum(d);
  scatter_stats blk(d);
  for (index_t r0 = b; r0 < e; r0 += scatter_block_rows) {
    const index_t m = std::min(scatter_block_rows, e - r0);
    const auto rows = x.middleRows(r0, m);
    sum.setZero();
    for (index_t r = 0; r < m; ++r) sum += rows.row(r).transpose().template cast<double>();
    blk.n = static_cast<double>(m);
    blk.mean = sum / blk.n;
    // Centre on the mean rounded to T; the leftover shift s = mean - mean_T is corrected exactly below.
    const vector<T> mean_t = blk.mean.template cast<T>();
    buf.leftCols(m) = rows.transpose().colwise() - mean_t;
    syrk.template triangularView<Eigen::Lower>().setZero();
    syrk.template selfadjointView<Eigen::Lower>().rankUpdate(buf.leftCols(m));
    blk.scatter.triangularView<Eigen::Lower>() = syrk.template cast<double>();
    // Σ(x - m)(x - m)ᵀ = Σ(x - m_T)(x - m_T)ᵀ - n (m - m_T)(m - m_T)ᵀ
    const vector<double> shift = blk.mean - mean_t.template cast<double>();
    blk.scatter.selfadjointView<Eigen::Lower>().rankUpdate(shift, -blk.n);
    acc.merge(blk);
  }
}

/// Mean and scatter of the rows of X (N x D, any N >= 1), threaded, bit-identical for any thread count.
/// Distributed: X is this rank's rows (starting at a multiple of shard_row_alignment) of `global_n`.
template <class T>
scatter_stats row_scatter(const matrix_cref<T>& x, communicator_ref comm = {}, index_t global_n = -1) {
  const index_t d = x.cols();
  const index_t chunk = stat_chunk_rows(global_n < 0 ? x.rows() : global_n, scatter_chunk_rows);
  return chunked_reduce(
      comm, x.rows(), chunk, scatter_stats(d),
      [&](index_t b, index_t e, scatter_stats& acc) { scatter_range<T>(x, b, e, acc); },
      [](scatter_stats& total, const scatter_stats& part) { total.merge(part); }, row_block_chunks(chunk));
}

/// Column means of X in double, threaded with the same fixed chunks.
template <class T>
vector<double> column_mean(const matrix_cref<T>& x, communicator_ref comm = {}, index_t global_n = -1) {
  const index_t d = x.cols(), n = global_n < 0 ? x.rows() : global_n;
  const index_t chunk = stat_chunk_rows(n, scatter_chunk_rows);
  const vector<double> s = chunked_reduce(
      comm, x.rows(), chunk, vector<double>(vector<double>::Zero(d)),
      [&](index_t b, index_t e, vector<double>& acc) {
        for (index_t r = b; r < e; ++r) acc += x.row(r).transpose().template cast<double>();
      },
      [](vector<double>& total, const vector<double>& part) { total += part; }, row_block_chunks(chunk));
  return s / static_cast<double>(n);
}

}  // namespace rnnabs::detail
