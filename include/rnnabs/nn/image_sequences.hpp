#pragma once
// Images as sequences: each image row is one step (28 steps x 28 features for MNIST-like data),
// the input of RNNRepair's row-by-row image classifiers.
#include <vector>

#include "rnnabs/data/labelled_images.hpp"
#include "rnnabs/nn/sequence_batch.hpp"

namespace rnnabs {

/// One sequence per image (height steps x width features), labels as class ids.
inline sequence_batch<float> row_sequences(const data::labelled_images& d) {
  const std::size_t n = d.images.shape()[0], h = d.images.shape()[1], w = d.images.shape()[2];
  require(d.labels.size() == n, "row_sequences: ", n, " images but ", d.labels.size(), " labels");
  sequence_batch<float> b;
  b.features.reserve(n);
  b.labels.resize(static_cast<index_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    b.features.emplace_back(
        Eigen::Map<const matrix<float>>(d.images.data() + i * h * w, static_cast<index_t>(h), static_cast<index_t>(w)));
    b.labels(static_cast<index_t>(i)) = d.labels(i);
  }
  return b;
}

}  // namespace rnnabs
