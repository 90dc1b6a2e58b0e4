#pragma once
// NumPy .npz files: a zip archive of .npy members, as np.savez (STORED) and np.savez_compressed
// (DEFLATED) write them, ZIP64 records included. Reading checks every member's CRC and size;
// writing goes to a temporary beside the target, renamed over it when complete.
//
//   auto arrays = rnnabs::io::npz_read("fit.npz");              // name -> npy_array
//   auto w = rnnabs::io::load_npz_array<float>("fit.npz", "w"); // one member, converted
//   rnnabs::io::save_npz("out.npz", {{"w", rnnabs::io::to_npy_array(w)}}, /*compress=*/true);
#if !defined(RNNABS_HAVE_ZIP)
#error "rnnabs/io/npz.hpp needs zlib + minizip: link the CMake target rnnabs::zip (it defines RNNABS_HAVE_ZIP)"
#endif
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include <xtensor/xarray.hpp>

#include "rnnabs/core/error.hpp"
#include "rnnabs/io/atomic_file.hpp"
#include "rnnabs/io/detail/file.hpp"
#include "rnnabs/io/detail/minizip.hpp"
#include "rnnabs/io/npy.hpp"

namespace rnnabs::io {

/// Every member of an .npz file, by name without the ".npy" suffix.
inline std::map<std::string, npy_array> npz_read(const std::filesystem::path& path) {
  const std::string origin = rnnabs::detail::concat("npz_read: ", path);
  detail::require_file(path, "npz_read");
  detail::unzip_handle z(path, origin);
  std::map<std::string, npy_array> out;
  z.for_each_member([&](const std::string& name, std::string&& bytes) {
    std::string key = name;
    if (key.size() >= 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    require<io_error>(!out.contains(key), origin, ": duplicate member '", name, "'");
    out.emplace(key, parse_npy(bytes, rnnabs::detail::concat(origin, ": member '", name, "'")));
  });
  return out;
}

/// One member of an .npz file, converted to T; io_error when `name` is not in the archive.
template <class T>
xt::xarray<T> load_npz_array(const std::filesystem::path& path, const std::string& name) {
  auto all = npz_read(path);
  const auto it = all.find(name);
  if (it == all.end()) {
    std::string names;
    for (const auto& [k, v] : all) names += (names.empty() ? "" : ", ") + k;
    throw io_error(rnnabs::detail::concat("load_npz_array: ", path, ": no array '", name, "' (it has: ", names, ")"));
  }
  return it->second.as<T>();
}

/// Writes `arrays` as an .npz file (members "<name>.npy"), atomically; `compress` selects DEFLATE
/// like np.savez_compressed. The output is byte-for-byte reproducible (fixed member timestamps).
inline void save_npz(const std::filesystem::path& path, const std::map<std::string, npy_array>& arrays,
                     bool compress = false) {
  for (const auto& [name, a] : arrays)
    require<invalid_argument>(!name.empty() && name.find('\0') == std::string::npos, "save_npz: ", path,
                              ": array names must be non-empty and without NUL bytes");
  atomic_replace(path, [&](const std::filesystem::path& tmp) {
    detail::zip_writer zw(tmp, rnnabs::detail::concat("save_npz: ", path));
    for (const auto& [name, a] : arrays) zw.add(name + ".npy", serialize_npy(a), compress);
    zw.close();
  });
}

}  // namespace rnnabs::io
