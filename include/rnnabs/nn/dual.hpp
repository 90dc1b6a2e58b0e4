#pragma once
// Forward-mode dual numbers and the pointwise functions cells are written with.
//
// A cell's pointwise code is a template on its scalar S. Run with S = T it is the forward pass or
// the backward pass; run with S = dual<T> (value, tangent) it is their directional derivative.
// That is how the library gets exact Hessian-vector products (forward-over-reverse) through any
// cell, a user's own included, while the GEMMs stay plain real GEMMs.
#include <cmath>
#include <type_traits>

#include "rnnabs/nn/simd_pack.hpp"  // pack<T, W>: declared first so dual<pack> finds its functions

namespace rnnabs {

/// v + ε d with ε² = 0.
template <class T>
struct dual {
  T v{};
  T d{};
  constexpr dual() = default;
  constexpr dual(T value) : v(value) {}  // NOLINT: constants lift implicitly (S(1) - z)
  constexpr dual(T value, T tangent) : v(value), d(tangent) {}
};

// clang-format off
template <class T> constexpr dual<T> operator+(dual<T> a, dual<T> b) { return {a.v + b.v, a.d + b.d}; }
template <class T> constexpr dual<T> operator-(dual<T> a, dual<T> b) { return {a.v - b.v, a.d - b.d}; }
template <class T> constexpr dual<T> operator-(dual<T> a) { return {-a.v, -a.d}; }
template <class T> constexpr dual<T> operator*(dual<T> a, dual<T> b) { return {a.v * b.v, a.d * b.v + a.v * b.d}; }
template <class T> constexpr dual<T> operator/(dual<T> a, dual<T> b) {
  return {a.v / b.v, (a.d * b.v - a.v * b.d) / (b.v * b.v)};
}
template <class T> constexpr dual<T>& operator+=(dual<T>& a, dual<T> b) { return a = a + b; }
template <class T> constexpr dual<T>& operator-=(dual<T>& a, dual<T> b) { return a = a - b; }
template <class T> constexpr dual<T>& operator*=(dual<T>& a, dual<T> b) { return a = a * b; }

template <class T> struct is_dual : std::false_type {};
template <class T> struct is_dual<dual<T>> : std::true_type {};

/// The value part (the number itself for a plain scalar).
template <class T> constexpr T value_of(T x) { return x; }
template <class T> constexpr T value_of(dual<T> x) { return x.v; }
// clang-format on

/// Functions a cell or loss may use; each is exact for T and for dual<T>.
namespace pointwise {

template <class T>
T sigmoid(T x) {
  // Two branches so that exp never overflows.
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}
// clang-format off
template <class T> dual<T> sigmoid(dual<T> x) {
  const T s = sigmoid(x.v);
  return {s, x.d * s * (T(1) - s)};
}

template <class T> T tanh(T x) { return std::tanh(x); }
template <class T> dual<T> tanh(dual<T> x) {
  const T t = tanh(x.v);
  return {t, x.d * (T(1) - t * t)};
}

template <class T> T exp(T x) { return std::exp(x); }
template <class T> dual<T> exp(dual<T> x) {
  const T e = exp(x.v);
  return {e, x.d * e};
}

template <class T> T log(T x) { return std::log(x); }
template <class T> dual<T> log(dual<T> x) { return {log(x.v), x.d / x.v}; }

template <class T> T relu(T x) { return x > T(0) ? x : T(0); }
template <class T> dual<T> relu(dual<T> x) { return x.v > T(0) ? x : dual<T>{}; }

/// 1 where x > 0, else 0: ReLU's derivative, constant (zero tangent) away from the kink.
template <class T> T step(T x) { return x > T(0) ? T(1) : T(0); }
template <class T> dual<T> step(dual<T> x) { return {x.v > T(0) ? T(1) : T(0), T(0)}; }

// Lane-wise ReLU and its step for dual packs (a branch per lane).
template <class T, int W> dual<pack<T, W>> relu(const dual<pack<T, W>>& x) {
  const auto on = (x.v.a > T(0)).template cast<T>();
  return {pack<T, W>(x.v.a * on), pack<T, W>(x.d.a * on)};
}
template <class T, int W> dual<pack<T, W>> step(const dual<pack<T, W>>& x) {
  return {step(x.v), pack<T, W>(T(0))};
}
// clang-format on

}  // namespace pointwise
}  // namespace rnnabs
