#pragma once
// The built-in cells, with PyTorch's equations and gate order (torch.nn.LSTM / torch.nn.GRU). Each models
// rnnabs::recurrent_cell: pointwise per hidden unit, templates on the scalar S (T or dual<T>).
#include <array>
#include <string_view>

#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/concepts.hpp"
#include "rnnabs/nn/dual.hpp"

namespace rnnabs {

/// PyTorch LSTM, gates (i, f, g, o); states (h, c).
///   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o),  a_k = W_ik x + b_ik + W_hk h + b_hk
///   c' = f c + i g,  h' = o tanh(c')
struct lstm_cell {
  static constexpr index_t gates = 4, states = 2, cache_size = 5;  // cache: i, f, g, o, tanh(c')
  static constexpr bool same_gate_gradients = true;                // backward's dhg is dxg (the engine stores one)
  static constexpr std::string_view name() { return "lstm"; }

  template <class S>
  static void forward(const std::array<S, 4>& xg, const std::array<S, 4>& hg, const std::array<S, 2>& prev,
                      std::array<S, 2>& next, std::array<S, 5>& cache) {
    const S i = pointwise::sigmoid(xg[0] + hg[0]);
    const S f = pointwise::sigmoid(xg[1] + hg[1]);
    const S g = pointwise::tanh(xg[2] + hg[2]);
    const S o = pointwise::sigmoid(xg[3] + hg[3]);
    const S c = f * prev[1] + i * g;
    const S tc = pointwise::tanh(c);
    next = {o * tc, c};
    cache = {i, f, g, o, tc};
  }
  template <class S>
  static void backward(const std::array<S, 5>& cache, const std::array<S, 2>& prev, const std::array<S, 2>& dnext,
                       std::array<S, 4>& dxg, std::array<S, 4>& dhg, std::array<S, 2>& dprev) {
    const auto& [i, f, g, o, tc] = cache;
    const S one(1);
    const S dc = dnext[1] + dnext[0] * o * (one - tc * tc);
    dxg = {dc * g * i * (one - i), dc * prev[1] * f * (one - f), dc * i * (one - g * g), dnext[0] * tc * o * (one - o)};
    dhg = dxg;
    dprev = {S(0), dc * f};
  }
};

/// PyTorch GRU, gates (r, z, n); state h. The reset gate multiplies the recurrent projection
/// (W_hn h + b_hn), i.e. Keras/TF2's `reset_after=True` form (Keras orders its gates z, r, h).
///   r = σ(a_r), z = σ(a_z), n = tanh(W_in x + b_in + r (W_hn h + b_hn)),  h' = (1 − z) n + z h
struct gru_cell {
  static constexpr index_t gates = 3, states = 1, cache_size = 4;  // cache: r, z, n, W_hn h + b_hn
  static constexpr std::string_view name() { return "gru"; }

  template <class S>
  static void forward(const std::array<S, 3>& xg, const std::array<S, 3>& hg, const std::array<S, 1>& prev,
                      std::array<S, 1>& next, std::array<S, 4>& cache) {
    const S r = pointwise::sigmoid(xg[0] + hg[0]);
    const S z = pointwise::sigmoid(xg[1] + hg[1]);
    const S n = pointwise::tanh(xg[2] + r * hg[2]);
    next = {(S(1) - z) * n + z * prev[0]};
    cache = {r, z, n, hg[2]};
  }
  template <class S>
  static void backward(const std::array<S, 4>& cache, const std::array<S, 1>& prev, const std::array<S, 1>& dnext,
                       std::array<S, 3>& dxg, std::array<S, 3>& dhg, std::array<S, 1>& dprev) {
    const auto& [r, z, n, hn] = cache;
    const S one(1);
    const S dh = dnext[0];
    const S dan = dh * (one - z) * (one - n * n);
    const S dar = dan * hn * r * (one - r);
    const S daz = dh * (prev[0] - n) * z * (one - z);
    dxg = {dar, daz, dan};
    dhg = {dar, daz, dan * r};
    dprev = {dh * z};
  }
};

/// Elman RNN h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or ReLU (PyTorch nn.RNN).
template <bool Relu>
struct elman_cell {
  static constexpr index_t gates = 1, states = 1, cache_size = 1;  // cache: h'
  static constexpr bool same_gate_gradients = true;                // backward's dhg is dxg (the engine stores one)
  static constexpr std::string_view name() { return Relu ? "rnn_relu" : "rnn_tanh"; }

  template <class S>
  static void forward(const std::array<S, 1>& xg, const std::array<S, 1>& hg, const std::array<S, 1>&,
                      std::array<S, 1>& next, std::array<S, 1>& cache) {
    const S a = xg[0] + hg[0];
    next[0] = Relu ? pointwise::relu(a) : pointwise::tanh(a);
    cache[0] = next[0];
  }
  template <class S>
  static void backward(const std::array<S, 1>& cache, const std::array<S, 1>&, const std::array<S, 1>& dnext,
                       std::array<S, 1>& dxg, std::array<S, 1>& dhg, std::array<S, 1>& dprev) {
    // ReLU: h' > 0 exactly where the pre-activation is, so the cached output decides the branch.
    const S da = Relu ? dnext[0] * pointwise::step(cache[0]) : dnext[0] * (S(1) - cache[0] * cache[0]);
    dxg[0] = da;
    dhg[0] = da;
    dprev[0] = S(0);
  }
};
using rnn_tanh_cell = elman_cell<false>;
using rnn_relu_cell = elman_cell<true>;

static_assert(recurrent_cell<lstm_cell> && recurrent_cell<gru_cell> && recurrent_cell<rnn_tanh_cell> &&
              recurrent_cell<rnn_relu_cell>);

}  // namespace rnnabs
