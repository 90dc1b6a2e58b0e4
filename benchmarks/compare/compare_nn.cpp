// rnnabs side of the recurrent-model cases (peer: PyTorch CPU, see cases_nn.py). Same weights
// (model.npz, PyTorch state_dict), same inputs, same timing protocol (median of `repeats` after one
// warm-up); checks the gradient / logits / HVP against the peer's.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <rnnabs/core.hpp>
#include <rnnabs/io/npy.hpp>
#include <rnnabs/nn.hpp>

#include "compare_registry.hpp"

namespace compare_nn_case {

namespace fs = std::filesystem;
using namespace rnnabs;
constexpr int repeats = 7;  // keep equal to REPEATS in cases_nn.py

template <class F>
double median_seconds(F&& f) {
  f();  // warm-up
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + repeats / 2, t.end());
  return t[repeats / 2];
}

struct spec {
  std::string cell;
  index_t input = 0, hidden = 0, classes = 0, vocab = 0;
};

spec read_meta(const fs::path& wd) {
  std::ifstream in(wd / "meta.txt");
  spec s;
  in >> s.cell >> s.input >> s.hidden >> s.classes >> s.vocab;
  require<io_error>(static_cast<bool>(in), "compare_nn: cannot read ", wd / "meta.txt");
  return s;
}

// Token input: tokens.npy (N x T); with lengths.npy (N lengths) it is padded and sequence i keeps its
// first lengths(i) ids (ragged batch, no padding seen by the model), else every row is one sequence.
sequence_batch<float> read_batch(const fs::path& wd, const spec& s) {
  sequence_batch<float> b;
  if (s.vocab > 0 && fs::exists(wd / "lengths.npy")) {
    const xt::xtensor<index_t, 2> tok = io::load_npy<index_t>(wd / "tokens.npy");
    b.tokens = unpad_tokens(tok, io::load_npy_matrix<index_t>(wd / "lengths.npy").col(0).eval());
  } else if (s.vocab > 0) {
    const matrix<index_t> tok = io::load_npy_matrix<index_t>(wd / "tokens.npy");
    for (index_t i = 0; i < tok.rows(); ++i) b.tokens.push_back(tok.row(i).transpose());
  } else {
    const auto x = io::load_npy<float>(wd / "x.npy");
    const auto n = static_cast<index_t>(x.shape()[0]), t = static_cast<index_t>(x.shape()[1]),
               f = static_cast<index_t>(x.shape()[2]);
    for (index_t i = 0; i < n; ++i)
      b.features.emplace_back(Eigen::Map<const matrix<float>>(x.data() + i * t * f, t, f));
  }
  b.labels = io::load_npy_matrix<index_t>(wd / "labels.npy").col(0);
  return b;
}

template <class Cell>
rnn_classifier<Cell, float> read_model(const fs::path& wd, const spec& s) {
  rnn_classifier<Cell, float> m(
      rnn_config{.input_size = s.input, .vocab_size = s.vocab, .hidden_size = s.hidden, .num_classes = s.classes}, 0);
  m.load_npz(wd / "model.npz");
  return m;
}

template <class V, class W>
double rel_err(const V& a, const W& b) {
  return static_cast<double>((a - b).cwiseAbs().maxCoeff()) /
         std::max(1e-30, static_cast<double>(b.cwiseAbs().maxCoeff()));
}

std::string first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string peer_threads(const fs::path& wd) { return first_line(wd / "peer_threads.txt"); }

template <class Cell>
compare::outcome train_step(const fs::path& wd, const spec& s) {
  auto m = read_model<Cell>(wd, s);
  const auto b = read_batch(wd, s);
  const vector<float> g0 = m.loss_gradient(b);
  const vector<float> want = io::load_npy_matrix<float>(wd / "grad_peer.npy").col(0);
  sgd opt{.lr = 1e-3};
  vector<float> theta = m.parameters();
  const double sec = median_seconds([&] {
    const vector<float> g = m.train_gradient(b, 0);
    opt.step(theta, g, opt.lr);
    m.set_parameters(theta);
  });
  compare::outcome o;
  o.seconds = sec;
  o.max_rel_err = rel_err(g0, want);
  o.equal = g0.size() == want.size() && o.max_rel_err < 1e-4;
  std::string data;  // where the inputs came from, when prepare says (data.txt)
  if (fs::exists(wd / "data.txt")) data = detail::concat(" (", first_line(wd / "data.txt"), ")");
  o.detail = detail::concat("one SGD step (forward, loss, BPTT, update), ", b.size(), " sequences", data, ", ", s.cell,
                            "(", s.hidden, "); gradient vs torch tol 1e-4; torch ", peer_threads(wd));
  return o;
}

compare::outcome lstm_train(const fs::path& wd) { return train_step<lstm_cell>(wd, read_meta(wd)); }
compare::outcome gru_train(const fs::path& wd) { return train_step<gru_cell>(wd, read_meta(wd)); }

compare::outcome lstm_infer(const fs::path& wd) {
  const spec s = read_meta(wd);
  const auto m = read_model<lstm_cell>(wd, s);
  const auto b = read_batch(wd, s);
  matrix<float> z;
  const double sec = median_seconds([&] { z = m.forward(b).logits; });
  const matrix<float> want = io::load_npy_matrix<float>(wd / "logits_peer.npy");
  compare::outcome o;
  o.seconds = sec;
  o.max_rel_err = rel_err(z, want);
  o.equal = z.rows() == want.rows() && o.max_rel_err < 1e-4;
  o.detail = detail::concat("forward of ", b.size(), " sequences 28x28, LSTM(128); logits vs torch tol 1e-4; torch ",
                            peer_threads(wd));
  return o;
}

compare::outcome lstm_hvp(const fs::path& wd) {
  const spec s = read_meta(wd);
  const auto m = read_model<lstm_cell>(wd, s);
  const auto b = read_batch(wd, s);
  const vector<float> v = io::load_npy_matrix<float>(wd / "v.npy").col(0);
  vector<float> hv;
  const double sec = median_seconds([&] { hv = m.hessian_vector_product(b, v); });
  const vector<float> want = io::load_npy_matrix<float>(wd / "hvp_peer.npy").col(0);
  compare::outcome o;
  o.seconds = sec;
  o.max_rel_err = rel_err(hv, want);
  o.equal = hv.size() == want.size() && o.max_rel_err < 1e-3;
  o.detail = detail::concat("exact H v of the mean loss, ", b.size(), " sequences, LSTM(128); forward-over-reverse vs ",
                            "torch double backward, tol 1e-3; torch ", peer_threads(wd));
  return o;
}

[[maybe_unused]] const bool r1 = compare::add("lstm_train_mnist", lstm_train);
[[maybe_unused]] const bool r2 = compare::add("gru_train_mnist", gru_train);
[[maybe_unused]] const bool r3 = compare::add("gru_train_text", gru_train);
[[maybe_unused]] const bool r4 = compare::add("lstm_infer_mnist", lstm_infer);
[[maybe_unused]] const bool r5 = compare::add("lstm_hvp_mnist", lstm_hvp);
[[maybe_unused]] const bool r6 = compare::add("gru_train_fortunes", gru_train);

}  // namespace compare_nn_case
