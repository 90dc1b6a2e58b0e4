#pragma once
// The pipeline's joints. Any user type that fits replaces a stage:
//   dimension_reducer : pca, identity, random projection, a user's own
//   state_partitioner : gaussian_mixture, kmeans, a grid, a user's own
// check_*<T>() spell out which member is missing when a type does not fit.
#include <concepts>

#include "rnnabs/core/types.hpp"

namespace rnnabs {

template <class R, class T = double>
concept dimension_reducer = requires(R& r, const R& cr, const matrix<T>& x) {
  r.fit(x);
  { cr.transform(x) } -> std::convertible_to<matrix<T>>;
  { cr.n_components() } -> std::convertible_to<index_t>;
};

template <class P, class T = double>
concept state_partitioner = requires(P& p, const P& cp, const matrix<T>& z) {
  p.fit(z);
  { cp.predict(z) } -> std::convertible_to<index_vector>;
  { cp.n_states() } -> std::convertible_to<index_t>;
};

/// static_asserts that read as a sentence; use as `static_assert(check_dimension_reducer<R, T>());`.
template <class R, class T = double>
consteval bool check_dimension_reducer() {
  static_assert(requires(R& r, const matrix<T>& x) { r.fit(x); },
                "rnnabs::dimension_reducer: the type needs a member `fit(const matrix<T>& X)`");
  static_assert(requires(const R& r, const matrix<T>& x) {
    { r.transform(x) } -> std::convertible_to<matrix<T>>;
  }, "rnnabs::dimension_reducer: the type needs a const member `transform(const matrix<T>& X)` returning a "
     "matrix<T>");
  static_assert(requires(const R& r) {
    { r.n_components() } -> std::convertible_to<index_t>;
  }, "rnnabs::dimension_reducer: the type needs a const member `n_components()` returning an index_t");
  return dimension_reducer<R, T>;
}

template <class P, class T = double>
consteval bool check_state_partitioner() {
  static_assert(requires(P& p, const matrix<T>& z) { p.fit(z); },
                "rnnabs::state_partitioner: the type needs a member `fit(const matrix<T>& Z)`");
  static_assert(requires(const P& p, const matrix<T>& z) {
    { p.predict(z) } -> std::convertible_to<index_vector>;
  }, "rnnabs::state_partitioner: the type needs a const member `predict(const matrix<T>& Z)` returning an "
     "index_vector");
  static_assert(requires(const P& p) {
    { p.n_states() } -> std::convertible_to<index_t>;
  }, "rnnabs::state_partitioner: the type needs a const member `n_states()` returning an index_t");
  return state_partitioner<P, T>;
}

}  // namespace rnnabs
