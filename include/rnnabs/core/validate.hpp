#pragma once
// Input checks shared by every fit/transform: shape, emptiness, finiteness.
#include <cmath>
#include <string_view>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// Throws invalid_argument naming the first NaN/Inf entry of `x`.
template <class Derived>
void require_finite(const Eigen::DenseBase<Derived>& x, std::string_view who, std::string_view what) {
  if (x.allFinite()) [[likely]]
    return;
  for (index_t i = 0; i < x.rows(); ++i)
    for (index_t j = 0; j < x.cols(); ++j)
      if (!std::isfinite(x(i, j))) [[unlikely]]
        throw invalid_argument(detail::concat(who, ": ", what, " has a non-finite value (", x(i, j), ") at [", i,
                                              ", ", j, "]"));
}

/// Checks a data matrix: not empty, `cols` columns when cols >= 0, all finite.
template <class Derived>
void require_data(const Eigen::DenseBase<Derived>& x, std::string_view who, index_t cols = -1,
                  std::string_view what = "X") {
  require(x.rows() > 0 && x.cols() > 0, who, ": ", what, " is empty (", x.rows(), " x ", x.cols(), ")");
  require(cols < 0 || x.cols() == cols, who, ": ", what, " has ", x.cols(), " columns, expected ", cols);
  require_finite(x, who, what);
}

}  // namespace rnnabs
