// ELF64 / ar reading against binutils (readelf, objcopy: see tests/fixtures/explain/make_elf_fixtures.sh),
// corrupt and truncated files, and the function-start corpus with its split.
#include <gtest/gtest.h>

#include "../common/error_of.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <rnnabs/data/function_starts.hpp>

#include "helpers.hpp"

namespace explain_function_starts_tests {

using namespace rnnabs;

const io::elf_symbol* find_symbol(const io::elf_object& o, const std::string& name) {
  for (const auto& s : o.symbols)
    if (s.name == name) return &s;
  return nullptr;
}

TEST(Elf, ReadsSectionsAndFunctionSymbolsLikeReadelf) {
  const io::elf_object o = io::read_elf(explain_test::fixture("fs_a.o"));
  EXPECT_EQ(o.type, 1);      // ET_REL
  EXPECT_EQ(o.machine, 62);  // x86-64
  std::size_t text = 0;
  for (std::size_t i = 0; i < o.sections.size(); ++i)
    if (o.sections[i].name == ".text") text = i;
  ASSERT_EQ(text, 1u);
  EXPECT_TRUE(o.sections[text].executable());
  const auto ref = io::read_file_bytes(explain_test::fixture("fs_a_text.bin"));
  EXPECT_EQ(o.sections[text].bytes, ref);
  EXPECT_EQ(o.sections[text].size, 0x2fu);
  const struct {
    const char* name;
    std::uint64_t value, size;
  } expect[] = {{"alpha", 0, 8}, {"beta", 8, 26}, {"gamma_fn", 0x22, 13}};
  for (const auto& e : expect) {
    const auto* s = find_symbol(o, e.name);
    ASSERT_NE(s, nullptr) << e.name;
    EXPECT_TRUE(s->is_function());
    EXPECT_EQ(s->value, e.value) << e.name;
    EXPECT_EQ(s->size, e.size) << e.name;
    EXPECT_EQ(s->section, text) << e.name;
    EXPECT_EQ(s->bind, 1) << e.name;
  }
  EXPECT_EQ(std::count_if(o.symbols.begin(), o.symbols.end(), [](const auto& s) { return s.is_function(); }), 3);
}

TEST(Elf, ReadsArArchivesWithLongNames) {
  const auto members = io::read_ar(explain_test::fixture("fs.a"));
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].name, "fs_a.o");
  EXPECT_EQ(members[1].name, "a_rather_long_member_name_b.o");
  EXPECT_EQ(members[0].data, io::read_file_bytes(explain_test::fixture("fs_a.o")));
  const auto b = io::parse_elf(members[1].data, members[1].name);
  const auto* d = find_symbol(b, "delta");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(b.sections[d->section].name, ".text.delta");
  EXPECT_EQ(d->value, 0u);
  EXPECT_EQ(b.sections[d->section].bytes.size(), 33u);
}

TEST(Elf, TruncatedAndCorruptFilesRaiseIoError) {
  const auto full = io::read_file_bytes(explain_test::fixture("fs_a.o"));
  int thrown = 0;
  for (std::size_t n = 0; n < full.size(); n += 7) {
    const std::vector<std::uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      (void)io::parse_elf(cut, "cut");
    } catch (const io_error&) {
      ++thrown;
    }
  }
  // Every prefix that ends before the section header table (at the end of a relocatable object) must fail.
  EXPECT_GE(thrown, static_cast<int>(full.size() / 7) - 2);
  std::vector<std::uint8_t> bad = full;
  bad[4] = 1;  // ELF32
  EXPECT_THROW(io::parse_elf(bad, "bad"), io_error);
  bad = full;
  bad[40] = 0xff;  // e_shoff far away
  bad[41] = 0xff;
  EXPECT_THROW(io::parse_elf(bad, "bad"), io_error);
  const auto ar = io::read_file_bytes(explain_test::fixture("fs.a"));
  const std::vector<std::uint8_t> ar_cut(ar.begin(), ar.end() - 100);
  EXPECT_THROW(io::parse_ar(ar_cut, "cut.a"), io_error);
  EXPECT_THROW(io::parse_ar(full, "not an archive"), io_error);
  EXPECT_THROW(io::read_elf("/nonexistent/x.o"), io_error);
  // A truncated member inside an archive reaches the corpus builder as an io_error too.
  const auto tmp = std::filesystem::temp_directory_path() / "rnnabs_test_explain_cut.a";
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(ar_cut.data()), static_cast<std::streamsize>(ar_cut.size()));
  }
  EXPECT_THROW(data::function_starts_from_archive(tmp), io_error);
  std::filesystem::remove(tmp);
}

// A minimal little-endian ELF64 image: the 64-byte header, then `sections` section headers at 64.
std::vector<std::uint8_t> tiny_elf(const std::vector<std::array<std::uint64_t, 7>>& sections, std::uint16_t shstrndx) {
  // each section: {sh_name, sh_type, sh_flags, sh_offset, sh_size, sh_link, sh_entsize}
  std::vector<std::uint8_t> b(64 + 64 * sections.size(), 0);
  const auto put = [&](std::size_t at, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  b[0] = 0x7f, b[1] = 'E', b[2] = 'L', b[3] = 'F', b[4] = 2, b[5] = 1, b[6] = 1;
  put(16, 1, 2);   // ET_REL
  put(18, 62, 2);  // x86-64
  put(40, 64, 8);  // e_shoff
  put(58, 64, 2);  // e_shentsize
  put(60, sections.size(), 2);
  put(62, shstrndx, 2);
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const std::size_t h = 64 + 64 * i;
    const auto& s = sections[i];
    put(h, s[0], 4), put(h + 4, s[1], 4), put(h + 8, s[2], 8), put(h + 24, s[3], 8), put(h + 32, s[4], 8),
        put(h + 40, s[5], 4), put(h + 56, s[6], 8);
  }
  return b;
}

// Fuzzing finding (docs/fuzzing.md, elf #1): the section-name and symbol-name string tables were read
// without checking their range when the table section was SHT_NULL or SHT_NOBITS (only other types
// had their contents checked), so a crafted object read far out of bounds (ASan heap-buffer-overflow,
// SEGV; UBSan pointer overflow). Now every string table's range is checked before it is read.
TEST(Elf, StringTablesOutsideTheFileAreIoErrors) {
  // Section 1, the section-name table, is NOBITS (type 8) with an offset far past the end.
  EXPECT_THROW(io::parse_elf(tiny_elf({{0, 0, 0, 0, 0, 0, 0}, {0, 8, 0, 0x7fffffff, 0x1000, 0, 0}}, 1), "nobits"),
               io_error);
  // ... or SHT_NULL (type 0) spanning past the end of a 192-byte image.
  EXPECT_THROW(io::parse_elf(tiny_elf({{0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 100, 200, 0, 0}}, 1), "null"), io_error);
  // A valid name table (section 2 at 0: the ELF magic holds a NUL at 7), and a symbol table (section 1,
  // one 24-byte symbol at 64) whose string table (link 3) is NOBITS past the end.
  EXPECT_THROW(
      io::parse_elf(
          tiny_elf(
              {{0, 0, 0, 0, 0, 0, 0}, {0, 2, 0, 64, 24, 3, 24}, {0, 3, 0, 0, 16, 0, 0}, {0, 8, 0, 1u << 30, 64, 0, 0}},
              2),
          "symbols"),
      io_error);
  // The same image with an in-file string table parses.
  EXPECT_NO_THROW(io::parse_elf(
      tiny_elf({{0, 0, 0, 0, 0, 0, 0}, {0, 2, 0, 64, 24, 3, 24}, {0, 3, 0, 0, 16, 0, 0}, {0, 3, 0, 0, 16, 0, 0}}, 2),
      "ok"));
}

// Fuzzing finding (docs/fuzzing.md, elf #2): parse_ar read the number of a BSD "#1/<len>" name and of a
// GNU "/<offset>" name with std::stoull, so "#1/x" escaped as std::invalid_argument (and "#1/-1"
// wrapped to 2^64 - 1). Now the digits are parsed strictly and anything else is an io_error.
TEST(Elf, ArMemberNamesWithBadNumbersAreIoErrors) {
  const auto ar = [](const std::string& name, const std::string& data) {
    std::string h = name;
    h.resize(16, ' ');
    h += std::string(12, ' ') + std::string(6, ' ') + std::string(6, ' ') + std::string(8, ' ');
    std::string size = std::to_string(data.size());
    size.resize(10, ' ');
    const std::string s = "!<arch>\n" + h + size + "`\n" + data + (data.size() % 2 ? "\n" : "");
    return std::vector<std::uint8_t>(s.begin(), s.end());
  };
  EXPECT_EQ(io::parse_ar(ar("#1/4", "abcdDATA"), "ok.a").at(0).name, "abcd");
  for (const char* bad : {"#1/x", "#1/", "#1/-1", "#1/+4", "#1/4x"})
    EXPECT_THROW(io::parse_ar(ar(bad, "abcdDATA"), "bad.a"), io_error) << bad;
  EXPECT_THROW(io::parse_ar(ar("/999999999999999", "x"), "bad.a"), io_error);  // no long-name table
}

TEST(FunctionStarts, CorpusLabelsAndSplit) {
  const auto c = data::function_starts_from_archive(explain_test::fixture("fs.a"),
                                                    {.chunk_length = 16, .min_chunk_length = 4});
  EXPECT_EQ(c.objects, 2);
  EXPECT_EQ(c.functions, 5);  // alpha, beta, gamma_fn, delta, epsilon
  // fs_a.o's .text: 47 bytes → chunks of 16, 16, 15; starts at 0, 8, 34 (= chunk 2, offset 2).
  ASSERT_GE(c.chunks.size(), 3u);
  EXPECT_EQ(c.chunks[0].starts[0], 1);
  EXPECT_EQ(c.chunks[0].starts[8], 1);
  EXPECT_EQ(c.chunks[2].starts[2], 1);
  EXPECT_EQ(c.chunks[2].bytes.size(), 15u);
  const auto tk = data::to_tokens(c.chunks);
  EXPECT_EQ(tk.tokens[0](0), 0x8d + 1);  // byte + 1
  EXPECT_EQ(tk.labels[0](8), 1);
  // The split is by object and reproducible.
  const auto s = data::split_by_object(c, 0.5);
  EXPECT_EQ(s.train.size() + s.test.size(), c.chunks.size());
  for (const auto& ch : s.test)
    for (const auto& tr : s.train) ASSERT_NE(ch.object, tr.object);
  EXPECT_EQ(data::split_by_object(c, 0.0).test.size(), 0u);
  EXPECT_EQ(data::split_by_object(c, 1.0).train.size(), 0u);
  EXPECT_EQ(data::fnv1a64("a"), 0xaf63dc4c8601ec8cull);  // FNV-1a reference value
}

TEST(FunctionStarts, SeveralArchivesSkipTheMissingAndNameTheirPackage) {
  const auto fs_a = explain_test::fixture("fs.a");
  const data::function_start_options o{.chunk_length = 16, .min_chunk_length = 4};
  const auto one = data::function_starts_from_archive(fs_a, o);
  const auto r = data::function_starts_from_archives(
      {{"/nonexistent/libnothing.a", "libnothing-dev"}, {fs_a, "fixture"}}, o);
  ASSERT_EQ(r.missing.size(), 1u);
  EXPECT_EQ(r.missing[0].package, "libnothing-dev");
  ASSERT_EQ(r.read.size(), 1u);
  EXPECT_EQ(r.read[0].objects, one.objects);
  EXPECT_EQ(r.read[0].chunks, static_cast<index_t>(one.chunks.size()));
  EXPECT_EQ(r.corpus.functions, one.functions);
  ASSERT_EQ(r.corpus.chunks.size(), one.chunks.size());
  for (std::size_t i = 0; i < one.chunks.size(); ++i) EXPECT_EQ(r.corpus.chunks[i].bytes, one.chunks[i].bytes);
  // The cap is per archive: the same archive twice gives twice the capped count.
  const auto twice = data::function_starts_from_archives({{fs_a, "a"}, {fs_a, "b"}},
                                                         {.chunk_length = 16, .min_chunk_length = 4, .max_chunks = 2});
  EXPECT_EQ(twice.corpus.chunks.size(), 4u);
  const auto none = rnnabs_tests::error_of([] {
    data::function_starts_from_archives({{"/nonexistent/a.a", "pkg-a"}, {"/nonexistent/b.a", "pkg-b"}});
  });
  EXPECT_NE(none.find("pkg-b"), std::string::npos) << none;
}

}  // namespace explain_function_starts_tests
