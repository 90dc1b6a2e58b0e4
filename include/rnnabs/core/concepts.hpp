#pragma once
// The pipeline's joints. Any user type that fits replaces a stage:
//   dimension_reducer : pca, identity, random projection, a user's own
//   state_partitioner : gaussian_mixture, kmeans, a grid, a user's own
// check_*<R, T>() spell out, as a sentence, which requirement a type misses. A stage written for
// one scalar (say `fit(const matrix<double>&)`) and used with traces of another (float) fails here,
// at the concept, and not deep inside Eigen's converting constructors.
#include <concepts>
#include <type_traits>

#include "rnnabs/core/types.hpp"

namespace rnnabs {

namespace detail {

/// Any Eigen object (matrix, array, expression).
template <class X>
concept eigen_object = std::is_base_of_v<Eigen::EigenBase<std::remove_cvref_t<X>>, std::remove_cvref_t<X>>;

/// An Eigen object whose scalar is exactly T. (std::convertible_to<matrix<T>> is no test: Eigen's
/// converting constructors accept every scalar at overload resolution and fail only when instantiated.)
template <class X, class T>
concept eigen_of = eigen_object<X> && std::same_as<typename std::remove_cvref_t<X>::Scalar, T>;

/// The decayed first parameter of a member function pointer type (void when there is none).
template <class F>
struct first_parameter {
  using type = void;
};
template <class R, class C, class A, class... Rest>
struct first_parameter<R (C::*)(A, Rest...)> {
  using type = std::remove_cvref_t<A>;
};
template <class R, class C, class A, class... Rest>
struct first_parameter<R (C::*)(A, Rest...) const> {
  using type = std::remove_cvref_t<A>;
};
template <class R, class C, class A, class... Rest>
struct first_parameter<R (C::*)(A, Rest...) noexcept> {
  using type = std::remove_cvref_t<A>;
};
template <class R, class C, class A, class... Rest>
struct first_parameter<R (C::*)(A, Rest...) const noexcept> {
  using type = std::remove_cvref_t<A>;
};

/// True when the member pointer type F takes an Eigen object of a scalar other than T.
template <class F, class T>
constexpr bool takes_other_scalar() {
  using A = typename first_parameter<F>::type;
  if constexpr (eigen_object<A>) return !std::same_as<typename A::Scalar, T>;
  else return false;
}

/// A stage whose (non-template) fit, transform or predict takes a matrix of another scalar than T.
/// Template members (`template <class D> fit(const Eigen::MatrixBase<D>&)`) take every scalar.
template <class S, class T>
constexpr bool written_for_other_scalar() {
  bool r = false;
  if constexpr (requires { &S::fit; }) r = r || takes_other_scalar<decltype(&S::fit), T>();
  if constexpr (requires { &S::transform; }) r = r || takes_other_scalar<decltype(&S::transform), T>();
  if constexpr (requires { &S::predict; }) r = r || takes_other_scalar<decltype(&S::predict), T>();
  return r;
}

}  // namespace detail

/// Fits on the stacked hidden states (rows: steps) and maps them to k columns of the same scalar.
template <class R, class T = double>
concept dimension_reducer = !detail::written_for_other_scalar<R, T>() &&
                            requires(R& r, const R& cr, const matrix<T>& x) {
                              r.fit(x);
                              { cr.transform(x) } -> detail::eigen_of<T>;
                              { cr.n_components() } -> std::convertible_to<index_t>;
                            };

/// Fits on the reduced states and assigns each row one of n_clusters() clusters, 0..n-1. (The
/// abstraction adds the initial state 0 and calls cluster c state c + 1: its n_states() is n + 1.)
template <class P, class T = double>
concept state_partitioner = !detail::written_for_other_scalar<P, T>() &&
                            requires(P& p, const P& cp, const matrix<T>& z) {
                              p.fit(z);
                              { cp.predict(z) } -> detail::eigen_of<index_t>;
                              { cp.n_clusters() } -> std::convertible_to<index_t>;
                            };

/// static_asserts that read as a sentence; use as `static_assert(check_dimension_reducer<R, T>());`.
template <class R, class T = double>
consteval bool check_dimension_reducer() {
  static_assert(!detail::written_for_other_scalar<R, T>(),
                "rnnabs::dimension_reducer: the reducer is written for another scalar than the hidden states (its "
                "fit or transform takes matrix<S> with S != T): make them templates on the scalar (`template <class "
                "D> void fit(const Eigen::MatrixBase<D>& X)`) or cast the traces (`traces.hidden[i].cast<S>()`)");
  if constexpr (!detail::written_for_other_scalar<R, T>()) {
    static_assert(
        requires(R& r, const matrix<T>& x) { r.fit(x); },
        "rnnabs::dimension_reducer: the type needs a member `fit(const matrix<T>& X)`");
    static_assert(
        requires(const R& r, const matrix<T>& x) { r.transform(x); },
        "rnnabs::dimension_reducer: the type needs a const member `transform(const matrix<T>& X)`");
    if constexpr (requires(const R& r, const matrix<T>& x) { r.transform(x); })
      static_assert(
          requires(const R& r, const matrix<T>& x) {
            { r.transform(x) } -> detail::eigen_of<T>;
          }, "rnnabs::dimension_reducer: `transform(X)` must return an Eigen matrix of the input's scalar T");
    static_assert(
        requires(const R& r) {
          { r.n_components() } -> std::convertible_to<index_t>;
        }, "rnnabs::dimension_reducer: the type needs a const member `n_components()` returning an index_t");
  }
  return dimension_reducer<R, T>;
}

template <class P, class T = double>
consteval bool check_state_partitioner() {
  static_assert(!detail::written_for_other_scalar<P, T>(),
                "rnnabs::state_partitioner: the partitioner is written for another scalar than the reduced states "
                "(its fit or predict takes matrix<S> with S != T): make them templates on the scalar (`template "
                "<class D> void fit(const Eigen::MatrixBase<D>& Z)`) or cast the traces");
  if constexpr (!detail::written_for_other_scalar<P, T>()) {
    static_assert(
        requires(P& p, const matrix<T>& z) { p.fit(z); },
        "rnnabs::state_partitioner: the type needs a member `fit(const matrix<T>& Z)`");
    static_assert(
        requires(const P& p, const matrix<T>& z) { p.predict(z); },
        "rnnabs::state_partitioner: the type needs a const member `predict(const matrix<T>& Z)`");
    if constexpr (requires(const P& p, const matrix<T>& z) { p.predict(z); })
      static_assert(
          requires(const P& p, const matrix<T>& z) {
            { p.predict(z) } -> detail::eigen_of<index_t>;
          }, "rnnabs::state_partitioner: `predict(Z)` must return an index_vector (one cluster 0..n-1 per row)");
    static_assert(
        requires(const P& p) {
          { p.n_clusters() } -> std::convertible_to<index_t>;
        }, "rnnabs::state_partitioner: the type needs a const member `n_clusters()` returning an index_t (the number "
           "of clusters n; the abstraction's states are these plus the initial state)");
  }
  return state_partitioner<P, T>;
}

}  // namespace rnnabs
