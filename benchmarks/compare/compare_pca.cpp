// rnnabs side of the PCA case (peer: sklearn's default PCA(n_components=10).fit, see cases_pca.py).
// Times pca.fit (default covariance_eigh solver) on the same float32 X, median of 3 runs like the
// peer, then compares explained variance (relative, per component), components (up to sign,
// relative to their unit norm) and the mean with the peer's saved outputs.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

#include <rnnabs/io/npy.hpp>
#include <rnnabs/stats/pca.hpp>

#include "compare_registry.hpp"

namespace {

using namespace rnnabs;
namespace fs = std::filesystem;

// sklearn works in float32 throughout (centring, randomized range finder); rnnabs accumulates the
// covariance in double. Agreement is limited by float32 rounding on sklearn's side: ~1e-6 on the
// variances, and ~eps_f32 · λ1 / gap on the components.
constexpr double tolerance = 1e-4;

compare::outcome pca_case(const fs::path& wd, index_t k) {
  const matrix<float> x = io::load_npy_matrix<float>(wd / "X.npy");
  std::vector<double> times;
  pca p;
  for (int r = 0; r < 3; ++r) {
    p = pca(k);
    const auto t0 = std::chrono::steady_clock::now();
    p.fit(x);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());

  const vector<double> ev_peer = io::load_npy_matrix<double>(wd / "explained_variance.npy").col(0);
  const matrix<double> comp_peer = io::load_npy_matrix<double>(wd / "components.npy");
  const vector<double> mean_peer = io::load_npy_matrix<double>(wd / "mean.npy").col(0);
  compare::outcome o;
  o.seconds = times[1];
  double e_ev = 0, e_comp = 0, e_mean = 0;
  if (ev_peer.size() != k || comp_peer.rows() != k || comp_peer.cols() != x.cols()) {
    e_ev = e_comp = 1e300;
  } else {
    for (index_t i = 0; i < k; ++i) {
      e_ev = std::max(e_ev, std::abs(p.explained_variance()(i) - ev_peer(i)) / ev_peer(i));
      const double s = p.components().row(i).dot(comp_peer.row(i)) < 0 ? -1.0 : 1.0;
      e_comp = std::max(e_comp, (s * p.components().row(i) - comp_peer.row(i)).cwiseAbs().maxCoeff());
    }
    e_mean = (p.mean() - mean_peer).cwiseAbs().maxCoeff() / std::max(mean_peer.cwiseAbs().maxCoeff(), 1e-300);
  }
  o.max_rel_err = std::max({e_ev, e_comp, e_mean});
  o.equal = o.max_rel_err <= tolerance;
  o.detail = detail::concat("fit_N=", x.rows(), "_D=", x.cols(), "_k=", k, "_float32_median_of_3",
                            "_err(explained_variance=", e_ev, ",components=", e_comp, ",mean=", e_mean,
                            ")_tol=", tolerance);
  return o;
}

[[maybe_unused]] const bool r1 = compare::add("pca_1680k", [](const fs::path& wd) { return pca_case(wd, 10); });

}  // namespace
