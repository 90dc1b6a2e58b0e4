// repair failures — the common failures of M models (RNNRepair, Xie et al., ICML 2021, §4.3): the Fashion-MNIST
// test images that every one of M LSTMs (different seeds and epoch counts) gets wrong, as a table and an
// image grid; and one failure's abstract trace through model 0's automaton, drawn with Graphviz.
// Writes <out>/{models.csv, failures.csv, failures.png, trace_<id>_<prediction>_<truth>.gv/.png, summary.txt}.
#include <CLI/CLI.hpp>

#include <map>

#include <rnnabs/abstraction/export.hpp>
#include <rnnabs/abstraction/model.hpp>
#include <rnnabs/repair/paths.hpp>

#include "image_task.hpp"
#include "../common/text.hpp"

namespace examples::repair_failures {

using namespace rnnabs;

int run(int argc, char** argv) {
  CLI::App app{
      "The test inputs that all M Fashion-MNIST LSTMs get wrong (RNNRepair's common failures), and a trace picture"};
  image_task_options o;
  o.add_options(app);
  std::string out = "results/repair_failures";
  index_t grid = 100, pca = 10, components = 7;
  app.add_option("--grid", grid, "at most this many failures in failures.png");
  app.add_option("--pca", pca, "PCA components of model 0's abstraction (the trace picture)");
  app.add_option("--components", components, "GMM components of model 0's abstraction");
  app.add_option("--out", out, "results folder");
  CLI11_PARSE(app, argc, argv);
  const fs::path dir(out);
  fs::create_directories(dir);
  const auto t_all = std::chrono::steady_clock::now();
  const image_task t = load_image_task(o);
  const index_t M = o.n_models();

  std::vector<index_vector> pred;
  csv_table models({"model", "epochs", "seed", "test_accuracy", "failures"});
  std::string model_lines;
  for (index_t m = 0; m < M; ++m) {
    const auto model = image_model(o, t, m);
    pred.push_back(model.forward(t.test).predictions);
    const double acc = accuracy_of(pred.back(), t.test.labels);
    const index_t wrong = (pred.back().array() != t.test.labels.array()).count();
    models.add(m, o.model_epochs[static_cast<std::size_t>(m)], o.seed + static_cast<std::uint64_t>(m), acc, wrong);
    model_lines += examples::concat(
        "  model ", m, ": LSTM(", o.hidden, "), ", o.model_epochs[static_cast<std::size_t>(m)], " epochs, seed ",
        o.seed + static_cast<std::uint64_t>(m), ": test accuracy ", acc, ", ", wrong, " failures\n");
  }
  models.save(dir / "models.csv");
  const auto fails = common_failures(pred, t.test.labels);
  const auto right = common_successes(pred, t.test.labels);

  std::vector<std::string> header{"test_id", "truth"};
  for (index_t m = 0; m < M; ++m) header.push_back(examples::concat("prediction_", m));
  csv_table fcsv(header);
  std::map<index_t, index_t> by_class;
  for (const index_t i : fails) {
    std::ostringstream row;
    row << i << ',' << t.test.labels(i);
    for (const auto& p : pred) row << ',' << p(i);
    fcsv.add(row.str());
    ++by_class[t.test.labels(i)];
  }
  fcsv.save(dir / "failures.csv");
  std::vector<matrix<float>> shown;
  for (const index_t i : fails)
    if (static_cast<index_t>(shown.size()) < grid) shown.push_back(t.test.features[static_cast<std::size_t>(i)]);
  save_grid(dir / "failures.png", shown, 10);

  // One failure's abstract trace through model 0's automaton.
  std::string trace_line = "no common failure: no trace picture\n";
  if (!fails.empty()) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto model = image_model(o, t, 0);
    const auto tr = profile(model, t.train);
    const auto abs = build_abstraction(tr, {.pca_components = pca, .n_clusters = components, .seed = o.seed});
    const index_t f = fails.front();
    sequence_batch<float> one;
    one.features.push_back(t.test.features[static_cast<std::size_t>(f)]);
    one.labels = index_vector::Constant(1, t.test.labels(f));
    const auto te = profile(model, one);
    const auto path = labelled_paths::from(te, abs.abstraction.states(te)).path(0);
    const std::string stem = examples::concat("trace_", f, "_", te.predictions(0), "_", te.truth(0));
    io::atomic_write_bytes(dir / (stem + ".gv"), trace_to_dot(abs.automaton, path, {.min_count = 500, .name = stem}));
    const bool drawn = render_dot(dir / (stem + ".gv"), dir / (stem + ".png"));
    trace_line = examples::concat("trace picture: test ", f, " (truth ", te.truth(0), ", model 0 says ",
                                  te.predictions(0), ") through model 0's automaton (PCA ", pca, ", GMM ", components,
                                  " states; edges of >= 500 ", "training steps drawn faded): ", stem,
                                  drawn ? ".gv/.png" : ".gv", " (", seconds_since(t0), " s)\n");
  }
  std::string classes;
  for (const auto& [c, n] : by_class) classes += examples::concat(classes.empty() ? "" : ", ", c, ": ", n);
  const std::string summary = examples::concat(
      "repair failures: ", M, " models on ", t.train.size(), " Fashion-MNIST training images, ", t.test.size(),
      " test images\n", model_lines, "common failures (all ", M, " wrong): ", fails.size(),
      " (by true class: ", classes, "); all ", M, " right: ", right.size(), "\n", "failures.png: the first ",
      shown.size(), " in test order\n", trace_line, "total ", seconds_since(t_all), " s\n");
  io::atomic_write_bytes(dir / "summary.txt", summary);
  std::printf("\n%s", summary.c_str());
  return 0;
}

}  // namespace examples::repair_failures
