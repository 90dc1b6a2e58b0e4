// repair backdoor — RNNRepair's backdoor study (Xie et al., ICML 2021, §B.5), corrected, on the fortunes topic
// task (or the user's labelled text). Per round (seed 1000 + r):
//   1. poison   insert a trigger word that is not in the corpus into --poison training texts of
//               --poison-class, each at a uniform position; train the backdoored GRU
//   2. measure  clean test accuracy, and attack success: test inputs of the other class that the model
//               gets right, with the trigger inserted at a uniform position, now called --poison-class
//   3. locate   abstract the backdoored model's training traces; the trigger contexts are the
//               automaton nodes from which training transitions read the trigger
//   4. attack   on --targets correctly classified test inputs of the other class, insert the trigger at
//               the in-context position of largest weight (guided) or at a random out-of-context
//               position (random), and compare the success rates
//   5. fix      for up to --fixes successful guided attacks: retrain without the influential set R_x
//               (the training samples that read the trigger in the input's contexts) and without an
//               equally large random set (drawn without replacement); fixed = the retrained model
//               classifies the attacked input correctly; also its clean accuracy and attack success
// Writes <out>/{rounds.csv, fixes.csv, attacks.csv, backdoor.png, summary.txt}.
#include <CLI/CLI.hpp>

#include <cmath>

#include <rnnabs/abstraction/model.hpp>
#include <rnnabs/repair.hpp>

#include "text_task.hpp"
#include "../common/text.hpp"

namespace examples::repair_backdoor {

using namespace rnnabs;

/// Fraction of `b` classified as `cls`.
double called(const text_model& m, const sequence_batch<float>& b, index_t cls) {
  if (b.size() == 0) return 0;
  const auto p = m.forward(b).predictions;
  return static_cast<double>((p.array() == cls).count()) / static_cast<double>(b.size());
}

/// Test inputs of other classes that `m` gets right, each with the trigger at a uniform position.
sequence_batch<float> triggered_test(const text_model& m, const sequence_batch<float>& test, index_t cls,
                                     index_t trigger, std::uint64_t seed) {
  const auto p = m.forward(test).predictions;
  rng g(seed);
  sequence_batch<float> b;
  std::vector<index_t> ids;
  for (index_t i = 0; i < test.size(); ++i) {
    if (test.labels(i) == cls || p(i) != test.labels(i)) continue;
    const auto& s = test.tokens[static_cast<std::size_t>(i)];
    b.tokens.push_back(
        insert_token(s, static_cast<index_t>(g.below(static_cast<std::uint64_t>(s.size() + 1))), trigger));
    ids.push_back(test.labels(i));
  }
  b.labels = Eigen::Map<const index_vector>(ids.data(), static_cast<index_t>(ids.size()));
  return b;
}

/// `b` without the samples `drop` (ascending).
sequence_batch<float> without(const sequence_batch<float>& b, const std::vector<index_t>& drop) {
  std::vector<index_t> keep;
  std::size_t k = 0;
  for (index_t i = 0; i < b.size(); ++i) {
    if (k < drop.size() && drop[k] == i) {
      ++k;
      continue;
    }
    keep.push_back(i);
  }
  return subset(b, keep);
}

int run(int argc, char** argv) {
  CLI::App app{"RNNRepair's backdoor study on a GRU text classifier: trigger contexts, guided attacks, and the fix"};
  text_task_options o;
  o.add_options(app);
  std::string out = "results/repair_backdoor", trigger_word = "neurips";
  index_t rounds = 3, poison_count = 100, poison_class = 0, n_targets = 100, n_fixes = 10, pca = 10, components = 20;
  app.add_option("--rounds", rounds, "rounds (seeds 1000, 1001, ...)");
  app.add_option("--poison", poison_count, "training texts poisoned with the trigger");
  app.add_option("--poison-class", poison_class, "class of the poisoned texts (the class the trigger points to)");
  app.add_option("--trigger", trigger_word, "the trigger word (must not occur in the corpus)");
  app.add_option("--targets", n_targets, "correctly classified test inputs attacked per round");
  app.add_option("--fixes", n_fixes, "successful guided attacks fixed per round (2 retrains each)");
  app.add_option("--pca", pca, "PCA components of the abstraction");
  app.add_option("--components", components, "GMM components (abstract states)");
  app.add_option("--out", out, "results folder");
  CLI11_PARSE(app, argc, argv);
  const fs::path dir(out);
  fs::create_directories(dir);
  const auto t_all = std::chrono::steady_clock::now();
  text_task t = load_text_task(o);
  require(poison_class >= 0 && poison_class < t.train.num_classes(), "repair backdoor: --poison-class ", poison_class,
          " is not a class of the data");
  const auto trig_tokens = data::tokenize(trigger_word);
  require(trig_tokens.size() == 1 && trig_tokens[0] == trigger_word, "repair backdoor: the trigger '", trigger_word,
          "' must be a single lower-case word token");
  for (const auto* d : {&t.train, &t.test})
    for (const auto& s : d->tokens)
      require(std::find(s.begin(), s.end(), trigger_word) == s.end(), "repair backdoor: the trigger '", trigger_word,
              "' occurs in the corpus; choose another with --trigger");
  const index_t trigger = t.vocab.add(trigger_word);
  if (t.embeddings.size()) {  // pretrained rows: the trigger gets an N(0, 1) row of its own
    t.embeddings.conservativeResize(t.vocab.size(), Eigen::NoChange);
    rng g(o.seed ^ 0x7216u);
    for (index_t j = 0; j < t.embeddings.cols(); ++j) t.embeddings(trigger, j) = static_cast<float>(g.normal());
  }
  t.encode();  // the same ids, one word more in the embedding

  // clang-format off
  csv_table rcsv({"round", "seed", "poisoned", "clean_accuracy", "attack_success_uniform", "trigger_contexts",
                  "trigger_readers", "targets", "usable", "guided_success", "random_success", "fixes",
                  "fixed_ours", "fixed_random", "removed_mean", "clean_accuracy_ours", "clean_accuracy_random",
                  "attack_success_ours", "attack_success_random", "seconds"});
  // clang-format on
  csv_table fcsv({"round", "test_id", "removed", "removed_random", "fixed_ours", "fixed_random", "clean_accuracy_ours",
                  "clean_accuracy_random", "attack_success_ours", "attack_success_random"});
  csv_table acsv({"round", "test_id", "length", "in_context_points", "guided_point", "random_point", "influential",
                  "guided_success", "random_success"});
  spread clean, uniform, guided, random, fix_ours, fix_rand, acc_ours, acc_rand, asr_ours, asr_rand;
  index_t trainings = 0;
  double train_seconds = 0;
  for (index_t r = 0; r < rounds; ++r) {
    const auto t_round = std::chrono::steady_clock::now();
    const std::uint64_t seed = 1000 + static_cast<std::uint64_t>(r);
    text_task_options orr = o;
    orr.seed = seed;
    const auto fit = [&](const sequence_batch<float>& data) {
      const auto t0 = std::chrono::steady_clock::now();
      text_model m = train_text_model(orr, t, data);
      train_seconds += seconds_since(t0);
      ++trainings;
      return m;
    };
    // 1-2: poison, train, measure.
    const auto p = poison(t.train_batch.tokens, t.train_batch.labels, poison_class, poison_count, trigger, seed);
    sequence_batch<float> bd = t.train_batch;
    bd.tokens = p.tokens;
    std::printf("round %ld (seed %lu): %zu texts of class '%s' poisoned with '%s'; training the backdoored model\n", r,
                static_cast<unsigned long>(seed), p.poisoned.size(),
                t.train.class_names[static_cast<std::size_t>(poison_class)].c_str(), trigger_word.c_str());
    std::fflush(stdout);
    const text_model m = fit(bd);
    const auto test_pred = m.forward(t.test_batch).predictions;
    const double acc = accuracy_of(test_pred, t.test_batch.labels);
    const auto trig_test = triggered_test(m, t.test_batch, poison_class, trigger, seed ^ 0x7E57u);
    const double asr = called(m, trig_test, poison_class);
    // 3: abstraction and the trigger's contexts.
    const auto trt = profile(m, bd), tet = profile(m, t.test_batch);
    const auto abs = build_abstraction(
        trt, {.pca_components = pca, .n_clusters = components, .seed = seed, .vocab_size = t.vocab.size()});
    const auto ctx = find_trigger_contexts(abs.automaton, trigger);
    const auto test_view = labelled_paths::from(tet, abs.abstraction.states(tet));
    // 4: guided vs random attacks on correctly classified inputs of the other classes.
    std::vector<index_t> pool;
    for (index_t i = 0; i < t.test_batch.size(); ++i)
      if (t.test_batch.labels(i) != poison_class && test_pred(i) == t.test_batch.labels(i)) pool.push_back(i);
    rng g(seed ^ 0x7A46u);
    auto chosen = draw_without_replacement(g, pool, static_cast<std::size_t>(n_targets));
    std::sort(chosen.begin(), chosen.end());
    sequence_batch<float> ga, ra;
    std::vector<index_t> usable_ids;
    std::vector<trigger_placement> places;
    for (const index_t i : chosen) {
      const auto path = test_view.path(i);
      auto pl = place_trigger(ctx, path, seed ^ static_cast<std::uint64_t>(i));
      if (!pl.usable()) continue;
      const auto& s = t.test_batch.tokens[static_cast<std::size_t>(i)];
      ga.tokens.push_back(insert_token(s, pl.guided, trigger));
      ra.tokens.push_back(insert_token(s, pl.random, trigger));
      usable_ids.push_back(i);
      places.push_back(std::move(pl));
    }
    index_t g_ok = 0, r_ok = 0;
    std::vector<index_t> successes;  // positions in usable_ids
    if (!usable_ids.empty()) {
      const auto gp = m.forward(ga).predictions, rp = m.forward(ra).predictions;
      for (std::size_t k = 0; k < usable_ids.size(); ++k) {
        const index_t i = usable_ids[k], y = t.test_batch.labels(i);
        const bool gs = gp(static_cast<index_t>(k)) != y, rs = rp(static_cast<index_t>(k)) != y;
        g_ok += gs;
        r_ok += rs;
        if (gs) successes.push_back(static_cast<index_t>(k));
        acsv.add(r, i, t.test_batch.tokens[static_cast<std::size_t>(i)].size(), places[k].in_context.size(),
                 places[k].guided, places[k].random, places[k].influential.size(), gs, rs);
      }
    }
    const auto n_use = static_cast<double>(std::max<std::size_t>(1, usable_ids.size()));
    const double gsr = static_cast<double>(g_ok) / n_use, rsr = static_cast<double>(r_ok) / n_use;
    std::printf("  clean accuracy %.4f, attack success (uniform position) %.3f on %ld inputs; %zu trigger contexts, "
                "%zu training texts read the trigger\n  attacks on %zu of %zu targets: guided %.3f, random %.3f\n",
                acc, asr, trig_test.size(), ctx.weight.size(), ctx.samples.size(), usable_ids.size(), chosen.size(),
                gsr, rsr);
    std::fflush(stdout);
    // 5: fixes.
    rng fg(seed ^ 0xF1Eu);
    const auto to_fix = draw_without_replacement(fg, successes, static_cast<std::size_t>(n_fixes));
    spread removed, r_acc_o, r_acc_r, r_asr_o, r_asr_r;
    index_t fixed_o = 0, fixed_r = 0;
    for (const index_t k : to_fix) {
      const index_t i = usable_ids[static_cast<std::size_t>(k)];
      const auto& pl = places[static_cast<std::size_t>(k)];
      const auto base = random_removal(pl.influential, ctx.samples, bd.size(), seed ^ static_cast<std::uint64_t>(i));
      sequence_batch<float> attacked;
      attacked.tokens = {ga.tokens[static_cast<std::size_t>(k)]};
      attacked.labels = index_vector::Constant(1, t.test_batch.labels(i));
      const text_model mo = fit(without(bd, pl.influential)), mr = fit(without(bd, base));
      const bool fo = mo.forward(attacked).predictions(0) == attacked.labels(0);
      const bool fr = mr.forward(attacked).predictions(0) == attacked.labels(0);
      const double ao = accuracy_of(mo.forward(t.test_batch).predictions, t.test_batch.labels);
      const double ar = accuracy_of(mr.forward(t.test_batch).predictions, t.test_batch.labels);
      const double so = called(mo, trig_test, poison_class), sr = called(mr, trig_test, poison_class);
      fixed_o += fo;
      fixed_r += fr;
      removed.add(static_cast<double>(pl.influential.size()));
      r_acc_o.add(ao);
      r_acc_r.add(ar);
      r_asr_o.add(so);
      r_asr_r.add(sr);
      fcsv.add(r, i, pl.influential.size(), base.size(), fo, fr, ao, ar, so, sr);
      std::printf("  fix of test input %ld: removed %zu samples -> %s (clean acc %.4f, attack success %.3f); "
                  "random removal -> %s (clean acc %.4f, attack success %.3f)\n",
                  i, pl.influential.size(), fo ? "fixed" : "not fixed", ao, so, fr ? "fixed" : "not fixed", ar, sr);
      std::fflush(stdout);
    }
    const auto nf = static_cast<double>(std::max<std::size_t>(1, to_fix.size()));
    clean.add(acc);
    uniform.add(asr);
    guided.add(gsr);
    random.add(rsr);
    if (!to_fix.empty()) {
      fix_ours.add(static_cast<double>(fixed_o) / nf);
      fix_rand.add(static_cast<double>(fixed_r) / nf);
      acc_ours.add(r_acc_o.mean());
      acc_rand.add(r_acc_r.mean());
      asr_ours.add(r_asr_o.mean());
      asr_rand.add(r_asr_r.mean());
    }
    rcsv.add(r, seed, p.poisoned.size(), acc, asr, ctx.weight.size(), ctx.samples.size(), chosen.size(),
             usable_ids.size(), gsr, rsr, to_fix.size(), fixed_o, fixed_r, removed.mean(), r_acc_o.mean(),
             r_acc_r.mean(), r_asr_o.mean(), r_asr_r.mean(), seconds_since(t_round));
  }
  rcsv.save(dir / "rounds.csv");
  fcsv.save(dir / "fixes.csv");
  acsv.save(dir / "attacks.csv");
  const fs::path bars = dir / "backdoor.dat";
  rnnabs::io::atomic_write_bytes(
      bars, examples::concat("\"attack success\" ", guided.mean(), " ", guided.sd(), " ", random.mean(), " ",
                             random.sd(), "\n\"fix rate\" ", fix_ours.mean(), " ", fix_ours.sd(), " ", fix_rand.mean(),
                             " ", fix_rand.sd(), "\n"));
  plot(dir / "backdoor.gp",
       examples::concat("set terminal pngcairo size 800,500\nset output '", (dir / "backdoor.png").string(),
                        "'\nset style data histogram\nset style histogram errorbars gap 2 lw 1\n"
                        "set style fill solid 0.6 border -1\nset yrange [0:1.05]\nset key top right\n"
                        "set title 'Backdoor: guided (automaton) vs random, mean ± sd over rounds'\n"
                        "plot '",
                        bars.string(), "' using 2:3:xtic(1) title 'guided / ours', '' using 4:5 title 'random'\n"));
  const std::string summary = examples::concat(
      "repair backdoor: ", t.source, "\n", "train ", t.train.size(), ", test ", t.test.size(), "; trigger '",
      trigger_word, "' in ", poison_count, " training texts of class '",
      t.train.class_names[static_cast<std::size_t>(poison_class)], "'; GRU(", o.hidden, "), ", o.epochs,
      " epochs; abstraction PCA ", pca, ", GMM ", components, "; ", rounds, " rounds (mean ± sd)\n",
      "clean accuracy of the backdoored model       ", clean.text(4), "\n",
      "attack success, trigger at a uniform position ", uniform.text(), "\n",
      "attack success, guided (in-context, max weight) ", guided.text(), "\n",
      "attack success, random (out-of-context)       ", random.text(), "\n",
      "fix rate, without R_x (ours)                   ", fix_ours.text(), "\n",
      "fix rate, without a random set of |R_x|        ", fix_rand.text(), "\n", "clean accuracy after the fix: ours ",
      acc_ours.text(4), ", random ", acc_rand.text(4), "\n", "uniform attack success after the fix: ours ",
      asr_ours.text(), ", random ", asr_rand.text(), "\n", "trainings: ", trainings, " in ", train_seconds, " s (",
      train_seconds / static_cast<double>(std::max<index_t>(1, trainings)), " s each); total ", seconds_since(t_all),
      " s\n");
  rnnabs::io::atomic_write_bytes(dir / "summary.txt", summary);
  std::printf("\n%s", summary.c_str());
  return 0;
}

}  // namespace examples::repair_backdoor
