// rnnabs side of the GMM cases (peer: sklearn, see cases_gmm.py for the protocol).
// Per-iteration cost, measured differentially like the peer: (fit with BASE+ITERS iterations − fit with
// BASE iterations) / ITERS, from the same initial parameters, tol = 0. Then the final parameters and
// lower bound are compared with sklearn's.
#include <chrono>
#include <filesystem>

#include <rnnabs/io/npy.hpp>
#include <rnnabs/stats/gmm.hpp>

#include "compare_registry.hpp"

namespace compare_gmm_case {

using namespace rnnabs;
namespace fs = std::filesystem;

constexpr index_t base = 1, repeats = 2;  // keep in sync with BASE / REPEATS / iters_for() in cases_gmm.py
index_t iters_for(index_t n) { return n <= 200000 ? 5 : 2; }

double rel(const matrix<double>& a, const matrix<double>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return 1e300;
  return (a - b).cwiseAbs().maxCoeff() / std::max(b.cwiseAbs().maxCoeff(), 1e-300);
}

compare::case_fn make_case(covariance_type cov) {
  return [cov](const fs::path& wd) {
    const matrix<double> X = io::load_npy_matrix<double>(wd / "X.npy");
    gmm_parameters p0;
    p0.weights = io::load_npy_matrix<double>(wd / "weights0.npy").col(0);
    p0.means = io::load_npy_matrix<double>(wd / "means0.npy");
    p0.covariances = io::load_npy_matrix<double>(wd / "covariances0.npy");
    const index_t K = p0.means.rows(), iters = iters_for(X.rows());
    auto fit = [&](index_t max_iter, gaussian_mixture& g) {
      g = gaussian_mixture({.n_components = K,
                            .covariance = cov,
                            .tol = 0,
                            .reg_covar = 1e-6,
                            .max_iter = max_iter,
                            .on_degenerate = degenerate_policy::keep});
      const auto t0 = std::chrono::steady_clock::now();
      g.fit(X, p0);
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    gaussian_mixture a, b;
    fit(base, a);  // warm-up, as on the peer's side
    double t_base = 1e300, t_full = 1e300;
    for (index_t r = 0; r < repeats; ++r) {
      t_base = std::min(t_base, fit(base, a));
      t_full = std::min(t_full, fit(base + iters, b));
    }
    require(t_full > t_base, "gmm case: timing noise exceeds the differential (", base + iters, " iterations took ",
            t_full, " s, ", base, " took ", t_base, " s)");
    compare::outcome o;
    o.seconds = (t_full - t_base) / static_cast<double>(iters);
    const double lb_peer = io::load_npy_matrix<double>(wd / "peer_lower_bound.npy")(0, 0);
    const double e_lb = std::abs(b.lower_bound() - lb_peer) / std::abs(lb_peer);
    const double e_w = rel(b.weights(), io::load_npy_matrix<double>(wd / "peer_weights.npy"));
    const double e_m = rel(b.means(), io::load_npy_matrix<double>(wd / "peer_means.npy"));
    const double e_c = rel(b.covariances(), io::load_npy_matrix<double>(wd / "peer_covariances.npy"));
    o.max_rel_err = std::max({e_lb, e_w, e_m, e_c});
    o.equal = o.max_rel_err <= 1e-8;
    o.detail = detail::concat(to_string(cov), "_N=", X.rows(), "_D=", X.cols(), "_K=", K, "_per_iteration_of_", iters,
                              "_after_", base, "_err(lower_bound,weights,means,covariances)_tol=1e-8");
    return o;
  };
}

[[maybe_unused]] const bool r1 = compare::add("gmm_diag_200k", make_case(covariance_type::diag));
[[maybe_unused]] const bool r2 = compare::add("gmm_full_200k", make_case(covariance_type::full));
[[maybe_unused]] const bool r3 = compare::add("gmm_diag_1680k", make_case(covariance_type::diag));
[[maybe_unused]] const bool r4 = compare::add("gmm_full_1680k", make_case(covariance_type::full));

}  // namespace compare_gmm_case
