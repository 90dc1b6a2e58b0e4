#pragma once
// The NPY header: a Python dict literal such as
//   {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
// parsed by a small strict tokenizer (no eval): exactly the three keys, string/bool/tuple values.
#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/io/dtype.hpp"

namespace rnnabs::io::detail {

struct npy_header {
  dtype type = dtype::f8;
  std::endian order = std::endian::little;
  bool fortran_order = false;
  std::vector<std::size_t> shape;
};

inline std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";
  return s + ")";
}

/// Bytes of `shape` (element count x width); false when the shape does not fit the address space.
/// Zero-length axes are counted as 1 for that test: a shape such as (0, 2^40, 2^40) holds no element,
/// but xtensor's strides and Eigen's index_t sizes of its other axes would still overflow.
inline bool checked_count(const std::vector<std::size_t>& shape, std::size_t width, std::size_t& bytes) {
  std::size_t n = width, span = width == 0 ? 1 : width;
  for (auto s : shape)
    if (__builtin_mul_overflow(n, s, &n) || __builtin_mul_overflow(span, s == 0 ? 1 : s, &span)) return false;
  if (span > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max())) return false;
  bytes = n;
  return true;
}

/// Parses a descr such as '<f8' or '|u1'; `origin` names the file for messages.
inline void parse_descr(std::string_view d, npy_header& h, std::string_view origin) {
  auto bad = [&]() { return io_error(rnnabs::detail::concat(origin, ": unsupported dtype '", d, "'")); };
  if (d.size() < 3) throw bad();
  const char order = d[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') throw bad();
  const std::string_view code = d.substr(1);
  struct entry {
    std::string_view code;
    dtype t;
  };
  static constexpr entry table[] = {{"b1", dtype::bool_}, {"u1", dtype::u1}, {"i1", dtype::i1}, {"u2", dtype::u2},
                                    {"i2", dtype::i2},    {"u4", dtype::u4}, {"i4", dtype::i4}, {"u8", dtype::u8},
                                    {"i8", dtype::i8},    {"f4", dtype::f4}, {"f8", dtype::f8}};
  for (const auto& e : table) {
    if (e.code != code) continue;
    h.type = e.t;
    if (itemsize(e.t) > 1 && order == '|') throw bad();  // multi-byte types need a byte order
    h.order = order == '>' ? std::endian::big : order == '<' ? std::endian::little : std::endian::native;
    return;
  }
  throw bad();
}

class header_parser {
 public:
  header_parser(std::string_view text, std::string_view origin) : s_(text), origin_(origin) {}

  npy_header parse() {
    npy_header h;
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    ws();
    expect('{');
    for (;;) {
      ws();
      if (peek() == '}') break;
      const std::string_view key = string_literal();
      ws();
      expect(':');
      ws();
      if (key == "descr") {
        dup(seen_descr, key);
        if (peek() == '[') fail("structured (record) dtypes are not supported");
        parse_descr(string_literal(), h, origin_);
      } else if (key == "fortran_order") {
        dup(seen_fortran, key);
        h.fortran_order = boolean();
      } else if (key == "shape") {
        dup(seen_shape, key);
        h.shape = tuple();
      } else {
        fail(rnnabs::detail::concat("unexpected key '", key, "'"));
      }
      ws();
      if (peek() == ',') {
        ++p_;
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}'");
    }
    expect('}');
    ws();
    if (p_ != s_.size()) fail("unexpected text after the dict");
    if (!seen_descr || !seen_fortran || !seen_shape) fail("the dict needs the keys 'descr', 'fortran_order', 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    throw io_error(rnnabs::detail::concat(origin_, ": bad .npy header (", what, " at offset ", p_,
                                          "): ", printable(s_.substr(0, 120))));
  }
  static std::string printable(std::string_view t) {
    std::string r;
    for (char c : t) r += (c >= 32 && c < 127) ? c : '?';
    return r;
  }
  char peek() const { return p_ < s_.size() ? s_[p_] : '\0'; }
  void ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) ++p_;
  }
  void expect(char c) {
    if (peek() != c) fail(rnnabs::detail::concat("expected '", c, "'"));
    ++p_;
  }
  void dup(bool& seen, std::string_view key) {
    if (seen) fail(rnnabs::detail::concat("duplicate key '", key, "'"));
    seen = true;
  }
  std::string_view string_literal() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a string");
    const std::size_t b = ++p_;
    while (p_ < s_.size() && s_[p_] != q) {
      if (s_[p_] == '\\') fail("escapes in strings are not supported");
      ++p_;
    }
    if (p_ >= s_.size()) fail("unterminated string");
    return s_.substr(b, p_++ - b);
  }
  bool boolean() {
    if (s_.substr(p_, 4) == "True") {
      p_ += 4;
      return true;
    }
    if (s_.substr(p_, 5) == "False") {
      p_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::size_t integer() {
    if (peek() == '-') fail("negative dimension");
    if (peek() < '0' || peek() > '9') fail("expected a dimension");
    std::size_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      if (__builtin_mul_overflow(v, std::size_t{10}, &v) ||
          __builtin_add_overflow(v, static_cast<std::size_t>(peek() - '0'), &v))
        fail("dimension too large");
      ++p_;
    }
    if (peek() == 'L') ++p_;  // Python 2 long literal
    return v;
  }
  std::vector<std::size_t> tuple() {
    std::vector<std::size_t> shape;
    expect('(');
    ws();
    while (peek() != ')') {
      if (shape.size() >= 64) fail("more than 64 dimensions");
      shape.push_back(integer());
      ws();
      if (peek() == ',') {
        ++p_;
        ws();
      } else if (peek() != ')') {
        fail("expected ',' or ')' in the shape");
      }
    }
    ++p_;
    return shape;
  }

  std::string_view s_;
  std::string_view origin_;
  std::size_t p_ = 0;
};

/// The dict text NumPy writes, without padding.
inline std::string format_header_dict(dtype t, std::endian order, bool fortran_order,
                                      const std::vector<std::size_t>& shape) {
  static constexpr std::string_view codes[] = {"b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f4", "f8"};
  const char oc = itemsize(t) == 1 ? '|' : order == std::endian::big ? '>' : '<';
  return rnnabs::detail::concat("{'descr': '", oc, codes[static_cast<int>(t)],
                                "', 'fortran_order': ", fortran_order ? "True" : "False",
                                ", 'shape': ", shape_text(shape), ", }");
}

}  // namespace rnnabs::io::detail
