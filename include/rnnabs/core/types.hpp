#pragma once
// The shapes rnnabs passes around: row-major matrices (one sample per row, like NumPy).
#include <Eigen/Core>
#include <concepts>
#include <cstddef>
#include <cstdint>

namespace rnnabs {

using index_t = std::ptrdiff_t;

template <class T>
using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
/// Read-only view of a row-major matrix: binds Matrix, Map, row blocks without a copy.
template <class T>
using matrix_cref = Eigen::Ref<const matrix<T>>;
template <class T>
using vector_cref = Eigen::Ref<const vector<T>>;
using index_vector = Eigen::Matrix<index_t, Eigen::Dynamic, 1>;

template <class T>
concept real_scalar = std::same_as<T, float> || std::same_as<T, double>;

}  // namespace rnnabs
