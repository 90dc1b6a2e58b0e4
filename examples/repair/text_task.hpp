#pragma once
// Shared by the repair experiments: the text task (the fortunes topics by default, or the user's own
// labelled text), its vocabulary and batches, and RNNRepair's text classifier (embedding -> GRU
// -> last-step head) trained with rnnabs::train.
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <rnnabs/core/parallel.hpp>
#include <rnnabs/data/fortunes.hpp>
#include <rnnabs/data/text.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/nn/text_sequences.hpp>

#include "../common/results.hpp"
#include "../common/text.hpp"

namespace examples {

using text_model = rnnabs::gru_classifier<float>;

struct text_task_options {
  std::string data;       // empty: the fortunes topics; else a TSV ("label<TAB>text") or CSV file
  std::string test_data;  // optional test file of the same format (else a split of `data`)
  std::string fortunes = rnnabs::data::fortunes_dir.string();
  std::vector<std::string> classes;  // class names in id order (user files)
  std::string text_column = "text", label_column = "label";
  double test_fraction = 0.2;
  std::uint64_t split_seed = 2021;
  rnnabs::index_t min_freq = 2, max_tokens = 60;
  std::string glove;  // optional GloVe-format vectors (the embedding size is theirs)
  // the model and its training
  rnnabs::index_t embedding = 64, hidden = 128, epochs = 12, batch = 32;
  double lr = 2e-3, dropout = 0.3, clip = 5;
  std::uint64_t seed = 1;
  int threads = 0;

  void add_options(CLI::App& app) {
    app.add_option("--data", data,
                   "labelled text file: \"label<TAB>text\" lines, or CSV with a header (.csv); "
                   "default: the fortunes topics (computing vs people)");
    app.add_option("--test-data", test_data, "test file in the same format (default: a split of --data)");
    app.add_option("--fortunes", fortunes, "folder of the fortunes strfile sources");
    app.add_option("--classes", classes, "class names in id order (user files; default: sorted labels)")
        ->delimiter(',');
    app.add_option("--text-column", text_column, "CSV column of the text");
    app.add_option("--label-column", label_column, "CSV column of the label");
    app.add_option("--test-fraction", test_fraction, "fraction held out for testing (stratified)")
        ->check(CLI::Range(0.01, 0.9));
    app.add_option("--split-seed", split_seed, "seed of the train/test split");
    app.add_option("--min-freq", min_freq, "words seen fewer times in training become <unk>");
    app.add_option("--max-tokens", max_tokens, "texts with more tokens are left out (0: no limit)");
    app.add_option("--glove", glove, "pretrained vectors (GloVe text format) for the embedding");
    app.add_option("--embedding", embedding, "embedding size (learned; ignored with --glove)");
    app.add_option("--hidden", hidden, "GRU hidden units");
    app.add_option("--epochs", epochs, "training epochs of every model");
    app.add_option("--batch", batch, "mini-batch size");
    app.add_option("--lr", lr, "Adam learning rate");
    app.add_option("--dropout", dropout, "dropout before the head (training only)");
    app.add_option("--seed", seed, "seed of the model's initialisation and training");
    app.add_option("--threads", threads, "threads (0: all cores)");
  }
};

struct text_task {
  rnnabs::data::text_dataset train, test;
  rnnabs::data::vocabulary vocab;
  rnnabs::sequence_batch<float> train_batch, test_batch;
  rnnabs::encode_report train_oov, test_oov;
  rnnabs::index_t train_dropped_all_oov = 0, test_dropped_all_oov = 0;
  std::string source;
  rnnabs::matrix<float> embeddings;  // from --glove, else empty
  rnnabs::index_t glove_found = 0;

  /// Re-encodes the batches after the vocabulary changed (e.g. a trigger word was added).
  void encode() {
    train_batch = rnnabs::text_sequences<float>(train, vocab, &train_oov);
    test_batch = rnnabs::text_sequences<float>(test, vocab, &test_oov);
  }
};

inline std::string class_sizes_text(const rnnabs::data::text_dataset& d) {
  std::string s;
  const auto n = d.class_sizes();
  for (std::size_t c = 0; c < n.size(); ++c) s += examples::concat(c ? ", " : "", d.class_names[c], " ", n[c]);
  return s;
}

/// Loads and splits the data, builds the vocabulary from the training texts, encodes both sets
/// (texts whose every word is unknown are left out and counted).
inline text_task load_text_task(const text_task_options& o) {
  using namespace rnnabs;
  if (o.threads > 0) set_threads(o.threads);
  text_task t;
  data::text_options to{
      .text_column = o.text_column, .label_column = o.label_column, .classes = o.classes, .max_tokens = o.max_tokens};
  if (o.data.empty()) {
    auto g = data::fortunes_grouping();
    g.max_tokens = o.max_tokens;
    auto split = data::train_test_split(data::load_fortunes(o.fortunes, g), o.test_fraction, o.split_seed);
    t.train = std::move(split.train);
    t.test = std::move(split.test);
    t.source = examples::concat("fortunes (", o.fortunes,
                                "): computing = computers + linux + perl, people = people + love + men-women");
  } else if (o.test_data.empty()) {
    auto split = data::train_test_split(data::load_labelled_text(o.data, to), o.test_fraction, o.split_seed);
    t.train = std::move(split.train);
    t.test = std::move(split.test);
    t.source = o.data;
  } else {
    t.train = data::load_labelled_text(o.data, to);
    to.classes = t.train.class_names;
    t.test = data::load_labelled_text(o.test_data, to);
    t.source = o.data + " + " + o.test_data;
  }
  t.vocab = data::vocabulary::build(t.train.tokens, {.min_freq = o.min_freq});
  // Texts made only of unknown words (e.g. one word seen once) carry nothing the model could read:
  // left out of both sets, and counted.
  const auto readable = [&](data::text_dataset& d) {
    encode_report r;
    text_sequences<float>(d, t.vocab, &r, /*allow_all_oov=*/true);
    std::vector<index_t> keep;
    for (index_t i = 0; i < d.size(); ++i)
      if (r.oov[static_cast<std::size_t>(i)] < static_cast<index_t>(d.tokens[static_cast<std::size_t>(i)].size()))
        keep.push_back(i);
    const index_t dropped = d.size() - static_cast<index_t>(keep.size());
    d = data::subset(d, keep);
    return dropped;
  };
  t.train_dropped_all_oov = readable(t.train);
  t.test_dropped_all_oov = readable(t.test);
  if (!o.glove.empty()) t.embeddings = data::load_embeddings<float>(o.glove, t.vocab, o.seed, &t.glove_found);
  t.encode();
  std::printf("data      %s\n          train %ld (%s), test %ld (%s); vocabulary %ld words (min_freq %ld); "
              "OOV: %ld test tokens in %ld texts%s\n",
              t.source.c_str(), t.train.size(), class_sizes_text(t.train).c_str(), t.test.size(),
              class_sizes_text(t.test).c_str(), t.vocab.size(), o.min_freq, t.test_oov.oov_tokens,
              t.test_oov.texts_with_oov,
              examples::concat("; all-OOV texts left out: ", t.train_dropped_all_oov, " train, ",
                               t.test_dropped_all_oov, " test")
                  .c_str());
  return t;
}

/// A fresh GRU text classifier for `vocab_size` words, initialised from `seed` (GloVe rows when given).
inline text_model make_text_model(const text_task_options& o, const text_task& t) {
  using namespace rnnabs;
  const index_t emb = t.embeddings.size() ? t.embeddings.cols() : o.embedding;
  text_model m(rnn_config{.input_size = emb,
                          .vocab_size = t.vocab.size(),
                          .hidden_size = o.hidden,
                          .num_classes = t.train.num_classes(),
                          .dropout = o.dropout},
               o.seed);
  if (t.embeddings.size()) m.set_tensor("embedding.weight", t.embeddings);
  return m;
}

/// Trains a fresh model on `data` (the task's own batch or an edited one).
inline text_model train_text_model(const text_task_options& o, const text_task& t,
                                   const rnnabs::sequence_batch<float>& data, rnnabs::train_history* history = nullptr,
                                   const rnnabs::sequence_batch<float>* validation = nullptr, bool progress = false) {
  using namespace rnnabs;
  text_model m = make_text_model(o, t);
  train_options to{.epochs = o.epochs, .batch_size = o.batch, .seed = o.seed, .clip_norm = o.clip};
  to.validation = validation;
  to.progress = progress;
  auto h = train(m, data, adam{.lr = o.lr}, to);
  if (history) *history = std::move(h);
  return m;
}

}  // namespace examples
