#pragma once
// The element types the binary formats (NPY, NPZ, IDX) carry, by NumPy's names.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace rnnabs::io {

enum class dtype : std::uint8_t { bool_, u1, i1, u2, i2, u4, i4, u8, i8, f4, f8 };

/// Bytes per element.
constexpr std::size_t itemsize(dtype t) noexcept {
  switch (t) {
    case dtype::bool_:
    case dtype::u1:
    case dtype::i1: return 1;
    case dtype::u2:
    case dtype::i2: return 2;
    case dtype::u4:
    case dtype::i4:
    case dtype::f4: return 4;
    case dtype::u8:
    case dtype::i8:
    case dtype::f8: return 8;
  }
  return 0;
}

/// NumPy's name of the type ("float64", "uint8", ...), for messages.
constexpr std::string_view dtype_name(dtype t) noexcept {
  switch (t) {
    case dtype::bool_: return "bool";
    case dtype::u1: return "uint8";
    case dtype::i1: return "int8";
    case dtype::u2: return "uint16";
    case dtype::i2: return "int16";
    case dtype::u4: return "uint32";
    case dtype::i4: return "int32";
    case dtype::u8: return "uint64";
    case dtype::i8: return "int64";
    case dtype::f4: return "float32";
    case dtype::f8: return "float64";
  }
  return "?";
}

/// The dtype that stores a C++ T (bool, any integer of 1/2/4/8 bytes, float, double).
template <class T>
constexpr dtype dtype_of() noexcept {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    return dtype::bool_;
  } else if constexpr (std::is_same_v<U, float>) {
    return dtype::f4;
  } else if constexpr (std::is_same_v<U, double>) {
    return dtype::f8;
  } else {
    static_assert(std::is_integral_v<U> && (sizeof(U) == 1 || sizeof(U) == 2 || sizeof(U) == 4 || sizeof(U) == 8),
                  "rnnabs::io: supported element types are bool, 8/16/32/64-bit integers, float and double");
    constexpr bool s = std::is_signed_v<U>;
    if constexpr (sizeof(U) == 1) return s ? dtype::i1 : dtype::u1;
    else if constexpr (sizeof(U) == 2) return s ? dtype::i2 : dtype::u2;
    else if constexpr (sizeof(U) == 4) return s ? dtype::i4 : dtype::u4;
    else return s ? dtype::i8 : dtype::u8;
  }
}

namespace detail {
/// Calls f(std::type_identity<S>{}) with S the C++ type stored by `t` (bool is read as uint8_t,
/// since a byte other than 0/1 read as bool is undefined behaviour).
template <class F>
decltype(auto) visit_dtype(dtype t, F&& f) {
  switch (t) {
    case dtype::bool_: return f(std::type_identity<std::uint8_t>{});
    case dtype::u1: return f(std::type_identity<std::uint8_t>{});
    case dtype::i1: return f(std::type_identity<std::int8_t>{});
    case dtype::u2: return f(std::type_identity<std::uint16_t>{});
    case dtype::i2: return f(std::type_identity<std::int16_t>{});
    case dtype::u4: return f(std::type_identity<std::uint32_t>{});
    case dtype::i4: return f(std::type_identity<std::int32_t>{});
    case dtype::u8: return f(std::type_identity<std::uint64_t>{});
    case dtype::i8: return f(std::type_identity<std::int64_t>{});
    case dtype::f4: return f(std::type_identity<float>{});
    case dtype::f8: break;
  }
  return f(std::type_identity<double>{});
}
}  // namespace detail

}  // namespace rnnabs::io
