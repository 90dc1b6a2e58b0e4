#pragma once
// A sorted, compressed-sparse-row table: distinct 64-bit keys, each with the postings (training
// sample, step) that produced it, in (sample, step) order. Built by a stable LSD radix sort of
// (key, posting) entries; merged with a table of later samples, or filtered, in one linear pass.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <vector>

#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// One occurrence of a transition: training sample `sample` consumed input `step` (0-based) on it.
struct posting {
  std::int32_t sample = 0;
  std::int32_t step = 0;
  friend bool operator==(const posting&, const posting&) = default;
  friend auto operator<=>(const posting&, const posting&) = default;
};

namespace detail {

struct keyed_posting {
  std::uint64_t key;
  posting p;
};

/// Stable LSD radix sort by key (11-bit digits, only as many passes as max_key needs).
inline void radix_sort_by_key(std::vector<keyed_posting>& a, std::uint64_t max_key) {
  constexpr int digit = 11;
  constexpr std::size_t buckets = std::size_t{1} << digit;
  const int bits = static_cast<int>(std::bit_width(max_key));
  if (a.size() < 2 || bits == 0) return;
  std::vector<keyed_posting> tmp(a.size());
  for (int shift = 0; shift < bits; shift += digit) {
    std::array<std::size_t, buckets> cnt{};
    for (const auto& e : a) ++cnt[(e.key >> shift) & (buckets - 1)];
    std::size_t sum = 0;
    for (auto& c : cnt) {
      const std::size_t v = c;
      c = sum;
      sum += v;
    }
    for (const auto& e : a) tmp[cnt[(e.key >> shift) & (buckets - 1)]++] = e;
    a.swap(tmp);
  }
}

class postings_table {
 public:
  /// From entries listed in (sample, step) order; keys must be <= max_key.
  static postings_table build(std::vector<keyed_posting> entries, std::uint64_t max_key) {
    radix_sort_by_key(entries, max_key);
    postings_table t;
    t.offsets_.clear();
    t.postings_.reserve(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (i == 0 || entries[i].key != entries[i - 1].key) {
        t.keys_.push_back(entries[i].key);
        t.offsets_.push_back(static_cast<index_t>(i));
      }
      t.postings_.push_back(entries[i].p);
    }
    t.offsets_.push_back(static_cast<index_t>(entries.size()));
    return t;
  }

  /// Adds the postings of `later`, whose samples all come after this table's.
  void merge(const postings_table& later) {
    postings_table r;
    r.offsets_.clear();
    r.keys_.reserve(keys_.size() + later.keys_.size());
    r.postings_.reserve(postings_.size() + later.postings_.size());
    std::size_t i = 0, j = 0;
    const auto append = [&r](const postings_table& t, std::size_t k) {
      r.postings_.insert(r.postings_.end(), t.postings_.begin() + t.offsets_[k],
                         t.postings_.begin() + t.offsets_[k + 1]);
    };
    while (i < keys_.size() || j < later.keys_.size()) {
      const bool take_a = j == later.keys_.size() || (i < keys_.size() && keys_[i] <= later.keys_[j]);
      const bool take_b = i == keys_.size() || (j < later.keys_.size() && later.keys_[j] <= keys_[i]);
      r.keys_.push_back(take_a ? keys_[i] : later.keys_[j]);
      r.offsets_.push_back(static_cast<index_t>(r.postings_.size()));
      if (take_a) append(*this, i++);
      if (take_b) append(later, j++);
    }
    r.offsets_.push_back(static_cast<index_t>(r.postings_.size()));
    *this = std::move(r);
  }

  /// Drops the postings of samples with removed[sample] != 0, and keys left without postings.
  void filter(const std::vector<char>& removed) {
    std::vector<std::uint64_t> keys;
    std::vector<index_t> offsets{0};
    std::size_t w = 0;
    for (std::size_t k = 0; k < keys_.size(); ++k) {
      for (index_t p = offsets_[k]; p < offsets_[k + 1]; ++p) {
        const posting q = postings_[static_cast<std::size_t>(p)];
        if (!removed[static_cast<std::size_t>(q.sample)]) postings_[w++] = q;
      }
      if (static_cast<index_t>(w) > offsets.back()) {
        keys.push_back(keys_[k]);
        offsets.push_back(static_cast<index_t>(w));
      }
    }
    postings_.resize(w);
    keys_ = std::move(keys);
    offsets_ = std::move(offsets);
  }

  index_t size() const noexcept { return static_cast<index_t>(keys_.size()); }
  index_t total() const noexcept { return static_cast<index_t>(postings_.size()); }
  std::uint64_t key(index_t i) const { return keys_[static_cast<std::size_t>(i)]; }
  index_t count(index_t i) const {
    return offsets_[static_cast<std::size_t>(i) + 1] - offsets_[static_cast<std::size_t>(i)];
  }
  std::span<const posting> postings(index_t i) const {
    const auto b = static_cast<std::size_t>(offsets_[static_cast<std::size_t>(i)]);
    return {postings_.data() + b, static_cast<std::size_t>(count(i))};
  }
  /// Index of `key`, or -1.
  index_t find(std::uint64_t key) const {
    const auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
    return it != keys_.end() && *it == key ? static_cast<index_t>(it - keys_.begin()) : -1;
  }
  /// First index whose key is >= key.
  index_t lower(std::uint64_t key) const {
    return static_cast<index_t>(std::lower_bound(keys_.begin(), keys_.end(), key) - keys_.begin());
  }
  /// Postings of all keys in [lo, hi).
  index_t range_total(std::uint64_t lo, std::uint64_t hi) const {
    return offsets_[static_cast<std::size_t>(lower(hi))] - offsets_[static_cast<std::size_t>(lower(lo))];
  }

  const std::vector<std::uint64_t>& keys() const noexcept { return keys_; }
  const std::vector<index_t>& offsets() const noexcept { return offsets_; }
  const std::vector<posting>& all_postings() const noexcept { return postings_; }
  /// Direct construction (load): caller guarantees sorted distinct keys and consistent offsets.
  static postings_table from_parts(std::vector<std::uint64_t> k, std::vector<index_t> o, std::vector<posting> p) {
    postings_table t;
    t.keys_ = std::move(k);
    t.offsets_ = std::move(o);
    t.postings_ = std::move(p);
    return t;
  }

 private:
  std::vector<std::uint64_t> keys_;
  std::vector<index_t> offsets_{0};
  std::vector<posting> postings_;
};

}  // namespace detail
}  // namespace rnnabs
