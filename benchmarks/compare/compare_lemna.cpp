// rnnabs side of the lemna_explain case (peer: a NumPy ADMM of the released code's fused lasso, see
// cases_lemna.py): the surrogate step of one LEMNA explanation in the released configuration (raw token
// values, one component, no intercept, λ = √(n ln p)), median of `repeats` runs, coefficients checked.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

#include <rnnabs/explain/lemna.hpp>
#include <rnnabs/io/npy.hpp>

#include "compare_registry.hpp"

namespace compare_lemna_case {

using namespace rnnabs;
namespace fs = std::filesystem;

constexpr int repeats = 7;  // keep in sync with REPEATS in cases_lemna.py

compare::outcome run(const fs::path& wd) {
  const matrix<double> X = io::load_npy_matrix<double>(wd / "X.npy");
  const vector<double> y = io::load_npy_matrix<double>(wd / "y.npy").reshaped();
  const index_t p = X.cols();
  index_vector pos(p);
  for (index_t j = 0; j < p; ++j) pos(j) = j;
  const lemna ex({.mixture = {.n_components = 1, .fit_intercept = false}, .design = design_mode::raw_values});
  lemna_explanation e = ex.explain_samples(X, y, pos, p / 2);  // warm-up
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    e = ex.explain_samples(X, y, pos, p / 2);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + repeats / 2, t.end());
  const vector<double> peer = io::load_npy_matrix<double>(wd / "peer_beta.npy").reshaped();
  compare::outcome o;
  o.seconds = t[repeats / 2];
  o.max_rel_err = peer.size() == p ? (e.importance - peer).cwiseAbs().maxCoeff() / peer.cwiseAbs().maxCoeff() : 1e300;
  o.equal = o.max_rel_err <= 1e-6 && e.model.converged;
  o.detail = detail::concat("fused_lasso_n=", X.rows(), "_p=", p, "_lambda=", e.model.lambda_tv,
                            "_raw_design_K=1_median_of_", repeats, "_err(beta)_tol=1e-6");
  return o;
}

[[maybe_unused]] const bool reg = compare::add("lemna_explain", run);

}  // namespace compare_lemna_case
