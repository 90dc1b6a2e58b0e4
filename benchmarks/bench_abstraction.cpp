// Microbenchmarks of the automaton: building the transitions + postings index at RNNRepair's MNIST
// scale (60,000 sequences x 28 steps, 38 states, 10 labels; target <= 1 s), with a token vocabulary,
// incremental add/remove, and the lookups.
#include <benchmark/benchmark.h>

#include <rnnabs/abstraction/automaton.hpp>
#include <rnnabs/core/rng.hpp>

namespace {

using namespace rnnabs;

struct paths {
  std::vector<index_vector> states, labels, tokens;
};

// States follow a sticky random walk (as abstract traces do), labels mostly follow the state.
paths make(index_t n, index_t T, index_t m, index_t C, index_t V, std::uint64_t seed) {
  rng g(seed);
  paths p;
  for (index_t i = 0; i < n; ++i) {
    index_vector s(T), l(T), w(T);
    index_t cur = 1 + static_cast<index_t>(g.below(static_cast<std::uint64_t>(m - 1)));
    for (index_t t = 0; t < T; ++t) {
      if (g.uniform() < 0.3) cur = 1 + static_cast<index_t>(g.below(static_cast<std::uint64_t>(m - 1)));
      s(t) = cur;
      l(t) = g.uniform() < 0.9 ? cur % C : static_cast<index_t>(g.below(static_cast<std::uint64_t>(C)));
      w(t) = static_cast<index_t>(g.below(static_cast<std::uint64_t>(V)));
    }
    p.states.push_back(s);
    p.labels.push_back(l);
    if (V > 1) p.tokens.push_back(w);
  }
  return p;
}

void bm_build_mnist(benchmark::State& st) {
  const auto p = make(60000, 28, 38, 10, 1, 1);
  for (auto _ : st) {
    auto a = automaton::build(p.states, p.labels, p.tokens, 38, 10);
    benchmark::DoNotOptimize(a.n_transitions());
  }
  st.SetItemsProcessed(st.iterations() * 60000 * 28);
  st.counters["steps"] = 60000.0 * 28;
}
BENCHMARK(bm_build_mnist)->Unit(benchmark::kMillisecond);

void bm_build_text(benchmark::State& st) {  // toxic-like: 2 labels, 25k tokens, 38 states
  const auto p = make(20000, 40, 38, 2, 25000, 2);
  for (auto _ : st) {
    auto a = automaton::build(p.states, p.labels, p.tokens, 38, 2, 25000);
    benchmark::DoNotOptimize(a.n_transitions());
  }
  st.SetItemsProcessed(st.iterations() * 20000 * 40);
}
BENCHMARK(bm_build_text)->Unit(benchmark::kMillisecond);

void bm_add_remove(benchmark::State& st) {
  const auto p = make(60000, 28, 38, 10, 1, 3);
  const auto q = make(1000, 28, 38, 10, 1, 4);
  const auto base = automaton::build(p.states, p.labels, {}, 38, 10);
  std::vector<index_t> gone;
  for (index_t i = 0; i < 1000; ++i) gone.push_back(i * 37);
  for (auto _ : st) {
    auto a = base;
    a.add(q.states, q.labels);
    a.remove(gone);
    benchmark::DoNotOptimize(a.total_count());
  }
}
BENCHMARK(bm_add_remove)->Unit(benchmark::kMillisecond);

void bm_queries(benchmark::State& st) {
  const auto p = make(60000, 28, 38, 10, 1, 5);
  const auto a = automaton::build(p.states, p.labels, {}, 38, 10);
  rng g(9);
  index_t sink = 0;
  for (auto _ : st) {
    const index_t k = static_cast<index_t>(g.below(static_cast<std::uint64_t>(a.n_edges())));
    const edge e = a.edge_at(k);
    sink += a.count(e) + static_cast<index_t>(a.postings(e).size());
    sink += static_cast<index_t>(*a.edge_probability(e) * 100);
  }
  benchmark::DoNotOptimize(sink);
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(bm_queries);

}  // namespace

BENCHMARK_MAIN();
