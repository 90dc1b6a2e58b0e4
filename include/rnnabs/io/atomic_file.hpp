#pragma once
// Atomic file replacement: a reader sees either the old file or the complete new one, never a
// half-written file (a crash, a full disk or a throwing writer leave the old target untouched).
// Write to a unique temporary in the target's directory (rename is atomic only within one file
// system), fsync it, rename it over the target, then fsync the directory. POSIX only.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>

#include "rnnabs/core/error.hpp"

namespace rnnabs::io {

namespace detail {

inline std::string errno_text(int e) { return std::error_code(e, std::generic_category()).message(); }

/// Creates (O_EXCL) an empty, unique temporary next to `target` and returns its path.
inline std::filesystem::path make_temp_beside(const std::filesystem::path& target, std::string_view who) {
  static std::atomic<unsigned> counter{0};
  const auto dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    const auto stamp = static_cast<unsigned long long>(std::chrono::steady_clock::now().time_since_epoch().count());
    auto tmp = dir / rnnabs::detail::concat(".", target.filename().string().substr(0, 100), ".tmp-", ::getpid(), "-",
                                            counter++, "-", stamp % 1000000);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      ::close(fd);
      return tmp;
    }
    const int e = errno;
    require<io_error>(e == EEXIST, who, ": ", target, ": cannot create a temporary file in ", dir, ": ", errno_text(e));
  }
  throw io_error(rnnabs::detail::concat(who, ": ", target, ": cannot find a free temporary file name in ", dir));
}

/// fsyncs a file or directory; directories are best effort (some file systems refuse).
inline bool fsync_path(const std::filesystem::path& p, bool directory) {
  const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace detail

/// Replaces `target` atomically with whatever `fill(tmp)` writes to the file path `tmp` (a fresh
/// empty file beside the target). Used where a writer wants a path, not a stream (minizip).
/// rnnabs errors from `fill` pass through unchanged; any other exception becomes an io_error.
/// On any failure the temporary is removed and the old target is left as it was.
inline void atomic_replace(const std::filesystem::path& target,
                           const std::function<void(const std::filesystem::path& tmp)>& fill) {
  constexpr std::string_view who = "atomic_write";
  require<invalid_argument>(!target.empty() && target.has_filename(), who, ": empty target path or no file name");
  const auto tmp = detail::make_temp_beside(target, who);
  struct remove_guard {
    const std::filesystem::path* p;
    ~remove_guard() {
      if (p) {
        std::error_code ec;
        std::filesystem::remove(*p, ec);
      }
    }
  } guard{&tmp};
  try {
    fill(tmp);
  } catch (const rnnabs::error&) {
    throw;
  } catch (const std::exception& e) {
    throw io_error(rnnabs::detail::concat(who, ": ", target, ": the writer failed: ", e.what()));
  } catch (...) {
    throw io_error(rnnabs::detail::concat(who, ": ", target, ": the writer failed with an unknown exception"));
  }
  require<io_error>(detail::fsync_path(tmp, false), who, ": ", target, ": cannot fsync the temporary file ", tmp, ": ",
                    detail::errno_text(errno));
  // Keep the permissions of the file being replaced.
  std::error_code ec;
  const auto st = std::filesystem::status(target, ec);
  if (!ec && std::filesystem::is_regular_file(st))
    std::filesystem::permissions(tmp, st.permissions(), std::filesystem::perm_options::replace, ec);
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int e = errno;
    throw io_error(rnnabs::detail::concat(who, ": ", target,
                                          ": cannot rename the temporary file over it: ", detail::errno_text(e)));
  }
  guard.p = nullptr;
  const auto dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  (void)detail::fsync_path(dir, true);  // makes the rename itself durable; best effort
}

/// Writes `target` atomically from a stream writer; a stream failure (e.g. disk full) is an io_error.
inline void atomic_write(const std::filesystem::path& target, const std::function<void(std::ostream&)>& writer) {
  atomic_replace(target, [&](const std::filesystem::path& tmp) {
    std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
    require<io_error>(os.is_open(), "atomic_write: ", target, ": cannot open the temporary file ", tmp);
    writer(os);
    os.flush();
    require<io_error>(!os.fail(), "atomic_write: ", target, ": writing failed (disk full?)");
    os.close();
    require<io_error>(!os.fail(), "atomic_write: ", target, ": closing the temporary file failed");
  });
}

/// Writes the bytes `data` to `target` atomically.
inline void atomic_write_bytes(const std::filesystem::path& target, std::string_view data) {
  atomic_write(target, [&](std::ostream& os) { os.write(data.data(), static_cast<std::streamsize>(data.size())); });
}

}  // namespace rnnabs::io
