// libFuzzer harness for the text readers: the first byte selects the reader, the rest is the file
// (written to a temp file with the extension the reader dispatches on).
#include "fuzz_common.hpp"
#include "rnnabs/data/text.hpp"
#include "rnnabs/io/text.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rnnabs;
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const char* ext = selector % 7 == 5 ? "in.csv" : "in.txt";
  const auto path = fuzz::write_temp(ext, body);
  fuzz::expect_rnnabs_errors_only([&] {
    switch (selector % 7) {
      case 0: (void)io::read_strfile(path); break;
      case 1: (void)io::read_labelled_lines(path); break;
      case 2: (void)io::read_csv_columns(path, {"label", "text"}, (selector & 0x80) ? ';' : ','); break;
      case 3: {
        const std::unordered_map<std::string, std::size_t> wanted{{"the", 0}, {"a", 1}, {"cat", 2}, {"<unk>", 3}};
        (void)io::read_embeddings_text(path, wanted, 4);
        break;
      }
      case 4: (void)data::vocabulary::load(path); break;
      case 5:
      case 6: {
        const auto d = data::load_labelled_text(path);
        d.validate("fuzz");
        break;
      }
    }
  });
  return 0;
}
