#pragma once
// Zero-copy views between xtensor containers (the data layer) and Eigen (the math engine).
#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

namespace detail {
/// Contiguous row-major storage, judged by the strides (containers of dynamic layout, such as what
/// xt::load_npy returns, report no static layout but are often row-major).
template <class E>
void require_row_major_2d(const E& e, const char* who) {
  require(e.dimension() == 2, who, ": expected a 2-d tensor, got ", e.dimension(), " dimensions");
  const auto& st = e.strides();
  const auto rows = e.shape()[0], cols = e.shape()[1];
  const bool ok = e.layout() == xt::layout_type::row_major ||
                  ((cols <= 1 || st[1] == 1) && (rows <= 1 || static_cast<std::size_t>(st[0]) == cols));
  require(ok, who, ": expected contiguous row-major storage (copy into an xt::xtensor<T, 2> first)");
}
}  // namespace detail

/// Eigen view of a row-major 2-d xtensor container (xtensor<T,2> or xarray<T>); no copy.
// clang-format off
template <class C>
  requires requires(C& c) { c.data(); c.shape(); }
auto as_eigen(C& c) {
  // clang-format on
  using T = std::remove_const_t<std::remove_pointer_t<decltype(c.data())>>;
  detail::require_row_major_2d(c, "as_eigen");
  using M = std::conditional_t<std::is_const_v<C>, const matrix<T>, matrix<T>>;
  return Eigen::Map<M>(c.data(), static_cast<index_t>(c.shape()[0]), static_cast<index_t>(c.shape()[1]));
}

/// Eigen view of one 1-d xtensor container as a column vector; no copy.
// clang-format off
template <class C>
  requires requires(C& c) { c.data(); c.shape(); }
auto as_eigen_vector(C& c) {
  // clang-format on
  using T = std::remove_const_t<std::remove_pointer_t<decltype(c.data())>>;
  require(c.dimension() == 1, "as_eigen_vector: expected a 1-d tensor, got ", c.dimension(), " dimensions");
  using V = std::conditional_t<std::is_const_v<C>, const vector<T>, vector<T>>;
  return Eigen::Map<V>(c.data(), static_cast<index_t>(c.shape()[0]));
}

/// xtensor view (2-d, row-major) of a row-major Eigen matrix; no copy. `m` must outlive the view.
template <class T>
auto as_xtensor(matrix<T>& m) {
  std::array<std::size_t, 2> shape{static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())};
  return xt::adapt(m.data(), static_cast<std::size_t>(m.size()), xt::no_ownership(), shape);
}
template <class T>
auto as_xtensor(const matrix<T>& m) {
  std::array<std::size_t, 2> shape{static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())};
  return xt::adapt(m.data(), static_cast<std::size_t>(m.size()), xt::no_ownership(), shape);
}

/// Copies a row-major Eigen matrix into an owning xtensor.
template <class Derived>
auto to_xtensor(const Eigen::MatrixBase<Derived>& m) {
  using T = typename Derived::Scalar;
  xt::xtensor<T, 2> out({static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())});
  Eigen::Map<matrix<T>>(out.data(), m.rows(), m.cols()) = m;
  return out;
}

}  // namespace rnnabs
