#pragma once
// Data layout of the streaming EM: points packed in tiles of `tile` points, each tile stored
// feature-major (D rows of `tile` values), so every kernel loop runs over contiguous points in
// SIMD lanes and a K×tile block of log-probabilities stays in cache. The N×K responsibility
// matrix is never formed.
#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "rnnabs/core/communicator.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"

namespace rnnabs::detail {

inline constexpr index_t gmm_tile = 64;         // points per tile
inline constexpr index_t gmm_chunk_tiles = 32;  // tiles per work chunk (fixed: results do not depend on threads)

template <class T>
using aligned_vector = std::vector<T, Eigen::aligned_allocator<T>>;

struct packed_points {
  index_t n = 0;        // real points (of this rank)
  index_t d = 0;        // features
  index_t n_tiles = 0;  // tiles; the last one is padded with zero-weight points
  bool weighted = false;
  double weight_sum = 0;       // of all ranks' points
  communicator_ref comm;       // the ranks sharing the points (default: this process alone)
  row_shard shard;             // this rank's rows among all ranks' (one process: all of them)
  aligned_vector<double> x;    // n_tiles × d × gmm_tile
  aligned_vector<double> w;    // n_tiles × gmm_tile sample weights, 0 on padding
  std::vector<double> centre;  // D: mean of all points, the reference of the raw-moment sums (gmm_kernels.hpp)

  /// Points of all ranks.
  index_t global_n() const noexcept { return shard.global; }
  /// Global index of this rank's first tile (rank offsets are multiples of shard_row_alignment).
  index_t first_tile() const noexcept { return shard.offset / gmm_tile; }
  /// chunked_reduce over the tiles, in work chunks of gmm_chunk_tiles, folded across the ranks.
  template <class Acc, class Map, class Merge>
  Acc reduce_tiles(const Acc& zero, Map&& map, Merge&& merge) const {
    return chunked_reduce(comm, n_tiles, gmm_chunk_tiles, zero, map, merge,
                          row_block_chunks(gmm_tile * gmm_chunk_tiles));
  }

  const double* tile(index_t t) const noexcept { return x.data() + t * d * gmm_tile; }
  const double* weights(index_t t) const noexcept { return w.data() + t * gmm_tile; }
  index_t n_chunks() const noexcept { return chunk_count(n_tiles, gmm_chunk_tiles); }
  /// Sample weight of point i.
  double weight(index_t i) const noexcept { return w[static_cast<std::size_t>(i)]; }  // tile t, lane p is t·tile + p
  /// Point index of lane p of tile t.
  static index_t point(index_t t, index_t p) noexcept { return t * gmm_tile + p; }
};

/// Packs X (any scalar, any layout) and optional sample weights; validates both. With a communicator,
/// X and the weights are this rank's rows (see core/communicator.hpp) and every rank gets the same
/// error if any rank's input is bad.
template <class Derived>
packed_points pack_points(const Eigen::MatrixBase<Derived>& X, const double* sample_weight, const char* who,
                          communicator_ref comm = {}) {
  static_assert(shard_row_alignment % (gmm_tile * gmm_chunk_tiles) == 0);
  packed_points P;
  P.comm = comm;
  P.shard = make_row_shard(comm, X.rows(), who);
  same_on_every_rank(comm, X.cols(), who, "row width");
  P.n = X.rows();
  P.d = X.cols();
  P.n_tiles = chunk_count(P.n, gmm_tile);
  P.weighted = any_rank(comm, sample_weight != nullptr);  // a rank without rows may pass none
  collectively(comm, [&] {
    if (P.n > 0 || comm.size() == 1) require_data(X, who);
    require(!P.weighted || sample_weight || P.n == 0, who, ": this rank passes no sample_weight, other ranks do");
    if (sample_weight)
      for (index_t i = 0; i < P.n; ++i) {
        const double wi = sample_weight[i];
        require(std::isfinite(wi) && wi >= 0, who, ": sample_weight[", i, "] = ", wi, ", expected a finite value >= 0");
      }
  });
  require(P.shard.global > 0, who, ": X is empty on every rank");
  if (P.weighted) {
    double s = 0;  // in global row order, as one process sums
    chain_fold(comm, s, [&](double& t) {
      for (index_t i = 0; i < P.n; ++i) t += sample_weight[i];
    });
    require(s > 0, who, ": sample weights sum to zero");
    P.weight_sum = s;
  } else {
    P.weight_sum = static_cast<double>(P.global_n());
  }
  P.x.assign(static_cast<std::size_t>(P.n_tiles * P.d * gmm_tile), 0.0);
  P.w.assign(static_cast<std::size_t>(P.n_tiles * gmm_tile), 0.0);
  parallel_for(P.n_tiles, [&](index_t t) {
    const index_t b = t * gmm_tile, e = std::min(P.n, b + gmm_tile);
    double* xt = P.x.data() + t * P.d * gmm_tile;
    double* wt = P.w.data() + t * gmm_tile;
    for (index_t i = b; i < e; ++i) {
      for (index_t j = 0; j < P.d; ++j) xt[j * gmm_tile + (i - b)] = static_cast<double>(X(i, j));
      wt[i - b] = sample_weight ? sample_weight[i] : 1.0;
    }
  });
  // Padding lanes hold 0, so whole tiles are summed; chunk sums merge in chunk order (thread-count independent).
  P.centre = P.reduce_tiles(
      std::vector<double>(static_cast<std::size_t>(P.d), 0.0),
      [&](index_t tb, index_t te, std::vector<double>& sum) {
        for (index_t t = tb; t < te; ++t)
          for (index_t a = 0; a < P.d; ++a) {
            const double* row = P.x.data() + (t * P.d + a) * gmm_tile;
            sum[static_cast<std::size_t>(a)] += Eigen::Map<const Eigen::Array<double, gmm_tile, 1>>(row).sum();
          }
      },
      [](std::vector<double>& total, const std::vector<double>& part) {
        for (std::size_t a = 0; a < total.size(); ++a) total[a] += part[a];
      });
  for (double& c : P.centre) c /= static_cast<double>(P.global_n());
  return P;
}

}  // namespace rnnabs::detail
