#pragma once
// Sample-level repair data (RNNRepair, Xie et al., ICML 2021, §4.3), corrected: for an input the model gets wrong
// (true label y, prediction ŷ), make a training image of class y whose *abstract behaviour* is as
// close as possible to the faulty one, so that retraining on it teaches the model to tell them apart.
//   1. distances  the failure's abstract trace against the correctly predicted training samples'
//                 (normalized, masked trace distance of abstraction/features.hpp)
//   2. target     the nearest correct training sample whose label is ŷ: its abstract trace is the target
//   3. sources    the K nearest correct training samples whose label is y
//   4. candidates each source rotated and translated (RNNRepair's 360 + 6), optionally every grid value
//                 of the nine mutators; all candidates of a failure go through the model in **one**
//                 batched forward pass and the abstraction at once
//   5. keep       the candidate whose abstract trace is nearest the target, labelled y
//                 (`candidate_choice::random` keeps a seeded random candidate instead: the control that
//                 isolates the guidance)
// The failures are RNNRepair's *common* failures: the test inputs that every one of M >= 2 models gets
// wrong (`common_failures`).
// The model's own abstraction must be used (RNNRepair applied one model's PCA and GMM to another
// model's traces): pass each model with the abstraction fitted on its training traces.
//
//   auto failures = rnnabs::common_failures(test_predictions_of_each_model, test_labels);
//   auto out = rnnabs::generate_repair_samples(model, abs, train_images, train_traces, test_traces, failures, {});
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "rnnabs/abstraction/features.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/profile.hpp"
#include "rnnabs/nn/sequence_batch.hpp"
#include "rnnabs/repair/mutators.hpp"

namespace rnnabs {

namespace detail {
inline std::vector<index_t> agreement(std::span<const index_vector> predictions, const index_vector& truth, bool wrong,
                                      const char* who) {
  require(predictions.size() >= 2, who, ": needs the predictions of at least 2 models, got ", predictions.size());
  for (std::size_t m = 0; m < predictions.size(); ++m)
    require(predictions[m].size() == truth.size(), who, ": model ", m, " has ", predictions[m].size(),
            " predictions for ", truth.size(), " inputs");
  std::vector<index_t> out;
  for (index_t i = 0; i < truth.size(); ++i) {
    bool all = true;
    for (const auto& p : predictions) all = all && ((p(i) != truth(i)) == wrong);
    if (all) out.push_back(i);
  }
  return out;
}
}  // namespace detail

/// The inputs every model gets wrong (RNNRepair's common failures), ascending; `predictions[m]` holds
/// model m's predictions. invalid_argument for fewer than 2 models or mismatched lengths.
inline std::vector<index_t> common_failures(std::span<const index_vector> predictions, const index_vector& truth) {
  return detail::agreement(predictions, truth, true, "common_failures");
}

/// The inputs every model gets right: where a repair's side effects are counted.
inline std::vector<index_t> common_successes(std::span<const index_vector> predictions, const index_vector& truth) {
  return detail::agreement(predictions, truth, false, "common_successes");
}

/// One candidate image: a mutation of a source image.
struct image_candidate {
  matrix<float> image;
  mutator op = mutator::rotation;
  double parameter = 0;
};

struct candidate_options {
  std::vector<double> rotations = [] {
    std::vector<double> r;
    for (int d = -180; d < 180; ++d) r.push_back(d);
    return r;
  }();                                                    ///< degrees (RNNRepair: −180..179)
  std::vector<double> translations{-3, -2, -1, 0, 1, 2};  ///< pixels
  bool mutator_grids = false;                             ///< also every grid value of the nine mutators
  std::uint64_t seed = 0;                                 ///< the random mutators' draws (per source: rng::stream)
};

/// The candidates of one source image (intensities in [0, 1]).
inline std::vector<image_candidate> make_candidates(const matrix<float>& source, const candidate_options& o,
                                                    std::uint64_t stream = 0) {
  std::vector<image_candidate> c;
  for (const double d : o.rotations) c.push_back({image::rotate(source, d), mutator::rotation, d});
  for (const double p : o.translations) c.push_back({image::translate(source, p), mutator::translation, p});
  if (o.mutator_grids) {
    rng g = rng::stream(o.seed, stream);
    for (const mutator m : all_mutators)
      for (const double p : parameter_grid(m)) c.push_back({apply_mutator(source, m, p, g), m, p});
  }
  require(!c.empty(), "make_candidates: no candidate (empty rotation and translation lists)");
  return c;
}

/// The `k` samples of smallest `distance` among `eligible` ids whose `labels` equal `label` (ties: lower
/// id first), nearest first.
inline std::vector<index_t> nearest_with_label(const vector<double>& distance, std::span<const index_t> eligible,
                                               const index_vector& labels, index_t label, index_t k) {
  require(distance.size() == static_cast<index_t>(eligible.size()), "nearest_with_label: ", distance.size(),
          " distances for ", eligible.size(), " samples");
  std::vector<index_t> pos;
  for (std::size_t j = 0; j < eligible.size(); ++j)
    if (labels(eligible[j]) == label) pos.push_back(static_cast<index_t>(j));
  const auto keep = static_cast<std::size_t>(std::min<index_t>(k, static_cast<index_t>(pos.size())));
  std::partial_sort(pos.begin(), pos.begin() + static_cast<std::ptrdiff_t>(keep), pos.end(), [&](index_t a, index_t b) {
    return distance(a) != distance(b) ? distance(a) < distance(b)
                                      : eligible[static_cast<std::size_t>(a)] < eligible[static_cast<std::size_t>(b)];
  });
  std::vector<index_t> out;
  for (std::size_t j = 0; j < keep; ++j) out.push_back(eligible[static_cast<std::size_t>(pos[j])]);
  return out;
}

/// Which candidate is kept: the one whose abstract trace is nearest the target (RNNRepair), or one
/// drawn at random (the unguided control: same sources, same candidates, no trace distance).
enum class candidate_choice { nearest_trace, random };

struct generation_options {
  index_t k_nearest = 1;  ///< sources per failure (RNNRepair: K = 1)
  candidate_options candidates{};
  candidate_choice choice = candidate_choice::nearest_trace;
  std::uint64_t seed = 0;  ///< the random choice (per failure: rng::stream(seed, failure id))
};

/// One generated training sample.
struct generated_sample {
  index_t failure = 0;  ///< test id of the failure it repairs
  index_t label = 0;    ///< the failure's true label: the sample's label
  index_t target = -1;  ///< training id whose trace was the target (nearest correct with label ŷ)
  index_t source = -1;  ///< training id that was mutated
  mutator op = mutator::rotation;
  double parameter = 0;
  double distance = 0;      ///< the kept candidate's trace distance to the target
  index_t prediction = -1;  ///< the model's prediction on the kept candidate
  matrix<float> image;
};

/// Abstract traces (T x (2 + C)) of a batch, by the model and its abstraction, in batch order.
template <class Model, class Abstraction>
std::vector<matrix<double>> batch_abstract_traces(const Model& model, const Abstraction& abs,
                                                  const sequence_batch<float>& b, index_vector* predictions = nullptr) {
  const traces<float> tr = profile(model, b);
  if (predictions) *predictions = tr.predictions;
  return abs.abstract_traces(abs.states(tr), tr.step_labels);
}

/// Generates one sample per failure (skipped, and not returned, when the training set has no
/// correctly predicted sample of ŷ or of y). `train_images[i]` is training sample i's image (its
/// feature sequence, H x W); `train` and `test` are this model's profiled traces (truth = labels) and
/// `abs` the abstraction fitted on `train`.
template <class Model, class Abstraction>
std::vector<generated_sample> generate_repair_samples(const Model& model, const Abstraction& abs,
                                                      const std::vector<matrix<float>>& train_images,
                                                      const traces<float>& train, const traces<float>& test,
                                                      std::span<const index_t> failures, const generation_options& o) {
  constexpr const char* who = "generate_repair_samples";
  require(!failures.empty(), who, ": no failure to repair");
  require(o.k_nearest >= 1, who, ": k_nearest must be >= 1, got ", o.k_nearest);
  require(static_cast<index_t>(train_images.size()) == train.size(), who, ": ", train_images.size(),
          " training images for ", train.size(), " training traces");
  for (std::size_t i = 0; i < train_images.size(); ++i) {
    const auto& im = train_images[i];
    require(im.rows() == train.hidden[i].rows() && im.cols() == train_images[0].cols() && im.size() > 0, who,
            ": training image ", i, " is ", im.rows(), " x ", im.cols(), ", expected ", train.hidden[i].rows(), " x ",
            train_images[0].cols(), " (one row per step of its trace)");
    require(im.allFinite(), who, ": training image ", i, " has a NaN or infinite pixel");
  }
  std::vector<index_t> correct;
  for (index_t i = 0; i < train.size(); ++i)
    if (train.predictions(i) == train.truth(i)) correct.push_back(i);
  require(!correct.empty(), who, ": the model gets no training sample right");
  const index_t n = abs.n_real_states(), C = abs.n_labels();
  const auto train_abs = abs.abstract_traces(abs.states(train), train.step_labels);
  const auto test_abs = abs.abstract_traces(abs.states(test), test.step_labels);
  index_t steps = 0;
  for (const auto& t : train_abs) steps = std::max(steps, t.rows());
  for (const auto& t : test_abs) steps = std::max(steps, t.rows());
  for (const auto& im : train_images) steps = std::max(steps, im.rows());
  std::vector<matrix<double>> kept;
  kept.reserve(correct.size());
  for (const index_t i : correct) kept.push_back(train_abs[static_cast<std::size_t>(i)]);
  const trace_matrix R = normalized_traces(kept, n, C, feature_set::all, steps);
  std::vector<generated_sample> out;
  for (const index_t f : failures) {
    require(f >= 0 && f < test.size(), who, ": failure ", f, " outside [0, ", test.size(), ")");
    const index_t y = test.truth(f), yhat = test.predictions(f);
    require(y != yhat, who, ": test input ", f, " is not a failure (prediction = truth = ", y, ")");
    const trace_matrix Q = normalized_traces({test_abs[static_cast<std::size_t>(f)]}, n, C, feature_set::all, steps);
    const vector<double> d = trace_distances(Q, 0, R);
    const auto target = nearest_with_label(d, correct, train.truth, yhat, 1);
    const auto sources = nearest_with_label(d, correct, train.truth, y, o.k_nearest);
    if (target.empty() || sources.empty()) continue;
    const index_t target_row =
        static_cast<index_t>(std::lower_bound(correct.begin(), correct.end(), target[0]) - correct.begin());
    // Every candidate of every source in one batch.
    std::vector<image_candidate> cands;
    std::vector<index_t> from;
    for (const index_t s : sources) {
      auto c = make_candidates(train_images[static_cast<std::size_t>(s)], o.candidates,
                               static_cast<std::uint64_t>(f) * 1000003u + static_cast<std::uint64_t>(s));
      for (auto& x : c) {
        cands.push_back(std::move(x));
        from.push_back(s);
      }
    }
    sequence_batch<float> b;
    b.features.reserve(cands.size());
    for (const auto& c : cands) b.features.push_back(c.image);
    index_vector pred;
    const auto cand_abs = batch_abstract_traces(model, abs, b, &pred);
    const trace_matrix X = normalized_traces(cand_abs, n, C, feature_set::all, steps);
    const vector<double> dc = trace_distances(R, target_row, X);
    index_t best = 0;
    if (o.choice == candidate_choice::random) {
      rng g = rng::stream(o.seed, static_cast<std::uint64_t>(f));
      best = static_cast<index_t>(g.below(static_cast<std::uint64_t>(dc.size())));
    } else {
      for (index_t j = 1; j < dc.size(); ++j)
        if (dc(j) < dc(best)) best = j;
    }
    const auto& c = cands[static_cast<std::size_t>(best)];
    out.push_back(
        {f, y, target[0], from[static_cast<std::size_t>(best)], c.op, c.parameter, dc(best), pred(best), c.image});
  }
  return out;
}

}  // namespace rnnabs
