#pragma once
// The MPI communicator (optional: target rnnabs::mpi, CMake option RNNABS_WITH_MPI). The only header
// of the library that includes mpi.h. Give it any MPI_Comm; it works on a duplicate, so the library's
// messages never match the caller's and MPI errors come back as rnnabs::error instead of aborting.
//
//   rnnabs::dist::mpi_session mpi(argc, argv);      // MPI_Init_thread / MPI_Finalize
//   rnnabs::dist::mpi_communicator world;           // MPI_COMM_WORLD
//   gmm.fit(X_local, world);
#if !defined(RNNABS_HAVE_MPI)
#error "rnnabs/dist/mpi.hpp needs MPI: link the CMake target rnnabs::mpi (it defines RNNABS_HAVE_MPI)"
#endif
#include <mpi.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "rnnabs/core/communicator.hpp"
#include "rnnabs/core/error.hpp"

namespace rnnabs::dist {

namespace detail {
inline void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw error(rnnabs::detail::concat("mpi_communicator: ", what, " failed: ", std::string(msg, std::size_t(len))));
}
// MPI counts are int: larger messages go in pieces of at most this many bytes.
inline constexpr std::size_t max_piece = std::size_t{1} << 30;
}  // namespace detail

/// MPI_Init_thread (funneled: rnnabs threads with OpenMP, and only the calling thread talks to MPI) and
/// MPI_Finalize, for programs that own MPI. Does nothing when MPI is already initialised.
class mpi_session {
 public:
  mpi_session(int& argc, char**& argv) {
    int done = 0;
    MPI_Initialized(&done);
    if (done) return;
    int provided = 0;
    detail::check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    owner_ = true;
    if (provided < MPI_THREAD_FUNNELED) {
      MPI_Finalize();
      owner_ = false;
      throw error("mpi_session: this MPI library gives no MPI_THREAD_FUNNELED (OpenMP threads beside MPI)");
    }
  }
  mpi_session(const mpi_session&) = delete;
  mpi_session& operator=(const mpi_session&) = delete;
  ~mpi_session() {
    if (owner_) MPI_Finalize();
  }

 private:
  bool owner_ = false;
};

/// rnnabs::communicator over a duplicate of an MPI communicator. Counts the payload bytes this rank
/// sends (point-to-point, broadcasts as root, its block of each all-gather times the other ranks).
class mpi_communicator {
 public:
  explicit mpi_communicator(MPI_Comm parent = MPI_COMM_WORLD) {
    int done = 0;
    MPI_Initialized(&done);
    require(done != 0, "mpi_communicator: MPI is not initialised (construct an rnnabs::dist::mpi_session first)");
    detail::check(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  mpi_communicator(const mpi_communicator&) = delete;
  mpi_communicator& operator=(const mpi_communicator&) = delete;
  ~mpi_communicator() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  MPI_Comm native() const noexcept { return comm_; }
  std::uint64_t bytes_sent() const noexcept { return sent_; }
  void reset_bytes_sent() const noexcept { sent_ = 0; }

  void send(std::span<const std::byte> b, int to) const {
    check_peer(to, "send");
    for_pieces(b.size(), [&](std::size_t at, int n) {
      detail::check(MPI_Send(b.data() + at, n, MPI_BYTE, to, tag, comm_), "MPI_Send");
    });
    sent_ += b.size();
  }
  void receive(std::span<std::byte> b, int from) const {
    check_peer(from, "receive");
    for_pieces(b.size(), [&](std::size_t at, int n) {
      MPI_Status st;
      detail::check(MPI_Recv(b.data() + at, n, MPI_BYTE, from, tag, comm_, &st), "MPI_Recv");
      int got = 0;
      MPI_Get_count(&st, MPI_BYTE, &got);
      require<error>(got == n, "mpi_communicator::receive: ", got, " bytes from rank ", from, ", expected ", n);
    });
  }
  void broadcast(std::span<std::byte> b, int root) const {
    check_peer(root, "broadcast");
    for_pieces(b.size(), [&](std::size_t at, int n) {
      detail::check(MPI_Bcast(b.data() + at, n, MPI_BYTE, root, comm_), "MPI_Bcast");
    });
    if (rank_ == root) sent_ += b.size() * static_cast<std::size_t>(size_ - 1);
  }
  void all_gather(std::span<const std::byte> mine, std::span<std::byte> all) const {
    require(all.size() == mine.size() * static_cast<std::size_t>(size_), "mpi_communicator::all_gather: output has ",
            all.size(), " bytes, expected ", mine.size() * static_cast<std::size_t>(size_));
    require(mine.size() <= static_cast<std::size_t>(INT_MAX), "mpi_communicator::all_gather: a block of ", mine.size(),
            " bytes is too large");
    const int n = static_cast<int>(mine.size());
    detail::check(MPI_Allgather(mine.data(), n, MPI_BYTE, all.data(), n, MPI_BYTE, comm_), "MPI_Allgather");
    sent_ += mine.size() * static_cast<std::size_t>(size_ - 1);
  }

 private:
  static constexpr int tag = 0x7a11;
  void check_peer(int r, const char* what) const {
    require(r >= 0 && r < size_, "mpi_communicator::", what, ": rank ", r, " outside [0, ", size_, ")");
  }
  template <class F>
  static void for_pieces(std::size_t bytes, F&& f) {
    std::size_t at = 0;
    do {
      const std::size_t n = std::min(detail::max_piece, bytes - at);
      f(at, static_cast<int>(n));
      at += n;
    } while (at < bytes);
  }
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  mutable std::uint64_t sent_ = 0;
};

static_assert(communicator<mpi_communicator>);

}  // namespace rnnabs::dist
