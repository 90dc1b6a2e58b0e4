#pragma once
// Greedy k-means++ seeding (sklearn's scheme: 2 + floor(ln K) candidates per centre, keep the one that
// lowers the potential most). Distances are exact squared norms in double (not the expanded square);
// the potential and the cumulative sums are formed in a fixed order, so the choice is the same for any
// thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "rnnabs/core/communicator.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/stats/detail/kmeans_lloyd.hpp"

namespace rnnabs::detail {

/// Squared distances of a row chunk to a few fixed points, in double, with the points of each tile of
/// `lanes` rows in SIMD lanes (GCC/Clang vector extensions): the chunk is transposed tile by tile into
/// double once per sweep, then each target costs D subtract-multiply-adds per lane.
template <class T>
struct tile_distances {
  typedef double dvec __attribute__((vector_size(64)));
  static constexpr index_t w = 8, nv = 4, lanes = w * nv;
  index_t d;
  std::vector<double> xt;  // [j][p]; read back as vectors with memcpy (see nearest_centre_kernel)
  explicit tile_distances(index_t dims) : d(dims), xt(static_cast<std::size_t>(dims * lanes)) {}
  /// Loads rows [r0, r0 + m), m <= lanes (zeros past m).
  void load(const matrix_cref<T>& x, index_t r0, index_t m) {
    double* xs = xt.data();
    for (index_t p = 0; p < lanes; ++p) {
      const T* xp = p < m ? x.data() + (r0 + p) * x.outerStride() : nullptr;
      for (index_t j = 0; j < d; ++j) xs[j * lanes + p] = xp ? static_cast<double>(xp[j]) : 0.0;
    }
  }
  /// out[p] = ||x_p - y||² for the loaded tile.
  void to(const double* y, double* out) const {
    dvec a[nv];
    for (index_t v = 0; v < nv; ++v) a[v] = dvec{};
    for (index_t j = 0; j < d; ++j)
      for (index_t v = 0; v < nv; ++v) {
        dvec t;
        std::memcpy(&t, xt.data() + j * lanes + v * w, sizeof(dvec));
        t -= y[j];
        a[v] += t * t;
      }
    for (index_t v = 0; v < nv; ++v)
      for (index_t q = 0; q < w; ++q) out[v * w + q] = a[v][q];
  }
};

/// f(b, m) for each tile [b, b + m) of rows [b0, e0), with the tile loaded into td.
template <class T, class F>
void for_tiles(const matrix_cref<T>& x, index_t b0, index_t e0, tile_distances<T>& td, F&& f) {
  for (index_t b = b0; b < e0; b += td.lanes) {
    const index_t m = std::min(td.lanes, e0 - b);
    td.load(x, b, m);
    f(b, m);
  }
}

/// Global row indices of the K seeds. Distributed: x and w are this rank's rows (each rank's first row
/// at a multiple of shard_row_alignment); the draws, running sums and candidate potentials are the
/// single process's, so the seeds are too. Collective.
template <class T>
index_vector kmeans_plusplus(const matrix_cref<T>& x, index_t k, rng& gen, const vector<double>& w,
                             communicator_ref comm = {}) {
  const row_shard sh = make_row_shard(comm, x.rows(), "kmeans_plusplus");
  const index_t n = x.rows(), N = sh.global, d = x.cols(), chunk = kmeans_chunk_rows(N),
                nchunks = chunk_count(n, chunk);
  const index_t trials = 2 + static_cast<index_t>(std::log(static_cast<double>(k)));
  constexpr index_t L = tile_distances<T>::lanes;
  index_vector chosen(k);
  std::vector<double> closest(static_cast<std::size_t>(n)), cum;

  // cum[i] = Σ_{j<=i} value(j), sequential in global row order: fixed order
  auto prefix = [&](auto&& value) { return global_prefix_sum(comm, sh, cum, value); };
  const bool weighted = any_rank(comm, w.size() > 0);  // a rank without rows may pass none
  // First centre: a row drawn with probability proportional to its weight.
  if (!weighted) {
    chosen(0) = static_cast<index_t>(gen.below(static_cast<std::uint64_t>(N)));
  } else {
    const double total = prefix([&](index_t i) { return w(i); });
    chosen(0) = global_search(comm, sh, cum, gen.uniform() * total);
  }
  auto row = [&](index_t i) { return global_row(comm, sh, x, i); };
  // closest[i] = min(closest[i], ||x_i - y||²) (first: the distance itself).
  auto lower = [&](const vector<double>& y, bool first) {
    parallel_for(nchunks, [&](index_t ci) {
      tile_distances<T> td(d);
      double dist[L];
      for_tiles<T>(x, ci * chunk, std::min(n, (ci + 1) * chunk), td, [&](index_t b, index_t m) {
        td.to(y.data(), dist);
        for (index_t p = 0; p < m; ++p) {
          double& cl = closest[static_cast<std::size_t>(b + p)];
          cl = first ? dist[p] : std::min(cl, dist[p]);
        }
      });
    });
  };
  lower(row(chosen(0)), true);

  std::vector<index_t> cand(static_cast<std::size_t>(trials));
  std::vector<vector<double>> cand_x(static_cast<std::size_t>(trials));
  for (index_t c = 1; c < k; ++c) {
    const double pot = prefix([&](index_t i) { return weight_at(w, i) * closest[static_cast<std::size_t>(i)]; });
    for (index_t t = 0; t < trials; ++t) {
      cand[static_cast<std::size_t>(t)] = global_search(comm, sh, cum, gen.uniform() * pot);
      cand_x[static_cast<std::size_t>(t)] = row(cand[static_cast<std::size_t>(t)]);
    }
    // Potential after adding each candidate, all candidates in one sweep over X.
    const vector<double> cand_pot = chunked_reduce(
        comm, n, chunk, vector<double>(vector<double>::Zero(trials)),
        [&](index_t b0, index_t e0, vector<double>& acc) {
          tile_distances<T> td(d);
          double dist[L];
          for_tiles<T>(x, b0, e0, td, [&](index_t b, index_t m) {
            for (index_t t = 0; t < trials; ++t) {
              td.to(cand_x[static_cast<std::size_t>(t)].data(), dist);
              double s = 0;
              for (index_t p = 0; p < m; ++p)
                s += weight_at(w, b + p) * std::min(closest[static_cast<std::size_t>(b + p)], dist[p]);
              acc(t) += s;
            }
          });
        },
        [](vector<double>& tot, const vector<double>& p) { tot += p; }, row_block_chunks(chunk));
    index_t best = 0;
    cand_pot.minCoeff(&best);  // first minimum
    chosen(c) = cand[static_cast<std::size_t>(best)];
    lower(cand_x[static_cast<std::size_t>(best)], false);
  }
  return chosen;
}

}  // namespace rnnabs::detail
