#pragma once
// The flat parameter vector: every tensor of a model, one after another in PyTorch `state_dict`
// order, each row-major with PyTorch's shape. Gradients, per-sample gradients and HVPs use the
// same layout, so `layout.find("rnn.weight_hh_l0")` locates a block in any of them.
#include <string>
#include <string_view>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// One tensor of the flat vector: name, PyTorch shape (cols == 0: a 1-d tensor of `rows`), offset.
struct parameter_info {
  std::string name;
  index_t rows = 0;
  index_t cols = 0;
  index_t offset = 0;
  bool is_vector() const noexcept { return cols == 0; }
  index_t size() const noexcept { return cols == 0 ? rows : rows * cols; }
};

class parameter_layout {
 public:
  /// Appends a matrix (cols > 0) or a vector (cols == 0); returns its index.
  index_t add(std::string name, index_t rows, index_t cols = 0) {
    require(rows > 0 && cols >= 0, "parameter_layout::add: bad shape for '", name, "'");
    entries_.push_back({std::move(name), rows, cols, size_});
    size_ += entries_.back().size();
    return static_cast<index_t>(entries_.size()) - 1;
  }
  /// Total number of scalars.
  index_t size() const noexcept { return size_; }
  const std::vector<parameter_info>& entries() const noexcept { return entries_; }
  const parameter_info& operator[](index_t i) const { return entries_[static_cast<std::size_t>(i)]; }
  /// The entry called `name`; invalid_argument naming the known names when there is none.
  const parameter_info& find(std::string_view name) const {
    for (const auto& e : entries_)
      if (e.name == name) return e;
    std::string known;
    for (const auto& e : entries_) known += (known.empty() ? "" : ", ") + e.name;
    throw invalid_argument(detail::concat("parameter_layout: no parameter '", name, "' (have: ", known, ")"));
  }
  bool contains(std::string_view name) const {
    for (const auto& e : entries_)
      if (e.name == name) return true;
    return false;
  }

  /// A view of entry i inside flat storage `p` (matrix entries rows x cols, vectors 1 x rows).
  template <class T>
  Eigen::Map<matrix<T>> view(T* p, index_t i) const {
    const auto& e = (*this)[i];
    return {p + e.offset, e.is_vector() ? 1 : e.rows, e.is_vector() ? e.rows : e.cols};
  }
  template <class T>
  Eigen::Map<const matrix<T>> view(const T* p, index_t i) const {
    const auto& e = (*this)[i];
    return {p + e.offset, e.is_vector() ? 1 : e.rows, e.is_vector() ? e.rows : e.cols};
  }

 private:
  std::vector<parameter_info> entries_;
  index_t size_ = 0;
};

}  // namespace rnnabs
