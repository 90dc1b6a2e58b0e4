#pragma once
// The nine image mutators of RNNRepair's code (after DeepHunter, Xie et al., ISSTA 2019) with their
// parameter grids, and DeepHunter's constrained mutation.
//
//   id  mutator       grid                                   class
//   0   translation   p in {-3..2} pixels on x and y          geometric
//   1   scale         p in {0.7, 0.8, 0.9, 1.0, 1.1}          geometric
//   2   shear         p in {-0.6..0.5} step 0.1 (x by -p)     geometric
//   3   rotation      p in {-50..49} degrees                  geometric
//   4   contrast      p in {0.5..1.2} step 0.1 (times p)      pixel value
//   5   brightness    p in {-20..19} gray levels              pixel value
//   6   blur          p in {1..9}: box 3/4/5, Gaussian 3/5/7, median 3/5, bilateral(6, 50, 50)   pixel value
//   7   pixel change  p in {1..9} random pixels               pixel value
//   8   noise         p in {1, 2, 3}: Gaussian, salt-and-pepper, multiplicative                  pixel value
// The classes are DeepHunter's: geometric ("affine") transformations move pixels, pixel-value ones
// change intensities. RNNRepair put contrast, brightness and blur among the affine ones.
//
// Constrained mutation (DeepHunter's Algorithm 2, `mutate`): up to `tries` times, draw a mutator and a
// parameter; a geometric mutant is kept only if no geometric mutator was applied in the image's lineage
// before (at most one), and becomes the new reference; a pixel-value mutant is kept when, against the
// reference, L0 < alpha · pixels or L∞ < beta · 255 (DeepHunter's f(I, I'): L∞ ≤ 255 if L0 < α·size,
// else L∞ < β·255 — the same rule). Differences are signed (RNNRepair subtracted uint8 images, which
// wraps around: 3 − 5 = 254) and in gray levels.
//
//   rnnabs::rng g(1);
//   auto r = rnnabs::mutate(image, g);                 // r.image, r.op, r.parameter, r.accepted
#include <array>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/repair/image_ops.hpp"

namespace rnnabs {

enum class mutator { translation, scale, shear, rotation, contrast, brightness, blur, pixel_change, noise };
constexpr std::array<mutator, 9> all_mutators{mutator::translation, mutator::scale,        mutator::shear,
                                              mutator::rotation,    mutator::contrast,     mutator::brightness,
                                              mutator::blur,        mutator::pixel_change, mutator::noise};

constexpr std::string_view to_string(mutator m) {
  constexpr std::array<std::string_view, 9> names{"translation", "scale", "shear",        "rotation", "contrast",
                                                  "brightness",  "blur",  "pixel_change", "noise"};
  return names[static_cast<std::size_t>(m)];
}

/// DeepHunter's classes: true for the four geometric (affine) mutators.
constexpr bool is_geometric(mutator m) { return static_cast<int>(m) <= static_cast<int>(mutator::rotation); }

/// The parameter grid of a mutator (RNNRepair's code).
inline std::vector<double> parameter_grid(mutator m) {
  std::vector<double> g;
  const auto range = [&](int lo, int hi, double step) {
    for (int k = lo; k <= hi; ++k) g.push_back(k * step);
  };
  switch (m) {
    case mutator::translation: range(-3, 2, 1); break;
    case mutator::scale: g = {0.7, 0.8, 0.9, 1.0, 1.1}; break;
    case mutator::shear: range(-6, 5, 0.1); break;
    case mutator::rotation: range(-50, 49, 1); break;
    case mutator::contrast: range(5, 12, 0.1); break;
    case mutator::brightness: range(-20, 19, 1); break;
    case mutator::blur: range(1, 9, 1); break;
    case mutator::pixel_change: range(1, 9, 1); break;
    case mutator::noise: range(1, 3, 1); break;
  }
  return g;
}

/// Applies mutator `m` with parameter `p`; the random mutators draw from `g`.
template <image::pixel T>
image::image_t<T> apply_mutator(const image::image_t<T>& img, mutator m, double p, rng& g,
                                double max_value = image::detail::default_max<T>()) {
  switch (m) {
    case mutator::translation: return image::translate(img, p, max_value);
    case mutator::scale: return image::scale(img, p, max_value);
    case mutator::shear: return image::shear(img, p, max_value);
    case mutator::rotation: return image::rotate(img, p, max_value);
    case mutator::contrast: return image::contrast(img, p, max_value);
    case mutator::brightness: return image::brightness(img, p, max_value);
    case mutator::blur: {
      const int k = static_cast<int>(std::lround(p));
      require(k >= 1 && k <= 9, "apply_mutator: blur parameter ", p, " is outside 1..9");
      if (k <= 3) return image::box_blur(img, k + 2, max_value);
      if (k <= 6) return image::gaussian_blur(img, 2 * (k - 4) + 3, max_value);
      if (k <= 8) return image::median_blur(img, 2 * (k - 7) + 3, max_value);
      return image::bilateral(img, 6, 50.0, 50.0, max_value);
    }
    case mutator::pixel_change: return image::pixel_change(img, static_cast<index_t>(std::lround(p)), g, max_value);
    case mutator::noise: {
      const int k = static_cast<int>(std::lround(p));
      require(k >= 1 && k <= 3, "apply_mutator: noise parameter ", p, " is outside 1..3");
      return image::noise(img, static_cast<image::noise_kind>(k), g, max_value);
    }
  }
  throw invalid_argument("apply_mutator: unknown mutator");
}

/// L0 (pixels that differ) and L∞ (largest absolute difference, in gray levels) between two images
/// of the same size, on signed differences.
template <image::pixel T>
std::pair<index_t, double> image_distances(const image::image_t<T>& a, const image::image_t<T>& b,
                                           double max_value = image::detail::default_max<T>()) {
  require(a.rows() == b.rows() && a.cols() == b.cols(), "image_distances: ", a.rows(), " x ", a.cols(), " vs ",
          b.rows(), " x ", b.cols());
  index_t l0 = 0;
  double linf = 0;
  for (index_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(static_cast<double>(a.data()[i]) - static_cast<double>(b.data()[i])) * 255.0 / max_value;
    l0 += d > 0 ? 1 : 0;
    linf = std::max(linf, d);
  }
  return {l0, linf};
}

struct mutate_options {
  index_t tries = 50;   ///< DeepHunter's try limit
  double alpha = 0.02;  ///< L0 bound: fraction of the pixels
  double beta = 0.2;    ///< L∞ bound: fraction of 255 gray levels
  std::vector<mutator> mutators{all_mutators.begin(), all_mutators.end()};
  bool geometric_used = false;  ///< the lineage already had its one geometric mutation
};

template <image::pixel T>
struct mutation {
  image::image_t<T> image;      ///< the mutant (the input when nothing was accepted)
  image::image_t<T> reference;  ///< what the next mutation of this lineage is checked against
  mutator op = mutator::translation;
  double parameter = 0;
  bool accepted = false;
  bool geometric_used = false;
  index_t tries = 0;  ///< draws made
};

/// One constrained mutation of `img` whose lineage's reference image is `reference` (the original
/// seed, or its one geometric mutant); see this header's comment.
template <image::pixel T>
mutation<T> mutate(const image::image_t<T>& img, const image::image_t<T>& reference, rng& g,
                   const mutate_options& o = {}, double max_value = image::detail::default_max<T>()) {
  require(o.tries >= 1, "mutate: tries must be >= 1, got ", o.tries);
  require(!o.mutators.empty(), "mutate: no mutator to draw from");
  require(img.rows() == reference.rows() && img.cols() == reference.cols(), "mutate: the image is ", img.rows(), " x ",
          img.cols(), ", its reference ", reference.rows(), " x ", reference.cols());
  mutation<T> r{img, reference, mutator::translation, 0, false, o.geometric_used, 0};
  const double l0_bound = o.alpha * static_cast<double>(img.size()), linf_bound = o.beta * 255.0;
  for (index_t t = 0; t < o.tries; ++t) {
    ++r.tries;
    const mutator m = o.mutators[static_cast<std::size_t>(g.below(o.mutators.size()))];
    const auto grid = parameter_grid(m);
    const double p = grid[static_cast<std::size_t>(g.below(grid.size()))];
    if (is_geometric(m)) {
      if (o.geometric_used) continue;
      r.image = apply_mutator(img, m, p, g, max_value);
      r.reference = r.image;
      r.geometric_used = true;
    } else {
      auto cand = apply_mutator(img, m, p, g, max_value);
      const auto [l0, linf] = image_distances(reference, cand, max_value);
      if (!(static_cast<double>(l0) < l0_bound || linf < linf_bound)) continue;
      r.image = std::move(cand);
    }
    r.op = m;
    r.parameter = p;
    r.accepted = true;
    return r;
  }
  return r;
}

/// Convenience: a seed image is its own reference.
template <image::pixel T>
mutation<T> mutate(const image::image_t<T>& img, rng& g, const mutate_options& o = {},
                   double max_value = image::detail::default_max<T>()) {
  return mutate(img, img, g, o, max_value);
}

}  // namespace rnnabs
