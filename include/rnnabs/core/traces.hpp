#pragma once
// rnnabs::traces: what the abstraction pipeline reads of a recurrent model, per sequence — hidden
// states (T_i x W), per-step output distributions (T_i x C), per-step labels, the final prediction
// and the truth. rnnabs::profile (nn/profile.hpp) records them from an rnnabs model; hidden states
// from elsewhere (another framework's LSTM, a transformer layer) come in through make_traces:
//
//   // ragged: one T_i x W matrix per sequence, the model's per-step labels, C classes
//   auto tr = rnnabs::make_traces(std::move(hidden), std::move(step_labels), /*num_classes=*/2);
//   // padded, as NumPy holds them: h[n][t_max][w] row-major, lengths[n], labels[n][t_max]
//   auto tr2 = rnnabs::traces_from_padded<float>(h, n, t_max, w, lengths, labels, 2);
#include <cstddef>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

template <class T = float>
struct traces {
  std::vector<matrix<T>> hidden;              // per sequence: T_i x W hidden states (top layer output)
  std::vector<matrix<T>> step_probabilities;  // per sequence: T_i x C output distribution at each step
  std::vector<index_vector> step_labels;      // per sequence: T_i argmax labels per step
  std::vector<index_vector> tokens;           // per sequence: T_i input token ids (token models); else empty
  index_vector predictions;                   // n: final prediction
  index_vector truth;                         // n: true label (-1 where unknown)

  index_t size() const noexcept { return static_cast<index_t>(hidden.size()); }
  index_t width() const noexcept { return hidden.empty() ? 0 : hidden.front().cols(); }
  index_t num_classes() const noexcept { return step_probabilities.empty() ? 0 : step_probabilities.front().cols(); }
  index_t length(index_t i) const { return hidden[static_cast<std::size_t>(i)].rows(); }
  index_t total_steps() const {
    index_t s = 0;
    for (const auto& h : hidden) s += h.rows();
    return s;
  }

  /// invalid_argument naming the first inconsistency (sizes, widths, labels outside [0, C)).
  void validate(std::string_view who) const {
    const index_t n = size();
    require(n > 0, who, ": the traces hold no sequence");
    require(static_cast<index_t>(step_probabilities.size()) == n && static_cast<index_t>(step_labels.size()) == n &&
                predictions.size() == n && truth.size() == n &&
                (tokens.empty() || static_cast<index_t>(tokens.size()) == n),
            who, ": inconsistent traces (", n, " hidden sequences, ", step_probabilities.size(), " distributions, ",
            step_labels.size(), " label sequences, ", predictions.size(), " predictions, ", truth.size(), " truths, ",
            tokens.size(), " token sequences)");
    const index_t W = width(), C = num_classes();
    for (index_t i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      const index_t len = hidden[k].rows();
      require(len > 0, who, ": sequence ", i, " is empty");
      require(hidden[k].cols() == W, who, ": sequence ", i, " has hidden width ", hidden[k].cols(), ", expected ", W);
      require(step_probabilities[k].rows() == len && step_probabilities[k].cols() == C, who, ": sequence ", i,
              " has a ", step_probabilities[k].rows(), " x ", step_probabilities[k].cols(), " distribution, expected ",
              len, " x ", C);
      require(step_labels[k].size() == len, who, ": sequence ", i, " has ", step_labels[k].size(), " step labels for ",
              len, " steps");
      for (index_t t = 0; t < len; ++t)
        require(step_labels[k](t) >= 0 && step_labels[k](t) < C, who, ": step label ", step_labels[k](t), " at step ",
                t, " of sequence ", i, " is outside [0, ", C, ")");
      if (!tokens.empty())
        require(tokens[k].size() == len, who, ": sequence ", i, " has ", tokens[k].size(), " tokens for ", len,
                " steps");
    }
  }
};

/// Traces from hidden states computed elsewhere. hidden[i]: T_i x W; step_labels[i]: T_i labels in
/// [0, C) (the model's prediction after each step); step_probabilities: T_i x C each, or empty for
/// one-hot rows of the step labels; truth: n true labels (-1 unknown), or empty for all unknown.
/// The final prediction is the last step's label. invalid_argument on any inconsistency.
template <class T>
traces<T> make_traces(std::vector<matrix<T>> hidden, std::vector<index_vector> step_labels, index_t num_classes,
                      index_vector truth = {}, std::vector<matrix<T>> step_probabilities = {}) {
  require(num_classes >= 1, "make_traces: num_classes must be >= 1, got ", num_classes);
  require(!hidden.empty(), "make_traces: no sequence");
  require(step_labels.size() == hidden.size(), "make_traces: ", hidden.size(), " hidden sequences but ",
          step_labels.size(), " label sequences");
  const auto n = static_cast<index_t>(hidden.size());
  traces<T> tr;
  tr.predictions.resize(n);
  for (index_t i = 0; i < n; ++i) {
    const auto& y = step_labels[static_cast<std::size_t>(i)];
    require(y.size() > 0, "make_traces: sequence ", i, " is empty");
    require(hidden[static_cast<std::size_t>(i)].allFinite(), "make_traces: sequence ", i,
            " has a non-finite hidden state");
    tr.predictions(i) = y(y.size() - 1);
  }
  if (step_probabilities.empty()) {
    step_probabilities.resize(hidden.size());
    for (std::size_t i = 0; i < hidden.size(); ++i) {
      const auto& y = step_labels[i];
      step_probabilities[i] = matrix<T>::Zero(y.size(), num_classes);
      for (index_t t = 0; t < y.size(); ++t) {
        require(y(t) >= 0 && y(t) < num_classes, "make_traces: step label ", y(t), " at step ", t, " of sequence ", i,
                " is outside [0, ", num_classes, ")");
        step_probabilities[i](t, y(t)) = T(1);
      }
    }
  }
  tr.hidden = std::move(hidden);
  tr.step_labels = std::move(step_labels);
  tr.step_probabilities = std::move(step_probabilities);
  tr.truth = truth.size() ? std::move(truth) : index_vector(index_vector::Constant(n, -1));
  tr.validate("make_traces");
  return tr;
}

/// Traces from padded arrays as NumPy or PyTorch hold them: hidden[n][t_max][width] and
/// step_labels[n][t_max] (row-major; entries past a sequence's length are ignored), lengths[n] in
/// [1, t_max], truth[n] or empty.
template <class T>
traces<T> traces_from_padded(std::span<const T> hidden, index_t n, index_t t_max, index_t width,
                             std::span<const index_t> lengths, std::span<const index_t> step_labels,
                             index_t num_classes, std::span<const index_t> truth = {}) {
  require(n >= 1 && t_max >= 1 && width >= 1, "traces_from_padded: need n, t_max, width >= 1, got ", n, ", ", t_max,
          ", ", width);
  const auto steps = static_cast<std::size_t>(n) * static_cast<std::size_t>(t_max);
  require(hidden.size() == steps * static_cast<std::size_t>(width), "traces_from_padded: hidden has ", hidden.size(),
          " values, n x t_max x width = ", steps * static_cast<std::size_t>(width));
  require(lengths.size() == static_cast<std::size_t>(n), "traces_from_padded: ", lengths.size(), " lengths for ", n,
          " sequences");
  require(step_labels.size() == steps, "traces_from_padded: step_labels has ", step_labels.size(),
          " values, n x t_max = ", steps);
  require(truth.empty() || truth.size() == static_cast<std::size_t>(n), "traces_from_padded: ", truth.size(),
          " truths for ", n, " sequences");
  std::vector<matrix<T>> h(static_cast<std::size_t>(n));
  std::vector<index_vector> y(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    const index_t len = lengths[static_cast<std::size_t>(i)];
    require(len >= 1 && len <= t_max, "traces_from_padded: length ", len, " of sequence ", i, " is outside [1, ", t_max,
            "]");
    const auto at = static_cast<std::size_t>(i) * static_cast<std::size_t>(t_max);
    h[static_cast<std::size_t>(i)] = Eigen::Map<const matrix<T>>(hidden.data() + at * static_cast<std::size_t>(width),
                                                                 len, width);
    y[static_cast<std::size_t>(i)] = Eigen::Map<const index_vector>(step_labels.data() + at, len);
  }
  index_vector tv;
  if (!truth.empty()) tv = Eigen::Map<const index_vector>(truth.data(), n);
  return make_traces(std::move(h), std::move(y), num_classes, std::move(tv));
}

}  // namespace rnnabs
