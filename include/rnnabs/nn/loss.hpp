#pragma once
// Losses on a head's logits, per row, in the forms PyTorch reduces them with `mean`.
// Targets are class ids throughout: for BCE losses with C > 1 outputs the target is one-hot of the
// id; with C = 1 (a single logit) it is the 0/1 label itself.
#include <algorithm>
#include <cmath>
#include <string_view>

#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/dual.hpp"

namespace rnnabs {

enum class loss_kind {
  cross_entropy,    // softmax over C >= 2 logits, −log p_y                       (nn.CrossEntropyLoss)
  bce_with_logits,  // (1/C) Σ_c BCE(σ(z_c), t_c)                                 (nn.BCEWithLogitsLoss)
  softmax_bce,      // (1/C) Σ_c BCE(softmax(z)_c, t_c): RNNRepair's binary model (nn.BCELoss(softmax(z)))
};

constexpr std::string_view to_string(loss_kind k) {
  switch (k) {
    case loss_kind::cross_entropy: return "cross_entropy";
    case loss_kind::bce_with_logits: return "bce_with_logits";
    case loss_kind::softmax_bce: return "softmax_bce";
  }
  return "?";
}

/// Whether the head's outputs are read through a softmax (else an elementwise sigmoid).
constexpr bool uses_softmax(loss_kind k) { return k != loss_kind::bce_with_logits; }

namespace detail {

/// Target of output c for class id y among C outputs.
template <class T>
T bce_target(index_t C, index_t y, index_t c) {
  return C == 1 ? T(y) : T(c == y ? 1 : 0);
}

/// Softmax of z[0..C) into p (any scalar, dual included).
template <class S>
void softmax_row(const S* z, index_t C, S* p) {
  auto m = value_of(z[0]);
  for (index_t c = 1; c < C; ++c) m = std::max(m, value_of(z[c]));
  S sum(0);
  for (index_t c = 0; c < C; ++c) {
    p[c] = pointwise::exp(z[c] - S(m));
    sum += p[c];
  }
  for (index_t c = 0; c < C; ++c) p[c] = p[c] / sum;
}

/// The loss of one row of logits (computed in double).
template <class T>
double loss_value(loss_kind k, const T* z, index_t C, index_t y) {
  double m = static_cast<double>(z[0]);
  for (index_t c = 1; c < C; ++c) m = std::max(m, static_cast<double>(z[c]));
  double s = 0;
  for (index_t c = 0; c < C; ++c) s += std::exp(static_cast<double>(z[c]) - m);
  const double lse = m + std::log(s);
  switch (k) {
    case loss_kind::cross_entropy: return lse - static_cast<double>(z[y]);
    case loss_kind::bce_with_logits: {
      double l = 0;
      for (index_t c = 0; c < C; ++c) {
        const double x = z[c], t = bce_target<double>(C, y, c);
        l += std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::abs(x)));
      }
      return l / static_cast<double>(C);
    }
    case loss_kind::softmax_bce: {
      double l = 0;
      for (index_t c = 0; c < C; ++c) {
        const double lp = static_cast<double>(z[c]) - lse, t = bce_target<double>(C, y, c);
        l -= t * lp + (1 - t) * std::log1p(-std::exp(lp));
      }
      return l / static_cast<double>(C);
    }
  }
  return 0;
}

/// d loss / d z of one row into g; a template on the scalar so its tangent (dual) is the exact
/// Hessian of the loss times the logits' tangent.
template <class S>
void loss_gradient(loss_kind k, const S* z, index_t C, index_t y, S* g) {
  using T = decltype(value_of(z[0]));
  const T invC = T(1) / static_cast<T>(C);
  switch (k) {
    case loss_kind::cross_entropy:
      softmax_row(z, C, g);
      g[y] -= S(1);
      return;
    case loss_kind::bce_with_logits:
      for (index_t c = 0; c < C; ++c) g[c] = (pointwise::sigmoid(z[c]) - S(bce_target<T>(C, y, c))) * S(invC);
      return;
    case loss_kind::softmax_bce: {
      // ∂ℓ/∂z_k = q_k − p_k Σ_c q_c with q_c = p_c ∂ℓ/∂p_c = −(1/C)(t_c − (1 − t_c) p_c / (1 − p_c)).
      softmax_row(z, C, g);  // g holds p until the second sweep overwrites it
      const auto q = [&](index_t c) {
        const T t = bce_target<T>(C, y, c);
        return S(-invC) * (S(t) - S(T(1) - t) * g[c] / (S(1) - g[c]));
      };
      S sum_q(0);
      for (index_t c = 0; c < C; ++c) sum_q += q(c);
      for (index_t c = 0; c < C; ++c) g[c] = q(c) - g[c] * sum_q;
      return;
    }
  }
}

/// Output probabilities of one row: softmax, or sigmoid per output; a single sigmoid logit gives
/// the two-class distribution [1 − q, q] (so p has 2 entries then).
template <class T>
void output_distribution(loss_kind k, const T* z, index_t C, T* p) {
  if (uses_softmax(k)) {
    softmax_row(z, C, p);
  } else if (C == 1) {
    const T q = pointwise::sigmoid(z[0]);
    p[0] = T(1) - q;
    p[1] = q;
  } else {
    for (index_t c = 0; c < C; ++c) p[c] = pointwise::sigmoid(z[c]);
  }
}

/// Columns output_distribution writes for C outputs.
constexpr index_t distribution_width(loss_kind k, index_t C) { return !uses_softmax(k) && C == 1 ? 2 : C; }

}  // namespace detail
}  // namespace rnnabs
