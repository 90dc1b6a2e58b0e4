#pragma once
// Threading whose results do not depend on the thread count: work is cut into chunks of a
// fixed size, each chunk reduces into its own slot, and slots are merged in chunk order.
#include <algorithm>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "rnnabs/core/types.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace rnnabs {

/// Threads a parallel region would use now (1 without OpenMP).
inline int max_threads() noexcept {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// Sets the thread count of later parallel regions (no-op without OpenMP).
inline void set_threads(int n) noexcept {
#if defined(_OPENMP)
  omp_set_num_threads(std::max(1, n));
#else
  (void)n;
#endif
}

/// Runs f(c) for c in [0, n) on the OpenMP team; the first exception is rethrown after the loop.
/// The team is opened even for a single chunk (unless `small`): inside a team Eigen never threads its
/// own GEMMs, outside one it would, with thread-count-dependent blocking. Pass small = true when every
/// GEMM inside f is below Eigen's threading threshold, to save the wake-up on tiny problems.
/// Called from inside a parallel region, the loop runs on the calling thread.
template <class F>
void parallel_for(index_t n, F&& f, bool small = false) {
  std::exception_ptr err;
  std::mutex m;
  const auto run = [&](index_t c) {
    try {
      f(c);
    } catch (...) {
      std::lock_guard lock(m);
      if (!err) err = std::current_exception();
    }
  };
#if defined(_OPENMP)
  if (max_threads() > 1 && !omp_in_parallel() && (n > 1 || !small)) {
#pragma omp parallel for schedule(dynamic, 1)
    for (index_t c = 0; c < n; ++c) run(c);
  } else {
    for (index_t c = 0; c < n; ++c) run(c);
  }
#else
  (void)small;
  for (index_t c = 0; c < n; ++c) run(c);
#endif
  if (err) std::rethrow_exception(err);
}

/// Runs f() once inside the OpenMP team: Eigen products in f then run on one thread with one thread's
/// blocking, so their bits do not depend on the thread count (outside a team Eigen threads large
/// GEMMs and changes its blocking with the thread count).
template <class F>
void in_team(F&& f) {
  parallel_for(1, [&](index_t) { f(); });
}

/// The largest work chunk of a row loop, in rows; every chunk size divides it. A distributed fit starts
/// each rank's rows at a multiple of it, so each rank's chunks are the single process's chunks
/// (core/communicator.hpp).
inline constexpr index_t shard_row_alignment = 65536;

/// Number of chunks of size `chunk` covering n items.
constexpr index_t chunk_count(index_t n, index_t chunk) noexcept { return (n + chunk - 1) / chunk; }

/// Folds per-chunk results into a total strictly in chunk order as soon as the prefix is complete,
/// so only about one part per thread is alive at a time (parts can be parameter-sized).
template <class Acc, class Merge>
class ordered_merge {
 public:
  ordered_merge(index_t parts, Acc zero, Merge merge)
      : pending_(static_cast<std::size_t>(parts)), total_(std::move(zero)), merge_(std::forward<Merge>(merge)) {}
  /// Returns true to the one caller whose part completes the fold.
  bool submit(index_t c, Acc part) {
    std::lock_guard lock(m_);
    pending_[static_cast<std::size_t>(c)] = std::move(part);
    const std::size_t before = next_;
    while (next_ < pending_.size() && pending_[next_]) {
      merge_(total_, *pending_[next_]);
      pending_[next_].reset();
      ++next_;
    }
    return next_ == pending_.size() && before < next_;
  }
  Acc take() { return std::move(total_); }

 private:
  std::mutex m_;
  std::vector<std::optional<Acc>> pending_;
  std::size_t next_ = 0;
  Acc total_;
  Merge merge_;
};

/// Chunks per block of a row reduction whose chunks hold `chunk_rows` rows: blocks of
/// shard_row_alignment rows (see chunked_reduce).
inline index_t row_block_chunks(index_t chunk_rows) noexcept {
  return std::max<index_t>(1, shard_row_alignment / std::max<index_t>(1, chunk_rows));
}

/// The partials of the blocks of `block` chunks (block <= 0: one block of all chunks) over [0, n):
/// `map(begin, end, acc)` fills one accumulator per chunk (each a copy of `zero`), a block's chunks fold
/// from `zero` in chunk order, and each finished block goes to `done(b, partial)` (on any thread).
template <class Acc, class Map, class Merge, class Done>
void blocked_partials(index_t n, index_t chunk, index_t block, const Acc& zero, Map&& map, Merge&& merge, Done&& done) {
  const index_t nc = chunk_count(n, chunk);
  if (block <= 0) block = std::max<index_t>(1, nc);
  const index_t nb = chunk_count(nc, block);
  // A block's fold exists from its first finished chunk to its last: about one per thread at a time.
  std::vector<std::unique_ptr<ordered_merge<Acc, Merge&>>> blocks(static_cast<std::size_t>(nb));
  std::vector<std::once_flag> made(static_cast<std::size_t>(nb));
  parallel_for(nc, [&](index_t c) {
    Acc part = zero;
    const index_t lo = c * chunk;
    map(lo, std::min(n, lo + chunk), part);
    const index_t b = c / block;
    auto& blk = blocks[static_cast<std::size_t>(b)];
    std::call_once(made[static_cast<std::size_t>(b)], [&] {
      blk = std::make_unique<ordered_merge<Acc, Merge&>>(std::min(block, nc - b * block), zero, merge);
    });
    if (blk->submit(c - b * block, std::move(part))) {
      done(b, blk->take());
      blk.reset();
    }
  });
}

/// Deterministic map-reduce over [0, n): `map(begin, end, acc)` fills one accumulator per chunk (each a
/// copy of `zero`), and `merge(total, part)` folds them in chunk order. With block > 0 the chunks fold
/// in blocks of `block` chunks (each from `zero`) and the blocks' partials fold in block order: the
/// grouping a distributed reduction shares with one process (core/communicator.hpp), whose serial part
/// is one merge per block instead of one per chunk.
template <class Acc, class Map, class Merge>
Acc chunked_reduce(index_t n, index_t chunk, const Acc& zero, Map&& map, Merge&& merge, index_t block = 0) {
  const index_t nc = chunk_count(n, chunk);
  if (block <= 0) {
    ordered_merge<Acc, Merge&> folded(nc, zero, merge);
    parallel_for(nc, [&](index_t c) {
      Acc part = zero;
      const index_t b = c * chunk;
      map(b, std::min(n, b + chunk), part);
      folded.submit(c, std::move(part));
    });
    return folded.take();
  }
  ordered_merge<Acc, Merge&> total(chunk_count(nc, block), zero, merge);
  blocked_partials(n, chunk, block, zero, map, merge, [&](index_t b, Acc part) { total.submit(b, std::move(part)); });
  return total.take();
}

}  // namespace rnnabs
