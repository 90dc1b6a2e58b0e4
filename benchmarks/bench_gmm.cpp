// Microbenchmarks of the streaming GMM-EM kernels: E-step, M-step accumulation, and one whole EM
// iteration (fused E+M pass + M-step algebra), at the shapes of the side-by-side cases.
// items/s = points processed per second; the counter flop_rate uses the flop counts in docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <rnnabs/stats/gmm.hpp>

namespace {

using namespace rnnabs;

matrix<double> blobs(index_t n, index_t d, index_t k, std::uint64_t seed) {
  rng g(seed);
  matrix<double> c(k, d), X(n, d);
  for (index_t j = 0; j < k; ++j)
    for (index_t a = 0; a < d; ++a) c(j, a) = 4.0 * g.normal();
  for (index_t i = 0; i < n; ++i) {
    const auto j = static_cast<index_t>(g.below(static_cast<std::uint64_t>(k)));
    for (index_t a = 0; a < d; ++a) X(i, a) = c(j, a) + g.normal();
  }
  return X;
}

struct setup {
  detail::packed_points P;
  gaussian_mixture g;
  detail::gmm_kernel_model model;
  setup(index_t n, index_t d, index_t k, covariance_type c) {
    const matrix<double> X = blobs(n, d, k, 1);
    P = detail::pack_points(X, nullptr, "bench");
    g = gaussian_mixture({.n_components = k, .covariance = c, .max_iter = 2, .init = gmm_init::random_from_data});
    g.fit(X);
    model = detail::kernel_model(g.weights(), g.means(), g.precisions_cholesky(), c);
  }
};

// Flops per (point, component): see docs/benchmarks.md ("GMM floor").
double flops_per_pk(index_t d, bool full) {
  const auto D = static_cast<double>(d);
  return full ? (D * (D + 1) + 2 * D) + (D * (D + 1) + 3 * D) : 3 * D + 4 * D;
}

void run(benchmark::State& st, covariance_type c, int what) {
  const index_t n = st.range(0), d = st.range(1), k = st.range(2);
  setup s(n, d, k, c);
  const std::vector<unsigned char> no_force(static_cast<std::size_t>(k), 0);
  for (auto _ : st) {
    if (what == 0) {  // E-step: log-probabilities + log-sum-exp + responsibilities
      double acc = 0;
      detail::e_pass(s.P, s.model, [&](index_t, double lse, const double*) { acc += lse; });
      benchmark::DoNotOptimize(acc);
    } else if (what == 1) {  // M-step accumulation over fixed responsibilities (one tile's, reused)
      const detail::diag_split sp = s.model.full ? detail::diag_split{}
                                                 : detail::split_diag_components(s.P, s.model, no_force);
      detail::gmm_stats total = chunked_reduce(
          s.P.n_tiles, detail::gmm_chunk_tiles, detail::gmm_stats(k, d, s.model.full),
          [&](index_t tb, index_t te, detail::gmm_stats& acc) {
            detail::gmm_scratch sc(k, d);
            detail::tile_log_prob(s.model, s.P.tile(tb), sc);
            detail::tile_normalize(k, s.P.weights(tb), sc);
            detail::basic_gmm_partial<double> part(acc);
            for (index_t t = tb; t < te; ++t) {
              if (s.model.full) detail::tile_accumulate(s.model, s.P.tile(t), sc, part);
              else  // the form em_pass uses: raw moments where they cancel little
                detail::tile_accumulate_split(s.model, s.P, s.P.tile(t), sp, sc, part);
            }
            part.flush();
          },
          [](detail::gmm_stats& a, const detail::gmm_stats& b) { a.merge(b); });
      benchmark::DoNotOptimize(total.nk.data());
    } else {  // one EM iteration: fused pass (2: double, 3: float) + M-step algebra + precision factors
      const auto stt = detail::em_pass(s.P, s.model,
                                       what == 3 ? em_precision::single_precision : em_precision::double_precision);
      auto p = detail::m_step(stt, s.g.means(), c, 1e-6);
      std::vector<index_t> bad;
      auto pc = detail::precision_cholesky(p.covariances, c, k, d, bad);
      benchmark::DoNotOptimize(pc.data());
    }
  }
  st.SetItemsProcessed(st.iterations() * n);
  const bool full = c == covariance_type::full || c == covariance_type::tied;
  st.counters["flop_rate"] = benchmark::Counter(
      static_cast<double>(st.iterations()) * static_cast<double>(n * k) * flops_per_pk(d, full),
      benchmark::Counter::kIsRate);
}

#define RNNABS_GMM_BENCH(name, cov, what)                 \
  void name(benchmark::State& st) { run(st, cov, what); } \
  BENCHMARK(name)->Args({200000, 10, 32})->Args({1680000, 10, 37})->Unit(benchmark::kMillisecond)->UseRealTime()

RNNABS_GMM_BENCH(BM_gmm_estep_diag, covariance_type::diag, 0);
RNNABS_GMM_BENCH(BM_gmm_mstep_diag, covariance_type::diag, 1);
RNNABS_GMM_BENCH(BM_gmm_em_iteration_diag, covariance_type::diag, 2);
RNNABS_GMM_BENCH(BM_gmm_em_iteration_diag_float, covariance_type::diag, 3);
RNNABS_GMM_BENCH(BM_gmm_estep_full, covariance_type::full, 0);
RNNABS_GMM_BENCH(BM_gmm_mstep_full, covariance_type::full, 1);
RNNABS_GMM_BENCH(BM_gmm_em_iteration_full, covariance_type::full, 2);
RNNABS_GMM_BENCH(BM_gmm_em_iteration_full_float, covariance_type::full, 3);

}  // namespace

BENCHMARK_MAIN();
