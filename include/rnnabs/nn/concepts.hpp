#pragma once
// The joints of nn/: a recurrent cell (plug in your own) and the objectives influence analysis
// consumes (per-sample gradients; twice differentiable). The model concepts are in model_concepts.hpp.
//
// A cell is pointwise per hidden unit. The layer does the GEMMs (all steps' input projections in
// one, each step's recurrent projection of every gate in one) and hands the cell, for one unit j of
// one sequence, its G input-projected values xg[k] = (W_ih x + b_ih)[k·H + j] and recurrent ones
// hg[k] = (W_hh h + b_hh)[k·H + j], plus its K state values (state 0 is the output h). The cell
// returns the next state and a cache of whatever its backward needs. Both functions are templates
// on the scalar so they run on T (forward/backward) and on dual<T> (their tangents: exact HVPs).
// Optional: `static constexpr bool same_gate_gradients = true;` when backward always sets dhg = dxg
// (LSTM, Elman): the engine then stores one gate-gradient matrix for both projections.
#include <array>
#include <concepts>
#include <span>
#include <string_view>

#include "rnnabs/core/concepts.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/dual.hpp"

namespace rnnabs {

namespace detail {
template <class C, class S>
concept cell_pointwise_for = requires(const std::array<S, C::gates>& xg, const std::array<S, C::gates>& hg,
                                      const std::array<S, C::states>& prev, std::array<S, C::states>& next,
                                      std::array<S, C::cache_size>& cache, const std::array<S, C::cache_size>& ccache,
                                      const std::array<S, C::states>& dnext, std::array<S, C::gates>& dxg,
                                      std::array<S, C::gates>& dhg, std::array<S, C::states>& dprev) {
  C::forward(xg, hg, prev, next, cache);
  C::backward(ccache, prev, dnext, dxg, dhg, dprev);
};
}  // namespace detail

/// A recurrent cell type: `gates` (G: weight_ih has G·H rows), `states` (K >= 1; state 0 is h),
/// `cache_size` (values per unit kept for backward), `name()`, and pointwise forward/backward
/// templates on the scalar, usable with float, double, dual<double> and the lane types pack<T, W>
/// and dual<pack<T, W>> (the engine evaluates W units per call with them).
template <class C>
concept recurrent_cell =
    requires {
      { C::gates } -> std::convertible_to<index_t>;
      { C::states } -> std::convertible_to<index_t>;
      { C::cache_size } -> std::convertible_to<index_t>;
      { C::name() } -> std::convertible_to<std::string_view>;
    } && (C::gates >= 1) && (C::states >= 1) && detail::cell_pointwise_for<C, float> &&
    detail::cell_pointwise_for<C, double> && detail::cell_pointwise_for<C, dual<double>> &&
    detail::cell_pointwise_for<C, pack<float, pack_width<float>>> &&
    detail::cell_pointwise_for<C, dual<pack<double, pack_width<double>>>>;

/// static_asserts that read as a sentence: `static_assert(check_recurrent_cell<my_cell>());`.
template <class C>
consteval bool check_recurrent_cell() {
  static_assert(
      requires {
        { C::gates } -> std::convertible_to<index_t>;
        { C::states } -> std::convertible_to<index_t>;
        { C::cache_size } -> std::convertible_to<index_t>;
      }, "rnnabs::recurrent_cell: the type needs `static constexpr index_t gates, states, cache_size`");
  static_assert(
      requires {
        { C::name() } -> std::convertible_to<std::string_view>;
      }, "rnnabs::recurrent_cell: the type needs `static constexpr std::string_view name()`");
  static_assert(detail::cell_pointwise_for<C, float> && detail::cell_pointwise_for<C, double>,
                "rnnabs::recurrent_cell: the type needs `template <class S> static void forward(xg, hg, prev, "
                "next, cache)` and `backward(cache, prev, dnext, dxg, dhg, dprev)` over std::array<S, N>");
  static_assert(detail::cell_pointwise_for<C, dual<double>>,
                "rnnabs::recurrent_cell: forward/backward must be templates on the scalar so that they also "
                "run on rnnabs::dual<T> (the Hessian-vector product needs their tangents)");
  static_assert(detail::cell_pointwise_for<C, pack<float, pack_width<float>>>,
                "rnnabs::recurrent_cell: forward/backward must also run on rnnabs::pack<T, W> (W units at once): "
                "use rnnabs::pointwise::{sigmoid, tanh, exp, log, relu, step} and arithmetic, not std:: functions "
                "or branches on values");
  static_assert(detail::cell_pointwise_for<C, dual<pack<double, pack_width<double>>>>,
                "rnnabs::recurrent_cell: forward/backward must also run on rnnabs::dual<pack<double, W>> (the "
                "Hessian-vector product, W units at once)");
  static_assert(
      requires {
        requires C::gates >= 1;
        requires C::states >= 1;
      }, "rnnabs::recurrent_cell: gates and states must be >= 1");
  return recurrent_cell<C>;
}

/// Per-sample gradients over a flat parameter vector: all that gradient-similarity influence
/// (TracIn, TracInCP, gradient dot/cosine, gradient products) needs. per_sample_gradients(w) has one
/// row per sample, the gradient of that sample's own loss (no regularizer); `f.subset(ids)` is the
/// same objective over samples ids[0], ids[1], ... (its sample k is sample ids[k] of f).
template <class F>
concept gradient_objective = requires { typename F::scalar; } &&
                             requires(const F& f, std::span<const index_t> ids, const vector<typename F::scalar>& w) {
                               { f.parameter_count() } -> std::convertible_to<index_t>;
                               { f.sample_count() } -> std::convertible_to<index_t>;
                               { f.per_sample_gradients(w) } -> detail::eigen_of<typename F::scalar>;
                               { f.subset(ids) } -> std::same_as<F>;
                             };

/// An objective over a flat parameter vector, differentiable twice: what Hessian-based influence
/// (Koh & Liang, SGD influence) needs. loss is the mean over the objective's samples (plus its
/// regularizer, if any); loss_gradient and hessian_vector_product are its derivatives.
template <class F, class T = double>
concept twice_differentiable = requires(const F& f, const vector<T>& w) {
  { f.parameter_count() } -> std::convertible_to<index_t>;
  { f.loss(w) } -> std::convertible_to<T>;
  { f.loss_gradient(w) } -> detail::eigen_of<T>;
  { f.hessian_vector_product(w, w) } -> detail::eigen_of<T>;
  { f.per_sample_gradients(w) } -> detail::eigen_of<T>;
};

/// A gradient_objective that is also twice_differentiable: made of per-sample losses over a data
/// set, restrictable to any subset (mini-batches, Hessian subsamples, blocks of training gradients).
template <class F>
concept sample_objective = gradient_objective<F> && twice_differentiable<F, typename F::scalar>;

namespace detail {
/// An objective whose evaluations are collective across ranks (influence/sharded.hpp): solvers call
/// it one right-hand side after another, in the same order on every rank, never from threads.
template <class F>
concept collective_objective = requires { requires F::collective; };
}  // namespace detail

namespace detail {
template <class F>
consteval bool check_gradient_members() {
  static_assert(
      requires { typename F::scalar; },
      "rnnabs objective: the type needs `using scalar = float` (or double): the scalar of its parameter "
      "vectors");
  if constexpr (requires { typename F::scalar; }) {
    static_assert(
        requires(const F& f) {
          { f.parameter_count() } -> std::convertible_to<index_t>;
          { f.sample_count() } -> std::convertible_to<index_t>;
        }, "rnnabs objective: the type needs const members `parameter_count()` and `sample_count()` returning index_t");
    static_assert(
        requires(const F& f, const vector<typename F::scalar>& w) {
          { f.per_sample_gradients(w) } -> detail::eigen_of<typename F::scalar>;
        }, "rnnabs objective: the type needs a const member `per_sample_gradients(w)` returning a matrix<scalar> "
           "with one row per sample (the gradient of that sample's loss)");
    static_assert(
        requires(const F& f, std::span<const index_t> ids) {
          { f.subset(ids) } -> std::same_as<F>;
        }, "rnnabs objective: the type needs a const member `subset(std::span<const index_t> ids)` returning the "
           "same objective over those samples");
  }
  return gradient_objective<F>;
}
}  // namespace detail

/// static_asserts that read as a sentence: `static_assert(check_gradient_objective<my_objective>());`.
template <class F>
consteval bool check_gradient_objective() {
  return detail::check_gradient_members<F>();
}

/// static_asserts that read as a sentence: `static_assert(check_sample_objective<my_objective>());`.
template <class F>
consteval bool check_sample_objective() {
  if constexpr (!detail::check_gradient_members<F>()) {
    return false;
  } else {
    using S = typename F::scalar;
    static_assert(
        requires(const F& f, const vector<S>& w) {
          { f.loss(w) } -> std::convertible_to<S>;
          { f.loss_gradient(w) } -> detail::eigen_of<S>;
        }, "rnnabs::sample_objective: the type needs const members `loss(w)` returning the scalar and "
           "`loss_gradient(w)` returning a vector<scalar>");
    static_assert(
        requires(const F& f, const vector<S>& w) {
          { f.hessian_vector_product(w, w) } -> detail::eigen_of<S>;
        }, "rnnabs::sample_objective: the type needs a const member `hessian_vector_product(w, v)` returning a "
           "vector<scalar> (Hessian-based influence: Koh & Liang, SGD influence; gradient-only methods such as "
           "TracIn need just rnnabs::gradient_objective)");
    return sample_objective<F>;
  }
}

}  // namespace rnnabs
