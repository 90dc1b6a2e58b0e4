// abstraction dist-sweep — `abstraction sweep` with the Fashion-MNIST traces sharded across the ranks
// of `mpirun -np N abstraction dist-sweep` (any N; one process without mpirun):
//   1. rank 0 loads (or trains and caches) the LSTM, then the other ranks load it;
//   2. each rank profiles its own range of training and test sequences (sharded trace profiling);
//   3. the component sweep (BIC, stability, the SimNN probe), the proposed number of components and the
//      automaton at it, each fitted on all ranks' steps and samples (collective, bit-identical for any N).
// Rank 0 writes <out>/sweep.csv (values to 17 digits), automaton.npz and summary.txt: the same bytes
// for any number of ranks (timings and traffic go to stdout only).
#include <CLI/CLI.hpp>

#include <rnnabs/abstraction/fidelity.hpp>
#include <rnnabs/abstraction/model.hpp>

#include "common.hpp"
#include "../common/text.hpp"
#include "../common/world.hpp"

namespace examples::abstraction_dist_sweep {

int run(int argc, char** argv) {
  examples::world world(argc, argv);
  using namespace rnnabs;
  CLI::App app{"Component sweep and automaton on Fashion-MNIST traces sharded across MPI ranks"};
  examples::dist_job job;
  job.out = "results/abstraction_dist_sweep";
  index_t pca_components = 10, final_k = 0, max_iter = 100, simnn_iters = 500;
  std::vector<index_t> ks = {10, 16, 22, 28, 37, 43, 50};
  double tol = 1e-3, tolerance = 0.01;
  job.add_options(app);
  app.add_option("--pca", pca_components, "principal components kept");
  app.add_option("--k", ks, "numbers of GMM components to sweep")->delimiter(',');
  app.add_option("--final-k", final_k, "components of the saved automaton (0: the proposed number)");
  app.add_option("--tolerance", tolerance, "proposal rule: accuracy / stability slack from the best");
  app.add_option("--simnn-iters", simnn_iters, "Adam iterations of the SimNN probe (0: skip SimNN)");
  app.add_option("--max-iter", max_iter, "EM iterations at most");
  app.add_option("--tol", tol, "EM tolerance");
  CLI11_PARSE(app, argc, argv);
  const communicator_ref comm = world.comm();
  const std::uint64_t seed = job.seed;
  const auto t0 = std::chrono::steady_clock::now();
  const auto [train_set, test_set, m] = job.open(world);

  // This rank's sequences, in multiples of the model's batch chunk: each chunk is profiled as on one process.
  const auto my_traces = [&](const sequence_batch<float>& set) {
    const auto [b, e] = shard_rows(set.size(), world.rank(), world.size(), m.model.config().batch_chunk);
    std::vector<index_t> mine(static_cast<std::size_t>(e - b));
    std::iota(mine.begin(), mine.end(), b);
    return mine.empty() ? traces<float>{} : profile(m.model, subset(set, mine));  // a rank may hold none
  };
  const traces<float> local = my_traces(train_set), local_test = my_traces(test_set);
  world.say("traces    ", train_set.size(), " train / ", test_set.size(), " test sequences on ", world.size(),
            " rank(s), rank 0 profiled ", local.size(), " / ", local_test.size(), " (", examples::seconds_since(t0),
            " s)\n");

  component_sweep_options o{
      .pca_components = pca_components, .n_clusters = ks, .tol = tol, .max_iter = max_iter, .seed = seed};
  o.run_simnn = simnn_iters > 0;
  o.simnn = {.iterations = simnn_iters, .seed = seed};
  examples::csv_table csv({"n", "bic", "stability_mean", "stability_weighted", "stability_min", "stability_max",
                           "empty_states", "simnn_loss", "simnn_train_acc", "simnn_test_acc", "gmm_iters",
                           "converged"});
  world.say("     n  BIC  stability (weighted)  SimNN train / test  iterations  seconds\n");
  const auto rows = component_sweep(local, local_test, o, comm, [&](const component_sweep_row& r) {
    world.say(r.n_clusters, "  ", exact(r.bic), "  ", r.stability.mean, " (", r.stability.weighted_mean, ")  ",
              r.simnn_train_accuracy, " / ", r.simnn_test_accuracy, "  ", r.n_iter, "  ", r.seconds, "\n");
    csv.add(r.n_clusters, exact(r.bic), exact(r.stability.mean), exact(r.stability.weighted_mean),
            exact(r.stability.min), exact(r.stability.max), r.stability.empty_states, exact(r.simnn_loss),
            exact(r.simnn_train_accuracy), exact(r.simnn_test_accuracy), r.n_iter, r.converged ? 1 : 0);
  });
  const index_t proposed = propose_components(rows, tolerance);
  const index_t k = final_k > 0 ? final_k : proposed;

  // The automaton at k over every rank's sequences, with global sample ids.
  const auto built = build_abstraction(
      local, {.pca_components = pca_components, .n_clusters = k, .tol = tol, .max_iter = max_iter, .seed = seed}, comm);
  const auto st = built.abstraction.stability();
  world.say("automaton n = ", k, ": ", built.automaton.n_transitions(), " transitions over ",
            built.automaton.total_count(), " steps, stability ", st.mean, " (fit ", built.fit_seconds, " s, automaton ",
            built.automaton_seconds, " s)\n");
  if (world.root()) {
    const examples::fs::path dir(job.out);
    examples::fs::create_directories(dir);
    csv.save(dir / "sweep.csv");
    built.automaton.save(dir / "automaton.npz");
    io::atomic_write_bytes(
        dir / "summary.txt",
        examples::concat(
            "abstraction dist-sweep\nmodel: LSTM(", m.model.config().hidden_size, ")",
            "\ntrain sequences: ", train_set.size(), ", test: ", test_set.size(), "\nPCA components: ", pca_components,
            "\nswept n: ", ks.size(), " values (sweep.csv)\nproposed n: ", proposed, " (tolerance ", tolerance,
            ")\nautomaton n = ", k, ": ", built.automaton.n_transitions(), " transitions, ", built.automaton.n_edges(),
            " token-free edges, stability ", exact(st.mean), " (weighted ", exact(st.weighted_mean), ")\n"));
  }
  const std::vector<std::size_t> bytes = all_gather_value(comm, world.bytes_sent());
  world.say("ranks     ", world.size(), ", bytes sent by rank 0: ", bytes.front(), ", wall ",
            examples::seconds_since(t0), " s\nresults   ", job.out, "\n");
  return 0;
}

}  // namespace examples::abstraction_dist_sweep
