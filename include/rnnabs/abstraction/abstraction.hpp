#pragma once
// The abstract model of RNNRepair (Xie et al., ICML 2021), generic over its two stages:
//   hidden states (Σ T_i x W) --Reducer--> (Σ T_i x k) --Partitioner--> component c --> state c + 1
// State 0 is the virtual initial state ("before the first input"); real states are 1..n, so there
// are m = n + 1 states. PCA + diagonal GMM is the default; any rnnabs::dimension_reducer /
// rnnabs::state_partitioner drops in (pca, identity_reducer, gaussian_mixture, kmeans, a user type).
//
//   rnnabs::abstraction<> abs(rnnabs::pca(10), rnnabs::gaussian_mixture({.n_components = 37,
//                             .covariance = rnnabs::covariance_type::diag, .seed = 1}));
//   abs.fit(train_traces);                                   // rnnabs::traces<float> (nn/profile.hpp)
//   auto s  = abs.states(test_traces);                       // per sequence: T_i states in 1..n
//   auto at = abs.abstract_traces(s, test_traces.step_labels);  // per sequence: T_i x (2 + C)
//   auto st = abs.stability();                               // purity over real states
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "rnnabs/core/communicator.hpp"
#include "rnnabs/core/concepts.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/profile.hpp"
#include "rnnabs/stats/gmm.hpp"
#include "rnnabs/stats/kmeans.hpp"
#include "rnnabs/stats/pca.hpp"

namespace rnnabs {

/// A dimension_reducer that keeps the data as it is (RNNRepair skips PCA when k >= H).
class identity_reducer {
 public:
  template <class Derived>
  identity_reducer& fit(const Eigen::MatrixBase<Derived>& x) {
    require(x.rows() > 0 && x.cols() > 0, "identity_reducer::fit: X is empty");
    d_ = x.cols();
    return *this;
  }
  template <class Derived>
  matrix<typename Derived::Scalar> transform(const Eigen::MatrixBase<Derived>& x) const {
    require(d_ > 0, "identity_reducer::transform: called before fit");
    require(x.cols() == d_, "identity_reducer::transform: X has ", x.cols(), " columns, expected ", d_);
    return x;
  }
  index_t n_components() const noexcept { return d_; }
  index_t n_features() const noexcept { return d_; }

 private:
  index_t d_ = 0;
};

static_assert(check_dimension_reducer<identity_reducer, float>());
static_assert(check_dimension_reducer<pca, float>());
static_assert(check_state_partitioner<kmeans, float>());

/// Purity ("stability") of the real states: purity(s) = max_c count(s, c) / Σ_c count(s, c).
/// Empty states have no purity; they are counted in `empty_states` and left out of every statistic
/// (RNNRepair averaged in the initial state, whose purity is 1, and divided by zero on empty ones).
struct stability_stats {
  double mean = 0;  ///< unweighted mean over non-empty real states
  double weighted_mean =
      0;  ///< weighted by the states' step counts (= fraction of steps agreeing with their state's majority)
  double min = 0, max = 0;
  index_t empty_states = 0;
};

namespace detail {
template <class T>
void require_traces_width(const traces<T>& tr, index_t width, const char* who) {
  require(tr.width() == width, who, ": the traces have hidden width ", tr.width(), ", the abstraction was fitted on ",
          width);
}
}  // namespace detail

template <class Reducer = pca, class Partitioner = gaussian_mixture>
class abstraction {
 public:
  using reducer_type = Reducer;
  using partitioner_type = Partitioner;

  abstraction() = default;
  abstraction(Reducer r, Partitioner p) : reducer_(std::move(r)), partitioner_(std::move(p)) {}

  /// Fits both stages on every training step (all sequences, all steps stacked) and counts the
  /// state x label matrix from the per-step labels. The training states stay available (train_states()).
  template <class T>
  abstraction& fit(const traces<T>& tr) {
    // The checks' static_asserts say what a user stage lacks; the body is then not instantiated,
    // so that message is the only error.
    if constexpr (!check_dimension_reducer<Reducer, T>() || !check_state_partitioner<Partitioner, T>()) {
      return *this;
    } else {
      return fit_checked(tr);
    }
  }

  /// Distributed fit: `tr` is this rank's share of the training sequences (any split; rank order is
  /// sequence order). Both stages are fitted on all ranks' steps (each must take a communicator, as
  /// pca_or_identity, pca, kmeans and gaussian_mixture do), the state x label counts are of all ranks'
  /// steps, train_states() holds this rank's sequences. Collective; every rank ends with the stages and
  /// counts fit(all sequences) gives on one process, bit for bit.
  template <class T, communicator C>
  abstraction& fit(const traces<T>& tr, const C& comm) {
    static_assert(
        requires(Reducer r, const matrix<T>& x, communicator_ref c) { r.fit(x, c); },
        "abstraction::fit(traces, communicator): the reducer has no fit(X, communicator); it cannot be "
        "fitted on sharded rows");
    static_assert(
        requires(Partitioner p, const matrix<T>& z, communicator_ref c) { p.fit(z, c); },
        "abstraction::fit(traces, communicator): the partitioner has no fit(Z, communicator); it cannot "
        "be fitted on sharded rows");
    const communicator_ref c(comm);
    const char* who = "abstraction::fit";
    collectively(c, [&] {
      if (tr.size() > 0) tr.validate(who);  // a rank may hold no sequence
    });
    const auto shape = all_gather_value(c, std::array<index_t, 2>{tr.width(), tr.num_classes()});
    width_ = 0;
    n_labels_ = 0;
    for (int q = 0; q < c.size(); ++q) {
      const auto [w, k] = shape[static_cast<std::size_t>(q)];
      if (k == 0) continue;  // a rank without sequences
      require(width_ == 0 || (w == width_ && k == n_labels_), who, ": rank ", q, " has traces of width ", w, " and ", k,
              " classes, another rank ", width_, " and ", n_labels_);
      width_ = w;
      n_labels_ = k;
    }
    require(n_labels_ >= 1, who, ": no rank holds a sequence");
    const matrix<T> x = tr.size() > 0 ? stack_hidden(tr, 0, tr.size()) : matrix<T>(0, width_);
    const bool aligned = rows_aligned(c, x.rows());
    const matrix<T> xa = aligned ? matrix<T>() : align_rows(c, x);
    const matrix<T>& xf = aligned ? x : xa;
    reducer_.fit(xf, c);
    // A rank may hold no rows (no sequence, or all its steps moved to a lower rank): no transform there.
    auto reduce = [&](const matrix<T>& m) {
      return m.rows() > 0 ? reducer_.transform(m) : matrix<T>(0, reducer_.n_components());
    };
    const matrix<T> zf = reduce(xf);
    partitioner_.fit(zf, c);
    m_ = static_cast<index_t>(partitioner_.n_clusters()) + 1;
    const matrix<T> zl = aligned ? matrix<T>() : reduce(x);
    const matrix<T>& z = aligned ? zf : zl;
    train_states_ = split_states(z.rows() > 0 ? partitioner_.predict(z) : index_vector(), tr);
    const matrix<index_t> mine = count_steps(train_states_, tr.step_labels);
    counts_ = matrix<index_t>::Zero(m_, n_labels_);
    chain_fold(c, counts_, [&](matrix<index_t>& total) { total += mine; });
    set_label_distribution();
    return *this;
  }

  /// Fits the partitioner on already reduced steps `z` (rows: the steps of `tr` in order), with the
  /// reducer as fitted before (a component sweep reduces once and calls this per candidate).
  template <class T>
  abstraction& fit_reduced(const matrix<T>& z, const traces<T>& tr) {
    if constexpr (!check_state_partitioner<Partitioner, T>()) {
      return *this;
    } else {
      return fit_reduced_checked(z, tr);
    }
  }

 private:
  template <class T>
  abstraction& fit_checked(const traces<T>& tr) {
    tr.validate("abstraction::fit");
    require(tr.num_classes() >= 1, "abstraction::fit: the traces have no classes");
    matrix<T> z;
    {
      const matrix<T> x = stack_hidden(tr, 0, tr.size());
      reducer_.fit(x);
      z = reducer_.transform(x);
    }
    width_ = tr.width();
    return fit_reduced_checked(z, tr);
  }
  template <class T>
  abstraction& fit_reduced_checked(const matrix<T>& z, const traces<T>& tr) {
    tr.validate("abstraction::fit_reduced");
    require(z.rows() == tr.total_steps(), "abstraction::fit_reduced: Z has ", z.rows(), " rows, the traces have ",
            tr.total_steps(), " steps");
    if (width_ == 0) width_ = tr.width();
    partitioner_.fit(z);
    n_labels_ = tr.num_classes();
    m_ = static_cast<index_t>(partitioner_.n_clusters()) + 1;
    train_states_ = split_states(partitioner_.predict(z), tr);
    count_labels(train_states_, tr.step_labels);
    return *this;
  }

 public:
  /// Abstract states (1..n) of every step of every sequence of `tr`, in chunks of bounded memory.
  template <class T>
  std::vector<index_vector> states(const traces<T>& tr) const {
    require_fitted("abstraction::states");
    require(tr.size() > 0, "abstraction::states: the traces hold no sequence");
    detail::require_traces_width(tr, width_, "abstraction::states");
    std::vector<index_vector> out;
    out.reserve(static_cast<std::size_t>(tr.size()));
    constexpr index_t rows_per_block = 1 << 18;
    for (index_t b = 0; b < tr.size();) {
      index_t e = b, rows = 0;
      while (e < tr.size() && (rows == 0 || rows + tr.length(e) <= rows_per_block)) rows += tr.length(e++);
      require(rows > 0, "abstraction::states: sequence ", b, " is empty");
      const matrix<T> x = stack_hidden(tr, b, e);
      const index_vector c = partitioner_.predict(reducer_.transform(x));
      index_t r = 0;
      for (index_t i = b; i < e; ++i) {
        out.emplace_back(c.segment(r, tr.length(i)).array() + 1);
        r += tr.length(i);
      }
      b = e;
    }
    return out;
  }

  /// One abstract trace: T x (2 + C), row t = [s_t, l_t, Π(s_t, 0..C-1)].
  matrix<double> abstract_trace(const index_vector& states, const index_vector& labels) const {
    require_fitted("abstraction::abstract_trace");
    require(states.size() == labels.size(), "abstraction::abstract_trace: ", states.size(), " states but ",
            labels.size(), " labels");
    matrix<double> t(states.size(), 2 + n_labels_);
    for (index_t j = 0; j < states.size(); ++j) {
      require(states(j) >= 1 && states(j) < m_, "abstraction::abstract_trace: state ", states(j), " at step ", j,
              " is outside [1, ", m_, ")");
      require(labels(j) >= 0 && labels(j) < n_labels_, "abstraction::abstract_trace: label ", labels(j), " at step ", j,
              " is outside [0, ", n_labels_, ")");
      t(j, 0) = static_cast<double>(states(j));
      t(j, 1) = static_cast<double>(labels(j));
      t.row(j).tail(n_labels_) = pi_.row(states(j));
    }
    return t;
  }

  /// Abstract traces of many sequences.
  std::vector<matrix<double>> abstract_traces(const std::vector<index_vector>& states,
                                              const std::vector<index_vector>& labels) const {
    require(states.size() == labels.size(), "abstraction::abstract_traces: ", states.size(), " state sequences but ",
            labels.size(), " label sequences");
    std::vector<matrix<double>> out(states.size());
    for (std::size_t i = 0; i < states.size(); ++i) out[i] = abstract_trace(states[i], labels[i]);
    return out;
  }
  template <class T>
  std::vector<matrix<double>> abstract_traces(const traces<T>& tr) const {
    return abstract_traces(states(tr), tr.step_labels);
  }

  // --- fitted statistics -------------------------------------------------------------------------
  bool fitted() const noexcept { return m_ > 0; }
  /// m = n + 1: the real states plus the initial state 0.
  index_t n_states() const noexcept { return m_; }
  /// n: the real states (the partitioner's components).
  index_t n_real_states() const noexcept { return m_ > 0 ? m_ - 1 : 0; }
  index_t n_labels() const noexcept { return n_labels_; }
  index_t width() const noexcept { return width_; }
  /// m x C: training steps per (state, per-step label); row 0 (the initial state) is zero.
  const matrix<index_t>& label_counts() const noexcept { return counts_; }
  /// m x C: P(label | state), the row-normalized counts; rows without counts (state 0, empty
  /// states) are uniform 1/C.
  const matrix<double>& label_distribution() const noexcept { return pi_; }
  /// Purity of each state (size m); NaN for state 0 and for empty states.
  vector<double> purity() const {
    vector<double> p = vector<double>::Constant(m_, std::numeric_limits<double>::quiet_NaN());
    for (index_t s = 1; s < m_; ++s) {
      const index_t tot = counts_.row(s).sum();
      if (tot > 0) p(s) = static_cast<double>(counts_.row(s).maxCoeff()) / static_cast<double>(tot);
    }
    return p;
  }
  stability_stats stability() const {
    require_fitted("abstraction::stability");
    stability_stats st;
    st.min = std::numeric_limits<double>::infinity();
    st.max = -st.min;
    double sum = 0, wsum = 0, w = 0;
    index_t used = 0;
    const vector<double> p = purity();
    for (index_t s = 1; s < m_; ++s) {
      if (std::isnan(p(s))) {
        ++st.empty_states;
        continue;
      }
      const auto tot = static_cast<double>(counts_.row(s).sum());
      sum += p(s);
      wsum += p(s) * tot;
      w += tot;
      ++used;
      st.min = std::min(st.min, p(s));
      st.max = std::max(st.max, p(s));
    }
    if (used == 0) return stability_stats{0, 0, 0, 0, st.empty_states};
    st.mean = sum / static_cast<double>(used);
    st.weighted_mean = wsum / w;
    return st;
  }
  /// States of the training steps the abstraction was fitted on (per sequence, 1..n).
  const std::vector<index_vector>& train_states() const noexcept { return train_states_; }
  const Reducer& reducer() const noexcept { return reducer_; }
  const Partitioner& partitioner() const noexcept { return partitioner_; }
  Reducer& reducer() noexcept { return reducer_; }
  Partitioner& partitioner() noexcept { return partitioner_; }

  /// Hidden states of sequences [b, e) stacked (Σ T_i x W).
  template <class T>
  static matrix<T> stack_hidden(const traces<T>& tr, index_t b, index_t e) {
    index_t rows = 0;
    for (index_t i = b; i < e; ++i) rows += tr.length(i);
    matrix<T> x(rows, tr.width());
    index_t r = 0;
    for (index_t i = b; i < e; ++i) {
      x.middleRows(r, tr.length(i)) = tr.hidden[static_cast<std::size_t>(i)];
      r += tr.length(i);
    }
    return x;
  }

 private:
  void require_fitted(const char* who) const {
    require(fitted(), who, ": the abstraction is not fitted; call fit() first");
  }

  template <class T>
  std::vector<index_vector> split_states(const index_vector& c, const traces<T>& tr) const {
    std::vector<index_vector> out;
    out.reserve(static_cast<std::size_t>(tr.size()));
    index_t r = 0;
    for (index_t i = 0; i < tr.size(); ++i) {
      out.emplace_back(c.segment(r, tr.length(i)).array() + 1);
      r += tr.length(i);
    }
    for (const auto& s : out)
      for (index_t j = 0; j < s.size(); ++j)
        require(s(j) >= 1 && s(j) < m_, "abstraction: the partitioner returned component ", s(j) - 1, " outside [0, ",
                m_ - 1, ")");
    return out;
  }

  matrix<index_t> count_steps(const std::vector<index_vector>& states, const std::vector<index_vector>& labels) const {
    matrix<index_t> n = matrix<index_t>::Zero(m_, n_labels_);
    for (std::size_t i = 0; i < states.size(); ++i)
      for (index_t j = 0; j < states[i].size(); ++j) ++n(states[i](j), labels[i](j));
    return n;
  }
  void count_labels(const std::vector<index_vector>& states, const std::vector<index_vector>& labels) {
    counts_ = count_steps(states, labels);
    set_label_distribution();
  }
  void set_label_distribution() {
    pi_.resize(m_, n_labels_);
    for (index_t s = 0; s < m_; ++s) {
      const index_t tot = counts_.row(s).sum();
      if (tot > 0) pi_.row(s) = counts_.row(s).cast<double>() / static_cast<double>(tot);
      else pi_.row(s).setConstant(1.0 / static_cast<double>(n_labels_));
    }
  }

  Reducer reducer_{};
  Partitioner partitioner_{};
  index_t m_ = 0, n_labels_ = 0, width_ = 0;
  matrix<index_t> counts_;
  matrix<double> pi_;
  std::vector<index_vector> train_states_;
};

}  // namespace rnnabs
