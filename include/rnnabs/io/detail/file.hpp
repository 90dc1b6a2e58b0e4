#pragma once
// Whole-file reads with io_error messages that name the file and the reason.
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include "rnnabs/core/error.hpp"

namespace rnnabs::io::detail {

/// Throws io_error unless `p` is an existing regular file.
inline void require_file(const std::filesystem::path& p, std::string_view who) {
  std::error_code ec;
  const auto st = std::filesystem::status(p, ec);
  require<io_error>(std::filesystem::exists(st), who, ": ", p, ": no such file");
  require<io_error>(std::filesystem::is_regular_file(st), who, ": ", p, ": not a regular file");
}

/// The whole content of a file.
inline std::string read_file_bytes(const std::filesystem::path& p, std::string_view who) {
  require_file(p, who);
  std::ifstream in(p, std::ios::binary);
  require<io_error>(in.is_open(), who, ": ", p, ": cannot open for reading");
  std::error_code ec;
  const auto n = std::filesystem::file_size(p, ec);
  require<io_error>(!ec, who, ": ", p, ": cannot get the file size: ", ec.message());
  std::string bytes(static_cast<std::size_t>(n), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(n));
  require<io_error>(static_cast<std::uintmax_t>(in.gcount()) == n, who, ": ", p, ": read error after ", in.gcount(),
                    " of ", n, " bytes");
  return bytes;
}

}  // namespace rnnabs::io::detail
