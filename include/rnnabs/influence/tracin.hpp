#pragma once
// Gradient-similarity influence: TracIn (Pruthi et al., NeurIPS 2020) over a recorded SGD run,
// TracInCP over checkpoints, and the one-point gradient dot product and cosine. Scores follow the
// sign convention of the whole influence layer: positive = the training sample pushed the test loss
// down (a proponent), negative = up (an opponent).
//
//   TracIn      Σ_{t: i ∈ B_t} η_t/|B_t| ⟨∇ℓ_i(θ_t), ∇ℓ_test(θ_t)⟩       (every recorded step)
//   TracInCP    Σ_c η_c ⟨∇ℓ_i(θ_c), ∇ℓ_test(θ_c)⟩                        (a few checkpoints)
//   grad dot    ⟨∇ℓ_i(w), ∇ℓ_test(w)⟩,  grad cosine  the same over the norms
//
// Test gradients are per test sample (m columns) or, with `aggregate`, of the mean test loss (one
// column). An optional Gaussian random projection (seeded, R ~ N(0, 1/k), the TracInCPFastRandProj
// idea) replaces ⟨g, g'⟩ by ⟨Rᵀg, Rᵀg'⟩ for a k-dimensional sketch of the gradients.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/influence/gradients.hpp"
#include "rnnabs/influence/sgd_influence.hpp"
#include "rnnabs/nn/concepts.hpp"

namespace rnnabs {

/// A parameter vector with the learning rate that weighs it in TracInCP.
template <class T>
struct checkpoint {
  vector<T> parameters;
  double learning_rate = 1;
};

struct tracin_options {
  bool aggregate = false;  ///< one column: the gradient of the mean test loss
  bool normalize = false;  ///< cosine instead of dot products (gradients normalized per sample)
  index_t projection = 0;  ///< k > 0: a seeded k-dimensional Gaussian sketch of the gradients
  std::uint64_t seed = 0;  ///< of the projection
  index_t block = 128;     ///< training samples per gradient block
};

/// A seeded P x k Gaussian projection with entries N(0, 1/k): E[⟨Rᵀa, Rᵀb⟩] = ⟨a, b⟩.
inline matrix<double> gaussian_projection(index_t p, index_t k, std::uint64_t seed) {
  require(p >= 1 && k >= 1, "gaussian_projection: need p, k >= 1, got ", p, " and ", k);
  matrix<double> r(p, k);
  const double s = 1.0 / std::sqrt(static_cast<double>(k));
  for (index_t i = 0; i < p; ++i) {
    rng g = rng::stream(seed, static_cast<std::uint64_t>(i));  // row by row: the same R for any k-slice order
    for (index_t j = 0; j < k; ++j) r(i, j) = s * g.normal();
  }
  return r;
}

namespace detail {

/// ⟨∇ℓ_i(w), G_test⟩ (or cosine) for every training sample at one point: N x m.
template <class F, class G>
matrix<double> similarity_at(const F& train, const G& test, const vector<typename F::scalar>& w,
                             const tracin_options& o, const matrix<double>* projection) {
  matrix<double> gt = o.aggregate ? mean_sample_gradient(test, w) : sample_gradients(test, w);
  if (o.normalize)
    for (index_t k = 0; k < gt.cols(); ++k) {
      const double nrm = gt.col(k).norm();
      if (nrm > 0) gt.col(k) /= nrm;
    }
  if (!projection) {
    if (!o.normalize) return gradient_products(train, w, gt, {o.block});
    vector<double> norms;
    matrix<double> s = gradient_products(train, w, gt, {o.block}, &norms);
    for (index_t i = 0; i < s.rows(); ++i)
      if (norms(i) > 0) s.row(i) /= norms(i);
    return s;
  }
  // Sketch: ⟨Rᵀg_i, Rᵀg_k⟩ = g_iᵀ (R Rᵀ g_k); with normalization the sketched norms are used.
  using T = typename F::scalar;
  const matrix<double>& r = *projection;
  const matrix<T> rt = r.template cast<T>();
  matrix<double> pt;  // k x m, a depth-P product: in the team, for bits independent of the thread count
  in_team([&] { pt = r.transpose() * gt; });
  matrix<double> s(train.sample_count(), gt.cols());
  for_gradient_blocks(train, w, o.block, [&](index_t first, const matrix<T>& g) {
    matrix<double> pg(g.rows(), r.cols());  // b x k
    block_products(g, r, rt, pg);
    auto rows = s.middleRows(first, pg.rows());
    rows.noalias() = pg * pt;
    if (o.normalize)
      for (index_t i = 0; i < pg.rows(); ++i) {
        const double nrm = pg.row(i).norm();
        if (nrm > 0) rows.row(i) /= nrm;
      }
  });
  return s;
}

template <class F>
matrix<double> make_projection(const F& train, const tracin_options& o) {
  require(o.projection >= 0, "tracin: projection must be >= 0, got ", o.projection);
  return o.projection > 0 ? gaussian_projection(train.parameter_count(), o.projection, o.seed) : matrix<double>();
}

}  // namespace detail

/// TracInCP: N x m (m = test samples, or 1 with aggregate).
template <gradient_objective F, gradient_objective G>
  requires std::same_as<typename F::scalar, typename G::scalar>
matrix<double> tracin_cp(const F& train, const G& test, const std::vector<checkpoint<typename F::scalar>>& cps,
                         tracin_options o = {}) {
  require(!cps.empty(), "tracin_cp: no checkpoints");
  require(train.parameter_count() == test.parameter_count(), "tracin_cp: the train and test objectives have ",
          train.parameter_count(), " and ", test.parameter_count(), " parameters");
  const matrix<double> r = detail::make_projection(train, o);
  matrix<double> total;
  for (const auto& c : cps) {
    require(std::isfinite(c.learning_rate), "tracin_cp: a checkpoint's learning rate is not finite");
    const matrix<double> s = detail::similarity_at(train, test, c.parameters, o, r.size() ? &r : nullptr);
    if (total.size() == 0) total = matrix<double>::Zero(s.rows(), s.cols());
    total += c.learning_rate * s;
  }
  return total;
}

/// Gradient dot products (or cosines with o.normalize) at one point: N x m.
template <gradient_objective F, gradient_objective G>
  requires std::same_as<typename F::scalar, typename G::scalar>
matrix<double> gradient_similarity(const F& train, const G& test, const vector<typename F::scalar>& w,
                                   tracin_options o = {}) {
  return tracin_cp(train, test, {checkpoint<typename F::scalar>{w, 1.0}}, o);
}

/// TracIn over every step of a recorded SGD run (the idealized form): N x m.
template <gradient_objective F, gradient_objective G>
  requires std::same_as<typename F::scalar, typename G::scalar>
matrix<double> tracin(const F& train, const G& test, const sgd_trajectory<typename F::scalar>& traj,
                      tracin_options o = {}) {
  require(!traj.steps().empty(), "tracin: the trajectory has no steps");
  require(!o.normalize, "tracin: normalize is for tracin_cp / gradient_similarity (per-step cosines have no "
                        "meaning as a sum over the run)");
  const index_t n = train.sample_count();
  const matrix<double> r = detail::make_projection(train, o);
  matrix<double> total;
  for (const auto& st : traj.steps()) {
    for (index_t i : st.batch)
      require(i >= 0 && i < n, "tracin: the trajectory's batch id ", i, " is outside the objective's ", n, " samples");
    const F batch = train.subset(st.batch);
    const matrix<double> s = detail::similarity_at(batch, test, st.parameters, o, r.size() ? &r : nullptr);
    if (total.size() == 0) total = matrix<double>::Zero(n, s.cols());
    const double c = st.learning_rate / static_cast<double>(st.batch.size());
    for (std::size_t k = 0; k < st.batch.size(); ++k) total.row(st.batch[k]) += c * s.row(static_cast<index_t>(k));
  }
  return total;
}

}  // namespace rnnabs
