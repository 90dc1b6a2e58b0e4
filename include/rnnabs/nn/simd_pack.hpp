#pragma once
// pack<T, W>: W lanes of T that a cell's pointwise code runs on unchanged (S = pack<T, W>), so the
// engine evaluates W hidden units per call with vectorized exp/tanh/logistic (Eigen's packet math)
// instead of W scalar libm calls. Included by dual.hpp, before any cell is defined.
#include <Eigen/Core>

namespace rnnabs {

template <class T, int W>
struct pack {
  using array = Eigen::Array<T, W, 1>;
  array a;
  pack() : a(array::Zero()) {}          // zero, like T{} and dual<T>{}
  pack(T x) : a(array::Constant(x)) {}  // NOLINT: constants lift implicitly, as for dual
  template <class E>
  explicit pack(const Eigen::ArrayBase<E>& e) : a(e) {}
  static pack load(const T* p) { return pack(Eigen::Map<const array>(p)); }
  void store(T* p) const {
    Eigen::Map<array> m(p);
    m = a;
  }
};

// clang-format off
template <class T, int W> pack<T, W> operator+(const pack<T, W>& x, const pack<T, W>& y) { return pack<T, W>(x.a + y.a); }
template <class T, int W> pack<T, W> operator-(const pack<T, W>& x, const pack<T, W>& y) { return pack<T, W>(x.a - y.a); }
template <class T, int W> pack<T, W> operator*(const pack<T, W>& x, const pack<T, W>& y) { return pack<T, W>(x.a * y.a); }
template <class T, int W> pack<T, W> operator/(const pack<T, W>& x, const pack<T, W>& y) { return pack<T, W>(x.a / y.a); }
template <class T, int W> pack<T, W> operator-(const pack<T, W>& x) { return pack<T, W>(-x.a); }
template <class T, int W> pack<T, W>& operator+=(pack<T, W>& x, const pack<T, W>& y) { x.a += y.a; return x; }
template <class T, int W> pack<T, W>& operator-=(pack<T, W>& x, const pack<T, W>& y) { x.a -= y.a; return x; }
template <class T, int W> pack<T, W>& operator*=(pack<T, W>& x, const pack<T, W>& y) { x.a *= y.a; return x; }
// clang-format on

/// Lanes per pack for T: one 512-bit register of floats or doubles.
template <class T>
inline constexpr int pack_width = 64 / static_cast<int>(sizeof(T));

namespace pointwise {
// clang-format off
template <class T, int W> pack<T, W> sigmoid(const pack<T, W>& x) { return pack<T, W>(x.a.logistic()); }
template <class T, int W> pack<T, W> tanh(const pack<T, W>& x) { return pack<T, W>(x.a.tanh()); }
template <class T, int W> pack<T, W> exp(const pack<T, W>& x) { return pack<T, W>(x.a.exp()); }
template <class T, int W> pack<T, W> log(const pack<T, W>& x) { return pack<T, W>(x.a.log()); }
template <class T, int W> pack<T, W> relu(const pack<T, W>& x) { return pack<T, W>(x.a.max(T(0))); }
template <class T, int W> pack<T, W> step(const pack<T, W>& x) {
  return pack<T, W>((x.a > T(0)).template cast<T>());
}
// clang-format on
}  // namespace pointwise

}  // namespace rnnabs
