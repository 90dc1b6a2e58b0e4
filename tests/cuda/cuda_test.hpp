#pragma once
// Shared helpers of the CUDA tests: skip without a device, relative errors, random data.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "rnnabs/cuda/runtime.cuh"

/// GPU tests skip (and say so) when cudaGetDeviceCount reports no device or no driver.
#define RNNABS_REQUIRE_GPU()                                                                  \
  do {                                                                                        \
    if (!::rnnabs::cuda::has_device()) GTEST_SKIP() << "no CUDA device (cudaGetDeviceCount)"; \
  } while (0)

namespace rnnabs::test {

/// ‖a − b‖ / max(‖b‖, tiny); +inf when either holds a NaN or an Inf (NaN never passes).
template <class A, class B>
double rel_err(const A& a, const B& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  const auto ad = a.template cast<double>().eval();
  const auto bd = b.template cast<double>().eval();
  if (!ad.allFinite() || !bd.allFinite()) return std::numeric_limits<double>::infinity();
  const double den = std::max(bd.norm(), 1e-300);
  return (ad - bd).norm() / den;
}

/// Per-precision bound for GPU results against a double reference: float well under 1e-3.
template <class T>
constexpr double tol() {
  return std::is_same_v<T, float> ? 2e-4 : 1e-9;
}

inline std::mt19937_64& rng_engine() {
  static std::mt19937_64 g(std::random_device{}());  // fresh inputs on every run
  return g;
}
inline double uniform(double a = -1, double b = 1) {
  return std::uniform_real_distribution<double>(a, b)(rng_engine());
}
inline double normal() { return std::normal_distribution<double>(0, 1)(rng_engine()); }

}  // namespace rnnabs::test
