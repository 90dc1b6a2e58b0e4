// Quickstart 2: your own twice-differentiable objective, fed to Koh & Liang and to TracIn.
// Ridge regression, written out by hand: per-sample loss ½(x_i·w − y_i)², plus ½λ‖w‖². Koh & Liang
// predicts how removing each training sample changes a test loss; here it is checked against
// actually removing it and refitting (leave-one-out, exact for this model).
#include <cstdio>
#include <span>
#include <vector>

#include <Eigen/Cholesky>
#include <rnnabs/core/rng.hpp>
#include <rnnabs/influence/koh_liang.hpp>
#include <rnnabs/influence/metrics.hpp>
#include <rnnabs/influence/tracin.hpp>

using rnnabs::index_t, rnnabs::matrix, rnnabs::vector;

struct ridge {  // an rnnabs::sample_objective
  using scalar = double;
  matrix<double> x;  // N x P
  vector<double> y;
  double lambda = 0.1;
  index_t parameter_count() const { return x.cols(); }
  index_t sample_count() const { return x.rows(); }
  double loss(const vector<double>& w) const {
    return 0.5 * (x * w - y).squaredNorm() / double(x.rows()) + 0.5 * lambda * w.squaredNorm();
  }
  vector<double> loss_gradient(const vector<double>& w) const {
    return x.transpose() * (x * w - y) / double(x.rows()) + lambda * w;
  }
  vector<double> hessian_vector_product(const vector<double>&, const vector<double>& v) const {
    return x.transpose() * (x * v) / double(x.rows()) + lambda * v;
  }
  matrix<double> per_sample_gradients(const vector<double>& w) const {  // row i: ∇ of ½(x_i·w − y_i)²
    return (x * w - y).asDiagonal() * x;
  }
  ridge subset(std::span<const index_t> ids) const {
    ridge r{matrix<double>(ids.size(), x.cols()), vector<double>(ids.size()), lambda};
    for (std::size_t k = 0; k < ids.size(); ++k) r.x.row(k) = x.row(ids[k]), r.y(k) = y(ids[k]);
    return r;
  }
  vector<double> minimizer() const {  // (XᵀX/N + λI) w = Xᵀy/N
    const matrix<double> h = x.transpose() * x / double(x.rows()) +
                             lambda * matrix<double>::Identity(x.cols(), x.cols());
    return h.llt().solve(x.transpose() * y / double(x.rows()));
  }
};
static_assert(rnnabs::check_sample_objective<ridge>());

ridge make_data(index_t n, index_t p, std::uint64_t seed) {
  rnnabs::rng g(seed);
  ridge r{matrix<double>(n, p), vector<double>(n)};
  for (index_t i = 0; i < r.x.size(); ++i) r.x.data()[i] = g.normal();
  for (index_t i = 0; i < n; ++i) r.y(i) = r.x.row(i).sum() + 0.5 * g.normal();
  return r;
}

int main() {
  const ridge train = make_data(200, 5, 1), test = make_data(1, 5, 2);
  const vector<double> w = train.minimizer();
  rnnabs::explicit_ihvp solver(train, w);
  const auto kl = rnnabs::koh_liang(train, w, rnnabs::sample_gradients(test, w), solver);
  // The truth: remove sample i, refit, and see the test loss ½(x·w − y)² move.
  auto test_loss = [&](const vector<double>& v) { return 0.5 * (test.x * v - test.y).squaredNorm(); };
  vector<double> loo(train.sample_count());
  for (index_t i = 0; i < train.sample_count(); ++i) {
    std::vector<index_t> keep;
    for (index_t j = 0; j < train.sample_count(); ++j)
      if (j != i) keep.push_back(j);
    loo(i) = test_loss(train.subset(keep).minimizer()) - test_loss(w);
  }
  const double r = rnnabs::pearson(kl.scores.col(0), loo);
  const auto tracin = rnnabs::gradient_similarity(train, test, w);  // TracIn at one checkpoint: ⟨∇ℓ_i, ∇ℓ_test⟩
  std::printf("Koh & Liang vs leave-one-out retraining: Pearson r = %.4f over %ld samples\n", r,
              long(train.sample_count()));
  std::printf("TracIn (gradient dot) vs leave-one-out: Pearson r = %.4f\n", rnnabs::pearson(tracin.col(0), loo));
  return r > 0.95 ? 0 : 1;
}
