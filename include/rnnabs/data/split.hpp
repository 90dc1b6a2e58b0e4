#pragma once
// Subsets of a labelled set, e.g. a binary task from two classes (Trouser vs Sneaker).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/data/labelled_images.hpp"

namespace rnnabs::data {

/// The samples whose label is in `classes`, in their original order, relabelled to the label's
/// position in `classes` (select_classes(d, {1, 7}): Trouser -> 0, Sneaker -> 1).
inline labelled_images select_classes(const labelled_images& d, const std::vector<std::int32_t>& classes) {
  require(!classes.empty(), "select_classes: no classes given");
  for (std::size_t i = 0; i < classes.size(); ++i)
    require(std::find(classes.begin(), classes.begin() + static_cast<std::ptrdiff_t>(i), classes[i]) ==
                classes.begin() + static_cast<std::ptrdiff_t>(i),
            "select_classes: class ", classes[i], " is listed twice");
  require(d.images.shape()[0] == d.labels.size(), "select_classes: ", d.images.shape()[0], " images but ",
          d.labels.size(), " labels");
  std::vector<std::size_t> keep;
  std::vector<std::int32_t> label;
  for (std::size_t i = 0; i < d.labels.size(); ++i) {
    const auto it = std::find(classes.begin(), classes.end(), d.labels(i));
    if (it == classes.end()) continue;
    keep.push_back(i);
    label.push_back(static_cast<std::int32_t>(it - classes.begin()));
  }
  const std::size_t h = d.images.shape()[1], w = d.images.shape()[2], px = h * w;
  labelled_images r;
  r.images = xt::xtensor<float, 3>::from_shape({keep.size(), h, w});
  r.labels = xt::xtensor<std::int32_t, 1>::from_shape({keep.size()});
  for (std::size_t k = 0; k < keep.size(); ++k) {
    if (px) std::memcpy(r.images.data() + k * px, d.images.data() + keep[k] * px, px * sizeof(float));
    r.labels(k) = label[k];
  }
  return r;
}

}  // namespace rnnabs::data
