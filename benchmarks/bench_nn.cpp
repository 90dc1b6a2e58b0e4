// Microbenchmarks of the recurrent models at the shapes of the side-by-side cases (cases_nn.py):
// forward, forward + backward (the training gradient), per-sample gradients and the exact
// Hessian-vector product, for LSTM and GRU (B sequences of 28 x 28, H = 128, 10 classes).
// items/s = sequences per second; flop_rate counts the GEMM flops (docs/benchmarks.md, "RNN floor").
#include <benchmark/benchmark.h>

#include <rnnabs/nn.hpp>

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

/// GEMM flops of one forward pass per sequence: T steps x 2 G H (I + H) (+ the head).
double forward_flops(index_t gates) { return 28.0 * 2 * static_cast<double>(gates) * 128 * (28 + 128) + 2.0 * 128 * 10; }

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
  // forward 1x, backward 2x the forward's GEMM flops; the HVP carries tangents: ~3x each.
  const double mult = what == 0 ? 1 : what == 3 ? 9 : 3;
  st.SetItemsProcessed(st.iterations() * n);
  st.counters["flop_rate"] = benchmark::Counter(mult * forward_flops(Cell::gates) * static_cast<double>(n) *
                                                    static_cast<double>(st.iterations()),
                                                benchmark::Counter::kIsRate);
}

void lstm_forward(benchmark::State& st) { run<lstm_cell>(st, 0); }
void lstm_train_gradient(benchmark::State& st) { run<lstm_cell>(st, 1); }
void lstm_per_sample_gradients(benchmark::State& st) { run<lstm_cell>(st, 2); }
void lstm_hvp(benchmark::State& st) { run<lstm_cell>(st, 3); }
void gru_forward(benchmark::State& st) { run<gru_cell>(st, 0); }
void gru_train_gradient(benchmark::State& st) { run<gru_cell>(st, 1); }

BENCHMARK(lstm_forward)->Arg(128)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(lstm_train_gradient)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(lstm_per_sample_gradients)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(lstm_hvp)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(gru_forward)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(gru_train_gradient)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
