#pragma once
// What rnnabs::profile, evaluate and train need of a model, so that a user's own model type (a
// different architecture, a wrapper around another framework) can be profiled, evaluated and
// trained. rnnabs::rnn_classifier fits all three.
//
//   profilable_model<M, T>  m.forward(batch, /*record=*/true) returns an object with
//                           hidden, step_probabilities (std::vector<matrix<T>>, T_i x W / T_i x C),
//                           step_predictions (std::vector<index_vector>) and predictions (index_vector)
//   evaluable_model<M, T>   ... and m.loss(batch) -> double (the mean loss)
//   trainable_model<M>      ... with `using scalar = T`, parameters() / set_parameters(theta) over a
//                           flat vector<T>, train_gradient(batch, dropout_seed, &stats) -> vector<T>
//                           where stats is a `step_stats {double loss; index_t correct, total;}`,
//                           and validate(batch, need_labels, who) (throws on data it cannot take).
// Optional: config().head (every-step heads are evaluated per step) and save(path) (checkpoints).
#include <concepts>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rnnabs/core/concepts.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/sequence_batch.hpp"

namespace rnnabs {

namespace detail {
template <class O, class T>
concept recorded_forward_output = requires(const O& o) {
  { o.hidden } -> std::convertible_to<std::vector<matrix<T>>>;
  { o.step_probabilities } -> std::convertible_to<std::vector<matrix<T>>>;
  { o.step_predictions } -> std::convertible_to<std::vector<index_vector>>;
  { o.predictions } -> eigen_of<index_t>;
};
}  // namespace detail

template <class M, class T>
concept profilable_model = requires(const M& m, const sequence_batch<T>& b) {
  { m.forward(b, true) } -> detail::recorded_forward_output<T>;
};

template <class M, class T>
concept evaluable_model = profilable_model<M, T> && requires(const M& m, const sequence_batch<T>& b) {
  { m.loss(b) } -> std::convertible_to<double>;
};

template <class M>
concept trainable_model =
    requires {
      typename M::scalar;
      typename M::step_stats;
    } && evaluable_model<M, typename M::scalar> &&
    requires(M& m, const M& cm, const sequence_batch<typename M::scalar>& b, typename M::step_stats& st,
             const vector<typename M::scalar>& theta) {
      { cm.parameters() } -> detail::eigen_of<typename M::scalar>;
      m.set_parameters(theta);
      { cm.train_gradient(b, std::uint64_t{0}, &st) } -> detail::eigen_of<typename M::scalar>;
      cm.validate(b, true, std::string_view{});
      { st.loss } -> std::convertible_to<double>;
      { st.correct } -> std::convertible_to<index_t>;
      { st.total } -> std::convertible_to<index_t>;
    };

/// static_assert(check_profilable_model<M, T>()) says what is missing.
template <class M, class T>
consteval bool check_profilable_model() {
  static_assert(
      requires(const M& m, const sequence_batch<T>& b) { m.forward(b, true); },
      "rnnabs::profilable_model: the model needs a const member `forward(const sequence_batch<T>& batch, "
      "bool record)` (T: the batch's scalar)");
  if constexpr (requires(const M& m, const sequence_batch<T>& b) { m.forward(b, true); })
    static_assert(
        requires(const M& m, const sequence_batch<T>& b) {
          { m.forward(b, true) } -> detail::recorded_forward_output<T>;
        }, "rnnabs::profilable_model: `forward(batch, true)` must return members hidden and step_probabilities "
           "(std::vector<matrix<T>>), step_predictions (std::vector<index_vector>) and predictions (index_vector)");
  return profilable_model<M, T>;
}

template <class M, class T>
consteval bool check_evaluable_model() {
  if constexpr (!check_profilable_model<M, T>()) {
    return false;
  } else {
    static_assert(
        requires(const M& m, const sequence_batch<T>& b) {
          { m.loss(b) } -> std::convertible_to<double>;
        }, "rnnabs::evaluable_model: the model needs a const member `loss(const sequence_batch<T>&)` returning the "
           "mean loss as a double");
    return evaluable_model<M, T>;
  }
}

template <class M>
consteval bool check_trainable_model() {
  static_assert(
      requires { typename M::scalar; },
      "rnnabs::trainable_model: the model needs `using scalar = float` (or double): the scalar of its "
      "parameters and batches");
  static_assert(
      requires { typename M::step_stats; },
      "rnnabs::trainable_model: the model needs a nested `struct step_stats { double loss; index_t "
      "correct, total; }` (what train_gradient reports)");
  if constexpr (requires {
                  typename M::scalar;
                  typename M::step_stats;
                }) {
    using T = typename M::scalar;
    if constexpr (check_evaluable_model<M, T>()) {
      static_assert(
          requires(M& m, const M& cm, const vector<T>& theta) {
            { cm.parameters() } -> detail::eigen_of<T>;
            m.set_parameters(theta);
          }, "rnnabs::trainable_model: the model needs `parameters()` returning a vector<scalar> and "
             "`set_parameters(const vector<scalar>&)`");
      static_assert(
          requires(const M& cm, const sequence_batch<T>& b, typename M::step_stats& st) {
            { cm.train_gradient(b, std::uint64_t{0}, &st) } -> detail::eigen_of<T>;
          }, "rnnabs::trainable_model: the model needs a const member `train_gradient(const sequence_batch<T>&, "
             "std::uint64_t dropout_seed, step_stats*)` returning the batch's loss gradient as a vector<scalar>");
      static_assert(
          requires(const M& cm, const sequence_batch<T>& b) { cm.validate(b, true, std::string_view{}); },
          "rnnabs::trainable_model: the model needs a const member `validate(const sequence_batch<T>&, "
          "bool need_labels, std::string_view who)` that throws on data it cannot take");
      static_assert(
          requires(typename M::step_stats& st) {
            { st.loss } -> std::convertible_to<double>;
            { st.correct } -> std::convertible_to<index_t>;
            { st.total } -> std::convertible_to<index_t>;
          }, "rnnabs::trainable_model: step_stats needs members `double loss` and `index_t correct, total`");
    }
  }
  return trainable_model<M>;
}

}  // namespace rnnabs
