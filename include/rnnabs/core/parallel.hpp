#pragma once
// Threading whose results do not depend on the thread count: work is cut into chunks of a
// fixed size, each chunk reduces into its own slot, and slots are merged in chunk order.
#include <algorithm>
#include <exception>
#include <mutex>
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
template <class F>
void parallel_for(index_t n, F&& f) {
  std::exception_ptr err;
  std::mutex m;
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic, 1) if (n > 1)
#endif
  for (index_t c = 0; c < n; ++c) {
    try {
      f(c);
    } catch (...) {
      std::lock_guard lock(m);
      if (!err) err = std::current_exception();
    }
  }
  if (err) std::rethrow_exception(err);
}

/// Number of chunks of size `chunk` covering n items.
constexpr index_t chunk_count(index_t n, index_t chunk) noexcept { return (n + chunk - 1) / chunk; }

/// Deterministic map-reduce over [0, n): `map(begin, end, acc)` fills one accumulator per chunk
/// (each a copy of `zero`), then `merge(total, part)` folds them in chunk order.
template <class Acc, class Map, class Merge>
Acc chunked_reduce(index_t n, index_t chunk, const Acc& zero, Map&& map, Merge&& merge) {
  const index_t nc = chunk_count(n, chunk);
  std::vector<Acc> part(static_cast<std::size_t>(nc), zero);
  parallel_for(nc, [&](index_t c) {
    const index_t b = c * chunk;
    map(b, std::min(n, b + chunk), part[static_cast<std::size_t>(c)]);
  });
  Acc total = zero;
  for (auto& p : part) merge(total, p);
  return total;
}

}  // namespace rnnabs
