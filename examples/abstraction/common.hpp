#pragma once
// Shared by the abstraction experiments: the trained Fashion-MNIST LSTM's traces, from a cache folder.
//   <cache>/train_traces.npz + test_traces.npz   used as they are (train_fmnist --train-traces writes them)
//   <cache>/model.rnnabs                         profiled over Fashion-MNIST when the traces are missing
//   nothing                                      a short LSTM(128) is trained first (2 epochs, Adam)
// Whatever is made is saved into the cache for the next run. Every file has its record beside it
// (<file>.params, examples/common/cache.hpp): the model is used only if it is a 10-class model of
// 28-pixel rows scored on this test set (whoever trained it, however); the traces only if they were
// profiled from this data by this very model file. Anything else is rebuilt (--strict-cache: an error).
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include <rnnabs/core/parallel.hpp>
#include <rnnabs/data/fashion_mnist.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/nn/image_sequences.hpp>
#include <rnnabs/nn/profile.hpp>
#include <rnnabs/nn/train.hpp>
#include <rnnabs/stats/gmm_types.hpp>

#include "../common/cache.hpp"
#include "../common/results.hpp"
#include "../common/world.hpp"

namespace examples {

struct fmnist_traces {
  rnnabs::traces<float> train, test;
  std::string source;
};

/// The first `limit` sequences of tr (all when limit <= 0).
inline rnnabs::traces<float> head_of(rnnabs::traces<float> tr, rnnabs::index_t limit) {
  if (limit <= 0 || limit >= tr.size()) return tr;
  const auto n = static_cast<std::size_t>(limit);
  tr.hidden.resize(n);
  tr.step_probabilities.resize(n);
  tr.step_labels.resize(n);
  if (!tr.tokens.empty()) tr.tokens.resize(n);
  tr.predictions.conservativeResize(limit);
  tr.truth.conservativeResize(limit);
  return tr;
}

/// What a model's record must say for the abstraction experiments to profile it: a classifier of
/// 28-pixel rows into 10 classes, scored on `test_set` (train_fmnist's and the short training's records
/// say so; epochs, cell, size are the maker's choice).
inline cache_record fmnist_model_requirement(const rnnabs::sequence_batch<float>& test_set) {
  cache_record r;
  r.add("input", 28).add("classes", 10).add("data.test", fingerprint_of(test_set));
  return r;
}

/// The record of a trace file (`set`: train or test) profiled from `data` by the model whose stored
/// record is `model` (with its file fingerprint: a retrained model invalidates its traces).
inline cache_record fmnist_traces_record(std::string_view set, const rnnabs::sequence_batch<float>& data,
                                         const cache_record& model) {
  cache_record r("hidden-state traces of Fashion-MNIST rows");
  r.add("set", set).add("data", fingerprint_of(data)).add("model", model);
  return r;
}

/// The Fashion-MNIST LSTM of the abstraction experiments.
struct fmnist_model {
  rnnabs::lstm_classifier<float> model;
  cache_record record;
  std::string source;
};

/// The size of the LSTM trained when the cache holds no usable model.
struct fmnist_model_shape {
  rnnabs::index_t hidden = 128, epochs = 2;
};

/// <cache>/model.rnnabs when its record fits this test set, else an LSTM trained on `train_set` (Adam)
/// and saved there.
inline fmnist_model load_fmnist_model(const fs::path& cache, const rnnabs::sequence_batch<float>& train_set,
                                      const rnnabs::sequence_batch<float>& test_set, std::uint64_t seed,
                                      cache_policy on_mismatch = cache_policy::rebuild, fmnist_model_shape shape = {}) {
  using namespace rnnabs;
  fmnist_model r;
  const fs::path model_file = cache / "model.rnnabs";
  if (cache_lookup(model_file, fmnist_model_requirement(test_set), {.on_mismatch = on_mismatch, .subset = true})) {
    r.record = read_cache_record(model_file).value();
    r.model = lstm_classifier<float>::load(model_file);
    r.source = "the cached model " + model_file.string();
    return r;
  }
  fs::create_directories(cache);
  std::fprintf(stderr, "no usable model in %s: training a short LSTM(%ld) (%ld epochs, Adam)\n", cache.c_str(),
               shape.hidden, shape.epochs);
  r.model = lstm_classifier<float>(rnn_config{.input_size = 28, .hidden_size = shape.hidden, .num_classes = 10}, seed);
  train_options o{.epochs = shape.epochs, .batch_size = 128, .seed = seed, .clip_norm = 5};
  o.validation = &test_set;
  cache_record want("LSTM classifier of Fashion-MNIST rows (the abstraction experiments' short training)");
  want.add("cell", "lstm")
      .add("input", 28)
      .add("hidden", shape.hidden)
      .add("classes", 10)
      .add("epochs", o.epochs)
      .add("batch", o.batch_size)
      .add("optimizer", "adam")
      .add("lr", 2e-3)
      .add("clip", o.clip_norm)
      .add("seed", seed)
      .add("data.train", fingerprint_of(train_set))
      .add("data.test", fingerprint_of(test_set));
  r.record = cache_store(model_file, want, [&](const fs::path& p) {
    const auto h = train(r.model, train_set, adam{.lr = 2e-3}, o);
    std::printf("trained   LSTM(%ld), %ld epochs, test accuracy %.4f\n", shape.hidden, shape.epochs,
                h.epochs.back().val_accuracy);
    r.model.save(p);
  });
  r.source = "a freshly trained model (saved to " + model_file.string() + ")";
  return r;
}

inline fmnist_traces load_fmnist_traces(const fs::path& cache, const std::string& data_dir, std::uint64_t seed,
                                        cache_policy on_mismatch = cache_policy::rebuild) {
  using namespace rnnabs;
  fmnist_traces r;
  const auto t0 = std::chrono::steady_clock::now();
  const auto train_set = row_sequences(data::load_fashion_mnist(data::split::train, data_dir));
  const auto test_set = row_sequences(data::load_fashion_mnist(data::split::test, data_dir));
  const fs::path model_file = cache / "model.rnnabs", train_file = cache / "train_traces.npz",
                 test_file = cache / "test_traces.npz";
  std::optional<cache_record> model_record;
  if (cache_lookup(model_file, fmnist_model_requirement(test_set), {.on_mismatch = on_mismatch, .subset = true}))
    model_record = read_cache_record(model_file);
  if (model_record &&
      cache_lookup(train_file, fmnist_traces_record("train", train_set, *model_record), {.on_mismatch = on_mismatch}) &&
      cache_lookup(test_file, fmnist_traces_record("test", test_set, *model_record), {.on_mismatch = on_mismatch})) {
    r.train = load_traces<float>(train_file);
    r.test = load_traces<float>(test_file);
    r.source = "cached traces in " + cache.string();
  } else {
    const fmnist_model m = load_fmnist_model(cache, train_set, test_set, seed, on_mismatch);
    r.source = m.source;
    r.train = profile(m.model, train_set);
    r.test = profile(m.model, test_set);
    cache_store(train_file, fmnist_traces_record("train", train_set, m.record),
                [&](const fs::path& p) { save_traces(p, r.train); });
    cache_store(test_file, fmnist_traces_record("test", test_set, m.record),
                [&](const fs::path& p) { save_traces(p, r.test); });
  }
  std::printf("traces    %ld train / %ld test sequences, width %ld, %ld classes, from %s (%.1fs)\n", r.train.size(),
              r.test.size(), r.train.width(), r.train.num_classes(), r.source.c_str(), seconds_since(t0));
  return r;
}

/// What the dist-* experiments (under mpirun) share on their command line; open() reads the data on
/// every rank, cuts the training set, and loads the model (rank 0 first, training it when the cache has
/// none, then the other ranks).
struct dist_job {
  std::string cache = "results/train_fmnist_lstm", data_dir = rnnabs::data::fashion_mnist_dir.string(), out;
  rnnabs::index_t train_limit = 0;
  std::uint64_t seed = 0;
  int threads = 0;
  fmnist_model_shape shape;

  void add_options(CLI::App& app) {
    app.add_option("--cache", cache, "folder of the trained model (train_fmnist writes it; trained here when missing)");
    app.add_option("--data", data_dir, "Fashion-MNIST IDX folder");
    app.add_option("--out", out, "results folder (written by rank 0)");
    app.add_option("--train-limit", train_limit,
                   "training sequences: the first N (0: all 60000); a model trained here is trained on them");
    app.add_option("--seed", seed, "seed of the model training and of the fits");
    app.add_option("--threads", threads, "threads per rank (0: all cores)");
    app.add_option("--hidden", shape.hidden, "hidden units of the LSTM trained when the cache has none");
    app.add_option("--epochs", shape.epochs, "epochs of that training");
  }

  struct opened {
    rnnabs::sequence_batch<float> train, test;
    fmnist_model model;
  };
  opened open(const world& w) const {
    using namespace rnnabs;
    if (threads > 0) set_threads(threads);
    const communicator_ref comm = w.comm();
    // Every rank reads the data (a missing or corrupt file stops every rank with the same error).
    auto train_set = collectively(
        comm, [&] { return row_sequences(data::load_fashion_mnist(data::split::train, data_dir)); });
    auto test_set = collectively(comm,
                                 [&] { return row_sequences(data::load_fashion_mnist(data::split::test, data_dir)); });
    if (train_limit > 0 && train_limit < train_set.size()) {
      std::vector<index_t> head(static_cast<std::size_t>(train_limit));
      std::iota(head.begin(), head.end(), 0);
      train_set = subset(train_set, head);
    }
    fmnist_model m =
        w.root_first([&] { return load_fmnist_model(cache, train_set, test_set, seed, cache_policy::rebuild, shape); });
    w.say("model     ", m.source, "\n");
    return {std::move(train_set), std::move(test_set), std::move(m)};
  }
};

/// What every abstraction experiment shares on its command line: where the traces come from, where
/// the results go, how much of the training set and how many threads.
struct trace_job {
  std::string cache = "results/train_fmnist_lstm", data_dir = rnnabs::data::fashion_mnist_dir.string(), out;
  rnnabs::index_t train_limit = 0;
  int threads = 0;
  bool float_em = false, strict_cache = false;

  void add_options(CLI::App& app) {
    app.add_option("--cache", cache, "folder of the trained model and traces (train_fmnist --train-traces writes it)");
    app.add_flag("--strict-cache", strict_cache,
                 "stop with an error when a cached model or trace file was made from other data or another model "
                 "(default: rebuild it)");
    app.add_option("--data", data_dir, "Fashion-MNIST IDX folder (the cached traces must have been made from it)");
    app.add_option("--out", out, "results folder");
    app.add_option("--train-limit", train_limit, "use the first N training sequences only (0: all)");
    app.add_option("--threads", threads, "threads (0: all cores)");
    app.add_flag(
        "--float-em", float_em,
        "run the mixture's EM iterations in float (about 2x faster; scikit-learn's arithmetic on float32 traces)");
  }
  rnnabs::em_precision precision() const {
    return float_em ? rnnabs::em_precision::single_precision : rnnabs::em_precision::double_precision;
  }
  /// Sets the threads, makes the results folder, loads (or makes) the traces, cuts the training set.
  fmnist_traces open(std::uint64_t seed) const {
    if (threads > 0) rnnabs::set_threads(threads);
    fs::create_directories(out);
    fmnist_traces tr = load_fmnist_traces(cache, data_dir, seed,
                                          strict_cache ? cache_policy::error : cache_policy::rebuild);
    tr.train = head_of(std::move(tr.train), train_limit);
    return tr;
  }
};

inline double accuracy(const rnnabs::traces<float>& tr) {
  return static_cast<double>((tr.predictions.array() == tr.truth.array()).count()) / static_cast<double>(tr.size());
}

}  // namespace examples
