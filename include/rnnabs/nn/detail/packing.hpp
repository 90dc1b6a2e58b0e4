#pragma once
// PyTorch's packed-sequence layout for one chunk of a batch. Sequences are sorted by length,
// longest first (stable), so the sequences still running at step t are a prefix 0..active[t) and
// step t's rows are contiguous: packed row offset[t] + r. The reverse direction reads each sequence
// from its own last step; in packed form that is a row permutation (an involution) with the same
// offsets, so both directions share one layout and one recurrence loop.
#include <algorithm>
#include <numeric>
#include <vector>

#include "rnnabs/core/types.hpp"

namespace rnnabs::detail {

struct pack_plan {
  std::vector<index_t> seq;      // sorted position r -> index of the sequence in the batch
  std::vector<index_t> len;      // sorted lengths, non-increasing
  std::vector<index_t> active;   // active[t]: sequences with length > t
  std::vector<index_t> offset;   // offset[t]: first packed row of step t; offset[tmax] = rows
  std::vector<index_t> reverse;  // packed row of (t, r) -> packed row of (len[r] - 1 - t, r)

  index_t count() const noexcept { return static_cast<index_t>(seq.size()); }
  index_t tmax() const noexcept { return static_cast<index_t>(active.size()); }
  index_t rows() const noexcept { return offset.back(); }
  index_t row(index_t t, index_t r) const noexcept { return offset[static_cast<std::size_t>(t)] + r; }
  index_t length(index_t r) const noexcept { return len[static_cast<std::size_t>(r)]; }
  index_t active_at(index_t t) const noexcept { return active[static_cast<std::size_t>(t)]; }
  index_t offset_at(index_t t) const noexcept { return offset[static_cast<std::size_t>(t)]; }
  /// Packed row of sequence r's last step.
  index_t last_row(index_t r) const noexcept { return row(length(r) - 1, r); }
};

/// The plan for batch sequences [begin, end) with lengths length_of(i) >= 1.
template <class LengthOf>
pack_plan make_pack_plan(index_t begin, index_t end, LengthOf&& length_of) {
  pack_plan p;
  p.seq.resize(static_cast<std::size_t>(end - begin));
  std::iota(p.seq.begin(), p.seq.end(), begin);
  std::stable_sort(p.seq.begin(), p.seq.end(), [&](index_t a, index_t b) { return length_of(a) > length_of(b); });
  for (index_t s : p.seq) p.len.push_back(length_of(s));
  const index_t tmax = p.len.empty() ? 0 : p.len.front();
  p.active.assign(static_cast<std::size_t>(tmax), 0);
  for (index_t l : p.len)
    for (index_t t = 0; t < l; ++t) ++p.active[static_cast<std::size_t>(t)];
  p.offset.assign(static_cast<std::size_t>(tmax) + 1, 0);
  for (index_t t = 0; t < tmax; ++t)
    p.offset[static_cast<std::size_t>(t) + 1] = p.offset[static_cast<std::size_t>(t)] + p.active_at(t);
  p.reverse.resize(static_cast<std::size_t>(p.rows()));
  for (index_t t = 0; t < tmax; ++t)
    for (index_t r = 0; r < p.active_at(t); ++r)
      p.reverse[static_cast<std::size_t>(p.row(t, r))] = p.row(p.length(r) - 1 - t, r);
  return p;
}

}  // namespace rnnabs::detail
