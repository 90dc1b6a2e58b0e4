// GPU microbenchmarks of the CUDA backend (built with RNNABS_CUDA; each skips without a device).
//   BM_CudaGmmEmIteration/<diag|full>  one EM iteration, N = 1 680 000, D = 10, K = 37 (GPU E+M pass
//                                      + the device M-step and factors); targets <= 5 ms / <= 15 ms (H100)
//   BM_CudaKmeansPlusPlus / BM_CudaLloydIteration  the GMM's default initialisation on the same data:
//                                      greedy k-means++ seeding (K = 37), one Lloyd iteration
//   BM_CudaLstmTrainStep/<fp32|tf32>   cuDNN LSTM training step B = 128, T = 28, I = 28, H = 128, 10
//                                      classes (forward, backward data + weights, head, SGD)
//   BM_CudaLstmGradient / BM_CudaLstmHvp  our own engine: gradient, exact Hessian-vector product
// The PyTorch peer of the LSTM step and the HVP is benchmarks/compare/torch_cuda_peer.py;
// scripts/gpu-run.sh runs both and prints the ratios.
#include <benchmark/benchmark.h>

#include <random>

#include "rnnabs/cuda/cudnn_rnn.cuh"
#include "rnnabs/cuda/gmm.cuh"
#include "rnnabs/cuda/kmeans.cuh"
#include "rnnabs/cuda/rnn_engine.cuh"

namespace {
using namespace rnnabs;

bool skip_without_device(benchmark::State& state) {
  if (cuda::has_device()) return false;
  state.SkipWithError("no CUDA device");
  for (auto _ : state) {
  }
  return true;
}

constexpr index_t trace_n = 1680000, trace_d = 10, trace_k = 37;

/// RNNRepair's MNIST scale after PCA: 1.68M points in 10 dimensions around 37 offsets.
matrix<float> trace_like() {
  std::mt19937_64 g(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  matrix<float> X(trace_n, trace_d);
  for (index_t i = 0; i < trace_n; ++i)
    for (index_t a = 0; a < trace_d; ++a)
      X(i, a) = static_cast<float>(i % trace_k) * 0.3f * static_cast<float>(a % 3) + nd(g);
  return X;
}

void BM_CudaGmmEmIteration(benchmark::State& state) {
  if (skip_without_device(state)) return;
  const covariance_type c = state.range(0) == 0 ? covariance_type::diag : covariance_type::full;
  const index_t N = trace_n, D = trace_d, K = trace_k;
  const matrix<float> X = trace_like();
  // Starting parameters: K points as means, the data's variance.
  gmm_parameters p;
  p.weights = vector<double>::Constant(K, 1.0 / static_cast<double>(K));
  p.means.resize(K, D);
  for (index_t k = 0; k < K; ++k) p.means.row(k) = X.row(k * (N / K)).cast<double>();
  const vector<double> var = (X.cast<double>().rowwise() - X.cast<double>().colwise().mean()).colwise().squaredNorm() /
                             static_cast<double>(N);
  if (c == covariance_type::diag) {
    p.covariances = var.transpose().replicate(K, 1);
  } else {
    p.covariances.resize(K * D, D);
    for (index_t k = 0; k < K; ++k) p.covariances.middleRows(k * D, D) = var.asDiagonal();
  }
  cuda::stream s;
  const cuda::device_points data(X, nullptr, s.get());
  cuda::gmm_engine eng(data, K, c, s.get());
  std::vector<index_t> bad;
  const matrix<double> pc = rnnabs::detail::precision_cholesky(p.covariances, c, K, D, bad);
  eng.set_model(rnnabs::detail::kernel_model(p.weights, p.means, pc, c));
  for (auto _ : state) {  // what cuda::fit does per iteration: E+M pass, device M-step, K + 1 values back
    const auto st = eng.em_step(c, 1e-6, 0.0);
    benchmark::DoNotOptimize(st.loglik);
  }
  state.counters["tile"] = eng.tile_points();
  state.counters["blocks"] = eng.blocks();
  state.SetItemsProcessed(state.iterations() * N);
  state.SetLabel(c == covariance_type::diag ? "diag" : "full");
}
BENCHMARK(BM_CudaGmmEmIteration)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CudaKmeansPlusPlus(benchmark::State& state) {
  if (skip_without_device(state)) return;
  const matrix<float> X = trace_like();
  cuda::stream s;
  const cuda::device_points data(X, nullptr, s.get());
  cuda::kmeans_engine eng(data, trace_k, s.get());
  for (auto _ : state) {
    rng gen(3);
    benchmark::DoNotOptimize(eng.plusplus(gen));
  }
  state.SetItemsProcessed(state.iterations() * trace_n);
}
BENCHMARK(BM_CudaKmeansPlusPlus)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CudaLloydIteration(benchmark::State& state) {
  if (skip_without_device(state)) return;
  const matrix<float> X = trace_like();
  cuda::stream s;
  const cuda::device_points data(X, nullptr, s.get());
  cuda::kmeans_engine eng(data, trace_k, s.get());
  matrix<double> c(trace_k, trace_d);
  for (index_t k = 0; k < trace_k; ++k) c.row(k) = X.row(k * 1000).cast<double>();
  for (auto _ : state) {  // max_iter 1: assignment, labelled sums, the final assignment, the inertia pass
    const auto r = eng.lloyd(c, 1, 0.0, /*with_labels=*/false);
    benchmark::DoNotOptimize(r.inertia);
  }
  state.SetItemsProcessed(state.iterations() * trace_n);
}
BENCHMARK(BM_CudaLloydIteration)->Unit(benchmark::kMillisecond)->UseRealTime();

sequence_batch<float> lstm_batch(index_t B, index_t T, index_t I, index_t C) {
  std::mt19937_64 g(2);
  std::normal_distribution<float> nd(0.f, 1.f);
  sequence_batch<float> b;
  for (index_t i = 0; i < B; ++i) b.features.push_back(matrix<float>::NullaryExpr(T, I, [&] { return nd(g); }));
  b.labels = index_vector::NullaryExpr(B, [&] { return static_cast<index_t>(g() % static_cast<std::uint64_t>(C)); });
  return b;
}
const rnn_config lstm_bench_cfg{.input_size = 28, .hidden_size = 128, .num_classes = 10};

void BM_CudaLstmTrainStep(benchmark::State& state) {
  if (skip_without_device(state)) return;
  const lstm_classifier<float> model(lstm_bench_cfg, 1);
  cuda::cudnn_rnn<lstm_cell> gpu(model, /*allow_tf32=*/state.range(0) == 1);
  gpu.set_batch(lstm_batch(128, 28, 28, 10));
  for (int w = 0; w < 3; ++w) gpu.train_step_async(0.01f);
  gpu.synchronize();
  for (auto _ : state) {
    gpu.train_step_async(0.01f);
    gpu.synchronize();
  }
  state.SetItemsProcessed(state.iterations() * 128);
  state.SetLabel(state.range(0) == 1 ? "cudnn tf32" : "cudnn fp32");
}
BENCHMARK(BM_CudaLstmTrainStep)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CudaLstmGradient(benchmark::State& state) {
  if (skip_without_device(state)) return;
  const lstm_classifier<float> model(lstm_bench_cfg, 1);
  cuda::rnn_engine<lstm_cell> gpu(model);
  gpu.set_batch(lstm_batch(128, 28, 28, 10));
  cuda::device_buffer<float> g(static_cast<std::size_t>(model.parameter_count()));
  gpu.loss_gradient_device(g.data());
  gpu.synchronize();
  for (auto _ : state) {
    gpu.loss_gradient_device(g.data());
    gpu.synchronize();
  }
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(BM_CudaLstmGradient)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CudaLstmHvp(benchmark::State& state) {
  if (skip_without_device(state)) return;
  const lstm_classifier<float> model(lstm_bench_cfg, 1);
  cuda::rnn_engine<lstm_cell> gpu(model);
  gpu.set_batch(lstm_batch(128, 28, 28, 10));
  const auto n = static_cast<std::size_t>(model.parameter_count());
  std::vector<float> hv_host(n, 0.01f);
  cuda::device_buffer<float> v, hv(n), g(n);
  v.upload(hv_host);
  gpu.hessian_vector_product_device(v.data(), hv.data(), g.data());
  gpu.synchronize();
  for (auto _ : state) {
    gpu.hessian_vector_product_device(v.data(), hv.data(), g.data());
    gpu.synchronize();
  }
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(BM_CudaLstmHvp)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
