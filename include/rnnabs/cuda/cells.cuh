#pragma once
// Device code of the recurrent cells: PyTorch's LSTM and GRU equations (nn/cells.hpp) on a plain
// scalar or on a dual number (value, tangent), one thread per (sequence, hidden unit). With dual
// numbers the forward pass is its own directional derivative and the backward pass the derivative
// of the gradient: forward-over-reverse, the exact Hessian-vector product (as the CPU engine).
#include <cuda_runtime.h>

#include <cstddef>
#include <type_traits>

#include "rnnabs/nn/cells.hpp"

namespace rnnabs::cuda {

/// A dual number on the device: value v, tangent d.
template <class T>
struct dual_d {
  T v, d;
};
template <class T>
__device__ inline dual_d<T> operator+(dual_d<T> a, dual_d<T> b) {
  return {a.v + b.v, a.d + b.d};
}
template <class T>
__device__ inline dual_d<T> operator-(dual_d<T> a, dual_d<T> b) {
  return {a.v - b.v, a.d - b.d};
}
template <class T>
__device__ inline dual_d<T> operator*(dual_d<T> a, dual_d<T> b) {
  return {a.v * b.v, a.d * b.v + a.v * b.d};
}
template <class T>
__device__ inline dual_d<T> operator-(T a, dual_d<T> b) {
  return {a - b.v, -b.d};
}
template <class T>
__device__ inline dual_d<T> operator*(T a, dual_d<T> b) {
  return {a * b.v, a * b.d};
}

__device__ inline float dsigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ inline double dsigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
__device__ inline float dtanh(float x) { return tanhf(x); }
__device__ inline double dtanh(double x) { return tanh(x); }
template <class T>
__device__ inline dual_d<T> dsigmoid(dual_d<T> x) {
  const T s = dsigmoid(x.v);
  return {s, x.d * s * (T(1) - s)};
}
template <class T>
__device__ inline dual_d<T> dtanh(dual_d<T> x) {
  const T t = dtanh(x.v);
  return {t, x.d * (T(1) - t * t)};
}

/// Reads / writes the engine's scalar S (T, or dual_d<T> from a value and a tangent array).
template <class T, bool Tan>
struct dev_io {
  using S = std::conditional_t<Tan, dual_d<T>, T>;
  __device__ static S zero() {
    if constexpr (Tan) return {T(0), T(0)};
    else return T(0);
  }
  __device__ static S load(const T* v, const T* d, std::size_t i) {
    if constexpr (Tan) return {v[i], d[i]};
    else return v[i];
  }
  __device__ static void store(T* v, T* d, std::size_t i, S x) {
    if constexpr (Tan) {
      v[i] = x.v;
      d[i] = x.d;
    } else {
      v[i] = x;
    }
  }
};

/// Device equations of a cell type (specialised for lstm_cell and gru_cell).
template <class Cell>
struct device_cell;

/// LSTM, gates (i, f, g, o); states (h, c); cache (i, f, g, o, tanh c').
template <>
struct device_cell<lstm_cell> {
  static constexpr int G = 4, K = 2, CC = 5;
  /// xg: input projections, hg: recurrent projections of the four gates.
  template <class T, class S>
  __device__ static void forward(const S* xg, const S* hg, const S* prev, S* next, S* cache) {
    const S i = dsigmoid(xg[0] + hg[0]), f = dsigmoid(xg[1] + hg[1]), g = dtanh(xg[2] + hg[2]),
            o = dsigmoid(xg[3] + hg[3]);
    const S c = f * prev[1] + i * g;
    const S tc = dtanh(c);
    next[0] = o * tc;
    next[1] = c;
    cache[0] = i;
    cache[1] = f;
    cache[2] = g;
    cache[3] = o;
    cache[4] = tc;
  }
  template <class T, class S>
  __device__ static void backward(const S* cache, const S* prev, const S* dnext, S* dxg, S* dhg, S* dprev) {
    const S i = cache[0], f = cache[1], g = cache[2], o = cache[3], tc = cache[4];
    const T one(1);
    const S dc = dnext[1] + dnext[0] * o * (one - tc * tc);
    dxg[0] = dc * g * i * (one - i);
    dxg[1] = dc * prev[1] * f * (one - f);
    dxg[2] = dc * i * (one - g * g);
    dxg[3] = dnext[0] * tc * o * (one - o);
    for (int k = 0; k < 4; ++k) dhg[k] = dxg[k];
    dprev[0] = T(0) * dc;  // zero of the right type
    dprev[1] = dc * f;
  }
};

/// GRU, gates (r, z, n); state h; cache (r, z, n, W_hn h + b_hn).
template <>
struct device_cell<gru_cell> {
  static constexpr int G = 3, K = 1, CC = 4;
  /// xg: input projections, hg: recurrent projections (the reset gate multiplies hg[2]).
  template <class T, class S>
  __device__ static void forward(const S* xg, const S* hg, const S* prev, S* next, S* cache) {
    const S r = dsigmoid(xg[0] + hg[0]);
    const S z = dsigmoid(xg[1] + hg[1]);
    const S n = dtanh(xg[2] + r * hg[2]);
    next[0] = (T(1) - z) * n + z * prev[0];
    cache[0] = r;
    cache[1] = z;
    cache[2] = n;
    cache[3] = hg[2];
  }
  template <class T, class S>
  __device__ static void backward(const S* cache, const S* prev, const S* dnext, S* dxg, S* dhg, S* dprev) {
    const S r = cache[0], z = cache[1], n = cache[2], hn = cache[3];
    const T one(1);
    const S dh = dnext[0];
    const S dan = dh * (one - z) * (one - n * n);
    const S dar = dan * hn * r * (one - r);
    const S daz = dh * (prev[0] - n) * z * (one - z);
    dxg[0] = dar;
    dxg[1] = daz;
    dxg[2] = dan;
    dhg[0] = dar;
    dhg[1] = daz;
    dhg[2] = dan * r;
    dprev[0] = dh * z;
  }
};

}  // namespace rnnabs::cuda
