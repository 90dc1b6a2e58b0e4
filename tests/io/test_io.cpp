// Tests of io/ (npy, npz, idx, atomic writes, archives) and data/ (MNIST-format loaders).
// Reference files come from NumPy: tests/fixtures/make_io_fixtures.py writes tests/fixtures/io/.
#include <gtest/gtest.h>
#include <zlib.h>
#include <unistd.h>

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <rnnabs/data.hpp>
#include <rnnabs/io.hpp>
#include <string>
#include <tuple>
#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xnpy.hpp>

#include "../common/error_of.hpp"

namespace io_io_tests {

namespace fs = std::filesystem;
using namespace rnnabs;
using io::dtype;

fs::path fixture(const std::string& name) { return fs::path(RNNABS_TEST_DATA) / "io" / name; }

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

/// The fixtures' pattern: value[i] = i - 3 cast to the stored type (bool: i odd).
template <class S>
double pattern_value(std::size_t i) {
  if constexpr (std::is_same_v<S, bool>) return i % 2 == 1 ? 1.0 : 0.0;
  else return static_cast<double>(static_cast<S>(static_cast<std::int64_t>(i) - 3));
}

double pattern_value(dtype t, std::size_t i) {
  if (t == dtype::bool_) return pattern_value<bool>(i);
  return io::detail::visit_dtype(t, [&](auto tag) { return pattern_value<typename decltype(tag)::type>(i); });
}

void expect_pattern(const io::npy_array& a, dtype t, const std::vector<std::size_t>& shape) {
  EXPECT_EQ(a.type, t) << a.origin;
  EXPECT_EQ(a.shape, shape) << a.origin;
  const auto v = a.as<double>();
  ASSERT_EQ(v.size(), a.size());
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v.data()[i], pattern_value(t, i)) << a.origin << " at " << i;
}

class IoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("rnnabs_io_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::vector<std::string> listing() const {
    std::vector<std::string> r;
    for (const auto& e : fs::directory_iterator(dir_)) r.push_back(e.path().filename().string());
    std::sort(r.begin(), r.end());
    return r;
  }
  fs::path dir_;
};

// ---- .npy written by NumPy ----------------------------------------------------------------------

TEST(NpyFixtures, ReadsEveryLayoutNumPyWrites) {
  expect_pattern(io::load_npy_array(fixture("c_f8.npy")), dtype::f8, {2, 3});
  expect_pattern(io::load_npy_array(fixture("fortran_f4.npy")), dtype::f4, {3, 4});
  expect_pattern(io::load_npy_array(fixture("fortran_i2_3d.npy")), dtype::i2, {2, 3, 4});
  expect_pattern(io::load_npy_array(fixture("be_i4.npy")), dtype::i4, {2, 2, 3});
  expect_pattern(io::load_npy_array(fixture("be_f8.npy")), dtype::f8, {5});
  expect_pattern(io::load_npy_array(fixture("bool.npy")), dtype::bool_, {5});
  expect_pattern(io::load_npy_array(fixture("v2_u2.npy")), dtype::u2, {4});
  expect_pattern(io::load_npy_array(fixture("v3_f8.npy")), dtype::f8, {2, 2});
  const auto s = io::load_npy_array(fixture("scalar_i8.npy"));
  EXPECT_EQ(s.ndim(), 0u);
  EXPECT_EQ(s.as<std::int64_t>()(), -7);
  const auto e = io::load_npy<double>(fixture("empty_f8.npy"));
  EXPECT_EQ(e.size(), 0u);
  EXPECT_EQ(e.shape()[1], 3u);
}

TEST(NpyFixtures, ConvertsLikeNumPyAstype) {
  const auto u = io::load_npy<std::uint16_t>(fixture("v2_u2.npy"));
  EXPECT_EQ(u(0), 65533);  // -3 wrapped by NumPy when the fixture was written
  const auto f = io::load_npy<float>(fixture("fortran_f4.npy"));
  EXPECT_EQ(f(1, 2), 1 * 4 + 2 - 3);  // Fortran order on disk, logical (row-major) indices here
  const auto i = io::load_npy<int>(fixture("c_f8.npy"));
  EXPECT_EQ(i(1, 2), 2);
  const auto b = io::load_npy<bool>(fixture("be_i4.npy"));
  EXPECT_FALSE(b(0, 1, 0));  // value 0 at flat index 3
  EXPECT_TRUE(b(0, 0, 0));
  const auto m = io::load_npy_matrix<double>(fixture("c_f8.npy"));
  EXPECT_EQ(m.rows(), 2);
  EXPECT_EQ(m(1, 0), 0.0);
  EXPECT_THROW(io::load_npy_matrix<double>(fixture("be_i4.npy")), io_error);  // 3-d
}

// ---- round trips ---------------------------------------------------------------------------------

using all_types = std::tuple<bool, std::uint8_t, std::int8_t, std::uint16_t, std::int16_t, std::uint32_t, std::int32_t,
                             std::uint64_t, std::int64_t, float, double>;

template <class T>
void round_trip_type(const fs::path& dir) {
  const std::vector<std::vector<std::size_t>> shapes = {{}, {5}, {2, 3, 4}, {0, 2}};
  std::vector<io::npy_options> options(6);
  options[1].byte_order = std::endian::big;
  options[2].fortran_order = true;
  options[3].version = 2;
  options[4].version = 3;
  options[5] = {1, std::endian::big, true};
  for (const auto& shape : shapes) {
    xt::xarray<T> x = xt::xarray<T>::from_shape(shape);
    for (std::size_t i = 0; i < x.size(); ++i) {  // integers wrap from int64 (defined), not from a double out of range
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
        x.data()[i] = static_cast<T>(static_cast<std::int64_t>(i) - 3);
      else x.data()[i] = static_cast<T>(pattern_value<T>(i));
    }
    for (const auto& opt : options) {
      const std::string bytes = io::serialize_npy(io::to_npy_array(x), opt);
      ASSERT_EQ(bytes.find('\n'), bytes.size() - x.size() * sizeof(T) - 1);  // header ends the preamble
      EXPECT_EQ((bytes.size() - x.size() * sizeof(T)) % 64, 0u);
      const auto a = io::parse_npy(bytes, "memory");
      EXPECT_EQ(a.type, io::dtype_of<T>());
      EXPECT_EQ(a.shape, shape);
      EXPECT_EQ(a.as<T>(), x) << "dtype " << io::dtype_name(a.type) << " fortran " << opt.fortran_order;
    }
    const auto path = dir / "x.npy";
    io::save_npy(path, x);
    EXPECT_EQ(io::load_npy<T>(path), x);
  }
}

TEST_F(IoTest, NpyRoundTripEveryDtypeShapeAndOption) {
  std::apply([&](auto... t) { (round_trip_type<decltype(t)>(dir_), ...); }, all_types{});
}

TEST_F(IoTest, NpyEigenStorageOrders) {
  Eigen::MatrixXd cm(2, 3);  // column-major
  cm << 1, 2, 3, 4, 5, 6;
  io::save_npy(dir_ / "cm.npy", cm);
  const auto a = io::load_npy<double>(dir_ / "cm.npy");
  ASSERT_EQ(a.dimension(), 2u);
  EXPECT_EQ(a(0, 2), 3.0);
  EXPECT_EQ(a(1, 0), 4.0);
  EXPECT_EQ(io::load_npy_matrix<double>(dir_ / "cm.npy"), matrix<double>(cm));
  vector<float> v(3);
  v << 1.5f, -2.f, 3.f;
  io::save_npy(dir_ / "v.npy", v);
  const auto b = io::load_npy_array(dir_ / "v.npy");
  EXPECT_EQ(b.shape, std::vector<std::size_t>{3});
  EXPECT_EQ(b.type, dtype::f4);
  EXPECT_EQ(b.as<float>()(1), -2.f);
}

TEST_F(IoTest, RowRangesReadOnlyTheirRows) {
  matrix<float> m(9, 4);
  for (index_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(i) * 0.5f;
  io::save_npy(dir_ / "m.npy", m);
  io::save_npy(dir_ / "big.npy", m, {.byte_order = std::endian::big});
  EXPECT_EQ(io::npy_rows(dir_ / "m.npy"), 9);
  for (const char* f : {"m.npy", "big.npy"}) {
    EXPECT_EQ(io::load_npy_rows<double>(dir_ / f, 3, 7), matrix<double>(m.middleRows(3, 4).cast<double>())) << f;
    EXPECT_EQ(io::load_npy_rows<float>(dir_ / f, 9, 9).rows(), 0);
  }
  xt::xarray<std::int64_t> cube = xt::arange<std::int64_t>(24);
  cube.reshape({4, 3, 2});
  io::save_npy(dir_ / "cube.npy", cube);
  const matrix<std::int64_t> rows = io::load_npy_rows<std::int64_t>(dir_ / "cube.npy", 1, 3);
  ASSERT_EQ(rows.cols(), 6);
  EXPECT_EQ(rows(0, 0), 6);
  EXPECT_EQ(rows(1, 5), 17);
  EXPECT_THROW(io::load_npy_rows<float>(dir_ / "m.npy", 5, 10), rnnabs::invalid_argument);
  io::save_npy(dir_ / "f.npy", m, {.fortran_order = true});
  EXPECT_THROW(io::load_npy_rows<float>(dir_ / "f.npy", 0, 2), io_error);
  std::string bytes = io::detail::read_file_bytes(dir_ / "m.npy", "test");
  bytes.resize(bytes.size() - 3);
  std::ofstream(dir_ / "cut.npy", std::ios::binary) << bytes;
  EXPECT_THROW(io::load_npy_rows<float>(dir_ / "cut.npy", 0, 1), io_error);
  EXPECT_THROW(io::npy_rows(dir_ / "missing.npy"), io_error);
}

TEST_F(IoTest, ReadsWhatXtensorWrites) {
  xt::xarray<std::int16_t> x = {{1, -2, 3}, {4, 5, -6}};
  xt::dump_npy((dir_ / "xt.npy").string(), x);
  EXPECT_EQ(io::load_npy<std::int16_t>(dir_ / "xt.npy"), x);
  // and xtensor reads ours
  io::save_npy(dir_ / "ours.npy", x);
  auto back = xt::load_npy<std::int16_t>((dir_ / "ours.npy").string());
  EXPECT_EQ(back, x);
}

TEST(NpyConvert, FloatToIntegerOutOfRangeIsAnError) {
  xt::xarray<double> x = {1.0, std::numeric_limits<double>::quiet_NaN()};
  const auto a = io::parse_npy(io::serialize_npy(io::to_npy_array(x)), "mem");
  EXPECT_THROW(a.as<int>(), io_error);
  xt::xarray<double> y = {300.0};
  EXPECT_THROW(io::parse_npy(io::serialize_npy(io::to_npy_array(y)), "mem").as<std::uint8_t>(), io_error);
  xt::xarray<double> z = {1e300, -1e300};
  const auto f = io::parse_npy(io::serialize_npy(io::to_npy_array(z)), "mem").as<float>();
  EXPECT_TRUE(std::isinf(f(0)) && f(0) > 0);
  EXPECT_TRUE(std::isinf(f(1)) && f(1) < 0);
}

// ---- bad .npy input ------------------------------------------------------------------------------

std::string npy_with_header(const std::string& dict, std::size_t data_bytes, int version = 1) {
  std::string h = dict + "\n";
  std::string out = "\x93NUMPY";
  out += static_cast<char>(version);
  out += '\0';
  const std::size_t n = version == 1 ? 2 : 4;
  for (std::size_t i = 0; i < n; ++i) out += static_cast<char>((h.size() >> (8 * i)) & 0xFF);
  return out + h + std::string(data_bytes, '\0');
}

TEST(NpyBad, EveryTruncationIsAnError) {
  for (const char* name : {"c_f8.npy", "fortran_f4.npy", "be_i4.npy", "scalar_i8.npy", "v2_u2.npy", "v3_f8.npy"}) {
    const std::string full = read_all(fixture(name));
    ASSERT_NO_THROW(io::parse_npy(full, name));
    for (std::size_t n = 0; n < full.size(); ++n)
      EXPECT_THROW(io::parse_npy(std::string_view(full).substr(0, n), name), io_error) << name << " prefix " << n;
  }
}

TEST(NpyBad, MagicVersionTrailingBytes) {
  const std::string good = read_all(fixture("c_f8.npy"));
  std::string bad = good;
  bad[0] = 'X';
  EXPECT_THROW(io::parse_npy(bad, "m"), io_error);
  bad = good;
  bad[1] = 'n';
  EXPECT_THROW(io::parse_npy(bad, "m"), io_error);
  bad = good;
  bad[6] = 4;  // version 4.0
  EXPECT_THROW(io::parse_npy(bad, "m"), io_error);
  bad = good;
  bad[7] = 1;  // version 1.1
  EXPECT_THROW(io::parse_npy(bad, "m"), io_error);
  bad = good;
  bad[8] = static_cast<char>(0xFF);  // header longer than the file
  bad[9] = static_cast<char>(0xFF);
  EXPECT_THROW(io::parse_npy(bad, "m"), io_error);
  EXPECT_THROW(io::parse_npy(good + "x", "m"), io_error);
  try {
    io::parse_npy(good.substr(0, good.size() - 1), "some/file.npy");
    FAIL();
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find("some/file.npy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(NpyBad, HeaderDictGarbage) {
  const std::string ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_NO_THROW(io::parse_npy(npy_with_header(ok, 48), "m"));
  ASSERT_NO_THROW(
      io::parse_npy(npy_with_header("{\"descr\":\"<f8\",\"fortran_order\":True,\"shape\":(2L,3L)}", 48), "m"));
  ASSERT_NO_THROW(io::parse_npy(npy_with_header(ok, 48, 2), "m"));
  const std::vector<std::string> bad = {
      "",
      "hello",
      "{'descr': '<f8', 'fortran_order': False}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}",
      "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}",
      "{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 3)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, -3)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, x)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': [2, 3]}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)} trailing",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)",
      "{'descr': '<f8, 'fortran_order': False, 'shape': (2, 3)}",
      "{'descr': '<f\\8', 'fortran_order': False, 'shape': (2, 3)}",
      "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2, 3)}",
      "{'descr': '<c16', 'fortran_order': False, 'shape': (2, 3)}",
      "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3)}",
      "{'descr': '|f8', 'fortran_order': False, 'shape': (2, 3)}",
      "{'descr': '<U3', 'fortran_order': False, 'shape': (2, 3)}",
      "{'descr': '|O', 'fortran_order': False, 'shape': (2, 3)}",
      "{'descr': 'f8', 'fortran_order': False, 'shape': (2, 3)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
  };
  for (const auto& d : bad) EXPECT_THROW(io::parse_npy(npy_with_header(d, 48), "m"), io_error) << d;
  try {
    io::parse_npy(npy_with_header("{'descr': '<c16', 'fortran_order': False, 'shape': (2, 3)}", 96), "m");
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported dtype '<c16'"), std::string::npos) << e.what();
  }
}

TEST(NpyBad, ShapeSizeMismatchAndOverflow) {
  const auto hdr = [](const std::string& shape) {
    return "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
  };
  EXPECT_THROW(io::parse_npy(npy_with_header(hdr("(2, 3)"), 40), "m"), io_error);
  EXPECT_THROW(io::parse_npy(npy_with_header(hdr("(2, 3)"), 56), "m"), io_error);
  EXPECT_THROW(io::parse_npy(npy_with_header(hdr("(100000000000,)"), 8), "m"), io_error);
  // 2^32 * 2^32 * 8 bytes overflows 64 bits: must be reported, not wrapped to a small size.
  EXPECT_THROW(io::parse_npy(npy_with_header(hdr("(4294967296, 4294967296)"), 0), "m"), io_error);
  EXPECT_THROW(io::parse_npy(npy_with_header(hdr("(2305843009213693952,)"), 0), "m"), io_error);  // 2^61 * 8
  // A zero dimension holds no element, but the other dimensions must still fit the address space
  // (as in NumPy: the product of the non-zero dimensions times the item size must fit intp).
  EXPECT_NO_THROW(io::parse_npy(npy_with_header(hdr("(0, 1048576, 1048576)"), 0), "m"));
  EXPECT_THROW(io::parse_npy(npy_with_header(hdr("(0, 4294967296, 4294967296)"), 0), "m"), io_error);
}

// Fuzzing finding (docs/fuzzing.md, npy #1): a zero-length axis made checked_count accept any other
// axes, and as<T>() then overflowed xtensor's stride computation (signed overflow, UBSan).
TEST(NpyBad, ZeroAxisWithHugeOtherAxesIsRejected) {
  const std::string fuzz_header =
      "{'descr': '>u2', 'fortran_order': True, 'shape':(0,1111111      , 21,104, 2,21,1042,11111111104,104, 2, ), }";
  EXPECT_THROW(io::parse_npy(npy_with_header(fuzz_header, 0), "m"), io_error);
  EXPECT_THROW(
      io::parse_npy(npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 1152921504606846976), }", 0),
                    "m"),
      io_error);  // 2^60 * 8 bytes > 2^63
  // What is accepted converts without overflow: xtensor strides and Eigen sizes fit.
  const auto a = io::parse_npy(
      npy_with_header("{'descr': '<f8', 'fortran_order': True, 'shape': (0, 1099511627776), }", 0), "m");
  EXPECT_EQ(a.as<double>().size(), 0u);
  const matrix<float> m = io::to_matrix<float>(a);
  EXPECT_EQ(m.rows(), 0);
  EXPECT_EQ(m.cols(), index_t{1} << 40);
}

TEST_F(IoTest, MissingFileAndDirectory) {
  try {
    io::load_npy<double>(dir_ / "nope.npy");
    FAIL();
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.npy"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos);
  }
  EXPECT_THROW(io::load_npy<double>(dir_), io_error);
  EXPECT_THROW(io::npz_read(dir_ / "nope.npz"), io_error);
  EXPECT_THROW(io::load_idx<float>(dir_ / "nope.idx"), io_error);
}

// ---- atomic writes ---------------------------------------------------------------------------------

TEST_F(IoTest, AtomicWriteReplacesOrLeavesTheOldFile) {
  const auto p = dir_ / "f.bin";
  io::atomic_write_bytes(p, "first");
  EXPECT_EQ(read_all(p), "first");
  io::atomic_write(p, [](std::ostream& os) { os << "second"; });
  EXPECT_EQ(read_all(p), "second");
  EXPECT_THROW(io::atomic_write(p,
                                [](std::ostream& os) {
                                  os << "partial";
                                  throw std::runtime_error("writer broke");
                                }),
               io_error);
  EXPECT_EQ(read_all(p), "second");
  EXPECT_EQ(listing(), std::vector<std::string>{"f.bin"});  // no temporary left behind
  // rnnabs errors from the writer keep their type.
  EXPECT_THROW(io::atomic_write(p, [](std::ostream&) { throw rnnabs::invalid_argument("bad"); }),
               rnnabs::invalid_argument);
  EXPECT_EQ(listing(), std::vector<std::string>{"f.bin"});
  EXPECT_THROW(io::atomic_write_bytes(dir_ / "missing" / "f.bin", "x"), io_error);
  EXPECT_THROW(io::save_npy(dir_ / "missing" / "x.npy", xt::xarray<double>{1.0}), io_error);
  EXPECT_THROW(io::save_npz(dir_ / "missing" / "x.npz", {}), io_error);
  EXPECT_EQ(listing(), std::vector<std::string>{"f.bin"});
}

TEST_F(IoTest, FailedNpzWriteKeepsTheOldFile) {
  const auto p = dir_ / "a.npz";
  io::save_npz(p, {{"x", io::to_npy_array(xt::xarray<double>{1.0, 2.0})}});
  const std::string before = read_all(p);
  io::npy_array broken;  // shape says 3 elements, data has 1 byte: serialising it fails mid-archive
  broken.type = dtype::f8;
  broken.shape = {3};
  broken.data = "x";
  EXPECT_THROW(io::save_npz(p, {{"a", io::to_npy_array(xt::xarray<int>{1})}, {"b", broken}}), rnnabs::error);
  EXPECT_EQ(read_all(p), before);
  EXPECT_EQ(listing(), std::vector<std::string>{"a.npz"});
}

// ---- .npz ------------------------------------------------------------------------------------------

TEST(NpzFixtures, ReadsSavezAndSavezCompressed) {
  const std::vector<std::pair<std::string, dtype>> members = {
      {"a_bool", dtype::bool_}, {"a_u1", dtype::u1}, {"a_i1", dtype::i1}, {"a_u2", dtype::u2},
      {"a_i2", dtype::i2},      {"a_u4", dtype::u4}, {"a_i4", dtype::i4}, {"a_u8", dtype::u8},
      {"a_i8", dtype::i8},      {"a_f4", dtype::f4}, {"a_f8", dtype::f8}};
  for (const char* file : {"all_dtypes.npz", "all_dtypes_compressed.npz"}) {
    const auto m = io::npz_read(fixture(file));
    ASSERT_EQ(m.size(), members.size()) << file;
    for (const auto& [name, t] : members) {
      ASSERT_TRUE(m.contains(name)) << file << " " << name;
      expect_pattern(m.at(name), t, {2, 3});
    }
  }
  const auto x = io::load_npz_array<double>(fixture("small_compressed.npz"), "x");
  EXPECT_EQ(x(3), 0.0);
  try {
    io::load_npz_array<double>(fixture("small.npz"), "y");
    FAIL();
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find("no array 'y' (it has: x)"), std::string::npos) << e.what();
  }
}

TEST_F(IoTest, NpzRoundTripIsReproducible) {
  std::map<std::string, io::npy_array> m;
  m["w"] = io::to_npy_array(xt::xarray<float>{{1, 2}, {3, 4}});
  m["labels"] = io::to_npy_array(xt::xarray<std::int64_t>{5, -6, 7});
  m["s"] = io::to_npy_array(xt::xarray<double>(2.5));
  for (bool compress : {false, true}) {
    const auto p = dir_ / (compress ? "c.npz" : "s.npz");
    io::save_npz(p, m, compress);
    const auto back = io::npz_read(p);
    ASSERT_EQ(back.size(), 3u);
    for (const auto& [k, v] : m) {
      EXPECT_EQ(back.at(k).type, v.type);
      EXPECT_EQ(back.at(k).shape, v.shape);
      EXPECT_EQ(back.at(k).data, v.data);
    }
    const std::string first = read_all(p);
    io::save_npz(p, m, compress);
    EXPECT_EQ(read_all(p), first);
  }
  io::save_npz(dir_ / "empty.npz", {});
  EXPECT_TRUE(io::npz_read(dir_ / "empty.npz").empty());
}

TEST_F(IoTest, NpzEveryTruncationIsAnError) {
  for (const char* name : {"small.npz", "small_compressed.npz"}) {
    const std::string full = read_all(fixture(name));
    const auto p = dir_ / "t.npz";
    for (std::size_t n = 0; n < full.size(); ++n) {
      write_all(p, full.substr(0, n));
      EXPECT_THROW(io::npz_read(p), io_error) << name << " prefix " << n;
    }
  }
}

TEST_F(IoTest, NpzFlippedBytes) {
  const auto p = dir_ / "f.npz";
  // A flipped byte in a stored member's data: the CRC check catches it.
  std::string s = read_all(fixture("small.npz"));
  const std::size_t data_at = s.find("\x93NUMPY") + 130;  // inside the array data
  s[data_at] = static_cast<char>(s[data_at] ^ 0x01);
  write_all(p, s);
  try {
    io::npz_read(p);
    FAIL();
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find("CRC"), std::string::npos) << e.what();
  }
  // Any single flipped byte anywhere: an io_error or (metadata such as a time stamp) a clean read.
  for (const char* name : {"small.npz", "small_compressed.npz"}) {
    const std::string full = read_all(fixture(name));
    const auto good = io::npz_read(fixture(name)).at("x");
    int errors = 0;
    for (std::size_t i = 0; i < full.size(); ++i) {
      std::string b = full;
      b[i] = static_cast<char>(b[i] ^ 0x20);
      write_all(p, b);
      try {
        const auto m = io::npz_read(p);
        if (m.contains("x")) {
          EXPECT_EQ(m.at("x").data, good.data) << name << " byte " << i;
        }
      } catch (const io_error&) {
        ++errors;
      }
    }
    EXPECT_GT(errors, static_cast<int>(full.size() / 3)) << name;
  }
}

// ---- IDX -------------------------------------------------------------------------------------------

std::string idx_header(unsigned char type, const std::vector<std::uint32_t>& dims) {
  std::string h = {'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (auto d : dims)
    for (int k = 3; k >= 0; --k) h += static_cast<char>((d >> (8 * k)) & 0xFF);
  return h;
}

TEST(IdxFixtures, GzipAndRaw) {
  const auto img = io::load_idx<int>(fixture("tiny-images-idx3-ubyte.gz"));
  ASSERT_EQ(img.shape(), (std::vector<std::size_t>{3, 4, 5}));
  for (std::size_t i = 0; i < img.size(); ++i) EXPECT_EQ(img.data()[i], static_cast<int>(i * 4 % 256));
  const auto lab = io::load_idx<std::int32_t>(fixture("tiny-labels-idx1-ubyte.gz"));
  EXPECT_EQ(lab, (xt::xarray<std::int32_t>{7, 0, 9}));
  expect_pattern(io::load_idx_array(fixture("f8.idx")), dtype::f8, {2, 3});
  expect_pattern(io::load_idx_array(fixture("i2.idx")), dtype::i2, {4});
}

TEST_F(IoTest, IdxBadInput) {
  const auto p = dir_ / "bad.idx";
  for (const char* name : {"tiny-images-idx3-ubyte.gz", "f8.idx"}) {
    const std::string full = read_all(fixture(name));
    for (std::size_t n = 0; n < full.size(); ++n) {
      write_all(p, full.substr(0, n));
      EXPECT_THROW(io::load_idx_array(p), io_error) << name << " prefix " << n;
    }
    write_all(p, full + '\0');  // trailing byte (after gzip: not another member)
    EXPECT_THROW(io::load_idx_array(p), io_error) << name;
  }
  // Flipped bytes in the gzip file: an io_error, or the same data (header bytes such as mtime).
  const std::string gz = read_all(fixture("tiny-images-idx3-ubyte.gz"));
  const auto good = io::load_idx_array(fixture("tiny-images-idx3-ubyte.gz"));
  int errors = 0;
  for (std::size_t i = 0; i < gz.size(); ++i) {
    std::string b = gz;
    b[i] = static_cast<char>(b[i] ^ 0x04);
    write_all(p, b);
    try {
      EXPECT_EQ(io::load_idx_array(p).data, good.data) << "byte " << i;
    } catch (const io_error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, static_cast<int>(gz.size() / 2));
  // Concatenated gzip members are one stream (as gzip -d reads them): then the size is wrong.
  write_all(p, gz + gz);
  EXPECT_THROW(io::load_idx_array(p), io_error);

  const std::string f8 = read_all(fixture("f8.idx"));
  std::string b = f8;
  b[0] = 1;
  EXPECT_THROW(io::load_idx_array((write_all(p, b), p)), io_error);
  b = f8;
  b[2] = 0x0A;  // no such type
  EXPECT_THROW(io::load_idx_array((write_all(p, b), p)), io_error);
  b = f8;
  b[3] = 0;  // 0 dimensions
  EXPECT_THROW(io::load_idx_array((write_all(p, b), p)), io_error);
  // Huge dimensions with no data behind them: reported, nothing huge allocated.
  write_all(p, idx_header(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}));
  EXPECT_THROW(io::load_idx_array(p), io_error);
  write_all(p, idx_header(0x0E, {0xFFFFFFFF, 0xFFFFFFFF}) + "12345678");
  EXPECT_THROW(io::load_idx_array(p), io_error);
  write_all(p, idx_header(0x08, {2, 2}) + "abcd");
  EXPECT_EQ(io::load_idx<char>(p)(1, 1), 'd');
}

// ---- archives ----------------------------------------------------------------------------------------

// ---- the allocation limit (io/limits.hpp) -----------------------------------------------------

std::string gzip_bytes(const std::string& raw) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, raw.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

bool over_limit(const std::string& message) { return message.find("over the allocation limit") != std::string::npos; }

TEST(IoLimit, DefaultSetAndScoped) {
  EXPECT_EQ(io::max_alloc_bytes(), io::default_max_alloc_bytes);
  EXPECT_EQ(io::default_max_alloc_bytes, std::uint64_t{4} << 30);
  {
    io::max_alloc_scope s(1000);
    EXPECT_EQ(io::max_alloc_bytes(), 1000u);
  }
  EXPECT_EQ(io::max_alloc_bytes(), io::default_max_alloc_bytes);
  EXPECT_THROW(io::set_max_alloc_bytes(0), invalid_argument);
  EXPECT_EQ(io::set_max_alloc_bytes(io::default_max_alloc_bytes), io::default_max_alloc_bytes);
}

TEST_F(IoTest, EveryReaderChecksTheLimitBeforeAllocating) {
  using rnnabs_tests::error_of;
  io::max_alloc_scope s(1 << 20);  // 1 MiB
  // NPY: 2 MiB of data.
  const xt::xarray<double> big = xt::zeros<double>({std::size_t{1} << 18});
  const std::string npy = io::serialize_npy(io::to_npy_array(big));
  EXPECT_TRUE(over_limit(error_of([&] { (void)io::parse_npy(npy, "big.npy"); })));
  // NPZ: a deflated member of 8 MiB of zeros (8 KiB on disk, a small deflate bomb): refused on its
  // declared size, before a byte is inflated.
  {
    io::max_alloc_scope unlimited(io::default_max_alloc_bytes);
    io::npy_array zeros;
    zeros.type = dtype::u1;
    zeros.shape = {std::size_t{8} << 20};
    zeros.data.assign(zeros.shape[0], '\0');
    io::save_npz(dir_ / "bomb.npz", {{"z", zeros}}, /*compress=*/true);
  }
  EXPECT_LT(fs::file_size(dir_ / "bomb.npz"), 64u << 10);
  const std::string npz_error = error_of([&] { (void)io::npz_read(dir_ / "bomb.npz"); });
  EXPECT_TRUE(over_limit(npz_error)) << npz_error;
  EXPECT_NE(npz_error.find("member 'z.npy'"), std::string::npos) << npz_error;
  // IDX, raw and gzip: a header asking for 1000 x 1000 x 1000 bytes is refused on its word, not
  // after reading (or inflating) what arrives.
  const std::string idx_header{'\0', '\0', '\x08', '\x03', 0, 0, 3, '\xe8', 0, 0, 3, '\xe8', 0, 0, 3, '\xe8'};
  write_all(dir_ / "big.idx", idx_header + std::string(4096, '\0'));
  EXPECT_TRUE(over_limit(error_of([&] { (void)io::load_idx_array(dir_ / "big.idx"); })));
  write_all(dir_ / "big.idx.gz", gzip_bytes(idx_header + std::string(std::size_t{4} << 20, '\0')));
  EXPECT_TRUE(over_limit(error_of([&] { (void)io::load_idx_array(dir_ / "big.idx.gz"); })));
  // Embeddings: 2^20 wanted rows x 16 values (128 MiB) from the first vector's dimension.
  write_all(dir_ / "vectors.txt", "the 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
  EXPECT_TRUE(over_limit(error_of([&] {
    (void)io::read_embeddings_text(dir_ / "vectors.txt", {{"the", 0}}, 1 << 20);
  })));
  EXPECT_EQ(io::read_embeddings_text(dir_ / "vectors.txt", {{"the", 0}}, 1000).dim, 16u);
  // Under a larger limit the same files get their ordinary answers.
  io::max_alloc_scope larger(std::uint64_t{16} << 20);
  EXPECT_EQ(io::npz_read(dir_ / "bomb.npz").at("z").size(), std::size_t{8} << 20);
  EXPECT_EQ(io::parse_npy(npy, "big.npy").size(), big.size());
  const std::string idx_error = error_of([&] { (void)io::load_idx_array(dir_ / "big.idx.gz"); });
  EXPECT_TRUE(over_limit(idx_error)) << idx_error;  // 1e9 bytes > 16 MiB still
}

TEST_F(IoTest, ArchiveRoundTrip) {
  io::archive a("pca", 2);
  matrix<double> c(2, 3);
  c << 1, 2, 3, 4, 5, 6;
  vector<double> mean(3);
  mean << 0.5, -1, 2;
  a.put("components", c);
  a.put("mean", mean);
  a.put("mean_ref", Eigen::Ref<const vector<double>>(mean));
  a.put("colmajor", Eigen::MatrixXd::Identity(2, 2));
  a.put_scalar("noise", 0.25);
  a.put_string("solver", "full svd");
  const auto p = dir_ / "pca.npz";
  io::save(p, a);
  const auto b = io::load(p, "pca", 2);
  EXPECT_EQ(b.kind(), "pca");
  EXPECT_EQ(b.version(), 2);
  EXPECT_EQ(b.get("components"), c);
  EXPECT_EQ(b.get_vector("mean"), mean);
  EXPECT_EQ(b.get_vector("mean_ref"), mean);
  EXPECT_EQ(b.get("mean").cols(), 1);
  EXPECT_EQ(b.get("colmajor"), matrix<double>::Identity(2, 2));
  EXPECT_EQ(b.get_scalar("noise"), 0.25);
  EXPECT_EQ(b.get_string("solver"), "full svd");
  EXPECT_TRUE(b.contains("mean"));
  EXPECT_FALSE(b.contains("__rnnabs__"));
  EXPECT_EQ(b.names().size(), 6u);
  // The file is a plain .npz: every entry is an array member, shapes as stored.
  const auto raw = io::npz_read(p);
  EXPECT_EQ(raw.at("mean").shape, std::vector<std::size_t>{3});
  EXPECT_EQ(raw.at("components").shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_TRUE(raw.at("noise").shape.empty());
  EXPECT_NE(raw.at("__rnnabs__").data.find("kind=pca\nversion=2\n"), std::string::npos);
}

TEST_F(IoTest, ArchiveRejectsWrongKindNewerVersionAndForeignFiles) {
  io::archive a("gmm", 3);
  a.put_scalar("k", 4);
  const auto p = dir_ / "gmm.npz";
  io::save(p, a);
  EXPECT_NO_THROW(io::load(p, "gmm", 5));
  try {
    io::load(p, "pca", 3);
    FAIL();
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find("'gmm'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'pca'"), std::string::npos) << e.what();
  }
  try {
    io::load(p, "gmm", 2);
    FAIL();
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find("version 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(io::load(fixture("all_dtypes.npz"), "gmm", 3), io_error);
  EXPECT_THROW(io::load(dir_ / "none.npz", "gmm", 3), io_error);
  const auto b = io::load(p, "gmm", 3);
  try {
    (void)b.get("means");
    FAIL();
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find("no entry 'means'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("gmm"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)b.get_string("k"), io_error);
  io::archive s("x", 1);
  s.put_string("name", "abc");
  EXPECT_THROW((void)s.get("name"), io_error);
  EXPECT_THROW((void)s.get_scalar("name"), io_error);
  s.put("m", matrix<double>::Zero(2, 2));
  EXPECT_THROW((void)s.get_scalar("m"), io_error);
  EXPECT_THROW((void)s.get_vector("m"), io_error);
  EXPECT_THROW(s.put_scalar("__rnnabs__", 1), rnnabs::invalid_argument);
  EXPECT_THROW(io::archive("", 1), rnnabs::invalid_argument);
  EXPECT_THROW(io::archive("a\nb", 1), rnnabs::invalid_argument);
}

// ---- data sets ---------------------------------------------------------------------------------------

TEST_F(IoTest, MnistLayoutLoaderAndClassSubsets) {
  fs::copy_file(fixture("tiny-images-idx3-ubyte.gz"), dir_ / "train-images-idx3-ubyte.gz");
  fs::copy_file(fixture("tiny-labels-idx1-ubyte.gz"), dir_ / "train-labels-idx1-ubyte.gz");
  const auto d = data::load_mnist(data::split::train, dir_);
  ASSERT_EQ(d.size(), 3);
  EXPECT_EQ(d.images.shape(), (std::array<std::size_t, 3>{3, 4, 5}));
  EXPECT_FLOAT_EQ(d.images(0, 0, 1), 4.0f / 255.0f);
  EXPECT_EQ(d.labels(2), 9);
  const auto sub = data::select_classes(d, {9, 7});
  ASSERT_EQ(sub.size(), 2);
  EXPECT_EQ(sub.labels(0), 1);  // first sample had label 7 -> position 1
  EXPECT_EQ(sub.labels(1), 0);
  EXPECT_EQ(sub.images(1, 0, 0), d.images(2, 0, 0));
  EXPECT_THROW(data::select_classes(d, {1, 1}), rnnabs::invalid_argument);
  try {
    data::load_fashion_mnist(data::split::test, dir_);
    FAIL();
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find("t10k-images-idx3-ubyte.gz"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("apt-get install dataset-fashion-mnist"), std::string::npos) << e.what();
  }
  // Images and labels that disagree on N.
  fs::copy_file(fixture("i2.idx"), dir_ / "t10k-labels-idx1-ubyte");
  fs::copy_file(fixture("tiny-images-idx3-ubyte.gz"), dir_ / "t10k-images.idx3-ubyte");
  EXPECT_THROW(data::load_mnist(data::split::test, dir_), io_error);
}

TEST(FashionMnist, RealDataWhenInstalled) {
  if (!fs::exists(data::fashion_mnist_dir / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  // Reference values from NumPy (tests/fixtures/make_io_fixtures.py --fashion-mnist, numpy 1.24.2):
  //   mean of x.astype(float32) / 255 as float64: train 0.2860406022, test 0.2868492860;
  //   6000 (train) / 1000 (test) images per class.
  struct expect_t {
    data::split s;
    std::size_t n;
    double mean;
  };
  for (const auto& e :
       {expect_t{data::split::train, 60000, 0.2860406022}, expect_t{data::split::test, 10000, 0.2868492860}}) {
    const auto d = data::load_fashion_mnist(e.s);
    ASSERT_EQ(d.images.shape(), (std::array<std::size_t, 3>{e.n, 28, 28}));
    ASSERT_EQ(d.labels.size(), e.n);
    std::vector<std::size_t> count(10, 0);
    for (auto y : d.labels) {
      ASSERT_TRUE(y >= 0 && y <= 9);
      ++count[static_cast<std::size_t>(y)];
    }
    for (auto c : count) EXPECT_EQ(c, e.n / 10);
    double sum = 0;
    for (float v : d.images) sum += v;
    EXPECT_NEAR(sum / static_cast<double>(d.images.size()), e.mean, 1e-9);
  }
}

}  // namespace io_io_tests
