// abstraction features — RNNRepair's feature ablation (§4.1) on the Fashion-MNIST LSTM: the
// SimNN probe trained on each part of the abstract trace — the per-step label only, the state only,
// state + label, P(label | state) only, and all — at one number of components.
//
// Writes <out>/features.csv, features.png (+ .gp), summary.txt.
#include <CLI/CLI.hpp>

#include <rnnabs/abstraction/fidelity.hpp>

#include "common.hpp"
#include "../common/text.hpp"

namespace examples::abstraction_features {

int run(int argc, char** argv) {
  CLI::App app{"Feature ablation of the SimNN probe on the Fashion-MNIST LSTM's abstract traces"};
  examples::trace_job job{.out = "results/abstraction_features"};
  rnnabs::index_t pca_k = 10, n_states = 37, iters = 500;
  std::uint64_t seed = 1;
  job.add_options(app);
  app.add_option("--pca", pca_k, "principal components kept");
  app.add_option("--components", n_states, "GMM components (abstract states)");
  app.add_option("--simnn-iters", iters, "Adam iterations of each probe");
  app.add_option("--seed", seed, "seed of PCA, GMM and SimNN");
  CLI11_PARSE(app, argc, argv);
  using namespace rnnabs;
  const examples::fs::path dir(job.out);
  auto tr = job.open(seed);
  const auto model = build_abstraction(
      tr.train, {.pca_components = pca_k, .n_clusters = n_states, .seed = seed, .precision = job.precision()});
  const auto& abs = model.abstraction;
  const auto test_states = abs.states(tr.test);
  examples::progress bar("features", 5);
  long done = 0;
  examples::csv_table csv({"features", "loss", "simnn_train_acc", "simnn_test_acc", "agreement_with_rnn"});
  std::printf("%-12s %10s %10s %10s %10s\n", "features", "loss", "train_acc", "test_acc", "agree_rnn");
  const auto rows = feature_ablation(
      abs, tr.train, abs.train_states(), tr.test, test_states, {.iterations = iters, .seed = seed},
      [&](const fidelity_result& r) {
        bar.update(++done, std::string(to_string(r.features)));
        std::printf("%-12s %10.4f %10.4f %10.4f %10.4f\n", std::string(to_string(r.features)).c_str(), r.loss,
                    r.train_accuracy, r.test_accuracy, r.test_agreement);
        std::fflush(stdout);
        csv.add(to_string(r.features), r.loss, r.train_accuracy, r.test_accuracy, r.test_agreement);
      });
  csv.save(dir / "features.csv");
  const std::string f = (dir / "features.csv").string();
  // clang-format off
  const bool plotted = examples::plot(
      dir / "features.gp",
      "set terminal pngcairo size 800,500 font 'sans,11'\nset output '" + (dir / "features.png").string() +
          "'\nset datafile separator ','\nset style data histograms\nset style fill solid 0.8\nset grid ytics\n"
          "set yrange [0:1]\nset key top left\nset title 'SimNN feature ablation (PCA " + std::to_string(pca_k) +
          ", " + std::to_string(n_states) + " states); RNN test accuracy " +
          std::to_string(examples::accuracy(tr.test)).substr(0, 6) + "'\nset ylabel 'accuracy'\n"
          "plot '" + f + "' every ::1 using 3:xtic(1) title 'train', '' every ::1 using 4 title 'test'\n");
  // clang-format on
  std::string summary = examples::concat("abstraction features (RNNRepair feature ablation)\ntraces: ", tr.source,
                                         "\nabstraction: PCA ", pca_k, " + GMM ", n_states,
                                         "\nRNN test accuracy: ", examples::accuracy(tr.test), "\n");
  for (const auto& r : rows)
    summary += examples::concat(to_string(r.features), ": SimNN train ", r.train_accuracy, ", test ", r.test_accuracy,
                                "\n");
  summary += plotted ? "files: features.csv, features.png\n" : "files: features.csv\n";
  rnnabs::io::atomic_write_bytes(dir / "summary.txt", summary);
  std::printf("results   %s\n", dir.c_str());
  return 0;
}

}  // namespace examples::abstraction_features
