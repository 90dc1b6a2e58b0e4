#pragma once
// Fidelity tests of explanations (as in LEMNA's and DMM / DMM-MEN's released code), each against a random
// baseline that selects the same number of features uniformly WITHOUT replacement (the released code drew
// with replacement). The metric is the positive classification rate (PCR): the fraction of cases whose
// score after the modification exceeds `threshold`.
//
//   deduction     the instance with its top-k features nullified            (a faithful explanation: low)
//   augmentation  a seed sample with the instance's top-k features copied in (high)
//   synthetic     an all-null sample with the instance's top-k features      (high)
//
// Sequences (per-position scores): the black box is a `position_scorer`, g(batch, targets) → the score of
// item i at position targets(i); at_position(g, t) turns it into a black_box_scorer for LEMNA.
// Feature vectors: any black_box_scorer over matrix<T>.
// Also here: a LIME baseline explainer (Bernoulli masks, cosine-distance kernel, weighted ridge, features by
// |coefficient|), and the crafting of patch samples from explanations (LEMNA's patching).
#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/explain/perturbation.hpp"
#include "rnnabs/explain/scorer.hpp"

namespace rnnabs {

/// g(batch, targets): one score per sequence, read at that sequence's target position.
template <class G>
concept position_scorer = requires(const G& g, const token_batch& b, const index_vector& t) {
  { g(b, t) } -> detail::score_vector_like;
};

/// A black_box_scorer that reads every sequence at position t.
template <position_scorer G>
auto at_position(const G& g, index_t t) {
  return [&g, t](const token_batch& b) { return g(b, index_vector::Constant(static_cast<index_t>(b.size()), t)); };
}

/// PCR of the explainer's selection and of the random baseline.
struct fidelity_score {
  double explainer = 0;
  double random = 0;
  index_t cases = 0;
};
struct fidelity_report {
  fidelity_score deduction, augmentation, synthetic;
};

struct fidelity_options {
  index_t n_features = 25;  // k: top features kept/removed
  double threshold = 0.5;   // positive when score > threshold
  std::uint64_t seed = 0;   // random baselines
  index_t null_token = 0;   // sequences: the nullified token
};

/// One explained sequence: the target position and the explanation's positions, most important first.
struct sequence_case {
  index_vector sequence;
  index_t target = 0;
  index_vector ranked_positions;
};

/// The three tests on sequences. `seed_sequence` is the base of the augmentation test (the released code used
/// the first test sequence); positions past its end are left out. Random baselines draw k distinct positions
/// of [0, L).
template <position_scorer G>
fidelity_report sequence_fidelity(const G& g, const std::vector<sequence_case>& cases,
                                  const index_vector& seed_sequence, const fidelity_options& o = {});

/// One explained feature vector with its explanation (features, most important first).
template <class T>
struct feature_case {
  vector<T> x;
  index_vector ranked_features;
};

/// The three tests on feature vectors: nullify = set to null_value; the augmentation base is `seed_x`; the
/// synthetic base is null_value.
// clang-format off
template <class T, class F>
  requires black_box_scorer<F, matrix<T>>
fidelity_report feature_fidelity(const F& f, const std::vector<feature_case<T>>& cases, const vector<T>& null_value,
                                 const vector<T>& seed_x, const fidelity_options& o = {});
// clang-format on

struct lime_options {
  index_t n_samples = 500;
  double kernel_width = 25;  // kernel exp(−d²/w²) on the cosine distance to the all-ones mask
  double ridge = 1e-6;       // weighted ridge on the mask regressors (with intercept)
  std::uint64_t seed = 0;
};

/// LIME baseline (Ribeiro et al. 2016): Bernoulli(½) masks (row 0 all ones), nullified features set to null_value,
/// weighted ridge fit; returns features ordered by |coefficient| descending, and the coefficients.
// clang-format off
template <class T, class F>
  requires black_box_scorer<F, matrix<T>>
std::pair<index_vector, vector<double>> lime_explain(const F& f, const vector<T>& x, const vector<T>& null_value,
                                                     const lime_options& o = {});
// clang-format on

/// Patch sample crafted from an explained error (LEMNA's patching): the sequence with the top positions set to
/// `value`, the target restored to its original token, and per-step labels with those positions forced to 0
/// (the target keeps `target_label`, which the released code overwrote when the target was among them).
struct patch_sample {
  index_vector sequence;
  index_vector labels;
};
inline patch_sample craft_patch(const index_vector& seq, const index_vector& labels, index_t target,
                                const index_vector& top_positions, index_t value, index_t target_label) {
  require(seq.size() == labels.size(), "craft_patch: ", seq.size(), " tokens but ", labels.size(), " labels");
  require(target >= 0 && target < seq.size(), "craft_patch: target ", target, " outside [0, ", seq.size(), ")");
  patch_sample s{seq, labels};
  for (const index_t q : top_positions) {
    require(q >= 0 && q < seq.size(), "craft_patch: position ", q, " outside [0, ", seq.size(), ")");
    s.sequence(q) = value;
    s.labels(q) = 0;
  }
  s.sequence(target) = seq(target);
  s.labels(target) = target_label;
  return s;
}

// ---- implementation -------------------------------------------------------------------------------

/// min(k, n) distinct indices of 0..n-1 drawn from g (the random baseline of the fidelity tests).
inline index_vector random_subset(rng& g, index_t n, index_t k) {
  std::vector<index_t> idx;
  detail::choose_distinct(g, idx, n, std::min(k, n));
  index_vector out(std::min(k, n));
  for (index_t i = 0; i < out.size(); ++i) out(i) = idx[static_cast<std::size_t>(i)];
  return out;
}

template <position_scorer G>
fidelity_report sequence_fidelity(const G& g, const std::vector<sequence_case>& cases, const index_vector& seed_seq,
                                  const fidelity_options& o) {
  require(!cases.empty(), "sequence_fidelity: no cases");
  require(o.n_features >= 1, "sequence_fidelity: n_features must be >= 1, got ", o.n_features);
  const auto n = static_cast<index_t>(cases.size());
  rng r(o.seed);
  // Six batches: (deduction, augmentation, synthetic) × (explainer, random).
  std::vector<token_batch> batch(6);
  index_vector targets(n);
  for (index_t c = 0; c < n; ++c) {
    const auto& cs = cases[static_cast<std::size_t>(c)];
    const index_t L = cs.sequence.size();
    require(cs.target >= 0 && cs.target < L, "sequence_fidelity: case ", c, " has target ", cs.target, " outside [0, ",
            L, ")");
    targets(c) = cs.target;
    const index_t k = std::min(o.n_features, cs.ranked_positions.size());
    const index_vector sel = cs.ranked_positions.head(k);
    const index_vector rnd = random_subset(r, L, k);
    for (int v = 0; v < 2; ++v) {
      const index_vector& F = v == 0 ? sel : rnd;
      index_vector ded = cs.sequence, aug(L), syn = index_vector::Constant(L, o.null_token);
      for (index_t i = 0; i < L; ++i) aug(i) = i < seed_seq.size() ? seed_seq(i) : o.null_token;
      for (const index_t q : F) {
        require(q >= 0 && q < L, "sequence_fidelity: case ", c, " selects position ", q, " outside [0, ", L, ")");
        ded(q) = o.null_token;
        aug(q) = cs.sequence(q);
        syn(q) = cs.sequence(q);
      }
      batch[static_cast<std::size_t>(0 + v)].push_back(std::move(ded));
      batch[static_cast<std::size_t>(2 + v)].push_back(std::move(aug));
      batch[static_cast<std::size_t>(4 + v)].push_back(std::move(syn));
    }
  }
  auto pcr = [&](const token_batch& b) {
    const vector<double> s = detail::to_scores(g(b, targets));
    require(s.size() == n, "sequence_fidelity: the scorer returned ", s.size(), " scores for ", n, " sequences");
    require(s.allFinite(), "sequence_fidelity: the scorer returned a non-finite score");
    return static_cast<double>((s.array() > o.threshold).count()) / static_cast<double>(n);
  };
  fidelity_report rep;
  fidelity_score* out[3] = {&rep.deduction, &rep.augmentation, &rep.synthetic};
  for (int t = 0; t < 3; ++t) {
    out[t]->explainer = pcr(batch[static_cast<std::size_t>(2 * t)]);
    out[t]->random = pcr(batch[static_cast<std::size_t>(2 * t + 1)]);
    out[t]->cases = n;
  }
  return rep;
}

// clang-format off
template <class T, class F>
  requires black_box_scorer<F, matrix<T>>
fidelity_report feature_fidelity(const F& f, const std::vector<feature_case<T>>& cases, const vector<T>& null_value,
                                 const vector<T>& seed_x, const fidelity_options& o) {
  // clang-format on
  require(!cases.empty(), "feature_fidelity: no cases");
  require(o.n_features >= 1, "feature_fidelity: n_features must be >= 1, got ", o.n_features);
  const index_t p = null_value.size();
  require(seed_x.size() == p, "feature_fidelity: seed_x has ", seed_x.size(), " features, null_value ", p);
  const auto n = static_cast<index_t>(cases.size());
  rng r(o.seed);
  std::vector<matrix<T>> batch(6, matrix<T>(n, p));
  for (index_t c = 0; c < n; ++c) {
    const auto& cs = cases[static_cast<std::size_t>(c)];
    require(cs.x.size() == p, "feature_fidelity: case ", c, " has ", cs.x.size(), " features, expected ", p);
    const index_t k = std::min(o.n_features, cs.ranked_features.size());
    const index_vector sel = cs.ranked_features.head(k);
    const index_vector rnd = random_subset(r, p, k);
    for (int v = 0; v < 2; ++v) {
      const index_vector& S = v == 0 ? sel : rnd;
      batch[static_cast<std::size_t>(0 + v)].row(c) = cs.x.transpose();
      batch[static_cast<std::size_t>(2 + v)].row(c) = seed_x.transpose();
      batch[static_cast<std::size_t>(4 + v)].row(c) = null_value.transpose();
      for (const index_t q : S) {
        require(q >= 0 && q < p, "feature_fidelity: case ", c, " selects feature ", q, " outside [0, ", p, ")");
        batch[static_cast<std::size_t>(0 + v)](c, q) = null_value(q);
        batch[static_cast<std::size_t>(2 + v)](c, q) = cs.x(q);
        batch[static_cast<std::size_t>(4 + v)](c, q) = cs.x(q);
      }
    }
  }
  auto pcr = [&](const matrix<T>& b) {
    const vector<double> s = score_batch(f, b, n, "feature_fidelity");
    return static_cast<double>((s.array() > o.threshold).count()) / static_cast<double>(n);
  };
  fidelity_report rep;
  fidelity_score* out[3] = {&rep.deduction, &rep.augmentation, &rep.synthetic};
  for (int t = 0; t < 3; ++t) {
    out[t]->explainer = pcr(batch[static_cast<std::size_t>(2 * t)]);
    out[t]->random = pcr(batch[static_cast<std::size_t>(2 * t + 1)]);
    out[t]->cases = n;
  }
  return rep;
}

// clang-format off
template <class T, class F>
  requires black_box_scorer<F, matrix<T>>
std::pair<index_vector, vector<double>> lime_explain(const F& f, const vector<T>& x, const vector<T>& null_value,
                                                     const lime_options& o) {
  // clang-format on
  const auto s = perturb_features(x, null_value, {.n_samples = o.n_samples, .keep_probability = 0.5, .seed = o.seed});
  const index_t n = s.mask.rows(), p = x.size();
  const vector<double> y = score_batch(f, s.inputs, n, "lime_explain");
  // Cosine distance of each mask to the all-ones mask: 1 − (Σ m) / (√(Σ m) √p).
  vector<double> w(n);
  for (index_t i = 0; i < n; ++i) {
    const double k = s.mask.row(i).sum();
    const double d = k > 0 ? 1 - k / (std::sqrt(k) * std::sqrt(static_cast<double>(p))) : 1.0;
    w(i) = std::exp(-d * d / (o.kernel_width * o.kernel_width));
  }
  matrix<double> Z(n, p + 1);
  Z.leftCols(p) = s.mask;
  Z.col(p).setOnes();
  Eigen::MatrixXd A = Z.transpose() * w.asDiagonal() * Z;
  A.diagonal().head(p).array() += o.ridge;
  const vector<double> beta = A.ldlt().solve(Z.transpose() * w.asDiagonal() * y);
  vector<double> coef = beta.head(p);
  index_vector r(p);
  std::iota(r.begin(), r.end(), index_t{0});
  std::stable_sort(r.begin(), r.end(), [&](index_t a, index_t b) { return std::abs(coef(a)) > std::abs(coef(b)); });
  return {r, coef};
}

}  // namespace rnnabs
