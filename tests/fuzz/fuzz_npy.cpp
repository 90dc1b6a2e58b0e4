// libFuzzer harness: rnnabs::io::parse_npy on the raw bytes, then the conversions a caller makes
// (as<T>, to_matrix) and a serialize/parse round trip that must reproduce the array exactly; and the
// row-range reader (npy_rows, load_npy_rows) on the same bytes as a file, which must throw only
// rnnabs errors and, where the whole-file parser accepts a C-order array, read the same rows.
#include <algorithm>
#include <cmath>

#include "fuzz_common.hpp"
#include "rnnabs/io/npy.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace io = rnnabs::io;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto file = fuzz::write_temp("rows.npy", bytes);
  rnnabs::index_t rows = -1;
  fuzz::expect_rnnabs_errors_only([&] { rows = io::npy_rows(file); });
  io::npy_array a;
  try {
    a = io::parse_npy(bytes, "fuzz.npy");
  } catch (const rnnabs::error&) {
    fuzz::expect_rnnabs_errors_only(
        [&] { (void)io::load_npy_rows<double>(file, 0, std::max<rnnabs::index_t>(rows, 0)); });
    return 0;
  }
  if (a.ndim() >= 1 && a.size() > 0 && a.size() < (1u << 16)) {
    // The row reader agrees with the whole-file parser (a Fortran-order matrix it refuses).
    if (rows != static_cast<rnnabs::index_t>(a.shape[0])) std::abort();
    try {
      const auto m = io::load_npy_rows<double>(file, 0, rows);
      const auto whole = a.as<double>();
      if (static_cast<std::size_t>(m.size()) != whole.size()) std::abort();
      for (std::size_t i = 0; i < whole.size(); ++i)
        if (!(m.data()[i] == whole.data()[i]) && !(std::isnan(m.data()[i]) && std::isnan(whole.data()[i])))
          std::abort();
    } catch (const rnnabs::io_error&) {
    } catch (const rnnabs::invalid_argument&) {  // conversions out of range, as as<T> would say
    }
  }
  fuzz::expect_rnnabs_errors_only([&] { (void)a.as<double>(); });
  fuzz::expect_rnnabs_errors_only([&] { (void)a.as<std::int64_t>(); });
  fuzz::expect_rnnabs_errors_only([&] { (void)io::to_matrix<float>(a); });
  // A parsed array serializes (it is valid) and parses back to the same array.
  const io::npy_array b = io::parse_npy(io::serialize_npy(a), "fuzz.npy round trip");
  if (b.type != a.type || b.shape != a.shape || b.data != a.data) std::abort();
  return 0;
}
