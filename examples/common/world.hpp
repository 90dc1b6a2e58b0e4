#pragma once
// The process group of an experiment run under `mpirun -np N`: MPI's world when the examples are
// built with MPI (RNNABS_WITH_MPI), else the single process. Rank 0 prints and writes the results.
#include <memory>
#include <optional>

#include <cstdio>

#include <rnnabs/core/communicator.hpp>
#ifdef RNNABS_HAVE_MPI
#include <rnnabs/dist/mpi.hpp>
#endif

#include "text.hpp"

namespace examples {

class world {
 public:
#ifdef RNNABS_HAVE_MPI
  world(int& argc, char**& argv) : session_(argc, argv), mpi_(std::make_unique<rnnabs::dist::mpi_communicator>()) {}
  rnnabs::communicator_ref comm() const { return *mpi_; }
  /// Payload bytes this rank has sent so far.
  std::size_t bytes_sent() const { return mpi_->bytes_sent(); }
#else
  world(int&, char**&) {}
  rnnabs::communicator_ref comm() const { return {}; }
  std::size_t bytes_sent() const { return 0; }
#endif
  int rank() const { return comm().rank(); }
  int size() const { return comm().size(); }
  bool root() const { return rank() == 0; }
  /// Prints the pieces (examples::concat) on rank 0 only.
  template <class... A>
  void say(const A&... a) const {
    if (!root()) return;
    std::fputs(concat(a...).c_str(), stdout);
    std::fflush(stdout);
  }

  /// f() on rank 0, then (once rank 0 succeeded) on the others: for a cache that rank 0 fills and the
  /// others read. A failure on rank 0 is thrown on every rank.
  template <class F>
  auto root_first(F&& f) const {
    using R = decltype(f());
    std::optional<R> out;
    const auto on = [&](bool mine) {
      rnnabs::collectively(comm(), [&] {
        if (mine) out.emplace(f());
        return 0;
      });
    };
    on(root());
    on(!root());
    return std::move(*out);
  }

 private:
#ifdef RNNABS_HAVE_MPI
  rnnabs::dist::mpi_session session_;
  std::unique_ptr<rnnabs::dist::mpi_communicator> mpi_;
#endif
};

}  // namespace examples
