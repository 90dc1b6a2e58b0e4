// repair retrain — retraining with generated samples (RNNRepair §4.3), corrected: every
// model is trained from scratch with a seed of its own, the added images are shuffled in, and nothing is
// overwritten. Four arms, each for several epoch counts and seeds:
//   guided     training set + the guided samples of `repair generate` (retrain.npz)     RNNRepair's type 0
//   none       training set only                                                         type 1
//   rotated    training set + the guided samples, each rotated by a seeded random angle  type 2
//   random     training set + the random-choice control (retrain_random.npz): same sources and
//              candidates, no trace distance — isolates what the guidance adds
// Per run: the common failures fixed, the added samples fitted, test accuracy, and the side effect: test
// inputs all M original models got right that the retrained model gets wrong. One training run per (arm,
// seed) is evaluated after each listed epoch count: with a constant learning rate and per-epoch shuffles
// seeded by (seed, epoch), the model after e epochs of a longer run *is* the model trained for e epochs.
// Writes <out>/{runs.csv, summary.csv, curves.csv, fixed.png, broken.png, summary.txt}.
#include <CLI/CLI.hpp>

#include <algorithm>

#include <rnnabs/repair/image_ops.hpp>

#include "image_task.hpp"
#include "../common/text.hpp"

namespace examples::repair_retrain {

using namespace rnnabs;

struct checkpoint {
  double fixed = 0, fitted = 0, accuracy = 0, broken = 0;
};

int run(int argc, char** argv) {
  CLI::App app{"Retrain Fashion-MNIST LSTMs with repair samples: trace-guided vs none vs rotated vs random choice"};
  image_task_options o;
  o.add_options(app, false);
  std::string samples = "results/repair_generate", out = "results/repair_retrain";
  std::vector<index_t> epochs{2, 4, 6, 8};
  std::vector<std::string> arms{"guided", "none", "rotated", "random"};
  index_t seeds = 3;
  std::uint64_t first_seed = 11, rotate_seed = 7;
  double max_angle = 100;
  app.add_option("--samples", samples,
                 "folder with retrain.npz and retrain_random.npz (`repair generate` writes them)");
  app.add_option("--epochs", epochs, "epoch counts evaluated (one run per arm and seed, up to the largest)")
      ->delimiter(',');
  app.add_option("--arms", arms, "arms: guided, none, rotated, random")->delimiter(',');
  app.add_option("--seeds", seeds, "repetitions per arm, seeds first-seed, +1, ... (the same seeds in every arm)");
  app.add_option("--first-seed", first_seed, "seed of the first repetition");
  app.add_option("--rotate-seed", rotate_seed, "seed of the rotated arm's angles");
  app.add_option("--max-angle", max_angle, "rotated arm: angles uniform in [-max, max) degrees (RNNRepair: 100)");
  app.add_option("--out", out, "results folder");
  CLI11_PARSE(app, argc, argv);
  for (const auto& a : arms)
    require(a == "guided" || a == "none" || a == "rotated" || a == "random", "--arms: unknown arm '", a, "'");
  require(!epochs.empty() && *std::min_element(epochs.begin(), epochs.end()) >= 1, "--epochs must be >= 1");
  require(seeds >= 1, "--seeds must be >= 1");
  std::sort(epochs.begin(), epochs.end());
  epochs.erase(std::unique(epochs.begin(), epochs.end()), epochs.end());
  const fs::path dir(out);
  fs::create_directories(dir);
  const auto t_all = std::chrono::steady_clock::now();
  const image_task t = load_image_task(o);
  for (const char* f : {"retrain.npz", "retrain_random.npz"}) {  // made from this data? (else: an error naming it)
    const fs::path p = fs::path(samples) / f;
    if (fs::exists(p) && !fs::exists(cache_record_path(p)))
      std::fprintf(stderr,
                   "note: %s has no record of the data it was made from (written before records were kept); "
                   "its test ids are taken as they are\n",
                   p.c_str());
    else
      cache_lookup(p, cache_record().add("data", image_task_data_record(t)),
                   {.on_mismatch = cache_policy::error, .subset = true});
  }
  const auto guided = repair_samples::load(fs::path(samples) / "retrain.npz");
  const auto unguided = repair_samples::load(fs::path(samples) / "retrain_random.npz");
  require(guided.testid == unguided.testid && guided.size() == unguided.size(), samples,
          ": retrain.npz and retrain_random.npz come from different runs");
  for (const auto* ids : {&guided.testid, &guided.reference_correct})
    for (const index_t i : *ids)
      require(i >= 0 && i < t.test.size(), samples, ": test id ", i, " is not a test id here (", t.test.size(),
              " test images: the same --test-limit as `repair generate`?)");
  require(guided.images[0].rows() == 28 && guided.images[0].cols() == 28, samples, ": the images are not 28 x 28");
  // The rotated arm: the guided images, each turned by its own seeded angle.
  std::vector<matrix<float>> rotated;
  {
    rng g(rotate_seed);
    for (const auto& im : guided.images) rotated.push_back(image::rotate(im, -max_angle + 2 * max_angle * g.uniform()));
  }
  const auto added_of = [&](const std::string& arm) -> sequence_batch<float> {
    const auto& src = arm == "random" ? unguided : guided;
    sequence_batch<float> b;
    b.features = arm == "rotated" ? rotated : src.images;
    b.labels.resize(src.size());
    for (index_t k = 0; k < src.size(); ++k) b.labels(k) = src.labels[static_cast<std::size_t>(k)];
    return b;
  };
  std::printf("samples   %ld guided, %ld random-choice for %zu common failures; side effects counted on %zu test "
              "images all original models got right\n",
              guided.size(), unguided.size(), guided.testid.size(), guided.reference_correct.size());
  std::fflush(stdout);

  const index_t E = epochs.back();
  csv_table runs({"arm", "seed", "epochs", "fixed", "failures", "fixed_fraction", "fitted_fraction", "test_accuracy",
                  "broken", "reference_correct", "seconds"});
  // results[arm][epoch index] over seeds
  std::vector<std::vector<spread>> fixed(arms.size(), std::vector<spread>(epochs.size())), fitted = fixed, acc = fixed,
                                                                                           broken = fixed;
  spread run_s;
  examples::progress bar("retraining", static_cast<long>(seeds * static_cast<index_t>(arms.size())));
  long done = 0;
  for (index_t rep = 0; rep < seeds; ++rep) {
    const std::uint64_t seed = first_seed + static_cast<std::uint64_t>(rep);
    for (std::size_t a = 0; a < arms.size(); ++a) {
      const auto added = added_of(arms[a]);
      sequence_batch<float> data = t.train;
      if (arms[a] != "none") {
        data.features.insert(data.features.end(), added.features.begin(), added.features.end());
        data.labels.conservativeResize(t.train.size() + added.size());
        data.labels.tail(added.size()) = added.labels;
      }
      auto model = fresh_image_model(o.hidden, seed);
      auto opts = image_train_options(E, seed);
      opts.progress = false;
      const auto t0 = std::chrono::steady_clock::now();
      double eval_s = 0;
      opts.on_epoch = [&](const epoch_record& r) {
        const auto it = std::find(epochs.begin(), epochs.end(), r.epoch + 1);
        if (it == epochs.end()) return true;
        const auto e0 = std::chrono::steady_clock::now();
        const auto k = static_cast<std::size_t>(it - epochs.begin());
        const index_vector pred = model.forward(t.test).predictions;
        index_t fx = 0, br = 0;
        for (const index_t i : guided.testid) fx += pred(i) == t.test.labels(i);
        for (const index_t i : guided.reference_correct) br += pred(i) != t.test.labels(i);
        const double fit = accuracy_of(model.forward(added).predictions, added.labels);
        const double ac = accuracy_of(pred, t.test.labels);
        const double nf = static_cast<double>(guided.testid.size());
        fixed[a][k].add(static_cast<double>(fx) / nf);
        fitted[a][k].add(fit);
        acc[a][k].add(ac);
        broken[a][k].add(static_cast<double>(br));
        eval_s += seconds_since(e0);
        runs.add(arms[a], seed, r.epoch + 1, fx, guided.testid.size(), static_cast<double>(fx) / nf, fit, ac, br,
                 guided.reference_correct.size(), seconds_since(t0) - eval_s);
        return true;
      };
      train(model, data, adam{.lr = 2e-3}, opts);
      run_s.add(seconds_since(t0) - eval_s);
      bar.update(++done, examples::concat(arms[a], " seed ", seed, ": fixed ", fixed[a].back().values.back(),
                                          ", broken ", broken[a].back().values.back()));
      runs.save(dir / "runs.csv");  // kept current: a long study can be read while it runs
    }
  }

  csv_table sum({"arm", "epochs", "fixed_mean", "fixed_sd", "fitted_mean", "fitted_sd", "accuracy_mean", "accuracy_sd",
                 "broken_mean", "broken_sd", "runs"});
  std::vector<std::string> ch{"epochs"};
  for (const auto& a : arms)
    for (const char* v : {"fixed_mean", "fixed_sd", "broken_mean", "broken_sd"}) ch.push_back(a + "_" + v);
  csv_table curves(ch);
  std::string table = "arm | epochs | common failures fixed | samples fitted | test accuracy | broken (of " +
                      std::to_string(guided.reference_correct.size()) + ")\n";
  for (std::size_t a = 0; a < arms.size(); ++a)
    for (std::size_t k = 0; k < epochs.size(); ++k) {
      sum.add(arms[a], epochs[k], fixed[a][k].mean(), fixed[a][k].sd(), fitted[a][k].mean(), fitted[a][k].sd(),
              acc[a][k].mean(), acc[a][k].sd(), broken[a][k].mean(), broken[a][k].sd(), fixed[a][k].values.size());
      table += examples::concat(arms[a], " | ", epochs[k], " | ", fixed[a][k].text(3), " | ", fitted[a][k].text(3),
                                " | ", acc[a][k].text(4), " | ", broken[a][k].text(1), "\n");
    }
  for (std::size_t k = 0; k < epochs.size(); ++k) {
    std::ostringstream row;
    row.precision(10);
    row << epochs[k];
    for (std::size_t a = 0; a < arms.size(); ++a)
      row << ',' << fixed[a][k].mean() << ',' << fixed[a][k].sd() << ',' << broken[a][k].mean() << ','
          << broken[a][k].sd();
    curves.add(row.str());
  }
  sum.save(dir / "summary.csv");
  curves.save(dir / "curves.csv");
  const std::string cp = (dir / "curves.csv").string();
  const auto curve_plot = [&](const std::string& name, const std::string& ylabel, const std::string& title,
                              int offset) {
    std::string plots;
    for (std::size_t a = 0; a < arms.size(); ++a) {
      const int col = 2 + 4 * static_cast<int>(a) + offset;
      plots += examples::concat(a ? ", " : "", "'", cp, "' every ::1 using ($1+", 0.08 * (static_cast<double>(a) - 1.5),
                                "):", col, ":", col + 1, " with yerrorlines title '", arms[a], "'");
    }
    plot(dir / (name + ".gp"),
         examples::concat(
             "set terminal pngcairo size 800,500\nset output '", (dir / (name + ".png")).string(),
             "'\nset datafile separator ','\nset key outside right\nset grid\nset xlabel 'training epochs'\n"
             "set ylabel '",
             ylabel, "'\nset yrange [0:*]\nset title '", title, "'\nplot ", plots, "\n"));
  };
  curve_plot("fixed", "fraction of the common failures fixed", "Sample-level repair (mean ± sd over seeds)", 0);
  curve_plot("broken", "test inputs all original models got right, now wrong", "Side effects (mean ± sd over seeds)",
             2);
  const std::string summary = examples::concat(
      "repair retrain: ", t.train.size(), " training images + ", guided.size(), " added samples for ",
      guided.testid.size(), " common failures (", samples, "); LSTM(", o.hidden, "), Adam 2e-3, batch 128, clip 5\n",
      arms.size(), " arms x ", seeds, " seeds (", first_seed, "..", first_seed + static_cast<std::uint64_t>(seeds - 1),
      ") = ", run_s.values.size(), " training runs of ", E, " epochs, evaluated after ", epochs.size(),
      " epoch counts; ", "each run ", run_s.text(1), " s (evaluation excluded)\n\n", table,
      "\n(fixed: of the common failures of the M original models; fitted: the arm's added samples, `none` scored on the "
      "guided samples; broken: test inputs all M original models got right that the retrained model gets wrong)\n",
      "total ", seconds_since(t_all), " s\n");
  io::atomic_write_bytes(dir / "summary.txt", summary);
  std::printf("\n%s", summary.c_str());
  return 0;
}

}  // namespace examples::repair_retrain
