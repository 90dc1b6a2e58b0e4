// Downstream use of rnnabs::png: libpng must be found through the installed package, and
// io/png.hpp must write a picture with it.
#include <cstdio>

#include <rnnabs/core.hpp>

#if EXPECT_PNG
#include <rnnabs/io/png.hpp>
#endif

int main() {
#if EXPECT_PNG
  rnnabs::matrix<float> im = rnnabs::matrix<float>::Zero(4, 6);
  im(1, 2) = 1.0F;
  rnnabs::io::save_png("consumer.png", im);
  std::printf("consumer: png ok (libpng %s)\n", PNG_LIBPNG_VER_STRING);
  return 0;
#else
  std::printf("consumer: rnnabs was installed without PNG support\n");
  return 0;
#endif
}
