// Distributed timings under mpirun (driven by benchmarks/dist/run, which alternates rank/thread
// layouts on the same machine): prints one line `<case> seconds=<s> bytes=<b> ranks=<P> threads=<T>`.
//   gmm_diag_1680k : seconds per EM iteration of the gmm_diag_1680k shape (1.68 M x 10, K = 37, diag),
//                    differential like benchmarks/compare: (fit of 1 + I iterations − fit of 1) / I,
//                    same initial parameters; bytes = payload bytes rank 0 sends per iteration.
//   abstraction_fmnist DIR : seconds of build_abstraction (PCA 10, diag GMM K = 37 to convergence in
//                    single-precision EM, states, counts, automaton + index) on the traces of
//                    benchmarks/compare's abstraction_fmnist case (DIR/hidden.npy, DIR/step_labels.npy:
//                    60,000 Fashion-MNIST sequences x 28 steps x 128); each rank reads only its sequences'
//                    rows; bytes = payload bytes rank 0 sends in the whole build.
//   influence_lstm : an influence query's two kernels on an LSTM(128) of 28-step, 28-feature sequences
//                    (Fashion-MNIST's shape; 16,384 sequences, random inputs and weights): seconds per
//                    Hessian-vector product of the sharded objective (one CG iteration; bytes = rank 0's
//                    payload per product) and seconds of the scoring pass (every sample's gradient
//                    against one s_test vector), medians of 3.
// Each rank generates only its own rows (row i from the random stream i), as a rank reads its shard.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "rnnabs/abstraction/model.hpp"
#include "rnnabs/influence/sharded.hpp"
#include "rnnabs/nn/rnn_classifier.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/io/npy.hpp"
#include "rnnabs/dist/mpi.hpp"
#include "rnnabs/stats/gmm.hpp"

namespace {

using namespace rnnabs;

/// Rows [b, e) of a mixture of 37 diagonal Gaussians in 10 dimensions.
matrix<double> mixture_rows(index_t b, index_t e, index_t d, index_t k) {
  matrix<double> X(e - b, d);
  parallel_for(chunk_count(e - b, 4096), [&](index_t c) {
    for (index_t i = b + c * 4096; i < std::min(e, b + (c + 1) * 4096); ++i) {
      rng g = rng::stream(17, static_cast<std::uint64_t>(i));
      const index_t comp = g.below(k);
      for (index_t a = 0; a < d; ++a)
        X(i - b, a) = 3.0 * std::sin(static_cast<double>(comp * (a + 1))) +
                      (0.5 + 0.1 * static_cast<double>(a)) * g.normal();
    }
  });
  return X;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void gmm_case(const dist::mpi_communicator& world, index_t iters, index_t repeats) {
  const index_t n = 1680000, d = 10, k = 37;
  const auto [b, e] = shard_rows(n, world.rank(), world.size());
  const matrix<double> X = mixture_rows(b, e, d, k);
  gaussian_mixture init({.n_components = k,
                         .covariance = covariance_type::diag,
                         .max_iter = 1,
                         .init = gmm_init::random_from_data,
                         .seed = 3});
  init.fit(X, world);
  const gmm_parameters p0 = init.parameters();
  auto fit = [&](index_t max_iter, std::uint64_t& bytes) {
    gaussian_mixture g({.n_components = k,
                        .covariance = covariance_type::diag,
                        .tol = 0,
                        .max_iter = max_iter,
                        .on_degenerate = degenerate_policy::keep});
    const std::uint64_t before = world.bytes_sent();
    const auto t0 = std::chrono::steady_clock::now();
    g.fit(X, p0, world);
    const double s = seconds_since(t0);
    bytes = world.bytes_sent() - before;
    return s;
  };
  std::uint64_t bb = 0, bf = 0;
  double t_base = 1e300, t_full = 1e300;
  fit(1, bb);  // warm-up
  for (index_t r = 0; r < repeats; ++r) {
    t_base = std::min(t_base, fit(1, bb));
    t_full = std::min(t_full, fit(1 + iters, bf));
  }
  // The slowest rank's time is the iteration's time.
  const std::vector<double> all = all_gather_value(communicator_ref(world),
                                                   (t_full - t_base) / static_cast<double>(iters));
  if (world.rank() == 0)
    std::printf("gmm_diag_1680k seconds=%.6f bytes=%.0f ranks=%d threads=%d\n",
                *std::max_element(all.begin(), all.end()), static_cast<double>(bf - bb) / static_cast<double>(iters),
                world.size(), max_threads());
}

void abstraction_case(const dist::mpi_communicator& world, const std::string& dir) {
  const index_t n = io::npy_rows(dir + "/step_labels.npy");
  // Equal shares of the sequences (any split works: the fit aligns the steps across ranks itself).
  const index_t b = n * world.rank() / world.size(), e = n * (world.rank() + 1) / world.size();
  const matrix<index_t> lab = io::load_npy_rows<index_t>(dir + "/step_labels.npy", b, e);
  const index_t T = lab.cols(), C = 10;
  const matrix<float> hid = io::load_npy_rows<float>(dir + "/hidden.npy", b * T, e * T);
  std::vector<matrix<float>> h;
  std::vector<index_vector> y;
  for (index_t i = 0; i < e - b; ++i) {
    h.emplace_back(hid.middleRows(i * T, T));
    y.emplace_back(lab.row(i).transpose());
  }
  const traces<float> tr = make_traces(std::move(h), std::move(y), C);
  const abstraction_options opt{.pca_components = 10,
                                .n_clusters = 37,
                                .tol = 1e-3,
                                .max_iter = 100,
                                .seed = 0,
                                .precision = em_precision::single_precision};
  const std::uint64_t before = world.bytes_sent();
  const auto t0 = std::chrono::steady_clock::now();
  const abstract_model m = build_abstraction(tr, opt, world);
  const double s = seconds_since(t0);
  const std::uint64_t bytes = world.bytes_sent() - before;
  const std::vector<double> all = all_gather_value(communicator_ref(world), s);
  if (world.rank() == 0)
    std::printf("abstraction_fmnist seconds=%.4f bytes=%llu ranks=%d threads=%d em_iterations=%ld transitions=%ld\n",
                *std::max_element(all.begin(), all.end()), static_cast<unsigned long long>(bytes), world.size(),
                max_threads(), static_cast<long>(m.abstraction.partitioner().n_iter()),
                static_cast<long>(m.automaton.n_transitions()));
}

void influence_case(const dist::mpi_communicator& world) {
  const index_t n = 16384, T = 28, chunk = 512;
  const auto [b, e] = shard_rows(n, world.rank(), world.size(), chunk);
  sequence_batch<float> local;
  local.labels.resize(e - b);
  for (index_t i = b; i < e; ++i) {
    rng g = rng::stream(23, static_cast<std::uint64_t>(i));
    matrix<float> x(T, 28);
    for (index_t k = 0; k < x.size(); ++k) x.data()[k] = static_cast<float>(g.uniform());
    local.features.push_back(std::move(x));
    local.labels(i - b) = static_cast<index_t>(g.below(10));
  }
  const lstm_classifier<float> model(rnn_config{.input_size = 28, .hidden_size = 128, .num_classes = 10}, 1);
  const batch_objective f(model, local, 1e-3);
  const sharded_objective train(f, world, {.chunk = chunk});
  const vector<float> w = model.parameters();
  vector<float> v(w.size());
  rng g(5);
  for (index_t i = 0; i < v.size(); ++i) v(i) = static_cast<float>(g.normal());
  std::vector<double> hvp, score;
  std::uint64_t bytes = 0;
  for (int r = 0; r < 3; ++r) {
    const std::uint64_t before = world.bytes_sent();
    auto t0 = std::chrono::steady_clock::now();
    const vector<float> hv = train.hessian_vector_product(w, v);
    hvp.push_back(seconds_since(t0));
    bytes = world.bytes_sent() - before;
    t0 = std::chrono::steady_clock::now();
    const matrix<double> s = gradient_products(f, w, matrix<double>(hv.cast<double>()));
    score.push_back(seconds_since(t0));
  }
  std::sort(hvp.begin(), hvp.end());
  std::sort(score.begin(), score.end());
  const std::vector<double> all_h = all_gather_value(communicator_ref(world), hvp[1]);
  const std::vector<double> all_s = all_gather_value(communicator_ref(world), score[1]);
  if (world.rank() == 0)
    std::printf("influence_lstm seconds=%.4f bytes=%llu ranks=%d threads=%d scoring=%.4f parameters=%ld steps=%ld\n",
                *std::max_element(all_h.begin(), all_h.end()), static_cast<unsigned long long>(bytes), world.size(),
                max_threads(), *std::max_element(all_s.begin(), all_s.end()), static_cast<long>(w.size()),
                static_cast<long>(n * T));
}

}  // namespace

int main(int argc, char** argv) {
  dist::mpi_session mpi(argc, argv);
  const dist::mpi_communicator world;
  const std::string what = argc > 1 ? argv[1] : "--help";
  try {
    if (what == "gmm_diag_1680k") {
      gmm_case(world, argc > 2 ? std::stol(argv[2]) : 5, argc > 3 ? std::stol(argv[3]) : 2);
    } else if (what == "influence_lstm") {
      influence_case(world);
    } else if (what == "abstraction_fmnist" && argc > 2) {
      abstraction_case(world, argv[2]);
    } else {
      if (world.rank() == 0)
        std::printf("usage: mpirun -np P bench_dist gmm_diag_1680k [iterations=5] [repeats=2]\n"
                    "       mpirun -np P bench_dist abstraction_fmnist DIR   (DIR: hidden.npy, step_labels.npy)\n"
                    "       mpirun -np P bench_dist influence_lstm\n");
      return what == "--help" ? 0 : 2;
    }
  } catch (const std::exception& err) {
    std::fprintf(stderr, "bench_dist: rank %d: %s\n", world.rank(), err.what());
    return 1;
  }
  return 0;
}
