// Tests of the image mutators (repair/image_ops.hpp, repair/mutators.hpp) against OpenCV 4
// (tests/fixtures/make_mutator_fixtures.py writes tests/fixtures/repair/mutators.npz) and closed forms,
// and of DeepHunter's constrained mutation.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <rnnabs/io/npz.hpp>
#include <rnnabs/repair/mutators.hpp>
#include <string>

#include "../common/error_of.hpp"

namespace repair_mutator_tests {

using namespace rnnabs;
using rnnabs_tests::error_of;
using u8 = std::uint8_t;

const std::map<std::string, io::npy_array>& fixtures() {
  static const auto all = io::npz_read(std::filesystem::path(RNNABS_TEST_DATA) / "repair" / "mutators.npz");
  return all;
}

template <class T>
matrix<T> fixture(const std::string& name) {
  const auto it = fixtures().find(name);
  if (it == fixtures().end()) throw std::runtime_error("no fixture member " + name);
  return io::to_matrix<double>(it->second).cast<T>();
}

struct op_case {
  std::string key;  // the fixture's "{op}_{param}" as Python prints it
  std::function<matrix<double>(const matrix<double>&, double max)> f64;
  std::function<matrix<u8>(const matrix<u8>&)> f8;
  double tol_f32;  // vs OpenCV on float32 images in [0, 1]: float32 rounding (measured <= 3.2e-7)
  double tol_u8;   // vs OpenCV on uint8, gray levels: OpenCV's integer weights and rounding
};

std::vector<op_case> cases() {
  std::vector<op_case> c;
  const auto geo = [&](const std::string& name, double p, const std::string& ps, auto fn) {
    c.push_back({name + "_" + ps, [=](const matrix<double>& x, double m) { return fn(x, p, m); },
                 [=](const matrix<u8>& x) { return fn(x, p, 255.0); }, 5e-7, 1});
  };
  const auto tr = [](const auto& x, double p, double m) { return image::translate(x, p, m); };
  const auto ro = [](const auto& x, double p, double m) { return image::rotate(x, p, m); };
  const auto sh = [](const auto& x, double p, double m) { return image::shear(x, p, m); };
  const auto sc = [](const auto& x, double p, double m) { return image::scale(x, p, m); };
  geo("translation", -3, "-3", tr);
  geo("translation", 2, "2", tr);
  geo("rotation", -50, "-50", ro);
  geo("rotation", -37, "-37", ro);
  geo("rotation", 13.5, "13.5", ro);
  geo("rotation", 49, "49", ro);
  geo("shear", -0.6, "-0.6", sh);
  geo("shear", 0.3, "0.3", sh);
  geo("scale", 0.7, "0.7", sc);
  geo("scale", 1.1, "1.1", sc);
  for (const index_t k : {3, 4, 5})
    c.push_back({"box_" + std::to_string(k),
                 [=](const matrix<double>& x, double m) { return image::box_blur(x, k, m); },
                 [=](const matrix<u8>& x) { return image::box_blur(x, k); }, 5e-7, 1});
  for (const index_t k : {3, 5, 7})
    c.push_back({"gaussian_" + std::to_string(k),
                 [=](const matrix<double>& x, double m) { return image::gaussian_blur(x, k, m); },
                 [=](const matrix<u8>& x) { return image::gaussian_blur(x, k); }, 5e-7, 1});
  for (const index_t k : {3, 5})
    c.push_back({"median_" + std::to_string(k),
                 [=](const matrix<double>& x, double m) { return image::median_blur(x, k, m); },
                 [=](const matrix<u8>& x) { return image::median_blur(x, k); }, 5e-7, 0});
  c.push_back({"bilateral_6", [](const matrix<double>& x, double m) { return image::bilateral(x, 6, 50, 50, m); },
               [](const matrix<u8>& x) { return image::bilateral(x, 6, 50, 50); }, 5e-7, 1});
  return c;
}

TEST(ImageOps, MatchOpenCvOnItsFixtures) {
  for (int i = 0; i < 3; ++i) {
    const auto img8 = fixture<u8>("img" + std::to_string(i));
    const matrix<double> imgf = img8.cast<double>() / 255.0;
    for (const auto& c : cases()) {
      const auto want8 = fixture<double>("u8_" + std::to_string(i) + "_" + c.key);
      const auto wantf = fixture<double>("f32_" + std::to_string(i) + "_" + c.key);
      const double e8 = (c.f8(img8).cast<double>() - want8).cwiseAbs().maxCoeff();
      const double ef = (c.f64(imgf, 1.0) - wantf).cwiseAbs().maxCoeff();
      EXPECT_LE(e8, c.tol_u8) << c.key << " on image " << i << " (uint8)";
      EXPECT_LE(ef, c.tol_f32) << c.key << " on image " << i << " (float)";
    }
  }
}

TEST(ImageOps, ContrastAndBrightnessMatchOpenCvExactly) {
  for (int i = 0; i < 3; ++i) {
    const std::string s = std::to_string(i);
    const matrix<u8> img = fixture<u8>("img" + s);
    EXPECT_EQ(image::contrast(img, 0.5), fixture<u8>("u8_" + s + "_contrast_0.5"));
    EXPECT_EQ(image::contrast(img, 1.2), fixture<u8>("u8_" + s + "_contrast_1.2"));
    EXPECT_EQ(image::brightness(img, -20), fixture<u8>("u8_" + s + "_brightness_-20"));
    EXPECT_EQ(image::brightness(img, 19), fixture<u8>("u8_" + s + "_brightness_19"));
  }
}

TEST(ImageOps, ClosedForms) {
  const matrix<double> img = fixture<double>("img1") / 255.0;
  EXPECT_EQ(image::rotate(img, 0.0), img);
  EXPECT_EQ(image::scale(img, 1.0), img);
  EXPECT_EQ(image::shear(img, 0.0), img);
  EXPECT_EQ(image::contrast(img, 1.0), img);
  // A translation and its inverse give the image back where no pixel left the frame.
  const auto back = image::translate(image::translate(img, 2.0), -2.0);
  EXPECT_EQ(back.topLeftCorner(26, 26), img.topLeftCorner(26, 26));
  EXPECT_TRUE(back.bottomRows(2).isZero());
  // Brightness saturates at the range's ends, in the image's own units.
  EXPECT_TRUE((image::brightness(img, 255.0).array() == 1.0).all());
  EXPECT_TRUE((image::brightness(img, -255.0).array() == 0.0).all());
  const matrix<u8> grey = matrix<u8>::Constant(4, 4, 250);
  EXPECT_TRUE((image::brightness(grey, 19.0).array() == 255).all());
  // A 90° rotation of a square image is a transpose-and-flip (exact on the pixel grid).
  const matrix<double> sq = img.topLeftCorner(28, 28);
  const matrix<double> r90 = image::rotate(sq, 90.0);
  for (index_t y = 1; y < 28; ++y)
    for (index_t x = 1; x < 28; ++x) ASSERT_DOUBLE_EQ(r90(y, x), sq(x, 28 - y)) << y << "," << x;
}

TEST(ImageOps, BadInputIsATypedError) {
  matrix<double> img = matrix<double>::Zero(5, 5);
  img(2, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(error_of([&] { image::rotate(img, 3.0); }).find("non-finite pixel"), std::string::npos);
  EXPECT_THROW(image::box_blur(matrix<double>(0, 3), 3), invalid_argument);
  EXPECT_THROW(image::gaussian_blur(matrix<double>::Zero(4, 4).eval(), 4), invalid_argument);
  EXPECT_THROW(image::median_blur(matrix<double>::Zero(4, 4).eval(), 7), invalid_argument);
  EXPECT_THROW(image::scale(matrix<double>::Zero(4, 4).eval(), -1.0), invalid_argument);
}

// ---- mutators and the constrained mutation ----------------------------------------------------------

TEST(Mutators, GridsAndClassesAreDeepHuntersAndRnnRepairs) {
  EXPECT_EQ(parameter_grid(mutator::translation).size(), 6u);
  EXPECT_EQ(parameter_grid(mutator::rotation).size(), 100u);
  EXPECT_EQ(parameter_grid(mutator::shear).size(), 12u);
  EXPECT_NEAR(parameter_grid(mutator::contrast).back(), 1.2, 1e-12);
  EXPECT_EQ(parameter_grid(mutator::blur).size(), 9u);
  for (const mutator m : all_mutators)
    EXPECT_EQ(is_geometric(m),
              m == mutator::translation || m == mutator::scale || m == mutator::shear || m == mutator::rotation)
        << to_string(m);
  // Every grid value applies to a uint8 and a float image.
  rng g(3);
  const auto img = fixture<u8>("img0");
  for (const mutator m : all_mutators)
    for (const double p : parameter_grid(m)) {
      EXPECT_EQ(apply_mutator(img, m, p, g).size(), img.size());
      const matrix<float> f = img.cast<float>() / 255.0f;
      const auto out = apply_mutator(f, m, p, g);
      EXPECT_TRUE((out.array() >= 0).all() && (out.array() <= 1).all()) << to_string(m) << " " << p;
    }
}

TEST(Mutators, DistancesAreSigned) {
  const matrix<u8> a = matrix<u8>::Constant(2, 2, 3), b = matrix<u8>::Constant(2, 2, 5);
  const auto [l0, linf] = image_distances(a, b);
  EXPECT_EQ(l0, 4);
  EXPECT_EQ(linf, 2.0);  // uint8 subtraction would have said 254
}

TEST(Mutators, ConstrainedMutationFollowsTheAcceptanceRule) {
  const matrix<u8> img = matrix<u8>::Constant(28, 28, 100);
  // contrast p changes every pixel by |p - 1| * 100 levels: with beta 0.1 (25.5 levels) only p >= 0.8 pass.
  mutate_options o{.tries = 1, .alpha = 0.02, .beta = 0.1, .mutators = {mutator::contrast}};
  index_t accepted = 0, rejected = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    rng g(seed);
    const auto r = mutate(img, g, o);
    if (r.accepted) {
      ++accepted;
      EXPECT_GE(r.parameter, 0.8 - 1e-9);
      EXPECT_FALSE(r.geometric_used);
    } else {
      ++rejected;
      EXPECT_EQ(r.image, img);
    }
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);
  // L0 alone admits a few changed pixels whatever their size: 9 < 0.02 * 784.
  mutate_options few{.tries = 1, .alpha = 0.02, .beta = 0.0, .mutators = {mutator::pixel_change}};
  rng g(5);
  EXPECT_TRUE(mutate(img, g, few).accepted);
  // At most one geometric mutation per lineage; it becomes the reference.
  mutate_options geo{.tries = 20, .mutators = {mutator::rotation}};
  rng g2(1);
  const auto first = mutate(img, g2, geo);
  ASSERT_TRUE(first.accepted);
  EXPECT_TRUE(first.geometric_used);
  EXPECT_EQ(first.reference, first.image);
  geo.geometric_used = true;
  const auto second = mutate(first.image, first.reference, g2, geo);
  EXPECT_FALSE(second.accepted);
  EXPECT_EQ(second.tries, 20);
}

TEST(Mutators, SameSeedSameMutant) {
  const auto img = fixture<u8>("img1");
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    rng a(seed), b(seed);
    const auto x = mutate(img, a), y = mutate(img, b);
    EXPECT_EQ(x.image, y.image);
    EXPECT_EQ(x.op, y.op);
    EXPECT_EQ(x.parameter, y.parameter);
  }
}

}  // namespace repair_mutator_tests
