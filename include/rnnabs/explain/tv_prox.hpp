#pragma once
// Exact proximal operator of 1-D total variation (the fused-lasso signal approximator):
//
//   tv_prox(y, λ) = argmin_x  ½ Σ_i (y_i − x_i)²  +  λ Σ_{i=0}^{n−2} |x_{i+1} − x_i|
//
// computed by Johnson's (2013) dynamic programme: a forward pass keeps the derivative of the
// message function (piecewise linear, its knots in a double-ended array) and records, for every i,
// the interval [lo_i, hi_i] into which x_i is clamped given x_{i+1}; a backward pass reads them out.
// Every knot is pushed once and popped at most once: O(n) time in the worst case, O(n) memory.
// Arithmetic is in double for float input too; the result is exact up to rounding.
//
//   rnnabs::vector<double> x = rnnabs::tv_prox(y, 0.5);
//   rnnabs::tv_workspace ws;  rnnabs::tv_prox(y.data(), n, lambda, x.data(), ws);   // no allocation in loops
#include <algorithm>
#include <cmath>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// Scratch memory of tv_prox, reusable across calls (grows to the largest n seen).
struct tv_workspace {
  struct knot_t {
    double x, a, b;  // position, jump of the slope, jump of the intercept
  };
  struct clamp_t {
    double lo, hi;
  };
  std::vector<knot_t> knots;
  std::vector<clamp_t> bounds;
  void reserve(index_t n) {
    const auto m = static_cast<std::size_t>(2 * n + 2);
    if (knots.size() < m) knots.resize(m);
    if (bounds.size() < static_cast<std::size_t>(n)) bounds.resize(static_cast<std::size_t>(n));
  }
};

/// x = prox of λ·TV at y (n entries each; x may alias y). invalid_argument on λ < 0 or a non-finite λ.
/// Non-finite y gives non-finite x (callers validate their data).
template <real_scalar T>
void tv_prox(const T* y, index_t n, T lambda, T* x, tv_workspace& ws);

/// Convenience overload returning a new vector.
template <class Derived>
vector<typename Derived::Scalar> tv_prox(const Eigen::MatrixBase<Derived>& y, typename Derived::Scalar lambda) {
  using T = typename Derived::Scalar;
  const vector<T> yy = y;
  vector<T> x(yy.size());
  tv_workspace ws;
  tv_prox(yy.data(), yy.size(), lambda, x.data(), ws);
  return x;
}

/// Total variation Σ |x_{i+1} − x_i|.
template <class Derived>
double total_variation(const Eigen::MatrixBase<Derived>& x) {
  double s = 0;
  for (index_t i = 0; i + 1 < x.size(); ++i) s += std::abs(static_cast<double>(x(i + 1)) - static_cast<double>(x(i)));
  return s;
}

// ---- implementation -------------------------------------------------------------------------------

template <real_scalar T>
void tv_prox(const T* y, index_t n, T lambda_in, T* x, tv_workspace& ws) {
  require(std::isfinite(static_cast<double>(lambda_in)) && lambda_in >= T(0),
          "tv_prox: lambda must be finite and >= 0, got ", lambda_in);
  require(n >= 0, "tv_prox: n must be >= 0, got ", n);
  if (n == 0) return;
  if (n == 1 || lambda_in == T(0)) {
    if (x != y) std::copy(y, y + n, x);
    return;
  }
  const double lam = static_cast<double>(lambda_in);
  ws.reserve(n);
  tv_workspace::knot_t* kn = ws.knots.data();
  tv_workspace::clamp_t* bd = ws.bounds.data();
  // Knots of m'(b), the derivative of the message into the next element, live in [l, r]. At knot i the
  // linear function a·b + c of m' jumps by (kn[i].a, kn[i].b); left of all knots m' = −λ, right of all = +λ.
  index_t l = n + 1, r = n;  // empty
  // Element 0: F'(b) = b − y0, clamped to [−λ, λ] between b = y0 − λ and y0 + λ.
  {
    const double y0 = static_cast<double>(y[0]);
    bd[0].lo = y0 - lam;
    bd[0].hi = y0 + lam;
    --l;
    kn[l].x = bd[0].lo;
    kn[l].a = 1.0;
    kn[l].b = -y0 + lam;  // from −λ to (b − y0): slope +1, intercept −y0 + λ
    ++r;
    kn[r].x = bd[0].hi;
    kn[r].a = -1.0;
    kn[r].b = y0 + lam;  // from (b − y0) to +λ
  }
  for (index_t k = 1; k < n; ++k) {
    const double yk = static_cast<double>(y[k]);
    // F'_k(b) = (b − yk) + m'(b). Leftmost piece: slope 1, intercept −yk − λ.
    double a0 = 1.0, c0 = -yk - lam;
    if (k == n - 1) {
      // Last element: x_{n−1} is the root of F'.
      while (l <= r && a0 * kn[l].x + c0 < 0.0) {
        a0 += kn[l].a;
        c0 += kn[l].b;
        ++l;
      }
      x[n - 1] = static_cast<T>(-c0 / a0);
      break;
    }
    while (l <= r && a0 * kn[l].x + c0 < -lam) {
      a0 += kn[l].a;
      c0 += kn[l].b;
      ++l;
    }
    const double tlo = (-lam - c0) / a0;
    double a1 = 1.0, c1 = -yk + lam;  // rightmost piece
    while (l <= r && a1 * kn[r].x + c1 > lam) {
      a1 -= kn[r].a;
      c1 -= kn[r].b;
      --r;
    }
    const double thi = (lam - c1) / a1;
    bd[k].lo = tlo;
    bd[k].hi = thi;
    --l;
    kn[l].x = tlo;
    kn[l].a = a0;
    kn[l].b = c0 + lam;
    ++r;
    kn[r].x = thi;
    kn[r].a = -a1;
    kn[r].b = lam - c1;
  }
  // Backward pass: x_k = clamp(x_{k+1}, lo_k, hi_k).
  double next = static_cast<double>(x[n - 1]);
  for (index_t k = n - 2; k >= 0; --k) {
    next = std::clamp(next, bd[k].lo, bd[k].hi);
    x[k] = static_cast<T>(next);
  }
}

}  // namespace rnnabs
