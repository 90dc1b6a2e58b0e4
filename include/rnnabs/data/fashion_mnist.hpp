#pragma once
// MNIST-format image classification sets (Fashion-MNIST, MNIST, KMNIST, ...): IDX files
//   <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
// (also the "train-images.idx3-ubyte" spelling) loaded as float images in [0, 1] and int32 labels.
// Fashion-MNIST ships offline in the Debian package dataset-fashion-mnist.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/data/labelled_images.hpp"
#include "rnnabs/io/idx.hpp"

namespace rnnabs::data {

enum class split { train, test };

inline const std::filesystem::path fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

/// Loads an images file (IDX uint8, N x H x W) and its labels file (IDX integers, N).
inline labelled_images load_idx_images(const std::filesystem::path& images, const std::filesystem::path& labels) {
  const auto img = io::load_idx_array(images);
  require<io_error>(img.type == io::dtype::u1 && img.ndim() == 3, img.origin,
                    ": expected uint8 images of shape (N, H, W), got ", io::dtype_name(img.type), " of shape ",
                    io::detail::shape_text(img.shape));
  const auto lab = io::load_idx_array(labels);
  require<io_error>(lab.ndim() == 1 && lab.type != io::dtype::f4 && lab.type != io::dtype::f8, lab.origin,
                    ": expected 1-d integer labels, got ", io::dtype_name(lab.type), " of shape ",
                    io::detail::shape_text(lab.shape));
  require<io_error>(lab.shape[0] == img.shape[0], lab.origin, ": ", lab.shape[0], " labels for ", img.shape[0],
                    " images in ", images);
  labelled_images d;
  d.images = xt::xtensor<float, 3>::from_shape({img.shape[0], img.shape[1], img.shape[2]});
  float* out = d.images.data();
  const auto* px = reinterpret_cast<const unsigned char*>(img.data.data());
  for (std::size_t i = 0; i < img.data.size(); ++i) out[i] = static_cast<float>(px[i]) / 255.0f;
  d.labels = xt::xtensor<std::int32_t, 1>::from_shape({lab.shape[0]});
  io::detail::convert_elements<std::int32_t>(lab.type, lab.data.data(), lab.size(), d.labels.data(), lab.origin);
  return d;
}

namespace detail {
inline std::filesystem::path find_idx(const std::filesystem::path& dir, std::string_view prefix, std::string_view what,
                                      std::string_view hint) {
  const std::string base = std::string(prefix) + "-" + std::string(what);  // e.g. train-images-idx3
  const std::string dotted = std::string(prefix) + "-" + std::string(what.substr(0, what.find('-'))) + "." +
                             std::string(what.substr(what.find('-') + 1));  // train-images.idx3
  const std::vector<std::string> names = {base + "-ubyte.gz", base + "-ubyte", dotted + "-ubyte"};
  for (const auto& n : names) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(dir / n, ec)) return dir / n;
  }
  throw io_error(rnnabs::detail::concat("load_mnist: ", dir, ": no ", names[0], " (nor ", names[1], ", ", names[2], ")",
                                        hint.empty() ? "" : "; ", hint));
}
}  // namespace detail

/// Loads a split of any data set in the MNIST IDX layout from `dir`; `hint` is appended to the
/// "file missing" error (e.g. which package provides the files).
inline labelled_images load_mnist(split s, const std::filesystem::path& dir, std::string_view hint = "") {
  const std::string_view prefix = s == split::train ? "train" : "t10k";
  const auto images = detail::find_idx(dir, prefix, "images-idx3", hint);
  const auto labels = detail::find_idx(dir, prefix, "labels-idx1", hint);
  return load_idx_images(images, labels);
}

/// Fashion-MNIST (60000 train / 10000 test images of 28 x 28, 10 classes).
inline labelled_images load_fashion_mnist(split s, const std::filesystem::path& dir = fashion_mnist_dir) {
  return load_mnist(s, dir,
                    "Fashion-MNIST is in the Debian package dataset-fashion-mnist "
                    "(apt-get install dataset-fashion-mnist)");
}

}  // namespace rnnabs::data
