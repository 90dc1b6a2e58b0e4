// influence label-flip — RNNRepair's data-cleaning experiment (Xie et al., ICML 2021, §4.2) on Fashion-MNIST:
// two classes read row by row (default 5 Sandal -> label 0, 7 Sneaker -> label 1), 30% of the label-1
// training samples flipped to 0, RNNRepair's binary LSTM (LSTM(100) -> dense(2), softmax-then-BCE,
// plain SGD lr 0.1, batch 256) trained clean and flipped from the same seed. Then per seed:
//   effective flips   flipped samples the flipped model learned (it predicts their flipped label)
//   target errors     test inputs the clean model gets right and the flipped model calls 0 wrongly
//   rankings          of all training samples by how much they caused the target errors:
//                     proposed (automaton transition overlap, RNNRepair's, fixed), similarity (mean
//                     abstract-trace distance), Koh & Liang (CG), SGD-influence (all epochs and the
//                     last epoch, Hara et al. over the recorded run), TracIn (the recorded run), random
//   recall            fraction of all / of effective flips among the top f of each ranking
//   retraining        restore the flips found in the top f of a ranking, retrain from scratch, measure
//                     the target errors fixed and the test accuracy
// Writes <out>/{recall.csv, retrain.csv, seeds.csv, scores_<seed>.csv, flip_fix.png (the three panels
// of RNNRepair's figure), summary.txt}. Seeds 1000..1002 by default, 1000..1009 with --all-seeds.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <map>
#include <numeric>

#include <rnnabs/abstraction/features.hpp>
#include <rnnabs/abstraction/model.hpp>
#include <rnnabs/data/fashion_mnist.hpp>
#include <rnnabs/data/split.hpp>
#include <rnnabs/influence.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/nn/image_sequences.hpp>

#include "../common/results.hpp"
#include "../common/text.hpp"

namespace examples::influence_label_flip {

using namespace rnnabs;
namespace fs = examples::fs;
using model_t = rnn_classifier<lstm_cell, float>;

struct settings {
  std::vector<int> classes{5, 7};
  double ratio = 0.3;
  std::vector<std::uint64_t> seeds{1000, 1001, 1002};
  index_t epochs = 30, hidden = 100, batch = 256, pca = 10, components = 32;
  double lr = 0.1;
  index_t hessian = 1000, cg_iters = 50;
  double damping = 0.01;
  std::vector<double> retrain{0.05, 0.1, 0.2};
  std::vector<std::string> retrain_methods{"random", "koh_liang", "sgd_all", "tracin", "proposed"};
};

const std::vector<std::string> methods{"random",  "proposed", "similarity", "koh_liang",
                                       "sgd_all", "sgd_last", "tracin"};

std::vector<double> fractions() {
  std::vector<double> f;
  for (int k = 1; k <= 20; ++k) f.push_back(0.05 * k);
  return f;
}

struct run_data {
  sequence_batch<float> train, test;
  std::vector<index_t> flips;  // training ids whose label was flipped 1 -> 0
  index_vector true_train;     // the labels before flipping
};

run_data make_data(const settings& s, const std::string& dir, std::uint64_t seed) {
  const std::vector<std::int32_t> cls(s.classes.begin(), s.classes.end());
  auto train = row_sequences(data::select_classes(data::load_fashion_mnist(data::split::train, dir), cls));
  run_data d;
  d.test = row_sequences(data::select_classes(data::load_fashion_mnist(data::split::test, dir), cls));
  // RNNRepair's order: a seeded permutation of the training set; then ⌊ratio·|{y = 1}|⌋ ones flipped.
  std::vector<index_t> perm(static_cast<std::size_t>(train.size()));
  std::iota(perm.begin(), perm.end(), index_t{0});
  rng g(seed);
  g.shuffle(std::span<index_t>(perm));
  d.train = subset(train, perm);
  d.true_train = d.train.labels;
  std::vector<index_t> ones;
  for (index_t i = 0; i < d.train.size(); ++i)
    if (d.train.labels(i) == 1) ones.push_back(i);
  g.shuffle(std::span<index_t>(ones));
  ones.resize(static_cast<std::size_t>(std::floor(s.ratio * static_cast<double>(ones.size()))));
  std::sort(ones.begin(), ones.end());
  for (index_t i : ones) d.train.labels(i) = 0;
  d.flips = ones;
  return d;
}

model_t train_model(const settings& s, const sequence_batch<float>& data, std::uint64_t seed,
                    sgd_trajectory<float>* traj = nullptr) {
  model_t m(rnn_config{.input_size = 28, .hidden_size = s.hidden, .num_classes = 2, .loss = loss_kind::softmax_bce},
            seed);
  train_options o{.epochs = s.epochs, .batch_size = s.batch, .seed = seed};
  if (traj) o.on_step = traj->recorder();
  train(m, data, sgd{.lr = s.lr}, o);
  if (traj) traj->finish(m.parameters());
  return m;
}

double accuracy_on(const model_t& m, const sequence_batch<float>& b, const std::vector<index_t>& ids) {
  if (ids.empty()) return 0;
  const auto sub = subset(b, ids);
  const auto p = m.forward(sub).predictions;
  return static_cast<double>((p.array() == sub.labels.array()).count()) / static_cast<double>(ids.size());
}

/// Koh & Liang with CG; the damping is raised tenfold while the Hessian shows negative curvature.
vector<double> koh_liang_scores(const batch_objective<model_t>& f, const vector<float>& w, const matrix<double>& gt,
                                const settings& s, std::uint64_t seed, std::string& note) {
  std::vector<index_t> ids(static_cast<std::size_t>(f.sample_count()));
  std::iota(ids.begin(), ids.end(), index_t{0});
  rng g(seed ^ 0x4B4Cu);
  g.shuffle(std::span<index_t>(ids));
  ids.resize(static_cast<std::size_t>(std::min(s.hessian, f.sample_count())));
  std::sort(ids.begin(), ids.end());
  const auto fh = f.subset(ids);
  double damping = s.damping;
  for (int attempt = 0;; ++attempt) {
    try {
      cg_ihvp solver(fh, w, {.damping = damping, .tol = 1e-4, .max_iter = s.cg_iters});
      const auto r = koh_liang(f, w, gt, solver);
      note = examples::concat("damping ", damping, "; ", r.report.iterations, " CG iterations; residual ",
                              r.report.residual);
      return r.scores.col(0);
    } catch (const numerical_error& e) {
      if (attempt >= 4) throw;
      damping *= 10;
    }
  }
}

int run(int argc, char** argv) {
  CLI::App app{"RNNRepair RQ3 on Fashion-MNIST: find flipped labels by influence, restore them, retrain"};
  settings s;
  std::string data_dir = data::fashion_mnist_dir.string(), out = "results/influence_label_flip";
  bool all_seeds = false, quick = false;
  int threads = 0;
  app.add_option("--classes", s.classes, "the two classes (label 0, label 1)")->delimiter(',')->expected(2);
  app.add_option("--ratio", s.ratio, "fraction of label-1 training samples flipped to 0")->check(CLI::Range(0.01, 0.9));
  app.add_option("--seeds", s.seeds, "seeds, one run each")->delimiter(',');
  app.add_flag("--all-seeds", all_seeds, "seeds 1000..1009 (RNNRepair's ten)");
  app.add_option("--epochs", s.epochs, "training epochs of every model");
  app.add_option("--hidden", s.hidden, "LSTM hidden units");
  app.add_option("--lr", s.lr, "SGD learning rate");
  app.add_option("--batch", s.batch, "SGD batch size");
  app.add_option("--pca", s.pca, "PCA components of the abstraction");
  app.add_option("--components", s.components, "GMM components (abstract states)");
  app.add_option("--hessian", s.hessian, "training samples in the Koh & Liang Hessian");
  app.add_option("--cg-iters", s.cg_iters, "CG iterations of Koh & Liang");
  app.add_option("--damping", s.damping, "Koh & Liang damping (raised tenfold on negative curvature)");
  app.add_option("--retrain", s.retrain, "fractions of the ranking checked before retraining (empty: no retraining)")
      ->delimiter(',');
  app.add_option("--retrain-methods", s.retrain_methods, "rankings retrained from")->delimiter(',');
  bool no_retrain = false;
  app.add_flag("--no-retrain", no_retrain, "rankings and recall only");
  app.add_flag("--quick", quick, "one seed, 8 epochs, retraining at 10% only (a smoke run)");
  app.add_option("--data", data_dir, "directory of the Fashion-MNIST (or MNIST) IDX files");
  app.add_option("--out", out, "results folder");
  app.add_option("--threads", threads, "threads (0: all cores)");
  CLI11_PARSE(app, argc, argv);
  if (all_seeds) {
    s.seeds.clear();
    for (std::uint64_t k = 1000; k < 1010; ++k) s.seeds.push_back(k);
  }
  if (no_retrain) s.retrain.clear();
  if (quick) {
    s.seeds.resize(1);
    s.epochs = 8;
    s.retrain = {0.1};
  }
  if (threads > 0) set_threads(threads);
  for (const auto& m : s.retrain_methods)
    require(std::find(methods.begin(), methods.end(), m) != methods.end(), "--retrain-methods: unknown method '", m,
            "'");
  const fs::path dir(out);
  fs::create_directories(dir);
  const auto t_all = std::chrono::steady_clock::now();
  const auto fr = fractions();
  examples::csv_table recall({"seed", "method", "fraction", "all_flips", "effective_flips"});
  examples::csv_table retrain({"seed", "method", "fraction", "restored", "test_accuracy", "target_accuracy"});
  examples::csv_table seeds({"seed", "train", "flips", "effective_flips", "targets", "clean_test_accuracy",
                             "flipped_test_accuracy", "koh_liang", "seconds"});
  std::map<std::string, std::vector<std::vector<double>>> all_curve, eff_curve;
  std::map<std::string, std::map<double, std::vector<double>>> fixed;
  index_t used = 0;
  for (const std::uint64_t seed : s.seeds) {
    const auto t_seed = std::chrono::steady_clock::now();
    const run_data d = make_data(s, data_dir, seed);
    const index_t n = d.train.size();
    std::printf("seed %lu: %ld training sequences, %zu labels flipped; training the clean and the flipped model\n",
                static_cast<unsigned long>(seed), n, d.flips.size());
    std::fflush(stdout);
    sequence_batch<float> clean_data = d.train;
    clean_data.labels = d.true_train;
    const model_t clean = train_model(s, clean_data, seed);
    sgd_trajectory<float> traj;
    const model_t flipped = train_model(s, d.train, seed, &traj);
    const auto pc = clean.forward(d.test).predictions, pf = flipped.forward(d.test).predictions;
    const auto ptrain = flipped.forward(d.train).predictions;
    std::vector<index_t> effective, targets;
    for (index_t i : d.flips)
      if (ptrain(i) == 0) effective.push_back(i);
    for (index_t i = 0; i < d.test.size(); ++i)
      if (pc(i) == d.test.labels(i) && pf(i) != d.test.labels(i) && pf(i) == 0) targets.push_back(i);
    const double acc_clean = static_cast<double>((pc.array() == d.test.labels.array()).count()) /
                             static_cast<double>(d.test.size());
    const double acc_flip = static_cast<double>((pf.array() == d.test.labels.array()).count()) /
                            static_cast<double>(d.test.size());
    std::printf("  test accuracy clean %.2f%%, flipped %.2f%%; %zu effective flips, %zu target errors (%.1fs)\n",
                100 * acc_clean, 100 * acc_flip, effective.size(), targets.size(), examples::seconds_since(t_seed));
    if (targets.empty() || effective.empty()) {
      std::printf("  no target errors or no effective flips: seed skipped (as RNNRepair does)\n");
      seeds.add(seed, n, d.flips.size(), effective.size(), targets.size(), acc_clean, acc_flip, "skipped",
                examples::seconds_since(t_seed));
      continue;
    }
    ++used;
    std::map<std::string, vector<double>> score;  // every method: ascending = most to blame first
    // Random.
    {
      std::vector<index_t> order(static_cast<std::size_t>(n));
      std::iota(order.begin(), order.end(), index_t{0});
      rng g(seed ^ 0x5EEDu);
      g.shuffle(std::span<index_t>(order));
      vector<double> r(n);
      for (index_t k = 0; k < n; ++k) r(order[static_cast<std::size_t>(k)]) = static_cast<double>(k);
      score["random"] = r;
    }
    // The abstraction of the flipped model; proposed and similarity.
    auto t0 = std::chrono::steady_clock::now();
    const auto tr_train = profile(flipped, d.train);
    const auto tr_target = profile(flipped, subset(d.test, targets));
    const auto am = build_abstraction(tr_train, {.pca_components = s.pca, .n_clusters = s.components, .seed = seed});
    const auto target_states = am.abstraction.states(tr_target);
    score["proposed"] = -automaton_influence(am.automaton, target_states, tr_target.step_labels).rowwise().sum();
    {
      const index_t nr = am.abstraction.n_states() - 1, C = 2;
      const auto a_train = normalized_traces(
          am.abstraction.abstract_traces(am.abstraction.train_states(), tr_train.step_labels), nr, C);
      const auto a_target = normalized_traces(am.abstraction.abstract_traces(target_states, tr_target.step_labels), nr,
                                              C, feature_set::all, a_train.steps);
      vector<double> dist = vector<double>::Zero(n);
      for (index_t q = 0; q < a_target.size(); ++q) dist += trace_distances(a_target, q, a_train);
      score["similarity"] = dist / static_cast<double>(a_target.size());
    }
    std::printf("  abstraction (PCA %ld, %ld states) and the proposed / similarity rankings in %.1fs\n", s.pca,
                s.components, examples::seconds_since(t0));
    // Gradient methods: the targets' test loss under their true labels, at the final parameters.
    t0 = std::chrono::steady_clock::now();
    const auto target_batch = subset(d.test, targets);
    const batch_objective f(flipped, d.train);
    const batch_objective ft(flipped, target_batch);
    const vector<float>& w = traj.final_parameters();
    const matrix<double> gt = mean_sample_gradient(ft, w);
    std::string kl_note;
    score["koh_liang"] = koh_liang_scores(f, w, gt, s, seed, kl_note);
    std::printf("  Koh & Liang (%s) in %.1fs\n", kl_note.c_str(), examples::seconds_since(t0));
    t0 = std::chrono::steady_clock::now();
    const auto sgd_r = sgd_influence(f, traj, gt);
    score["sgd_all"] = sgd_r.all_epochs.col(0);
    score["sgd_last"] = sgd_r.last_epoch.col(0);
    std::printf("  SGD-influence over %ld recorded steps in %.1fs (test gradient amplified %.3g x over the last "
                "epoch, %.3g x over the run)\n",
                sgd_r.steps, examples::seconds_since(t0), sgd_r.gain.back(), sgd_r.gain.front());
    t0 = std::chrono::steady_clock::now();
    score["tracin"] = tracin(f, ft, traj, {.aggregate = true}).col(0);
    std::printf("  TracIn over the run in %.1fs\n", examples::seconds_since(t0));

    {
      std::vector<std::string> head{"sample", "flipped", "effective"};
      head.insert(head.end(), methods.begin(), methods.end());
      examples::csv_table sc(head);
      std::vector<char> fl(static_cast<std::size_t>(n), 0), ef(static_cast<std::size_t>(n), 0);
      for (index_t i : d.flips) fl[static_cast<std::size_t>(i)] = 1;
      for (index_t i : effective) ef[static_cast<std::size_t>(i)] = 1;
      for (index_t i = 0; i < n; ++i)
        sc.add(i, int(fl[static_cast<std::size_t>(i)]), int(ef[static_cast<std::size_t>(i)]), score["random"](i),
               score["proposed"](i), score["similarity"](i), score["koh_liang"](i), score["sgd_all"](i),
               score["sgd_last"](i), score["tracin"](i));
      sc.save(dir / examples::concat("scores_", seed, ".csv"));
    }
    // Recall curves.
    std::map<std::string, std::vector<index_t>> order;
    for (const auto& m : methods) {
      order[m] = ranking(score[m], /*ascending=*/true);
      const auto a = recall_at_fractions(order[m], d.flips, fr), e = recall_at_fractions(order[m], effective, fr);
      all_curve[m].push_back(a);
      eff_curve[m].push_back(e);
      for (std::size_t k = 0; k < fr.size(); ++k) recall.add(seed, m, fr[k], a[k], e[k]);
    }
    std::printf("  recall of effective flips in the top 10%%:");
    for (const auto& m : methods) std::printf(" %s %.3f", m.c_str(), eff_curve[m].back()[1]);
    std::printf("\n");
    // Retraining with the flips found restored.
    for (const auto& m : s.retrain_methods)
      for (double q : s.retrain) {
        const auto restore = top_fraction_in(order[m], d.flips, q);
        sequence_batch<float> fixed_data = d.train;
        for (index_t i : restore) fixed_data.labels(i) = d.true_train(i);
        const auto t1 = std::chrono::steady_clock::now();
        const model_t re = train_model(s, fixed_data, seed);
        const auto p = re.forward(d.test).predictions;
        const double test_acc = static_cast<double>((p.array() == d.test.labels.array()).count()) /
                                static_cast<double>(d.test.size());
        const double target_acc = accuracy_on(re, d.test, targets);
        retrain.add(seed, m, q, restore.size(), test_acc, target_acc);
        fixed[m][q].push_back(target_acc);
        std::printf(
            "  retrain %-9s top %4.1f%%: %4zu flips restored, target errors fixed %.3f, test accuracy %.2f%% (%.1fs)\n",
            m.c_str(), 100 * q, restore.size(), target_acc, 100 * test_acc, examples::seconds_since(t1));
        std::fflush(stdout);
      }
    seeds.add(seed, n, d.flips.size(), effective.size(), targets.size(), acc_clean, acc_flip, kl_note,
              examples::seconds_since(t_seed));
    recall.save(dir / "recall.csv");
    retrain.save(dir / "retrain.csv");
    seeds.save(dir / "seeds.csv");
  }
  recall.save(dir / "recall.csv");
  retrain.save(dir / "retrain.csv");
  seeds.save(dir / "seeds.csv");
  require<numerical_error>(used > 0, "influence label-flip: no seed produced target errors; try more epochs or "
                                     "another class pair");
  // Means over seeds, for the figure and the summary.
  examples::csv_table mean({"method", "fraction", "all_flips", "effective_flips"});
  for (const auto& m : methods)
    for (std::size_t k = 0; k < fr.size(); ++k) {
      double a = 0, e = 0;
      for (std::size_t r = 0; r < all_curve[m].size(); ++r) {
        a += all_curve[m][r][k];
        e += eff_curve[m][r][k];
      }
      mean.add(m, fr[k], a / static_cast<double>(used), e / static_cast<double>(used));
    }
  mean.save(dir / "recall_mean.csv");
  examples::csv_table fix_mean({"method", "fraction", "target_accuracy"});
  for (const auto& [m, byq] : fixed) {
    fix_mean.add(m, 0.0, 0.0);  // the flipped model itself gets every target wrong
    for (const auto& [q, v] : byq)
      fix_mean.add(m, q, std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()));
  }
  fix_mean.save(dir / "retrain_mean.csv");
  const std::string rm = (dir / "recall_mean.csv").string(), fm = (dir / "retrain_mean.csv").string();
  std::string panels;
  for (int panel = 0; panel < 3; ++panel) {
    const char* title[] = {"Fraction of total flips fixed", "Fraction of influential flips fixed",
                           "Fraction of errors repaired"};
    panels += examples::concat("set title '", title[panel], "'\nset xlabel 'Fraction of train data checked'\nplot ");
    bool first = true;
    for (std::size_t k = 0; k < methods.size(); ++k) {  // a method keeps its colour in every panel
      const auto& m = methods[k];
      if (panel == 2 && !fixed.count(m)) continue;
      panels += examples::concat(first ? "" : ", ", "'", panel == 2 ? fm : rm, "' using 2:(strcol(1) eq '", m, "' ? $",
                                 panel == 0   ? 3
                                 : panel == 1 ? 4
                                              : 3,
                                 " : 1/0) with linespoints lw 2 lc ", k + 1, " pt ", k + 1, " title '", m, "'");
      first = false;
    }
    panels += "\n";
  }
  const bool plotted = examples::plot(
      dir / "flip_fix.gp",
      "set terminal pngcairo size 1800,500 font 'sans,11' noenhanced\nset output '" + (dir / "flip_fix.png").string() +
          "'\nset datafile separator ','\nset key bottom right\nset grid\nset yrange [0:1]\nset multiplot layout 1,3\n" +
          panels + "unset multiplot\n");
  std::string summary = examples::concat("influence label-flip: Fashion-MNIST ", s.classes[0], " vs ", s.classes[1],
                                         ", ", 100 * s.ratio, "% of label-1 flipped, ", used, " of ", s.seeds.size(),
                                         " seeds used, ", s.epochs,
                                         " epochs\nmean recall of effective flips at 10% / 20% "
                                         "of the data checked:\n");
  for (const auto& m : methods) {
    double e10 = 0, e20 = 0;
    for (const auto& c : eff_curve[m]) {
      e10 += c[1];
      e20 += c[3];
    }
    summary += examples::concat("  ", m, ": ", e10 / static_cast<double>(used), " / ", e20 / static_cast<double>(used),
                                "\n");
  }
  summary += examples::concat(
      "files: recall.csv, recall_mean.csv, retrain.csv, retrain_mean.csv, seeds.csv, scores_<seed>.csv",
      plotted ? ", flip_fix.png" : "", "\ntotal time ", examples::seconds_since(t_all), " s\n");
  io::atomic_write_bytes(dir / "summary.txt", summary);
  std::printf("%sresults in %s\n", summary.c_str(), dir.c_str());
  return 0;
}

}  // namespace examples::influence_label_flip
