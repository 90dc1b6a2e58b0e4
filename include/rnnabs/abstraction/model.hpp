#pragma once
// One call from training traces to the abstract model: reduce -> partition -> states -> automaton.
//
//   auto model = rnnabs::build_abstraction(train_traces, {.pca_components = 10, .n_clusters = 37, .seed = 1});
//   model.automaton.postings(0, 0, 3, 7);
//   auto test_states = model.abstraction.states(test_traces);
//   // any stages: a user's reducer and partitioner (see rnnabs::dimension_reducer, state_partitioner)
//   auto mine = rnnabs::build_abstraction(train_traces, rnnabs::abstraction(my_reducer{}, my_partitioner{}));
#include <chrono>
#include <cstdint>

#include "rnnabs/abstraction/abstraction.hpp"
#include "rnnabs/abstraction/automaton.hpp"

namespace rnnabs {

struct abstraction_options {
  index_t pca_components = 10;  ///< k; <= 0 or >= the hidden width: no reduction (identity)
  index_t n_clusters =
      37;  ///< n: mixture components = real abstract states (the model has n + 1 with the initial state)
  covariance_type covariance = covariance_type::diag;
  double tol = 1e-3;  ///< EM stopping tolerance (sklearn's default)
  index_t max_iter = 100;
  index_t n_init = 1;
  std::uint64_t seed = 0;
  index_t vocab_size = 0;  ///< token vocabulary of the automaton (0: 1 + the largest training token)
  em_precision precision = em_precision::double_precision;  ///< arithmetic of the EM iterations
};

/// PCA reducer that becomes the identity when k <= 0 or k >= width (as RNNRepair skips PCA when k >= H).
class pca_or_identity {
 public:
  pca_or_identity() = default;
  explicit pca_or_identity(index_t k, std::uint64_t seed = 0) : k_(k), seed_(seed) {}
  template <class Derived>
  pca_or_identity& fit(const Eigen::MatrixBase<Derived>& x) {
    identity_ = k_ <= 0 || k_ >= x.cols();
    if (identity_) {
      id_.fit(x);
    } else {
      pca_ = pca(pca_options{.n_components = k_, .seed = seed_});
      pca_.fit(x);
    }
    return *this;
  }
  /// Distributed fit (see pca::fit(X, communicator)): the identity needs nothing of the other ranks.
  template <class Derived, communicator C>
  pca_or_identity& fit(const Eigen::MatrixBase<Derived>& x, const C& comm) {
    identity_ = k_ <= 0 || k_ >= x.cols();
    if (identity_) {  // the identity needs only the width, which a rank without rows has too
      id_.fit(matrix<typename Derived::Scalar>::Zero(1, x.cols()));
    } else {
      pca_ = pca(pca_options{.n_components = k_, .seed = seed_});
      pca_.fit(x, comm);
    }
    return *this;
  }
  template <class Derived>
  matrix<typename Derived::Scalar> transform(const Eigen::MatrixBase<Derived>& x) const {
    return identity_ ? id_.transform(x) : pca_.transform(x);
  }
  index_t n_components() const noexcept { return identity_ ? id_.n_components() : pca_.n_components(); }
  bool is_identity() const noexcept { return identity_; }
  const pca& pca_model() const noexcept { return pca_; }

 private:
  index_t k_ = 10;
  std::uint64_t seed_ = 0;
  bool identity_ = false;
  pca pca_;
  identity_reducer id_;
};

using default_abstraction = abstraction<pca_or_identity, gaussian_mixture>;

/// The default abstraction, configured from options (not fitted).
inline default_abstraction make_abstraction(const abstraction_options& o) {
  return default_abstraction(pca_or_identity(o.pca_components, o.seed), gaussian_mixture({.n_components = o.n_clusters,
                                                                                          .covariance = o.covariance,
                                                                                          .tol = o.tol,
                                                                                          .max_iter = o.max_iter,
                                                                                          .n_init = o.n_init,
                                                                                          .seed = o.seed,
                                                                                          .precision = o.precision}));
}

/// A fitted abstraction and the automaton of its training traces, for any pair of stages.
template <class Reducer = pca_or_identity, class Partitioner = gaussian_mixture>
struct basic_abstract_model {
  rnnabs::abstraction<Reducer, Partitioner> abstraction;
  class automaton automaton;
  double fit_seconds = 0;        ///< reduction + partition + states
  double automaton_seconds = 0;  ///< transitions + index
};
/// The default pipeline's model: PCA (or the identity) + GMM.
using abstract_model = basic_abstract_model<>;

/// Fits `stages` (any dimension_reducer + state_partitioner, not yet fitted) on the training traces
/// and builds the automaton of their abstract traces. vocab_size: tokens of the automaton (0: 1 +
/// the largest training token).
template <class T, class Reducer, class Partitioner>
basic_abstract_model<Reducer, Partitioner> build_abstraction(const traces<T>& train,
                                                             rnnabs::abstraction<Reducer, Partitioner> stages,
                                                             index_t vocab_size = 0) {
  basic_abstract_model<Reducer, Partitioner> r{std::move(stages), {}, 0, 0};
  auto t0 = std::chrono::steady_clock::now();
  r.abstraction.fit(train);
  auto t1 = std::chrono::steady_clock::now();
  r.fit_seconds = std::chrono::duration<double>(t1 - t0).count();
  r.automaton = automaton::from(train, r.abstraction.train_states(), r.abstraction.n_states(), vocab_size);
  r.automaton_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  return r;
}

/// The default pipeline, configured by options: PCA -> GMM -> automaton.
template <class T>
abstract_model build_abstraction(const traces<T>& train, const abstraction_options& o = {}) {
  return build_abstraction(train, make_abstraction(o), o.vocab_size);
}

/// The default pipeline on sharded training traces: `train` is this rank's share of the sequences
/// (rank order is sequence order). The abstraction is fitted on all ranks' steps (abstraction::fit with
/// a communicator) and every rank gets the automaton of all ranks' sequences, whose sample ids are
/// global sequence positions. Collective; bit-identical to build_abstraction(all sequences, o).
template <class T, communicator C>
abstract_model build_abstraction(const traces<T>& train, const abstraction_options& o, const C& comm) {
  abstract_model r{make_abstraction(o), {}, 0, 0};
  auto t0 = std::chrono::steady_clock::now();
  r.abstraction.fit(train, comm);
  auto t1 = std::chrono::steady_clock::now();
  r.fit_seconds = std::chrono::duration<double>(t1 - t0).count();
  r.automaton = automaton::build(
      all_gather_sequences(comm, r.abstraction.train_states()), all_gather_sequences(comm, train.step_labels),
      all_gather_sequences(comm, train.tokens), r.abstraction.n_states(), r.abstraction.n_labels(), o.vocab_size);
  r.automaton_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  return r;
}

}  // namespace rnnabs
