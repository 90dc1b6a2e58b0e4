// repair segment — RNNRepair's segment-level repair (Xie et al., ICML 2021, §4.4), corrected, on the fortunes
// topic task (or the user's labelled text). Trains the GRU text classifier, abstracts its training
// traces (PCA -> GMM -> automaton with the transition -> training-sample index), and for every test
// input it gets wrong finds the fault point, the training samples of the true class that reach the
// same abstract node, the longest matching segment, and inserts the faulty token there. For each top_n:
// guided selection once and random selection for several seeds, each retrained from scratch with the
// original model's seed (so unedited data would give the original model back). Reports accuracy on the
// repaired targets and the side effects on every other test input.
// Writes <out>/{runs.csv, summary.csv, targets.csv, repair.png, side_effects.png, summary.txt}.
#include <CLI/CLI.hpp>

#include <cmath>
#include <map>

#include <rnnabs/abstraction/model.hpp>
#include <rnnabs/repair.hpp>

#include "text_task.hpp"
#include "../common/text.hpp"

namespace examples::repair_segment {

using namespace rnnabs;

int run(int argc, char** argv) {
  CLI::App app{"RNNRepair's segment-level repair of a GRU text classifier: guided vs random edits, with side effects"};
  text_task_options o;
  o.add_options(app);
  std::string out = "results/repair_segment";
  index_t pca = 10, components = 20, repeats = 5, target_class = -1;
  std::vector<index_t> top_n{5, 15, 25, 35, 45};
  index_t controls = 3;
  std::uint64_t select_seed = 100;
  app.add_option("--pca", pca, "PCA components of the abstraction");
  app.add_option("--components", components, "GMM components (abstract states)");
  app.add_option("--top-n", top_n, "edits per target, one retrain per value and strategy")->delimiter(',');
  app.add_option("--random-repeats", repeats, "random selections per top_n (seeds select-seed, +1, ...)");
  app.add_option("--select-seed", select_seed, "first seed of the random selections");
  app.add_option("--controls", controls, "retrains without edits from other seeds (seed+1, ...): the noise floor");
  app.add_option("--target-class", target_class, "repair only failures of this true class (-1: all failures)");
  app.add_option("--out", out, "results folder");
  CLI11_PARSE(app, argc, argv);
  const fs::path dir(out);
  fs::create_directories(dir);
  const auto t_all = std::chrono::steady_clock::now();
  const text_task t = load_text_task(o);

  // --- the original model and its abstraction ----------------------------------------------------
  auto t0 = std::chrono::steady_clock::now();
  const text_model m = train_text_model(o, t, t.train_batch);
  const double train_s = seconds_since(t0);
  const auto trt = profile(m, t.train_batch), tet = profile(m, t.test_batch);
  const double acc0 = accuracy_of(tet.predictions, tet.truth);
  std::printf("model     GRU(%ld), %ld epochs in %.1f s: test accuracy %.4f\n", o.hidden, o.epochs, train_s, acc0);
  t0 = std::chrono::steady_clock::now();
  const auto abs = build_abstraction(
      trt, {.pca_components = pca, .n_clusters = components, .seed = o.seed, .vocab_size = t.vocab.size()});
  const auto train_view = labelled_paths::from(trt, abs.abstraction.train_states());
  const auto test_view = labelled_paths::from(tet, abs.abstraction.states(tet));
  std::printf("abstract  PCA %ld -> GMM %ld states; automaton %ld transitions over %ld training steps (%.1f s)\n", pca,
              components, abs.automaton.n_transitions(), abs.automaton.total_count(), seconds_since(t0));

  // --- targets and what the rules do with them ---------------------------------------------------
  std::vector<index_t> targets;
  for (index_t i = 0; i < tet.size(); ++i)
    if (tet.predictions(i) != tet.truth(i) && (target_class < 0 || tet.truth(i) == target_class)) targets.push_back(i);
  require(!targets.empty(), "repair segment: the model makes no mistake", target_class >= 0 ? " on that class" : "");
  const index_t max_n = *std::max_element(top_n.begin(), top_n.end());
  const auto plan = plan_segment_repair(train_view, abs.automaton, test_view, targets, {.top_n = max_n});
  csv_table tcsv({"test_id", "truth", "prediction", "status", "fault_step", "fault_token", "pre_fault_state",
                  "pre_fault_label", "candidates", "best_match", "oov_tokens", "text"});
  index_t with_oov = 0;
  for (const auto& tp : plan.targets) {
    with_oov += tp.oov_tokens > 0;
    tcsv.add(tp.target, tet.truth(tp.target), tet.predictions(tp.target), std::string(to_string(tp.skipped)),
             tp.fault_step, csv_text(tp.fault_token >= 0 ? t.vocab.word(tp.fault_token) : ""), tp.pre_fault.state,
             tp.pre_fault.label, tp.candidates, tp.edits.empty() ? 0 : tp.edits.front().match_length, tp.oov_tokens,
             csv_text(t.vocab.text(test_view.tokens[static_cast<std::size_t>(tp.target)])));
  }
  tcsv.save(dir / "targets.csv");
  const std::string rules = examples::concat(
      targets.size(), " failures", target_class >= 0 ? examples::concat(" of class ", target_class) : "", ": ",
      plan.planned(), " repaired, ", plan.count(skip_reason::oov_fault_token), " skipped (faulty token <unk>), ",
      plan.count(skip_reason::no_candidates),
      " skipped (no training sample of the true class reaches the pre-fault node); ", with_oov,
      " targets hold <unk> elsewhere (kept)");
  std::printf("targets   %s\n", rules.c_str());
  std::fflush(stdout);
  require(plan.planned() > 0, "repair segment: no target can be repaired (", rules, ")");

  // --- the study: one fresh retrain per setting --------------------------------------------------
  const index_t total = static_cast<index_t>(top_n.size()) * (1 + repeats);
  examples::progress bar("retraining", static_cast<long>(total));
  index_t done = 0;
  csv_table runs({"top_n", "strategy", "repeat", "seed", "planned", "edits", "edited_samples", "short_of_top_n",
                  "mean_match_length", "target_accuracy", "rest_accuracy", "test_accuracy", "broken", "were_right",
                  "also_fixed", "seconds"});
  const auto rows = segment_repair_study(
      train_view, abs.automaton, test_view, targets, t.train_batch,
      [&](const sequence_batch<float>& edited) {
        return train_text_model(o, t, edited).forward(t.test_batch).predictions;
      },
      {.top_n = top_n, .random_repeats = repeats, .seed = select_seed},
      [&](const segment_study_row& r) {
        runs.add(r.top_n, std::string(to_string(r.strategy)), r.repeat, r.seed, r.planned, r.edits, r.edited_samples,
                 r.short_of_top_n, r.mean_match_length, r.outcome.target_accuracy(), r.outcome.rest_accuracy(),
                 r.outcome.accuracy(), r.outcome.broken, r.outcome.were_right, r.outcome.also_fixed, r.seconds);
        bar.update(static_cast<long>(++done),
                   examples::concat("top_n ", r.top_n, " ", to_string(r.strategy), ": targets ",
                                    r.outcome.targets_fixed, "/", r.outcome.targets, ", broken ", r.outcome.broken));
      });
  // --- control: no edit, other training seeds — what retraining alone fixes and breaks -------------
  spread c_fix, c_broken, c_rest;
  bool reproduced = false;
  for (index_t k = controls > 0 ? 0 : 1; k <= controls; ++k) {
    text_task_options oc = o;
    oc.seed = o.seed + static_cast<std::uint64_t>(k);
    const auto c0 = std::chrono::steady_clock::now();
    const auto after = train_text_model(oc, t, t.train_batch).forward(t.test_batch).predictions;
    std::vector<index_t> planned;
    for (const auto& tp : plan.targets)
      if (tp.skipped == skip_reason::none) planned.push_back(tp.target);
    const auto oc_out = judge_repair(tet.truth, tet.predictions, after, planned);
    if (k == 0) {  // the original seed: training is reproducible, so this is the original model
      reproduced = after == tet.predictions;
      continue;
    }
    c_fix.add(oc_out.target_accuracy());
    c_broken.add(static_cast<double>(oc_out.broken));
    c_rest.add(oc_out.rest_accuracy());
    runs.add(0, "control", k, oc.seed, 0, 0, 0, 0, 0, oc_out.target_accuracy(), oc_out.rest_accuracy(),
             oc_out.accuracy(), oc_out.broken, oc_out.were_right, oc_out.also_fixed, seconds_since(c0));
    std::fprintf(stderr, "control %ld/%ld (seed %lu, no edit): targets %ld/%ld, broken %ld\n", k, controls,
                 static_cast<unsigned long>(oc.seed), oc_out.targets_fixed, oc_out.targets, oc_out.broken);
  }
  runs.save(dir / "runs.csv");

  // --- per top_n: guided, random mean ± sd ------------------------------------------------------------
  csv_table sum({"top_n", "guided_target_accuracy", "random_target_accuracy_mean", "random_target_accuracy_sd",
                 "guided_rest_accuracy", "random_rest_accuracy_mean", "random_rest_accuracy_sd", "guided_broken",
                 "random_broken_mean", "random_broken_sd", "guided_match", "random_match"});
  std::string table = "top_n | targets fixed: guided | random (mean ± sd) | rest accuracy: guided | random | "
                      "broken: guided | random | match length: guided | random\n";
  double retrain_s = 0;
  for (const auto& r : rows) retrain_s += r.seconds;
  for (const index_t n : top_n) {
    const segment_study_row* g = nullptr;
    spread ta, ra, br, mt;
    for (const auto& r : rows) {
      if (r.top_n != n) continue;
      if (r.strategy == selection::guided) {
        g = &r;
        continue;
      }
      ta.add(r.outcome.target_accuracy());
      ra.add(r.outcome.rest_accuracy());
      br.add(static_cast<double>(r.outcome.broken));
      mt.add(r.mean_match_length);
    }
    sum.add(n, g->outcome.target_accuracy(), ta.mean(), ta.sd(), g->outcome.rest_accuracy(), ra.mean(), ra.sd(),
            g->outcome.broken, br.mean(), br.sd(), g->mean_match_length, mt.mean());
    char line[320];
    std::snprintf(line, sizeof line,
                  "%5ld | %.3f | %.3f ± %.3f | %.4f | %.4f ± %.4f | %ld | %.1f ± %.1f | %.2f | %.2f\n", n,
                  g->outcome.target_accuracy(), ta.mean(), ta.sd(), g->outcome.rest_accuracy(), ra.mean(), ra.sd(),
                  g->outcome.broken, br.mean(), br.sd(), g->mean_match_length, mt.mean());
    table += line;
  }
  sum.save(dir / "summary.csv");
  const std::string sp = (dir / "summary.csv").string();
  const auto line_plot = [&](const std::string& name, const std::string& ylabel, const std::string& yrange,
                             const std::string& title, int guided_col, int mean_col) {
    plot(dir / (name + ".gp"),
         examples::concat("set terminal pngcairo size 800,500\nset output '", (dir / (name + ".png")).string(),
                          "'\nset datafile separator ','\nset key top left\nset xlabel 'top n (edits per target)'\n"
                          "set offsets graph 0.05, graph 0.05, 0, 0\nset ylabel '",
                          ylabel, "'\nset yrange ", yrange, "\nset title '", title, "'\nplot '", sp,
                          "' every ::1 using 1:", guided_col, " with linespoints title 'guided', '", sp,
                          "' every ::1 using 1:", mean_col, ":", mean_col + 1,
                          " with yerrorlines title 'random (mean ± sd)'\n"));
  };
  line_plot("repair", "accuracy on the repaired targets", "[0:1]", "Segment-level repair: guided vs random selection",
            2, 3);
  line_plot("side_effects", "previously correct test inputs now wrong", "[0:*]",
            "Side effects of the repair on the rest of the test set", 8, 9);
  const std::string summary = examples::concat(
      "repair segment: ", t.source, "\n", "train ", t.train.size(), ", test ", t.test.size(), ", vocabulary ",
      t.vocab.size(), "; GRU(", o.hidden, "), ", o.epochs, " epochs, seed ", o.seed, ": test accuracy ", acc0, "\n",
      "abstraction: PCA ", pca, ", GMM ", components, " states; ", abs.automaton.n_transitions(), " transitions\n",
      rules, "\n", "retrains: ", rows.size(), " (", top_n.size(), " top_n x (1 guided + ", repeats, " random)) + ",
      controls, controls > 0 ? " controls + 1 reproduction check; " : " controls; ", retrain_s, " s for the ",
      rows.size(), " (", retrain_s / static_cast<double>(rows.size()), " s each)\n\n", table, "\n",
      controls > 0 ? examples::concat("control (no edit, training seeds ", o.seed + 1, "..",
                                      o.seed + static_cast<std::uint64_t>(controls), "): targets fixed ", c_fix.text(),
                                      ", rest accuracy ", c_rest.text(4), ", broken ", c_broken.text(1),
                                      "\n(retrained with the original seed and no edit: ",
                                      reproduced ? "the original predictions exactly" : "DIFFERENT predictions",
                                      ", so each row above measures its edits)\n")
                   : std::string(),
      "(rest = the ", tet.size() - plan.planned(), " other test inputs; broken = of those right before, wrong after; ",
      "the original model is right on ", (tet.predictions.array() == tet.truth.array()).count(), ")\n", "total ",
      seconds_since(t_all), " s\n");
  rnnabs::io::atomic_write_bytes(dir / "summary.txt", summary);
  std::printf("\n%s", summary.c_str());
  return 0;
}

}  // namespace examples::repair_segment
