#pragma once
#if defined(_OPENMP)
#include <omp.h>
#endif
// Chunk loop for nn/: like core's parallel_for, but it always opens the OpenMP region when more
// than one thread is allowed, even for a single chunk. Inside a team Eigen never threads its GEMMs;
// outside one it would, with thread-count-dependent blocking, and the last bits of a result would
// then depend on the thread count.
#include <exception>
#include <mutex>

#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs::detail {

/// `small`: every GEMM inside f is below Eigen's threading threshold (m·n·k < 100000), so a lone
/// chunk may run without a team (a region costs a thread wake-up, noticeable on tiny problems).
template <class F>
void for_each_chunk(index_t n, F&& f, bool small = false) {
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
#pragma omp parallel
    {
#pragma omp for schedule(dynamic, 1)
      for (index_t c = 0; c < n; ++c) run(c);
    }
  } else {
    for (index_t c = 0; c < n; ++c) run(c);
  }
#else
  for (index_t c = 0; c < n; ++c) run(c);
#endif
  if (err) std::rethrow_exception(err);
}

}  // namespace rnnabs::detail

#include <optional>
#include <utility>
#include <vector>

namespace rnnabs::detail {

/// Folds per-chunk results into a total strictly in chunk order, as soon as the prefix is complete,
/// so that at most about one part per thread is alive (parameter-sized parts can be large).
template <class Acc, class Merge>
class ordered_merge {
 public:
  ordered_merge(index_t parts, Acc zero, Merge merge)
      : pending_(static_cast<std::size_t>(parts)), total_(std::move(zero)), merge_(std::move(merge)) {}
  void submit(index_t c, Acc part) {
    std::lock_guard lock(m_);
    pending_[static_cast<std::size_t>(c)] = std::move(part);
    while (next_ < pending_.size() && pending_[next_]) {
      merge_(total_, *pending_[next_]);
      pending_[next_].reset();
      ++next_;
    }
  }
  Acc take() { return std::move(total_); }

 private:
  std::mutex m_;
  std::vector<std::optional<Acc>> pending_;
  std::size_t next_ = 0;
  Acc total_;
  Merge merge_;
};

}  // namespace rnnabs::detail
