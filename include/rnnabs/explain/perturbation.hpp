#pragma once
// Perturbation sampling around one instance, for local surrogates (LEMNA, LIME-style baselines).
//
// Sequences (LEMNA's function-start setting): a window of 2h+1 cells centred on the target position t;
// each sample nullifies k ~ U{1, …, p−1} distinct cells (p = cells inside the sequence; the released code
// uses k ~ U{1, …, 2h} over all 2h+1 cells) by setting them to `null_token`, and writes the window back at
// the right place: position t−h+i ← W_r[i] for every i with 0 ≤ t−h+i < L. Cells outside the sequence are not
// features at all (the released code kept them as all-zero columns and, near the sequence ends, wrote the
// window back shifted; here both are fixed).
// Features (tabular, images): each sample keeps every feature independently with probability
// `keep_probability` (LIME), or nullifies k ~ U{1, …, p−1} of them (LEMNA-style); nullified features take the
// caller's null value.
// Row 0 is always the unperturbed instance. The design matrix is the 0/1 "kept" mask by default
// (design_mode::mask, fit with an intercept); design_mode::raw_values gives the released code's regressors
// (the kept cells' token values, 0 when nullified; no intercept).
//
//   auto s = rnnabs::perturb_window(seq, t, {.half_width = 20, .n_samples = 500, .seed = 7});
//   rnnabs::vector<double> y = scorer(s.inputs);   // one score per perturbed sequence
//   rnnabs::matrix<double> X = s.design(rnnabs::design_mode::mask);
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"

namespace rnnabs {

/// Regressors of the surrogate: the 0/1 kept-mask (recommended) or the raw kept values (as coded).
enum class design_mode { mask, raw_values };

/// A batch of token sequences, the input of a sequence black box.
using token_batch = std::vector<index_vector>;

struct window_options {
  index_t half_width = 20;  // h: the window has 2h+1 cells (LEMNA: 20, its patching script: 10)
  index_t n_samples = 500;  // perturbed samples (plus the original as row 0)
  index_t null_token = 0;   // value of a nullified cell (LEMNA's tokens are byte+1, 0 = nullified)
  std::uint64_t seed = 0;
  bool pin_target = false;  // keep the target position unperturbed in every sample (released "Fixed")
};

/// Samples around one position of one sequence.
struct window_samples {
  index_t target = 0;      // t
  index_vector positions;  // sequence position of each design column (the window cells inside [0, L))
  index_vector tokens;     // original token of each design column
  matrix<double> mask;     // (n+1) × p, 1 = kept; row 0 all ones
  token_batch inputs;      // n+1 full sequences, inputs[0] = the original
  /// (n+1) × p regressors: the mask, or kept tokens' values (0 where nullified).
  matrix<double> design(design_mode m) const {
    if (m == design_mode::mask) return mask;
    matrix<double> d = mask;
    for (index_t j = 0; j < d.cols(); ++j) d.col(j) *= static_cast<double>(tokens(j));
    return d;
  }
};

/// Window perturbations around sequence position `target`; invalid_argument for an empty sequence, a
/// target outside it, h < 0, n_samples < 1.
inline window_samples perturb_window(const index_vector& seq, index_t target, const window_options& o = {});

struct mask_options {
  index_t n_samples = 500;
  double keep_probability = 0.5;  // Bernoulli keep rate; ≤ 0 selects LEMNA-style k ~ U{1..p−1} nullified
  std::uint64_t seed = 0;
};

/// Samples around one feature vector.
template <class T>
struct feature_samples {
  matrix<double> mask;  // (n+1) × p, 1 = kept; row 0 all ones
  matrix<T> inputs;     // (n+1) × p: x where kept, null_value where not
  vector<T> instance;   // x
  matrix<double> design(design_mode m) const {
    if (m == design_mode::mask) return mask;
    matrix<double> d = mask;
    for (index_t j = 0; j < d.cols(); ++j) d.col(j) *= static_cast<double>(instance(j));
    return d;
  }
};

/// Feature-mask perturbations of x (p); `null_value` has p entries (the "absent" value of each feature).
template <class T>
feature_samples<T> perturb_features(const vector<T>& x, const vector<T>& null_value, const mask_options& o = {});

// ---- implementation -------------------------------------------------------------------------------

namespace detail {
/// k distinct indices of [0, p) (partial Fisher–Yates), written into the first k entries of `idx`.
inline void choose_distinct(rng& g, std::vector<index_t>& idx, index_t p, index_t k) {
  idx.resize(static_cast<std::size_t>(p));
  std::iota(idx.begin(), idx.end(), index_t{0});
  for (index_t i = 0; i < k; ++i) {
    const auto j = i + static_cast<index_t>(g.below(static_cast<std::uint64_t>(p - i)));
    std::swap(idx[static_cast<std::size_t>(i)], idx[static_cast<std::size_t>(j)]);
  }
}
}  // namespace detail

inline window_samples perturb_window(const index_vector& seq, index_t target, const window_options& o) {
  const index_t L = seq.size(), h = o.half_width;
  require(L > 0, "perturb_window: the sequence is empty");
  require(target >= 0 && target < L, "perturb_window: target ", target, " is outside the sequence [0, ", L, ")");
  require(h >= 0, "perturb_window: half_width must be >= 0, got ", h);
  require(o.n_samples >= 1, "perturb_window: n_samples must be >= 1, got ", o.n_samples);
  const index_t first = std::max<index_t>(0, target - h), last = std::min<index_t>(L - 1, target + h);
  window_samples s;
  s.target = target;
  const index_t p = last - first + 1;
  s.positions.resize(p);
  s.tokens.resize(p);
  for (index_t j = 0; j < p; ++j) {
    s.positions(j) = first + j;
    s.tokens(j) = seq(first + j);
  }
  // Cells that may be nullified (all, or all but the target when pinned).
  std::vector<index_t> free_cells;
  for (index_t j = 0; j < p; ++j)
    if (!(o.pin_target && first + j == target)) free_cells.push_back(j);
  const auto nf = static_cast<index_t>(free_cells.size());
  require(nf >= 1, "perturb_window: the window around ", target, " has no cell to perturb (half_width = ", h,
          ", sequence length ", L, ")");
  const index_t n = o.n_samples;
  s.mask = matrix<double>::Ones(n + 1, p);
  s.inputs.assign(static_cast<std::size_t>(n + 1), seq);
  rng g(o.seed);
  std::vector<index_t> idx;
  const index_t kmax = std::max<index_t>(1, nf - (o.pin_target ? 0 : 1));
  for (index_t r = 1; r <= n; ++r) {
    const auto k = 1 + static_cast<index_t>(g.below(static_cast<std::uint64_t>(kmax)));
    detail::choose_distinct(g, idx, nf, k);
    auto& in = s.inputs[static_cast<std::size_t>(r)];
    for (index_t i = 0; i < k; ++i) {
      const index_t j = free_cells[static_cast<std::size_t>(idx[static_cast<std::size_t>(i)])];
      s.mask(r, j) = 0.0;
      in(first + j) = o.null_token;  // position t−h+i ← W_r[i], only inside the sequence
    }
  }
  return s;
}

template <class T>
feature_samples<T> perturb_features(const vector<T>& x, const vector<T>& null_value, const mask_options& o) {
  const index_t p = x.size();
  require(p > 0, "perturb_features: the instance is empty");
  require(null_value.size() == p, "perturb_features: null_value has ", null_value.size(), " entries, x has ", p);
  require_finite(x, "perturb_features", "x");
  require_finite(null_value, "perturb_features", "null_value");
  require(o.n_samples >= 1, "perturb_features: n_samples must be >= 1, got ", o.n_samples);
  require(o.keep_probability < 1, "perturb_features: keep_probability must be < 1, got ", o.keep_probability);
  const index_t n = o.n_samples;
  feature_samples<T> s;
  s.instance = x;
  s.mask = matrix<double>::Ones(n + 1, p);
  rng g(o.seed);
  std::vector<index_t> idx;
  for (index_t r = 1; r <= n; ++r) {
    if (o.keep_probability > 0) {
      for (index_t j = 0; j < p; ++j) s.mask(r, j) = g.uniform() < o.keep_probability ? 1.0 : 0.0;
    } else {
      const index_t kmax = std::max<index_t>(1, p - 1);
      const auto k = 1 + static_cast<index_t>(g.below(static_cast<std::uint64_t>(kmax)));
      detail::choose_distinct(g, idx, p, k);
      for (index_t i = 0; i < k; ++i) s.mask(r, idx[static_cast<std::size_t>(i)]) = 0.0;
    }
  }
  s.inputs.resize(n + 1, p);
  for (index_t r = 0; r <= n; ++r)
    for (index_t j = 0; j < p; ++j) s.inputs(r, j) = s.mask(r, j) != 0.0 ? x(j) : null_value(j);
  return s;
}

}  // namespace rnnabs
