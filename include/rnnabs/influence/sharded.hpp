#pragma once
// Influence over a training set sharded across the ranks of a communicator. Each rank holds a
// contiguous range of the training samples (its own objective over them); per-sample scores are
// computed where the samples live, and what the solvers need of the whole objective — loss, gradient,
// Hessian-vector products — is a sum over fixed chunks of `chunk` global samples, folded in global
// chunk order (core/communicator.hpp). Every rank's range must start at a multiple of
// options.alignment() (chunk · max(block, 1); rnnabs::shard_rows(n, rank, size, options.alignment())
// gives such ranges); then results are bit-identical for any number of ranks and threads.
//
//   rnnabs::sharded_objective train(local_train, comm);          // collective
//   rnnabs::cg_ihvp solver(train, w, {.damping = 1e-3});         // every rank runs the same CG
//   auto r = rnnabs::koh_liang(train, w, test_gradients, solver);  // r.scores: this rank's rows
//   auto best = rnnabs::top_k(r.scores, 10, {.first_row = train.offset()}, comm);  // global ids
//
// TracInCP and gradient similarity need nothing shared: pass this rank's training objective and the
// (replicated) test objective; the rows are this rank's samples.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <numeric>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "rnnabs/core/communicator.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/influence/gradients.hpp"
#include "rnnabs/influence/ihvp.hpp"
#include "rnnabs/influence/koh_liang.hpp"
#include "rnnabs/nn/concepts.hpp"

namespace rnnabs {

struct sharded_options {
  /// Samples per chunk of the global sums (one sub-objective each, evaluated in parallel). A multiple
  /// of the scoring block (128) keeps scores bit-identical.
  index_t chunk = 512;
  /// Chunks per block of a two-level fold (0: the chunks fold directly). Each rank holds one P-vector
  /// per chunk (or block) until the running total reaches it, and the last rank merges them all in
  /// turn: for millions of samples, blocks of 64 cut both by 64 (core/communicator.hpp).
  index_t block = 0;
  /// What every rank's first sample must be a multiple of: chunk · max(block, 1).
  index_t alignment() const noexcept { return chunk * std::max<index_t>(block, 1); }
};

/// The training objective over every rank's samples: loss, loss_gradient and hessian_vector_product
/// are collective (every rank calls them with the same arguments, in the same order, and gets the
/// same bits); sample_count() is the global count; per_sample_gradients are this rank's samples only.
/// subset(ids) takes global ids (the same on every rank), as LiSSA's mini-batches do. The solvers of
/// ihvp.hpp solve right-hand sides one after another for a collective objective (explicit_ihvp builds
/// its Hessian column after column).
template <sample_objective F>
class sharded_objective {
 public:
  using scalar = typename F::scalar;
  static constexpr bool collective = true;

  /// Collective. `local` is this rank's objective (samples offset, offset + 1, ... of the global set;
  /// ranks in rank order hold consecutive ranges).
  sharded_objective(const F& local, communicator_ref comm, sharded_options o = {})
      : local_(local), comm_(comm), chunk_(o.chunk), block_(o.block) {
    constexpr const char* who = "sharded_objective";
    same_on_every_rank(comm, o.chunk, who, "chunk");
    same_on_every_rank(comm, o.block, who, "block");
    require(o.chunk >= 1 && o.block >= 0, who, ": need chunk >= 1 and block >= 0, got ", o.chunk, " and ", o.block);
    const row_shard s = make_row_shard(comm, local.sample_count(), who, o.alignment());
    same_on_every_rank(comm, local.parameter_count(), who, "parameter count");
    require(s.global >= 1, who, ": no rank holds a training sample");
    offset_ = s.offset;
    n_ = s.global;
  }

  index_t parameter_count() const { return local_.parameter_count(); }
  /// Samples of the whole (sharded) objective.
  index_t sample_count() const noexcept { return n_; }
  /// The first global sample this rank holds, and how many.
  index_t offset() const noexcept { return offset_; }
  index_t local_count() const { return local_.sample_count(); }
  const F& local() const noexcept { return local_; }
  communicator_ref comm() const noexcept { return comm_; }
  index_t chunk() const noexcept { return chunk_; }
  /// Whether this is a subset (a mini-batch) of a sharded set: offset() and local() then describe the set.
  bool is_subset() const noexcept { return subset_; }

  /// Collective: the mean loss over every rank's samples (plus the regularizer).
  scalar loss(const vector<scalar>& w) const {
    const double l = fold(
        0.0, [&](const F& part, double weight, double& acc) { acc = weight * static_cast<double>(part.loss(w)); });
    return static_cast<scalar>(l);
  }
  /// Collective: its gradient.
  vector<scalar> loss_gradient(const vector<scalar>& w) const {
    return fold(vector<double>(vector<double>::Zero(parameter_count())),
                [&](const F& part, double weight, vector<double>& acc) {
                  acc = weight * part.loss_gradient(w).template cast<double>();
                })
        .template cast<scalar>();
  }
  /// Collective: H v over every rank's samples.
  vector<scalar> hessian_vector_product(const vector<scalar>& w, const vector<scalar>& v) const {
    return fold(vector<double>(vector<double>::Zero(parameter_count())),
                [&](const F& part, double weight, vector<double>& acc) {
                  acc = weight * part.hessian_vector_product(w, v).template cast<double>();
                })
        .template cast<scalar>();
  }
  /// This rank's samples' gradients (rows: its samples of this objective, in order).
  matrix<scalar> per_sample_gradients(const vector<scalar>& w) const {
    if (!subset_) return local_.per_sample_gradients(w);
    std::vector<index_t> all;
    for (const auto& g : groups_) all.insert(all.end(), g.ids.begin(), g.ids.end());
    if (all.empty()) return matrix<scalar>(0, parameter_count());
    return local_.subset(all).per_sample_gradients(w);
  }

  /// The objective over global samples ids[0], ids[1], ... (repeats allowed; the same ids on every
  /// rank). Not collective.
  sharded_objective subset(std::span<const index_t> ids) const {
    require(!ids.empty(), "sharded_objective::subset: no sample ids");
    sharded_objective s(*this);
    s.subset_ = true;
    s.base_.resize(ids.size());
    s.n_ = static_cast<index_t>(ids.size());
    s.groups_.clear();
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const index_t i = ids[k];
      require(i >= 0 && i < n_, "sharded_objective::subset: sample id ", i, " outside [0, ", n_, ")");
      s.base_[k] = subset_ ? base_[static_cast<std::size_t>(i)] : i;
    }
    // Members this rank holds, grouped by their base chunk; groups in chunk order (= rank order).
    std::vector<std::pair<index_t, index_t>> mine;  // (chunk, local id), in position order
    for (const index_t b : s.base_)
      if (b >= offset_ && b < offset_ + local_.sample_count()) mine.push_back({b / chunk_, b - offset_});
    std::stable_sort(mine.begin(), mine.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    for (const auto& [key, id] : mine) {
      if (s.groups_.empty() || s.groups_.back().key != key) s.groups_.push_back({key, {}});
      s.groups_.back().ids.push_back(id);
    }
    return s;
  }

 private:
  struct group {
    index_t key;               ///< the global chunk its members come from: the fold order
    std::vector<index_t> ids;  ///< members, as ids of local_
  };

  /// Σ over every rank's chunks (a subset: its groups), in global chunk order, of
  /// map(chunk objective, |chunk| / n, part).
  template <class Acc, class Map>
  Acc fold(Acc zero, Map&& map) const {
    const auto add = [](Acc& t, const Acc& p) { t += p; };
    const auto one = [&](const F& part, index_t size, Acc& acc) {
      map(part, static_cast<double>(size) / static_cast<double>(n_), acc);
      bool finite = true;
      if constexpr (std::is_same_v<Acc, double>) finite = std::isfinite(acc);
      else finite = acc.allFinite();
      require<numerical_error>(finite, "sharded_objective: the sum over a chunk of samples is not finite at w");
    };
    if (!subset_) {
      const index_t nl = local_.sample_count();
      return chunked_reduce(
          comm_, nl, chunk_, zero,
          [&](index_t lo, index_t hi, Acc& acc) {
            if (lo == 0 && hi == nl) return one(local_, nl, acc);
            std::vector<index_t> ids(static_cast<std::size_t>(hi - lo));
            std::iota(ids.begin(), ids.end(), lo);
            one(local_.subset(ids), hi - lo, acc);
          },
          add, block_);
    }
    // A subset (a mini-batch): few groups, each with its own partial.
    std::vector<Acc> parts(groups_.size(), zero);
    std::exception_ptr err;
    try {
      parallel_for(
          static_cast<index_t>(groups_.size()),
          [&](index_t k) {
            const group& g = groups_[static_cast<std::size_t>(k)];
            one(local_.subset(g.ids), static_cast<index_t>(g.ids.size()), parts[static_cast<std::size_t>(k)]);
          },
          /*small=*/false);  // in the team even for one group: thread-count independent bits
    } catch (...) {
      err = std::current_exception();
    }
    agree(comm_, err);
    Acc total = zero;
    chain_fold(comm_, total, [&](Acc& t) {
      for (const Acc& p : parts) add(t, p);
    });
    return total;
  }

  F local_;
  communicator_ref comm_;
  index_t chunk_ = 512, block_ = 0, offset_ = 0, n_ = 0;
  bool subset_ = false;
  std::vector<index_t> base_;  ///< a subset's samples as ids of the whole sharded set
  std::vector<group> groups_;  ///< a subset's members on this rank, by chunk
};

/// Koh & Liang with a sharded training set: s_test on every rank (the same bits), scores for this
/// rank's samples (rows = its samples, global id = train.offset() + row). Collective.
template <sample_objective F, ihvp_solver Solver>
koh_liang_result koh_liang(const sharded_objective<F>& train, const vector<typename F::scalar>& w,
                           const matrix<double>& test_gradients, Solver& solver, gradient_block_options o = {}) {
  const communicator_ref c = train.comm();
  same_on_every_rank(c, test_gradients.cols(), "koh_liang", "number of test gradients");
  collectively(c, [&] {
    require(!train.is_subset(), "koh_liang: pass the whole sharded training set, not a subset of it");
    require(o.block >= 1 && train.chunk() % o.block == 0, "koh_liang: the sharded objective's chunk (", train.chunk(),
            ") must be a multiple of the scoring block (", o.block, ") for scores independent of the rank count");
    require(test_gradients.rows() == train.parameter_count(), "koh_liang: the test gradients have ",
            test_gradients.rows(), " rows, the objective has ", train.parameter_count(), " parameters");
    require(w.size() == train.parameter_count(), "koh_liang: w has ", w.size(), " entries, the objective has ",
            train.parameter_count(), " parameters");
  });
  // Every rank must solve the same system, or the ranks' solvers would stop at different iterations.
  same_bytes_on_every_rank(c, std::as_bytes(std::span(w.data(), static_cast<std::size_t>(w.size()))), "koh_liang",
                           "parameters w");
  same_bytes_on_every_rank(
      c, std::as_bytes(std::span(test_gradients.data(), static_cast<std::size_t>(test_gradients.size()))), "koh_liang",
      "test gradients");
  koh_liang_result r;
  r.s_test = solver.solve(test_gradients);
  r.report = solver.report();
  require<numerical_error>(r.s_test.allFinite(), "koh_liang: the inverse-HVP solve returned non-finite values");
  r.scores = collectively(c, [&] { return gradient_products(train.local(), w, r.s_test, o); }) /
             static_cast<double>(train.sample_count());
  return r;
}

// ---- top-k across ranks ---------------------------------------------------------------------------

/// A training sample and its score.
struct ranked_sample {
  index_t sample = -1;  ///< global id
  double score = 0;
};

struct top_k_options {
  bool largest = true;    ///< false: the k smallest scores (the strongest opponents)
  index_t first_row = 0;  ///< global id of row 0 of the scores (a sharded set: the rank's offset)
};

/// For each column of `scores` (rows: samples first_row, first_row + 1, ...), the k highest-scoring
/// samples over every rank, best first, ties by the smaller id. Collective; the same on every rank.
inline std::vector<std::vector<ranked_sample>> top_k(const matrix<double>& scores, index_t k, top_k_options o = {},
                                                     communicator_ref c = {}) {
  const index_t m = same_on_every_rank(c, scores.cols(), "top_k", "number of score columns");
  same_on_every_rank(c, k, "top_k", "k");
  same_on_every_rank(c, o.largest ? 1 : 0, "top_k", "choice of largest");
  collectively(c, [&] {
    require(k >= 1, "top_k: k must be >= 1, got ", k);
    require(scores.rows() == 0 || scores.allFinite(), "top_k: a score is not finite");
    require(o.first_row >= 0, "top_k: first_row must be >= 0, got ", o.first_row);
  });
  auto better = [&](const ranked_sample& a, const ranked_sample& b) {
    if (a.score != b.score) return o.largest ? a.score > b.score : a.score < b.score;
    return a.sample < b.sample;
  };
  // This rank's k best per column, padded to k with sample -1.
  std::vector<ranked_sample> mine(static_cast<std::size_t>(m * k));
  for (index_t j = 0; j < m; ++j) {
    std::vector<ranked_sample> all(static_cast<std::size_t>(scores.rows()));
    for (index_t i = 0; i < scores.rows(); ++i) all[static_cast<std::size_t>(i)] = {o.first_row + i, scores(i, j)};
    const auto keep = std::min<std::size_t>(all.size(), static_cast<std::size_t>(k));
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(), better);
    std::copy_n(all.begin(), keep, mine.begin() + static_cast<std::ptrdiff_t>(j * k));
  }
  std::vector<ranked_sample> every(mine.size() * static_cast<std::size_t>(c.size()));
  c.all_gather(std::as_bytes(std::span<const ranked_sample>(mine)),
               std::as_writable_bytes(std::span<ranked_sample>(every)));
  std::vector<std::vector<ranked_sample>> out(static_cast<std::size_t>(m));
  for (index_t j = 0; j < m; ++j) {
    auto& best = out[static_cast<std::size_t>(j)];
    for (int r = 0; r < c.size(); ++r)
      for (index_t q = 0; q < k; ++q) {
        const ranked_sample& s = every[static_cast<std::size_t>((r * m + j) * k + q)];
        if (s.sample >= 0) best.push_back(s);
      }
    std::sort(best.begin(), best.end(), better);
    if (best.size() > static_cast<std::size_t>(k)) best.resize(static_cast<std::size_t>(k));
  }
  return out;
}

}  // namespace rnnabs
