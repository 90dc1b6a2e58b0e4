// Downstream use of rnnabs::zip: zlib and minizip must be found through the installed package.
#include <cstdio>

#include <rnnabs/core.hpp>

#if EXPECT_ZIP
#include <unzip.h>
#include <zlib.h>
#endif

int main() {
#if EXPECT_ZIP
#if !defined(RNNABS_HAVE_ZIP)
  std::printf("consumer: rnnabs::zip does not define RNNABS_HAVE_ZIP\n");
  return 1;
#endif
  // Opening a file that does not exist exercises minizip's link; zlibVersion() zlib's.
  unzFile f = unzOpen("/nonexistent/rnnabs-consumer.zip");
  std::printf("consumer: zip ok (zlib %s, minizip %s)\n", zlibVersion(), f == nullptr ? "linked" : "??");
  if (f) unzClose(f);
  return f == nullptr ? 0 : 1;
#else
  std::printf("consumer: rnnabs was installed without zip support\n");
  return 0;
#endif
}
