#pragma once
// Single-channel image transformations, the building blocks of the image mutators (RNNRepair's,
// after DeepHunter). An image is an H x W row-major matrix of float, double (intensities in
// [0, max_value], 1 by default) or std::uint8_t (0..255). Parameters given in gray levels (brightness,
// noise) are on the 0..255 scale and rescaled to max_value.
//
// Conventions, chosen to match OpenCV 4 (tests/fixtures/make_mutator_fixtures.py checks them):
//   affine_warp   cv::warpAffine with INTER_LINEAR and a zero constant border: the destination pixel
//                 (x, y) samples the source at M⁻¹(x, y) on OpenCV's fixed-point grid (coordinates to
//                 1/1024, then 1/32 of a pixel), bilinear weights of that grid. Equal to OpenCV for
//                 floating-point images; uint8 results are rounded from that (OpenCV's integer
//                 weights differ by at most one gray level).
//   translate(p)  M = [1 0 p; 0 1 p]        rotate(θ)  cv::getRotationMatrix2D((W/2, H/2), θ, 1)
//   shear(p)      M = [1 −p 0; 0 1 0]       scale(p)   M = [p 0 (1−p)cx; 0 p (1−p)cy], c = ((W−1)/2, (H−1)/2)
//                 (RNNRepair scaled by cv::resize with cubic interpolation, then cropped or padded;
//                 here one affine map about the centre covers all four geometric mutators)
//   box_blur(k)   cv::blur: mean of the k x k window anchored at k/2, BORDER_REFLECT_101
//   gaussian_blur cv::GaussianBlur(k, σ = 0): OpenCV's tabulated kernels for k = 3, 5, 7, separable
//   median_blur   cv::medianBlur (BORDER_REPLICATE), k = 3 or 5
//   bilateral     cv::bilateralFilter(d, σ_color, σ_space): the disc of radius d/2, Gaussian weights of
//                 distance and of intensity difference (in gray levels), BORDER_REFLECT_101
// Floating-point results are clamped to [0, max_value]; uint8 results are rounded and saturated.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <type_traits>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs::image {

template <class T>
concept pixel = std::same_as<T, float> || std::same_as<T, double> || std::same_as<T, std::uint8_t>;

template <class T>
using image_t = matrix<T>;

/// A 2 x 3 affine map: (x', y') = (m00 x + m01 y + m02, m10 x + m11 y + m12), pixel centres at integers.
struct affine_map {
  double m[6] = {1, 0, 0, 0, 1, 0};
};

namespace detail {

template <pixel T>
constexpr double default_max() {
  return std::is_same_v<T, std::uint8_t> ? 255.0 : 1.0;
}

/// The value to store for a computed intensity v: uint8 rounds (half to even, as cvRound) and
/// saturates; floating point clamps to [0, max].
template <pixel T>
T store(double v, double max) {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    return static_cast<std::uint8_t>(std::clamp(std::nearbyint(v), 0.0, 255.0));
  } else {
    return static_cast<T>(std::clamp(v, 0.0, max));
  }
}

template <pixel T>
void check_image(const image_t<T>& img, const char* who) {
  require(img.rows() > 0 && img.cols() > 0, who, ": the image is empty (", img.rows(), " x ", img.cols(), ")");
  if constexpr (!std::is_same_v<T, std::uint8_t>) require(img.allFinite(), who, ": the image has a non-finite pixel");
}

/// BORDER_REFLECT_101: ... 2 1 | 0 1 2 ... n−1 | n−2 n−3 ...
inline index_t reflect101(index_t i, index_t n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

inline std::int64_t cv_round(double v) { return static_cast<std::int64_t>(std::nearbyint(v)); }

}  // namespace detail

/// The inverse of an affine map (cv::invertAffineTransform; a singular map gives zeros).
inline affine_map invert(const affine_map& a) {
  const double* m = a.m;
  double d = m[0] * m[4] - m[1] * m[3];
  d = d != 0 ? 1.0 / d : 0.0;
  const double a11 = m[4] * d, a22 = m[0] * d, a12 = -m[1] * d, a21 = -m[3] * d;
  return {{a11, a12, -a11 * m[2] - a12 * m[5], a21, a22, -a21 * m[2] - a22 * m[5]}};
}

/// `img` warped by `forward` (see the header comment): same size, zero outside the source.
template <pixel T>
image_t<T> affine_warp(const image_t<T>& img, const affine_map& forward, double max_value = detail::default_max<T>()) {
  detail::check_image(img, "affine_warp");
  for (const double v : forward.m) require(std::isfinite(v), "affine_warp: the map has a non-finite coefficient");
  constexpr int ab_bits = 10, inter_bits = 5, tab = 1 << inter_bits;
  constexpr double ab_scale = 1 << ab_bits;
  const affine_map inv = invert(forward);
  const double* m = inv.m;
  const index_t h = img.rows(), w = img.cols();
  std::vector<std::int64_t> adelta(static_cast<std::size_t>(w)), bdelta(static_cast<std::size_t>(w));
  for (index_t x = 0; x < w; ++x) {
    adelta[static_cast<std::size_t>(x)] = detail::cv_round(m[0] * static_cast<double>(x) * ab_scale);
    bdelta[static_cast<std::size_t>(x)] = detail::cv_round(m[3] * static_cast<double>(x) * ab_scale);
  }
  const auto at = [&](index_t yy, index_t xx) -> double {
    return xx >= 0 && xx < w && yy >= 0 && yy < h ? static_cast<double>(img(yy, xx)) : 0.0;
  };
  image_t<T> out(h, w);
  constexpr std::int64_t round_delta = (1 << ab_bits) / tab / 2;
  for (index_t y = 0; y < h; ++y) {
    const std::int64_t x0 = detail::cv_round((m[1] * static_cast<double>(y) + m[2]) * ab_scale) + round_delta;
    const std::int64_t y0 = detail::cv_round((m[4] * static_cast<double>(y) + m[5]) * ab_scale) + round_delta;
    for (index_t x = 0; x < w; ++x) {
      const std::int64_t X = (x0 + adelta[static_cast<std::size_t>(x)]) >> (ab_bits - inter_bits);
      const std::int64_t Y = (y0 + bdelta[static_cast<std::size_t>(x)]) >> (ab_bits - inter_bits);
      const auto sx = static_cast<index_t>(X >> inter_bits), sy = static_cast<index_t>(Y >> inter_bits);
      const double fx = static_cast<double>(X & (tab - 1)) / tab, fy = static_cast<double>(Y & (tab - 1)) / tab;
      const double v = (1 - fy) * ((1 - fx) * at(sy, sx) + fx * at(sy, sx + 1)) +
                       fy * ((1 - fx) * at(sy + 1, sx) + fx * at(sy + 1, sx + 1));
      out(y, x) = detail::store<T>(v, max_value);
    }
  }
  return out;
}

// ---- the geometric mutators ----------------------------------------------------------------------

template <pixel T>
image_t<T> translate(const image_t<T>& img, double p, double max_value = detail::default_max<T>()) {
  return affine_warp(img, affine_map{{1, 0, p, 0, 1, p}}, max_value);
}

/// Rotation by `degrees` (counter-clockwise on screen) about (W/2, H/2).
template <pixel T>
image_t<T> rotate(const image_t<T>& img, double degrees, double max_value = detail::default_max<T>()) {
  const double a = degrees * std::numbers::pi / 180.0, al = std::cos(a), be = std::sin(a);
  const double cx = static_cast<double>(img.cols()) / 2, cy = static_cast<double>(img.rows()) / 2;
  return affine_warp(img, affine_map{{al, be, (1 - al) * cx - be * cy, -be, al, be * cx + (1 - al) * cy}}, max_value);
}

template <pixel T>
image_t<T> shear(const image_t<T>& img, double p, double max_value = detail::default_max<T>()) {
  return affine_warp(img, affine_map{{1, -p, 0, 0, 1, 0}}, max_value);
}

template <pixel T>
image_t<T> scale(const image_t<T>& img, double p, double max_value = detail::default_max<T>()) {
  require(p > 0 && std::isfinite(p), "scale: the factor must be positive, got ", p);
  const double cx = static_cast<double>(img.cols() - 1) / 2, cy = static_cast<double>(img.rows() - 1) / 2;
  return affine_warp(img, affine_map{{p, 0, (1 - p) * cx, 0, p, (1 - p) * cy}}, max_value);
}

// ---- the pixel-value mutators -------------------------------------------------------------------

/// Every pixel times p (cv::multiply), saturated.
template <pixel T>
image_t<T> contrast(const image_t<T>& img, double p, double max_value = detail::default_max<T>()) {
  detail::check_image(img, "contrast");
  require(std::isfinite(p) && p >= 0, "contrast: the factor must be finite and >= 0, got ", p);
  return img.unaryExpr([&](T v) { return detail::store<T>(static_cast<double>(v) * p, max_value); });
}

/// Every pixel plus p gray levels (cv::add), saturated.
template <pixel T>
image_t<T> brightness(const image_t<T>& img, double p, double max_value = detail::default_max<T>()) {
  detail::check_image(img, "brightness");
  require(std::isfinite(p), "brightness: the offset must be finite, got ", p);
  const double d = p * max_value / 255.0;
  return img.unaryExpr([&](T v) { return detail::store<T>(static_cast<double>(v) + d, max_value); });
}

/// Separable filtering with `kernel` (anchor at size/2), BORDER_REFLECT_101.
template <pixel T>
image_t<T> separable_filter(const image_t<T>& img, const std::vector<double>& kernel, double max_value) {
  const index_t h = img.rows(), w = img.cols(), k = static_cast<index_t>(kernel.size()), a = k / 2;
  matrix<double> tmp(h, w);
  for (index_t y = 0; y < h; ++y)
    for (index_t x = 0; x < w; ++x) {
      double s = 0;
      for (index_t j = 0; j < k; ++j)
        s += kernel[static_cast<std::size_t>(j)] * static_cast<double>(img(y, detail::reflect101(x + j - a, w)));
      tmp(y, x) = s;
    }
  image_t<T> out(h, w);
  for (index_t y = 0; y < h; ++y)
    for (index_t x = 0; x < w; ++x) {
      double s = 0;
      for (index_t j = 0; j < k; ++j)
        s += kernel[static_cast<std::size_t>(j)] * tmp(detail::reflect101(y + j - a, h), x);
      out(y, x) = detail::store<T>(s, max_value);
    }
  return out;
}

/// Mean of the k x k window (cv::blur), k >= 1.
template <pixel T>
image_t<T> box_blur(const image_t<T>& img, index_t k, double max_value = detail::default_max<T>()) {
  detail::check_image(img, "box_blur");
  require(k >= 1, "box_blur: the window must be >= 1, got ", k);
  return separable_filter(img, std::vector<double>(static_cast<std::size_t>(k), 1.0 / static_cast<double>(k)),
                          max_value);
}

/// cv::GaussianBlur((k, k), 0) for k = 3, 5, 7 (OpenCV's tabulated kernels).
template <pixel T>
image_t<T> gaussian_blur(const image_t<T>& img, index_t k, double max_value = detail::default_max<T>()) {
  detail::check_image(img, "gaussian_blur");
  std::vector<double> kern;
  if (k == 3) kern = {0.25, 0.5, 0.25};
  else if (k == 5) kern = {0.0625, 0.25, 0.375, 0.25, 0.0625};
  else if (k == 7) kern = {0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125};
  require(!kern.empty(), "gaussian_blur: the kernel size must be 3, 5 or 7, got ", k);
  return separable_filter(img, kern, max_value);
}

/// Median of the k x k window (cv::medianBlur, BORDER_REPLICATE), k = 3 or 5.
template <pixel T>
image_t<T> median_blur(const image_t<T>& img, index_t k, double max_value = detail::default_max<T>()) {
  detail::check_image(img, "median_blur");
  require(k == 3 || k == 5, "median_blur: the window must be 3 or 5, got ", k);
  const index_t h = img.rows(), w = img.cols(), a = k / 2;
  image_t<T> out(h, w);
  std::vector<double> win(static_cast<std::size_t>(k * k));
  for (index_t y = 0; y < h; ++y)
    for (index_t x = 0; x < w; ++x) {
      std::size_t n = 0;
      for (index_t dy = -a; dy <= a; ++dy)
        for (index_t dx = -a; dx <= a; ++dx)
          win[n++] =
              static_cast<double>(img(std::clamp<index_t>(y + dy, 0, h - 1), std::clamp<index_t>(x + dx, 0, w - 1)));
      std::nth_element(win.begin(), win.begin() + static_cast<std::ptrdiff_t>(n / 2), win.end());
      out(y, x) = detail::store<T>(win[n / 2], max_value);
    }
  return out;
}

/// cv::bilateralFilter(d, sigma_color, sigma_space): intensity differences in gray levels.
template <pixel T>
image_t<T> bilateral(const image_t<T>& img, index_t d, double sigma_color, double sigma_space,
                     double max_value = detail::default_max<T>()) {
  detail::check_image(img, "bilateral");
  require(d >= 1 && sigma_color > 0 && sigma_space > 0, "bilateral: d, sigma_color and sigma_space must be positive");
  const index_t h = img.rows(), w = img.cols(), r = d / 2;
  const double gc = -0.5 / (sigma_color * sigma_color), gs = -0.5 / (sigma_space * sigma_space),
               to_gray = 255.0 / max_value;
  struct offset {
    index_t dy, dx;
    double weight;
  };
  std::vector<offset> disc;
  for (index_t dy = -r; dy <= r; ++dy)
    for (index_t dx = -r; dx <= r; ++dx) {
      const double rr = std::sqrt(static_cast<double>(dy * dy + dx * dx));
      if (rr <= static_cast<double>(r))
        disc.push_back({dy, dx, static_cast<double>(static_cast<float>(std::exp(rr * rr * gs)))});
    }
  image_t<T> out(h, w);
  for (index_t y = 0; y < h; ++y)
    for (index_t x = 0; x < w; ++x) {
      const double c = static_cast<double>(img(y, x));
      double s = 0, ws = 0;
      for (const auto& o : disc) {
        const double v = static_cast<double>(img(detail::reflect101(y + o.dy, h), detail::reflect101(x + o.dx, w)));
        const double diff = std::abs(v - c) * to_gray;
        const double wt = o.weight * std::exp(diff * diff * gc);
        s += wt * v;
        ws += wt;
      }
      out(y, x) = detail::store<T>(s / ws, max_value);
    }
  return out;
}

/// `count` pixels (drawn with replacement) set to uniform random intensities.
template <pixel T>
image_t<T> pixel_change(const image_t<T>& img, index_t count, rng& g, double max_value = detail::default_max<T>()) {
  detail::check_image(img, "pixel_change");
  require(count >= 0, "pixel_change: count must be >= 0, got ", count);
  image_t<T> out = img;
  for (index_t k = 0; k < count; ++k) {
    const auto i = static_cast<index_t>(g.below(static_cast<std::uint64_t>(img.size())));
    const double v = std::is_same_v<T, std::uint8_t> ? static_cast<double>(g.below(256)) : g.uniform() * max_value;
    out.data()[i] = detail::store<T>(v, max_value);
  }
  return out;
}

enum class noise_kind { gaussian = 1, salt_and_pepper = 2, multiplicative = 3 };

/// DeepHunter's noises: gaussian adds N(0, 0.1) gray levels² per pixel; salt-and-pepper sets 0.4 % of
/// the pixels, half to max_value and half to 0 (DeepHunter set "salt" to 1 on a 0..255 image: a bug);
/// multiplicative adds v·N(0, 1) to each pixel v.
template <pixel T>
image_t<T> noise(const image_t<T>& img, noise_kind kind, rng& g, double max_value = detail::default_max<T>()) {
  detail::check_image(img, "noise");
  image_t<T> out(img.rows(), img.cols());
  const double sigma = std::sqrt(0.1) * max_value / 255.0;
  for (index_t i = 0; i < img.size(); ++i) {
    const double v = static_cast<double>(img.data()[i]);
    double r = v;
    switch (kind) {
      case noise_kind::gaussian: r = v + sigma * g.normal(); break;
      case noise_kind::multiplicative: r = v + v * g.normal(); break;
      case noise_kind::salt_and_pepper: {
        const double u = g.uniform();
        r = u < 0.002 ? max_value : u < 0.004 ? 0.0 : v;
        break;
      }
      default: throw invalid_argument("noise: unknown kind");
    }
    out.data()[i] = detail::store<T>(r, max_value);
  }
  return out;
}

}  // namespace rnnabs::image
