// libFuzzer harness: rnnabs::io::npz_read on the raw bytes written to a temp file (the zip layer:
// end records, ZIP64, central directory, member sizes/CRCs, deflate), then each member converted.
#include "fuzz_common.hpp"
#include "rnnabs/io/npz.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_temp("in.npz", {reinterpret_cast<const char*>(data), size});
  fuzz::expect_rnnabs_errors_only([&] {
    for (const auto& entry : rnnabs::io::npz_read(path))
      fuzz::expect_rnnabs_errors_only([&] { (void)entry.second.as<double>(); });
  });
  return 0;
}
