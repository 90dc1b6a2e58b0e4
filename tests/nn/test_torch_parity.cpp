// rnn_classifier against PyTorch (fixtures by tests/fixtures/make_nn_fixtures.py): forward logits,
// the mean loss, its gradient and the exact Hessian-vector product (PyTorch: double backward), for
// LSTM/GRU/Elman cells, uni/bi, stacked, embeddings, last-step and every-step heads, all losses, on
// variable-length batches. float within 1e-5 relative, double within 1e-10.
#include <gtest/gtest.h>

#include <map>
#include <rnnabs/core.hpp>
#include <rnnabs/io/npz.hpp>
#include <rnnabs/nn.hpp>
#include <sstream>
#include <string>

namespace nn_torch_parity_tests {

using namespace rnnabs;

std::map<std::string, std::string> parse_meta(const io::npy_array& a) {
  const std::string text(a.data.begin(), a.data.end());
  std::map<std::string, std::string> m;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ';')) {
    const auto eq = item.find('=');
    m[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return m;
}

/// Relative error max|a - b| / max(1, max|b|).
template <class A, class B>
double rel_err(const A& a, const B& b) {
  return (a - b).cwiseAbs().maxCoeff() / std::max(1.0, static_cast<double>(b.cwiseAbs().maxCoeff()));
}

template <class Cell, class T>
void check_case(const std::string& name, std::map<std::string, io::npy_array>& f,
                const std::map<std::string, std::string>& meta) {
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-10;
  rnn_config c;
  c.input_size = std::stol(meta.at("input"));
  c.vocab_size = std::stol(meta.at("vocab"));
  c.hidden_size = std::stol(meta.at("hidden"));
  c.num_layers = std::stol(meta.at("layers"));
  c.bidirectional = meta.at("bidirectional") == "1";
  c.num_classes = std::stol(meta.at("classes"));
  c.head = meta.at("head") == "every_step" ? head_mode::every_step : head_mode::last_step;
  const std::string loss = meta.at("loss");
  c.loss = loss == "cross_entropy"     ? loss_kind::cross_entropy
           : loss == "bce_with_logits" ? loss_kind::bce_with_logits
                                       : loss_kind::softmax_bce;
  rnn_classifier<Cell, T> m(c, 0);
  for (const auto& e : m.layout().entries()) {
    ASSERT_TRUE(f.count(e.name)) << name << ": fixture lacks " << e.name;
    m.set_tensor(e.name, io::to_matrix<T>(f.at(e.name)));
  }
  const index_vector len = io::to_matrix<index_t>(f.at("lengths")).col(0);
  sequence_batch<T> b;
  if (c.token_input()) {
    const matrix<index_t> tok = io::to_matrix<index_t>(f.at("tokens"));
    for (index_t i = 0; i < len.size(); ++i) b.tokens.push_back(tok.row(i).head(len(i)).transpose());
  } else {
    const auto x = f.at("x").as<T>();
    const auto T_ = static_cast<index_t>(x.shape()[1]), I = static_cast<index_t>(x.shape()[2]);
    for (index_t i = 0; i < len.size(); ++i)
      b.features.push_back(Eigen::Map<const matrix<T>>(x.data() + i * T_ * I, len(i), I));
  }
  if (c.head == head_mode::every_step) {
    const matrix<index_t> sl = io::to_matrix<index_t>(f.at("step_labels"));
    for (index_t i = 0; i < len.size(); ++i) b.step_labels.push_back(sl.row(i).head(len(i)).transpose());
  } else {
    b.labels = io::to_matrix<index_t>(f.at("labels")).col(0);
  }
  const matrix<T> want_z = io::to_matrix<T>(f.at("logits"));
  const auto out = m.forward(b, true);
  if (c.head == head_mode::last_step) {
    EXPECT_LT(rel_err(out.logits, want_z), tol) << name << ": logits";
  } else {
    // Every-step logits, sequences concatenated: compare through the per-step distributions' source.
    index_t r = 0;
    for (index_t i = 0; i < len.size(); ++i) {
      EXPECT_LT(rel_err(out.logits.row(i), want_z.row(r + len(i) - 1)), tol) << name << ": last-step logits of " << i;
      r += len(i);
    }
  }
  double loss_value = 0;
  const vector<T> g = m.loss_gradient(b, &loss_value);
  const double want_loss = f.at("loss").as<double>()();
  EXPECT_NEAR(loss_value, want_loss, tol * std::max(1.0, std::abs(want_loss))) << name << ": loss";
  const vector<T> want_g = io::to_matrix<T>(f.at("grad")).col(0);
  ASSERT_EQ(g.size(), want_g.size()) << name;
  EXPECT_LT(rel_err(g, want_g), tol) << name << ": gradient";
  const vector<T> v = io::to_matrix<T>(f.at("v")).col(0);
  const vector<T> hv = m.hessian_vector_product(b, v);
  const vector<T> want_hv = io::to_matrix<T>(f.at("hvp")).col(0);
  EXPECT_LT(rel_err(hv, want_hv), tol) << name << ": Hessian-vector product";
  // Per-sample gradients average to PyTorch's batch gradient.
  const matrix<T> ps = m.per_sample_gradients(b);
  EXPECT_LT(rel_err(vector<T>(ps.colwise().mean().transpose()), want_g), 10 * tol) << name << ": per-sample gradients";
}

template <class T>
void dispatch(const std::string& name, std::map<std::string, io::npy_array>& f,
              const std::map<std::string, std::string>& meta) {
  const std::string cell = meta.at("cell");
  if (cell == "lstm") check_case<lstm_cell, T>(name, f, meta);
  else if (cell == "gru") check_case<gru_cell, T>(name, f, meta);
  else if (cell == "rnn_tanh") check_case<rnn_tanh_cell, T>(name, f, meta);
  else check_case<rnn_relu_cell, T>(name, f, meta);
}

class TorchParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchParity, ForwardLossGradientHvp) {
  const std::string name = GetParam();
  auto f = io::npz_read(std::string(RNNABS_TEST_DATA) + "/nn/" + name + ".npz");
  const auto meta = parse_meta(f.at("meta"));
  if (meta.at("dtype") == "f4") dispatch<float>(name, f, meta);
  else dispatch<double>(name, f, meta);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchParity,
                         ::testing::Values("lstm_uni_f32", "lstm_bi_stacked_f64", "gru_bi_f32", "gru_stacked_every_f64",
                                           "rnn_relu_bi_embed_every_f64", "rnn_tanh_bce_f32", "lstm_embed_f64"));

}  // namespace nn_torch_parity_tests
