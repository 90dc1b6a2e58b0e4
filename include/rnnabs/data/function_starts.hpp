#pragma once
// A function-start corpus (the stand-in for LEMNA's x86 ELF data set, see docs/explain.md): the bytes of
// every executable section of ELF relocatable objects, cut into chunks of `chunk_length` bytes, with a
// per-byte label 1 where an STT_FUNC symbol starts. Tokens are byte + 1 (1..256), as in LEMNA, so that 0
// stays free as the "nullified" token.
//
// Split: by object, never by chunk (chunks of one object are correlated). An object goes to the test side
// when fnv1a64(object name) mod 1000 < 1000·test_fraction — the same objects for any corpus built from
// the same archive, whatever the order or the other options. Within each side chunks keep archive order.
//
//   auto c = rnnabs::data::function_starts_from_archive("/usr/lib/x86_64-linux-gnu/libc.a", {});
//   auto s = rnnabs::data::split_by_object(c, 0.2);
//   auto tr = rnnabs::data::to_tokens(s.train);   // sequence_batch<float>{.tokens = tr.tokens, .step_labels = tr.labels}
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/io/elf.hpp"

namespace rnnabs::data {

/// One chunk of machine code.
struct byte_chunk {
  std::vector<std::uint8_t> bytes;
  std::vector<std::uint8_t> starts;  // 1 where a function starts
  std::string object;                // archive member / file it came from
  std::string section;
  std::uint64_t offset = 0;  // offset of the chunk in its section
};

struct function_start_options {
  index_t chunk_length = 200;     // LEMNA: 200
  index_t min_chunk_length = 16;  // shorter tails of sections are dropped
  bool require_start = false;     // keep only chunks holding at least one function start
  index_t max_chunks = -1;        // stop after this many chunks (< 0: all)
  std::uint16_t machine = 62;     // EM_X86_64; objects of other machines are skipped (0: any)
};

struct function_start_corpus {
  std::vector<byte_chunk> chunks;
  index_t objects = 0;    // objects that contributed
  index_t functions = 0;  // function starts in the kept chunks
};

/// Adds the chunks of one parsed object.
inline void add_object(function_start_corpus& c, const io::elf_object& o, const function_start_options& opt) {
  require(opt.chunk_length >= 1 && opt.min_chunk_length >= 1, "add_object: chunk lengths must be >= 1");
  if (opt.machine != 0 && o.machine != opt.machine) return;
  bool used = false;
  for (std::size_t si = 0; si < o.sections.size(); ++si) {
    const auto& s = o.sections[si];
    if (!s.executable() || s.bytes.empty()) continue;
    std::vector<std::uint8_t> lab(s.bytes.size(), 0);
    for (const auto& f : o.symbols)
      if (f.is_function() && f.section == si && f.value < s.bytes.size()) lab[f.value] = 1;
    const auto L = static_cast<std::size_t>(opt.chunk_length);
    for (std::size_t b = 0; b < s.bytes.size(); b += L) {
      if (opt.max_chunks >= 0 && static_cast<index_t>(c.chunks.size()) >= opt.max_chunks) return;
      const std::size_t e = std::min(s.bytes.size(), b + L);
      if (e - b < static_cast<std::size_t>(opt.min_chunk_length)) continue;
      byte_chunk ch{
          {s.bytes.begin() + static_cast<std::ptrdiff_t>(b), s.bytes.begin() + static_cast<std::ptrdiff_t>(e)},
          {lab.begin() + static_cast<std::ptrdiff_t>(b), lab.begin() + static_cast<std::ptrdiff_t>(e)},
          o.name,
          s.name,
          b};
      const auto nf = std::count(ch.starts.begin(), ch.starts.end(), std::uint8_t{1});
      if (opt.require_start && nf == 0) continue;
      c.functions += nf;
      c.chunks.push_back(std::move(ch));
      used = true;
    }
  }
  c.objects += used ? 1 : 0;
}

/// Adds the objects of a static archive (members that are not ELF are skipped; corrupt ELF members raise
/// io_error), up to opt.max_chunks chunks in `c`.
inline void add_archive(function_start_corpus& c, const std::filesystem::path& archive,
                        const function_start_options& opt) {
  for (const auto& m : io::read_ar(archive)) {
    if (!io::is_elf(m.data)) continue;
    add_object(c, io::parse_elf(m.data, archive.filename().string() + "(" + m.name + ")"), opt);
    if (opt.max_chunks >= 0 && static_cast<index_t>(c.chunks.size()) >= opt.max_chunks) break;
  }
}

/// Corpus from a static archive.
inline function_start_corpus function_starts_from_archive(const std::filesystem::path& archive,
                                                          const function_start_options& opt = {}) {
  function_start_corpus c;
  add_archive(c, archive, opt);
  require<io_error>(!c.chunks.empty(), "function_starts_from_archive: no executable code for machine ", opt.machine,
                    " in '", archive.string(), "'");
  return c;
}

/// A static archive and the Debian package that installs it (named when the archive is missing).
struct archive_source {
  std::filesystem::path path;
  std::string package;
};

/// The default function-start archives: C libraries of Debian 12's release builds (x86-64, gcc 12,
/// dpkg-buildflags' -O2 unless a package's build overrides it; hand-written assembly where the library
/// has it).
inline std::vector<archive_source> default_function_start_archives() {
  const std::filesystem::path d = "/usr/lib/x86_64-linux-gnu";
  return {{d / "libc.a", "libc6-dev"},
          {d / "libsqlite3.a", "libsqlite3-dev"},
          {d / "libxml2.a", "libxml2-dev"},
          {d / "libgcrypt.a", "libgcrypt20-dev"},
          {d / "libcrypto.a", "libssl-dev"}};
}

/// The corpus of several archives, and what each gave.
struct archive_corpus {
  function_start_corpus corpus;
  struct part {
    archive_source source;
    index_t objects = 0, chunks = 0, functions = 0;
  };
  std::vector<part> read;               ///< archives read, in order
  std::vector<archive_source> missing;  ///< archives not found (skipped)
};

/// Reads every archive that exists, `max_chunks` (if >= 0) per archive; missing archives are skipped and
/// listed (a corrupt one is an io_error). io_error when none holds code.
inline archive_corpus function_starts_from_archives(const std::vector<archive_source>& archives,
                                                    const function_start_options& opt = {}) {
  archive_corpus r;
  for (const auto& a : archives) {
    if (!std::filesystem::exists(a.path)) {
      r.missing.push_back(a);
      continue;
    }
    function_start_corpus one;
    add_archive(one, a.path, opt);
    r.read.push_back({a, one.objects, static_cast<index_t>(one.chunks.size()), one.functions});
    r.corpus.objects += one.objects;
    r.corpus.functions += one.functions;
    r.corpus.chunks.insert(r.corpus.chunks.end(), std::make_move_iterator(one.chunks.begin()),
                           std::make_move_iterator(one.chunks.end()));
  }
  if (r.corpus.chunks.empty()) {
    std::string names;
    for (const auto& a : archives)
      names += rnnabs::detail::concat(names.empty() ? "" : ", ", a.path.string(), " (", a.package, ")");
    throw io_error(rnnabs::detail::concat("function_starts_from_archives: no x86-64 code in any of: ", names,
                                          " — install a package named there"));
  }
  return r;
}

/// Corpus from object files.
inline function_start_corpus function_starts_from_objects(const std::vector<std::filesystem::path>& files,
                                                          const function_start_options& opt = {}) {
  function_start_corpus c;
  for (const auto& f : files) add_object(c, io::read_elf(f), opt);
  return c;
}

/// 64-bit FNV-1a of a string (the split key).
constexpr std::uint64_t fnv1a64(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char ch : s) {
    h ^= static_cast<std::uint8_t>(ch);
    h *= 0x100000001b3ull;
  }
  return h;
}

struct corpus_split {
  std::vector<byte_chunk> train, test;
};

/// Split by object name (see the header comment); test_fraction in [0, 1].
inline corpus_split split_by_object(const function_start_corpus& c, double test_fraction) {
  require(test_fraction >= 0 && test_fraction <= 1, "split_by_object: test_fraction must be in [0, 1], got ",
          test_fraction);
  const auto cut = static_cast<std::uint64_t>(test_fraction * 1000.0 + 0.5);
  corpus_split s;
  for (const auto& ch : c.chunks) (fnv1a64(ch.object) % 1000 < cut ? s.test : s.train).push_back(ch);
  return s;
}

/// Token sequences (byte + 1) and per-step labels, e.g. for rnn_classifier with an every-step head.
struct token_sequences {
  std::vector<index_vector> tokens;
  std::vector<index_vector> labels;
};
inline token_sequences to_tokens(const std::vector<byte_chunk>& chunks) {
  token_sequences b;
  b.tokens.reserve(chunks.size());
  b.labels.reserve(chunks.size());
  for (const auto& ch : chunks) {
    const auto L = static_cast<index_t>(ch.bytes.size());
    index_vector t(L), l(L);
    for (index_t i = 0; i < L; ++i) {
      t(i) = static_cast<index_t>(ch.bytes[static_cast<std::size_t>(i)]) + 1;
      l(i) = ch.starts[static_cast<std::size_t>(i)];
    }
    b.tokens.push_back(std::move(t));
    b.labels.push_back(std::move(l));
  }
  return b;
}

}  // namespace rnnabs::data
