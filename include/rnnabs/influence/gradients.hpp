#pragma once
// Per-sample gradients at scale: products G V of the N x P matrix of training gradients with a few
// vectors, computed in blocks of samples so G is never held whole (12,000 samples of a 52k-parameter
// LSTM would be 2.5 GB), plus per-sample gradient norms and test-gradient matrices. The kernel of
// every gradient-based influence method here (Koh & Liang, TracIn, gradient dot/cosine).
//
//   auto s = rnnabs::gradient_products(train, theta, V);   // N x m, row i = ∇ℓ_iᵀ V
//   auto gt = rnnabs::sample_gradients(test, theta);       // P x m, column k = ∇ℓ_k
#include <algorithm>
#include <numeric>
#include <type_traits>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/concepts.hpp"

namespace rnnabs {

/// What to compute for each block of training gradients.
struct gradient_block_options {
  index_t block = 128;  ///< samples per block (one block per thread at a time: block x P scalars)
};

/// Calls visit(first, G_block) for consecutive blocks of f's samples, where G_block is the block's
/// per-sample gradients at w (rows = samples first, first + 1, ...). Blocks run in parallel (each
/// block's gradient serially on one thread); visit must write only to its own rows.
template <gradient_objective F, class Visit>
void for_gradient_blocks(const F& f, const vector<typename F::scalar>& w, index_t block, Visit&& visit) {
  static_assert(!detail::collective_objective<F>,
                "rnnabs: per-sample gradients of a sharded_objective are its rank's samples only; pass "
                "sharded.local() (rows: that rank's samples) or use koh_liang(sharded, ...)");
  require(block >= 1, "for_gradient_blocks: block must be >= 1, got ", block);
  require(w.size() == f.parameter_count(), "for_gradient_blocks: w has ", w.size(), " entries, the objective has ",
          f.parameter_count(), " parameters");
  const index_t n = f.sample_count(), nb = chunk_count(n, block);
  parallel_for(
      nb,
      [&](index_t b) {
        const index_t first = b * block, len = std::min(block, n - first);
        std::vector<index_t> ids(static_cast<std::size_t>(len));
        std::iota(ids.begin(), ids.end(), first);
        const F part = (first == 0 && len == n) ? f : f.subset(ids);
        const matrix<typename F::scalar> g = part.per_sample_gradients(w);
        visit(first, g);
      },
      /*small=*/false);  // in the team even for one block: its products' bits do not depend on the thread count
}

namespace detail {

/// out = G V for a block of gradients G (b x P, scalar T) and V given in double and in T (`vt`).
/// Float blocks run as float GEMMs over 4096-parameter slices whose partial products are summed in
/// double: float speed, a double sum (widening the whole block first costs more than the GEMM).
template <class T, class Out>
void block_products(const matrix<T>& g, const matrix<double>& v, const matrix<T>& vt, Out&& out) {
  if constexpr (std::is_same_v<T, double>) {
    (void)vt;
    out.noalias() = g * v;
  } else {
    constexpr index_t slice = 4096;
    out.setZero();
    for (index_t k = 0; k < g.cols(); k += slice) {
      const index_t len = std::min(slice, g.cols() - k);
      out += (g.middleCols(k, len) * vt.middleRows(k, len)).template cast<double>();
    }
  }
}

}  // namespace detail

/// N x m: row i is ∇ℓ_i(w)ᵀ V, V a P x m matrix (products summed in double).
template <gradient_objective F>
matrix<double> gradient_products(const F& f, const vector<typename F::scalar>& w, const matrix<double>& v,
                                 gradient_block_options o = {}, vector<double>* norms = nullptr) {
  using T = typename F::scalar;
  require(v.rows() == f.parameter_count(), "gradient_products: V has ", v.rows(), " rows, the objective has ",
          f.parameter_count(), " parameters");
  require(v.allFinite(), "gradient_products: V has a non-finite value");
  matrix<double> out(f.sample_count(), v.cols());
  const matrix<T> vt = v.template cast<T>();
  if (norms) norms->resize(f.sample_count());
  for_gradient_blocks(f, w, o.block, [&](index_t first, const matrix<T>& g) {
    detail::block_products(g, v, vt, out.middleRows(first, g.rows()));
    if (norms)
      for (index_t i = 0; i < g.rows(); ++i) (*norms)(first + i) = g.row(i).template cast<double>().norm();
  });
  return out;
}

/// P x m: column k is sample k's own loss gradient at w (the test-gradient matrix of influence methods).
template <gradient_objective F>
matrix<double> sample_gradients(const F& f, const vector<typename F::scalar>& w) {
  matrix<double> g(f.parameter_count(), f.sample_count());
  for_gradient_blocks(f, w, 128, [&](index_t first, const auto& blk) {
    g.middleCols(first, blk.rows()) = blk.transpose().template cast<double>();
  });
  return g;
}

/// P x 1: the mean of f's per-sample gradients at w — the gradient of a set of test losses (no regularizer).
template <gradient_objective F>
matrix<double> mean_sample_gradient(const F& f, const vector<typename F::scalar>& w) {
  return sample_gradients(f, w).rowwise().mean();
}

}  // namespace rnnabs
