#pragma once
// Shared by the abstraction experiments: the trained Fashion-MNIST LSTM's traces, from a cache folder.
//   <cache>/train_traces.npz + test_traces.npz   used as they are (train_fmnist --train-traces writes them)
//   <cache>/model.rnnabs                         profiled over Fashion-MNIST when the traces are missing
//   nothing                                      a short LSTM(128) is trained first (2 epochs, Adam)
// Whatever is made is saved into the cache for the next run.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include <rnnabs/data/fashion_mnist.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/nn/image_sequences.hpp>
#include <rnnabs/nn/profile.hpp>
#include <rnnabs/nn/train.hpp>

#include "../common/results.hpp"

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

inline fmnist_traces load_fmnist_traces(const fs::path& cache, const std::string& data_dir, std::uint64_t seed) {
  using namespace rnnabs;
  fmnist_traces r;
  const auto t0 = std::chrono::steady_clock::now();
  if (fs::exists(cache / "train_traces.npz") && fs::exists(cache / "test_traces.npz")) {
    r.train = load_traces<float>(cache / "train_traces.npz");
    r.test = load_traces<float>(cache / "test_traces.npz");
    r.source = "cached traces in " + cache.string();
  } else {
    fs::create_directories(cache);
    const auto train_set = row_sequences(data::load_fashion_mnist(data::split::train, data_dir));
    const auto test_set = row_sequences(data::load_fashion_mnist(data::split::test, data_dir));
    lstm_classifier<float> model;
    if (fs::exists(cache / "model.rnnabs")) {
      model = lstm_classifier<float>::load(cache / "model.rnnabs");
      r.source = "the cached model " + (cache / "model.rnnabs").string();
    } else {
      std::fprintf(stderr, "no cached model in %s: training a short LSTM(128) (2 epochs, Adam)\n", cache.c_str());
      model = lstm_classifier<float>(rnn_config{.input_size = 28, .hidden_size = 128, .num_classes = 10}, seed);
      train_options o{.epochs = 2, .batch_size = 128, .seed = seed, .clip_norm = 5};
      o.validation = &test_set;
      const auto h = train(model, train_set, adam{.lr = 2e-3}, o);
      std::printf("trained   LSTM(128), 2 epochs, test accuracy %.4f\n", h.epochs.back().val_accuracy);
      model.save(cache / "model.rnnabs");
      r.source = "a freshly trained model (saved to " + (cache / "model.rnnabs").string() + ")";
    }
    r.train = profile(model, train_set);
    r.test = profile(model, test_set);
    save_traces(cache / "train_traces.npz", r.train);
    save_traces(cache / "test_traces.npz", r.test);
  }
  std::printf("traces    %ld train / %ld test sequences, width %ld, %ld classes, from %s (%.1fs)\n", r.train.size(),
              r.test.size(), r.train.width(), r.train.num_classes(), r.source.c_str(), seconds_since(t0));
  return r;
}

/// What every abstraction experiment shares on its command line: where the traces come from, where
/// the results go, how much of the training set and how many threads.
struct trace_job {
  std::string cache = "results/train_fmnist_lstm", data_dir = rnnabs::data::fashion_mnist_dir.string(), out;
  rnnabs::index_t train_limit = 0;
  int threads = 0;
  bool float_em = false;

  void add_options(CLI::App& app) {
    app.add_option("--cache", cache, "folder of the trained model and traces (train_fmnist --train-traces writes it)");
    app.add_option("--data", data_dir, "Fashion-MNIST IDX folder (only used when traces must be made)");
    app.add_option("--out", out, "results folder");
    app.add_option("--train-limit", train_limit, "use the first N training sequences only (0: all)");
    app.add_option("--threads", threads, "threads (0: all cores)");
    app.add_flag("--float-em", float_em,
                 "run the mixture's EM iterations in float (about 2x faster; scikit-learn's arithmetic on float32 traces)");
  }
  rnnabs::em_precision precision() const {
    return float_em ? rnnabs::em_precision::single_precision : rnnabs::em_precision::double_precision;
  }
  /// Sets the threads, makes the results folder, loads (or makes) the traces, cuts the training set.
  fmnist_traces open(std::uint64_t seed) const {
    if (threads > 0) rnnabs::set_threads(threads);
    fs::create_directories(out);
    fmnist_traces tr = load_fmnist_traces(cache, data_dir, seed);
    tr.train = head_of(std::move(tr.train), train_limit);
    return tr;
  }
};

inline double accuracy(const rnnabs::traces<float>& tr) {
  return static_cast<double>((tr.predictions.array() == tr.truth.array()).count()) / static_cast<double>(tr.size());
}

}  // namespace examples
