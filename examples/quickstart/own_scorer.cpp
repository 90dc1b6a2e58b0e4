// Quickstart 3: your own black box, explained by LEMNA (Guo et al., CCS 2018).
// The black box is any callable scoring a batch of inputs (rows); here a hand-written model over 12
// features whose score depends on features 2 and 5 (and weakly on 7 and 8). LEMNA perturbs the
// instance, fits a mixture of fused-lasso regressions to the scores, and ranks the features.
#include <cmath>
#include <cstdio>

#include <rnnabs/core/rng.hpp>
#include <rnnabs/explain/lemna.hpp>

using rnnabs::index_t, rnnabs::matrix, rnnabs::vector;

int main() {
  // The black box: P(class 1 | x) for each row of a batch. Anything with this shape works, e.g. a
  // wrapper around a model of another framework.
  auto black_box = [](const matrix<double>& x) {
    vector<double> p(x.rows());
    for (index_t i = 0; i < x.rows(); ++i)
      p(i) = 1 / (1 + std::exp(-(3 * x(i, 2) - 2.5 * x(i, 5) + 0.5 * x(i, 7) * x(i, 8) - 0.5)));
    return p;
  };
  static_assert(rnnabs::check_black_box_scorer<decltype(black_box), matrix<double>>());

  rnnabs::rng g(3);
  vector<double> x(12);
  for (index_t j = 0; j < x.size(); ++j) x(j) = 0.2 * g.normal();
  x(2) = 0.8, x(5) = -0.6, x(7) = 0.8, x(8) = 0.8;             // an instance the model scores high
  const vector<double> null_value = vector<double>::Zero(12);  // "feature removed" = 0

  // Features of a table have no order, so the fusion penalty (meant for neighbouring bytes or tokens)
  // is kept small; the default λ = √(n ln p) would fuse them all.
  const rnnabs::lemna explainer({.mixture = {.lambda_tv = 0.5}, .n_samples = 500, .seed = 1});
  const auto e = explainer.explain_features(black_box, x, null_value);
  std::printf("score of the instance: %.3f\nfeatures by importance:", black_box(x.transpose()).coeff(0));
  for (index_t k = 0; k < 5; ++k) std::printf(" %ld (%.3f)", long(e.ranking(k)), e.importance(e.ranking(k)));
  std::printf("\n");
  const auto top = e.top_positions(2);
  const bool found = (top(0) == 2 && top(1) == 5) || (top(0) == 5 && top(1) == 2);
  std::printf("the two features the model depends on most (2 and 5) are LEMNA's top two: %s\n", found ? "yes" : "no");
  return found ? 0 : 1;
}
