#pragma once
// Element-level work shared by the readers: byte order, Fortran <-> C order, dtype casts.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/io/dtype.hpp"

namespace rnnabs::io::detail {

/// Reverses the bytes of each `width`-byte element in place.
inline void byteswap_elements(std::string& bytes, std::size_t width) {
  if (width <= 1) return;
  for (std::size_t i = 0; i + width <= bytes.size(); i += width)
    std::reverse(bytes.begin() + i, bytes.begin() + i + width);
}

/// Copies an array between C (row-major) and Fortran (column-major) order.
/// `to_fortran`: src is C order, result Fortran; otherwise src is Fortran, result C order.
inline std::string reorder(std::string_view src, const std::vector<std::size_t>& shape, std::size_t width,
                           bool to_fortran) {
  std::string dst(src.size(), '\0');
  const std::size_t nd = shape.size();
  std::size_t count = 1;
  for (auto s : shape) count *= s;
  if (nd <= 1 || count == 0) return std::string(src);
  // Strides (in elements) of the source layout.
  std::vector<std::size_t> stride(nd);
  if (to_fortran) {  // source is C order
    stride[nd - 1] = 1;
    for (std::size_t k = nd - 1; k > 0; --k) stride[k - 1] = stride[k] * shape[k];
  } else {  // source is Fortran order
    stride[0] = 1;
    for (std::size_t k = 1; k < nd; ++k) stride[k] = stride[k - 1] * shape[k - 1];
  }
  // Walk the destination in its own order with an odometer over the multi-index.
  std::vector<std::size_t> idx(nd, 0);
  std::size_t off = 0;  // source offset of idx
  for (std::size_t i = 0; i < count; ++i) {
    std::memcpy(dst.data() + i * width, src.data() + off * width, width);
    for (std::size_t step = 0; step < nd; ++step) {
      const std::size_t k = to_fortran ? step : nd - 1 - step;  // fastest axis of the destination first
      if (++idx[k] < shape[k]) {
        off += stride[k];
        break;
      }
      off -= (shape[k] - 1) * stride[k];
      idx[k] = 0;
    }
  }
  return dst;
}

/// Converts one stored value to T like NumPy's astype: integers wrap, bool is `!= 0`, float64
/// beyond float32's range becomes +-inf. A float that does not fit an integer T (NaN, Inf, out of
/// range) is an io_error naming `origin` and the element, where NumPy would give garbage.
template <class T, class S>
T convert_value(S s, std::string_view origin, std::size_t at) {
  if constexpr (std::is_same_v<T, bool>) {
    return s != S(0);
  } else if constexpr (std::is_floating_point_v<T>) {
    if constexpr (std::is_same_v<T, float> && std::is_same_v<S, double>) {
      if (std::isfinite(s) && std::abs(s) > static_cast<double>(std::numeric_limits<float>::max()))
        return s > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
    }
    return static_cast<T>(s);
  } else if constexpr (std::is_floating_point_v<S>) {
    const S t = std::trunc(s);
    constexpr int bits = std::numeric_limits<T>::digits;  // value bits, without the sign bit
    const S lo = std::is_signed_v<T> ? -std::ldexp(S(1), bits) : S(0);
    const S hi = std::ldexp(S(1), bits);
    require<io_error>(t >= lo && t < hi, origin, ": value ", s, " at flat index ", at, " does not fit the requested ",
                      dtype_name(dtype_of<T>()), " type");
    return static_cast<T>(t);
  } else {
    return static_cast<T>(s);  // integer -> integer: modular, as NumPy's astype
  }
}

/// Converts `count` stored elements of type `t` (native byte order) into `out`.
template <class T>
void convert_elements(dtype t, const char* src, std::size_t count, T* out, std::string_view origin) {
  visit_dtype(t, [&](auto tag) {
    using S = typename decltype(tag)::type;
    if constexpr (std::is_same_v<S, T> && !std::is_same_v<T, bool>) {
      if (t != dtype::bool_) {
        if (count) std::memcpy(out, src, count * sizeof(T));
        return;
      }
    }
    for (std::size_t i = 0; i < count; ++i) {
      S s;
      std::memcpy(&s, src + i * sizeof(S), sizeof(S));
      out[i] = convert_value<T>(s, origin, i);
    }
  });
}

}  // namespace rnnabs::io::detail
