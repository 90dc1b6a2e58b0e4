// libFuzzer harness: rnnabs::io::parse_ar for inputs starting with "!<arch>\n" (then parse_elf on
// every ELF member, as data/function_starts.hpp does), rnnabs::io::parse_elf for everything else.
#include "fuzz_common.hpp"
#include "rnnabs/io/elf.hpp"

#include <cstring>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace io = rnnabs::io;
  const std::span<const std::uint8_t> bytes(data, size);
  fuzz::expect_rnnabs_errors_only([&] {
    if (size >= 8 && std::memcmp(data, "!<arch>\n", 8) == 0) {
      for (const auto& m : io::parse_ar(bytes, "fuzz.a"))
        if (io::is_elf(m.data)) fuzz::expect_rnnabs_errors_only([&] { (void)io::parse_elf(m.data, m.name); });
    } else {
      const auto o = io::parse_elf(bytes, "fuzz.o");
      // What function_starts does with a parsed object: executable bytes and function symbols.
      for (const auto& s : o.symbols)
        if (s.is_function() && s.section != 0 && s.section < o.sections.size())
          if (s.value > o.sections[s.section].size) std::abort();
    }
  });
  return 0;
}
