// rnnabs side of the influence cases (peer: the same algorithms in PyTorch CPU, see cases_influence.py):
// RNNRepair's binary LSTM on Fashion-MNIST 1 vs 7, all 12,000 training sequences scored against 20
// test points. Same weights (PyTorch state_dicts), same data, one timed run; the 12,000 x 20 score
// matrices are compared.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <rnnabs/influence.hpp>
#include <rnnabs/io/npy.hpp>
#include <rnnabs/nn.hpp>

#include "compare_registry.hpp"

namespace compare_influence_case {

namespace fs = std::filesystem;
using namespace rnnabs;
using model_t = rnn_classifier<lstm_cell, float>;

constexpr index_t hessian_n = 256, cg_iters = 8;  // keep equal to cases_influence.py
constexpr double damping = 0.5, lr = 0.1;         // this (unconverged) model's Hessian has curvature below -0.1

sequence_batch<float> read_rows(const fs::path& x_file, const fs::path& y_file) {
  const auto x = io::load_npy<float>(x_file);
  const auto n = static_cast<index_t>(x.shape()[0]);
  sequence_batch<float> b;
  for (index_t i = 0; i < n; ++i)
    b.features.emplace_back(Eigen::Map<const matrix<float>>(x.data() + i * 28 * 28, 28, 28));
  b.labels = io::load_npy_matrix<index_t>(y_file).col(0);
  return b;
}

model_t read_model(const fs::path& file) {
  model_t m(rnn_config{.input_size = 28, .hidden_size = 100, .num_classes = 2, .loss = loss_kind::softmax_bce}, 0);
  m.load_npz(file);
  return m;
}

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string peer_threads(const fs::path& wd) {
  std::ifstream in(wd / "peer_threads.txt");
  std::string line;
  std::getline(in, line);
  return line;
}

compare::outcome check(const fs::path& wd, const matrix<double>& scores, double sec, double tol, std::string what) {
  const matrix<double> want = io::load_npy_matrix<float>(wd / "scores_peer.npy").cast<double>();
  compare::outcome o;
  o.seconds = sec;
  const bool same_shape = want.rows() == scores.rows() && want.cols() == scores.cols();
  o.max_rel_err = same_shape ? (scores - want).cwiseAbs().maxCoeff() / std::max(1e-300, want.cwiseAbs().maxCoeff())
                             : 1.0;
  o.equal = same_shape && o.max_rel_err < tol;
  o.detail = detail::concat(what, "; ", scores.rows(), " x ", scores.cols(),
                            " scores vs torch, max error / max |score| < ", tol, "; torch ", peer_threads(wd));
  return o;
}

compare::outcome koh_liang_case(const fs::path& wd) {
  const model_t m = read_model(wd / "model_2.npz");
  const auto train = read_rows(wd / "x_train.npy", wd / "y_train.npy");
  const auto test = read_rows(wd / "x_test.npy", wd / "y_test.npy");
  const batch_objective f(m, train);
  const batch_objective t(m, test);
  std::vector<index_t> hess(static_cast<std::size_t>(hessian_n));
  for (index_t i = 0; i < hessian_n; ++i) hess[static_cast<std::size_t>(i)] = i;
  const auto fh = f.subset(hess);
  const vector<float>& w = m.parameters();
  matrix<double> scores;
  const double sec = seconds([&] {
    cg_ihvp solver(fh, w, {.damping = damping, .tol = 1e-30, .max_iter = cg_iters});
    scores = koh_liang(f, w, sample_gradients(t, w), solver).scores;
  });
  return check(wd, scores, sec, 2e-3,
               detail::concat("Koh & Liang: ", test.size(), " test gradients, ", cg_iters,
                              " CG iterations each on the ", "exact Hessian of ", hessian_n, " sequences (+", damping,
                              " I), ", train.size(), " training gradients"));
}

compare::outcome tracin_case(const fs::path& wd) {
  const auto train = read_rows(wd / "x_train.npy", wd / "y_train.npy");
  const auto test = read_rows(wd / "x_test.npy", wd / "y_test.npy");
  std::vector<model_t> models;
  for (int e = 0; e < 3; ++e) models.push_back(read_model(wd / ("model_" + std::to_string(e) + ".npz")));
  // The method's building block first: per-sample gradients equal the peer's.
  const matrix<float> g4 = models[2].per_sample_gradients(subset(train, std::vector<index_t>{0, 1, 2, 3}));
  const matrix<float> want4 = io::load_npy_matrix<float>(wd / "grads_peer.npy");
  const double grad_err = (g4 - want4).cwiseAbs().maxCoeff() / want4.cwiseAbs().maxCoeff();
  const batch_objective f(models[0], train);
  const batch_objective t(models[0], test);
  std::vector<checkpoint<float>> cps;
  for (const auto& m : models) cps.push_back({m.parameters(), lr});
  matrix<double> scores;
  const double sec = seconds([&] { scores = tracin_cp(f, t, cps); });
  auto o = check(wd, scores, sec, 1e-3,
                 detail::concat("TracInCP over 3 checkpoints, ", train.size(), " x ", test.size(),
                                " gradient dot products each; per-sample gradients vs torch ", grad_err));
  o.equal = o.equal && grad_err < 1e-4;
  return o;
}

[[maybe_unused]] const bool r1 = compare::add("influence_kl_fmnist", koh_liang_case);
[[maybe_unused]] const bool r2 = compare::add("influence_tracin_fmnist", tracin_case);

}  // namespace compare_influence_case
