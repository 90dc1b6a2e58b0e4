// abstraction faults — RNNRepair's fault interpretation (§A.3.2) on the Fashion-MNIST LSTM:
// for every failed test input and for a seeded sample of correctly predicted ones, the K = 1..100
// nearest training traces under the masked abstract-trace distance, and how many carry the test's
// truth or the RNN's wrong prediction.
//
// Writes <out>/faults.csv, benign.csv, metric1.png (≥ 1 neighbour with the label), metric2.png (share
// of the neighbourhood with the label: the fixed metric), metric3.png (mean distance), summary.txt.
#include <CLI/CLI.hpp>

#include <rnnabs/abstraction/fault.hpp>
#include <rnnabs/abstraction/model.hpp>

#include "common.hpp"
#include "../common/text.hpp"

namespace examples::abstraction_faults {

void save_rows(const examples::fs::path& path, const rnnabs::neighbour_report& r) {
  examples::csv_table csv({"k", "frac_any_truth", "share_truth", "mean_cnt_truth", "mean_dist_truth", "frac_any_pred",
                           "share_pred", "mean_cnt_pred", "mean_dist_pred"});
  for (const auto& x : r.rows)
    csv.add(x.k, x.frac_any_truth, x.share_truth, x.mean_cnt_truth, x.mean_dist_truth, x.frac_any_pred, x.share_pred,
            x.mean_cnt_pred, x.mean_dist_pred);
  csv.save(path);
}

bool figure(const examples::fs::path& dir, const std::string& name, const std::string& title, const std::string& ylabel,
            int truth_col, int pred_col) {
  const std::string b = (dir / "benign.csv").string(), f = (dir / "faults.csv").string();
  const auto col = std::to_string(truth_col), pcol = std::to_string(pred_col);
  // clang-format off
  return examples::plot(
      dir / (name + ".gp"),
      "set terminal pngcairo size 900,560 font 'sans,11'\nset output '" + (dir / (name + ".png")).string() +
          "'\nset datafile separator ','\nset key right center\nset grid\n"
          "set title '" + title + "'\nset xlabel 'top-K nearest training traces'\nset ylabel '" + ylabel + "'\n"
          "plot '" + b + "' every ::1 using 1:" + col + " with lines lw 2 title 'benign: truth', '" + f +
          "' every ::1 using 1:" + col + " with lines lw 2 title 'faults: truth', '" + f + "' every ::1 using 1:" + pcol +
          " with lines lw 2 title 'faults: (wrong) prediction'\n");
  // clang-format on
}

int run(int argc, char** argv) {
  CLI::App app{"Fault interpretation on the Fashion-MNIST LSTM: nearest training traces of failed and benign tests"};
  examples::trace_job job{.out = "results/abstraction_faults"};
  rnnabs::index_t pca_k = 10, n_states = 37, max_k = 100, benign = 200;
  std::uint64_t seed = 1;
  job.add_options(app);
  app.add_option("--pca", pca_k, "principal components kept");
  app.add_option("--components", n_states, "GMM components (abstract states)");
  app.add_option("--max-k", max_k, "largest neighbourhood K");
  app.add_option("--benign", benign, "correctly predicted test inputs sampled (seeded)");
  app.add_option("--seed", seed, "seed of PCA, GMM and the benign sample");
  CLI11_PARSE(app, argc, argv);
  using namespace rnnabs;
  const examples::fs::path dir(job.out);
  auto tr = job.open(seed);
  auto t0 = std::chrono::steady_clock::now();
  const auto model = build_abstraction(
      tr.train, {.pca_components = pca_k, .n_clusters = n_states, .seed = seed, .precision = job.precision()});
  const auto& abs = model.abstraction;
  const auto trx = normalized_traces(abs.abstract_traces(abs.train_states(), tr.train.step_labels), abs.n_real_states(),
                                     abs.n_labels());
  const auto tex = normalized_traces(abs.abstract_traces(tr.test), abs.n_real_states(), abs.n_labels(),
                                     feature_set::all, trx.steps);
  std::printf("abstract  PCA %ld + GMM %ld: %ld train / %ld test abstract traces (%.1fs)\n", pca_k, n_states,
              trx.size(), tex.size(), examples::seconds_since(t0));
  const index_vector failed = failed_tests(tr.test), ok = benign_tests(tr.test, benign, seed);
  t0 = std::chrono::steady_clock::now();
  const auto rf = neighbour_statistics(tex, failed, tr.test.truth, tr.test.predictions, trx, tr.train.truth, max_k);
  std::printf("faults    %ld failed tests (%.1fs)\n", failed.size(), examples::seconds_since(t0));
  t0 = std::chrono::steady_clock::now();
  const auto rb = neighbour_statistics(tex, ok, tr.test.truth, tr.test.predictions, trx, tr.train.truth, max_k);
  std::printf("benign    %ld correctly predicted tests (%.1fs)\n", ok.size(), examples::seconds_since(t0));
  save_rows(dir / "faults.csv", rf);
  save_rows(dir / "benign.csv", rb);
  // Columns: 1 k, 2 frac_any_truth, 3 share_truth, 4 mean_cnt_truth, 5 mean_dist_truth, 6 frac_any_pred,
  // 7 share_pred, 8 mean_cnt_pred, 9 mean_dist_pred (benign.csv has the same layout).
  bool plotted = figure(dir, "metric1", "Metric 1: inputs with >= 1 of the top-K neighbours labelled so",
                        "fraction of inputs", 2, 6);
  plotted = figure(dir, "metric2", "Metric 2: share of the top-K neighbours labelled so", "mean count / K", 3, 7) &&
            plotted;
  plotted = figure(dir, "metric3", "Metric 3: mean distance of the neighbours labelled so", "mean distance", 5, 9) &&
            plotted;
  const auto& f10 = rf.rows[std::min<std::size_t>(9, rf.rows.size() - 1)];
  const auto& b10 = rb.rows[std::min<std::size_t>(9, rb.rows.size() - 1)];
  const std::string summary = examples::concat(
      "abstraction faults (RNNRepair fault interpretation)\ntraces: ", tr.source, "\nabstraction: PCA ", pca_k,
      " + GMM ", n_states, "\nfailed tests: ", failed.size(), ", benign sample: ", ok.size(), " (seed ", seed,
      ")\nat K = 10: benign share ", "with truth ", b10.share_truth, "; failed share with truth ", f10.share_truth,
      ", with the wrong prediction ", f10.share_pred, "\nfiles: faults.csv, benign.csv",
      plotted ? ", metric1.png, metric2.png, metric3.png" : "", "\n");
  rnnabs::io::atomic_write_bytes(dir / "summary.txt", summary);
  std::printf("%sresults   %s\n", summary.c_str(), dir.c_str());
  return 0;
}

}  // namespace examples::abstraction_faults
