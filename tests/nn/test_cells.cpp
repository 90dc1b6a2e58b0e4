// Tests of nn/: gradients and Hessian-vector products of rnn_classifier against central finite
// differences in double (every cell, uni/bi, stacked, masked variable lengths, embedding input,
// every-step heads, all losses); HVP symmetry; per-sample gradients; thread-count independence;
// save/load round trips; typed errors on bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <rnnabs/core.hpp>
#include <rnnabs/nn.hpp>
#include <string>
#include <unistd.h>

namespace nn_cells_tests {

using namespace rnnabs;

struct shape {
  index_t layers = 1;
  bool bi = false;
  bool tokens = false;
  head_mode head = head_mode::last_step;
  loss_kind loss = loss_kind::cross_entropy;
  index_t classes = 3;
  index_t chunk = 32;
  index_t hidden = 4;  // >= 8 runs the vectorized pointwise path (8 doubles a pack) as well as the tail
};

rnn_config make_config(const shape& s) {
  rnn_config c;
  c.input_size = 3;
  c.vocab_size = s.tokens ? 7 : 0;
  c.hidden_size = s.hidden;
  c.num_layers = s.layers;
  c.bidirectional = s.bi;
  c.num_classes = s.classes;
  c.head = s.head;
  c.loss = s.loss;
  c.batch_chunk = s.chunk;
  return c;
}

/// n sequences of lengths 1..5 (unsorted, so packing reorders them), random inputs and labels.
template <class T>
sequence_batch<T> make_batch(const rnn_config& c, index_t n, std::uint64_t seed) {
  rng g(seed);
  sequence_batch<T> b;
  const index_t classes = c.loss == loss_kind::bce_with_logits && c.num_classes == 1 ? 2 : c.num_classes;
  b.labels.resize(n);
  for (index_t i = 0; i < n; ++i) {
    const index_t len = 1 + static_cast<index_t>((i * 3 + 2) % 5);
    if (c.token_input()) {
      index_vector tok(len);
      for (index_t t = 0; t < len; ++t)
        tok(t) = static_cast<index_t>(g.below(static_cast<std::uint64_t>(c.vocab_size)));
      b.tokens.push_back(tok);
    } else {
      matrix<T> x(len, c.input_size);
      for (index_t k = 0; k < x.size(); ++k) x.data()[k] = static_cast<T>(g.normal());
      b.features.push_back(x);
    }
    b.labels(i) = static_cast<index_t>(g.below(static_cast<std::uint64_t>(classes)));
    index_vector y(len);
    for (index_t t = 0; t < len; ++t) y(t) = static_cast<index_t>(g.below(static_cast<std::uint64_t>(classes)));
    b.step_labels.push_back(y);
  }
  return b;
}

vector<double> random_vector(index_t n, std::uint64_t seed) {
  rng g(seed);
  vector<double> v(n);
  for (index_t i = 0; i < n; ++i) v(i) = g.normal();
  return v;
}

/// Gradient vs central differences of the loss (every parameter), and HVP vs central differences
/// of the gradient, for one model shape.
template <class Cell>
void check_derivatives(const shape& s, std::uint64_t seed = 1) {
  const rnn_config c = make_config(s);
  rnn_classifier<Cell, double> m(c, seed);
  // Larger weights than PyTorch's init make the nonlinearities (and second derivatives) matter.
  vector<double> theta = m.parameters() * 2.0;
  m.set_parameters(theta);
  const auto b = make_batch<double>(c, 6, seed + 10);
  const index_t P = m.parameter_count();

  double loss = 0;
  const vector<double> g = m.loss_gradient(b, &loss);
  EXPECT_NEAR(loss, m.loss(b), 1e-12 * std::abs(loss));
  const double eps = 1e-6;
  // Every parameter when there are few, else a stride that still visits every tensor.
  const index_t stride = 1 + P / 250;
  double gerr = 0;
  for (index_t i = static_cast<index_t>(seed) % stride; i < P; i += stride) {
    vector<double> tp = theta, tm = theta;
    tp(i) += eps;
    tm(i) -= eps;
    gerr = std::max(gerr, std::abs(g(i) - (m.loss(b, tp) - m.loss(b, tm)) / (2 * eps)));
  }
  const double gscale = std::max(1.0, g.cwiseAbs().maxCoeff());
  EXPECT_LT(gerr, 1e-7 * gscale) << Cell::name() << ": gradient vs finite differences";

  const vector<double> v = random_vector(P, seed + 20);
  const vector<double> hv = m.hessian_vector_product(b, v);
  const double he = 1e-5;
  const vector<double> fdh =
      (m.loss_gradient(b, vector<double>(theta + he * v)) - m.loss_gradient(b, vector<double>(theta - he * v))) /
      (2 * he);
  const double hscale = std::max(1.0, hv.cwiseAbs().maxCoeff());
  EXPECT_LT((hv - fdh).cwiseAbs().maxCoeff(), 1e-6 * hscale) << Cell::name() << ": HVP vs finite differences";

  // Symmetry: uᵀ(H v) = vᵀ(H u).
  const vector<double> u = random_vector(P, seed + 30);
  const vector<double> hu = m.hessian_vector_product(b, u);
  EXPECT_NEAR(u.dot(hv), v.dot(hu), 1e-10 * std::max(1.0, std::abs(u.dot(hv))));

  // Per-sample gradients average to the batch gradient.
  const matrix<double> ps = m.per_sample_gradients(b);
  ASSERT_EQ(ps.rows(), b.size());
  ASSERT_EQ(ps.cols(), P);
  const vector<double> mean = ps.colwise().mean().transpose();
  EXPECT_LT((mean - g).cwiseAbs().maxCoeff(), 1e-12 * gscale);
}

// ---- gradients and HVPs vs finite differences ---------------------------------------------------

TEST(NnDerivatives, LstmUni) { check_derivatives<lstm_cell>({}); }
TEST(NnDerivatives, LstmBiStackedEveryStep) {
  check_derivatives<lstm_cell>({.layers = 2, .bi = true, .head = head_mode::every_step});
}
TEST(NnDerivatives, LstmEmbeddingBi) { check_derivatives<lstm_cell>({.bi = true, .tokens = true}); }
TEST(NnDerivatives, GruUni) { check_derivatives<gru_cell>({}); }
TEST(NnDerivatives, GruBiStackedEmbedding) {
  check_derivatives<gru_cell>(
      {.layers = 2, .bi = true, .tokens = true, .loss = loss_kind::bce_with_logits, .classes = 1});
}
TEST(NnDerivatives, GruEveryStepSoftmaxBce) {
  check_derivatives<gru_cell>({.head = head_mode::every_step, .loss = loss_kind::softmax_bce, .classes = 2});
}
TEST(NnDerivatives, LstmPackedUnits) { check_derivatives<lstm_cell>({.bi = true, .hidden = 10}); }
TEST(NnDerivatives, GruPackedUnitsStacked) { check_derivatives<gru_cell>({.layers = 2, .hidden = 10}); }
TEST(NnDerivatives, RnnReluPackedUnitsEveryStep) {
  check_derivatives<rnn_relu_cell>({.bi = true, .head = head_mode::every_step, .hidden = 9});
}
TEST(NnDerivatives, RnnTanhBiStacked) { check_derivatives<rnn_tanh_cell>({.layers = 2, .bi = true}); }
TEST(NnDerivatives, RnnTanhBceMultiLabel) {
  check_derivatives<rnn_tanh_cell>({.loss = loss_kind::bce_with_logits, .classes = 3});
}
TEST(NnDerivatives, RnnReluLemnaShape) {
  // LEMNA's target: embedding -> bidirectional ReLU RNN -> per-step softmax.
  check_derivatives<rnn_relu_cell>({.bi = true, .tokens = true, .head = head_mode::every_step, .classes = 2});
}
TEST(NnDerivatives, RnnReluStacked) { check_derivatives<rnn_relu_cell>({.layers = 2}); }
TEST(NnDerivatives, SmallChunksMatchOneChunk) {
  // Chunking changes only the summation order.
  check_derivatives<lstm_cell>({.bi = true, .chunk = 2});
  const shape s{.bi = true};
  rnn_config c1 = make_config(s), c2 = c1;
  c2.batch_chunk = 2;
  rnn_classifier<gru_cell, double> a(c1, 3), b2(c2, 3);
  const auto b = make_batch<double>(c1, 7, 5);
  EXPECT_LT((a.loss_gradient(b) - b2.loss_gradient(b)).cwiseAbs().maxCoeff(), 1e-14);
}

TEST(NnDerivatives, WeightsChangedInPlaceAreRepacked) {
  // The engines pack W_hh (and v's block) once per call; a later call on the same buffer, changed in
  // place, must see the new values. Central differences of the gradient through one reused buffer
  // match H v only if each call repacks. Chunks of 2, so a thread reuses its packs within a call.
  const shape s{.bi = true, .chunk = 2, .hidden = 10};
  const rnn_config c = make_config(s);
  rnn_classifier<lstm_cell, double> m(c, 4);
  const auto b = make_batch<double>(c, 9, 6);
  const vector<double> p = m.parameters(), v = random_vector(m.parameter_count(), 7);
  const vector<double> hv = m.hessian_vector_product(b, p, v);
  const double eps = 1e-5;
  vector<double> q = p + eps * v;
  const double* storage = q.data();
  const vector<double> g_plus = m.loss_gradient(b, q);
  q = p - eps * v;
  ASSERT_EQ(q.data(), storage);
  const vector<double> fd = (g_plus - m.loss_gradient(b, q)) / (2 * eps);
  EXPECT_LT((fd - hv).cwiseAbs().maxCoeff(), 1e-6 * hv.cwiseAbs().maxCoeff());
  // The same direction changed in place gives the HVP of the new direction.
  vector<double> w = v;
  (void)m.hessian_vector_product(b, p, w);
  w *= -2.0;
  EXPECT_LT((m.hessian_vector_product(b, p, w) + 2.0 * hv).cwiseAbs().maxCoeff(), 1e-12 * hv.cwiseAbs().maxCoeff());
}

// ---- input gradients ---------------------------------------------------------------------------

TEST(NnDerivatives, InputGradientsMatchFiniteDifferences) {
  const shape s{.layers = 2, .bi = true, .head = head_mode::every_step};
  const rnn_config c = make_config(s);
  rnn_classifier<gru_cell, double> m(c, 4);
  auto b = make_batch<double>(c, 5, 8);
  const auto gx = m.input_gradients(b);
  ASSERT_EQ(gx.size(), b.features.size());
  const double eps = 1e-6;
  for (std::size_t i = 0; i < b.features.size(); ++i) {
    ASSERT_EQ(gx[i].rows(), b.features[i].rows());
    for (index_t k = 0; k < b.features[i].size(); ++k) {
      const double x0 = b.features[i].data()[k];
      b.features[i].data()[k] = x0 + eps;
      const double lp = m.loss(b);
      b.features[i].data()[k] = x0 - eps;
      const double lm = m.loss(b);
      b.features[i].data()[k] = x0;
      EXPECT_NEAR(gx[i].data()[k], (lp - lm) / (2 * eps), 1e-8);
    }
  }
}

TEST(NnDerivatives, EmbeddingInputGradientIsEmbeddingGradient) {
  // With token input, the input gradient summed per token equals the embedding block of the gradient.
  const shape s{.tokens = true};
  const rnn_config c = make_config(s);
  rnn_classifier<lstm_cell, double> m(c, 2);
  const auto b = make_batch<double>(c, 6, 3);
  const auto gx = m.input_gradients(b);
  matrix<double> ge = matrix<double>::Zero(c.vocab_size, c.input_size);
  for (std::size_t i = 0; i < gx.size(); ++i)
    for (index_t t = 0; t < gx[i].rows(); ++t) ge.row(b.tokens[i](t)) += gx[i].row(t);
  const vector<double> g = m.loss_gradient(b);
  const auto& e = m.layout().find("embedding.weight");
  EXPECT_LT((Eigen::Map<const matrix<double>>(g.data() + e.offset, e.rows, e.cols) - ge).cwiseAbs().maxCoeff(), 1e-14);
}

// ---- forward semantics --------------------------------------------------------------------------

TEST(NnForward, PackedSemanticsMatchSingleSequences) {
  // A sequence's outputs do not depend on the rest of the batch (lengths, padding, order).
  const shape s{.layers = 2, .bi = true};
  const rnn_config c = make_config(s);
  rnn_classifier<lstm_cell, double> m(c, 9);
  const auto b = make_batch<double>(c, 6, 2);
  const auto all = m.forward(b, true);
  for (index_t i = 0; i < b.size(); ++i) {
    sequence_batch<double> one;
    one.features.push_back(b.features[static_cast<std::size_t>(i)]);
    const auto o = m.forward(one, true);
    EXPECT_LT((o.logits.row(0) - all.logits.row(i)).cwiseAbs().maxCoeff(), 1e-14);
    EXPECT_LT((o.hidden[0] - all.hidden[static_cast<std::size_t>(i)]).cwiseAbs().maxCoeff(), 1e-14);
  }
}

TEST(NnForward, LstmStepByHand) {
  // One LSTM step from zero state, written out from PyTorch's equations.
  rnn_config c{.input_size = 2, .hidden_size = 1, .num_classes = 2};
  rnn_classifier<lstm_cell, double> m(c, 1);
  const vector<double> th = m.parameters();
  sequence_batch<double> b;
  b.features.push_back(matrix<double>{{0.5, -1.0}});
  const auto o = m.forward(b, true);
  const auto W = m.parameter("rnn.weight_ih_l0");
  const auto bi = m.parameter("rnn.bias_ih_l0"), bh = m.parameter("rnn.bias_hh_l0");
  const auto a = [&](int k) { return W(k, 0) * 0.5 - W(k, 1) + bi(0, k) + bh(0, k); };
  const auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  const double cc = sig(a(0)) * std::tanh(a(2));
  const double h = sig(a(3)) * std::tanh(cc);
  EXPECT_NEAR(o.hidden[0](0, 0), h, 1e-15);
  const auto fw = m.parameter("fc.weight");
  const auto fb = m.parameter("fc.bias");
  EXPECT_NEAR(o.logits(0, 1), fw(1, 0) * h + fb(0, 1), 1e-15);
  EXPECT_EQ(o.step_probabilities[0].rows(), 1);
  EXPECT_NEAR(o.probabilities.row(0).sum(), 1.0, 1e-15);
}

TEST(NnForward, FloatForwardMatchesDouble) {
  const shape s{.bi = true, .head = head_mode::every_step};
  const rnn_config c = make_config(s);
  rnn_classifier<gru_cell, double> md(c, 5);
  rnn_classifier<gru_cell, float> mf(c, 5);
  mf.set_parameters(md.parameters().cast<float>());
  const auto bd = make_batch<double>(c, 4, 6);
  sequence_batch<float> bf;
  for (const auto& x : bd.features) bf.features.push_back(x.cast<float>());
  const auto od = md.forward(bd, true);
  const auto of = mf.forward(bf, true);
  EXPECT_LT((od.logits.cast<float>() - of.logits).cwiseAbs().maxCoeff(), 1e-5f);
  EXPECT_EQ(od.predictions, of.predictions);
  ASSERT_EQ(of.step_probabilities.size(), 4u);
  EXPECT_EQ(of.step_predictions[0](of.step_predictions[0].size() - 1), of.predictions(0));
}

TEST(NnForward, PaddedTensorWithMask) {
  xt::xtensor<double, 3> x = xt::zeros<double>({2, 3, 3});
  for (std::size_t k = 0; k < x.size(); ++k) x.data()[k] = 0.1 * static_cast<double>(k);
  xt::xtensor<bool, 2> mask = {{true, true, false}, {true, true, true}};
  const index_vector len = lengths_from_mask(mask);
  EXPECT_EQ(len(0), 2);
  EXPECT_EQ(len(1), 3);
  sequence_batch<double> b;
  b.features = unpad_features(x, len);
  EXPECT_EQ(b.features[0].rows(), 2);
  EXPECT_DOUBLE_EQ(b.features[1](2, 2), x(1, 2, 2));
  xt::xtensor<bool, 2> holey = {{true, false, true}};
  EXPECT_THROW(lengths_from_mask(holey), invalid_argument);
}

// ---- Keras weights ---------------------------------------------------------------------------------

TEST(NnKeras, GruResetAfterMatchesKerasEquations) {
  // Keras/TF2 GRU(reset_after=True), gates z, r, h, written out from Keras' own equations.
  const index_t I = 3, H = 2;
  rng g(4);
  const auto rnd = [&](index_t r, index_t c) {
    matrix<double> m(r, c);
    for (index_t k = 0; k < m.size(); ++k) m.data()[k] = g.normal();
    return m;
  };
  const matrix<double> K = rnd(I, 3 * H), R = rnd(H, 3 * H), B = rnd(2, 3 * H);
  rnn_config c{.input_size = I, .hidden_size = H, .num_classes = 2};
  rnn_classifier<gru_cell, double> m(c, 1);
  m.set_cell_weights(0, false, from_keras_gru(K, R, B));
  sequence_batch<double> b;
  b.features.push_back(rnd(2, I));
  const auto out = m.forward(b, true);
  Eigen::RowVectorXd h = Eigen::RowVectorXd::Zero(H);
  const auto sig = [](const Eigen::RowVectorXd& a) { return (1.0 / (1.0 + (-a.array()).exp())).matrix().eval(); };
  for (index_t t = 0; t < 2; ++t) {
    const Eigen::RowVectorXd xk = b.features[0].row(t) * K + B.row(0), hk = h * R + B.row(1);
    const Eigen::RowVectorXd z = sig(xk.segment(0, H) + hk.segment(0, H));
    const Eigen::RowVectorXd r = sig(xk.segment(H, H) + hk.segment(H, H));
    const Eigen::RowVectorXd hh =
        (xk.segment(2 * H, H).array() + r.array() * hk.segment(2 * H, H).array()).tanh().matrix();
    h = (z.array() * h.array() + (1 - z.array()) * hh.array()).matrix();
    EXPECT_LT((out.hidden[0].row(t) - h).cwiseAbs().maxCoeff(), 1e-14) << "step " << t;
  }
  EXPECT_THROW(from_keras_gru(K, R, matrix<double>(B.row(0))), invalid_argument);
  EXPECT_THROW(m.set_tensor("rnn.weight_hh_l0", rnd(H, H)), invalid_argument);
}

TEST(NnKeras, LstmAndSimpleRnnShapes) {
  const matrix<double> K = matrix<double>::Random(3, 8), R = matrix<double>::Random(2, 8);
  const vector<double> b = vector<double>::Random(8);
  const auto w = from_keras_lstm(K, R, b);
  EXPECT_TRUE(w.weight_ih == K.transpose());
  EXPECT_TRUE(w.weight_hh == R.transpose());
  EXPECT_TRUE(w.bias_hh.isZero());
  const auto s = from_keras_simple_rnn<double>(K.leftCols(2), R.leftCols(2), b.head(2));
  EXPECT_EQ(s.weight_ih.rows(), 2);
  EXPECT_THROW(from_keras_lstm<double>(K, R.leftCols(4), b), invalid_argument);
}

// ---- determinism -----------------------------------------------------------------------------------

TEST(NnThreads, BitIdenticalForOneAndTwoThreads) {
  const shape s{.layers = 2, .bi = true, .head = head_mode::every_step, .chunk = 3};
  const rnn_config c = make_config(s);
  rnn_classifier<lstm_cell, double> m(c, 7);
  const auto b = make_batch<double>(c, 11, 4);
  const vector<double> v = random_vector(m.parameter_count(), 1);
  const int saved = max_threads();
  set_threads(1);
  const auto g1 = m.loss_gradient(b);
  const auto h1 = m.hessian_vector_product(b, v);
  const auto p1 = m.per_sample_gradients(b);
  set_threads(2);
  const auto g2 = m.loss_gradient(b);
  const auto h2 = m.hessian_vector_product(b, v);
  const auto p2 = m.per_sample_gradients(b);
  set_threads(saved);
  EXPECT_TRUE(g1 == g2);
  EXPECT_TRUE(h1 == h2);
  EXPECT_TRUE(p1 == p2);
}

// ---- objective interface --------------------------------------------------------------------------

TEST(NnObjective, BatchObjectiveIsTwiceDifferentiable) {
  static_assert(twice_differentiable<batch_objective<rnn_classifier<gru_cell, double>>, double>);
  const rnn_config c = make_config({});
  rnn_classifier<gru_cell, double> m(c, 1);
  const auto b = make_batch<double>(c, 4, 2);
  batch_objective f(m, b);
  const vector<double> w = m.parameters();
  EXPECT_EQ(f.parameter_count(), m.parameter_count());
  EXPECT_DOUBLE_EQ(f.loss(w), m.loss(b));
  EXPECT_TRUE(f.loss_gradient(w) == m.loss_gradient(b));
}

// ---- user cells -------------------------------------------------------------------------------------

/// A cell of a user's own: h' = tanh(a) with a leak, h' = 0.5 h + 0.5 tanh(a).
struct leaky_cell {
  static constexpr index_t gates = 1, states = 1, cache_size = 1;
  static constexpr std::string_view name() { return "leaky"; }
  template <class S>
  static void forward(const std::array<S, 1>& xg, const std::array<S, 1>& hg, const std::array<S, 1>& prev,
                      std::array<S, 1>& next, std::array<S, 1>& cache) {
    cache[0] = pointwise::tanh(xg[0] + hg[0]);
    next[0] = S(0.5) * prev[0] + S(0.5) * cache[0];
  }
  template <class S>
  static void backward(const std::array<S, 1>& cache, const std::array<S, 1>&, const std::array<S, 1>& dnext,
                       std::array<S, 1>& dxg, std::array<S, 1>& dhg, std::array<S, 1>& dprev) {
    dxg[0] = dhg[0] = S(0.5) * dnext[0] * (S(1) - cache[0] * cache[0]);
    dprev[0] = S(0.5) * dnext[0];
  }
};
static_assert(check_recurrent_cell<leaky_cell>());
struct not_a_cell {
  static constexpr index_t gates = 1;
};
static_assert(!recurrent_cell<not_a_cell>);

TEST(NnDerivatives, UserCell) { check_derivatives<leaky_cell>({.bi = true}); }

// ---- persistence ---------------------------------------------------------------------------------------

struct temp_dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("rnnabs_nn_test_" + std::to_string(::getpid()));
  temp_dir() { std::filesystem::create_directories(path); }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

TEST(NnIo, SaveLoadRoundTrip) {
  temp_dir d;
  const shape s{.layers = 2,
                .bi = true,
                .tokens = true,
                .head = head_mode::every_step,
                .loss = loss_kind::softmax_bce,
                .classes = 2};
  rnn_classifier<gru_cell, float> m(make_config(s), 3);
  m.save(d.path / "m.npz");
  const auto r = rnn_classifier<gru_cell, float>::load(d.path / "m.npz");
  EXPECT_TRUE(r.parameters() == m.parameters());
  EXPECT_EQ(r.config().num_layers, 2);
  EXPECT_TRUE(r.config().bidirectional);
  EXPECT_EQ(r.config().loss, loss_kind::softmax_bce);
  EXPECT_EQ(r.config().head, head_mode::every_step);
  EXPECT_THROW((rnn_classifier<lstm_cell, float>::load(d.path / "m.npz")), io_error);
}

TEST(NnIo, StateDictNpzUsesPyTorchNamesAndShapes) {
  temp_dir d;
  const shape s{.bi = true, .tokens = true};
  const rnn_config c = make_config(s);
  rnn_classifier<lstm_cell, float> m(c, 3);
  m.save_npz(d.path / "sd.npz");
  const auto arrays = io::npz_read(d.path / "sd.npz");
  EXPECT_EQ(arrays.size(), 11u);
  EXPECT_EQ(arrays.at("rnn.weight_ih_l0").shape, (std::vector<std::size_t>{16, 3}));
  EXPECT_EQ(arrays.at("rnn.weight_hh_l0_reverse").shape, (std::vector<std::size_t>{16, 4}));
  EXPECT_EQ(arrays.at("rnn.bias_hh_l0").shape, (std::vector<std::size_t>{16}));
  EXPECT_EQ(arrays.at("embedding.weight").shape, (std::vector<std::size_t>{7, 3}));
  EXPECT_EQ(arrays.at("fc.weight").shape, (std::vector<std::size_t>{3, 8}));
  EXPECT_EQ(arrays.at("fc.bias").type, io::dtype::f4);
  // Names in state_dict order.
  std::vector<std::string> names;
  for (const auto& e : m.layout().entries()) names.push_back(e.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
                                      "rnn.bias_hh_l0", "rnn.weight_ih_l0_reverse", "rnn.weight_hh_l0_reverse",
                                      "rnn.bias_ih_l0_reverse", "rnn.bias_hh_l0_reverse", "fc.weight", "fc.bias"}));
  rnn_classifier<lstm_cell, float> other(c, 99);
  other.load_npz(d.path / "sd.npz");
  EXPECT_TRUE(other.parameters() == m.parameters());
}

// Found while writing the fuzz harness for the archive loaders (docs/fuzzing.md): load built the
// parameter layout from the config scalars of the file before any size check, so hidden_size = 1e12
// overflowed index_t in make_rnn_layout and num_layers = 1e14 looped ~1e14 times; the parameter
// count of the config is now bounded by io::max_alloc_bytes first.
TEST(NnIo, LoadRejectsHugeConfigsWithIoError) {
  temp_dir d;
  rnn_classifier<lstm_cell, float> m(rnn_config{.input_size = 2, .hidden_size = 3, .num_classes = 2}, 1);
  m.save(d.path / "ok.npz");
  const auto good = io::npz_read(d.path / "ok.npz");
  const auto with = [&](const std::string& name, double v) {
    auto a = good;
    a[name] = io::to_npy_array(xt::xarray<double>(v));
    const auto f = d.path / (name + ".npz");
    io::save_npz(f, a);
    return f;
  };
  using lstm = rnn_classifier<lstm_cell, float>;
  EXPECT_NO_THROW(lstm::load(d.path / "ok.npz"));
  for (const char* name :
       {"config.hidden_size", "config.num_layers", "config.input_size", "config.vocab_size", "config.num_classes"})
    EXPECT_THROW(lstm::load(with(name, 1e14)), io_error) << name;
  // Within the limit but not what the tensors hold: the shape check still answers.
  EXPECT_THROW(lstm::load(with("config.hidden_size", 4)), io_error);
}

TEST(NnIo, BadStateDictsAreIoErrors) {
  temp_dir d;
  const rnn_config c = make_config({});
  rnn_classifier<gru_cell, float> m(c, 3);
  const vector<float> before = m.parameters();
  auto sd = io::npz_read((m.save_npz(d.path / "ok.npz"), d.path / "ok.npz"));
  auto missing = sd;
  missing.erase("rnn.bias_hh_l0");
  io::save_npz(d.path / "missing.npz", missing);
  EXPECT_THROW(m.load_npz(d.path / "missing.npz"), io_error);
  auto extra = sd;
  extra.emplace("rnn.weight_ih_l1", sd.at("rnn.weight_ih_l0"));
  io::save_npz(d.path / "extra.npz", extra);
  EXPECT_THROW(m.load_npz(d.path / "extra.npz"), io_error);
  auto wrong = sd;
  wrong["fc.weight"] = io::to_npy_array(matrix<float>::Zero(2, 4));
  io::save_npz(d.path / "wrong.npz", wrong);
  EXPECT_THROW(m.load_npz(d.path / "wrong.npz"), io_error);
  auto nan = sd;
  nan["fc.bias"] = io::to_npy_array(vector<float>::Constant(3, std::nanf("")));
  io::save_npz(d.path / "nan.npz", nan);
  EXPECT_THROW(m.load_npz(d.path / "nan.npz"), io_error);
  {
    std::ofstream f(d.path / "corrupt.npz", std::ios::binary);
    f << "not a zip file";
  }
  EXPECT_THROW(m.load_npz(d.path / "corrupt.npz"), io_error);
  EXPECT_TRUE(m.parameters() == before);  // failed loads leave the weights alone
}

// ---- bad input -----------------------------------------------------------------------------------------

TEST(NnErrors, BadInputIsInvalidArgument) {
  const rnn_config c = make_config({.tokens = true});
  rnn_classifier<lstm_cell, double> m(c, 1);
  auto b = make_batch<double>(c, 3, 1);
  EXPECT_NO_THROW(m.loss(b));
  auto bad = b;
  bad.tokens[1](0) = 7;  // vocab is 7
  EXPECT_THROW(m.forward(bad), invalid_argument);
  bad = b;
  bad.tokens[2].resize(0);
  EXPECT_THROW(m.forward(bad), invalid_argument);
  bad = b;
  bad.labels(0) = 3;
  EXPECT_THROW(m.loss(bad), invalid_argument);
  bad = b;
  bad.labels.resize(2);
  EXPECT_THROW(m.loss_gradient(bad), invalid_argument);
  EXPECT_THROW(m.forward(sequence_batch<double>{}), invalid_argument);

  vector<double> p = m.parameters();
  p(5) = std::nan("");
  EXPECT_THROW(m.set_parameters(p), invalid_argument);
  EXPECT_THROW(m.hessian_vector_product(b, p), invalid_argument);
  EXPECT_THROW(m.set_parameters(vector<double>::Zero(3)), invalid_argument);

  const rnn_config cf = make_config({});
  rnn_classifier<gru_cell, double> mf(cf, 1);
  auto bf = make_batch<double>(cf, 3, 1);
  auto badf = bf;
  badf.features[0] = matrix<double>::Zero(2, 4);  // 4 features, model takes 3
  EXPECT_THROW(mf.forward(badf), invalid_argument);
  badf = bf;
  badf.features[1](0, 0) = std::nan("");
  EXPECT_THROW(mf.loss(badf), invalid_argument);
  EXPECT_THROW(mf.forward(b), invalid_argument);  // tokens into a feature model
  rnn_config bad_cfg = cf;
  bad_cfg.hidden_size = 0;
  EXPECT_THROW((rnn_classifier<gru_cell, double>(bad_cfg)), invalid_argument);
  bad_cfg = cf;
  bad_cfg.num_classes = 1;  // cross-entropy needs 2
  EXPECT_THROW((rnn_classifier<gru_cell, double>(bad_cfg)), invalid_argument);
  const rnn_config ce = make_config({.head = head_mode::every_step});
  rnn_classifier<gru_cell, double> me(ce, 1);
  auto be = make_batch<double>(ce, 3, 1);
  be.step_labels[1].resize(be.length(1) + 1);
  EXPECT_THROW(me.loss(be), invalid_argument);
  bad = b;
  bad.tokens[1](0) = -1;
  try {
    m.forward(bad);
    ADD_FAILURE() << "no exception";
  } catch (const invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("vocabulary"), std::string::npos) << e.what();
  }
}

}  // namespace nn_cells_tests
