// train_fmnist — RNNRepair's row-by-row image classifiers on Fashion-MNIST (the offline stand-in for
// MNIST): 28 steps x 28 features, one recurrent layer, a dense head at the last step.
//
//   train_fmnist                          LSTM(128), 10 classes (RNNRepair's keras_lstm_mnist)
//   train_fmnist --cell gru               the GRU variant
//   train_fmnist --classes 1,7            the binary model of RNNRepair's influence experiment:
//                                         LSTM(100), 2 classes, softmax-then-BCE loss, SGD lr 0.1, batch 256
//
// Writes <out>/{history.csv, accuracy.png, model.rnnabs, state_dict.npz, test_traces.npz, summary.txt}
// (and train_traces.npz with --train-traces): the model and the profiled traces the abstraction
// examples read. model.rnnabs.params and <traces>.params record what each was made from (settings, data
// fingerprints, examples/common/cache.hpp); the abstraction examples check them before reusing the files.
#include <CLI/CLI.hpp>

#include <rnnabs/core/parallel.hpp>
#include <rnnabs/data/fashion_mnist.hpp>
#include <rnnabs/data/split.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/nn/image_sequences.hpp>

#include "abstraction/common.hpp"
#include "common/cache.hpp"
#include "common/results.hpp"
#include "common/text.hpp"

namespace {

struct settings {
  std::string cell = "lstm";
  rnnabs::index_t hidden = 0;  // 0: 128 (10 classes) or 100 (binary)
  rnnabs::index_t epochs = 0;  // 0: 12 (10 classes) or 30 (binary)
  rnnabs::index_t batch = 0;   // 0: 128 or 256
  std::string optimizer;       // "": adam (10 classes) or sgd (binary)
  double lr = 0;               // 0: the optimizer's default for this task
  double dropout = 0;
  double clip = 5;
  std::uint64_t seed = 1;
  std::vector<int> classes;
  rnnabs::index_t train_limit = 0;
  bool train_traces = false;
};

template <class Cell>
int run(const settings& s, const std::string& data_dir, const examples::fs::path& dir) {
  using namespace rnnabs;
  const bool binary = !s.classes.empty();
  auto t0 = std::chrono::steady_clock::now();
  auto train_set = data::load_fashion_mnist(data::split::train, data_dir);
  auto test_set = data::load_fashion_mnist(data::split::test, data_dir);
  if (binary) {
    const std::vector<std::int32_t> cls(s.classes.begin(), s.classes.end());
    train_set = data::select_classes(train_set, cls);
    test_set = data::select_classes(test_set, cls);
  }
  auto train = row_sequences(train_set);
  const auto test = row_sequences(test_set);
  if (s.train_limit > 0 && s.train_limit < train.size()) {
    std::vector<index_t> ids(static_cast<std::size_t>(s.train_limit));
    for (index_t i = 0; i < s.train_limit; ++i) ids[static_cast<std::size_t>(i)] = i;
    train = subset(train, ids);
  }
  const index_t classes = binary ? 2 : 10;
  std::printf("data      %ld train / %ld test sequences of 28 x 28 (%s, %.1fs)\n", train.size(), test.size(),
              binary ? "binary" : "10 classes", examples::seconds_since(t0));

  rnn_config cfg{.input_size = 28,
                 .hidden_size = s.hidden ? s.hidden : (binary ? 100 : 128),
                 .num_classes = classes,
                 .loss = binary ? loss_kind::softmax_bce : loss_kind::cross_entropy,
                 .dropout = s.dropout};
  rnn_classifier<Cell> model(cfg, s.seed);
  train_options o{.epochs = s.epochs ? s.epochs : (binary ? 30 : 12),
                  .batch_size = s.batch ? s.batch : (binary ? 256 : 128),
                  .seed = s.seed,
                  .clip_norm = s.clip};
  o.validation = &test;
  examples::csv_table csv(
      {"epoch", "learning_rate", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds"});
  std::printf("model     %s(%ld) -> dense(%ld), %ld parameters; %ld epochs, batch %ld\n",
              std::string(Cell::name()).c_str(), cfg.hidden_size, classes, model.parameter_count(), o.epochs,
              o.batch_size);
  std::printf("%6s %10s %10s %10s %10s %8s\n", "epoch", "loss", "train acc", "test loss", "test acc", "seconds");
  o.on_epoch = [&](const epoch_record& r) {
    std::printf("%6ld %10.4f %9.2f%% %10.4f %9.2f%% %8.1f\n", r.epoch + 1, r.train_loss, 100 * r.train_accuracy,
                r.val_loss, 100 * r.val_accuracy, r.seconds);
    std::fflush(stdout);
    csv.add(r.epoch + 1, r.learning_rate, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.seconds);
    return true;
  };
  o.checkpoint = dir / "model.rnnabs";
  const std::string opt = !s.optimizer.empty() ? s.optimizer : (binary ? "sgd" : "adam");
  const double lr = s.lr > 0 ? s.lr : (opt == "adam" ? 2e-3 : opt == "rmsprop" ? 1e-3 : 0.1);
  // What the model is made from (the checkpoints rewrite model.rnnabs: its old record goes first).
  examples::cache_record record(std::string(Cell::name()) + " classifier of Fashion-MNIST rows (train_fmnist)");
  record.add("cell", Cell::name())
      .add("input", 28)
      .add("hidden", cfg.hidden_size)
      .add("classes", classes)
      .add("class_ids", s.classes)
      .add("loss", binary ? "softmax_bce" : "cross_entropy")
      .add("dropout", s.dropout)
      .add("epochs", o.epochs)
      .add("batch", o.batch_size)
      .add("optimizer", opt)
      .add("lr", lr)
      .add("clip", s.clip)
      .add("seed", s.seed)
      .add("data.train", examples::fingerprint_of(train))
      .add("data.test", examples::fingerprint_of(test));
  examples::cache_forget(o.checkpoint);
  t0 = std::chrono::steady_clock::now();
  train_history hist;
  if (opt == "adam") hist = rnnabs::train(model, train, adam{.lr = lr}, o);
  else if (opt == "rmsprop") hist = rnnabs::train(model, train, rmsprop{.lr = lr, .alpha = 0.9, .eps = 1e-7}, o);
  else if (opt == "sgd") hist = rnnabs::train(model, train, sgd{.lr = lr}, o);
  else throw invalid_argument("train_fmnist: --optimizer must be adam, rmsprop or sgd, got '" + opt + "'");
  const double train_s = examples::seconds_since(t0);
  const auto model_record = examples::cache_describe(o.checkpoint, record);
  csv.save(dir / "history.csv");
  model.save_npz(dir / "state_dict.npz");

  t0 = std::chrono::steady_clock::now();
  const auto tr = profile(model, test);
  examples::cache_store(dir / "test_traces.npz", examples::fmnist_traces_record("test", test, model_record),
                        [&](const examples::fs::path& p) { save_traces(p, tr); });
  if (s.train_traces)
    examples::cache_store(dir / "train_traces.npz", examples::fmnist_traces_record("train", train, model_record),
                          [&](const examples::fs::path& p) { save_traces(p, profile(model, train)); });
  std::printf("profile   traces of %ld test sequences (%ld x %ld hidden per sequence) in %.1fs\n", tr.size(),
              tr.length(0), tr.width(), examples::seconds_since(t0));

  // clang-format off
  const bool plotted = examples::plot(
      dir / "accuracy.gp",
      "set terminal pngcairo size 800,500 font 'sans,11'\nset output '" + (dir / "accuracy.png").string() +
          "'\nset datafile separator ','\nset key bottom right\nset grid\nset xlabel 'epoch'\nset ylabel 'accuracy (%)'\n"
          "set title 'Fashion-MNIST row-by-row " + std::string(Cell::name()) + "'\n"
          "plot '" + (dir / "history.csv").string() + "' every ::1 using 1:($4*100) with linespoints lw 2 title 'train', "
          "'' every ::1 using 1:($6*100) with linespoints lw 2 title 'test'\n");
  // clang-format on
  const auto& last = hist.epochs.back();
  const std::string summary = examples::concat(
      "model: ", Cell::name(), "(", cfg.hidden_size, ") -> ", classes, " classes", binary ? " (binary)" : "", "\n",
      "optimizer: ", opt, ", epochs run: ", hist.epochs.size(), ", batch ", o.batch_size, ", seed ", s.seed, "\n",
      "test accuracy: ", 100 * last.val_accuracy, " %\n", "training time: ", train_s, " s (", hist.steps,
      " steps, threads: ", rnnabs::max_threads(), ")\n",
      "files: history.csv, model.rnnabs, state_dict.npz, test_traces.npz", s.train_traces ? ", train_traces.npz" : "",
      plotted ? ", accuracy.png" : "", "\n");
  rnnabs::io::atomic_write_bytes(dir / "summary.txt", summary);
  std::printf("result    test accuracy %.2f%% after %zu epochs, %.1fs of training; results in %s\n",
              100 * last.val_accuracy, hist.epochs.size(), train_s, dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train RNNRepair's row-by-row Fashion-MNIST classifier (LSTM/GRU), save it and its traces"};
  settings s;
  std::string data_dir = rnnabs::data::fashion_mnist_dir.string();
  std::string out;
  int threads = 0;
  app.add_option("--cell", s.cell, "lstm or gru")->check(CLI::IsMember({"lstm", "gru"}));
  app.add_option("--hidden", s.hidden, "hidden units (default 128; 100 for --classes)");
  app.add_option("--epochs", s.epochs, "epochs (default 12; 30 for --classes)");
  app.add_option("--batch", s.batch, "batch size (default 128; 256 for --classes)");
  app.add_option("--optimizer", s.optimizer, "adam, rmsprop or sgd (default adam; sgd for --classes)");
  app.add_option("--lr", s.lr, "learning rate (default: adam 2e-3, rmsprop 1e-3, sgd 0.1)");
  app.add_option("--dropout", s.dropout, "dropout before the head, training only")->check(CLI::Range(0.0, 0.95));
  app.add_option("--clip", s.clip, "gradient-norm clip (0: off)");
  app.add_option("--seed", s.seed, "seed of initialisation, shuffling and dropout");
  app.add_option("--classes", s.classes, "two class ids for the binary model, e.g. 1,7")->delimiter(',')->expected(2);
  app.add_option("--train-limit", s.train_limit, "use only the first N training sequences");
  app.add_flag("--train-traces", s.train_traces, "also profile the training set (large: N x 28 x H floats)");
  app.add_option("--data", data_dir, "directory of the Fashion-MNIST (or MNIST) IDX files");
  app.add_option("--out", out, "results folder (default results/train_fmnist_<cell>[_bin])");
  app.add_option("--threads", threads, "threads (0: all cores)");
  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) rnnabs::set_threads(threads);
    if (out.empty()) out = "results/train_fmnist_" + s.cell + (s.classes.empty() ? "" : "_bin");
    const examples::fs::path dir(out);
    examples::fs::create_directories(dir);
    return s.cell == "gru" ? run<rnnabs::gru_cell>(s, data_dir, dir) : run<rnnabs::lstm_cell>(s, data_dir, dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_fmnist: %s\n", e.what());
    return 1;
  }
}
