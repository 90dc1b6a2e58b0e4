#pragma once
// Abstract-trace features: the one normalization every consumer uses (SimNN, fault interpretation,
// trace distances), feature selections for the ablation, and the masked trace distance.
//
// An abstract trace of a sequence of length T is a T x (2 + C) matrix; row t is
//   [ s_t, l_t, P(label = 0 | s_t), ..., P(label = C-1 | s_t) ]
// with s_t in 1..n the abstract state and l_t the per-step label. normalize_trace maps it to
//   [ s_t / n, (l_t + 1) / C, P(. | s_t) ]      (every real entry in (0, 1], Π in [0, 1])
// and padding is *masked*, not shifted: a padded step is all zeros whatever the normalization
// (RNNRepair shifted padding rows and divided the state by n+1 in one place and n+2 in another;
// here one function does it). The distance between two traces is the mean absolute
// difference over the steps of the longer one: d(a, b) = Σ_{t < max(Ta,Tb)} Σ_f |â_tf − b̂_tf| /
// (max(Ta, Tb) · F), where the shorter trace is zero past its end, so it does not depend on the
// length the set was padded to.
#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// Columns of the abstract trace a feature uses (RNNRepair's feature ablation, §4.1).
enum class feature_set {
  label,        ///< RL: the per-step label only
  state,        ///< ID: the abstract state only
  state_label,  ///< ID_RL: state + label
  confidence,   ///< CS: the state's label distribution P(label | state) only
  all,          ///< RL_ID_CS: everything
};

inline std::string_view to_string(feature_set f) noexcept {
  switch (f) {
    case feature_set::label: return "label";
    case feature_set::state: return "state";
    case feature_set::state_label: return "state_label";
    case feature_set::confidence: return "confidence";
    case feature_set::all: return "all";
  }
  return "?";
}

inline feature_set parse_feature_set(std::string_view s) {
  for (auto f :
       {feature_set::label, feature_set::state, feature_set::state_label, feature_set::confidence, feature_set::all})
    if (s == to_string(f)) return f;
  throw invalid_argument(
      detail::concat("feature set '", s, "' is not one of label, state, state_label, confidence, all"));
}

/// Whether column `col` of a (2 + C)-wide abstract trace belongs to feature set `f`.
constexpr bool feature_uses_column(feature_set f, index_t col) noexcept {
  switch (f) {
    case feature_set::label: return col == 1;
    case feature_set::state: return col == 0;
    case feature_set::state_label: return col <= 1;
    case feature_set::confidence: return col >= 2;
    case feature_set::all: return true;
  }
  return false;
}

/// The normalized copy of one abstract trace (n real states, C labels); columns outside `f` are zero.
inline matrix<double> normalize_trace(const matrix<double>& trace, index_t n_real_states, index_t n_labels,
                                      feature_set f = feature_set::all) {
  require(n_real_states >= 1 && n_labels >= 1, "normalize_trace: need n_states >= 1 and n_labels >= 1, got ",
          n_real_states, " and ", n_labels);
  require(trace.cols() == 2 + n_labels, "normalize_trace: the trace has ", trace.cols(),
          " columns, expected 2 + C = ", 2 + n_labels);
  matrix<double> out = trace;
  out.col(0) /= static_cast<double>(n_real_states);
  out.col(1) = (out.col(1).array() + 1.0) / static_cast<double>(n_labels);
  for (index_t c = 0; c < out.cols(); ++c)
    if (!feature_uses_column(f, c)) out.col(c).setZero();
  return out;
}

/// A set of normalized abstract traces, padded with zeros (masked) to `steps` rows and flattened:
/// row i of `x` is trace i's steps × width entries, step-major. Longer traces are cut to `steps`.
struct trace_matrix {
  matrix<double> x;      ///< N x (steps · width)
  index_vector lengths;  ///< N: steps used of each trace (≤ steps)
  index_t steps = 0, width = 0;

  index_t size() const noexcept { return x.rows(); }
};

/// Normalizes and packs abstract traces (see trace_matrix). steps = -1: the longest trace's length.
inline trace_matrix normalized_traces(const std::vector<matrix<double>>& traces, index_t n_real_states,
                                      index_t n_labels, feature_set f = feature_set::all, index_t steps = -1) {
  require(!traces.empty(), "normalized_traces: no traces");
  index_t tmax = 0;
  for (const auto& t : traces) tmax = std::max(tmax, t.rows());
  if (steps < 0) steps = tmax;
  require(steps >= 1, "normalized_traces: steps must be >= 1, got ", steps);
  const index_t w = 2 + n_labels, n = static_cast<index_t>(traces.size());
  trace_matrix m;
  m.steps = steps;
  m.width = w;
  m.x = matrix<double>::Zero(n, steps * w);
  m.lengths.resize(n);
  parallel_for(
      chunk_count(n, 512),
      [&](index_t c) {
        for (index_t i = c * 512; i < std::min(n, (c + 1) * 512); ++i) {
          const matrix<double> z = normalize_trace(traces[static_cast<std::size_t>(i)], n_real_states, n_labels, f);
          const index_t len = std::min(steps, z.rows());
          m.lengths(i) = len;
          m.x.row(i).head(len * w) = Eigen::Map<const vector<double>>(z.data(), len * w).transpose();
        }
      },
      /*small=*/true);
  return m;
}

/// Masked distance between rows a and b of packed traces (see the file comment).
inline double trace_distance(const trace_matrix& A, index_t a, const trace_matrix& B, index_t b) {
  require(A.width == B.width && A.steps == B.steps, "trace_distance: the trace sets were packed differently (", A.steps,
          " x ", A.width, " vs ", B.steps, " x ", B.width, ")");
  const index_t len = std::max(A.lengths(a), B.lengths(b));
  if (len == 0) return 0.0;
  const index_t k = len * A.width;
  const double s = (A.x.row(a).head(k) - B.x.row(b).head(k)).cwiseAbs().sum();
  return s / static_cast<double>(k);
}

/// Masked distances from trace `q` of Q to every trace of R (length R.size()), threaded, deterministic.
inline vector<double> trace_distances(const trace_matrix& Q, index_t q, const trace_matrix& R) {
  require(Q.width == R.width && Q.steps == R.steps, "trace_distances: the trace sets were packed differently (",
          Q.steps, " x ", Q.width, " vs ", R.steps, " x ", R.width, ")");
  require(q >= 0 && q < Q.size(), "trace_distances: query ", q, " outside [0, ", Q.size(), ")");
  const index_t n = R.size(), w = R.width;
  vector<double> d(n);
  const auto qrow = Q.x.row(q);
  const index_t lq = Q.lengths(q);
  parallel_for(
      chunk_count(n, 1024),
      [&](index_t c) {
        for (index_t j = c * 1024; j < std::min(n, (c + 1) * 1024); ++j) {
          const index_t len = std::max(lq, R.lengths(j));
          const index_t k = len * w;
          d(j) = len == 0 ? 0.0 : (qrow.head(k) - R.x.row(j).head(k)).cwiseAbs().sum() / static_cast<double>(k);
        }
      },
      /*small=*/true);
  return d;
}

}  // namespace rnnabs
