// Microbenchmarks of the influence kernels for RNNRepair's binary Fashion-MNIST LSTM (torch_lstm_bin:
// LSTM(28 -> 100), dense 100 -> 2, softmax-then-BCE loss; 52,202 parameters), on real-shaped random
// rows: per-sample gradients, the exact Hessian-vector product, one conjugate-gradient iteration
// (one HVP on a Hessian subsample plus the vector updates), and the batched gradient dot products of
// TracIn / Koh & Liang in GEMM form (a block of training gradients against 20 test vectors); and the
// serial merge of a distributed fold. items/s = sequences (or training samples scored, or merges) per
// second.
#include <benchmark/benchmark.h>

#include <rnnabs/influence.hpp>
#include <rnnabs/nn.hpp>

namespace {

using namespace rnnabs;

using model_t = rnn_classifier<lstm_cell, float>;

sequence_batch<float> rows(index_t n, std::uint64_t seed) {
  rng g(seed);
  sequence_batch<float> b;
  b.labels.resize(n);
  for (index_t i = 0; i < n; ++i) {
    matrix<float> x(28, 28);
    for (index_t k = 0; k < x.size(); ++k) x.data()[k] = static_cast<float>(g.uniform());
    b.features.push_back(x);
    b.labels(i) = static_cast<index_t>(g.below(2));
  }
  return b;
}

const model_t& binary_lstm() {
  static const model_t m(
      rnn_config{.input_size = 28, .hidden_size = 100, .num_classes = 2, .loss = loss_kind::softmax_bce}, 1);
  return m;
}

void per_sample_gradients(benchmark::State& st) {
  const auto b = rows(st.range(0), 2);
  for (auto _ : st) benchmark::DoNotOptimize(binary_lstm().per_sample_gradients(b).data());
  st.SetItemsProcessed(st.iterations() * st.range(0));
}

void hessian_vector_product(benchmark::State& st) {
  const auto b = rows(st.range(0), 3);
  const vector<float> v = vector<float>::Ones(binary_lstm().parameter_count());
  for (auto _ : st) benchmark::DoNotOptimize(binary_lstm().hessian_vector_product(b, v).data());
  st.SetItemsProcessed(st.iterations() * st.range(0));
}

void cg_iteration(benchmark::State& st) {
  const auto b = rows(st.range(0), 4);
  const batch_objective f(binary_lstm(), b);
  const vector<float> w = binary_lstm().parameters();
  const matrix<double> u = vector<double>::Ones(f.parameter_count());
  for (auto _ : st) {
    cg_ihvp s(f, w, {.damping = 0.01, .tol = 1e-30, .max_iter = 1});
    benchmark::DoNotOptimize(s.solve(u).data());
  }
  st.SetItemsProcessed(st.iterations() * st.range(0));
}

void gradient_dots(benchmark::State& st) {
  // A block of 256 training gradients (as one block of gradient_products holds) against 20 vectors.
  const index_t p = binary_lstm().parameter_count(), m = 20;
  const matrix<float> g = binary_lstm().per_sample_gradients(rows(256, 5));
  matrix<double> v(p, m);
  rng r(6);
  for (index_t i = 0; i < v.size(); ++i) v.data()[i] = r.normal();
  const matrix<float> vf = v.cast<float>();
  matrix<double> out(256, m);
  for (auto _ : st) {
    detail::block_products(g, v, vf, out);  // float GEMM slices, summed in double
    benchmark::DoNotOptimize(out.data());
  }
  st.SetItemsProcessed(st.iterations() * 256);
  st.counters["flop_rate"] = benchmark::Counter(
      2.0 * 256 * static_cast<double>(p) * static_cast<double>(m) * static_cast<double>(st.iterations()),
      benchmark::Counter::kIsRate);
}

void gradient_products_all(benchmark::State& st) {
  // The whole scoring pass: per-sample gradients of n training samples, each against 20 vectors.
  const auto b = rows(st.range(0), 7);
  const batch_objective f(binary_lstm(), b);
  const vector<float> w = binary_lstm().parameters();
  matrix<double> v(f.parameter_count(), 20);
  rng r(8);
  for (index_t i = 0; i < v.size(); ++i) v.data()[i] = r.normal();
  for (auto _ : st) benchmark::DoNotOptimize(gradient_products(f, w, v).data());
  st.SetItemsProcessed(st.iterations() * st.range(0));
}

void fold_merge(benchmark::State& st) {
  // The serial part of a distributed fold (core/communicator.hpp): adding held partials of n doubles
  // into the running total one after another, as the rank the total visits does. 64 partials (more
  // than the caches hold at n = 82,186: an LSTM(128)'s HVP; n = 778: K = 37 diagonal EM statistics).
  const index_t n = st.range(0), parts = 64;
  std::vector<vector<double>> held;
  rng r(9);
  for (index_t k = 0; k < parts; ++k) {
    held.emplace_back(n);
    for (index_t i = 0; i < n; ++i) held.back()(i) = r.normal();
  }
  vector<double> total = vector<double>::Zero(n);
  for (auto _ : st) {
    for (const auto& p : held) total += p;
    benchmark::DoNotOptimize(total.data());
  }
  st.SetItemsProcessed(st.iterations() * parts);  // items/s = merges per second
}

BENCHMARK(fold_merge)->Arg(778)->Arg(82186)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(per_sample_gradients)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(hessian_vector_product)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(cg_iteration)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(gradient_dots)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(gradient_products_all)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
