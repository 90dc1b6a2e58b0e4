// Microbenchmarks of the explain/ layer: the exact 1-D TV prox (linear time: items/s should stay flat
// from n = 10 to 10⁶), the fused-lasso solve of a LEMNA-shaped problem, and one whole LEMNA explanation
// (500 perturbed samples + the original, 41 window cells, a cheap synthetic black box) for K = 1
// (the released code's configuration) and the default mixture (K = 3) and the paper's K = 6.
#include <benchmark/benchmark.h>

#include <cmath>
#include <rnnabs/explain/lemna.hpp>
#include <rnnabs/explain/tv_prox.hpp>

namespace {

using namespace rnnabs;

void BM_tv_prox(benchmark::State& st) {
  const auto n = static_cast<index_t>(st.range(0));
  rng g(1);
  vector<double> y(n), x(n);
  double level = 0;
  for (index_t i = 0; i < n; ++i) {
    if (g.uniform() < 0.05) level = 3 * g.normal();
    y(i) = level + g.normal();
  }
  tv_workspace ws;
  for (auto _ : st) {
    tv_prox(y.data(), n, 1.0, x.data(), ws);
    benchmark::DoNotOptimize(x.data());
  }
  st.SetItemsProcessed(st.iterations() * n);
  st.SetComplexityN(n);
}
BENCHMARK(BM_tv_prox)->RangeMultiplier(10)->Range(10, 1000000)->Complexity(benchmark::oN);

index_vector window_sequence() {
  rng g(7);
  index_vector s(200);
  for (auto& v : s) v = 1 + static_cast<index_t>(g.below(256));
  return s;
}

// A cheap per-position black box: logistic in a few cells around the target.
struct toy_box {
  index_t t;
  vector<double> operator()(const token_batch& b) const {
    vector<double> s(static_cast<index_t>(b.size()));
    for (std::size_t i = 0; i < b.size(); ++i) {
      const auto& q = b[i];
      const double z = -2.0 + 3.0 * (q(t) != 0) + 2.0 * (q(t - 1) != 0) + 0.7 * (q(t + 3) != 0) +
                       1.5 * ((q(t - 5) != 0) && (q(t + 5) != 0));
      s(static_cast<index_t>(i)) = 1.0 / (1.0 + std::exp(-z));
    }
    return s;
  }
};

void BM_fused_lasso_lemna_shaped(benchmark::State& st) {
  const bool raw = st.range(0) != 0;
  const index_vector seq = window_sequence();
  const auto s = perturb_window(seq, 100, {.half_width = 20, .n_samples = 500, .seed = 1});
  const vector<double> y = score_batch(toy_box{100}, s.inputs, 501, "bench");
  const matrix<double> X = s.design(raw ? design_mode::raw_values : design_mode::mask);
  const double lam = std::sqrt(501 * std::log(41.0));
  for (auto _ : st) {
    auto f = fused_lasso(X, y, {.lambda_tv = lam, .fit_intercept = !raw});
    benchmark::DoNotOptimize(f.coef.data());
  }
  st.SetLabel(raw ? "raw values, no intercept (released)" : "mask + intercept");
}
BENCHMARK(BM_fused_lasso_lemna_shaped)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_lemna_explanation(benchmark::State& st) {
  const auto K = static_cast<index_t>(st.range(0));
  const index_vector seq = window_sequence();
  const lemna ex({.mixture = {.n_components = K}, .n_samples = 500, .half_width = 20, .seed = 3});
  index_t iters = 0;
  for (auto _ : st) {
    const auto e = ex.explain_sequence(toy_box{100}, seq, 100);
    iters = e.model.iterations;
    benchmark::DoNotOptimize(e.ranking.data());
  }
  st.counters["em_iterations"] = static_cast<double>(iters);
  st.SetLabel("500 samples x 41 cells, mask design");
}
BENCHMARK(BM_lemna_explanation)->Arg(1)->Arg(3)->Arg(6)->Unit(benchmark::kMillisecond);

}  // namespace
BENCHMARK_MAIN();
