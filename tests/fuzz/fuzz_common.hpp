#pragma once
// Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.cpp; built and run by scripts/fuzz.sh).
//
// Contract of every harness: a loader may reject its input only with an rnnabs error
// (rnnabs::io_error, rnnabs::invalid_argument, ... all derived from rnnabs::error). Anything else
// (a crash, a sanitizer report, std::bad_alloc, std::length_error, std::out_of_range from a stray
// std::stoull, any other exception type) escapes the harness and libFuzzer reports it as a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/io/limits.hpp"

namespace fuzz {

/// The allocation limit the harnesses run under (RNNABS_FUZZ_MAX_ALLOC overrides): a loader that
/// asks for more on a header's word must refuse with io_error; libFuzzer's -malloc_limit_mb sits above it.
inline void init_limits() {
  std::uint64_t lim = std::uint64_t{64} << 20;
  if (const char* e = std::getenv("RNNABS_FUZZ_MAX_ALLOC")) lim = std::strtoull(e, nullptr, 10);
  rnnabs::io::set_max_alloc_bytes(lim);
}

/// A per-process scratch directory ($RNNABS_FUZZ_TMP, else /dev/shm when present, else $TMPDIR or /tmp).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base;
    if (const char* e = std::getenv("RNNABS_FUZZ_TMP")) base = e;
    else if (std::filesystem::is_directory("/dev/shm")) base = "/dev/shm";
    else if (const char* t = std::getenv("TMPDIR")) base = t;
    else base = "/tmp";
    // A run that died (a finding aborts; fork mode kills its jobs) leaves its directory behind:
    // remove those of processes that are gone.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
      const std::string n = e.path().filename().string();
      if (n.rfind("rnnabs_fuzz_", 0) == 0 && n.size() > 12 &&
          n.find_first_not_of("0123456789", 12) == std::string::npos &&
          !std::filesystem::exists("/proc/" + n.substr(12)))
        std::filesystem::remove_all(e.path(), ec);
    }
    auto d = base / ("rnnabs_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_dir(), ignored);
    });
    return d;
  }();
  return dir;
}

/// Writes `bytes` to scratch_dir()/name and returns the path.
inline std::filesystem::path write_temp(std::string_view name, std::string_view bytes) {
  auto p = scratch_dir() / std::string(name);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) std::abort();  // the harness itself failed (disk full): not a finding of the library
  return p;
}

/// Runs f; swallows the documented rnnabs errors, lets everything else through.
template <class F>
void expect_rnnabs_errors_only(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const rnnabs::error& e) {
    static const bool verbose = std::getenv("RNNABS_FUZZ_VERBOSE") != nullptr;  // to check the seeds
    if (verbose) std::fprintf(stderr, "rejected: %s\n", e.what());
  }
}

/// A cursor over the fuzz input for the structured harnesses.
class reader {
 public:
  reader(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  bool empty() const noexcept { return p_ >= n_; }
  std::uint8_t byte() { return p_ < n_ ? d_[p_++] : 0; }
  std::size_t u16() {
    const std::size_t lo = byte();
    return lo | (std::size_t{byte()} << 8);
  }
  /// Up to n bytes (fewer at the end of the input).
  std::string_view take(std::size_t n) {
    n = std::min(n, n_ - std::min(p_, n_));
    std::string_view s(reinterpret_cast<const char*>(d_ + p_), n);
    p_ += n;
    return s;
  }

 private:
  const std::uint8_t* d_;
  std::size_t n_, p_ = 0;
};

/// One zip member of a structured input.
struct member {
  bool compress = false;
  std::string name;
  std::string bytes;
};

/// The structured input of the archive harnesses, after a one-byte selector:
///   repeated { flags:u8 (bit 0: deflate), name_len:u8, name, size:u16 LE, bytes }
/// (a truncated last field takes what is left).
inline std::vector<member> decode_members(reader& r) {
  std::vector<member> out;
  while (!r.empty() && out.size() < 64) {
    member m;
    m.compress = (r.byte() & 1) != 0;
    m.name = std::string(r.take(r.byte()));
    m.bytes = std::string(r.take(r.u16()));
    out.push_back(std::move(m));
  }
  return out;
}

/// The inverse of decode_members (used by the seed generator).
inline std::string encode_members(std::uint8_t selector, const std::vector<member>& ms) {
  std::string s(1, static_cast<char>(selector));
  for (const auto& m : ms) {
    if (m.name.size() > 255 || m.bytes.size() > 0xFFFF) std::abort();
    s += static_cast<char>(m.compress ? 1 : 0);
    s += static_cast<char>(m.name.size());
    s += m.name;
    s += static_cast<char>(m.bytes.size() & 0xFF);
    s += static_cast<char>(m.bytes.size() >> 8);
    s += m.bytes;
  }
  return s;
}

}  // namespace fuzz
