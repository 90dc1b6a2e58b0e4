// repair generate — sample-level repair data (RNNRepair, Xie et al., ICML 2021, §4.3), corrected: for each of the M
// models and each common failure, the training image of the true class whose mutant's abstract trace,
// under that model's **own** PCA + GMM abstraction (RNNRepair reused one), is nearest the faulty behaviour.
// Also the unguided control: same sources and candidates, one kept at random. All candidates of a failure go
// through the model in one batched pass.
// Writes <out>/{retrain.npz, retrain_random.npz, samples.csv, triples.png, summary.txt}; `repair retrain`
// reads the two NPZ files, after checking their records (<file>.params: the data and settings they were
// made from) against its own data.
#include <CLI/CLI.hpp>

#include <rnnabs/abstraction/model.hpp>

#include "image_task.hpp"
#include "../common/text.hpp"

namespace examples::repair_generate {

using namespace rnnabs;

int run(int argc, char** argv) {
  CLI::App app{
      "Repair samples for the common failures of M Fashion-MNIST LSTMs, guided by abstract traces (and a random control)"};
  image_task_options o;
  o.add_options(app);
  std::string out = "results/repair_generate";
  index_t pca = 10, components = 7, k_nearest = 1, max_failures = 0, shown = 12, rotation_step = 1;
  bool all_mutators = false;
  std::uint64_t select_seed = 100;
  app.add_option("--pca", pca, "PCA components of each model's abstraction (RNNRepair: 10)");
  app.add_option("--components", components, "GMM components of each model's abstraction (RNNRepair: 7)");
  app.add_option("--k", k_nearest, "sources per failure: the K nearest correct training images of the true class");
  app.add_option("--rotation-step", rotation_step,
                 "rotation candidates every this many degrees of -180..179 (RNNRepair: 1)");
  app.add_flag("--all-mutators", all_mutators, "also every grid value of the nine mutators as candidates");
  app.add_option("--max-failures", max_failures, "repair only the first N common failures (0: all)");
  app.add_option("--select-seed", select_seed, "seed of the random control's choices and of the random mutators");
  app.add_option("--shown", shown, "failures shown in triples.png");
  app.add_option("--out", out, "results folder");
  CLI11_PARSE(app, argc, argv);
  require(rotation_step >= 1, "--rotation-step must be >= 1");
  const fs::path dir(out);
  fs::create_directories(dir);
  const auto t_all = std::chrono::steady_clock::now();
  const image_task t = load_image_task(o);
  const index_t M = o.n_models();

  std::vector<lstm_classifier<float>> models;
  std::vector<index_vector> pred;
  for (index_t m = 0; m < M; ++m) {
    models.push_back(image_model(o, t, m));
    pred.push_back(models.back().forward(t.test).predictions);
  }
  auto fails = common_failures(pred, t.test.labels);
  const auto right = common_successes(pred, t.test.labels);
  require(!fails.empty(), "repair generate: the ", M, " models share no failure");
  const index_t n_common = static_cast<index_t>(fails.size());
  if (max_failures > 0 && max_failures < n_common) fails.resize(static_cast<std::size_t>(max_failures));
  std::printf("failures  %ld common to the %ld models; repairing %zu; %zu test images all of them get right\n",
              n_common, M, fails.size(), right.size());
  std::fflush(stdout);

  generation_options g{.k_nearest = k_nearest, .seed = select_seed};
  g.candidates.rotations.clear();
  for (index_t d = -180; d < 180; d += rotation_step) g.candidates.rotations.push_back(static_cast<double>(d));
  g.candidates.mutator_grids = all_mutators;
  g.candidates.seed = select_seed;
  const index_t per_source = static_cast<index_t>(make_candidates(t.train.features[0], g.candidates).size());

  repair_samples guided, random;
  for (auto* s : {&guided, &random}) {
    s->testid = fails;
    s->reference_correct = right;
  }
  csv_table csv({"model", "failure", "truth", "faulty_prediction", "target", "source", "guided_op", "guided_parameter",
                 "guided_distance", "guided_prediction", "random_op", "random_parameter", "random_distance",
                 "random_prediction"});
  std::vector<std::vector<matrix<float>>>
      triples;  // per shown failure of model 0: failure, target, source, guided, random
  std::string per_model;
  double generate_s = 0;
  index_t scored = 0;
  examples::progress bar("generating", static_cast<long>(M));
  for (index_t m = 0; m < M; ++m) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto& model = models[static_cast<std::size_t>(m)];
    const auto tr = profile(model, t.train);
    const auto te = profile(model, t.test);
    auto abs = make_abstraction(
        {.pca_components = pca, .n_clusters = components, .seed = o.seed + static_cast<std::uint64_t>(m)});
    abs.fit(tr);
    const double fit_s = seconds_since(t0);
    const auto t1 = std::chrono::steady_clock::now();
    const auto a = generate_repair_samples(model, abs, t.train.features, tr, te, fails, g);
    const double guided_s = seconds_since(t1);
    generation_options gr = g;
    gr.choice = candidate_choice::random;
    const auto b = generate_repair_samples(model, abs, t.train.features, tr, te, fails, gr);
    generate_s += guided_s;
    scored += static_cast<index_t>(a.size()) * k_nearest * per_source;
    require(a.size() == b.size(), "repair generate: the guided and random runs repaired different failures");
    spread dg, dr;
    index_t fooled = 0;  // guided samples the model itself already mislabels
    for (std::size_t k = 0; k < a.size(); ++k) {
      dg.add(a[k].distance);
      dr.add(b[k].distance);
      fooled += a[k].prediction != a[k].label;
      for (auto [s, x] : {std::pair{&guided, &a[k]}, std::pair{&random, &b[k]}}) {
        s->images.push_back(x->image);
        s->labels.push_back(x->label);
        s->failure.push_back(x->failure);
        s->model.push_back(m);
        s->distance.push_back(x->distance);
      }
      csv.add(m, a[k].failure, a[k].label, te.predictions(a[k].failure), a[k].target, a[k].source,
              std::string(to_string(a[k].op)), a[k].parameter, a[k].distance, a[k].prediction,
              std::string(to_string(b[k].op)), b[k].parameter, b[k].distance, b[k].prediction);
      if (m == 0 && static_cast<index_t>(triples.size()) < shown)
        triples.push_back({t.test.features[static_cast<std::size_t>(a[k].failure)],
                           t.train.features[static_cast<std::size_t>(a[k].target)],
                           t.train.features[static_cast<std::size_t>(a[k].source)], a[k].image, b[k].image});
    }
    per_model += examples::concat("  model ", m, ": ", a.size(), " samples; abstraction fit ", fit_s,
                                  " s (profiling included), guided ", guided_s,
                                  " s; distance to the target trace guided ", dg.text(4), ", random ", dr.text(4),
                                  "; guided samples the model mislabels: ", fooled, "\n");
    bar.update(static_cast<long>(m + 1), examples::concat("model ", m, ": ", a.size(), " samples"));
  }
  cache_record made("repair samples (repair generate)");
  made.add("data", image_task_data_record(t))
      .add("hidden", o.hidden)
      .add("model_epochs", o.model_epochs)
      .add("seed", o.seed)
      .add("pca", pca)
      .add("components", components)
      .add("k", k_nearest)
      .add("rotation_step", rotation_step)
      .add("all_mutators", all_mutators)
      .add("max_failures", max_failures)
      .add("select_seed", select_seed);
  cache_store(dir / "retrain.npz", cache_record(made).add("arm", "guided"), [&](const fs::path& p) { guided.save(p); });
  cache_store(dir / "retrain_random.npz", cache_record(made).add("arm", "random"),
              [&](const fs::path& p) { random.save(p); });
  csv.save(dir / "samples.csv");
  std::vector<matrix<float>> flat;
  for (const auto& row : triples) flat.insert(flat.end(), row.begin(), row.end());
  save_grid(dir / "triples.png", flat, 5);
  const std::string summary = examples::concat(
      "repair generate: ", M, " models, ", n_common, " common failures, ", fails.size(), " repaired; ", right.size(),
      " test images all models get right (where retraining counts side effects)\n",
      "candidates per failure and model: ", k_nearest, " source(s) x ", per_source, " (rotations every ", rotation_step,
      " degrees, translations -3..2", all_mutators ? ", every mutator grid value" : "", ")\n", per_model,
      "samples: ", guided.size(), " guided (retrain.npz), ", random.size(),
      " random-choice control (retrain_random.npz)\n", "guided generation: ", scored, " candidate sequences in ",
      generate_s, " s = ", static_cast<double>(scored) / generate_s,
      " candidates/s, including each failure's distances to every correct training trace\n",
      "triples.png: per row failure | target (nearest correct of the wrong label) | source | guided | random, model 0\n",
      "total ", seconds_since(t_all), " s\n");
  io::atomic_write_bytes(dir / "summary.txt", summary);
  std::printf("\n%s", summary.c_str());
  return 0;
}

}  // namespace examples::repair_generate
