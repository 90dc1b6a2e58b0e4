#pragma once
// Fidelity of an abstraction (RNNRepair's RQ1, Xie et al., ICML 2021): the SimNN probe on abstract traces, the
// feature ablation, and a sweep over the number of components recording BIC, stability and SimNN
// train/test accuracy, with a documented rule that proposes the number of components.
//
//   auto f = rnnabs::simnn_fidelity(abs, train, abs.train_states(), test, abs.states(test));
//   auto rows = rnnabs::component_sweep(train, test, {.pca_components = 10, .n_clusters = {10, 20, 37}});
//   rnnabs::index_t k = rnnabs::propose_components(rows);
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "rnnabs/abstraction/abstraction.hpp"
#include "rnnabs/abstraction/features.hpp"
#include "rnnabs/abstraction/model.hpp"
#include "rnnabs/abstraction/simnn.hpp"

namespace rnnabs {

struct fidelity_result {
  feature_set features = feature_set::all;
  double loss = 0;            ///< SimNN's final training loss
  double train_accuracy = 0;  ///< on its training rows (correctly predicted training samples)
  double test_accuracy = 0;   ///< agreement with the truth on every test sample
  double test_agreement = 0;  ///< agreement with the RNN's prediction on every test sample
  double rnn_test_accuracy = 0;
  index_t n_train = 0, n_test = 0;
};

/// SimNN on abstract traces (RNNRepair's probe): trained on the training samples the RNN predicts correctly
/// (targets: their truth), scored against the truth of every test sample. The padded length is the
/// longest *training* trace (longer test traces are cut), so it does not depend on the test set
/// (RNNRepair padded train and test together).
inline fidelity_result simnn_fidelity(const std::vector<matrix<double>>& train_abstract, const index_vector& train_pred,
                                      const index_vector& train_truth, const std::vector<matrix<double>>& test_abstract,
                                      const index_vector& test_pred, const index_vector& test_truth,
                                      index_t n_real_states, index_t n_labels, feature_set f = feature_set::all,
                                      const simnn_options& o = {}) {
  constexpr const char* who = "simnn_fidelity";
  require(static_cast<index_t>(train_abstract.size()) == train_pred.size() && train_pred.size() == train_truth.size(),
          who, ": training traces, predictions and truths differ in number");
  require(static_cast<index_t>(test_abstract.size()) == test_pred.size() && test_pred.size() == test_truth.size(), who,
          ": test traces, predictions and truths differ in number");
  std::vector<matrix<double>> kept;
  std::vector<index_t> y;
  for (std::size_t i = 0; i < train_abstract.size(); ++i) {
    const auto k = static_cast<index_t>(i);
    if (train_pred(k) == train_truth(k) && train_truth(k) >= 0) {
      kept.push_back(train_abstract[i]);
      y.push_back(train_truth(k));
    }
  }
  require(!kept.empty(), who, ": no training sample is predicted correctly");
  index_t steps = 0;
  for (const auto& t : train_abstract) steps = std::max(steps, t.rows());
  const trace_matrix xtr = normalized_traces(kept, n_real_states, n_labels, f, steps);
  const trace_matrix xte = normalized_traces(test_abstract, n_real_states, n_labels, f, steps);
  simnn probe(o);
  const index_vector ytr = Eigen::Map<const index_vector>(y.data(), static_cast<index_t>(y.size()));
  probe.fit(xtr.x, ytr, n_labels);
  fidelity_result r;
  r.features = f;
  r.loss = probe.loss();
  r.train_accuracy = probe.accuracy(xtr.x, ytr);
  const index_vector p = probe.predict(xte.x);
  r.test_accuracy = static_cast<double>((p.array() == test_truth.array()).count()) / static_cast<double>(p.size());
  r.test_agreement = static_cast<double>((p.array() == test_pred.array()).count()) / static_cast<double>(p.size());
  r.rnn_test_accuracy = static_cast<double>((test_pred.array() == test_truth.array()).count()) /
                        static_cast<double>(p.size());
  r.n_train = xtr.size();
  r.n_test = xte.size();
  return r;
}

/// Distributed: every argument holds this rank's share of the training and test samples (any split; a
/// rank may hold none). The probe is trained on all ranks' kept samples (simnn::fit with a
/// communicator), the padded length is the longest training trace of any rank, and the accuracies count
/// every rank's samples: the single process's result, bit for bit. Collective.
inline fidelity_result simnn_fidelity(const std::vector<matrix<double>>& train_abstract, const index_vector& train_pred,
                                      const index_vector& train_truth, const std::vector<matrix<double>>& test_abstract,
                                      const index_vector& test_pred, const index_vector& test_truth,
                                      index_t n_real_states, index_t n_labels, feature_set f, const simnn_options& o,
                                      communicator_ref comm) {
  if (comm.size() == 1)
    return simnn_fidelity(train_abstract, train_pred, train_truth, test_abstract, test_pred, test_truth, n_real_states,
                          n_labels, f, o);
  constexpr const char* who = "simnn_fidelity";
  collectively(comm, [&] {
    require(static_cast<index_t>(train_abstract.size()) == train_pred.size() && train_pred.size() == train_truth.size(),
            who, ": training traces, predictions and truths differ in number");
    require(static_cast<index_t>(test_abstract.size()) == test_pred.size() && test_pred.size() == test_truth.size(),
            who, ": test traces, predictions and truths differ in number");
  });
  std::vector<matrix<double>> kept;
  std::vector<index_t> y;
  index_t steps = 0;
  for (std::size_t i = 0; i < train_abstract.size(); ++i) {
    const auto k = static_cast<index_t>(i);
    steps = std::max(steps, train_abstract[i].rows());
    if (train_pred(k) == train_truth(k) && train_truth(k) >= 0) {
      kept.push_back(train_abstract[i]);
      y.push_back(train_truth(k));
    }
  }
  for (const index_t s : all_gather_value(comm, steps)) steps = std::max(steps, s);
  const auto rows = [&](const std::vector<matrix<double>>& t) {
    if (!t.empty()) return normalized_traces(t, n_real_states, n_labels, f, steps);
    trace_matrix none;  // a rank without such samples: no rows of the same width
    none.x = matrix<double>(0, steps * (2 + n_labels));
    return none;
  };
  const trace_matrix xtr = collectively(comm, [&] { return rows(kept); });
  const trace_matrix xte = collectively(comm, [&] { return rows(test_abstract); });
  const index_vector ytr = Eigen::Map<const index_vector>(y.data(), static_cast<index_t>(y.size()));
  // Counts over every rank: kept, their correct predictions, tests, agreeing with the truth / the RNN.
  struct counts {
    index_t kept = 0, train_right = 0, tests = 0, test_right = 0, test_agree = 0, rnn_right = 0;
  };
  counts mine;
  mine.kept = ytr.size();
  const bool any_kept = std::ranges::any_of(all_gather_value(comm, mine.kept), [](index_t k) { return k > 0; });
  require(any_kept, who, ": no training sample is predicted correctly");
  simnn probe(o);
  probe.fit(xtr.x, ytr, n_labels, comm);
  if (ytr.size() > 0) mine.train_right = (probe.predict(xtr.x).array() == ytr.array()).count();
  mine.tests = test_truth.size();
  if (mine.tests > 0) {
    const index_vector p = probe.predict(xte.x);
    mine.test_right = (p.array() == test_truth.array()).count();
    mine.test_agree = (p.array() == test_pred.array()).count();
    mine.rnn_right = (test_pred.array() == test_truth.array()).count();
  }
  counts all;
  const std::vector<counts> every = all_gather_value(comm, mine);
  for (const counts& c : every) {
    all.kept += c.kept;
    all.train_right += c.train_right;
    all.tests += c.tests;
    all.test_right += c.test_right;
    all.test_agree += c.test_agree;
    all.rnn_right += c.rnn_right;
  }
  require(all.tests > 0, who, ": no rank holds a test trace");
  fidelity_result r;
  r.features = f;
  r.loss = probe.loss();
  r.train_accuracy = static_cast<double>(all.train_right) / static_cast<double>(all.kept);
  const double nt = static_cast<double>(all.tests);
  r.test_accuracy = static_cast<double>(all.test_right) / nt;
  r.test_agreement = static_cast<double>(all.test_agree) / nt;
  r.rnn_test_accuracy = static_cast<double>(all.rnn_right) / nt;
  r.n_train = all.kept;
  r.n_test = all.tests;
  return r;
}

/// The same from an abstraction, traces and their states.
template <class R, class P, class T>
fidelity_result simnn_fidelity(const abstraction<R, P>& abs, const traces<T>& train,
                               const std::vector<index_vector>& train_states, const traces<T>& test,
                               const std::vector<index_vector>& test_states, feature_set f = feature_set::all,
                               const simnn_options& o = {}) {
  return simnn_fidelity(abs.abstract_traces(train_states, train.step_labels), train.predictions, train.truth,
                        abs.abstract_traces(test_states, test.step_labels), test.predictions, test.truth,
                        abs.n_real_states(), abs.n_labels(), f, o);
}

/// The same, distributed: train, test and their states are this rank's share. Collective.
template <class R, class P, class T>
fidelity_result simnn_fidelity(const abstraction<R, P>& abs, const traces<T>& train,
                               const std::vector<index_vector>& train_states, const traces<T>& test,
                               const std::vector<index_vector>& test_states, feature_set f, const simnn_options& o,
                               communicator_ref comm) {
  // A rank's bad input is every rank's error: the abstract traces are made collectively.
  const auto train_abstract = collectively(comm, [&] { return abs.abstract_traces(train_states, train.step_labels); });
  const auto test_abstract = collectively(comm, [&] { return abs.abstract_traces(test_states, test.step_labels); });
  return simnn_fidelity(train_abstract, train.predictions, train.truth, test_abstract, test.predictions, test.truth,
                        abs.n_real_states(), abs.n_labels(), f, o, comm);
}

/// The feature ablation of RNNRepair (§4.1): one SimNN per feature set.
template <class R, class P, class T>
std::vector<fidelity_result> feature_ablation(const abstraction<R, P>& abs, const traces<T>& train,
                                              const std::vector<index_vector>& train_states, const traces<T>& test,
                                              const std::vector<index_vector>& test_states, const simnn_options& o = {},
                                              const std::function<void(const fidelity_result&)>& on_done = {}) {
  const auto tra = abs.abstract_traces(train_states, train.step_labels);
  const auto tea = abs.abstract_traces(test_states, test.step_labels);
  std::vector<fidelity_result> r;
  for (auto f :
       {feature_set::label, feature_set::state, feature_set::state_label, feature_set::confidence, feature_set::all}) {
    r.push_back(simnn_fidelity(tra, train.predictions, train.truth, tea, test.predictions, test.truth,
                               abs.n_real_states(), abs.n_labels(), f, o));
    if (on_done) on_done(r.back());
  }
  return r;
}

// ---- the component sweep ------------------------------------------------------------------------

struct component_sweep_options {
  index_t pca_components = 10;
  std::vector<index_t> n_clusters = {10, 20, 30, 40};
  covariance_type covariance = covariance_type::diag;
  double tol = 1e-3;
  index_t max_iter = 100;
  std::uint64_t seed = 0;
  bool run_simnn = true;
  simnn_options simnn = {};
  feature_set features = feature_set::all;
  em_precision precision = em_precision::double_precision;  ///< arithmetic of the EM iterations
};

struct component_sweep_row {
  index_t n_clusters = 0;  ///< real states n (the partitioner's clusters)
  double bic = std::numeric_limits<double>::quiet_NaN();
  stability_stats stability;
  double simnn_loss = std::numeric_limits<double>::quiet_NaN();
  double simnn_train_accuracy = std::numeric_limits<double>::quiet_NaN();
  double simnn_test_accuracy = std::numeric_limits<double>::quiet_NaN();
  index_t n_iter = 0;
  bool converged = false;
  double seconds = 0;
};

/// Reduces the training steps once, then for every candidate n fits a mixture, its states, the
/// stability, the BIC on the training steps and (run_simnn) the SimNN probe. `on_row` sees each row.
template <class T>
std::vector<component_sweep_row> component_sweep(const traces<T>& train, const traces<T>& test,
                                                 const component_sweep_options& o,
                                                 const std::function<void(const component_sweep_row&)>& on_row = {}) {
  require(!o.n_clusters.empty(), "component_sweep: no candidate numbers of clusters");
  train.validate("component_sweep (train)");
  test.validate("component_sweep (test)");
  pca_or_identity red(o.pca_components, o.seed);
  matrix<T> z;
  {
    const matrix<T> x = default_abstraction::stack_hidden(train, 0, train.size());
    red.fit(x);
    z = red.transform(x);
  }
  std::vector<component_sweep_row> rows;
  for (index_t k : o.n_clusters) {
    const auto t0 = std::chrono::steady_clock::now();
    default_abstraction abs(red, gaussian_mixture({.n_components = k,
                                                   .covariance = o.covariance,
                                                   .tol = o.tol,
                                                   .max_iter = o.max_iter,
                                                   .seed = o.seed,
                                                   .precision = o.precision}));
    abs.fit_reduced(z, train);
    component_sweep_row r;
    r.n_clusters = k;
    r.bic = abs.partitioner().bic(z);
    r.stability = abs.stability();
    r.n_iter = abs.partitioner().n_iter();
    r.converged = abs.partitioner().converged();
    if (o.run_simnn) {
      const auto f = simnn_fidelity(abs, train, abs.train_states(), test, abs.states(test), o.features, o.simnn);
      r.simnn_loss = f.loss;
      r.simnn_train_accuracy = f.train_accuracy;
      r.simnn_test_accuracy = f.test_accuracy;
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (on_row) on_row(r);
    rows.push_back(r);
  }
  return rows;
}

/// Distributed: train and test are this rank's share of the sequences (any split; rank order is
/// sequence order). Each candidate's abstraction is fitted on all ranks' steps, its BIC is over all
/// ranks' steps and SimNN is trained and scored on all ranks' samples, so the rows are the single
/// process's, bit for bit (`seconds` aside). The reduction is refitted for each candidate. Collective.
template <class T>
std::vector<component_sweep_row> component_sweep(const traces<T>& train, const traces<T>& test,
                                                 const component_sweep_options& o, communicator_ref comm,
                                                 const std::function<void(const component_sweep_row&)>& on_row = {}) {
  if (comm.size() == 1) return component_sweep(train, test, o, on_row);
  collectively(comm, [&] {
    require(!o.n_clusters.empty(), "component_sweep: no candidate numbers of clusters");
    if (train.size() > 0) train.validate("component_sweep (train)");  // a rank may hold no sequence
    if (test.size() > 0) test.validate("component_sweep (test)");
  });
  std::vector<component_sweep_row> rows;
  for (index_t k : o.n_clusters) {
    const auto t0 = std::chrono::steady_clock::now();
    default_abstraction abs(pca_or_identity(o.pca_components, o.seed), gaussian_mixture({.n_components = k,
                                                                                         .covariance = o.covariance,
                                                                                         .tol = o.tol,
                                                                                         .max_iter = o.max_iter,
                                                                                         .seed = o.seed,
                                                                                         .precision = o.precision}));
    abs.fit(train, comm);
    // The BIC's steps on the aligned row grid: a row's reduction is then the single process's bits.
    const matrix<T> x = train.size() > 0 ? default_abstraction::stack_hidden(train, 0, train.size())
                                         : matrix<T>(0, abs.width());
    const matrix<T> xa = align_rows(comm, x);
    const matrix<T> z = xa.rows() > 0 ? abs.reducer().transform(xa) : matrix<T>(0, abs.reducer().n_components());
    component_sweep_row r;
    r.n_clusters = k;
    r.bic = abs.partitioner().bic(z, comm);
    r.stability = abs.stability();
    r.n_iter = abs.partitioner().n_iter();
    r.converged = abs.partitioner().converged();
    if (o.run_simnn) {
      const auto test_states = collectively(
          comm, [&] { return test.size() > 0 ? abs.states(test) : std::vector<index_vector>{}; });
      const auto f = simnn_fidelity(abs, train, abs.train_states(), test, test_states, o.features, o.simnn, comm);
      r.simnn_loss = f.loss;
      r.simnn_train_accuracy = f.train_accuracy;
      r.simnn_test_accuracy = f.test_accuracy;
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (on_row) on_row(r);
    rows.push_back(r);
  }
  return rows;
}

/// The proposal rule: the smallest n whose SimNN test accuracy is within `tolerance` of the best in
/// the sweep and whose weighted stability is within `tolerance` of the best too (fidelity first,
/// then purity, then size); without SimNN results, the n with the lowest BIC.
inline index_t propose_components(const std::vector<component_sweep_row>& rows, double tolerance = 0.01) {
  require(!rows.empty(), "propose_components: no sweep rows");
  double best_acc = -1, best_stab = -1;
  bool have_acc = false;
  for (const auto& r : rows) {
    if (!std::isnan(r.simnn_test_accuracy)) {
      have_acc = true;
      best_acc = std::max(best_acc, r.simnn_test_accuracy);
    }
    best_stab = std::max(best_stab, r.stability.weighted_mean);
  }
  if (!have_acc) {
    const component_sweep_row* b = &rows.front();
    for (const auto& r : rows)
      if (r.bic < b->bic) b = &r;
    return b->n_clusters;
  }
  index_t pick = -1;
  for (const auto& r : rows)
    if (r.simnn_test_accuracy >= best_acc - tolerance && r.stability.weighted_mean >= best_stab - tolerance &&
        (pick < 0 || r.n_clusters < pick))
      pick = r.n_clusters;
  if (pick < 0)  // no candidate is near the best on both: the most faithful one
    for (const auto& r : rows)
      if (r.simnn_test_accuracy == best_acc && (pick < 0 || r.n_clusters < pick)) pick = r.n_clusters;
  return pick;
}

}  // namespace rnnabs
