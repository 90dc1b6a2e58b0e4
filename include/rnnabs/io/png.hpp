#pragma once
// Grayscale PNG pictures of images (failed inputs, generated repairs) through libpng's simplified
// API, written atomically; and a grid that tiles many small images into one.
//
//   auto grid = rnnabs::io::image_grid(images, {.columns = 10});     // float/double in [0, 1] or uint8
//   rnnabs::io::save_png("failures.png", grid);
#if !defined(RNNABS_HAVE_PNG)
#error "rnnabs/io/png.hpp needs libpng: link the CMake target rnnabs::png (it defines RNNABS_HAVE_PNG)"
#endif
#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/io/atomic_file.hpp"

namespace rnnabs::io {

using gray8 = matrix<std::uint8_t>;

/// An image as 8-bit gray: uint8 as it is, floating point in [0, 1] scaled by 255 and rounded
/// (values outside are clamped). invalid_argument on a NaN or infinite pixel.
template <class T>
gray8 to_gray8(const matrix<T>& im) {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    return im;
  } else {
    static_assert(std::is_floating_point_v<T>, "to_gray8: pixels must be uint8 or floating point");
    require(im.allFinite(), "to_gray8: the image has a NaN or infinite pixel");
    return im.unaryExpr([](T v) {
      return static_cast<std::uint8_t>(std::lround(std::clamp(static_cast<double>(v), 0.0, 1.0) * 255.0));
    });
  }
}

struct grid_options {
  index_t columns = 10;           ///< tiles per row
  index_t padding = 2;            ///< pixels between tiles and around the grid
  std::uint8_t background = 128;  ///< gray level of the padding (mid-gray: black and white tiles both show)
};

/// The images tiled row by row into one picture; every image must have the same shape.
template <class T>
gray8 image_grid(const std::vector<matrix<T>>& images, const grid_options& o = {}) {
  require(!images.empty(), "image_grid: no image");
  require(o.columns >= 1 && o.padding >= 0, "image_grid: columns must be >= 1 and padding >= 0, got ", o.columns,
          " and ", o.padding);
  const index_t h = images[0].rows(), w = images[0].cols(), n = static_cast<index_t>(images.size());
  require(h > 0 && w > 0, "image_grid: the images are empty");
  const index_t cols = std::min(o.columns, n), rows = (n + cols - 1) / cols, p = o.padding;
  gray8 g = gray8::Constant(rows * (h + p) + p, cols * (w + p) + p, o.background);
  for (index_t k = 0; k < n; ++k) {
    const auto& im = images[static_cast<std::size_t>(k)];
    require(im.rows() == h && im.cols() == w, "image_grid: image ", k, " is ", im.rows(), " x ", im.cols(),
            ", the first is ", h, " x ", w);
    g.block(p + (k / cols) * (h + p), p + (k % cols) * (w + p), h, w) = to_gray8(im);
  }
  return g;
}

/// Writes an 8-bit grayscale PNG, atomically (a failed write leaves any old file untouched).
/// io_error when libpng or the file system fails; invalid_argument on an empty image.
template <class T>
void save_png(const std::filesystem::path& path, const matrix<T>& image) {
  require(image.rows() > 0 && image.cols() > 0, "save_png: ", path, ": the image is empty");
  const gray8 g = to_gray8(image);  // row-major: rows are contiguous, as libpng wants them
  png_image im{};
  im.version = PNG_IMAGE_VERSION;
  im.width = static_cast<png_uint_32>(g.cols());
  im.height = static_cast<png_uint_32>(g.rows());
  im.format = PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  const auto stride = static_cast<png_int_32>(g.cols());
  bool ok = png_image_write_to_memory(&im, nullptr, &size, 0, g.data(), stride, nullptr) != 0;
  std::string bytes(ok ? size : 0, '\0');
  ok = ok && png_image_write_to_memory(&im, bytes.data(), &size, 0, g.data(), stride, nullptr) != 0;
  const std::string message = im.message;
  png_image_free(&im);
  require<io_error>(ok, "save_png: ", path, ": libpng failed: ", message);
  bytes.resize(size);
  atomic_write_bytes(path, bytes);
}

}  // namespace rnnabs::io
