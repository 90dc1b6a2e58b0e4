// PCA and k-means microbenchmarks. items/s = rows per second; the covariance benchmarks also report
// GFLOP/s of the SYRK (N·D·(D+1) flops), whose rate bounds the default PCA fit on tall data.
//
//   bench_pca --benchmark_filter=pca_fit/1680000   # the pca_1680k shape (float32, 1.68M x 128 -> 10)
#include <benchmark/benchmark.h>

#include <map>
#include <tuple>

#include <rnnabs/core/rng.hpp>
#include <rnnabs/stats/kmeans.hpp>
#include <rnnabs/stats/pca.hpp>

namespace {

using namespace rnnabs;

/// Low-rank traces + noise (rank 16, geometric spectrum), like benchmarks/compare/cases_pca.py; cached.
template <class T>
const matrix<T>& traces(index_t n, index_t d) {
  static std::map<std::pair<index_t, index_t>, matrix<T>> cache;
  auto it = cache.find({n, d});
  if (it != cache.end()) return it->second;
  const index_t r = 16;
  rng g(42);
  matrix<T> w(r, d), z(n, r);
  for (index_t i = 0; i < r; ++i)
    for (index_t j = 0; j < d; ++j) w(i, j) = static_cast<T>(g.normal() * std::pow(0.8, static_cast<double>(i)));
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < r; ++j) z(i, j) = static_cast<T>(g.normal());
  matrix<T> x = z * w;
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < d; ++j) x(i, j) += static_cast<T>(0.05 * g.normal() + 0.3);
  return cache.emplace(std::pair{n, d}, std::move(x)).first->second;
}

void set_syrk_counters(benchmark::State& st, index_t n, index_t d) {
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * n);
  st.counters["GFLOP/s"] = benchmark::Counter(static_cast<double>(n) * static_cast<double>(d * (d + 1)) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

// The default fit: blocked covariance + eigh, 10 components.
template <class T>
void pca_fit(benchmark::State& st) {
  const index_t n = st.range(0), d = st.range(1);
  const matrix<T>& x = traces<T>(n, d);
  for (auto _ : st) {
    pca p(10);
    p.fit(x);
    benchmark::DoNotOptimize(p.components().data());
  }
  set_syrk_counters(st, n, d);
}
BENCHMARK(pca_fit<float>)->Args({200000, 128})->Args({1680000, 128})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(pca_fit<double>)->Args({200000, 128})->Unit(benchmark::kMillisecond)->UseRealTime();

// The covariance kernel alone (mean + scatter, double accumulation).
template <class T>
void pca_scatter(benchmark::State& st) {
  const index_t n = st.range(0), d = st.range(1);
  const matrix<T>& x = traces<T>(n, d);
  for (auto _ : st) {
    const auto s = detail::row_scatter<T>(x);
    benchmark::DoNotOptimize(s.scatter.data());
  }
  set_syrk_counters(st, n, d);
}
BENCHMARK(pca_scatter<float>)->Args({200000, 128})->Args({200000, 32})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(pca_scatter<double>)->Args({200000, 128})->Unit(benchmark::kMillisecond)->UseRealTime();

template <class T>
void pca_transform(benchmark::State& st) {
  const index_t n = st.range(0), d = st.range(1);
  const matrix<T>& x = traces<T>(n, d);
  pca p(10);
  p.fit(x);
  for (auto _ : st) {
    const matrix<T> z = p.transform(x);
    benchmark::DoNotOptimize(z.data());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * n);
}
BENCHMARK(pca_transform<float>)->Args({200000, 128})->Unit(benchmark::kMillisecond)->UseRealTime();

// Wide data: the randomized solver's case.
void pca_fit_randomized(benchmark::State& st) {
  const index_t n = st.range(0), d = st.range(1);
  const matrix<float>& x = traces<float>(n, d);
  for (auto _ : st) {
    pca p({.n_components = 10, .solver = pca_solver::randomized});
    p.fit(x);
    benchmark::DoNotOptimize(p.components().data());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * n);
}
BENCHMARK(pca_fit_randomized)->Args({2000, 4096})->Unit(benchmark::kMillisecond)->UseRealTime();

// One Lloyd iteration (assignment + centre update) at the RNNRepair shape after PCA, D = 10, K = 37;
// the run also relabels with the final centres and sums the inertia (two more light passes).
void kmeans_lloyd_iteration(benchmark::State& st) {
  const index_t n = st.range(0), k = st.range(1);
  const matrix<float>& x = traces<float>(n, 10);
  rng g(1);
  const matrix<double> c0 = kmeans_plusplus_init(x, k, g);
  for (auto _ : st) {
    kmeans km({.n_clusters = k, .max_iter = 1, .tol = 0.0});
    km.fit_from_centres(x, c0);
    benchmark::DoNotOptimize(km.centers().data());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * n);
}
BENCHMARK(kmeans_lloyd_iteration)
    ->Args({200000, 37})
    ->Args({1680000, 37})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Lloyd to convergence (sklearn's rule) from k-means++ centres, plain (arg 2 = 0) or with Hamerly's
// bounds (1): the same labels and centres, bit for bit; the counter gives the iterations.
void kmeans_lloyd_converged(benchmark::State& st) {
  const index_t n = st.range(0), k = st.range(1);
  const bool bounds = st.range(2) != 0;
  const matrix<float>& x = traces<float>(n, 10);
  const matrix_cref<float> xr(x);
  rng g(1);
  const matrix<double> c0 = kmeans_plusplus_init(x, k, g);
  index_t iters = 0;
  for (auto _ : st) {
    const auto r = detail::lloyd<float>(xr, vector<double>(), c0, 300, 1e-4, bounds);
    iters = r.n_iter;
    benchmark::DoNotOptimize(r.centers.data());
  }
  st.counters["lloyd_iterations"] = static_cast<double>(iters);
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * n);
}
BENCHMARK(kmeans_lloyd_converged)
    ->Args({1680000, 37, 0})
    ->Args({1680000, 37, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

void kmeans_plusplus_seeding(benchmark::State& st) {
  const index_t n = st.range(0), k = st.range(1);
  const matrix<float>& x = traces<float>(n, 10);
  for (auto _ : st) {
    rng g(1);
    const index_vector idx = kmeans_plusplus_indices(x, k, g);
    benchmark::DoNotOptimize(idx.data());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * n);
}
BENCHMARK(kmeans_plusplus_seeding)->Args({200000, 37})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
