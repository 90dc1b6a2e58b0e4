#pragma once
// A batch of variable-length sequences: feature vectors (T_i x I each) or token ids, with class
// labels at the last step or at every step. Padded tensors with lengths or masks convert to it.
#include <span>
#include <string_view>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

template <class T = float>
struct sequence_batch {
  std::vector<matrix<T>> features;        // feature input: sequence i is features[i], T_i x input_size
  std::vector<index_vector> tokens;       // token input: sequence i is tokens[i], T_i ids
  index_vector labels;                    // last-step head: one class id per sequence
  std::vector<index_vector> step_labels;  // every-step head: one class id per step (T_i each)

  bool has_tokens() const noexcept { return !tokens.empty(); }
  index_t size() const noexcept { return static_cast<index_t>(has_tokens() ? tokens.size() : features.size()); }
  index_t length(index_t i) const {
    const auto k = static_cast<std::size_t>(i);
    return has_tokens() ? tokens[k].size() : features[k].rows();
  }
};

/// Sequences `ids` of `b` as a batch of their own (features or tokens, labels or step labels).
template <class T>
sequence_batch<T> subset(const sequence_batch<T>& b, std::span<const index_t> ids) {
  sequence_batch<T> s;
  const auto n = static_cast<index_t>(ids.size());
  if (b.has_tokens()) s.tokens.reserve(ids.size());
  else s.features.reserve(ids.size());
  if (b.labels.size() > 0) s.labels.resize(n);
  for (index_t k = 0; k < n; ++k) {
    const index_t i = ids[static_cast<std::size_t>(k)];
    require(i >= 0 && i < b.size(), "subset: sample id ", i, " is outside [0, ", b.size(), ")");
    const auto iu = static_cast<std::size_t>(i);
    if (b.has_tokens()) s.tokens.push_back(b.tokens[iu]);
    else s.features.push_back(b.features[iu]);
    if (b.labels.size() > 0) s.labels(k) = b.labels(i);
    if (!b.step_labels.empty()) s.step_labels.push_back(b.step_labels[iu]);
  }
  return s;
}

/// Lengths of a prefix mask (N x T, nonzero = valid step): invalid_argument when a row has a hole
/// (a valid step after a padded one) or no valid step.
template <class M>
index_vector lengths_from_mask(const xt::xexpression<M>& mask_expr) {
  const auto& mask = mask_expr.derived_cast();
  require(mask.dimension() == 2, "lengths_from_mask: mask must be 2-d (N x T), got ", mask.dimension(), " dimensions");
  const auto n = static_cast<index_t>(mask.shape()[0]), t = static_cast<index_t>(mask.shape()[1]);
  index_vector len(n);
  for (index_t i = 0; i < n; ++i) {
    index_t l = 0;
    while (l < t && mask(i, l)) ++l;
    for (index_t s = l; s < t; ++s)
      require(!mask(i, s), "lengths_from_mask: sequence ", i, " has a valid step ", s, " after padding at step ", l,
              " (only prefix masks describe packed sequences)");
    require(l > 0, "lengths_from_mask: sequence ", i, " is empty (no valid step)");
    len(i) = l;
  }
  return len;
}

/// Sequences of a padded N x T x I tensor, sequence i cut to lengths(i) steps.
template <class T>
std::vector<matrix<T>> unpad_features(const xt::xtensor<T, 3>& x, const index_vector& lengths) {
  const auto n = static_cast<index_t>(x.shape()[0]), t = static_cast<index_t>(x.shape()[1]),
             f = static_cast<index_t>(x.shape()[2]);
  require(lengths.size() == n, "unpad_features: ", lengths.size(), " lengths for ", n, " sequences");
  std::vector<matrix<T>> out(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    require(lengths(i) >= 1 && lengths(i) <= t, "unpad_features: length ", lengths(i), " of sequence ", i,
            " is outside [1, ", t, "]");
    out[static_cast<std::size_t>(i)] = Eigen::Map<const matrix<T>>(x.data() + i * t * f, lengths(i), f);
  }
  return out;
}

/// Token sequences of a padded N x T id matrix, sequence i cut to lengths(i) steps.
template <class I>
std::vector<index_vector> unpad_tokens(const xt::xtensor<I, 2>& x, const index_vector& lengths) {
  const auto n = static_cast<index_t>(x.shape()[0]), t = static_cast<index_t>(x.shape()[1]);
  require(lengths.size() == n, "unpad_tokens: ", lengths.size(), " lengths for ", n, " sequences");
  std::vector<index_vector> out(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    require(lengths(i) >= 1 && lengths(i) <= t, "unpad_tokens: length ", lengths(i), " of sequence ", i,
            " is outside [1, ", t, "]");
    auto& s = out[static_cast<std::size_t>(i)];
    s.resize(lengths(i));
    for (index_t j = 0; j < lengths(i); ++j) s(j) = static_cast<index_t>(x(i, j));
  }
  return out;
}

}  // namespace rnnabs
