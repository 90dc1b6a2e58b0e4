#pragma once
// Token insertions into training or test sequences: what segment-level repair and the backdoor
// study do to data. Positions always refer to the sequence as it was before any edit, so a list of
// edits means the same thing whatever order it is applied in.
//
//   std::vector<rnnabs::token_insertion> e{{.sample = 4, .position = 2, .token = 17}};
//   auto edited = rnnabs::apply_insertions(train.tokens, e);   // sample 4 gets token 17 before its token 2
#include <algorithm>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// Insert `token` into sequence `sample` so that it becomes the token at `position` (0 = before the
/// first token, T = after the last).
struct token_insertion {
  index_t sample = 0;
  index_t position = 0;
  index_t token = 0;
  friend bool operator==(const token_insertion&, const token_insertion&) = default;
};

/// A copy of `seqs` with the insertions applied. Several insertions into one sequence all refer to
/// its original positions; at equal positions they appear in list order. invalid_argument for a
/// sample or position out of range.
inline std::vector<index_vector> apply_insertions(const std::vector<index_vector>& seqs,
                                                  const std::vector<token_insertion>& edits) {
  const auto n = static_cast<index_t>(seqs.size());
  std::vector<std::vector<std::pair<index_t, index_t>>> per(seqs.size());  // (position, list order)
  for (std::size_t k = 0; k < edits.size(); ++k) {
    const auto& e = edits[k];
    require(e.sample >= 0 && e.sample < n, "apply_insertions: edit ", k, " names sample ", e.sample, " outside [0, ", n,
            ")");
    const index_t len = seqs[static_cast<std::size_t>(e.sample)].size();
    require(e.position >= 0 && e.position <= len, "apply_insertions: edit ", k, " inserts at ", e.position,
            " into sample ", e.sample, " of length ", len, " (positions are 0..", len, ")");
    per[static_cast<std::size_t>(e.sample)].emplace_back(e.position, static_cast<index_t>(k));
  }
  std::vector<index_vector> out = seqs;
  for (std::size_t i = 0; i < per.size(); ++i) {
    auto& p = per[i];
    if (p.empty()) continue;
    std::stable_sort(p.begin(), p.end());
    const auto& s = seqs[i];
    index_vector r(s.size() + static_cast<index_t>(p.size()));
    index_t w = 0, src = 0;
    for (const auto& [pos, k] : p) {
      while (src < pos) r(w++) = s(src++);
      r(w++) = edits[static_cast<std::size_t>(k)].token;
    }
    while (src < s.size()) r(w++) = s(src++);
    out[i] = std::move(r);
  }
  return out;
}

/// `seq` with `token` inserted at `position` (0..T).
inline index_vector insert_token(const index_vector& seq, index_t position, index_t token) {
  require(position >= 0 && position <= seq.size(), "insert_token: position ", position, " outside [0, ", seq.size(),
          "]");
  index_vector r(seq.size() + 1);
  r.head(position) = seq.head(position);
  r(position) = token;
  r.tail(seq.size() - position) = seq.tail(seq.size() - position);
  return r;
}

}  // namespace rnnabs
