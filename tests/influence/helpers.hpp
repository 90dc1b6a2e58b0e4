#pragma once
// Shared by the influence tests: small convex and non-convex objectives, a Newton fit, finite
// differences, and a plain-SGD loop that records its trajectory.
#include <gtest/gtest.h>

#include <memory>
#include <numeric>
#include <span>
#include <vector>

#include <Eigen/LU>
#include <rnnabs/core/rng.hpp>
#include <rnnabs/influence.hpp>

namespace influence_test {

using namespace rnnabs;

/// Two classes from shifted Gaussians in d dimensions (labels 0/1), or C classes for c > 1.
inline softmax_regression_objective<double> make_logistic(index_t n, index_t d, std::uint64_t seed, double l2,
                                                          index_t classes = 1) {
  rng g(seed);
  matrix<double> x(n, d);
  index_vector y(n);
  const index_t k = classes == 1 ? 2 : classes;
  for (index_t i = 0; i < n; ++i) {
    y(i) = static_cast<index_t>(g.below(static_cast<std::uint64_t>(k)));
    for (index_t j = 0; j < d; ++j) x(i, j) = g.normal() + (j % k == y(i) ? 1.0 : 0.0);
  }
  return softmax_regression_objective<double>(x, y, classes, l2);
}

inline vector<double> random_vector(index_t n, std::uint64_t seed, double s = 1.0) {
  rng g(seed);
  vector<double> v(n);
  for (index_t i = 0; i < n; ++i) v(i) = s * g.normal();
  return v;
}

/// Newton's method with the explicit Hessian, to ‖∇L‖ ≤ tol.
template <class F>
vector<double> newton_fit(const F& f, vector<double> w, double tol = 1e-12, int max_iter = 100) {
  for (int it = 0; it < max_iter; ++it) {
    const vector<double> g = f.loss_gradient(w);
    if (g.norm() <= tol) return w;
    w -= f.hessian(w).ldlt().solve(g);
  }
  return w;
}

/// A quadratic objective with sample structure: ℓ_i(w) = ½ wᵀ A_i w − b_iᵀ w (A_i symmetric, maybe
/// indefinite), so H = mean A_i exactly — for the non-convex error paths.
struct quadratic_objective {
  using scalar = double;
  std::shared_ptr<const std::vector<matrix<double>>> a;
  std::shared_ptr<const std::vector<vector<double>>> b;
  std::vector<index_t> ids;

  index_t parameter_count() const { return (*a)[0].rows(); }
  index_t sample_count() const { return static_cast<index_t>(ids.size()); }
  quadratic_objective subset(std::span<const index_t> s) const {
    quadratic_objective q{a, b, {}};
    for (index_t i : s) q.ids.push_back(ids[static_cast<std::size_t>(i)]);
    return q;
  }
  matrix<double> mean_a() const {
    matrix<double> m = matrix<double>::Zero(parameter_count(), parameter_count());
    for (index_t i : ids) m += (*a)[static_cast<std::size_t>(i)];
    return m / static_cast<double>(ids.size());
  }
  double loss(const vector<double>& w) const {
    double s = 0;
    for (index_t i : ids)
      s += 0.5 * w.dot((*a)[static_cast<std::size_t>(i)] * w) - (*b)[static_cast<std::size_t>(i)].dot(w);
    return s / static_cast<double>(ids.size());
  }
  vector<double> loss_gradient(const vector<double>& w) const { return per_sample_gradients(w).colwise().mean(); }
  vector<double> hessian_vector_product(const vector<double>&, const vector<double>& v) const { return mean_a() * v; }
  matrix<double> per_sample_gradients(const vector<double>& w) const {
    matrix<double> g(sample_count(), parameter_count());
    for (index_t k = 0; k < sample_count(); ++k) {
      const auto i = static_cast<std::size_t>(ids[static_cast<std::size_t>(k)]);
      g.row(k) = ((*a)[i] * w - (*b)[i]).transpose();
    }
    return g;
  }
};

/// n samples in p dimensions; A_i = M_i M_iᵀ + shift·I (shift < 0 makes the mean indefinite).
inline quadratic_objective make_quadratic(index_t n, index_t p, double shift, std::uint64_t seed) {
  rng g(seed);
  auto a = std::make_shared<std::vector<matrix<double>>>();
  auto b = std::make_shared<std::vector<vector<double>>>();
  for (index_t i = 0; i < n; ++i) {
    matrix<double> m(p, p);
    for (index_t k = 0; k < m.size(); ++k) m.data()[k] = g.normal() / std::sqrt(static_cast<double>(p));
    matrix<double> s = m * m.transpose();
    s.diagonal().array() += shift;
    a->push_back(s);
    vector<double> bi(p);
    for (index_t k = 0; k < p; ++k) bi(k) = g.normal();
    b->push_back(bi);
  }
  quadratic_objective q{a, b, {}};
  q.ids.resize(static_cast<std::size_t>(n));
  std::iota(q.ids.begin(), q.ids.end(), index_t{0});
  return q;
}

/// Plain SGD on f from w0 with seeded shuffled batches, recording the trajectory; `weight[i]`
/// scales sample i's gradient (1 = as is) while the divisor stays |B| — the counterfactual runs of
/// SGD-influence. Steps of epochs < `weight_from_epoch` ignore the weights.
template <class F>
vector<double> sgd_run(const F& f, vector<double> w, index_t epochs, index_t batch, double lr, std::uint64_t seed,
                       const vector<double>* weight = nullptr, sgd_trajectory<double>* traj = nullptr,
                       index_t weight_from_epoch = 0) {
  const index_t n = f.sample_count();
  std::vector<index_t> order(static_cast<std::size_t>(n));
  index_t step = 0;
  for (index_t e = 0; e < epochs; ++e) {
    std::iota(order.begin(), order.end(), index_t{0});
    rng g = rng::stream(seed, static_cast<std::uint64_t>(e));
    g.shuffle(std::span<index_t>(order));
    for (index_t s = 0; s < n; s += batch) {
      const std::vector<index_t> ids(order.begin() + s, order.begin() + std::min(n, s + batch));
      const matrix<double> gs = f.subset(ids).per_sample_gradients(w);
      vector<double> gsum = vector<double>::Zero(w.size());
      for (std::size_t k = 0; k < ids.size(); ++k) {
        const double c = (weight && e >= weight_from_epoch) ? (*weight)(ids[k]) : 1.0;
        gsum += c * gs.row(static_cast<index_t>(k)).transpose();
      }
      vector<double> grad = gsum / static_cast<double>(ids.size());
      if (f.l2() > 0) grad += f.l2() * w;
      if (traj) traj->record(step_record<double>{e, step, &ids, &w, &grad, lr, 0.0});
      w -= lr * grad;
      ++step;
    }
  }
  if (traj) traj->finish(w);
  return w;
}

}  // namespace influence_test
