#pragma once
// The joint between explainers and models: a black box is any callable that maps a batch of inputs to one
// score per input (e.g. the probability of the explained class). Batches are token_batch (sequences) or
// matrix<T> (one instance per row). Results may be any Eigen vector or std::vector of float/double.
//
//   auto scorer = [&](const rnnabs::matrix<float>& X) { return model.predict_proba(X).col(1).eval(); };
//   static_assert(rnnabs::check_black_box_scorer<decltype(scorer), rnnabs::matrix<float>>());
#include <cmath>
#include <concepts>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

namespace detail {
template <class V>
concept score_vector_like = (std::is_base_of_v<Eigen::DenseBase<std::remove_cvref_t<V>>, std::remove_cvref_t<V>> &&
                             std::is_arithmetic_v<typename std::remove_cvref_t<V>::Scalar>) ||
                            std::same_as<std::remove_cvref_t<V>, std::vector<double>> ||
                            std::same_as<std::remove_cvref_t<V>, std::vector<float>>;

/// Copies a scorer's result into vector<double>.
template <score_vector_like V>
vector<double> to_scores(const V& v) {
  if constexpr (std::same_as<V, std::vector<double>> || std::same_as<V, std::vector<float>>) {
    vector<double> out(static_cast<index_t>(v.size()));  // a plain loop: no vectorised tail for GCC 12's
    for (std::size_t i = 0; i < v.size(); ++i)           // -Warray-bounds to misread on tiny vectors
      out(static_cast<index_t>(i)) = static_cast<double>(v[i]);
    return out;
  } else {  // any Eigen expression, strided blocks included (evaluated coefficient-wise)
    vector<double> out(v.size());
    index_t k = 0;
    for (index_t j = 0; j < v.cols(); ++j)
      for (index_t i = 0; i < v.rows(); ++i) out(k++) = static_cast<double>(v(i, j));
    return out;
  }
}
}  // namespace detail

/// A callable scoring a batch: `f(batch)` returns one score per batch item.
template <class F, class Batch>
concept black_box_scorer = requires(const F& f, const Batch& b) {
  { f(b) } -> detail::score_vector_like;
};

/// static_assert(check_black_box_scorer<F, Batch>()) spells out what is missing.
template <class F, class Batch>
consteval bool check_black_box_scorer() {
  static_assert(std::invocable<const F&, const Batch&>,
                "rnnabs::black_box_scorer: the scorer must be callable as `f(batch)` on a const batch (token_batch "
                "for sequences, matrix<T> for feature vectors)");
  if constexpr (std::invocable<const F&, const Batch&>)
    static_assert(detail::score_vector_like<std::invoke_result_t<const F&, const Batch&>>,
                  "rnnabs::black_box_scorer: `f(batch)` must return one score per item as an Eigen vector or a "
                  "std::vector<float/double>");
  return black_box_scorer<F, Batch>;
}

/// Calls the scorer and checks its answer: n finite scores (invalid_argument naming the first bad one).
template <class F, class Batch>
  requires black_box_scorer<F, Batch>
vector<double> score_batch(const F& f, const Batch& b, index_t n, std::string_view who) {
  vector<double> s = detail::to_scores(f(b));
  require(s.size() == n, who, ": the black box returned ", s.size(), " scores for ", n, " inputs");
  for (index_t i = 0; i < n; ++i)
    require(std::isfinite(s(i)), who, ": the black box returned a non-finite score (", s(i), ") for input ", i);
  return s;
}

}  // namespace rnnabs
