// Self-test case of the side-by-side protocol (peer: numpy, see cases_selftest.py).
// The peer wrote A.npy, B.npy (float64, C order) and its product C_peer.npy, and timed A @ B.
// Here: the same product with Eigen, timed the same way (median of the same number of runs after
// one warm-up), then compared with the peer's C: max |C - C_peer| / max |C_peer|.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>
#include <xtensor/xtensor.hpp>
#include <xtensor/xnpy.hpp>

#include <rnnabs/core.hpp>

#include "compare_registry.hpp"

namespace compare_selftest_case {

constexpr int repeats = 7;  // keep equal to REPEATS in cases_selftest.py

rnnabs::compare::outcome selftest(const std::filesystem::path& wd) {
  // xt::load_npy returns a dynamic-layout adaptor; copying into xtensor<T, 2> makes it row-major.
  const xt::xtensor<double, 2> a_t = xt::load_npy<double>((wd / "A.npy").string());
  const xt::xtensor<double, 2> b_t = xt::load_npy<double>((wd / "B.npy").string());
  const xt::xtensor<double, 2> c_peer_t = xt::load_npy<double>((wd / "C_peer.npy").string());
  const auto a = rnnabs::as_eigen(a_t);
  const auto b = rnnabs::as_eigen(b_t);
  const auto c_peer = rnnabs::as_eigen(c_peer_t);
  rnnabs::require(a.cols() == b.rows(), "selftest: A is ", a.rows(), "x", a.cols(), ", B is ", b.rows(), "x", b.cols());

  rnnabs::matrix<double> c(a.rows(), b.cols());
  c.noalias() = a * b;  // warm-up
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    c.noalias() = a * b;
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + repeats / 2, t.end());

  rnnabs::compare::outcome o;
  o.seconds = t[repeats / 2];
  const double scale = std::max(c_peer.cwiseAbs().maxCoeff(), 1e-300);
  o.max_rel_err = (c - c_peer).cwiseAbs().maxCoeff() / scale;
  o.equal = c.rows() == c_peer.rows() && c.cols() == c_peer.cols() && o.max_rel_err <= 1e-12;
  o.detail = rnnabs::detail::concat("C=A*B ", a.rows(), "x", a.cols(), " * ", b.rows(), "x", b.cols(),
                                    " float64, median of ", repeats, ", err=max|C-C_peer|/max|C_peer| tol=1e-12");
  return o;
}

[[maybe_unused]] const bool registered = rnnabs::compare::add("selftest", selftest);

}  // namespace compare_selftest_case
