#pragma once
// One call, either side: every GPU routine behind the same entry point as its CPU twin, chosen by a
// `backend` argument, so a pipeline moves between CPU and GPU by one value (and tests compare the
// two through the same call). The CPU branch is the library's CPU code itself.
//
//   rnnabs::cuda::fit(pca_model, X, backend::cuda);                          // stats/pca
//   rnnabs::cuda::fit(mixture, Z, backend::cuda);                            // stats/gmm (gmm.cuh)
//   rnnabs::cuda::fit(km, Z, backend::cuda);                                 // stats/kmeans (kmeans.cuh)
//   auto g  = rnnabs::cuda::loss_gradient(model, batch, backend::cuda);      // nn/rnn_classifier
//   auto hv = rnnabs::cuda::hessian_vector_product(model, batch, v, backend::cuda);
//   auto tr = rnnabs::cuda::profile(model, batch, backend::cuda);            // nn/profile
//   auto s  = rnnabs::cuda::gradient_dot_products(G_test, G_train, backend::cuda);
//
// Tolerances between the two (tests/cuda): float within 2e-4 relative of a double CPU reference,
// double within 1e-9; the GPU recurrent engine covers one unidirectional layer, feature input, a
// last-step cross-entropy head and equal lengths — anything else is invalid_argument on the GPU
// branch (the CPU branch takes every model).
#include "rnnabs/cuda/influence.cuh"
#include "rnnabs/cuda/pca.cuh"
#include "rnnabs/cuda/rnn_engine.cuh"
#include "rnnabs/cuda/runtime.cuh"
#include "rnnabs/nn/profile.hpp"
#include "rnnabs/nn/rnn_classifier.hpp"
#include "rnnabs/stats/pca.hpp"

namespace rnnabs::cuda {

/// Fits `p` (its options) on the rows of X with the chosen backend. The GPU runs the covariance
/// solver (cuBLAS SYRK + cuSOLVER syevd); other solvers, whitening aside, are CPU-only.
template <class Derived>
pca& fit(pca& p, const Eigen::MatrixBase<Derived>& X, backend b = backend::cuda) {
  if (b == backend::cpu) return p.fit(X);
  const auto& o = p.options();
  require(o.solver == pca_solver::covariance_eigh && o.variance_fraction == 0.0, "cuda::fit(pca): the GPU runs the ",
          "covariance_eigh solver with a fixed n_components; use backend::cpu for ", to_string(o.solver),
          o.variance_fraction != 0.0 ? " / variance_fraction" : "");
  pca_result r = pca_fit(X, o.n_components);
  p = pca::from_fitted(o, std::move(r.components), std::move(r.mean), std::move(r.explained_variance),
                       std::move(r.explained_variance_ratio), std::move(r.singular_values), r.noise_variance,
                       r.n_samples);
  return p;
}

/// Gradient of the mean loss of `b` at the model's parameters.
template <recurrent_cell Cell, class T>
vector<T> loss_gradient(const rnn_classifier<Cell, T>& m, const sequence_batch<T>& b, backend be = backend::cuda,
                        double* loss_out = nullptr) {
  if (be == backend::cpu) return m.loss_gradient(b, loss_out);
  rnn_engine<Cell, T> e(m);
  e.set_batch(b);
  return e.loss_gradient(loss_out);
}

/// Exact Hessian of the mean loss of `b` times v, at the model's parameters.
template <recurrent_cell Cell, class T>
vector<T> hessian_vector_product(const rnn_classifier<Cell, T>& m, const sequence_batch<T>& b, const vector<T>& v,
                                 backend be = backend::cuda) {
  if (be == backend::cpu) return m.hessian_vector_product(b, v);
  rnn_engine<Cell, T> e(m);
  e.set_batch(b);
  return e.hessian_vector_product(v);
}

/// Traces of `b` (hidden states, per-step distributions and labels, predictions, truth).
template <recurrent_cell Cell, class T>
traces<T> profile(const rnn_classifier<Cell, T>& m, const sequence_batch<T>& b, backend be = backend::cuda) {
  if (be == backend::cpu) return rnnabs::profile(m, b);
  // The GPU records the hidden states; the head is applied per step here, as the CPU forward does.
  rnn_engine<Cell, T> e(m);
  sequence_batch<T> with_labels = b;
  if (with_labels.labels.size() == 0) with_labels.labels = index_vector::Zero(b.size());
  e.set_batch(with_labels);
  auto out = e.forward(/*record=*/true);
  const index_t C = m.config().num_classes;
  const auto w = m.parameter(m.names().head + ".weight");
  const auto bias = m.parameter(m.names().head + ".bias");
  out.step_probabilities.resize(out.hidden.size());
  out.step_predictions.resize(out.hidden.size());
  for (std::size_t i = 0; i < out.hidden.size(); ++i) {
    matrix<T> z = out.hidden[i] * w.transpose();
    z.rowwise() += bias.row(0);
    auto& p = out.step_probabilities[i];
    p.resize(z.rows(), C);
    out.step_predictions[i].resize(z.rows());
    for (index_t t = 0; t < z.rows(); ++t) {
      rnnabs::detail::output_distribution(m.config().loss, z.row(t).data(), C, p.row(t).data());
      p.row(t).maxCoeff(&out.step_predictions[i](t));
    }
  }
  traces<T> tr;
  tr.hidden = std::move(out.hidden);
  tr.step_probabilities = std::move(out.step_probabilities);
  tr.step_labels = std::move(out.step_predictions);
  tr.predictions = out.predictions;
  tr.truth = b.labels.size() == b.size() ? b.labels : index_vector::Constant(b.size(), -1);
  return tr;
}

/// m×n matrix of ⟨test_i, train_j⟩ accumulated in double (TracIn's inner products).
template <class T>
matrix<double> gradient_dot_products(const matrix<T>& test, const matrix<T>& train, backend be) {
  if (be == backend::cuda) return gradient_dot_products(test, train);
  require(test.cols() == train.cols() && test.size() > 0 && train.size() > 0, "gradient_dot_products: gradients ",
          test.rows(), " x ", test.cols(), " and ", train.rows(), " x ", train.cols(), " do not match");
  return test.template cast<double>() * train.template cast<double>().transpose();
}

}  // namespace rnnabs::cuda
