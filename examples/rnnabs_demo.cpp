// rnnabs_demo — the library's main job, end to end on real data (`make demo`):
//   Fashion-MNIST rows -> train (or reuse the cached) LSTM(128) -> profile its hidden-state traces
//   -> PCA (10) -> diagonal-GMM component sweep (BIC, stability, SimNN fidelity) -> automaton with
//   its training-sample index -> fault interpretation (nearest abstract training traces of failed
//   and benign test inputs).
// Results: <out>/{summary.txt, sweep.csv, refinement.png, automaton.{npz,gv,json}, faults.csv,
// benign.csv, metric{1,2,3}.png}; the model is cached in <cache>/model.rnnabs for the next run, with the
// parameters and data it was trained on in model.rnnabs.params: a run with other ones retrains it.
#include <CLI/CLI.hpp>

#include <rnnabs/abstraction/abstraction.hpp>
#include <rnnabs/abstraction/export.hpp>
#include <rnnabs/abstraction/fault.hpp>
#include <rnnabs/abstraction/fidelity.hpp>
#include <rnnabs/abstraction/model.hpp>
#include <rnnabs/data/fashion_mnist.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/nn/image_sequences.hpp>

#include "common/cache.hpp"
#include "common/results.hpp"
#include "common/text.hpp"

namespace {

using namespace rnnabs;
namespace fs = examples::fs;

void save_neighbours(const fs::path& path, const neighbour_report& r) {
  examples::csv_table t({"k", "frac_any_truth", "share_truth", "mean_cnt_truth", "mean_dist_truth", "frac_any_pred",
                         "share_pred", "mean_cnt_pred", "mean_dist_pred"});
  for (const auto& x : r.rows)
    t.add(x.k, x.frac_any_truth, x.share_truth, x.mean_cnt_truth, x.mean_dist_truth, x.frac_any_pred, x.share_pred,
          x.mean_cnt_pred, x.mean_dist_pred);
  t.save(path);
}

bool metric_figure(const fs::path& dir, const std::string& name, const std::string& title, const std::string& ylabel,
                   int col, int pcol) {
  const std::string b = (dir / "benign.csv").string(), f = (dir / "faults.csv").string();
  return examples::plot(
      dir / (name + ".gp"),
      "set terminal pngcairo size 900,560 font 'sans,11'\nset output '" + (dir / (name + ".png")).string() +
          "'\nset datafile separator ','\nset key right center\nset grid\nset title '" + title +
          "'\nset xlabel 'top-K nearest training traces'\nset ylabel '" + ylabel + "'\nplot '" + b +
          "' every ::1 using 1:" + std::to_string(col) + " with lines lw 2 title 'benign: truth', '" + f +
          "' every ::1 using 1:" + std::to_string(col) + " with lines lw 2 title 'faults: truth', '" + f +
          "' every ::1 using 1:" + std::to_string(pcol) + " with lines lw 2 title 'faults: (wrong) prediction'\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rnnabs demo: train/profile an LSTM on Fashion-MNIST, abstract it (PCA + GMM + automaton), measure "
               "fidelity, interpret faults"};
  std::string data_dir = data::fashion_mnist_dir.string(), out = "results/demo", cache = "results/cache/lstm_fmnist";
  index_t epochs = 10, pca_k = 10, max_k = 100, benign = 200, train_limit = 0, test_limit = 0;
  std::vector<index_t> ks = {10, 20, 30, 40};
  std::uint64_t seed = 1;
  int threads = 0;
  bool strict_cache = false;
  app.add_option("--data", data_dir, "directory of the Fashion-MNIST (or MNIST) IDX files");
  app.add_option("--out", out, "results folder");
  app.add_option("--cache", cache, "folder of the cached model (trained there when missing or made otherwise)");
  app.add_flag("--strict-cache", strict_cache,
               "stop with an error when the cached model was made with other options or data (default: retrain it)");
  app.add_option("--epochs", epochs, "training epochs (a cached model trained otherwise is retrained)");
  app.add_option("--train-limit", train_limit, "use the first N training images only (0: all; for quick runs)");
  app.add_option("--test-limit", test_limit, "use the first N test images only (0: all)");
  app.add_option("--pca", pca_k, "principal components kept")->check(CLI::Range(1, 128));
  app.add_option("--k", ks, "numbers of GMM components (abstract states) to sweep")->delimiter(',');
  app.add_option("--max-k", max_k, "largest neighbourhood in the fault interpretation");
  app.add_option("--benign", benign, "correctly predicted test inputs sampled for comparison");
  app.add_option("--seed", seed, "seed of every random step");
  app.add_option("--threads", threads, "threads (0: all cores)");
  CLI11_PARSE(app, argc, argv);

  try {
    if (threads > 0) set_threads(threads);
    const auto t_all = std::chrono::steady_clock::now();
    const fs::path dir(out), cdir(cache);
    fs::create_directories(dir);
    fs::create_directories(cdir);

    // 1. The model: cached, or trained now.
    auto t0 = std::chrono::steady_clock::now();
    const auto head = [](sequence_batch<float> b, index_t limit) {
      if (limit > 0 && limit < b.size()) {
        b.features.resize(static_cast<std::size_t>(limit));
        b.labels.conservativeResize(limit);
      }
      return b;
    };
    const auto train_set = head(row_sequences(data::load_fashion_mnist(data::split::train, data_dir)), train_limit);
    const auto test_set = head(row_sequences(data::load_fashion_mnist(data::split::test, data_dir)), test_limit);
    std::printf("data      %ld train / %ld test images as 28-step sequences of 28 pixels (%.1fs)\n", train_set.size(),
                test_set.size(), examples::seconds_since(t0));
    lstm_classifier<float> model;
    std::string model_source;
    const fs::path model_file = cdir / "model.rnnabs";
    examples::cache_record model_record("LSTM classifier of Fashion-MNIST rows (rnnabs_demo)");
    model_record.add("cell", "lstm")
        .add("input", 28)
        .add("hidden", 128)
        .add("classes", 10)
        .add("epochs", epochs)
        .add("batch", 128)
        .add("optimizer", "adam")
        .add("lr", 2e-3)
        .add("clip", 5)
        .add("seed", seed)
        .add("data.train", examples::fingerprint_of(train_set));
    if (examples::cache_lookup(
            model_file, model_record,
            {.on_mismatch = strict_cache ? examples::cache_policy::error : examples::cache_policy::rebuild})) {
      model = lstm_classifier<float>::load(model_file);
      model_source = "cached " + model_file.string();
    } else {
      t0 = std::chrono::steady_clock::now();
      model = lstm_classifier<float>(rnn_config{.input_size = 28, .hidden_size = 128, .num_classes = 10}, seed);
      train_options o{.epochs = epochs, .batch_size = 128, .seed = seed, .clip_norm = 5};
      o.on_epoch = [&](const epoch_record& r) {
        std::printf("train     epoch %ld/%ld: loss %.4f, train accuracy %.2f%% (%.1fs)\n", r.epoch + 1, epochs,
                    r.train_loss, 100 * r.train_accuracy, r.seconds);
        std::fflush(stdout);
        return true;
      };
      examples::cache_store(model_file, model_record, [&](const fs::path& p) {
        train(model, train_set, adam{.lr = 2e-3}, o);
        model.save(p);
      });
      model_source = examples::concat("trained now (", epochs, " epochs, ", examples::seconds_since(t0),
                                      " s), cached in ", (cdir / "model.rnnabs").string());
    }

    // 2. Traces.
    t0 = std::chrono::steady_clock::now();
    const auto tr_train = profile(model, train_set);
    const auto tr_test = profile(model, test_set);
    const double rnn_acc = static_cast<double>((tr_test.predictions.array() == tr_test.truth.array()).count()) /
                           static_cast<double>(tr_test.size());
    std::printf("model     LSTM(128): test accuracy %.2f%% (%s)\n", 100 * rnn_acc, model_source.c_str());
    std::printf("profile   %ld + %ld traces of 28 x %ld hidden states (%.1fs)\n", tr_train.size(), tr_test.size(),
                tr_train.width(), examples::seconds_since(t0));

    // 3. Component sweep: BIC, stability and SimNN fidelity per number of abstract states.
    t0 = std::chrono::steady_clock::now();
    component_sweep_options so{.pca_components = pca_k, .n_clusters = ks, .seed = seed};
    examples::csv_table sweep({"n", "bic", "stability_mean", "stability_weighted", "empty_states", "simnn_train_acc",
                               "simnn_test_acc", "gmm_iters", "seconds"});
    std::printf("sweep     %6s %16s %10s %10s %10s %8s\n", "n", "BIC", "stability", "simnn_tr", "simnn_te", "seconds");
    const auto rows = component_sweep(tr_train, tr_test, so, [&](const component_sweep_row& r) {
      std::printf("          %6ld %16.1f %10.4f %10.4f %10.4f %8.1f\n", r.n_clusters, r.bic, r.stability.mean,
                  r.simnn_train_accuracy, r.simnn_test_accuracy, r.seconds);
      std::fflush(stdout);
      sweep.add(r.n_clusters, r.bic, r.stability.mean, r.stability.weighted_mean, r.stability.empty_states,
                r.simnn_train_accuracy, r.simnn_test_accuracy, r.n_iter, r.seconds);
    });
    sweep.save(dir / "sweep.csv");
    const index_t n = propose_components(rows);
    const auto& chosen = *std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.n_clusters == n; });
    std::printf("proposed  n = %ld abstract states (%.1fs for the sweep)\n", n, examples::seconds_since(t0));
    const std::string sf = (dir / "sweep.csv").string();
    bool plotted = examples::plot(
        dir / "refinement.gp",
        "set terminal pngcairo size 900,560 font 'sans,11'\nset output '" + (dir / "refinement.png").string() +
            "'\nset datafile separator ','\nset key bottom right\nset grid\nset y2tics\nset ytics nomirror\n"
            "set title 'Fashion-MNIST LSTM: PCA " +
            std::to_string(pca_k) +
            " + diagonal GMM'\n"
            "set xlabel 'abstract states n'\nset ylabel 'accuracy / stability'\nset y2label 'BIC'\n"
            "plot '" +
            sf + "' every ::1 using 1:3 with linespoints lw 2 title 'stability', '" + sf +
            "' every ::1 using 1:6 with linespoints lw 2 title 'SimNN train', '" + sf +
            "' every ::1 using 1:7 with linespoints lw 2 title 'SimNN test', '" + sf +
            "' every ::1 using 1:2 axes x1y2 with linespoints lw 2 dt 2 title 'BIC'\n");

    // 4. The abstract model and its automaton at n.
    const auto am = build_abstraction(tr_train, {.pca_components = pca_k, .n_clusters = n, .seed = seed});
    am.automaton.save(dir / "automaton.npz");
    save_dot(dir / "automaton.gv", am.automaton, {.min_count = std::max<index_t>(1, tr_train.total_steps() / 2000)});
    save_json(dir / "automaton.json", am.automaton);
    std::printf("automaton %ld transitions, %ld token-free edges over %ld steps; PCA + GMM %.2fs, automaton + "
                "index %.3fs\n",
                am.automaton.n_transitions(), am.automaton.n_edges(), am.automaton.total_count(), am.fit_seconds,
                am.automaton_seconds);

    // 5. Fault interpretation: nearest abstract training traces of failed and benign test inputs.
    t0 = std::chrono::steady_clock::now();
    const auto& abs = am.abstraction;
    const auto trx = normalized_traces(abs.abstract_traces(abs.train_states(), tr_train.step_labels),
                                       abs.n_real_states(), abs.n_labels());
    const auto tex = normalized_traces(abs.abstract_traces(tr_test), abs.n_real_states(), abs.n_labels(),
                                       feature_set::all, trx.steps);
    const index_vector failed = failed_tests(tr_test), ok = benign_tests(tr_test, benign, seed);
    const auto rf = neighbour_statistics(tex, failed, tr_test.truth, tr_test.predictions, trx, tr_train.truth, max_k);
    const auto rb = neighbour_statistics(tex, ok, tr_test.truth, tr_test.predictions, trx, tr_train.truth, max_k);
    save_neighbours(dir / "faults.csv", rf);
    save_neighbours(dir / "benign.csv", rb);
    plotted = metric_figure(dir, "metric1", "inputs with >= 1 of the top-K neighbours labelled so", "fraction", 2, 6) &&
              plotted;
    plotted = metric_figure(dir, "metric2", "share of the top-K neighbours labelled so", "mean count / K", 3, 7) &&
              plotted;
    plotted = metric_figure(dir, "metric3", "mean distance of the neighbours labelled so", "distance", 5, 9) && plotted;
    const auto& f10 = rf.rows[std::min<std::size_t>(9, rf.rows.size() - 1)];
    const auto& b10 = rb.rows[std::min<std::size_t>(9, rb.rows.size() - 1)];
    std::printf("faults    %ld failed and %ld benign test inputs (%.1fs): at K = 10 the neighbours share the truth "
                "%.1f%% (benign) vs %.1f%% (failed; %.1f%% share the wrong prediction)\n",
                failed.size(), ok.size(), examples::seconds_since(t0), 100 * b10.share_truth, 100 * f10.share_truth,
                100 * f10.share_pred);

    const std::string summary = examples::concat(
        "rnnabs demo: Fashion-MNIST LSTM(128) -> traces -> PCA ", pca_k, " -> diagonal GMM -> automaton\n",
        "model: ", model_source, "; test accuracy ", 100 * rnn_acc, " %\n", "sweep over n: see sweep.csv",
        plotted ? " and refinement.png" : "", "; proposed n = ", n, "\n", "fidelity at n = ", n,
        ": SimNN train accuracy ", chosen.simnn_train_accuracy, ", test accuracy ", chosen.simnn_test_accuracy,
        "; stability ", chosen.stability.mean, "\n", "automaton: ", am.automaton.n_transitions(), " transitions, ",
        am.automaton.n_edges(), " token-free edges; built with its index in ", am.automaton_seconds, " s\n",
        "faults: ", failed.size(), " failed tests; at K = 10 neighbours sharing the truth: benign ", b10.share_truth,
        ", failed ", f10.share_truth, " (wrong prediction ", f10.share_pred, ")\n",
        "files: sweep.csv, refinement.png, automaton.npz/.gv/.json, faults.csv, benign.csv, metric1-3.png\n",
        "total time: ", examples::seconds_since(t_all), " s\n");
    io::atomic_write_bytes(dir / "summary.txt", summary);
    std::printf("done      in %.1fs; results in %s (summary.txt)\n", examples::seconds_since(t_all), dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rnnabs_demo: %s\n", e.what());
    return 1;
  }
}
