// GPU twins of the recurrent models: our own LSTM/GRU engine (gradient, exact Hessian-vector
// product, recorded hidden states) and the cuDNN classifiers (weight layout, gradient, SGD step,
// recorded outputs), each against rnn_classifier on fresh random inputs (skipped without a device).
#include <gtest/gtest.h>

#include "cuda_test.hpp"
#include "rnnabs/cuda/backend.cuh"
#include "rnnabs/cuda/cudnn_rnn.cuh"
#include "rnnabs/cuda/rnn_engine.cuh"

namespace {
using namespace rnnabs;
using test::rel_err;

template <class T>
sequence_batch<T> random_batch(index_t B, index_t I, index_t C, index_t Tmin, index_t Tmax) {
  sequence_batch<T> b;
  for (index_t i = 0; i < B; ++i) {
    const index_t len =
        Tmin + (Tmax > Tmin ? static_cast<index_t>(test::uniform(0, 1) * (Tmax - Tmin + 1)) % (Tmax - Tmin + 1) : 0);
    b.features.push_back(matrix<T>::NullaryExpr(len, I, [] { return static_cast<T>(test::normal()); }));
  }
  b.labels = index_vector::NullaryExpr(B, [C] { return static_cast<index_t>(test::uniform(0, 1) * C) % C; });
  return b;
}

template <class Cell, class T>
void engine_matches_cpu() {
  const rnn_config cfg{.input_size = 3, .hidden_size = 6, .num_classes = 4};
  const std::uint64_t seed = static_cast<std::uint64_t>(test::uniform(0, 1e9));
  const rnn_classifier<Cell, T> model(cfg, seed);
  const rnn_classifier<Cell, double> ref(cfg, seed);  // same draws, in double: the reference
  const auto b = random_batch<T>(9, cfg.input_size, cfg.num_classes, 5, 5);
  sequence_batch<double> bd;
  for (const auto& f : b.features) bd.features.push_back(f.template cast<double>());
  bd.labels = b.labels;
  const vector<double> theta = model.parameters().template cast<double>();
  const vector<T> v = vector<T>::NullaryExpr(model.parameter_count(), [] { return static_cast<T>(test::normal()); });

  cuda::rnn_engine<Cell, T> gpu(model);
  gpu.set_batch(b);
  double loss = std::numeric_limits<double>::quiet_NaN(), ref_loss = 0;
  const vector<T> g = gpu.loss_gradient(&loss);
  const vector<double> g_ref = ref.loss_gradient(bd, theta, &ref_loss);
  EXPECT_NEAR(loss, ref_loss, test::tol<T>() * std::abs(ref_loss));
  EXPECT_LT(rel_err(g, g_ref), test::tol<T>());
  vector<T> g2;
  const vector<T> hv = gpu.hessian_vector_product(v, &g2);
  const vector<double> hv_ref = ref.hessian_vector_product(bd, theta, v.template cast<double>());
  EXPECT_LT(rel_err(hv, hv_ref), 5 * test::tol<T>());
  EXPECT_LT(rel_err(g2, g_ref), test::tol<T>());
  // Device-side entry points write every output entry: poison them first.
  cuda::device_buffer<T> dv, dhv(static_cast<std::size_t>(v.size())), dg(static_cast<std::size_t>(v.size()));
  dv.upload(v.data(), static_cast<std::size_t>(v.size()));
  dhv.fill_bytes(0xFF);
  dg.fill_bytes(0xFF);
  gpu.hessian_vector_product_device(dv.data(), dhv.data(), dg.data());
  gpu.synchronize();
  vector<T> hv3(v.size());
  dhv.download(hv3.data(), static_cast<std::size_t>(hv3.size()));
  EXPECT_LT(rel_err(hv3, hv_ref), 5 * test::tol<T>());
  // Recording: every step's hidden state.
  const auto out = gpu.forward(true);
  const auto cpu = ref.forward(bd, true);
  ASSERT_EQ(out.hidden.size(), cpu.hidden.size());
  for (std::size_t i = 0; i < cpu.hidden.size(); ++i) EXPECT_LT(rel_err(out.hidden[i], cpu.hidden[i]), test::tol<T>());
  EXPECT_LT(rel_err(out.logits, cpu.logits), test::tol<T>());
  EXPECT_EQ(out.predictions, cpu.predictions);
}
TEST(CudaRnnEngine, LstmFloatMatchesCpu) {
  RNNABS_REQUIRE_GPU();
  engine_matches_cpu<lstm_cell, float>();
}
TEST(CudaRnnEngine, LstmDoubleMatchesCpu) {
  RNNABS_REQUIRE_GPU();
  engine_matches_cpu<lstm_cell, double>();
}
TEST(CudaRnnEngine, GruFloatMatchesCpu) {
  RNNABS_REQUIRE_GPU();
  engine_matches_cpu<gru_cell, float>();
}
TEST(CudaRnnEngine, GruDoubleMatchesCpu) {
  RNNABS_REQUIRE_GPU();
  engine_matches_cpu<gru_cell, double>();
}

template <class Cell>
void cudnn_matches_cpu(index_t layers, bool bidir) {
  SCOPED_TRACE(testing::Message() << layers << " layer(s)" << (bidir ? ", bidirectional" : ""));
  const rnn_config cfg{
      .input_size = 4, .hidden_size = 5, .num_layers = layers, .bidirectional = bidir, .num_classes = 3};
  const std::uint64_t seed = static_cast<std::uint64_t>(test::uniform(0, 1e9));
  const rnn_classifier<Cell, float> model(cfg, seed);
  const rnn_classifier<Cell, double> ref(cfg, seed);
  const auto b = random_batch<float>(7, cfg.input_size, cfg.num_classes, 2, 6);  // variable lengths
  sequence_batch<double> bd;
  for (const auto& f : b.features) bd.features.push_back(f.cast<double>());
  bd.labels = b.labels;
  const vector<double> theta = model.parameters().template cast<double>();

  cuda::cudnn_rnn<Cell> gpu(model);
  // The documented layout: cuDNN's reported addresses are the canonical ones.
  EXPECT_EQ(gpu.weight_space_size(), cuda::canonical_cudnn_size(cfg, Cell::gates));
  const auto canon = cuda::canonical_cudnn_addresses(cfg, Cell::gates);
  ASSERT_EQ(gpu.addresses().size(), canon.size());
  for (std::size_t i = 0; i < canon.size(); ++i)
    EXPECT_EQ(gpu.addresses()[i], canon[i])
        << "pseudo-layer " << canon[i].pseudo_layer << ", linLayerID " << canon[i].lin_id
        << ": cuDNN reports matrix at " << gpu.addresses()[i].matrix_offset << ", bias at "
        << gpu.addresses()[i].bias_offset;
  EXPECT_EQ(gpu.parameters(), model.parameters());  // flat -> cuDNN -> flat on the device
  gpu.set_batch(b);
  double loss = std::numeric_limits<double>::quiet_NaN(), ref_loss = 0;
  const vector<float> g = gpu.loss_gradient(&loss);
  const vector<double> g_ref = ref.loss_gradient(bd, theta, &ref_loss);
  EXPECT_NEAR(loss, ref_loss, 1e-4 * std::abs(ref_loss));
  EXPECT_LT(rel_err(g, g_ref), 1e-4);
  const auto out = gpu.forward(true);
  const auto cpu = ref.forward(bd, true);
  EXPECT_LT(rel_err(out.logits, cpu.logits), 1e-4);
  ASSERT_EQ(out.hidden.size(), cpu.hidden.size());
  for (std::size_t i = 0; i < cpu.hidden.size(); ++i) EXPECT_LT(rel_err(out.hidden[i], cpu.hidden[i]), 1e-4);
  // One SGD step on the device is θ − lr ∇.
  const float lr = 0.25f;
  const double step_loss = gpu.train_step(lr);
  EXPECT_NEAR(step_loss, ref_loss, 1e-4 * std::abs(ref_loss));
  EXPECT_LT(rel_err(gpu.parameters(), (theta - lr * g_ref).eval()), 1e-5);
}
TEST(CudaCudnn, LstmMatchesCpu) {
  RNNABS_REQUIRE_GPU();
  cudnn_matches_cpu<lstm_cell>(1, false);
  cudnn_matches_cpu<lstm_cell>(2, true);
}
TEST(CudaCudnn, GruMatchesCpu) {
  RNNABS_REQUIRE_GPU();
  cudnn_matches_cpu<gru_cell>(1, false);
  cudnn_matches_cpu<gru_cell>(2, true);
}

// ---- one entry point, either backend (cuda/backend.cuh); double models: the CPU engine's double
// instantiation is already here for the references above, so these tests add little compile time.

TEST(CudaBackend, CpuBranchIsTheCpuCode) {  // runs everywhere: no device needed
  const rnn_config cfg{.input_size = 3, .hidden_size = 5, .num_classes = 3};
  const rnn_classifier<lstm_cell, double> m(cfg, 4);
  const auto b = random_batch<double>(7, 3, 3, 2, 6);
  const vector<double> v = vector<double>::NullaryExpr(m.parameter_count(), [] { return test::normal(); });
  EXPECT_TRUE(cuda::loss_gradient(m, b, cuda::backend::cpu) == m.loss_gradient(b));
  EXPECT_TRUE(cuda::hessian_vector_product(m, b, v, cuda::backend::cpu) == m.hessian_vector_product(b, v));
  const auto tr = cuda::profile(m, b, cuda::backend::cpu), ref = profile(m, b);
  ASSERT_EQ(tr.size(), ref.size());
  for (index_t i = 0; i < tr.size(); ++i)
    EXPECT_TRUE(tr.hidden[static_cast<std::size_t>(i)] == ref.hidden[static_cast<std::size_t>(i)]);
  // The GPU branch refuses what it cannot run before touching a device.
  const rnn_classifier<lstm_cell, double> bi(
      rnn_config{.input_size = 3, .hidden_size = 5, .bidirectional = true, .num_classes = 3}, 1);
  EXPECT_THROW(cuda::loss_gradient(bi, b, cuda::backend::cuda), invalid_argument);
}

TEST(CudaBackend, GpuBranchMatchesCpu) {
  RNNABS_REQUIRE_GPU();
  const rnn_config cfg{.input_size = 4, .hidden_size = 8, .num_classes = 3};
  const rnn_classifier<gru_cell, double> m(cfg, static_cast<std::uint64_t>(test::uniform(0, 1e9)));
  const auto b = random_batch<double>(16, 4, 3, 7, 7);
  const vector<double> v = vector<double>::NullaryExpr(m.parameter_count(), [] { return test::normal(); });
  EXPECT_LT(rel_err(cuda::loss_gradient(m, b), m.loss_gradient(b)), test::tol<double>());
  EXPECT_LT(rel_err(cuda::hessian_vector_product(m, b, v), m.hessian_vector_product(b, v)), 10 * test::tol<double>());
  const auto tr = cuda::profile(m, b), ref = profile(m, b);
  ASSERT_EQ(tr.size(), ref.size());
  for (index_t i = 0; i < tr.size(); ++i) {
    const auto k = static_cast<std::size_t>(i);
    EXPECT_LT(rel_err(tr.hidden[k], ref.hidden[k]), test::tol<double>());
    EXPECT_LT(rel_err(tr.step_probabilities[k], ref.step_probabilities[k]), test::tol<double>());
    EXPECT_TRUE(tr.step_labels[k] == ref.step_labels[k]);
  }
}

}  // namespace
