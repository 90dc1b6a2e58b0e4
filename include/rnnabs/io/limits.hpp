#pragma once
// The allocation limit of the readers: the most bytes a loader may allocate on the word of a file
// (a header's shape, a zip member's declared size, an archive's counts) before the data that backs
// them has arrived. A corrupt or hostile file that asks for more gets an io_error naming the file,
// what it asked for and the limit, never a multi-terabyte allocation (std::bad_alloc) or a
// decompression bomb. Process-wide, thread-safe; default 4 GiB.
//
//   rnnabs::io::set_max_alloc_bytes(std::uint64_t{16} << 30);    // read bigger arrays
//   { rnnabs::io::max_alloc_scope s(64 << 20); ... }               // temporarily lower (fuzzing)
#include <atomic>
#include <cstdint>
#include <string_view>

#include "rnnabs/core/error.hpp"

namespace rnnabs::io {

/// The default limit: 4 GiB.
inline constexpr std::uint64_t default_max_alloc_bytes = std::uint64_t{4} << 30;

namespace detail {
inline std::atomic<std::uint64_t>& max_alloc_slot() noexcept {
  static std::atomic<std::uint64_t> v{default_max_alloc_bytes};
  return v;
}
}  // namespace detail

/// The current limit in bytes.
inline std::uint64_t max_alloc_bytes() noexcept { return detail::max_alloc_slot().load(std::memory_order_relaxed); }

/// Sets the limit (bytes, > 0) for the whole process; returns the previous one.
inline std::uint64_t set_max_alloc_bytes(std::uint64_t bytes) {
  require<invalid_argument>(bytes > 0, "set_max_alloc_bytes: the limit must be positive");
  return detail::max_alloc_slot().exchange(bytes, std::memory_order_relaxed);
}

/// Sets the limit for the lifetime of the object, then restores the previous one.
class max_alloc_scope {
 public:
  explicit max_alloc_scope(std::uint64_t bytes) : previous_(set_max_alloc_bytes(bytes)) {}
  max_alloc_scope(const max_alloc_scope&) = delete;
  max_alloc_scope& operator=(const max_alloc_scope&) = delete;
  ~max_alloc_scope() { detail::max_alloc_slot().store(previous_, std::memory_order_relaxed); }

 private:
  std::uint64_t previous_;
};

namespace detail {
/// Throws io_error unless `count` elements of `width` bytes fit the limit (overflow included);
/// `origin` names the file, `what` the request ("data of shape (..)", "member 'x'").
inline void check_alloc(std::uint64_t count, std::uint64_t width, std::string_view origin, std::string_view what) {
  std::uint64_t bytes = 0;
  const bool overflow = __builtin_mul_overflow(count, width, &bytes);
  const std::uint64_t limit = max_alloc_bytes();
  if (overflow || bytes > limit) [[unlikely]]
    throw io_error(rnnabs::detail::concat(origin, ": ", what, " needs ",
                                          overflow ? std::string("more than 2^64") : std::to_string(bytes),
                                          " bytes, over the allocation limit of ", limit,
                                          " bytes (corrupt file? raise it with rnnabs::io::set_max_alloc_bytes)"));
}
}  // namespace detail

}  // namespace rnnabs::io
