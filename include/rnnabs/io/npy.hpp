#pragma once
// NumPy .npy files: read (format 1.0/2.0/3.0, either byte order, C or Fortran order) and write
// (atomically). Every read is validated against the file's real size before anything is
// allocated from header values, so a corrupt file gives an io_error, never a crash.
//
//   auto x = rnnabs::io::load_npy<float>("traces.npy");        // any numeric dtype -> float
//   rnnabs::io::save_npy("out.npy", x);                          // xtensor expression
//   rnnabs::io::save_npy("w.npy", eigen_matrix);                 // Eigen: row-major on disk
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/io/atomic_file.hpp"
#include "rnnabs/io/detail/convert.hpp"
#include "rnnabs/io/detail/file.hpp"
#include "rnnabs/io/detail/npy_header.hpp"
#include "rnnabs/io/dtype.hpp"
#include "rnnabs/io/limits.hpp"

namespace rnnabs::io {

/// A type-erased array: dtype, shape, and the elements in native byte order and C (row-major)
/// order, whatever order the file had.
struct npy_array {
  dtype type = dtype::f8;
  std::vector<std::size_t> shape;  // {} is a 0-d array (one element)
  std::string data;                // size() * itemsize(type) bytes
  std::string origin;              // file (and member) it came from, for messages; may be empty

  std::size_t ndim() const noexcept { return shape.size(); }
  std::size_t size() const noexcept {
    std::size_t n = 1;
    for (auto s : shape) n *= s;
    return n;
  }
  /// The elements converted to T like `np.asarray(a, dtype=T)` (see detail::convert_value).
  template <class T>
  xt::xarray<T> as() const {
    check();
    xt::xarray<T> out = xt::xarray<T>::from_shape(shape);
    detail::convert_elements<T>(type, data.data(), size(), out.data(), origin);
    return out;
  }
  /// Throws io_error when data does not hold exactly shape's elements.
  void check() const {
    std::size_t bytes = 0;
    require<io_error>(detail::checked_count(shape, itemsize(type), bytes) && bytes == data.size(), origin,
                      ": array of shape ", detail::shape_text(shape), " and dtype ", dtype_name(type), " has ",
                      data.size(), " data bytes");
  }
};

/// Options of the writers. version 0 picks 1.0, or 2.0 when the header needs it.
struct npy_options {
  int version = 0;  // 0 (auto), 1, 2 or 3
  std::endian byte_order = std::endian::native;
  bool fortran_order = false;  // write the data in column-major order
};

// ---- conversion from C++ containers ---------------------------------------------------------

/// Copies an xtensor expression (any layout) into an npy_array.
template <class E>
npy_array to_npy_array(const xt::xexpression<E>& e) {
  using T = std::remove_cv_t<typename E::value_type>;
  const xt::xarray<T, xt::layout_type::row_major> a = e.derived_cast();
  npy_array r;
  r.type = dtype_of<T>();
  r.shape.assign(a.shape().begin(), a.shape().end());
  r.data.resize(a.size() * sizeof(T));
  if constexpr (std::is_same_v<T, bool>) {
    for (std::size_t i = 0; i < a.size(); ++i) r.data[i] = a.data()[i] ? 1 : 0;
  } else if (a.size()) {
    std::memcpy(r.data.data(), a.data(), r.data.size());
  }
  return r;
}

/// Copies an Eigen matrix (either storage order) into a row-major npy_array: 2-d (rows, cols), or
/// 1-d (n,) for compile-time column vectors such as vector<T>.
template <class D>
npy_array to_npy_array(const Eigen::DenseBase<D>& m) {
  using T = typename D::Scalar;
  const matrix<T> rm = m;
  npy_array r;
  r.type = dtype_of<T>();
  if constexpr (D::ColsAtCompileTime == 1) r.shape = {static_cast<std::size_t>(rm.rows())};
  else r.shape = {static_cast<std::size_t>(rm.rows()), static_cast<std::size_t>(rm.cols())};
  r.data.resize(static_cast<std::size_t>(rm.size()) * sizeof(T));
  if constexpr (std::is_same_v<T, bool>) {
    for (index_t i = 0; i < rm.size(); ++i) r.data[static_cast<std::size_t>(i)] = rm.data()[i] ? 1 : 0;
  } else if (rm.size()) {
    std::memcpy(r.data.data(), rm.data(), r.data.size());
  }
  return r;
}

/// A 1-d or 2-d array as a row-major Eigen matrix (1-d: n x 1), converted to T.
template <class T>
matrix<T> to_matrix(const npy_array& a) {
  require<io_error>(a.ndim() == 1 || a.ndim() == 2, a.origin, ": expected a 1-d or 2-d array, got shape ",
                    detail::shape_text(a.shape));
  a.check();
  const auto rows = static_cast<index_t>(a.shape[0]);
  const auto cols = a.ndim() == 2 ? static_cast<index_t>(a.shape[1]) : index_t{1};
  matrix<T> m(rows, cols);
  detail::convert_elements<T>(a.type, a.data.data(), a.size(), m.data(), a.origin);
  return m;
}

// ---- in-memory format ----------------------------------------------------------------------

/// Parses the bytes of a .npy file; `origin` names it in error messages.
inline npy_array parse_npy(std::string_view bytes, std::string_view origin) {
  constexpr std::string_view magic = "\x93NUMPY";
  require<io_error>(bytes.size() >= 10, origin, ": truncated .npy file (", bytes.size(),
                    " bytes, the preamble needs 10)");
  require<io_error>(bytes.substr(0, 6) == magic, origin, ": not a .npy file (bad magic)");
  const auto major = static_cast<unsigned char>(bytes[6]), minor = static_cast<unsigned char>(bytes[7]);
  require<io_error>((major >= 1 && major <= 3) && minor == 0, origin, ": unsupported .npy format version ", int(major),
                    ".", int(minor), " (supported: 1.0, 2.0, 3.0)");
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  require<io_error>(bytes.size() >= 8 + len_bytes, origin, ": truncated .npy file (in the header length)");
  std::size_t header_len = 0;
  for (std::size_t i = 0; i < len_bytes; ++i)
    header_len |= std::size_t{static_cast<unsigned char>(bytes[8 + i])} << (8 * i);
  const std::size_t start = 8 + len_bytes;
  require<io_error>(header_len <= bytes.size() - start, origin, ": truncated .npy file (header of ", header_len,
                    " bytes, only ", bytes.size() - start, " left)");
  const auto h = detail::header_parser(bytes.substr(start, header_len), origin).parse();

  npy_array a;
  a.type = h.type;
  a.shape = h.shape;
  a.origin = std::string(origin);
  std::size_t need = 0;
  require<io_error>(detail::checked_count(h.shape, itemsize(h.type), need), origin, ": shape ",
                    detail::shape_text(h.shape), " overflows the address space");
  detail::check_alloc(need, 1, origin, rnnabs::detail::concat("data of shape ", detail::shape_text(h.shape)));
  const std::size_t have = bytes.size() - start - header_len;
  require<io_error>(have >= need, origin, ": truncated .npy file (shape ", detail::shape_text(h.shape), " of ",
                    dtype_name(h.type), " needs ", need, " data bytes, the file has ", have, ")");
  require<io_error>(have == need, origin, ": .npy file has ", have - need, " bytes after the data (shape ",
                    detail::shape_text(h.shape), " of ", dtype_name(h.type), " needs ", need, ")");
  const auto payload = bytes.substr(start + header_len);
  a.data = h.fortran_order ? detail::reorder(payload, h.shape, itemsize(h.type), false) : std::string(payload);
  if (h.order != std::endian::native) detail::byteswap_elements(a.data, itemsize(h.type));
  if (h.type == dtype::bool_)
    for (auto& c : a.data) c = c ? 1 : 0;  // any nonzero byte is True, as in NumPy
  return a;
}

/// The bytes of a .npy file holding `a`.
inline std::string serialize_npy(const npy_array& a, const npy_options& opt = {}) {
  require<invalid_argument>(opt.version >= 0 && opt.version <= 3,
                            "serialize_npy: version must be 0 (auto), 1, 2 or 3, got ", opt.version);
  require<invalid_argument>(opt.byte_order == std::endian::little || opt.byte_order == std::endian::big,
                            "serialize_npy: byte_order must be little or big");
  std::size_t need = 0;
  require<invalid_argument>(detail::checked_count(a.shape, itemsize(a.type), need) && need == a.data.size(),
                            "serialize_npy: ", a.origin.empty() ? "array" : a.origin, ": shape ",
                            detail::shape_text(a.shape), " of ", dtype_name(a.type), " needs ", need,
                            " bytes, data has ", a.data.size());
  std::string dict = detail::format_header_dict(a.type, opt.byte_order, opt.fortran_order, a.shape);
  // Pad with spaces + '\n' so the data starts at a multiple of 64 bytes, as NumPy does.
  auto padded = [&](std::size_t len_bytes) {
    const std::size_t pre = 8 + len_bytes + dict.size() + 1;
    return dict.size() + 1 + (64 - pre % 64) % 64;
  };
  int version = opt.version;
  if (version == 0) version = padded(2) <= 0xFFFF ? 1 : 2;
  const std::size_t len_bytes = version == 1 ? 2 : 4;
  const std::size_t header_len = padded(len_bytes);
  require<invalid_argument>(version != 1 || header_len <= 0xFFFF, "serialize_npy: the header (", header_len,
                            " bytes) does not fit format 1.0; use version 2");
  std::string out = "\x93NUMPY";
  out += static_cast<char>(version);
  out += '\0';
  for (std::size_t i = 0; i < len_bytes; ++i) out += static_cast<char>((header_len >> (8 * i)) & 0xFF);
  out += dict;
  out.append(header_len - dict.size() - 1, ' ');
  out += '\n';
  std::string body = opt.fortran_order ? detail::reorder(a.data, a.shape, itemsize(a.type), true) : a.data;
  if (opt.byte_order != std::endian::native) detail::byteswap_elements(body, itemsize(a.type));
  out += body;
  return out;
}

// ---- files ------------------------------------------------------------------------------------

/// Reads a .npy file without converting its elements.
inline npy_array load_npy_array(const std::filesystem::path& path) {
  const std::string bytes = detail::read_file_bytes(path, "load_npy");
  return parse_npy(bytes, rnnabs::detail::concat("load_npy: ", path));
}

/// Reads a .npy file and converts its elements to T (like `np.asarray(np.load(path), dtype=T)`).
template <class T>
xt::xarray<T> load_npy(const std::filesystem::path& path) {
  return load_npy_array(path).as<T>();
}

/// Reads a 1-d or 2-d .npy file as a row-major Eigen matrix (1-d: n x 1).
template <class T>
matrix<T> load_npy_matrix(const std::filesystem::path& path) {
  return to_matrix<T>(load_npy_array(path));
}

namespace detail {
/// The header of a .npy file and where its data start, checked against the file's size.
struct npy_layout {
  npy_header h;
  std::size_t data_start = 0;
};
inline npy_layout read_npy_layout(std::ifstream& in, const std::filesystem::path& p, std::string_view who) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(p, ec);
  require<io_error>(!ec, who, ": ", p, ": cannot get the file size: ", ec.message());
  char pre[12] = {};
  in.read(pre, 12);
  const auto got = static_cast<std::size_t>(in.gcount());
  require<io_error>(got >= 10 && std::string_view(pre, 6) == "\x93NUMPY", who, ": ", p, ": not a .npy file");
  const auto major = static_cast<unsigned char>(pre[6]);
  require<io_error>(major >= 1 && major <= 3 && pre[7] == 0, who, ": ", p, ": unsupported .npy format version");
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  require<io_error>(got >= 8 + len_bytes, who, ": ", p, ": truncated .npy file (in the header length)");
  std::size_t header_len = 0;
  for (std::size_t i = 0; i < len_bytes; ++i)
    header_len |= std::size_t{static_cast<unsigned char>(pre[8 + i])} << (8 * i);
  npy_layout l;
  l.data_start = 8 + len_bytes + header_len;
  require<io_error>(l.data_start <= size, who, ": ", p, ": truncated .npy file (header of ", header_len, " bytes)");
  std::string header(header_len, '\0');
  in.clear();
  in.seekg(static_cast<std::streamoff>(8 + len_bytes));
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  l.h = header_parser(header, rnnabs::detail::concat(who, ": ", p.string())).parse();
  std::size_t need = 0;
  require<io_error>(checked_count(l.h.shape, itemsize(l.h.type), need) && need == size - l.data_start, who, ": ", p,
                    ": the data are ", size - l.data_start, " bytes, shape ", shape_text(l.h.shape), " of ",
                    dtype_name(l.h.type), " needs ", need);
  return l;
}
}  // namespace detail

/// Rows (first-axis entries) of a .npy file, from its header alone.
inline index_t npy_rows(const std::filesystem::path& path) {
  detail::require_file(path, "npy_rows");
  std::ifstream in(path, std::ios::binary);
  require<io_error>(in.is_open(), "npy_rows: ", path, ": cannot open for reading");
  const auto l = detail::read_npy_layout(in, path, "npy_rows");
  return l.h.shape.empty() ? 1 : static_cast<index_t>(l.h.shape[0]);
}

/// Rows [begin, end) of a C-order .npy file of 1 or more dimensions as a row-major matrix (the other axes
/// flattened into columns), converted to T; reads only those rows' bytes, so each rank of a distributed
/// job loads its own shard of one file.
template <class T>
matrix<T> load_npy_rows(const std::filesystem::path& path, index_t begin, index_t end) {
  const char* who = "load_npy_rows";
  detail::require_file(path, who);
  std::ifstream in(path, std::ios::binary);
  require<io_error>(in.is_open(), who, ": ", path, ": cannot open for reading");
  const auto l = detail::read_npy_layout(in, path, who);
  require<io_error>(!l.h.shape.empty(), who, ": ", path, ": a 0-d array has no rows");
  require<io_error>(!l.h.fortran_order || l.h.shape.size() == 1, who, ": ", path,
                    ": Fortran order stores no row contiguously; save it in C order");
  const auto rows = static_cast<index_t>(l.h.shape[0]);
  require(begin >= 0 && begin <= end && end <= rows, who, ": rows [", begin, ", ", end, ") outside [0, ", rows, ") of ",
          path.string());
  std::size_t cols = 1;
  for (std::size_t a = 1; a < l.h.shape.size(); ++a) cols *= l.h.shape[a];
  const std::size_t item = itemsize(l.h.type), row_bytes = cols * item;
  std::string bytes(static_cast<std::size_t>(end - begin) * row_bytes, '\0');
  in.seekg(static_cast<std::streamoff>(l.data_start + static_cast<std::size_t>(begin) * row_bytes));
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  require<io_error>(static_cast<std::size_t>(in.gcount()) == bytes.size(), who, ": ", path, ": read error");
  if (l.h.order != std::endian::native) detail::byteswap_elements(bytes, item);
  if (l.h.type == dtype::bool_)
    for (auto& c : bytes) c = c ? 1 : 0;
  matrix<T> m(end - begin, static_cast<index_t>(cols));
  detail::convert_elements<T>(l.h.type, bytes.data(), bytes.size() / item, m.data(),
                              rnnabs::detail::concat(who, ": ", path.string()));
  return m;
}

/// Writes `a` to `path` atomically.
inline void save_npy(const std::filesystem::path& path, const npy_array& a, const npy_options& opt = {}) {
  atomic_write_bytes(path, serialize_npy(a, opt));
}

/// Writes an xtensor expression to `path` atomically.
template <class E>
void save_npy(const std::filesystem::path& path, const xt::xexpression<E>& e, const npy_options& opt = {}) {
  save_npy(path, to_npy_array(e), opt);
}

/// Writes an Eigen matrix (stored row-major, whatever its storage order) or vector (1-d).
template <class D>
void save_npy(const std::filesystem::path& path, const Eigen::DenseBase<D>& m, const npy_options& opt = {}) {
  save_npy(path, to_npy_array(m), opt);
}

}  // namespace rnnabs::io
