// Tests of io/png.hpp: what save_png writes, decoded again by libpng's reader, equals the image
// (gray levels rounded from [0, 1]); grids place every tile; bad input and failed writes are typed
// errors that leave no file behind.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <limits>
#include <vector>

#include <rnnabs/core/types.hpp>

#include "../common/error_of.hpp"

#if defined(RNNABS_HAVE_PNG)
#include <rnnabs/io/png.hpp>

namespace io_png_tests {

namespace fs = std::filesystem;
using namespace rnnabs;
using rnnabs_tests::error_of;

/// Decodes an 8-bit gray PNG with libpng's simplified reader (independent of the writer's code).
io::gray8 read_png(const fs::path& p) {
  png_image im{};
  im.version = PNG_IMAGE_VERSION;
  EXPECT_NE(png_image_begin_read_from_file(&im, p.c_str()), 0) << im.message;
  im.format = PNG_FORMAT_GRAY;
  io::gray8 g(static_cast<index_t>(im.height), static_cast<index_t>(im.width));
  EXPECT_NE(png_image_finish_read(&im, nullptr, g.data(), static_cast<png_int_32>(im.width), nullptr), 0) << im.message;
  png_image_free(&im);
  return g;
}

fs::path temp_dir() {
  auto d = fs::temp_directory_path() / ("rnnabs_png_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

TEST(Png, WrittenPixelsDecodeToTheImage) {
  matrix<double> im(3, 5);
  im << 0, 0.25, 0.5, 0.75, 1,         //
      -1, 2, 0.002, 0.998, 0.5 / 255,  //
      0.1, 0.2, 0.3, 0.4, 0.6;
  const auto p = temp_dir() / "pixels.png";
  io::save_png(p, im);
  const io::gray8 g = read_png(p);
  ASSERT_EQ(g.rows(), 3);
  ASSERT_EQ(g.cols(), 5);
  const int expect[3][5] = {
      {0, 64, 128, 191, 255}, {0, 255, 1, 254, 1}, {26, 51, 77, 102, 153}};  // round(255 v), clamped
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 5; ++c) EXPECT_EQ(g(r, c), expect[r][c]) << r << "," << c;
  io::gray8 u(2, 2);
  u << 0, 7, 200, 255;
  io::save_png(p, u);
  EXPECT_EQ(read_png(p), u);
}

TEST(Png, GridPlacesEveryTileRowByRow) {
  std::vector<io::gray8> tiles;
  for (int k = 0; k < 5; ++k) tiles.push_back(io::gray8::Constant(2, 3, static_cast<std::uint8_t>(10 * (k + 1))));
  const io::gray8 g = io::image_grid(tiles, {.columns = 2, .padding = 1, .background = 0});
  ASSERT_EQ(g.rows(), 3 * (2 + 1) + 1);
  ASSERT_EQ(g.cols(), 2 * (3 + 1) + 1);
  for (int k = 0; k < 5; ++k) {
    const index_t r0 = 1 + (k / 2) * 3, c0 = 1 + (k % 2) * 4;
    EXPECT_TRUE((g.block(r0, c0, 2, 3).array() == static_cast<std::uint8_t>(10 * (k + 1))).all()) << "tile " << k;
  }
  EXPECT_EQ(g.block(7, 5, 2, 3).maxCoeff(), 0);  // the empty sixth slot is background
  EXPECT_EQ(g.row(0).maxCoeff(), 0);
}

TEST(Png, BadInputIsATypedErrorAndLeavesNoFile) {
  const auto d = temp_dir();
  matrix<float> nan = matrix<float>::Zero(2, 2);
  nan(1, 1) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error_of([&] { io::save_png(d / "nan.png", nan); }).find("NaN"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "nan.png"));
  EXPECT_THROW(io::save_png(d / "empty.png", matrix<float>(0, 3)), invalid_argument);
  EXPECT_THROW(io::image_grid(std::vector<matrix<float>>{}), invalid_argument);
  EXPECT_NE(error_of([&] {
              io::image_grid(std::vector<matrix<float>>{matrix<float>::Zero(2, 2), matrix<float>::Zero(3, 2)});
            }).find("image 1 is 3 x 2"),
            std::string::npos);
  EXPECT_THROW(io::save_png(d / "no" / "such" / "dir.png", matrix<float>::Zero(2, 2).eval()), io_error);
  // A failed rewrite keeps the old picture.
  const io::gray8 old = io::gray8::Constant(2, 2, 9);
  io::save_png(d / "keep.png", old);
  EXPECT_THROW(io::save_png(d / "keep.png", nan), invalid_argument);
  EXPECT_EQ(read_png(d / "keep.png"), old);
}

}  // namespace io_png_tests

#else
TEST(Png, Off) { GTEST_SKIP() << "built without libpng (RNNABS_WITH_PNG off or libpng-dev missing)"; }
#endif
