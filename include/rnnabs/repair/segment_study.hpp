#pragma once
// The segment-repair experiment of RNNRepair (§4.4) as a reusable protocol: for each top_n, plan guided
// edits once and random edits for several selection seeds, insert them into the training tokens,
// retrain a fresh model per setting through the caller's callback, and judge every retrained model
// on the whole test set (targets fixed, and the side effects on the other inputs).
//
//   auto rows = rnnabs::segment_repair_study(train_view, automaton, test_view, targets, train_batch,
//       [&](const rnnabs::sequence_batch<float>& edited) { return fresh_model(edited).forward(test).predictions; },
//       {.top_n = {5, 15, 25}, .random_repeats = 5});
//
// The callback owns the model and its training seed. With a fixed training seed and rnnabs' bit-
// reproducible training, retraining on unedited data gives back the original model, so every change
// in the outcome comes from the edits.
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/nn/sequence_batch.hpp"
#include "rnnabs/repair/edits.hpp"
#include "rnnabs/repair/outcome.hpp"
#include "rnnabs/repair/segment.hpp"

namespace rnnabs {

struct segment_study_options {
  std::vector<index_t> top_n{5, 15, 25, 35, 45};
  index_t random_repeats = 5;  ///< random selection seeds per top_n: seed, seed + 1, ...
  std::uint64_t seed = 0;
  index_t unk_token = 1;  ///< see segment_repair_options
};

/// One retrained model.
struct segment_study_row {
  index_t top_n = 0;
  selection strategy = selection::guided;
  index_t repeat = 0;            ///< 0 for guided; the random draw's index
  std::uint64_t seed = 0;        ///< selection seed (random)
  index_t planned = 0;           ///< targets that got edits
  index_t edits = 0;             ///< insertions in all
  index_t edited_samples = 0;    ///< distinct training samples edited
  index_t short_of_top_n = 0;    ///< planned targets with fewer candidates than top_n
  double mean_match_length = 0;  ///< transitions matched before the insertion points
  repair_outcome outcome;        ///< judged on the test set; the targets are the planned ones
  double seconds = 0;            ///< retraining and prediction
};

/// Retrain: invocable with the edited training batch, returning the retrained model's predictions on
/// the test set, in the order of `test`.
// clang-format off
template <class T, class Retrain>
  requires std::invocable<Retrain&, const sequence_batch<T>&> &&
           std::convertible_to<std::invoke_result_t<Retrain&, const sequence_batch<T>&>, index_vector>
std::vector<segment_study_row> segment_repair_study(const labelled_paths& train, const automaton& a,
                                                    const labelled_paths& test, std::span<const index_t> targets,
                                                    const sequence_batch<T>& train_batch, Retrain&& retrain,
                                                    const segment_study_options& o,
                                                    const std::function<void(const segment_study_row&)>& on_row = {}) {
  // clang-format on
  constexpr const char* who = "segment_repair_study";
  require(!o.top_n.empty(), who, ": no top_n value");
  require(o.random_repeats >= 0, who, ": random_repeats must be >= 0, got ", o.random_repeats);
  require(train_batch.has_tokens() && train_batch.size() == train.size(), who, ": the training batch has ",
          train_batch.size(), " token sequences, the training view ", train.size());
  require(test.predictions.size() == test.size() && test.truth.size() == test.size(), who,
          ": the test view needs predictions and truth");
  std::vector<segment_study_row> rows;
  const auto run = [&](index_t top_n, selection s, index_t repeat, std::uint64_t seed) {
    const auto plan = plan_segment_repair(train, a, test, targets,
                                          {.top_n = top_n, .strategy = s, .seed = seed, .unk_token = o.unk_token});
    segment_study_row r;
    r.top_n = top_n;
    r.strategy = s;
    r.repeat = repeat;
    r.seed = seed;
    r.planned = plan.planned();
    r.edited_samples = plan.edited_samples();
    r.short_of_top_n = plan.short_of(top_n);
    std::vector<index_t> fixed_targets;
    double match = 0;
    for (const auto& t : plan.targets) {
      if (t.skipped != skip_reason::none) continue;
      fixed_targets.push_back(t.target);
      for (const auto& e : t.edits) match += static_cast<double>(e.match_length);
      r.edits += static_cast<index_t>(t.edits.size());
    }
    r.mean_match_length = r.edits ? match / static_cast<double>(r.edits) : 0;
    sequence_batch<T> edited = train_batch;
    edited.tokens = apply_insertions(train_batch.tokens, plan.insertions());
    const auto t0 = std::chrono::steady_clock::now();
    const index_vector after = retrain(edited);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.outcome = judge_repair(test.truth, test.predictions, after, fixed_targets);
    rows.push_back(r);
    if (on_row) on_row(rows.back());
  };
  for (const index_t n : o.top_n) {
    require(n >= 1, who, ": top_n values must be >= 1, got ", n);
    run(n, selection::guided, 0, 0);
    for (index_t k = 0; k < o.random_repeats; ++k) run(n, selection::random, k, o.seed + static_cast<std::uint64_t>(k));
  }
  return rows;
}

}  // namespace rnnabs
