#pragma once
// How a repair is judged: what it fixes on the inputs it targeted, and what it breaks elsewhere —
// the side effects RNNRepair never measured. Computed from the predictions before and after, in the
// same (input) order.
//
//   auto o = rnnabs::judge_repair(test.labels, before, after, targets);
//   o.target_accuracy();   // fraction of targets now right
//   o.broken;              // non-target inputs that were right and are now wrong
#include <span>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

struct repair_outcome {
  index_t targets = 0;        ///< inputs the repair aimed at
  index_t targets_fixed = 0;  ///< of them, right after the repair
  index_t rest = 0;           ///< every other input
  index_t rest_correct = 0;   ///< of them, right after
  index_t were_right = 0;     ///< other inputs right before the repair
  index_t broken = 0;         ///< of them, wrong after: the side effect
  index_t were_wrong = 0;     ///< other inputs wrong before
  index_t also_fixed = 0;     ///< of them, right after

  double target_accuracy() const {
    return targets ? static_cast<double>(targets_fixed) / static_cast<double>(targets) : 0;
  }
  double rest_accuracy() const { return rest ? static_cast<double>(rest_correct) / static_cast<double>(rest) : 0; }
  double accuracy() const {
    const index_t n = targets + rest;
    return n ? static_cast<double>(targets_fixed + rest_correct) / static_cast<double>(n) : 0;
  }
};

/// Compares predictions `before` and `after` a repair on inputs with labels `truth`; `targets` are
/// ids of the inputs the repair aimed at (distinct). invalid_argument on mismatched sizes or bad ids.
inline repair_outcome judge_repair(const index_vector& truth, const index_vector& before, const index_vector& after,
                                   std::span<const index_t> targets) {
  const index_t n = truth.size();
  require(before.size() == n && after.size() == n, "judge_repair: ", n, " labels, ", before.size(),
          " predictions before and ", after.size(), " after");
  std::vector<char> is_target(static_cast<std::size_t>(n), 0);
  for (const index_t t : targets) {
    require(t >= 0 && t < n, "judge_repair: target ", t, " outside [0, ", n, ")");
    require(!is_target[static_cast<std::size_t>(t)], "judge_repair: target ", t, " is listed twice");
    is_target[static_cast<std::size_t>(t)] = 1;
  }
  repair_outcome o;
  for (index_t i = 0; i < n; ++i) {
    const bool ok_before = before(i) == truth(i), ok_after = after(i) == truth(i);
    if (is_target[static_cast<std::size_t>(i)]) {
      ++o.targets;
      o.targets_fixed += ok_after ? 1 : 0;
      continue;
    }
    ++o.rest;
    o.rest_correct += ok_after ? 1 : 0;
    if (ok_before) {
      ++o.were_right;
      o.broken += ok_after ? 0 : 1;
    } else {
      ++o.were_wrong;
      o.also_fixed += ok_after ? 1 : 0;
    }
  }
  return o;
}

}  // namespace rnnabs
