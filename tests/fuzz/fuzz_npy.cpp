// libFuzzer harness: rnnabs::io::parse_npy on the raw bytes, then the conversions a caller makes
// (as<T>, to_matrix) and a serialize/parse round trip that must reproduce the array exactly.
#include "fuzz_common.hpp"
#include "rnnabs/io/npy.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace io = rnnabs::io;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  io::npy_array a;
  try {
    a = io::parse_npy(bytes, "fuzz.npy");
  } catch (const rnnabs::error&) {
    return 0;
  }
  fuzz::expect_rnnabs_errors_only([&] { (void)a.as<double>(); });
  fuzz::expect_rnnabs_errors_only([&] { (void)a.as<std::int64_t>(); });
  fuzz::expect_rnnabs_errors_only([&] { (void)io::to_matrix<float>(a); });
  // A parsed array serializes (it is valid) and parses back to the same array.
  const io::npy_array b = io::parse_npy(io::serialize_npy(a), "fuzz.npy round trip");
  if (b.type != a.type || b.shape != a.shape || b.data != a.data) std::abort();
  return 0;
}
