#pragma once
// Process groups. A distributed fit shards the rows across the ranks of a communicator; every rank
// computes the fixed-size chunk statistics of its rows, and the chunk statistics are folded in one
// global chunk order (the running total travels rank to rank, then the last rank broadcasts it). That
// is the fold a single process does, so results are bit-identical for any number of ranks and
// threads. `single_process` is the default and communicates nothing; dist/mpi.hpp adds MPI.
//
//   rnnabs::gaussian_mixture gmm(opt);
//   gmm.fit(X_local, rnnabs::dist::mpi_communicator{});   // X_local: this rank's rows
#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// A group of ranks that exchange byte messages. Calls are collective where MPI's are (broadcast,
/// all_gather: every rank calls them in the same order); send/receive are blocking point-to-point.
///   rank(), size()                       this rank in [0, size)
///   send(bytes, to), receive(bytes, from) one message, the receiver knows its length
///   broadcast(bytes, root)               root's bytes to every rank
///   all_gather(mine, all)                equal-sized blocks, all[r·|mine| ...] from rank r
template <class C>
concept communicator = requires(const C& c, std::span<std::byte> out, std::span<const std::byte> in, int peer) {
  { c.rank() } -> std::convertible_to<int>;
  { c.size() } -> std::convertible_to<int>;
  c.send(in, peer);
  c.receive(out, peer);
  c.broadcast(out, peer);
  c.all_gather(in, out);
};

/// The group of one: what every routine uses unless given another communicator.
class single_process {
 public:
  int rank() const noexcept { return 0; }
  int size() const noexcept { return 1; }
  void send(std::span<const std::byte>, int peer) const {
    throw invalid_argument(detail::concat("single_process::send: no rank ", peer, " in a group of one"));
  }
  void receive(std::span<std::byte>, int peer) const {
    throw invalid_argument(detail::concat("single_process::receive: no rank ", peer, " in a group of one"));
  }
  void broadcast(std::span<std::byte>, int) const noexcept {}
  void all_gather(std::span<const std::byte> mine, std::span<std::byte> all) const {
    require(all.size() == mine.size(), "single_process::all_gather: output has ", all.size(), " bytes, expected ",
            mine.size());
    if (!mine.empty()) std::memcpy(all.data(), mine.data(), mine.size());
  }
};

/// A non-owning, type-erased reference to any communicator: what the (non-template) fitting code
/// takes, so a user's own communicator type needs no recompilation of the library's templates.
/// Default-constructed, it refers to the single process.
class communicator_ref {
 public:
  communicator_ref() noexcept : communicator_ref(single_) {}
  template <communicator C>
    requires(!std::same_as<std::remove_cvref_t<C>, communicator_ref>)
  communicator_ref(const C& c) noexcept : obj_(&c), vt_(&table<C>) {}  // NOLINT: implicit by design

  int rank() const { return vt_->rank(obj_); }
  int size() const { return vt_->size(obj_); }
  void send(std::span<const std::byte> b, int to) const { vt_->send(obj_, b, to); }
  void receive(std::span<std::byte> b, int from) const { vt_->receive(obj_, b, from); }
  void broadcast(std::span<std::byte> b, int root) const { vt_->broadcast(obj_, b, root); }
  void all_gather(std::span<const std::byte> mine, std::span<std::byte> all) const { vt_->all_gather(obj_, mine, all); }

 private:
  struct vtable {
    int (*rank)(const void*);
    int (*size)(const void*);
    void (*send)(const void*, std::span<const std::byte>, int);
    void (*receive)(const void*, std::span<std::byte>, int);
    void (*broadcast)(const void*, std::span<std::byte>, int);
    void (*all_gather)(const void*, std::span<const std::byte>, std::span<std::byte>);
  };
  template <class C>
  static const C& self(const void* p) noexcept {
    return *static_cast<const C*>(p);
  }
  template <class C>
  static constexpr vtable table = {
      [](const void* p) { return static_cast<int>(self<C>(p).rank()); },
      [](const void* p) { return static_cast<int>(self<C>(p).size()); },
      [](const void* p, std::span<const std::byte> b, int to) { self<C>(p).send(b, to); },
      [](const void* p, std::span<std::byte> b, int from) { self<C>(p).receive(b, from); },
      [](const void* p, std::span<std::byte> b, int root) { self<C>(p).broadcast(b, root); },
      [](const void* p, std::span<const std::byte> m, std::span<std::byte> a) { self<C>(p).all_gather(m, a); },
  };
  inline static const single_process single_{};
  const void* obj_;
  const vtable* vt_;
};

/// Every rank's value of a trivially copyable v, in rank order.
template <class T>
  requires std::is_trivially_copyable_v<T>
std::vector<T> all_gather_value(communicator_ref c, const T& v) {
  std::vector<T> all(static_cast<std::size_t>(c.size()));
  c.all_gather(std::as_bytes(std::span<const T>(&v, 1)), std::as_writable_bytes(std::span<T>(all)));
  return all;
}

/// Root's value of a trivially copyable v on every rank.
template <class T>
  requires std::is_trivially_copyable_v<T>
T broadcast_value(communicator_ref c, T v, int root) {
  c.broadcast(std::as_writable_bytes(std::span<T>(&v, 1)), root);
  return v;
}

/// Whether `mine` holds on any rank (collective).
inline bool any_rank(communicator_ref c, bool mine) {
  if (c.size() == 1) return mine;
  const std::vector<char> all = all_gather_value(c, static_cast<char>(mine));
  return std::find(all.begin(), all.end(), char{1}) != all.end();
}

/// The common value of a count every rank must pass alike (its rows' width, a parameter count):
/// throws on every rank alike when they differ ("who: rank r's <what> is v_r, rank 0's v_0"). Collective.
inline index_t same_on_every_rank(communicator_ref c, index_t mine, const char* who, const char* what) {
  const std::vector<index_t> all = all_gather_value(c, mine);
  for (std::size_t r = 0; r < all.size(); ++r)
    require(all[r] == all[0], who, ": rank ", r, "'s ", what, " is ", all[r], ", rank 0's ", all[0]);
  return all[0];
}

/// Checks that every rank passes the same bytes (the point every rank's solver starts from, say) by
/// comparing 64-bit FNV-1a hashes; throws on every rank alike when one differs. Collective.
inline void same_bytes_on_every_rank(communicator_ref c, std::span<const std::byte> b, const char* who,
                                     const char* what) {
  if (c.size() == 1) return;
  std::uint64_t h = 14695981039346656037ull;
  for (const std::byte x : b) h = (h ^ static_cast<std::uint64_t>(x)) * 1099511628211ull;
  const std::vector<std::uint64_t> all = all_gather_value(c, h);
  for (std::size_t r = 0; r < all.size(); ++r)
    require(all[r] == all[0], who, ": rank ", r, "'s ", what, " differ from rank 0's (every rank must pass the same)");
}

/// Rows shared by the ranks: this rank holds global rows [offset, offset + local) of `global`; `starts`
/// holds every rank's offset and, last, `global`.
struct row_shard {
  index_t offset = 0, local = 0, global = 0;
  std::vector<index_t> starts{0, 0};
  /// The rank holding global row i.
  int owner(index_t i) const noexcept {
    int r = 0;
    while (r + 2 < static_cast<int>(starts.size()) && starts[static_cast<std::size_t>(r + 1)] <= i) ++r;
    return r;
  }
};

/// The rows [begin, end) that rank r of `size` should load from a data set of n rows: near-equal
/// shares in multiples of `alignment` (the last rank that holds rows takes the remainder). The default
/// suits the fits of stats/ and abstraction/; sharded influence objectives use their own chunk.
inline std::pair<index_t, index_t> shard_rows(index_t n, int r, int size, index_t alignment = shard_row_alignment) {
  require(size >= 1 && r >= 0 && r < size, "shard_rows: rank ", r, " of ", size);
  require(n >= 0, "shard_rows: n = ", n, ", expected >= 0");
  require(alignment >= 1, "shard_rows: alignment must be >= 1, got ", alignment);
  const index_t blocks = chunk_count(n, alignment), per = blocks / size, extra = blocks % size;
  auto start = [&](index_t q) { return std::min(n, (q * per + std::min(q, extra)) * alignment); };
  return {start(r), r + 1 == size ? n : start(r + 1)};
}

/// Gathers every rank's row count. Throws (on every rank alike) if a rank's rows start at a global row
/// that is not a multiple of `alignment` (ranks holding no rows are exempt).
inline row_shard make_row_shard(communicator_ref c, index_t local, const char* who,
                                index_t alignment = shard_row_alignment) {
  const std::vector<index_t> n = all_gather_value(c, local);
  row_shard s;
  s.local = local;
  s.starts.assign(n.size() + 1, 0);
  for (std::size_t r = 0; r < n.size(); ++r) {
    require(n[r] >= 0, who, ": rank ", r, " holds ", n[r], " rows");
    require(n[r] == 0 || s.starts[r] % alignment == 0, who, ": the rows of rank ", r, " start at row ", s.starts[r],
            "; each rank's rows must start at a multiple of ", alignment, " (rnnabs::shard_rows gives such ranges)");
    s.starts[r + 1] = s.starts[r] + n[r];
  }
  s.offset = s.starts[static_cast<std::size_t>(c.rank())];
  s.global = s.starts.back();
  return s;
}

namespace detail {

/// The contiguous buffers of a reduction accumulator, visited in a fixed order (what travels between
/// ranks). Accumulators are doubles, vectors, Eigen objects, or types with a member for_each_buffer.
template <class F>
void for_each_buffer(double& v, F&& f) {
  f(std::as_writable_bytes(std::span<double>(&v, 1)));
}
template <class T, class A, class F>
  requires std::is_trivially_copyable_v<T>
void for_each_buffer(std::vector<T, A>& v, F&& f) {
  f(std::as_writable_bytes(std::span<T>(v.data(), v.size())));
}
template <class D, class F>
  requires std::is_base_of_v<Eigen::PlainObjectBase<D>, D>
void for_each_buffer(D& v, F&& f) {
  f(std::as_writable_bytes(std::span<typename D::Scalar>(v.data(), static_cast<std::size_t>(v.size()))));
}
template <class Acc, class F>
  requires requires(Acc& a, F& f) { a.for_each_buffer(f); }
void for_each_buffer(Acc& a, F&& f) {
  a.for_each_buffer(f);
}

template <class Acc>
void send_acc(communicator_ref c, Acc& a, int to) {
  std::vector<std::byte> msg;
  for_each_buffer(a, [&](std::span<std::byte> b) { msg.insert(msg.end(), b.begin(), b.end()); });
  c.send(msg, to);
}
template <class Acc>
std::size_t acc_bytes(Acc& a) {
  std::size_t n = 0;
  for_each_buffer(a, [&](std::span<std::byte> b) { n += b.size(); });
  return n;
}
template <class Acc>
void unpack_acc(Acc& a, std::span<const std::byte> msg) {
  std::size_t at = 0;
  for_each_buffer(a, [&](std::span<std::byte> b) {
    if (!b.empty()) std::memcpy(b.data(), msg.data() + at, b.size());
    at += b.size();
  });
}

enum class error_kind : int { none = 0, invalid_argument = 1, io_error = 2, numerical_error = 3, other = 4 };

inline error_kind classify(std::exception_ptr e, std::string& what) {
  try {
    std::rethrow_exception(e);
  } catch (const rnnabs::invalid_argument& x) {
    what = x.what();
    return error_kind::invalid_argument;
  } catch (const io_error& x) {
    what = x.what();
    return error_kind::io_error;
  } catch (const numerical_error& x) {
    what = x.what();
    return error_kind::numerical_error;
  } catch (const std::exception& x) {
    what = x.what();
    return error_kind::other;
  } catch (...) {
    what = "unknown exception";
    return error_kind::other;
  }
}

}  // namespace detail

/// Agreement on failure, for a point every rank reaches: when `e` is set on any rank, every rank throws
/// the same error (type and message of the lowest failing rank, the message prefixed "rank r: "), so no
/// rank is left waiting in a later collective. On one process it rethrows e unchanged.
inline void agree(communicator_ref c, std::exception_ptr e) {
  if (c.size() == 1) {
    if (e) std::rethrow_exception(e);
    return;
  }
  std::string what;
  const detail::error_kind mine = e ? detail::classify(e, what) : detail::error_kind::none;
  const std::vector<detail::error_kind> all = all_gather_value(c, mine);
  int root = 0;
  while (root < c.size() && all[static_cast<std::size_t>(root)] == detail::error_kind::none) ++root;
  if (root == c.size()) return;
  const auto len = broadcast_value<std::uint64_t>(c, what.size(), root);
  what.resize(len);
  c.broadcast(std::as_writable_bytes(std::span<char>(what.data(), what.size())), root);
  std::string msg = detail::concat("rank ", root, ": ", what);
  switch (all[static_cast<std::size_t>(root)]) {
    case detail::error_kind::invalid_argument: throw invalid_argument(msg);
    case detail::error_kind::io_error: throw io_error(msg);
    case detail::error_kind::numerical_error: throw numerical_error(msg);
    default: throw error(msg);
  }
}

/// Runs f() on every rank and agrees on failure (see agree); returns f's value.
template <class F>
auto collectively(communicator_ref c, F&& f) {
  if (c.size() == 1) return f();
  using R = decltype(f());
  std::exception_ptr err;
  if constexpr (std::is_void_v<R>) {
    try {
      f();
    } catch (...) {
      err = std::current_exception();
    }
    agree(c, err);
  } else {
    std::optional<std::remove_cvref_t<R>> out;
    try {
      out.emplace(f());
    } catch (...) {
      err = std::current_exception();
    }
    agree(c, err);
    return std::remove_cvref_t<R>(std::move(*out));
  }
}

/// Continues a left fold across the ranks in rank order: the running total arrives from rank r − 1,
/// fold_local(total) continues it with this rank's parts, it goes on to rank r + 1, and the last rank's
/// total is broadcast. fold_local must not throw (agree before calling this).
template <class Acc, class F>
void chain_fold(communicator_ref c, Acc& total, F&& fold_local) {
  const int r = c.rank(), n = c.size();
  if (n == 1) {
    fold_local(total);
    return;
  }
  std::vector<std::byte> msg(detail::acc_bytes(total));
  if (r > 0) {
    c.receive(msg, r - 1);
    detail::unpack_acc(total, msg);
  }
  fold_local(total);
  if (r + 1 < n) detail::send_acc(c, total, r + 1);
  msg.clear();
  detail::for_each_buffer(total, [&](std::span<std::byte> b) { msg.insert(msg.end(), b.begin(), b.end()); });
  c.broadcast(msg, n - 1);
  detail::unpack_acc(total, msg);
}

/// Global row i of a sharded matrix (this rank's rows x, their place in `s`) on every rank, in double
/// (collective: the rank holding it broadcasts it).
template <class X>
vector<double> global_row(communicator_ref c, const row_shard& s, const X& x, index_t i) {
  vector<double> r(x.cols());
  const int owner = s.owner(i);
  if (owner == c.rank()) r = x.row(i - s.offset).transpose().template cast<double>();
  if (c.size() > 1)
    c.broadcast(std::as_writable_bytes(std::span<double>(r.data(), static_cast<std::size_t>(r.size()))), owner);
  return r;
}

/// Running sums across the ranks: out[i] = the sum of f(j) over all global rows j <= i, added one by
/// one in global order, for this rank's rows (out has s.local entries); returns the grand total on every
/// rank. The same bits as the sequential loop on one process.
template <class F>
double global_prefix_sum(communicator_ref c, const row_shard& s, std::vector<double>& out, F&& f) {
  out.resize(static_cast<std::size_t>(s.local));
  double run = 0;
  chain_fold(c, run, [&](double& t) {
    for (index_t i = 0; i < s.local; ++i) out[static_cast<std::size_t>(i)] = t += f(i);
  });
  return run;
}

/// First global row i whose running sum (global_prefix_sum's out) is >= v, clipped to the last row
/// (numpy's searchsorted, side = 'left'). Collective.
inline index_t global_search(communicator_ref c, const row_shard& s, const std::vector<double>& cum, double v) {
  const auto it = std::lower_bound(cum.begin(), cum.end(), v);
  const index_t mine = it == cum.end() ? s.global : s.offset + (it - cum.begin());
  const std::vector<index_t> all = all_gather_value(c, mine);
  for (const index_t i : all)
    if (i < s.global) return i;  // running sums rise with the rank: the lowest rank's hit is the first
  return s.global - 1;
}

/// Whether every rank's rows start at a multiple of shard_row_alignment (ranks without rows exempt).
inline bool rows_aligned(communicator_ref c, index_t local) {
  if (c.size() == 1) return true;
  const std::vector<index_t> n = all_gather_value(c, local);
  index_t start = 0;
  for (const index_t m : n) {
    if (m > 0 && start % shard_row_alignment != 0) return false;
    start += m;
  }
  return true;
}

/// This rank's rows after moving rows to lower ranks so that every rank's rows start at a multiple of
/// shard_row_alignment (at most that many rows cross each rank boundary); the global row order is kept.
/// Collective. A distributed fit takes any shard sizes through this.
template <class T>
matrix<T> align_rows(communicator_ref c, const matrix<T>& x) {
  const int P = c.size(), r = c.rank();
  const std::vector<index_t> n = all_gather_value(c, static_cast<index_t>(x.rows()));
  same_on_every_rank(c, x.cols(), "align_rows", "row width (a rank without rows passes 0 x D too)");
  std::vector<index_t> s(static_cast<std::size_t>(P) + 1, 0), t(static_cast<std::size_t>(P) + 1, 0);
  for (int q = 0; q < P; ++q)
    s[static_cast<std::size_t>(q) + 1] = s[static_cast<std::size_t>(q)] + n[static_cast<std::size_t>(q)];
  const index_t N = s.back(), A = shard_row_alignment;
  for (int q = 0; q < P; ++q)
    t[static_cast<std::size_t>(q)] = std::min(N, (s[static_cast<std::size_t>(q)] + A - 1) / A * A);
  t.back() = N;
  auto overlap = [&](int holder, int target) {  // rows of `holder` that `target` owns after alignment
    const auto h = static_cast<std::size_t>(holder), g = static_cast<std::size_t>(target);
    return std::pair<index_t, index_t>{std::max(s[h], t[g]), std::min(s[h + 1], t[g + 1])};
  };
  const index_t d = x.cols();
  // Rows only move down (t[q] >= s[q]); every rank sends first, lowest target first, then receives
  // from higher ranks in order, so the blocking messages cannot wait in a cycle.
  for (int q = 0; q < r; ++q) {
    const auto [b, e] = overlap(r, q);
    if (e > b)
      c.send(std::as_bytes(std::span<const T>(x.data() + (b - s[static_cast<std::size_t>(r)]) * d,
                                              static_cast<std::size_t>((e - b) * d))),
             q);
  }
  const auto me = static_cast<std::size_t>(r);
  matrix<T> out(t[me + 1] - t[me], d);
  const auto [kb, ke] = overlap(r, r);
  if (ke > kb) out.topRows(ke - kb) = x.middleRows(kb - s[me], ke - kb);
  for (int q = r + 1; q < P; ++q) {
    const auto [b, e] = overlap(q, r);
    if (e > b)
      c.receive(
          std::as_writable_bytes(std::span<T>(out.data() + (b - t[me]) * d, static_cast<std::size_t>((e - b) * d))), q);
  }
  return out;
}

/// Every rank's sequences, in rank order, on every rank (collective).
inline std::vector<index_vector> all_gather_sequences(communicator_ref c, const std::vector<index_vector>& mine) {
  if (c.size() == 1) return mine;
  std::vector<index_t> flat{static_cast<index_t>(mine.size())};  // count, lengths, values
  for (const auto& v : mine) flat.push_back(v.size());
  for (const auto& v : mine) flat.insert(flat.end(), v.data(), v.data() + v.size());
  const std::vector<std::uint64_t> sizes = all_gather_value(c, static_cast<std::uint64_t>(flat.size()));
  std::vector<index_vector> all;
  for (int q = 0; q < c.size(); ++q) {
    std::vector<index_t> buf = q == c.rank() ? flat : std::vector<index_t>(sizes[static_cast<std::size_t>(q)]);
    c.broadcast(std::as_writable_bytes(std::span<index_t>(buf)), q);
    const index_t m = buf[0];
    index_t at = 1 + m;
    for (index_t i = 0; i < m; ++i) {
      const index_t len = buf[static_cast<std::size_t>(1 + i)];
      all.emplace_back(Eigen::Map<const index_vector>(buf.data() + at, len));
      at += len;
    }
  }
  return all;
}

/// chunked_reduce (parallel.hpp) over this rank's `local` items, items [o, o + local) of a global index
/// space with o a multiple of `chunk` × `block` (`block` <= 0: of `chunk`): the chunk (block <= 0) or
/// block partials are folded in global order across the ranks, so the result is the single process's
/// chunked_reduce with the same chunk and block, bit for bit. A failure on any rank is thrown on every
/// rank. Each rank holds its partials until the running total reaches it: pass blocks for big sums.
template <class Acc, class Map, class Merge>
Acc chunked_reduce(communicator_ref c, index_t local, index_t chunk, const Acc& zero, Map&& map, Merge&& merge,
                   index_t block = 0) {
  if (c.size() == 1) return chunked_reduce(local, chunk, zero, map, merge, block);
  const index_t nc = chunk_count(local, chunk);
  std::vector<std::optional<Acc>> parts(static_cast<std::size_t>(block > 0 ? chunk_count(nc, block) : nc));
  std::exception_ptr err;
  try {
    if (block > 0) {
      blocked_partials(local, chunk, block, zero, map, merge,
                       [&](index_t b, Acc part) { parts[static_cast<std::size_t>(b)] = std::move(part); });
    } else {  // the chunk partials themselves: the single process folds them into the total directly
      parallel_for(nc, [&](index_t k) {
        Acc part = zero;
        const index_t b = k * chunk;
        map(b, std::min(local, b + chunk), part);
        parts[static_cast<std::size_t>(k)] = std::move(part);
      });
    }
  } catch (...) {
    err = std::current_exception();
  }
  agree(c, err);
  Acc total = zero;
  chain_fold(c, total, [&](Acc& t) {
    for (auto& p : parts) merge(t, *p);
  });
  return total;
}

}  // namespace rnnabs
