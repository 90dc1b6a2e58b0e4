#pragma once
// IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed (detected by content):
//   bytes 0-1: 0, byte 2: type (08 u8, 09 i8, 0B i16, 0C i32, 0D f32, 0E f64), byte 3: ndim,
//   then ndim big-endian uint32 dimensions, then the data, big-endian, row-major.
// The data size must match the dimensions exactly; the buffer grows only as data really arrives,
// so a header claiming terabytes costs nothing before the truncation is found.
#if !defined(RNNABS_HAVE_ZIP)
#error "rnnabs/io/idx.hpp needs zlib for .gz files: link the CMake target rnnabs::zip (it defines RNNABS_HAVE_ZIP)"
#endif
#include <bit>
#include <filesystem>
#include <string>

#include <xtensor/xarray.hpp>

#include "rnnabs/core/error.hpp"
#include "rnnabs/io/detail/gzip.hpp"
#include "rnnabs/io/limits.hpp"
#include "rnnabs/io/npy.hpp"

namespace rnnabs::io {

/// Reads an IDX file (raw or .gz) without converting its elements (native byte order).
inline npy_array load_idx_array(const std::filesystem::path& path) {
  detail::byte_reader in(path, "load_idx");
  const std::string& origin = in.origin();
  unsigned char head[4];
  in.read_exact(reinterpret_cast<char*>(head), 4, "the magic number");
  require<io_error>(head[0] == 0 && head[1] == 0, origin, ": not an IDX file (bad magic ", int(head[0]), " ",
                    int(head[1]), ", expected 0 0)");
  npy_array a;
  switch (head[2]) {
    case 0x08: a.type = dtype::u1; break;
    case 0x09: a.type = dtype::i1; break;
    case 0x0B: a.type = dtype::i2; break;
    case 0x0C: a.type = dtype::i4; break;
    case 0x0D: a.type = dtype::f4; break;
    case 0x0E: a.type = dtype::f8; break;
    default: throw io_error(rnnabs::detail::concat(origin, ": unsupported IDX type code 0x", std::hex, int(head[2])));
  }
  require<io_error>(head[3] >= 1, origin, ": IDX file with 0 dimensions");
  a.shape.resize(head[3]);
  for (auto& d : a.shape) {
    unsigned char b[4];
    in.read_exact(reinterpret_cast<char*>(b), 4, "the dimensions");
    d = (std::size_t{b[0]} << 24) | (std::size_t{b[1]} << 16) | (std::size_t{b[2]} << 8) | b[3];
  }
  a.origin = origin;
  std::size_t need = 0;
  require<io_error>(detail::checked_count(a.shape, itemsize(a.type), need), origin, ": shape ",
                    detail::shape_text(a.shape), " overflows the address space");
  detail::check_alloc(need, 1, origin, rnnabs::detail::concat("data of shape ", detail::shape_text(a.shape)));
  // Grow in chunks so a lying header cannot make us allocate before the data is there.
  constexpr std::size_t chunk = std::size_t{1} << 24;
  while (a.data.size() < need) {
    const std::size_t old = a.data.size(), k = std::min(chunk, need - old);
    a.data.resize(old + k);
    const std::size_t got = in.read(a.data.data() + old, k);
    require<io_error>(got == k, origin, ": truncated IDX file (shape ", detail::shape_text(a.shape), " of ",
                      dtype_name(a.type), " needs ", need, " data bytes, the file has ", old + got, ")");
  }
  require<io_error>(in.at_end(), origin, ": IDX file has bytes after the data (shape ", detail::shape_text(a.shape),
                    " of ", dtype_name(a.type), " needs ", need, ")");
  if constexpr (std::endian::native != std::endian::big) detail::byteswap_elements(a.data, itemsize(a.type));
  return a;
}

/// Reads an IDX file (raw or .gz) and converts its elements to T.
template <class T>
xt::xarray<T> load_idx(const std::filesystem::path& path) {
  return load_idx_array(path).as<T>();
}

}  // namespace rnnabs::io
