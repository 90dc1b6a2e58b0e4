// libFuzzer harness: rnnabs::io::load_idx_array on the raw bytes written to a temp file; the input
// is raw IDX or gzip (the reader detects gzip by content), so one target covers both.
#include "fuzz_common.hpp"
#include "rnnabs/io/idx.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_temp("in.idx", {reinterpret_cast<const char*>(data), size});
  fuzz::expect_rnnabs_errors_only([&] { (void)rnnabs::io::load_idx_array(path).as<float>(); });
  return 0;
}
