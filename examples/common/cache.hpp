#pragma once
// Caches that cannot be stale, shared by the example programs. Every cached file (a trained model, a
// trace set, ...) gets a text sidecar `<file>.params`: the parameters it was made from as ordered
// `name = value` lines, fingerprints of the data it was made from, the rnnabs version, and (entry
// `file`) the fingerprint of the cached file itself, so a file rewritten behind the record's back is noticed.
//
//   examples::cache_record want("LSTM classifier on Fashion-MNIST rows");
//   want.add("hidden", 128).add("epochs", epochs).add("data.train", examples::fingerprint_of(train_set));
//   if (examples::cache_lookup(file, want)) model = load(file);            // every entry matches
//   else examples::cache_store(file, want, [&](const fs::path& p) { train(...); model.save(p); });
//
// cache_lookup says on stderr why a cached file is not used (which parameter differs, old vs new value;
// no record; an unreadable record; the file changed since its record was written) and returns false,
// so the caller rebuilds; with cache_policy::error it throws instead. cache_store removes the old record
// first and writes the new one (atomically) only after the file itself, so a crash never leaves a
// record describing a file that was not written. A derived cache chains: its record nests the stored
// record of what it was made from (`want.add("model", *read_cache_record(model_file))`), so rebuilding
// the model invalidates the traces made from it.
//
// Standard library, Eigen and rnnabs' public API only.
#include <Eigen/Core>

#include <cctype>
#include <charconv>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <rnnabs/core/error.hpp>
#include <rnnabs/core/types.hpp>
#include <rnnabs/io/atomic_file.hpp>
#include <rnnabs/nn/sequence_batch.hpp>
#include <rnnabs/version.hpp>

namespace examples {

/// A 64-bit fingerprint of a byte stream: FNV-1a's multiply over 64-bit words (the tail zero-padded),
/// each step followed by an xor-shift so every input bit reaches every output bit; the byte count is
/// kept beside the hash. Not cryptographic: it tells "the same data" from "other data", not an attacker.
class fingerprint {
 public:
  fingerprint& bytes(const void* data, std::size_t n) {
    if (n == 0) return *this;  // (data may be null then: an empty matrix)
    const auto* p = static_cast<const unsigned char*>(data);
    count_ += n;
    if (fill_ > 0) {  // complete a word begun by the previous call
      const std::size_t k = std::min(n, 8 - fill_);
      std::memcpy(reinterpret_cast<unsigned char*>(&pending_) + fill_, p, k);
      fill_ += k, p += k, n -= k;
      if (fill_ < 8) return *this;
      mix(pending_);
      fill_ = 0, pending_ = 0;
    }
    for (; n >= 8; n -= 8, p += 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      mix(w);
    }
    if (n > 0) std::memcpy(&pending_, p, fill_ = n);
    return *this;
  }
  /// A trivially copyable value by its bytes (a size, a shape, a tag).
  template <class T>
    requires std::is_trivially_copyable_v<T>
  fingerprint& value(const T& v) {
    return bytes(&v, sizeof v);
  }
  fingerprint& text(std::string_view s) { return value(s.size()).bytes(s.data(), s.size()); }
  /// A dense Eigen matrix or vector: its shape, then its coefficients.
  template <class Derived>
  fingerprint& dense(const Eigen::PlainObjectBase<Derived>& m) {
    value(static_cast<std::int64_t>(m.rows())).value(static_cast<std::int64_t>(m.cols()));
    return bytes(m.data(), static_cast<std::size_t>(m.size()) * sizeof(typename Derived::Scalar));
  }

  /// The hash of everything fed so far (the stream can go on afterwards).
  std::uint64_t hash() const {
    std::uint64_t h = h_;
    if (fill_ > 0) h = step(h, pending_);
    return step(h, count_);
  }
  std::uint64_t size() const { return count_; }
  /// "<16 hex digits> over <n> bytes": the value a cache record stores.
  std::string str() const {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash()));
    return std::string(hex) + " over " + std::to_string(count_) + " bytes";
  }

 private:
  static std::uint64_t step(std::uint64_t h, std::uint64_t w) {
    h = (h ^ w) * 0x100000001b3ULL;
    return h ^ (h >> 29);
  }
  void mix(std::uint64_t w) { h_ = step(h_, w); }

  std::uint64_t h_ = 0xcbf29ce484222325ULL, pending_ = 0, count_ = 0;
  std::size_t fill_ = 0;
};

/// The fingerprint of a sequence batch as a model sees it: every sequence's features or tokens
/// (shapes included), the labels and the step labels.
template <class T>
fingerprint fingerprint_of(const rnnabs::sequence_batch<T>& b) {
  fingerprint f;
  f.text("sequence_batch").value(static_cast<std::int64_t>(b.size())).value(sizeof(T));
  f.value(b.features.size());
  for (const auto& x : b.features) f.dense(x);
  f.value(b.tokens.size());
  for (const auto& x : b.tokens) f.dense(x);
  f.dense(b.labels);
  f.value(b.step_labels.size());
  for (const auto& x : b.step_labels) f.dense(x);
  return f;
}

/// The fingerprint of a file's bytes; io_error when it cannot be read.
inline fingerprint file_fingerprint(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  rnnabs::require<rnnabs::io_error>(in.is_open(), "file_fingerprint: cannot open ", path);
  fingerprint f;
  std::vector<char> buf(std::size_t{1} << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    f.bytes(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  rnnabs::require<rnnabs::io_error>(in.eof(), "file_fingerprint: reading ", path, " failed");
  return f;
}

/// What a cached object was made from: ordered (name, value as text) entries. Names are made of
/// letters, digits and `_ . -`; values are one line of text (a line break is stored as `\n`).
class cache_record {
 public:
  using entry = std::pair<std::string, std::string>;

  cache_record() = default;
  /// A record that starts with what the object is and the rnnabs version that made it.
  explicit cache_record(std::string_view what) {
    add("what", what);
    add("rnnabs", std::to_string(rnnabs::version_major) + "." + std::to_string(rnnabs::version_minor) + "." +
                      std::to_string(rnnabs::version_patch));
  }

  /// Adds (or replaces) an entry. Values: text, bool, integers, floating point (shortest text that
  /// reads back the same), a vector of those (comma-separated), a fingerprint, or a whole record
  /// (nested: its entries under `name.`).
  template <class V>
  cache_record& add(std::string_view name, const V& v) {
    if constexpr (std::is_same_v<V, cache_record>) {
      for (const auto& [k, x] : v.entries_) set(std::string(name) + "." + k, x);
    } else {
      set(std::string(name), to_text(v));
    }
    return *this;
  }

  const std::vector<entry>& entries() const { return entries_; }
  const std::string* find(std::string_view name) const {
    for (const auto& e : entries_)
      if (e.first == name) return &e.second;
    return nullptr;
  }
  bool empty() const { return entries_.empty(); }
  friend bool operator==(const cache_record&, const cache_record&) = default;

  /// The sidecar's text: a header line, then one `name = value` line per entry.
  std::string text() const {
    std::string s = std::string(header) + "\n";
    for (const auto& [k, v] : entries_) s += k + " = " + escape(v) + "\n";
    return s;
  }
  /// Reads text(); nullopt when it is not a record (no header, a line without ` = `, a bad name, a
  /// name twice, a bad escape).
  static std::optional<cache_record> parse(std::string_view s) {
    cache_record r;
    bool first = true;
    while (!s.empty()) {
      const auto nl = s.find('\n');
      if (nl == std::string_view::npos) return std::nullopt;  // every line ends with a line break
      const std::string_view line = s.substr(0, nl);
      s.remove_prefix(nl + 1);
      if (first) {
        if (line != header) return std::nullopt;
        first = false;
        continue;
      }
      const auto eq = line.find(" = ");
      if (eq == std::string_view::npos) return std::nullopt;
      const std::string_view name = line.substr(0, eq);
      auto value = unescape(line.substr(eq + 3));
      if (!valid_name(name) || !value || r.find(name)) return std::nullopt;
      r.entries_.emplace_back(std::string(name), std::move(*value));
    }
    if (first) return std::nullopt;
    return r;
  }
  /// The record without the entry `name` (e.g. the stored record without its `file` entry).
  cache_record without(std::string_view name) const {
    cache_record r;
    for (const auto& e : entries_)
      if (e.first != name) r.entries_.push_back(e);
    return r;
  }

  static constexpr std::string_view header = "# rnnabs cache record 1: what this file's cached object was made from";

 private:
  void set(std::string name, std::string value) {
    rnnabs::require(valid_name(name), "cache_record: '", name, "' is not a valid entry name (letters, digits, _ . -)");
    for (auto& e : entries_)
      if (e.first == name) {
        e.second = std::move(value);
        return;
      }
    entries_.emplace_back(std::move(name), std::move(value));
  }
  static bool valid_name(std::string_view n) {
    if (n.empty()) return false;
    for (const char c : n)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
    return true;
  }
  template <class V>
  static std::string to_text(const V& v) {
    if constexpr (std::is_same_v<V, bool>) {
      return v ? "true" : "false";
    } else if constexpr (std::is_convertible_v<const V&, std::string_view>) {
      return std::string(std::string_view(v));
    } else if constexpr (std::is_same_v<V, fingerprint>) {
      return v.str();
    } else if constexpr (std::is_integral_v<V>) {
      return std::to_string(v);
    } else if constexpr (std::is_floating_point_v<V>) {
      char buf[64];
      const auto r = std::to_chars(buf, buf + sizeof buf, v);
      return std::string(buf, r.ptr);
    } else {  // a range of values
      std::string s;
      for (const auto& x : v) {
        if (!s.empty()) s += ',';
        s += to_text(x);
      }
      return s;
    }
  }
  static std::string escape(std::string_view v) {
    std::string s;
    for (const char c : v) {
      if (c == '\\') s += "\\\\";
      else if (c == '\n') s += "\\n";
      else if (c == '\r') s += "\\r";
      else s += c;
    }
    return s;
  }
  static std::optional<std::string> unescape(std::string_view v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] != '\\') {
        if (v[i] == '\r') return std::nullopt;
        s += v[i];
        continue;
      }
      if (++i == v.size()) return std::nullopt;
      if (v[i] == '\\') s += '\\';
      else if (v[i] == 'n') s += '\n';
      else if (v[i] == 'r') s += '\r';
      else return std::nullopt;
    }
    return s;
  }

  std::vector<entry> entries_;
};

/// One way a stored record differs from the wanted one; `stored`/`wanted` are nullopt where the
/// entry is absent on that side.
struct cache_difference {
  std::string name;
  std::optional<std::string> stored, wanted;
  std::string describe() const {
    const auto show = [](const std::optional<std::string>& v) {
      return v ? std::string("'").append(*v).append("'") : std::string("(absent)");
    };
    return name + ": " + show(stored) + " in the cache, " + show(wanted) + " now";
  }
};

/// The entries of `wanted` that `stored` lacks or holds with another value, in wanted's order, then
/// (unless `subset`) the entries only `stored` has.
inline std::vector<cache_difference> cache_differences(const cache_record& stored, const cache_record& wanted,
                                                       bool subset = false) {
  std::vector<cache_difference> d;
  for (const auto& [k, v] : wanted.entries()) {
    const std::string* s = stored.find(k);
    if (!s || *s != v) d.push_back({k, s ? std::optional<std::string>(*s) : std::nullopt, v});
  }
  if (!subset)
    for (const auto& [k, v] : stored.entries())
      if (!wanted.find(k)) d.push_back({k, v, std::nullopt});
  return d;
}

/// The sidecar of a cached file: `<file>.params`.
inline std::filesystem::path cache_record_path(const std::filesystem::path& file) {
  auto p = file;
  p += ".params";
  return p;
}

/// The record stored beside `file` (its `file` entry, the file's own fingerprint, included); nullopt when there is none or it
/// cannot be read as a record.
inline std::optional<cache_record> read_cache_record(const std::filesystem::path& file) {
  std::ifstream in(cache_record_path(file), std::ios::binary);
  if (!in.is_open()) return std::nullopt;
  std::ostringstream os;
  os << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return cache_record::parse(os.str());
}

enum class cache_policy {
  rebuild,  // a mismatch is reported on the log and the lookup misses: the caller rebuilds
  error,    // a mismatch throws rnnabs::io_error naming it (a missing file is still a plain miss)
};

struct cache_check {
  cache_policy on_mismatch = cache_policy::rebuild;
  /// Compare only the entries the caller names (the stored record may say more): for a consumer that
  /// accepts any object made from the right data, whatever else its maker chose.
  bool subset = false;
  std::ostream* log = &std::cerr;
};

/// True when `file` and its record exist, every entry of `wanted` matches the record and the file is
/// the one the record describes (same size and fingerprint). Otherwise false (a missing file silently;
/// else with a line on the log saying why) or, with cache_policy::error, an io_error saying why.
inline bool cache_lookup(const std::filesystem::path& file, const cache_record& wanted, const cache_check& c = {}) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return false;
  std::string why;
  const auto stored = read_cache_record(file);
  if (!fs::exists(cache_record_path(file), ec)) {
    why = std::string("it has no record of what it was made from (")
              .append(cache_record_path(file).string())
              .append(" is missing)");
  } else if (!stored) {
    why = cache_record_path(file).string() + " is not a readable cache record";
  } else {
    const auto diff = cache_differences(stored->without("file"), wanted, c.subset);
    if (!diff.empty()) {
      why = "it was made with other parameters or data: ";
      for (std::size_t i = 0; i < diff.size(); ++i) why += (i ? "; " : "") + diff[i].describe();
    } else if (const std::string* f = stored->find("file"); !f || *f != file_fingerprint(file).str()) {
      why = "it changed since its record was written (rewritten by another program?)";
    } else {
      return true;
    }
  }
  const std::string msg = std::string("cache: ").append(file.string()).append(" is not used: ").append(why);
  if (c.on_mismatch == cache_policy::error)
    throw rnnabs::io_error(msg + " (remove it, or run with the options it was made with)");
  if (c.log) *c.log << msg << "; rebuilding it" << std::endl;
  return false;
}

/// Removes the record of `file` (before the file is rewritten, so no record ever describes a file that
/// is not the one it was made for).
inline void cache_forget(const std::filesystem::path& file) {
  std::error_code ec;
  std::filesystem::remove(cache_record_path(file), ec);
}

/// Writes the record of `file`, which was just written: `record` plus the file's own fingerprint (entry
/// `file`), atomically. Returns the stored record (what a derived cache nests).
inline cache_record cache_describe(const std::filesystem::path& file, const cache_record& record) {
  cache_record stored = record;
  stored.add("file", file_fingerprint(file));
  rnnabs::io::atomic_write_bytes(cache_record_path(file), stored.text());
  return stored;
}

/// Rebuilds a cached file: forgets its old record, calls `write(file)`, then records it. Returns the
/// stored record.
inline cache_record cache_store(const std::filesystem::path& file, const cache_record& record,
                                const std::function<void(const std::filesystem::path&)>& write) {
  cache_forget(file);
  write(file);
  return cache_describe(file, record);
}

}  // namespace examples
