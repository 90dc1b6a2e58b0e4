// abstraction tomita — automaton extraction scored against a known ground truth: for each of the seven
// Tomita grammars, train a small LSTM on labelled binary strings (every prefix labelled by the
// grammar's DFA), profile it, build the abstraction (identity reduction + diagonal GMM), read a DFA off
// the automaton (rnnabs::extract_dfa), and compare it with the true minimal DFA on held-out strings.
// The number of GMM components is picked per grammar by agreement with the RNN on the training
// strings (never on the test strings).
//
// Writes <out>/tomita.csv, tomita.md (the table of docs/abstraction.md), summary.txt.
#include <CLI/CLI.hpp>

#include <rnnabs/abstraction/dfa.hpp>
#include <rnnabs/abstraction/model.hpp>
#include <rnnabs/data/tomita.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/nn/profile.hpp>
#include <rnnabs/nn/train.hpp>

#include "../common/results.hpp"
#include "../common/text.hpp"

namespace examples::abstraction_tomita {

using namespace rnnabs;

sequence_batch<float> to_batch(const data::tomita_data& d, int g) {
  const data::dfa dfa = data::tomita_dfa(g);
  sequence_batch<float> b;
  b.tokens = d.strings;
  for (const auto& s : d.strings) {
    index_vector y(s.size());
    index_t q = 0;
    for (index_t t = 0; t < s.size(); ++t) {
      q = dfa.next[static_cast<std::size_t>(q)][static_cast<std::size_t>(s(t))];
      y(t) = dfa.accepting[static_cast<std::size_t>(q)] ? 1 : 0;
    }
    b.step_labels.push_back(y);
  }
  return b;
}

double agreement(const extracted_dfa& d, const std::vector<index_vector>& strings, const index_vector& want) {
  index_t ok = 0;
  for (std::size_t i = 0; i < strings.size(); ++i) ok += d.classify(strings[i]) == want(static_cast<index_t>(i));
  return static_cast<double>(ok) / static_cast<double>(strings.size());
}

int run(int argc, char** argv) {
  CLI::App app{"Automaton extraction on the seven Tomita grammars, scored against their minimal DFAs"};
  std::string out = "results/abstraction_tomita";
  index_t n_train = 2000, n_test = 2000, max_len = 16, test_max_len = 24, hidden = 16, epochs = 40;
  std::vector<index_t> ks = {2, 3, 4, 5, 6, 8, 10, 12, 16};
  std::vector<int> grammars = {1, 2, 3, 4, 5, 6, 7};
  std::uint64_t seed = 1;
  int threads = 0;
  app.add_option("--out", out, "results folder");
  app.add_option("--grammars", grammars, "Tomita grammars (1..7)")->delimiter(',');
  app.add_option("--train", n_train, "training strings per grammar (half accepted)");
  app.add_option("--test", n_test, "held-out strings per grammar");
  app.add_option("--max-len", max_len, "longest training string");
  app.add_option("--test-max-len", test_max_len, "longest held-out string");
  app.add_option("--hidden", hidden, "LSTM hidden units");
  app.add_option("--epochs", epochs, "training epochs");
  app.add_option("--k", ks, "candidate numbers of GMM components")->delimiter(',');
  app.add_option("--seed", seed, "seed of data, model, training and GMM");
  app.add_option("--threads", threads, "threads (0: all cores)");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) set_threads(threads);
  const examples::fs::path dir(out);
  examples::fs::create_directories(dir);
  examples::csv_table csv({"grammar", "dfa_states", "rnn_test_acc", "components", "extracted_states",
                           "extracted_minimal_states", "extracted_vs_dfa", "extracted_vs_rnn", "seconds"});
  std::string md =
      "| grammar | minimal DFA states | RNN test accuracy | GMM components | extracted states (reachable) | "
      "extracted, minimized | extracted vs DFA | extracted vs RNN |\n|---|---|---|---|---|---|---|---|\n";
  examples::progress bar("tomita", static_cast<long>(grammars.size()));
  long done = 0;
  for (int g : grammars) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto train_d = data::tomita_dataset(g, n_train, 1, max_len, seed * 1000 + static_cast<std::uint64_t>(g));
    const auto test_d = data::tomita_dataset(g, n_test, 1, test_max_len,
                                             seed * 1000 + 500 + static_cast<std::uint64_t>(g));
    const auto train_b = to_batch(train_d, g), test_b = to_batch(test_d, g);
    lstm_classifier<float> model(
        rnn_config{
            .input_size = 4, .vocab_size = 2, .hidden_size = hidden, .num_classes = 2, .head = head_mode::every_step},
        seed + static_cast<std::uint64_t>(g));
    train_options o{.epochs = epochs, .batch_size = 32, .seed = seed, .clip_norm = 5, .progress = false};
    train(model, train_b, adam{.lr = 1e-2}, o);
    const auto tr = profile(model, train_b), te = profile(model, test_b);
    const double rnn_acc = static_cast<double>((te.predictions.array() == te.truth.array()).count()) /
                           static_cast<double>(te.size());
    // Pick the number of components by agreement with the RNN on the training strings.
    index_t best_k = ks.front();
    double best = -1;
    for (index_t k : ks) {
      const auto m = build_abstraction(tr, {.pca_components = 0, .n_clusters = k, .seed = seed});
      const double a = agreement(extract_dfa(m.automaton, m.abstraction.label_distribution()), train_d.strings,
                                 tr.predictions);
      if (a > best + 1e-12) best = a, best_k = k;
    }
    const auto m = build_abstraction(tr, {.pca_components = 0, .n_clusters = best_k, .seed = seed});
    const auto d = extract_dfa(m.automaton, m.abstraction.label_distribution());
    const double vs_dfa = agreement(d, test_d.strings, test_d.labels);
    const double vs_rnn = agreement(d, test_d.strings, te.predictions);
    const index_t dfa_states = data::minimal_size(data::tomita_dfa(g));
    const index_t reach = d.reachable_states(), minimal = d.minimal_states(1);
    const double secs = examples::seconds_since(t0);
    csv.add(g, dfa_states, rnn_acc, best_k, reach, minimal, vs_dfa, vs_rnn, secs);
    char line[256];
    std::snprintf(line, sizeof line, "| %d | %ld | %.4f | %ld | %ld | %ld | %.4f | %.4f |\n", g, dfa_states, rnn_acc,
                  best_k, reach, minimal, vs_dfa, vs_rnn);
    md += line;
    bar.update(++done, "grammar " + std::to_string(g));
    std::printf("tomita %d  DFA %ld states | RNN acc %.4f | n = %ld: %ld reachable, %ld minimal | vs DFA %.4f, vs "
                "RNN %.4f (%.1fs)\n",
                g, dfa_states, rnn_acc, best_k, reach, minimal, vs_dfa, vs_rnn, secs);
    std::fflush(stdout);
  }
  csv.save(dir / "tomita.csv");
  rnnabs::io::atomic_write_bytes(dir / "tomita.md", md);
  rnnabs::io::atomic_write_bytes(
      dir / "summary.txt",
      examples::concat("abstraction tomita\n", n_train, " training strings (lengths 1..", max_len, "), ", n_test,
                       " held-out strings (lengths 1..", test_max_len, ") per grammar; LSTM(", hidden, "), ", epochs,
                       " epochs, every prefix labelled; identity reduction + diagonal GMM\n\n", md,
                       "\nfiles: tomita.csv, tomita.md\n"));
  std::printf("\n%s\nresults   %s\n", md.c_str(), dir.c_str());
  return 0;
}

}  // namespace examples::abstraction_tomita
