#pragma once
// Points (N×D, row-major, double) and optional sample weights resident on the device: the input of
// the GPU k-means and Gaussian-mixture passes, uploaded once and read by every pass.
#include <Eigen/Core>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/cuda/runtime.cuh"

namespace rnnabs::cuda {

class device_points {
 public:
  /// X: N×D, any real scalar (stored as double); sample_weight: N non-negative values or null.
  template <class Derived>
  device_points(const Eigen::MatrixBase<Derived>& X, const double* sample_weight, cudaStream_t s = nullptr)
      : n_(X.rows()), d_(X.cols()) {
    require_device("cuda::device_points");
    require(n_ > 0 && d_ > 0, "cuda::device_points: X is empty (", n_, " x ", d_, ")");
    const matrix<double> h = X.template cast<double>();  // row-major N×D
    x_.upload(h.data(), static_cast<std::size_t>(h.size()), s);
    if (sample_weight) w_.upload(sample_weight, static_cast<std::size_t>(n_), s);
  }
  index_t n() const noexcept { return n_; }
  index_t d() const noexcept { return d_; }
  const double* x() const noexcept { return x_.data(); }
  /// Null when unweighted (every weight 1).
  const double* w() const noexcept { return w_.empty() ? nullptr : w_.data(); }

 private:
  index_t n_, d_;
  device_buffer<double> x_, w_;
};

}  // namespace rnnabs::cuda
