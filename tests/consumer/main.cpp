// Downstream use of the installed headers: rng, deterministic reduction, the xtensor <-> Eigen bridge.
#include <cstdio>
#include <string>
#include <xtensor/xtensor.hpp>

#include <rnnabs/core.hpp>
#include <rnnabs/version.hpp>

int main() {
  int bad = 0;
  const std::string version = std::to_string(rnnabs::version_major) + "." + std::to_string(rnnabs::version_minor) +
                              "." + std::to_string(rnnabs::version_patch);
  if (version != EXPECT_VERSION) {
    std::printf("version.hpp says %s, package says %s\n", version.c_str(), EXPECT_VERSION);
    ++bad;
  }
#if defined(_OPENMP)
  const bool openmp = true;
#else
  const bool openmp = false;
#endif
  if (openmp != static_cast<bool>(EXPECT_OPENMP)) {
    std::printf("OpenMP: compiled with %d, package says %d\n", int(openmp), int(EXPECT_OPENMP));
    ++bad;
  }

  rnnabs::rng g(42);
  xt::xtensor<double, 2> x({1000, 3});
  for (auto& v : x) v = g.normal();
  const auto m = rnnabs::as_eigen(x);  // no copy
  const double total = rnnabs::chunked_reduce(
      m.rows(), 128, 0.0,
      [&](rnnabs::index_t b, rnnabs::index_t e, double& acc) { acc += m.middleRows(b, e - b).sum(); },
      [](double& t, const double& p) { t += p; });
  if (!(total == total) || rnnabs::rng(42)() != rnnabs::rng(42)()) ++bad;
  try {
    rnnabs::require(false, "consumer: expected error");
    ++bad;
  } catch (const rnnabs::invalid_argument&) {
  }
  std::printf("consumer: rnnabs %s openmp=%d threads=%d sum=%.6f %s\n", version.c_str(), int(openmp),
              rnnabs::max_threads(), total, bad ? "FAILED" : "ok");
  return bad ? 1 : 0;
}
