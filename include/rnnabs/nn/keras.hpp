#pragma once
// Keras/TF2 recurrent weights in PyTorch's layout, for rnn_classifier::set_tensor.
// Keras stores x-kernels as (I, G·H) and recurrent kernels as (H, G·H) (transposed w.r.t. PyTorch)
// and orders the gate blocks differently:
//   LSTM       gates i, f, c, o (PyTorch's order), one bias of 4H            -> bias_hh = 0
//   GRU        reset_after=True (TF2 default): gates z, r, h, bias (2, 3H) = [input; recurrent]
//              -> PyTorch r, z, n; this *is* PyTorch's GRU, so gru_cell runs it unchanged
//   SimpleRNN  one gate, one bias                                             -> bias_hh = 0
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// One direction of one layer, PyTorch layout: weight_ih (G·H, I), weight_hh (G·H, H), biases (G·H).
template <class T>
struct cell_weights {
  matrix<T> weight_ih, weight_hh;
  vector<T> bias_ih, bias_hh;
};

namespace detail {
/// Keras kernel (in, G·H) -> PyTorch weight (G·H, in) with gate block order[k] of Keras at block k.
template <class T>
matrix<T> keras_blocks(const matrix<T>& kernel, index_t gates, const index_t* order) {
  const index_t H = kernel.cols() / gates;
  matrix<T> w(kernel.cols(), kernel.rows());
  for (index_t k = 0; k < gates; ++k) w.middleRows(k * H, H) = kernel.middleCols(order[k] * H, H).transpose();
  return w;
}
template <class T>
vector<T> keras_bias(const Eigen::Ref<const vector<T>>& b, index_t gates, const index_t* order) {
  const index_t H = b.size() / gates;
  vector<T> out(b.size());
  for (index_t k = 0; k < gates; ++k) out.segment(k * H, H) = b.segment(order[k] * H, H);
  return out;
}
template <class T>
void check_keras(const matrix<T>& kernel, const matrix<T>& recurrent, index_t gates, index_t bias_size,
                 const char* who) {
  require(kernel.cols() % gates == 0 && kernel.cols() > 0, who, ": kernel has ", kernel.cols(),
          " columns, expected a positive multiple of ", gates);
  const index_t H = kernel.cols() / gates;
  require(recurrent.rows() == H && recurrent.cols() == gates * H, who, ": recurrent_kernel is ", recurrent.rows(),
          " x ", recurrent.cols(), ", expected ", H, " x ", gates * H);
  require(bias_size == gates * H, who, ": bias has ", bias_size, " entries, expected ", gates * H);
}
}  // namespace detail

/// Keras LSTM weights (kernel (I, 4H), recurrent_kernel (H, 4H), bias (4H)).
template <class T>
cell_weights<T> from_keras_lstm(const matrix<T>& kernel, const matrix<T>& recurrent, const vector<T>& bias) {
  detail::check_keras(kernel, recurrent, 4, bias.size(), "from_keras_lstm");
  static constexpr index_t order[4] = {0, 1, 2, 3};
  return {detail::keras_blocks(kernel, 4, order), detail::keras_blocks(recurrent, 4, order), bias,
          vector<T>::Zero(bias.size())};
}

/// Keras/TF2 GRU(reset_after=True) weights (kernel (I, 3H), recurrent_kernel (H, 3H), bias (2, 3H)).
template <class T>
cell_weights<T> from_keras_gru(const matrix<T>& kernel, const matrix<T>& recurrent, const matrix<T>& bias) {
  require(bias.rows() == 2,
          "from_keras_gru: bias must be 2 x 3H (reset_after=True: input and recurrent "
          "biases), got ",
          bias.rows(), " x ", bias.cols(), "; reset_after=False models are not supported");
  detail::check_keras(kernel, recurrent, 3, bias.cols(), "from_keras_gru");
  static constexpr index_t order[3] = {1, 0, 2};  // PyTorch r, z, n <- Keras z, r, h
  return {detail::keras_blocks(kernel, 3, order), detail::keras_blocks(recurrent, 3, order),
          detail::keras_bias<T>(bias.row(0).transpose(), 3, order),
          detail::keras_bias<T>(bias.row(1).transpose(), 3, order)};
}

/// Keras SimpleRNN weights (kernel (I, H), recurrent_kernel (H, H), bias (H)).
template <class T>
cell_weights<T> from_keras_simple_rnn(const matrix<T>& kernel, const matrix<T>& recurrent, const vector<T>& bias) {
  detail::check_keras(kernel, recurrent, 1, bias.size(), "from_keras_simple_rnn");
  return {kernel.transpose(), recurrent.transpose(), bias, vector<T>::Zero(bias.size())};
}

}  // namespace rnnabs
