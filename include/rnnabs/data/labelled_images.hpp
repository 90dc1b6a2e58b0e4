#pragma once
// Labelled images in memory: what the image loaders return and image_sequences / select_classes take.
// Needs only rnnabs::rnnabs (the IDX loaders in data/fashion_mnist.hpp need rnnabs::zip).
#include <cstdint>

#include <xtensor/xtensor.hpp>

#include "rnnabs/core/types.hpp"

namespace rnnabs::data {

/// N images (N x H x W, values in [0, 1]) with one label each.
struct labelled_images {
  xt::xtensor<float, 3> images;
  xt::xtensor<std::int32_t, 1> labels;
  index_t size() const noexcept { return static_cast<index_t>(labels.size()); }
};

}  // namespace rnnabs::data
