// The abstraction: states, the state x label counts, purity, P(label | state), abstract traces,
// normalization and distances, user types through the concepts, determinism, bad input.
#include <gtest/gtest.h>

#include <cmath>

#include <rnnabs/abstraction/features.hpp>
#include <rnnabs/abstraction/model.hpp>

#include "common.hpp"

namespace abstraction_abstraction_tests {

using namespace rnnabs;
using abstraction_test::random_traces;

TEST(Abstraction, CountsPurityAndDistribution) {
  const auto tr = random_traces(150, 10, 6, 3, 4, 1);
  auto model = build_abstraction(tr, {.pca_components = 3, .n_clusters = 4, .seed = 2});
  const auto& abs = model.abstraction;
  EXPECT_EQ(abs.n_states(), 5);
  EXPECT_EQ(abs.n_real_states(), 4);
  EXPECT_EQ(abs.n_labels(), 3);
  // Counts from the training states, brute force.
  matrix<index_t> want = matrix<index_t>::Zero(5, 3);
  const auto& st = abs.train_states();
  ASSERT_EQ(static_cast<index_t>(st.size()), tr.size());
  for (index_t i = 0; i < tr.size(); ++i)
    for (index_t t = 0; t < tr.length(i); ++t)
      ++want(st[static_cast<std::size_t>(i)](t), tr.step_labels[static_cast<std::size_t>(i)](t));
  EXPECT_EQ(abs.label_counts(), want);
  EXPECT_EQ(abs.label_counts().row(0).sum(), 0);
  EXPECT_EQ(abs.label_counts().sum(), tr.total_steps());
  // states() on the training traces reproduces the training states.
  EXPECT_EQ(abs.states(tr), st);
  // Π rows sum to one; row 0 uniform.
  for (index_t s = 0; s < 5; ++s) EXPECT_NEAR(abs.label_distribution().row(s).sum(), 1.0, 1e-12);
  EXPECT_NEAR(abs.label_distribution()(0, 1), 1.0 / 3, 1e-15);
  // Clusters are well separated and labels follow them 80 %+: high purity.
  const auto stab = abs.stability();
  EXPECT_EQ(stab.empty_states, 0);
  EXPECT_GT(stab.mean, 0.7);
  EXPECT_LE(stab.max, 1.0);
  EXPECT_LE(stab.min, stab.mean);
  EXPECT_TRUE(std::isnan(abs.purity()(0)));
  // Abstract trace layout.
  const auto at = abs.abstract_traces(st, tr.step_labels);
  ASSERT_EQ(at[0].cols(), 5);
  EXPECT_EQ(at[0](0, 0), static_cast<double>(st[0](0)));
  EXPECT_EQ(at[0](0, 1), static_cast<double>(tr.step_labels[0](0)));
  EXPECT_EQ(at[0].row(0).tail(3), abs.label_distribution().row(st[0](0)));
  // The automaton counts every training step once.
  EXPECT_EQ(model.automaton.total_count(), tr.total_steps());
  EXPECT_EQ(model.automaton.n_live_samples(), tr.size());
}

/// A user partitioner: assigns by the sign of the first coordinate, never uses component 2 (empty state).
struct sign_partitioner {
  template <class D>
  void fit(const Eigen::MatrixBase<D>&) {}
  template <class D>
  index_vector predict(const Eigen::MatrixBase<D>& z) const {
    index_vector r(z.rows());
    for (index_t i = 0; i < z.rows(); ++i) r(i) = z(i, 0) > 0 ? 1 : 0;
    return r;
  }
  index_t n_clusters() const { return 3; }
};

/// A reducer written for double only (non-template members): fits double traces, is refused for float.
struct double_projection {
  void fit(const matrix<double>& x) { cols = std::min<index_t>(2, x.cols()); }
  matrix<double> transform(const matrix<double>& x) const { return x.leftCols(cols); }
  index_t n_components() const { return cols; }
  index_t cols = 0;
};
static_assert(dimension_reducer<double_projection, double>);
static_assert(!dimension_reducer<double_projection, float>, "a double-only reducer must not pass for float");
static_assert(state_partitioner<kmeans, double> && state_partitioner<kmeans, float>);

TEST(Abstraction, BuildsTheModelOfAnyStages) {
  const auto trf = random_traces(80, 8, 5, 2, 3, 17);
  traces<double> tr;  // the same traces in double, for the double-only reducer
  for (const auto& h : trf.hidden) tr.hidden.push_back(h.cast<double>());
  for (const auto& p : trf.step_probabilities) tr.step_probabilities.push_back(p.cast<double>());
  tr.step_labels = trf.step_labels, tr.predictions = trf.predictions, tr.truth = trf.truth;
  const auto m = build_abstraction(tr, abstraction(double_projection{}, kmeans({.n_clusters = 4, .seed = 2})));
  EXPECT_EQ(m.abstraction.reducer().n_components(), 2);
  EXPECT_EQ(m.abstraction.n_states(), 5);  // 4 clusters + the initial state
  EXPECT_EQ(m.abstraction.n_real_states(), 4);
  EXPECT_EQ(m.automaton.n_states(), 5);
  // The same states as fitting the stages by hand: k-means on the first two hidden columns.
  kmeans km({.n_clusters = 4, .seed = 2});
  matrix<double> z(tr.total_steps(), 2);
  index_t r = 0;
  for (const auto& h : tr.hidden) {
    z.middleRows(r, h.rows()) = h.leftCols(2);
    r += h.rows();
  }
  km.fit(z);
  const index_vector c = km.predict(z);
  r = 0;
  for (std::size_t i = 0; i < tr.hidden.size(); ++i) {
    EXPECT_EQ(m.abstraction.train_states()[i], (c.segment(r, tr.hidden[i].rows()).array() + 1).matrix().eval());
    r += tr.hidden[i].rows();
  }
}

TEST(Abstraction, TracesFromPlainArrays) {
  // Three sequences of lengths 2, 3, 1, width 2, padded to t_max = 3 as NumPy would hold them.
  const std::vector<float> h = {1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0};
  const std::vector<index_t> lengths = {2, 3, 1}, labels = {0, 1, 9, 1, 1, 0, 1, 9, 9}, truth = {1, 0, -1};
  const auto tr = traces_from_padded<float>(h, 3, 3, 2, lengths, labels, 2, truth);
  ASSERT_EQ(tr.size(), 3);
  EXPECT_EQ(tr.length(0), 2);
  EXPECT_EQ(tr.length(1), 3);
  EXPECT_EQ(tr.hidden[1](2, 1), 10.0f);
  EXPECT_EQ(tr.hidden[2](0, 0), 11.0f);
  EXPECT_EQ(tr.step_labels[1](2), 0);
  EXPECT_EQ(tr.predictions, (index_vector(3) << 1, 0, 1).finished());  // each sequence's last step label
  EXPECT_EQ(tr.truth, (index_vector(3) << 1, 0, -1).finished());
  EXPECT_EQ(tr.step_probabilities[0], (matrix<float>(2, 2) << 1, 0, 0, 1).finished());  // one-hot labels
  // The ragged form gives the same traces.
  const auto same = make_traces<float>(tr.hidden, tr.step_labels, 2, tr.truth);
  EXPECT_EQ(same.hidden[1], tr.hidden[1]);
  EXPECT_EQ(same.predictions, tr.predictions);
  // Bad input: a length past t_max, a label outside [0, C), a short buffer, NaN hidden states.
  const std::vector<index_t> too_long = {2, 4, 1}, bad_label = {0, 2, 9, 1, 1, 0, 1, 9, 9};
  EXPECT_THROW(traces_from_padded<float>(h, 3, 3, 2, too_long, labels, 2), invalid_argument);
  EXPECT_THROW(traces_from_padded<float>(h, 3, 3, 2, lengths, bad_label, 2), invalid_argument);
  EXPECT_THROW(traces_from_padded<float>(std::span(h).first(10), 3, 3, 2, lengths, labels, 2), invalid_argument);
  std::vector<float> nan = h;
  nan[2] = std::nanf("");
  EXPECT_THROW(traces_from_padded<float>(nan, 3, 3, 2, lengths, labels, 2), invalid_argument);
  // Plain arrays feed the whole pipeline.
  const auto m = build_abstraction(tr, {.pca_components = 0, .n_clusters = 2, .seed = 1});
  EXPECT_EQ(m.automaton.n_states(), 3);
}

TEST(Abstraction, UserTypesAndEmptyStates) {
  const auto tr = random_traces(60, 8, 5, 2, 3, 7);
  abstraction<identity_reducer, sign_partitioner> abs;
  abs.fit(tr);
  EXPECT_EQ(abs.n_states(), 4);
  EXPECT_EQ(abs.label_counts().row(3).sum(), 0);
  EXPECT_TRUE(std::isnan(abs.purity()(3)));
  const auto s = abs.stability();
  EXPECT_EQ(s.empty_states, 1);
  EXPECT_TRUE(std::isfinite(s.mean));
  EXPECT_NEAR(abs.label_distribution()(3, 0), 0.5, 1e-15);  // empty: uniform

  abstraction<pca, kmeans> km(pca(2), kmeans(kmeans_options{.n_clusters = 3, .seed = 1}));
  km.fit(tr);
  EXPECT_EQ(km.n_states(), 4);
  EXPECT_EQ(km.label_counts().sum(), tr.total_steps());
  abstraction<identity_reducer, gaussian_mixture> ig(
      identity_reducer{}, gaussian_mixture({.n_components = 3, .covariance = covariance_type::diag}));
  ig.fit(tr);
  EXPECT_EQ(ig.reducer().n_components(), 5);
  // pca_or_identity turns into the identity for k >= width.
  auto full = build_abstraction(tr, {.pca_components = 99, .n_clusters = 2});
  EXPECT_TRUE(full.abstraction.reducer().is_identity());
}

TEST(Abstraction, NormalizationAndMaskedDistance) {
  matrix<double> a(2, 4), b(3, 4);
  a << 2, 0, 0.5, 0.5, 4, 1, 0.2, 0.8;
  b << 2, 0, 0.5, 0.5, 4, 1, 0.2, 0.8, 1, 1, 0.9, 0.1;
  const matrix<double> na = normalize_trace(a, 4, 2);
  EXPECT_DOUBLE_EQ(na(0, 0), 0.5);
  EXPECT_DOUBLE_EQ(na(1, 0), 1.0);
  EXPECT_DOUBLE_EQ(na(0, 1), 0.5);
  EXPECT_DOUBLE_EQ(na(1, 1), 1.0);
  EXPECT_DOUBLE_EQ(na(1, 2), 0.2);
  const auto z = normalized_traces({a, b}, 4, 2);
  EXPECT_EQ(z.steps, 3);
  EXPECT_EQ(z.lengths(0), 2);
  EXPECT_DOUBLE_EQ(z.x(0, 8), 0.0);  // padding is zero, not shifted
  // d(a, b): identical first two rows; third row of b against the masked (zero) row of a.
  const double third = 0.25 + 1.0 + 0.9 + 0.1;
  EXPECT_DOUBLE_EQ(trace_distance(z, 0, z, 1), third / 12.0);
  EXPECT_DOUBLE_EQ(trace_distance(z, 1, z, 0), third / 12.0);
  EXPECT_DOUBLE_EQ(trace_distance(z, 0, z, 0), 0.0);
  // Independent of the padded length.
  const auto z5 = normalized_traces({a, b}, 4, 2, feature_set::all, 5);
  EXPECT_DOUBLE_EQ(trace_distance(z5, 0, z5, 1), third / 12.0);
  const vector<double> d = trace_distances(z, 0, z);
  EXPECT_DOUBLE_EQ(d(1), third / 12.0);
  // Feature sets keep only their columns.
  const matrix<double> lab = normalize_trace(a, 4, 2, feature_set::label);
  EXPECT_EQ(lab.col(0).sum(), 0.0);
  EXPECT_EQ(lab.rightCols(2).sum(), 0.0);
  EXPECT_GT(lab.col(1).sum(), 0.0);
  EXPECT_EQ(normalize_trace(a, 4, 2, feature_set::confidence).leftCols(2).sum(), 0.0);
  EXPECT_EQ(parse_feature_set("state_label"), feature_set::state_label);
  EXPECT_THROW(parse_feature_set("nope"), invalid_argument);
  EXPECT_THROW(normalize_trace(a, 4, 3), invalid_argument);
}

TEST(Abstraction, DeterministicAcrossThreadCounts) {
  const auto tr = random_traces(300, 12, 8, 3, 5, 9);
  set_threads(1);
  const auto a = build_abstraction(tr, {.pca_components = 4, .n_clusters = 6, .seed = 3});
  set_threads(2);
  const auto b = build_abstraction(tr, {.pca_components = 4, .n_clusters = 6, .seed = 3});
  EXPECT_EQ(a.abstraction.train_states(), b.abstraction.train_states());
  EXPECT_EQ(a.abstraction.label_counts(), b.abstraction.label_counts());
  EXPECT_TRUE(a.automaton == b.automaton);
  const auto za = normalized_traces(a.abstraction.abstract_traces(tr), 6, 3);
  set_threads(1);
  const auto zb = normalized_traces(b.abstraction.abstract_traces(tr), 6, 3);
  EXPECT_EQ(za.x, zb.x);
  set_threads(2);
}

TEST(Abstraction, BadInputGetsTypedErrors) {
  const auto tr = random_traces(40, 6, 5, 2, 3, 13);
  traces<float> empty;
  EXPECT_THROW(build_abstraction(empty, {.n_clusters = 2}), invalid_argument);
  auto bad_label = tr;
  bad_label.step_labels[3](0) = 2;  // >= C
  EXPECT_THROW(build_abstraction(bad_label, {.pca_components = 2, .n_clusters = 2}), invalid_argument);
  auto model = build_abstraction(tr, {.pca_components = 2, .n_clusters = 3});
  auto wide = random_traces(5, 6, 7, 2, 3, 14);  // wrong width
  EXPECT_THROW((void)model.abstraction.states(wide), invalid_argument);
  auto ragged = tr;
  ragged.hidden[2] = matrix<float>::Zero(tr.length(2), 4);
  EXPECT_THROW(build_abstraction(ragged, {.pca_components = 2, .n_clusters = 2}), invalid_argument);
  EXPECT_THROW((void)model.abstraction.abstract_trace(index_vector::Constant(2, 4), index_vector::Zero(2)),
               invalid_argument);  // state outside [1, m)
  EXPECT_THROW((void)model.abstraction.abstract_trace(index_vector::Constant(2, 1), index_vector::Constant(2, 2)),
               invalid_argument);  // label >= C
  default_abstraction unfitted;
  EXPECT_THROW((void)unfitted.states(tr), invalid_argument);
  EXPECT_THROW((void)unfitted.stability(), invalid_argument);
  // Token traces with an unknown token for the automaton's vocabulary.
  auto tok = random_traces(30, 5, 4, 2, 3, 15, false, 4);
  EXPECT_THROW(build_abstraction(tok, {.pca_components = 2, .n_clusters = 2, .vocab_size = 3}), invalid_argument);
  EXPECT_EQ(build_abstraction(tok, {.pca_components = 2, .n_clusters = 2}).automaton.vocab_size(), 4);
}

}  // namespace abstraction_abstraction_tests
