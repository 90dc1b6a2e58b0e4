#pragma once
// Label switching: the Hungarian algorithm (minimum-cost assignment, O(J³)) and the relabelling of one
// MCMC draw against a reference labelling.
#include <limits>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// perm(a) = column assigned to row a, minimising Σ_a cost(a, perm(a)) (square cost matrix).
inline index_vector hungarian(const matrix<double>& cost) {
  const index_t n = cost.rows();
  require(cost.cols() == n, "hungarian: the cost matrix must be square, got ", cost.rows(), " x ", cost.cols());
  require(cost.allFinite(), "hungarian: the cost matrix has non-finite entries");
  const double inf = std::numeric_limits<double>::infinity();
  // Potentials u (rows), v (columns); way[] the alternating path; 1-based with a virtual column 0.
  std::vector<double> u(static_cast<std::size_t>(n + 1), 0), v(static_cast<std::size_t>(n + 1), 0);
  std::vector<index_t> match(static_cast<std::size_t>(n + 1), 0), way(static_cast<std::size_t>(n + 1), 0);
  for (index_t i = 1; i <= n; ++i) {
    match[0] = i;
    index_t j0 = 0;
    std::vector<double> minv(static_cast<std::size_t>(n + 1), inf);
    std::vector<char> used(static_cast<std::size_t>(n + 1), 0);
    do {
      used[static_cast<std::size_t>(j0)] = 1;
      const index_t i0 = match[static_cast<std::size_t>(j0)];
      double delta = inf;
      index_t j1 = 0;
      for (index_t j = 1; j <= n; ++j) {
        const auto js = static_cast<std::size_t>(j);
        if (used[js]) continue;
        const double cur = cost(i0 - 1, j - 1) - u[static_cast<std::size_t>(i0)] - v[js];
        if (cur < minv[js]) {
          minv[js] = cur;
          way[js] = j0;
        }
        if (minv[js] < delta) {
          delta = minv[js];
          j1 = j;
        }
      }
      for (index_t j = 0; j <= n; ++j) {
        const auto js = static_cast<std::size_t>(j);
        if (used[js]) {
          u[static_cast<std::size_t>(match[js])] += delta;
          v[js] -= delta;
        } else {
          minv[js] -= delta;
        }
      }
      j0 = j1;
    } while (match[static_cast<std::size_t>(j0)] != 0);
    do {
      const index_t j1 = way[static_cast<std::size_t>(j0)];
      match[static_cast<std::size_t>(j0)] = match[static_cast<std::size_t>(j1)];
      j0 = j1;
    } while (j0 != 0);
  }
  index_vector perm(n);
  for (index_t j = 1; j <= n; ++j) perm(match[static_cast<std::size_t>(j)] - 1) = j - 1;
  return perm;
}

/// The permutation σ that maps reference component a to draw component σ(a), minimising the number of
/// samples in reference cluster a that the draw does not put in σ(a) (labels in [0, J)).
inline index_vector relabel_permutation(const index_vector& reference, const index_vector& draw, index_t J) {
  require(reference.size() == draw.size(), "relabel_permutation: ", reference.size(), " reference labels, ",
          draw.size(), " draw labels");
  matrix<double> overlap = matrix<double>::Zero(J, J);
  vector<double> size = vector<double>::Zero(J);
  for (index_t i = 0; i < reference.size(); ++i) {
    require(reference(i) >= 0 && reference(i) < J && draw(i) >= 0 && draw(i) < J,
            "relabel_permutation: label out of [0, ", J, ") at ", i);
    overlap(reference(i), draw(i)) += 1;
    size(reference(i)) += 1;
  }
  matrix<double> cost = (-overlap).colwise() + size;  // C[a, b] = |ref a| − |ref a ∩ draw b|
  return hungarian(cost);
}

}  // namespace rnnabs
