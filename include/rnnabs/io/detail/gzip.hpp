#pragma once
// A streaming byte reader over a file that is either raw or gzip-compressed (detected by the
// 1f 8b magic). gzip data is inflated with zlib chunk by chunk, so memory follows what the
// caller asks for, and truncation, corrupt data and CRC/length mismatches are io_errors.
#if !defined(RNNABS_HAVE_ZIP)
#error "rnnabs/io/detail/gzip.hpp needs zlib: link the CMake target rnnabs::zip (it defines RNNABS_HAVE_ZIP)"
#endif
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "rnnabs/core/error.hpp"
#include "rnnabs/io/detail/file.hpp"

namespace rnnabs::io::detail {

class byte_reader {
 public:
  byte_reader(const std::filesystem::path& path, std::string_view who)
      : origin_(rnnabs::detail::concat(who, ": ", path)) {
    require_file(path, who);
    in_.open(path, std::ios::binary);
    require<io_error>(in_.is_open(), origin_, ": cannot open for reading");
    fill();
    gzip_ = avail_ >= 2 && static_cast<unsigned char>(buf_[0]) == 0x1f && static_cast<unsigned char>(buf_[1]) == 0x8b;
    if (gzip_) {
      zs_.next_in = reinterpret_cast<Bytef*>(buf_.data());
      zs_.avail_in = static_cast<uInt>(avail_);
      require<io_error>(inflateInit2(&zs_, 15 + 16) == Z_OK, origin_, ": zlib initialisation failed");
      zs_live_ = true;
    }
  }
  byte_reader(const byte_reader&) = delete;
  byte_reader& operator=(const byte_reader&) = delete;
  ~byte_reader() {
    if (zs_live_) inflateEnd(&zs_);
  }

  bool gzip() const noexcept { return gzip_; }
  const std::string& origin() const noexcept { return origin_; }

  /// Reads up to n bytes; fewer only at the end of the (decompressed) data.
  std::size_t read(char* dst, std::size_t n) { return gzip_ ? inflate_some(dst, n) : raw_some(dst, n); }

  /// Reads exactly n bytes or throws io_error naming `what` was truncated.
  void read_exact(char* dst, std::size_t n, std::string_view what) {
    const std::size_t got = read(dst, n);
    require<io_error>(got == n, origin_, ": truncated file (", what, ": got ", got, " of ", n, " bytes)");
  }

  /// True when no data is left; for gzip this also verifies the CRC and length trailers.
  bool at_end() {
    char c;
    return read(&c, 1) == 0;
  }

 private:
  void fill() {
    in_.read(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    avail_ = static_cast<std::size_t>(in_.gcount());
    pos_ = 0;
    require<io_error>(!in_.bad(), origin_, ": read error");
  }

  std::size_t raw_some(char* dst, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      if (pos_ == avail_) {
        fill();
        if (avail_ == 0) break;
      }
      const std::size_t k = std::min(n - done, avail_ - pos_);
      std::memcpy(dst + done, buf_.data() + pos_, k);
      pos_ += k;
      done += k;
    }
    return done;
  }

  std::size_t inflate_some(char* dst, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      if (stream_end_) {
        // After a member: another concatenated gzip member, or the end of the file.
        if (zs_.avail_in == 0) refill();
        if (zs_.avail_in == 0) break;
        require<io_error>(zs_.avail_in < 2 || (zs_.next_in[0] == 0x1f && zs_.next_in[1] == 0x8b), origin_,
                          ": unexpected bytes after the gzip data");
        require<io_error>(inflateReset(&zs_) == Z_OK, origin_, ": zlib reset failed");
        stream_end_ = false;
      }
      if (zs_.avail_in == 0) {
        refill();
        require<io_error>(zs_.avail_in > 0, origin_, ": truncated gzip file (the compressed stream ends early)");
      }
      const std::size_t chunk = std::min<std::size_t>(n - done, 1u << 30);
      zs_.next_out = reinterpret_cast<Bytef*>(dst + done);
      zs_.avail_out = static_cast<uInt>(chunk);
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      done += chunk - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        stream_end_ = true;
      } else if (rc == Z_BUF_ERROR) {
        // No progress possible: needs more input (refilled above next round) or output space.
        require<io_error>(zs_.avail_in == 0, origin_, ": corrupt gzip data (no progress)");
      } else {
        require<io_error>(rc == Z_OK, origin_, ": corrupt gzip data (", zs_.msg ? zs_.msg : zError(rc), ")");
      }
    }
    return done;
  }

  void refill() {
    fill();
    zs_.next_in = reinterpret_cast<Bytef*>(buf_.data());
    zs_.avail_in = static_cast<uInt>(avail_);
  }

  std::string origin_;
  std::ifstream in_;
  std::array<char, 1 << 16> buf_{};
  std::size_t avail_ = 0, pos_ = 0;
  bool gzip_ = false, zs_live_ = false, stream_end_ = false;
  z_stream zs_{};
};

}  // namespace rnnabs::io::detail
