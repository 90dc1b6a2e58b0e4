#pragma once
// Versioned save/load of fitted objects (PCA, GMM, ...) as an .npz that NumPy can read:
//   every entry is one member (float64 matrices 2-d, vectors 1-d, scalars 0-d, strings as 1-d
//   uint8 UTF-8 bytes), plus a member "__rnnabs__" (uint8 text) holding
//   "rnnabs archive\nkind=<kind>\nversion=<n>\nlibrary=<x.y.z>\n".
// In Python: z = np.load("pca.npz"); bytes(z["__rnnabs__"]).decode(); z["components"].
//
// A type bumps its `version` when its layout changes; `load` refuses newer versions than the
// reader knows (max_version) and other kinds, so an old build never misreads a new file.
#if !defined(RNNABS_HAVE_ZIP)
#error "rnnabs/io/archive.hpp needs zlib + minizip: link the CMake target rnnabs::zip (it defines RNNABS_HAVE_ZIP)"
#endif
#include <charconv>
#include <cmath>
#include <cstdint>
#include <concepts>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/io/npy.hpp"
#include "rnnabs/io/npz.hpp"
#include "rnnabs/version.hpp"

namespace rnnabs::io {

/// A named set of arrays with a format tag (`kind`, e.g. "pca") and a format version.
class archive {
 public:
  static constexpr std::string_view meta_name = "__rnnabs__";

  archive(std::string kind, int version) : kind_(std::move(kind)), version_(version) {
    require<invalid_argument>(
        !kind_.empty() && kind_.find_first_of("\n\r=") == std::string::npos && kind_.find('\0') == std::string::npos,
        "archive: kind must be non-empty, one line, without '=', got '", kind_, "'");
    require<invalid_argument>(version_ >= 0, "archive: version must be >= 0, got ", version_);
  }

  const std::string& kind() const noexcept { return kind_; }
  int version() const noexcept { return version_; }

  /// A matrix, stored 2-d (pass vectors as n x 1, or use the vector overload for 1-d).
  void put(const std::string& name, const matrix<double>& m) { put_array(name, to_npy_array(m)); }
  /// A vector, stored 1-d.
  void put(const std::string& name, const Eigen::Ref<const vector<double>>& v) {
    put_array(name, to_npy_array(vector<double>(v)));
  }
  /// Any other Eigen expression: compile-time column vectors are stored 1-d, the rest 2-d.
  /// (Without it, `put(name, some_vector)` would be ambiguous between the two overloads above.)
  template <class D>
    requires std::same_as<typename D::Scalar, double>
  void put(const std::string& name, const Eigen::MatrixBase<D>& x) {
    if constexpr (D::ColsAtCompileTime == 1) put_array(name, to_npy_array(vector<double>(x)));
    else put_array(name, to_npy_array(matrix<double>(x)));
  }
  void put_scalar(const std::string& name, double v) {
    npy_array a;
    a.type = dtype::f8;
    a.data.resize(sizeof v);
    std::memcpy(a.data.data(), &v, sizeof v);
    put_array(name, std::move(a));
  }
  void put_string(const std::string& name, const std::string& s) {
    npy_array a;
    a.type = dtype::u1;
    a.shape = {s.size()};
    a.data = s;
    put_array(name, std::move(a));
  }

  bool contains(const std::string& name) const { return entries_.contains(name); }
  /// Names of the entries, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> r;
    for (const auto& [k, v] : entries_) r.push_back(k);
    return r;
  }

  /// A float64 entry as a matrix (a 1-d entry comes back n x 1, a scalar 1 x 1).
  matrix<double> get(const std::string& name) const {
    const auto& a = numeric(name, "a matrix");
    if (a.ndim() == 0) return matrix<double>::Constant(1, 1, a.as<double>()());
    require<io_error>(a.ndim() <= 2, where(), ": entry '", name, "' has ", a.ndim(), " dimensions, not a matrix");
    return to_matrix<double>(a);
  }
  /// A float64 entry stored 1-d (or as a single column).
  vector<double> get_vector(const std::string& name) const {
    const auto& a = numeric(name, "a vector");
    require<io_error>(a.ndim() == 1 || (a.ndim() == 2 && a.shape[1] == 1), where(), ": entry '", name, "' has shape ",
                      detail::shape_text(a.shape), ", not a vector");
    return to_matrix<double>(a).col(0);
  }
  double get_scalar(const std::string& name) const {
    const auto& a = numeric(name, "a scalar");
    require<io_error>(a.size() == 1, where(), ": entry '", name, "' has shape ", detail::shape_text(a.shape),
                      ", not a scalar");
    return a.as<double>().data()[0];
  }
  /// A scalar entry holding a whole number in [lo, hi] (a count, an iteration number, a code);
  /// io_error for NaN, a fraction or a value outside the range (a plain cast would be undefined).
  index_t get_integer(const std::string& name, index_t lo, index_t hi) const {
    const double v = get_scalar(name);
    require<io_error>(std::isfinite(v) && v == std::trunc(v) && v >= static_cast<double>(lo) &&
                          v <= static_cast<double>(hi) && v < 9.2e18 && v > -9.2e18,
                      where(), ": entry '", name, "' is ", v, ", expected a whole number in [", lo, ", ", hi, "]");
    return static_cast<index_t>(v);
  }
  /// A string entry holding an unsigned decimal number (e.g. a 64-bit seed).
  std::uint64_t get_uint64_string(const std::string& name) const {
    const std::string s = get_string(name);
    std::uint64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    require<io_error>(!s.empty() && ec == std::errc() && p == s.data() + s.size(), where(), ": entry '", name, "' ('",
                      s.substr(0, 40), "') is not an unsigned 64-bit number");
    return v;
  }
  std::string get_string(const std::string& name) const {
    const auto& a = entry(name);
    require<io_error>(a.type == dtype::u1 && a.ndim() == 1, where(), ": entry '", name, "' is a ", dtype_name(a.type),
                      " array of shape ", detail::shape_text(a.shape), ", not a string");
    return a.data;
  }

  // ---- used by save/load ------------------------------------------------------------------------
  /// Stores a raw array under `name` (replacing an entry of that name).
  void put_array(const std::string& name, npy_array a) {
    require<invalid_argument>(!name.empty() && name != meta_name && name.find('\0') == std::string::npos,
                              "archive::put: bad entry name '", name, "' (empty, NUL or reserved)");
    a.origin = rnnabs::detail::concat(where(), ": entry '", name, "'");
    entries_.insert_or_assign(name, std::move(a));
  }
  const std::map<std::string, npy_array>& arrays() const noexcept { return entries_; }
  /// Where the archive came from (set by load), for messages.
  void set_source(std::string s) { source_ = std::move(s); }

 private:
  std::string where() const {
    return rnnabs::detail::concat("archive '", kind_, "' v", version_, source_.empty() ? "" : " from ", source_);
  }
  const npy_array& entry(const std::string& name) const {
    const auto it = entries_.find(name);
    require<io_error>(it != entries_.end(), where(), ": no entry '", name, "'");
    return it->second;
  }
  const npy_array& numeric(const std::string& name, std::string_view what) const {
    const auto& a = entry(name);
    require<io_error>(a.type == dtype::f8 || a.type == dtype::f4, where(), ": entry '", name, "' is a ",
                      dtype_name(a.type), " array, not ", what);
    return a;
  }

  std::string kind_;
  int version_;
  std::string source_;
  std::map<std::string, npy_array> entries_;
};

/// Writes `a` as an .npz, atomically, with its "__rnnabs__" member.
inline void save(const std::filesystem::path& path, const archive& a) {
  std::map<std::string, npy_array> m = a.arrays();
  npy_array meta;
  meta.type = dtype::u1;
  meta.data = rnnabs::detail::concat("rnnabs archive\nkind=", a.kind(), "\nversion=", a.version(),
                                     "\nlibrary=", version_major, ".", version_minor, ".", version_patch, "\n");
  meta.shape = {meta.data.size()};
  m.emplace(std::string(archive::meta_name), std::move(meta));
  save_npz(path, m, /*compress=*/false);
}

/// Reads an archive written by `save`. io_error when the file is not an rnnabs archive, holds
/// another kind, or was written with a format version above `max_version`.
inline archive load(const std::filesystem::path& path, std::string_view expected_kind, int max_version) {
  const std::string origin = rnnabs::detail::concat("archive load: ", path);
  auto arrays = npz_read(path);
  const auto it = arrays.find(std::string(archive::meta_name));
  require<io_error>(it != arrays.end() && it->second.type == dtype::u1 && it->second.ndim() == 1, origin,
                    ": not an rnnabs archive (no '", archive::meta_name, "' member)");
  // Parse "key=value" lines after the first line.
  const std::string& text = it->second.data;
  std::map<std::string, std::string, std::less<>> kv;
  std::size_t pos = text.find('\n');
  require<io_error>(text.substr(0, pos) == "rnnabs archive", origin, ": not an rnnabs archive (bad '",
                    archive::meta_name, "' member)");
  while (pos != std::string::npos && pos + 1 < text.size()) {
    const std::size_t end = text.find('\n', pos + 1);
    const std::string line = text.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    const std::size_t eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
    pos = end;
  }
  const auto kind = kv.find("kind");
  const auto ver = kv.find("version");
  require<io_error>(kind != kv.end() && ver != kv.end(), origin, ": corrupt '", archive::meta_name,
                    "' member (no kind or version)");
  int version = -1;
  const auto& vs = ver->second;
  const auto [p, ec] = std::from_chars(vs.data(), vs.data() + vs.size(), version);
  require<io_error>(ec == std::errc() && p == vs.data() + vs.size() && version >= 0, origin, ": corrupt '",
                    archive::meta_name, "' member (version '", vs, "')");
  require<io_error>(kind->second == expected_kind, origin, ": holds a '", kind->second, "' archive, expected '",
                    expected_kind, "'");
  const auto lib = kv.find("library");
  require<io_error>(version <= max_version, origin, ": '", kind->second, "' format version ", version,
                    " is newer than this build reads (up to ", max_version, "); it was written by rnnabs ",
                    lib == kv.end() ? std::string("?") : lib->second);
  archive a(kind->second, version);
  a.set_source(rnnabs::detail::concat(path));
  for (auto& [name, arr] : arrays) {
    if (name == archive::meta_name) continue;
    require<io_error>(!name.empty() && name.find('\0') == std::string::npos, origin, ": bad entry name");
    a.put_array(name, std::move(arr));
  }
  return a;
}

}  // namespace rnnabs::io
