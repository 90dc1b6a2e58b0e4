// Microbenchmarks of the recurrent models at the shapes of the side-by-side cases (cases_nn.py):
// forward, forward + backward (the training gradient), per-sample gradients and the exact
// Hessian-vector product, for LSTM and GRU (B sequences of 28 x 28, H = 128, 10 classes).
// items/s = sequences per second; flop_rate counts the GEMM flops (docs/benchmarks.md, "RNN floor").
// repair_candidate_scoring: what sample-level repair does per failure — 366 candidate images (RNNRepair's
// rotations and translations of one source) to abstract traces in one batched pass: forward with
// hidden states, PCA, GMM states, per-step features — next to lstm_forward/366, the plain forward.
#include <benchmark/benchmark.h>

#include <rnnabs/abstraction/model.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/repair/sample_generation.hpp>

namespace {

using namespace rnnabs;

sequence_batch<float> batch(index_t n, std::uint64_t seed) {
  rng g(seed);
  sequence_batch<float> b;
  b.labels.resize(n);
  for (index_t i = 0; i < n; ++i) {
    matrix<float> x(28, 28);
    for (index_t k = 0; k < x.size(); ++k) x.data()[k] = static_cast<float>(g.uniform());
    b.features.push_back(x);
    b.labels(i) = static_cast<index_t>(g.below(10));
  }
  return b;
}

/// GEMM flops per sequence (T = 28 steps, I = 28, H = 128, head ignored) of the products each
/// evaluation computes, counted in units of T·2·G·H·(inner dimension):
///   forward  x·W_ihᵀ, h·W_hhᵀ                                        -> I + H
///   gradient the forward, then dh·W_hh, dᵀ·x, dᵀ·h (no input gradient) -> 2I + 3H
///   HVP      value and tangent forward (x·W_ihᵀ, x·V_ihᵀ, h·W_hhᵀ, ḣ·W_hhᵀ, h·V_hhᵀ), backward (dh·W_hh,
///            ḋh·W_hh, dh·V_hh), contractions (ḋᵀ·x, ḋᵀ·h, dᵀ·ḣ)              -> 3I + 8H
double gemm_flops(index_t gates, int what) {
  const double unit = 28.0 * 2 * static_cast<double>(gates) * 128;
  return unit * (what == 0 ? 28 + 128 : what == 3 ? 3 * 28 + 8 * 128 : 2 * 28 + 3 * 128);
}

template <class Cell>
void run(benchmark::State& st, int what) {
  const index_t n = st.range(0);
  rnn_classifier<Cell> m(rnn_config{.input_size = 28, .hidden_size = 128, .num_classes = 10}, 1);
  const auto b = batch(n, 2);
  vector<float> v = vector<float>::Ones(m.parameter_count());
  for (auto _ : st) {
    if (what == 0) benchmark::DoNotOptimize(m.forward(b).logits.data());
    if (what == 1) benchmark::DoNotOptimize(m.train_gradient(b, 0).data());
    if (what == 2) benchmark::DoNotOptimize(m.per_sample_gradients(b).data());
    if (what == 3) benchmark::DoNotOptimize(m.hessian_vector_product(b, v).data());
  }
  st.SetItemsProcessed(st.iterations() * n);
  st.counters["flop_rate"] = benchmark::Counter(
      gemm_flops(Cell::gates, what) * static_cast<double>(n) * static_cast<double>(st.iterations()),
      benchmark::Counter::kIsRate);
}

void lstm_forward(benchmark::State& st) { run<lstm_cell>(st, 0); }
void lstm_train_gradient(benchmark::State& st) { run<lstm_cell>(st, 1); }
void lstm_per_sample_gradients(benchmark::State& st) { run<lstm_cell>(st, 2); }
void lstm_hvp(benchmark::State& st) { run<lstm_cell>(st, 3); }
void gru_forward(benchmark::State& st) { run<gru_cell>(st, 0); }
void gru_train_gradient(benchmark::State& st) { run<gru_cell>(st, 1); }

void repair_candidate_scoring(benchmark::State& st) {
  const lstm_classifier<float> m(rnn_config{.input_size = 28, .hidden_size = 128, .num_classes = 10}, 1);
  auto abs = make_abstraction({.pca_components = 10, .n_clusters = 7, .seed = 3});
  abs.fit(profile(m, batch(2000, 4)));
  sequence_batch<float> cands;
  for (const auto& c : make_candidates(batch(1, 5).features[0], candidate_options{})) cands.features.push_back(c.image);
  for (auto _ : st) benchmark::DoNotOptimize(batch_abstract_traces(m, abs, cands).data());
  st.SetItemsProcessed(st.iterations() * cands.size());
}

BENCHMARK(repair_candidate_scoring)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(lstm_forward)->Arg(128)->Arg(366)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(lstm_train_gradient)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(lstm_per_sample_gradients)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(lstm_hvp)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(gru_forward)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(gru_train_gradient)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
