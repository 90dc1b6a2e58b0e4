#pragma once
// RAII over minizip's unzip/zip handles, with every return code turned into an io_error.
#if !defined(RNNABS_HAVE_ZIP)
#error "rnnabs/io/detail/minizip.hpp needs zlib + minizip: link the CMake target rnnabs::zip"
#endif
#include <unzip.h>
#include <zip.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "rnnabs/core/error.hpp"
#include "rnnabs/io/limits.hpp"

namespace rnnabs::io::detail {

inline std::uint64_t le_field(std::string_view b, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{static_cast<unsigned char>(b[at + i])} << (8 * i);
  return v;
}

/// Validates the end of a zip file (end-of-central-directory record, and the ZIP64 locator and
/// record when present) and returns the number of members. minizip alone accepts a file whose
/// end record is cut short (reading past the end as zeros), so a truncated archive could pass as
/// an empty one; here the record must end exactly at the end of the file (after its comment) and
/// the central directory must lie before it.
inline std::uint64_t zip_member_count(const std::filesystem::path& path, const std::string& origin) {
  std::ifstream in(path, std::ios::binary);
  require<io_error>(in.is_open(), origin, ": cannot open for reading");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  const std::uint64_t tail_len = std::min<std::uint64_t>(size, 22 + 0xFFFF);
  std::string tail(static_cast<std::size_t>(tail_len), '\0');
  in.seekg(static_cast<std::streamoff>(size - tail_len));
  in.read(tail.data(), static_cast<std::streamsize>(tail_len));
  require<io_error>(static_cast<std::uint64_t>(in.gcount()) == tail_len, origin, ": read error");
  auto truncated = [&]() {
    return io_error(rnnabs::detail::concat(
        origin, ": not a zip archive, or truncated (no complete end-of-central-directory record)"));
  };
  if (tail_len < 22) throw truncated();
  std::size_t pos = tail.size() - 22;  // the record is 22 bytes + a comment of up to 65535
  for (;; --pos) {
    if (tail.compare(pos, 4, "PK\x05\x06") == 0 && pos + 22 + le_field(tail, pos + 20, 2) == tail.size()) break;
    if (pos == 0) throw truncated();
  }
  const std::uint64_t eocd_at = size - tail_len + pos;
  std::uint64_t disk = le_field(tail, pos + 4, 2), cd_disk = le_field(tail, pos + 6, 2);
  std::uint64_t here = le_field(tail, pos + 8, 2), total = le_field(tail, pos + 10, 2);
  std::uint64_t cd_size = le_field(tail, pos + 12, 4), cd_off = le_field(tail, pos + 16, 4);
  std::uint64_t cd_end_limit = eocd_at;
  if (here == 0xFFFF || total == 0xFFFF || cd_size == 0xFFFFFFFF || cd_off == 0xFFFFFFFF) {
    // ZIP64: a 20-byte locator right before the record points at the 56-byte ZIP64 record.
    require<io_error>(eocd_at >= 20, origin, ": corrupt zip archive (no ZIP64 locator)");
    std::string loc(20, '\0');
    in.seekg(static_cast<std::streamoff>(eocd_at - 20));
    in.read(loc.data(), 20);
    require<io_error>(in.gcount() == 20 && loc.compare(0, 4, "PK\x06\x07") == 0, origin,
                      ": corrupt zip archive (no ZIP64 locator)");
    const std::uint64_t rec_at = le_field(loc, 8, 8);
    require<io_error>(rec_at <= eocd_at - 20 && eocd_at - 20 - rec_at >= 56, origin,
                      ": corrupt zip archive (bad ZIP64 record offset)");
    std::string rec(56, '\0');
    in.seekg(static_cast<std::streamoff>(rec_at));
    in.read(rec.data(), 56);
    require<io_error>(in.gcount() == 56 && rec.compare(0, 4, "PK\x06\x06") == 0, origin,
                      ": corrupt zip archive (bad ZIP64 end record)");
    disk = le_field(rec, 16, 4);
    cd_disk = le_field(rec, 20, 4);
    here = le_field(rec, 24, 8);
    total = le_field(rec, 32, 8);
    cd_size = le_field(rec, 40, 8);
    cd_off = le_field(rec, 48, 8);
    cd_end_limit = rec_at;
  }
  require<io_error>(disk == 0 && cd_disk == 0 && here == total, origin, ": multi-disk zip archives are not supported");
  require<io_error>(cd_off <= cd_end_limit && cd_size <= cd_end_limit - cd_off, origin,
                    ": corrupt zip archive (the central directory lies outside the file)");
  return total;
}

class unzip_handle {
 public:
  unzip_handle(const std::filesystem::path& path, std::string origin) : origin_(std::move(origin)) {
    expected_ = zip_member_count(path, origin_);
    if (expected_ == 0) return;  // minizip refuses an empty archive; nothing to read anyway
    z_ = unzOpen64(path.c_str());
    require<io_error>(z_ != nullptr, origin_,
                      ": not a zip archive, or truncated (no valid end-of-central-directory record)");
  }
  unzip_handle(const unzip_handle&) = delete;
  unzip_handle& operator=(const unzip_handle&) = delete;
  ~unzip_handle() {
    if (z_) unzClose(z_);
  }

  /// Calls f(name, bytes) for each member, in archive order, after checking its CRC and size.
  template <class F>
  void for_each_member(F&& f) {
    if (expected_ == 0) return;
    unz_global_info64 gi{};
    check(unzGetGlobalInfo64(z_, &gi), "reading the central directory");
    require<io_error>(gi.number_entry == expected_, origin_, ": corrupt zip archive (", gi.number_entry,
                      " members in the directory, the end record says ", expected_, ")");
    int rc = unzGoToFirstFile(z_);
    while (rc == UNZ_OK) {
      unz_file_info64 info{};
      char name[1024];
      check(unzGetCurrentFileInfo64(z_, &info, name, sizeof name, nullptr, 0, nullptr, 0), "reading a member's entry");
      require<io_error>(info.size_filename < sizeof name, origin_, ": member name too long");
      const std::string member(name, info.size_filename);
      require<io_error>((info.flag & 1) == 0, origin_, ": member '", member, "' is encrypted");
      require<io_error>(info.compression_method == 0 || info.compression_method == Z_DEFLATED, origin_, ": member '",
                        member, "' uses compression method ", info.compression_method,
                        " (supported: 0 stored, 8 deflate)");
      // The declared size bounds what is read below (a deflate bomb stops there): check it first.
      check_alloc(info.uncompressed_size, 1, origin_, "member '" + member + "'");
      check(unzOpenCurrentFile(z_), "opening member '" + member + "'");
      std::string bytes;
      std::string buf(1 << 16, '\0');
      int n = 0;
      // Grow with what arrives, never by the (untrusted) declared size.
      while ((n = unzReadCurrentFile(z_, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
        bytes.append(buf.data(), static_cast<std::size_t>(n));
        if (bytes.size() > info.uncompressed_size) break;
      }
      const int close_rc = unzCloseCurrentFile(z_);
      require<io_error>(n >= 0, origin_, ": member '", member, "' is corrupt or truncated (minizip/zlib error ", n,
                        ")");
      require<io_error>(bytes.size() == info.uncompressed_size, origin_, ": member '", member, "' has ", bytes.size(),
                        " bytes, its directory entry says ", info.uncompressed_size);
      require<io_error>(close_rc != UNZ_CRCERROR, origin_, ": member '", member, "' fails its CRC check (corrupt)");
      check(close_rc, "closing member '" + member + "'");
      f(member, std::move(bytes));
      rc = unzGoToNextFile(z_);
    }
    require<io_error>(rc == UNZ_END_OF_LIST_OF_FILE, origin_, ": corrupt central directory (minizip error ", rc, ")");
  }

 private:
  void check(int rc, std::string_view what) const {
    require<io_error>(rc == UNZ_OK, origin_, ": corrupt zip archive (", what, ": minizip error ", rc, ")");
  }
  unzFile z_ = nullptr;
  std::uint64_t expected_ = 0;
  std::string origin_;
};

class zip_writer {
 public:
  zip_writer(const std::filesystem::path& path, std::string origin) : origin_(std::move(origin)) {
    z_ = zipOpen64(path.c_str(), APPEND_STATUS_CREATE);
    require<io_error>(z_ != nullptr, origin_, ": cannot create the zip file ", path);
  }
  zip_writer(const zip_writer&) = delete;
  zip_writer& operator=(const zip_writer&) = delete;
  ~zip_writer() {
    if (z_) zipClose(z_, nullptr);
  }

  void add(const std::string& name, std::string_view bytes, bool compress) {
    zip_fileinfo zi{};
    zi.tmz_date.tm_year = 1980;  // fixed time stamp: reproducible archives
    zi.tmz_date.tm_mday = 1;
    const int zip64 = bytes.size() >= 0xFFFFFFFFu ? 1 : 0;
    check(zipOpenNewFileInZip64(z_, name.c_str(), &zi, nullptr, 0, nullptr, 0, nullptr, compress ? Z_DEFLATED : 0,
                                compress ? Z_DEFAULT_COMPRESSION : 0, zip64),
          "adding member '" + name + "'");
    for (std::size_t off = 0; off < bytes.size();) {
      const std::size_t k = std::min<std::size_t>(bytes.size() - off, 1u << 30);
      check(zipWriteInFileInZip(z_, bytes.data() + off, static_cast<unsigned>(k)), "writing member '" + name + "'");
      off += k;
    }
    check(zipCloseFileInZip(z_), "finishing member '" + name + "'");
  }

  void close() {
    const int rc = zipClose(z_, nullptr);
    z_ = nullptr;
    check(rc, "finishing the archive");
  }

 private:
  void check(int rc, std::string_view what) const {
    require<io_error>(rc == ZIP_OK, origin_, ": ", what, " failed (minizip error ", rc, "; disk full?)");
  }
  zipFile z_ = nullptr;
  std::string origin_;
};

}  // namespace rnnabs::io::detail
