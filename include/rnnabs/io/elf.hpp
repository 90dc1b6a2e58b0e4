#pragma once
// ELF64 relocatable objects and `ar` static archives, read from bytes: the sections (with the bytes of
// executable ones) and the symbol table (STT_FUNC symbols give function starts). Enough to build a
// function-start corpus from /usr/lib/x86_64-linux-gnu/libc.a (see data/function_starts.hpp).
// Little- and big-endian ELF64; every offset and size is checked: a truncated or corrupt file raises
// io_error naming the file, the structure and the offset. ELF32 is refused with io_error.
//
//   for (const auto& m : rnnabs::io::read_ar("/usr/lib/x86_64-linux-gnu/libc.a"))
//     if (rnnabs::io::is_elf(m.data)) { auto obj = rnnabs::io::parse_elf(m.data, m.name); ... }
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rnnabs/core/error.hpp"

namespace rnnabs::io {

struct elf_section {
  std::string name;
  std::uint32_t type = 0;   // SHT_*: 1 PROGBITS, 2 SYMTAB, 3 STRTAB, 8 NOBITS, ...
  std::uint64_t flags = 0;  // SHF_*: 0x2 ALLOC, 0x4 EXECINSTR
  std::uint64_t size = 0;
  std::vector<std::uint8_t> bytes;  // filled for PROGBITS sections with SHF_EXECINSTR
  bool executable() const noexcept { return type == 1 && (flags & 0x4) != 0; }
};

struct elf_symbol {
  std::string name;
  std::uint64_t value = 0;  // offset in its section (relocatable objects)
  std::uint64_t size = 0;
  std::uint32_t section = 0;  // index into elf_object::sections (0: undefined)
  std::uint8_t type = 0;      // STT_*: 2 FUNC
  std::uint8_t bind = 0;      // STB_*: 0 LOCAL, 1 GLOBAL, 2 WEAK
  bool is_function() const noexcept { return type == 2; }
};

struct elf_object {
  std::string name;
  std::uint16_t type = 0;     // ET_*: 1 REL, 2 EXEC, 3 DYN
  std::uint16_t machine = 0;  // EM_*: 62 x86-64, 183 AArch64, 3 i386
  std::vector<elf_section> sections;
  std::vector<elf_symbol> symbols;
};

struct ar_member {
  std::string name;
  std::vector<std::uint8_t> data;
};

/// True when `bytes` start with the ELF magic.
inline bool is_elf(std::span<const std::uint8_t> bytes) noexcept {
  return bytes.size() >= 4 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F';
}

/// Parses an ELF64 file image; `name` is used in error messages.
inline elf_object parse_elf(std::span<const std::uint8_t> bytes, std::string name = "<memory>");

/// Members of an `ar` archive (GNU and BSD long names; the symbol-table members are skipped).
inline std::vector<ar_member> parse_ar(std::span<const std::uint8_t> bytes, std::string_view name = "<memory>");

/// The whole file; io_error when it cannot be opened or read.
inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  require<io_error>(static_cast<bool>(in), "read_file_bytes: cannot open '", path.string(), "'");
  in.seekg(0, std::ios::end);
  const auto n = static_cast<std::size_t>(in.tellg());
  in.seekg(0);
  std::vector<std::uint8_t> b(n);
  if (n) in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(n));
  require<io_error>(static_cast<bool>(in), "read_file_bytes: cannot read '", path.string(), "'");
  return b;
}
inline elf_object read_elf(const std::filesystem::path& path) {
  return parse_elf(read_file_bytes(path), path.string());
}
inline std::vector<ar_member> read_ar(const std::filesystem::path& path) {
  return parse_ar(read_file_bytes(path), path.string());
}

// ---- implementation -------------------------------------------------------------------------------

namespace detail {
class elf_reader {
 public:
  elf_reader(std::span<const std::uint8_t> b, const std::string& name, bool little) : b_(b), name_(name), le_(little) {}
  void need(std::uint64_t off, std::uint64_t len, std::string_view what) const {
    require<io_error>(off <= b_.size() && len <= b_.size() - off, "parse_elf: '", name_,
                      "' is truncated or corrupt: ", what, " at offset ", off, " (", len,
                      " bytes) exceeds the file size ", b_.size());
  }
  template <class U>
  U get(std::uint64_t off, std::string_view what) const {
    need(off, sizeof(U), what);
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) {
      const std::size_t k = le_ ? i : sizeof(U) - 1 - i;
      v = static_cast<U>(v | static_cast<U>(static_cast<U>(b_[off + k]) << (8 * i)));
    }
    return v;
  }
  std::string cstr(std::uint64_t table_off, std::uint64_t table_size, std::uint64_t idx, std::string_view what) const {
    // The table may be a section whose range was not checked (SHT_NULL / SHT_NOBITS): check it here.
    need(table_off, table_size, "string table");
    require<io_error>(idx < table_size, "parse_elf: '", name_, "': ", what, " name index ", idx,
                      " is outside its string table (", table_size, " bytes)");
    const auto* p = b_.data() + table_off + idx;
    const std::size_t max = table_size - idx;
    std::size_t n = 0;
    while (n < max && p[n]) ++n;
    require<io_error>(n < max, "parse_elf: '", name_, "': unterminated ", what, " name");
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  std::span<const std::uint8_t> bytes() const { return b_; }

 private:
  std::span<const std::uint8_t> b_;
  const std::string& name_;
  bool le_;
};
}  // namespace detail

inline elf_object parse_elf(std::span<const std::uint8_t> b, std::string name) {
  require<io_error>(is_elf(b), "parse_elf: '", name, "' is not an ELF file (no \\x7fELF magic)");
  require<io_error>(b.size() >= 64, "parse_elf: '", name, "' is truncated: ", b.size(),
                    " bytes, the ELF64 header needs 64");
  require<io_error>(b[4] == 2, "parse_elf: '", name, "' is ELF", b[4] == 1 ? "32" : "(unknown class)",
                    "; only ELF64 is supported");
  require<io_error>(b[5] == 1 || b[5] == 2, "parse_elf: '", name, "' has an unknown data encoding ", int(b[5]));
  const detail::elf_reader r(b, name, b[5] == 1);
  elf_object o;
  o.name = name;
  o.type = r.get<std::uint16_t>(16, "e_type");
  o.machine = r.get<std::uint16_t>(18, "e_machine");
  const auto shoff = r.get<std::uint64_t>(40, "e_shoff");
  const auto shentsize = r.get<std::uint16_t>(58, "e_shentsize");
  std::uint64_t shnum = r.get<std::uint16_t>(60, "e_shnum");
  std::uint64_t shstrndx = r.get<std::uint16_t>(62, "e_shstrndx");
  if (shoff == 0) return o;  // no section table
  require<io_error>(shentsize >= 64, "parse_elf: '", name, "': section header size ", shentsize, " < 64");
  if (shnum == 0) shnum = r.get<std::uint64_t>(shoff + 32, "section 0 (extended count)");
  if (shstrndx == 0xffff) shstrndx = r.get<std::uint32_t>(shoff + 40, "section 0 (extended string index)");
  require<io_error>(shnum <= (b.size() / 64) + 1, "parse_elf: '", name, "': ", shnum, " sections cannot fit in ",
                    b.size(), " bytes");
  r.need(shoff, shnum * shentsize, "section header table");
  struct raw {
    std::uint32_t name, type, link;
    std::uint64_t flags, off, size, entsize;
  };
  std::vector<raw> sh(static_cast<std::size_t>(shnum));
  for (std::uint64_t i = 0; i < shnum; ++i) {
    const std::uint64_t h = shoff + i * shentsize;
    sh[i] = {r.get<std::uint32_t>(h, "sh_name"),        r.get<std::uint32_t>(h + 4, "sh_type"),
             r.get<std::uint32_t>(h + 40, "sh_link"),   r.get<std::uint64_t>(h + 8, "sh_flags"),
             r.get<std::uint64_t>(h + 24, "sh_offset"), r.get<std::uint64_t>(h + 32, "sh_size"),
             r.get<std::uint64_t>(h + 56, "sh_entsize")};
    if (sh[i].type != 8 && sh[i].type != 0) r.need(sh[i].off, sh[i].size, "section contents");
  }
  require<io_error>(shstrndx < shnum, "parse_elf: '", name, "': section-name table index ", shstrndx, " >= ", shnum);
  const raw& names = sh[shstrndx];
  o.sections.resize(static_cast<std::size_t>(shnum));
  for (std::uint64_t i = 0; i < shnum; ++i) {
    auto& s = o.sections[i];
    s.name = i == 0 ? std::string() : r.cstr(names.off, names.size, sh[i].name, "section");
    s.type = sh[i].type;
    s.flags = sh[i].flags;
    s.size = sh[i].size;
    if (s.executable())
      s.bytes.assign(b.begin() + static_cast<std::ptrdiff_t>(sh[i].off),
                     b.begin() + static_cast<std::ptrdiff_t>(sh[i].off + sh[i].size));
  }
  for (std::uint64_t i = 0; i < shnum; ++i) {
    if (sh[i].type != 2) continue;  // SHT_SYMTAB
    require<io_error>(sh[i].entsize >= 24, "parse_elf: '", name, "': symbol size ", sh[i].entsize, " < 24");
    require<io_error>(sh[i].link < shnum, "parse_elf: '", name, "': symbol string table index ", sh[i].link,
                      " >= ", shnum);
    const raw& str = sh[sh[i].link];
    const std::uint64_t n = sh[i].size / sh[i].entsize;
    for (std::uint64_t k = 0; k < n; ++k) {
      const std::uint64_t e = sh[i].off + k * sh[i].entsize;
      elf_symbol s;
      const auto nm = r.get<std::uint32_t>(e, "st_name");
      const auto info = r.get<std::uint8_t>(e + 4, "st_info");
      s.type = static_cast<std::uint8_t>(info & 0xf);
      s.bind = static_cast<std::uint8_t>(info >> 4);
      s.section = r.get<std::uint16_t>(e + 6, "st_shndx");
      s.value = r.get<std::uint64_t>(e + 8, "st_value");
      s.size = r.get<std::uint64_t>(e + 16, "st_size");
      s.name = r.cstr(str.off, str.size, nm, "symbol");
      if (s.is_function() && s.section != 0 && s.section < 0xff00) {
        require<io_error>(s.section < shnum, "parse_elf: '", name, "': function '", s.name, "' is in section ",
                          s.section, " >= ", shnum);
        require<io_error>(s.value <= sh[s.section].size, "parse_elf: '", name, "': function '", s.name, "' starts at ",
                          s.value, " past the end of its section (", sh[s.section].size, " bytes)");
      }
      o.symbols.push_back(std::move(s));
    }
  }
  return o;
}

inline std::vector<ar_member> parse_ar(std::span<const std::uint8_t> b, std::string_view name) {
  require<io_error>(b.size() >= 8 && std::memcmp(b.data(), "!<arch>\n", 8) == 0, "parse_ar: '", name,
                    "' is not an ar archive (no !<arch> magic)");
  std::vector<ar_member> out;
  std::string_view longnames;
  std::size_t off = 8;
  auto field = [&](std::size_t at, std::size_t len) {
    std::string s(reinterpret_cast<const char*>(b.data() + at), len);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  };
  // A decimal field of a member header (digits only; std::stoull would throw std::out_of_range or
  // std::invalid_argument, and accept signs and leading blanks).
  auto number = [&](const std::string& digits, std::size_t at, std::string_view what) {
    std::uint64_t v = 0;
    bool ok = !digits.empty();
    for (const char c : digits)
      ok = ok && c >= '0' && c <= '9' && !__builtin_mul_overflow(v, 10u, &v) &&
           !__builtin_add_overflow(v, static_cast<std::uint64_t>(c - '0'), &v);
    require<io_error>(ok, "parse_ar: '", name, "': bad ", what, " '", digits, "' at offset ", at);
    return static_cast<std::size_t>(v);
  };
  while (off < b.size()) {
    if (b[off] == '\n') {  // padding byte
      ++off;
      continue;
    }
    require<io_error>(b.size() - off >= 60, "parse_ar: '", name, "' is truncated: member header at offset ", off,
                      " needs 60 bytes, ", b.size() - off, " left");
    require<io_error>(b[off + 58] == '`' && b[off + 59] == '\n', "parse_ar: '", name,
                      "' is corrupt: bad member header terminator at offset ", off);
    std::string nm = field(off, 16);
    const std::string sz = field(off + 48, 10);
    std::uint64_t size = 0;
    require<io_error>(!sz.empty(), "parse_ar: '", name, "': empty member size at offset ", off);
    for (const char c : sz) {
      require<io_error>(c >= '0' && c <= '9', "parse_ar: '", name, "': bad member size '", sz, "' at offset ", off);
      size = size * 10 + static_cast<std::uint64_t>(c - '0');
    }
    const std::size_t data = off + 60;
    require<io_error>(size <= b.size() - data, "parse_ar: '", name, "' is truncated: member '", nm, "' at offset ", off,
                      " declares ", size, " bytes, ", b.size() - data, " left");
    std::size_t skip = 0;
    if (nm == "/" || nm == "/SYM64/" || nm == "__.SYMDEF" || nm == "__.SYMDEF SORTED") {
      nm.clear();
    } else if (nm == "//") {
      longnames = std::string_view(reinterpret_cast<const char*>(b.data() + data), size);
      nm.clear();
    } else if (nm.size() > 1 && nm[0] == '/' && nm[1] >= '0' && nm[1] <= '9') {
      const std::size_t k = number(nm.substr(1), off, "long name offset");
      require<io_error>(k < longnames.size(), "parse_ar: '", name, "': long name offset ", k, " outside the table");
      const std::size_t e = longnames.find_first_of("/\n", k);
      nm = std::string(longnames.substr(k, e == std::string_view::npos ? std::string_view::npos : e - k));
    } else if (nm.rfind("#1/", 0) == 0) {  // BSD: the name follows the header
      skip = number(nm.substr(3), off, "BSD name length");
      require<io_error>(skip <= size, "parse_ar: '", name, "': BSD name longer than its member");
      nm = std::string(reinterpret_cast<const char*>(b.data() + data), skip);
      while (!nm.empty() && nm.back() == '\0') nm.pop_back();
    } else if (!nm.empty() && nm.back() == '/') {
      nm.pop_back();
    }
    if (!nm.empty())
      out.push_back({nm, std::vector<std::uint8_t>(b.begin() + static_cast<std::ptrdiff_t>(data + skip),
                                                   b.begin() + static_cast<std::ptrdiff_t>(data + size))});
    off = data + size + (size & 1);
  }
  return out;
}

}  // namespace rnnabs::io
