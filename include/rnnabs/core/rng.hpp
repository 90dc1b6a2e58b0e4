#pragma once
// Seeded random numbers that give the same stream on every platform and thread count.
// std::*_distribution is implementation-defined, so the library draws through these instead.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <span>
#include <utility>
#include <vector>

#include "rnnabs/core/error.hpp"

namespace rnnabs {

namespace detail {
__extension__ typedef unsigned __int128 uint128;
}

/// SplitMix64: seeds other generators and derives independent sub-seeds.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// xoshiro256** (Blackman & Vigna). Satisfies std::uniform_random_bit_generator.
class rng {
 public:
  using result_type = std::uint64_t;
  explicit rng(std::uint64_t seed = 0) noexcept {
    std::uint64_t s = seed;
    for (auto& w : s_) w = splitmix64(s);
  }
  /// An independent generator for sub-task `stream` (e.g. a chunk or a restart), same for any thread count.
  [[nodiscard]] static rng stream(std::uint64_t seed, std::uint64_t stream) noexcept {
    std::uint64_t s = seed ^ (0xD1B54A32D192ED03ull * (stream + 1));
    return rng(splitmix64(s));
  }
  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }
  result_type operator()() noexcept {
    const std::uint64_t r = std::rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return r;
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [0, n) without modulo bias (Lemire's multiply-and-reject).
  std::uint64_t below(std::uint64_t n) {
    require(n > 0, "rng::below: n must be positive");
    detail::uint128 m = static_cast<detail::uint128>((*this)()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t thresh = (0 - n) % n;
      while (low < thresh) {
        m = static_cast<detail::uint128>((*this)()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }
  /// Standard normal (Marsaglia's polar method; the spare value is kept).
  double normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }
  /// Fisher–Yates shuffle with this generator.
  template <class T>
  void shuffle(std::span<T> x) {
    for (std::size_t i = x.size(); i > 1; --i) std::swap(x[i - 1], x[below(i)]);
  }

 private:
  std::uint64_t s_[4]{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

/// min(k, |pool|) distinct elements of `pool` drawn uniformly without replacement (partial
/// Fisher–Yates), in draw order.
template <class T>
std::vector<T> draw_without_replacement(rng& g, std::vector<T> pool, std::size_t k) {
  k = std::min(k, pool.size());
  for (std::size_t i = 0; i < k; ++i) std::swap(pool[i], pool[i + static_cast<std::size_t>(g.below(pool.size() - i))]);
  pool.resize(k);
  return pool;
}

}  // namespace rnnabs
