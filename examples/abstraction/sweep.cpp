// abstraction sweep — RNNRepair's RQ1 experiments on the Fashion-MNIST LSTM: PCA of every hidden
// state, a sweep over the number of GMM components recording BIC, stability (state purity) and the
// SimNN probe's train/test accuracy, the refinement figure, a proposed number of components (the rule
// of rnnabs::propose_components), and the automaton at that number with its training-sample index.
//
// Writes <out>/sweep.csv, refinement.png (+ .gp), automaton.npz (rnnabs archive), automaton.gv,
// automaton.json, summary.txt.
#include <CLI/CLI.hpp>

#include <rnnabs/abstraction/export.hpp>
#include <rnnabs/abstraction/fidelity.hpp>

#include "common.hpp"
#include "../common/text.hpp"

namespace examples::abstraction_sweep {

int run(int argc, char** argv) {
  CLI::App app{"Abstraction of the Fashion-MNIST LSTM: component sweep (BIC, stability, SimNN) and automaton"};
  examples::trace_job job{.out = "results/abstraction_sweep"};
  rnnabs::component_sweep_options o;
  o.n_clusters = {10, 16, 22, 28, 37, 43, 50};
  rnnabs::index_t final_k = 0, simnn_iters = 500;
  double tolerance = 0.01;
  job.add_options(app);
  app.add_option("--pca", o.pca_components, "principal components kept (k)");
  app.add_option("--k", o.n_clusters, "numbers of GMM components to sweep")->delimiter(',');
  app.add_option("--final-k", final_k, "components of the saved automaton (0: the proposed number)");
  app.add_option("--tolerance", tolerance, "proposal rule: accuracy / stability slack from the best");
  app.add_option("--simnn-iters", simnn_iters, "Adam iterations of the SimNN probe (0: skip SimNN)");
  app.add_option("--seed", o.seed, "seed of PCA, GMM and SimNN");
  CLI11_PARSE(app, argc, argv);
  using namespace rnnabs;
  const examples::fs::path dir(job.out);
  auto tr = job.open(o.seed);
  o.precision = job.precision();
  std::printf("rnn       test accuracy %.4f\n", examples::accuracy(tr.test));

  o.run_simnn = simnn_iters > 0;
  o.simnn = {.iterations = simnn_iters, .seed = o.seed};
  examples::progress bar("sweep", static_cast<long>(o.n_clusters.size()));
  long done = 0;
  std::printf("%5s %16s %8s %8s %8s %8s %10s %10s %6s %8s\n", "n", "BIC", "stab", "wstab", "min", "empty", "simnn_tr",
              "simnn_te", "iters", "seconds");
  examples::csv_table csv({"n", "bic", "stability_mean", "stability_weighted", "stability_min", "stability_max",
                           "empty_states", "simnn_loss", "simnn_train_acc", "simnn_test_acc", "gmm_iters", "converged",
                           "seconds"});
  const auto rows = component_sweep(tr.train, tr.test, o, [&](const component_sweep_row& r) {
    bar.update(++done, "n=" + std::to_string(r.n_clusters));
    std::printf("%5ld %16.1f %8.4f %8.4f %8.4f %8ld %10.4f %10.4f %6ld %8.1f\n", r.n_clusters, r.bic, r.stability.mean,
                r.stability.weighted_mean, r.stability.min, r.stability.empty_states, r.simnn_train_accuracy,
                r.simnn_test_accuracy, r.n_iter, r.seconds);
    std::fflush(stdout);
    csv.add(r.n_clusters, r.bic, r.stability.mean, r.stability.weighted_mean, r.stability.min, r.stability.max,
            r.stability.empty_states, r.simnn_loss, r.simnn_train_accuracy, r.simnn_test_accuracy, r.n_iter,
            r.converged ? 1 : 0, r.seconds);
  });
  csv.save(dir / "sweep.csv");
  const index_t proposed = propose_components(rows, tolerance);
  const index_t k = final_k > 0 ? final_k : proposed;
  std::printf("proposed  n = %ld (smallest n within %.3f of the best SimNN test accuracy and stability)\n", proposed,
              tolerance);

  // Refinement figure: BIC min-max scaled to [0, 1] (as RNNRepair's pltxyz), the rest as they are.
  double bmin = rows.front().bic, bmax = bmin;
  for (const auto& r : rows) bmin = std::min(bmin, r.bic), bmax = std::max(bmax, r.bic);
  examples::csv_table fig({"n", "bic_scaled", "stability", "simnn_train", "simnn_test"});
  for (const auto& r : rows)
    fig.add(r.n_clusters, bmax > bmin ? (r.bic - bmin) / (bmax - bmin) : 0.0, r.stability.mean, r.simnn_train_accuracy,
            r.simnn_test_accuracy);
  fig.save(dir / "refinement.csv");
  const std::string f = (dir / "refinement.csv").string();
  // clang-format off
  const bool plotted = examples::plot(
      dir / "refinement.gp",
      "set terminal pngcairo size 900,560 font 'sans,11'\nset output '" + (dir / "refinement.png").string() +
          "'\nset datafile separator ','\nset key bottom right\nset grid\nset yrange [0:1.05]\n"
          "set title 'Refinement: Fashion-MNIST LSTM, PCA " + std::to_string(o.pca_components) +
          " + diagonal GMM (proposed n = " + std::to_string(proposed) + ")'\n"
          "set xlabel 'number of GMM components n'\nset ylabel 'value'\n"
          "plot '" + f + "' every ::1 using 1:2 with linespoints lw 2 title 'BIC (min-max scaled)', '" + f +
          "' every ::1 using 1:3 with linespoints lw 2 title 'stability (mean purity)', '" + f +
          "' every ::1 using 1:4 with linespoints lw 2 title 'SimNN train acc', '" + f +
          "' every ::1 using 1:5 with linespoints lw 2 title 'SimNN test acc'\n");
  // clang-format on

  // The automaton at the chosen number of components.
  auto t0 = std::chrono::steady_clock::now();
  const auto model = build_abstraction(
      tr.train, {.pca_components = o.pca_components, .n_clusters = k, .seed = o.seed, .precision = o.precision});
  model.automaton.save(dir / "automaton.npz");
  save_dot(dir / "automaton.gv", model.automaton, {.min_count = std::max<index_t>(1, tr.train.total_steps() / 2000)});
  save_json(dir / "automaton.json", model.automaton);
  const auto st = model.abstraction.stability();
  std::printf("automaton n = %ld: %ld transitions, %ld token-free edges over %ld steps; fit %.2fs, automaton + "
              "index %.3fs (%.1fs in all)\n",
              k, model.automaton.n_transitions(), model.automaton.n_edges(), model.automaton.total_count(),
              model.fit_seconds, model.automaton_seconds, examples::seconds_since(t0));
  rnnabs::io::atomic_write_bytes(
      dir / "summary.txt",
      examples::concat(
          "abstraction sweep (RNNRepair RQ1)\ntraces: ", tr.source, "\ntrain sequences: ", tr.train.size(), ", test: ",
          tr.test.size(), ", RNN test accuracy: ", examples::accuracy(tr.test), "\nPCA components: ", o.pca_components,
          "\nswept n: ", rows.size(), " values, see sweep.csv", plotted ? " and refinement.png" : "",
          "\nproposed n: ", proposed, " (tolerance ", tolerance, ")\nautomaton n = ", k, ": ",
          model.automaton.n_transitions(), " transitions, ", model.automaton.n_edges(), " token-free edges, stability ",
          st.mean, " (weighted ", st.weighted_mean, "), built in ", model.automaton_seconds,
          " s\nfiles: sweep.csv, refinement.csv, refinement.png, automaton.npz, automaton.gv, automaton.json\n"));
  std::printf("results   %s\n", dir.c_str());
  return 0;
}

}  // namespace examples::abstraction_sweep
