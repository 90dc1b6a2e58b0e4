#pragma once
// Shared by the sample-level repair experiments (`repair failures | generate | retrain`): Fashion-MNIST
// read row by row (28 steps of 28 pixels, RNNRepair's MNIST setting on its offline stand-in), the M
// models whose common failures are repaired, and the generated-sample files.
//   model m (0-based): LSTM(hidden) -> dense(10), Adam 2e-3, batch 128, clip 5, seed = seed + m,
//                      epochs = model_epochs[m]; cached in <models>/ under a name that spells out all of
//                      it (and the training-set size), with a record of every setting and of the training
//                      data's fingerprint beside it (<file>.params, ../common/cache.hpp): a model made
//                      otherwise (other data under the same --train-limit, say) is retrained, never reused.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include <rnnabs/data/fashion_mnist.hpp>
#include <rnnabs/io/npz.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/nn/image_sequences.hpp>
#include <rnnabs/nn/train.hpp>
#include <rnnabs/repair/sample_generation.hpp>
#if defined(RNNABS_HAVE_PNG)
#include <rnnabs/io/png.hpp>
#endif

#include "../common/cache.hpp"
#include "../common/results.hpp"
#include "../common/text.hpp"

namespace examples {

struct image_task_options {
  std::string data_dir = rnnabs::data::fashion_mnist_dir.string();
  std::string models = "results/repair_models";
  std::vector<rnnabs::index_t> model_epochs{3, 4, 5, 6, 7};
  rnnabs::index_t hidden = 128, train_limit = 0, test_limit = 0;
  std::uint64_t seed = 1;
  int threads = 0;

  /// `with_models`: the options of the M models (failures, generate); without: data and threads only.
  void add_options(CLI::App& app, bool with_models = true) {
    app.add_option("--data", data_dir, "Fashion-MNIST (or MNIST) IDX folder");
    app.add_option("--hidden", hidden, with_models ? "LSTM hidden units of the M models" : "LSTM hidden units");
    if (with_models) {
      app.add_option("--models", models, "folder of the M trained models (made when missing, then reused)");
      app.add_option("--model-epochs", model_epochs, "epochs of each of the M models (M = how many are given)")
          ->delimiter(',');
      app.add_option("--seed", seed, "model m is trained with seed + m");
    }
    app.add_option("--train-limit", train_limit, "use the first N training images only (0: all 60000)");
    app.add_option("--test-limit", test_limit, "use the first N test images only (0: all 10000)");
    app.add_option("--threads", threads, "threads (0: all cores)");
  }
  rnnabs::index_t n_models() const { return static_cast<rnnabs::index_t>(model_epochs.size()); }
};

struct image_task {
  rnnabs::sequence_batch<float> train, test;
};

inline rnnabs::sequence_batch<float> head_of(rnnabs::sequence_batch<float> b, rnnabs::index_t limit) {
  if (limit <= 0 || limit >= b.size()) return b;
  b.features.resize(static_cast<std::size_t>(limit));
  b.labels.conservativeResize(limit);
  return b;
}

inline image_task load_image_task(const image_task_options& o) {
  using namespace rnnabs;
  if (o.threads > 0) set_threads(o.threads);
  image_task t{head_of(row_sequences(data::load_fashion_mnist(data::split::train, o.data_dir)), o.train_limit),
               head_of(row_sequences(data::load_fashion_mnist(data::split::test, o.data_dir)), o.test_limit)};
  std::printf("data      %ld training / %ld test images (28 rows of 28 pixels) from %s\n", t.train.size(),
              t.test.size(), o.data_dir.c_str());
  return t;
}

inline rnnabs::train_options image_train_options(rnnabs::index_t epochs, std::uint64_t seed) {
  return {.epochs = epochs, .batch_size = 128, .seed = seed, .clip_norm = 5};
}

inline rnnabs::lstm_classifier<float> fresh_image_model(rnnabs::index_t hidden, std::uint64_t seed) {
  return rnnabs::lstm_classifier<float>(rnnabs::rnn_config{.input_size = 28, .hidden_size = hidden, .num_classes = 10},
                                        seed);
}

/// Model m of the task: loaded from the cache, or trained and cached.
inline rnnabs::lstm_classifier<float> image_model(const image_task_options& o, const image_task& t, rnnabs::index_t m) {
  using namespace rnnabs;
  require(o.n_models() >= 2, "the common failures need at least 2 models (--model-epochs), got ", o.n_models());
  const index_t epochs = o.model_epochs[static_cast<std::size_t>(m)];
  const std::uint64_t seed = o.seed + static_cast<std::uint64_t>(m);
  const fs::path file = fs::path(o.models) /
                        examples::concat("lstm", o.hidden, "_e", epochs, "_s", seed, "_n", t.train.size(), ".rnnabs");
  const auto to = image_train_options(epochs, seed);
  cache_record want("LSTM classifier of Fashion-MNIST rows (repair's models)");
  want.add("cell", "lstm")
      .add("input", 28)
      .add("hidden", o.hidden)
      .add("classes", 10)
      .add("epochs", to.epochs)
      .add("batch", to.batch_size)
      .add("optimizer", "adam")
      .add("lr", 2e-3)
      .add("clip", to.clip_norm)
      .add("seed", seed)
      .add("data.train", fingerprint_of(t.train));
  if (cache_lookup(file, want)) return lstm_classifier<float>::load(file);
  fs::create_directories(o.models);
  const auto t0 = std::chrono::steady_clock::now();
  auto model = fresh_image_model(o.hidden, seed);
  cache_store(file, want, [&](const fs::path& p) {
    train(model, t.train, adam{.lr = 2e-3}, to);
    model.save(p);
  });
  std::printf("model %ld   trained LSTM(%ld), %ld epochs, seed %lu in %.1f s -> %s\n", m, o.hidden, epochs,
              static_cast<unsigned long>(seed), seconds_since(t0), file.c_str());
  std::fflush(stdout);
  return model;
}

/// The data a sample file of `repair generate` refers to (its test ids, its training-image sources): the
/// entries of its record that `repair retrain` checks against its own data.
inline cache_record image_task_data_record(const image_task& t) {
  cache_record r;
  r.add("train", fingerprint_of(t.train)).add("test", fingerprint_of(t.test));  // nested as data.train, data.test
  return r;
}

/// Writes a PNG grid of images (a note instead when built without libpng).
inline void save_grid(const fs::path& path, const std::vector<rnnabs::matrix<float>>& images, rnnabs::index_t columns) {
  if (images.empty()) return;
#if defined(RNNABS_HAVE_PNG)
  rnnabs::io::save_png(path, rnnabs::io::image_grid(images, {.columns = columns}));
#else
  (void)columns;
  std::fprintf(stderr, "note: built without libpng (apt-get install libpng-dev): %s not written\n", path.c_str());
#endif
}

/// Renders a DOT file to PNG with Graphviz when `dot` is installed.
inline bool render_dot(const fs::path& gv, const fs::path& png) {
  if (std::system("command -v dot >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "note: Graphviz not found (apt-get install graphviz): %s is not rendered\n", gv.c_str());
    return false;
  }
  const std::string cmd = "dot -Tpng '" + gv.string() + "' -o '" + png.string() + "'";
  return std::system(cmd.c_str()) == 0;
}

/// Generated repair samples in the layout of RNNRepair's retrain.npz (`data` uint8 N x 28 x 28, `label`
/// uint8 N, `testid` int64: the common failures), plus where each came from and the test inputs all M
/// models got right (`reference_correct`, where the retraining counts side effects).
struct repair_samples {
  std::vector<rnnabs::matrix<float>> images;  // intensities in [0, 1] (stored as round(255 x))
  std::vector<rnnabs::index_t> labels, failure, model;
  std::vector<double> distance;
  std::vector<rnnabs::index_t> testid, reference_correct;

  rnnabs::index_t size() const { return static_cast<rnnabs::index_t>(images.size()); }

  void save(const fs::path& path) const {
    using namespace rnnabs;
    require(!images.empty(), "repair_samples::save: no sample");
    const std::size_t n = images.size(), h = static_cast<std::size_t>(images[0].rows()),
                      w = static_cast<std::size_t>(images[0].cols());
    auto data = xt::xtensor<std::uint8_t, 3>::from_shape({n, h, w});
    for (std::size_t k = 0; k < n; ++k) {
      const auto g = io::to_gray8(images[k]);
      std::copy(g.data(), g.data() + g.size(), data.data() + k * h * w);
    }
    const auto ints = [](const std::vector<index_t>& v) {
      auto a = xt::xtensor<std::int64_t, 1>::from_shape({v.size()});
      std::copy(v.begin(), v.end(), a.begin());
      return io::to_npy_array(a);
    };
    auto lab = xt::xtensor<std::uint8_t, 1>::from_shape({n});
    std::copy(labels.begin(), labels.end(), lab.begin());
    auto dist = xt::xtensor<double, 1>::from_shape({n});
    std::copy(distance.begin(), distance.end(), dist.begin());
    io::save_npz(path,
                 {{"data", io::to_npy_array(data)},
                  {"label", io::to_npy_array(lab)},
                  {"testid", ints(testid)},
                  {"failure", ints(failure)},
                  {"model", ints(model)},
                  {"distance", io::to_npy_array(dist)},
                  {"reference_correct", ints(reference_correct)}},
                 true);
  }

  static repair_samples load(const fs::path& path) {
    using namespace rnnabs;
    auto all = io::npz_read(path);
    const auto get = [&](const char* name) -> const io::npy_array& {
      const auto it = all.find(name);
      require<io_error>(it != all.end(), path, ": no array '", name, "' (write it with `repair generate`)");
      return it->second;
    };
    const auto data = get("data").as<float>();
    require<io_error>(data.dimension() == 3, path, ": 'data' must be N x H x W");
    const auto label = get("label").as<std::int64_t>();
    const std::size_t n = data.shape()[0], h = data.shape()[1], w = data.shape()[2];
    require<io_error>(label.size() == n, path, ": ", n, " images but ", label.size(), " labels");
    repair_samples r;
    for (std::size_t k = 0; k < n; ++k) {
      matrix<float> im(static_cast<index_t>(h), static_cast<index_t>(w));
      for (std::size_t i = 0; i < h * w; ++i) im.data()[i] = data.data()[k * h * w + i] / 255.0F;
      r.images.push_back(std::move(im));
      r.labels.push_back(label(k));
      require<io_error>(label(k) >= 0 && label(k) < 10, path, ": label ", label(k), " of sample ", k,
                        " is not a class");
    }
    const auto ids = [&](const char* name) {
      const auto a = get(name).as<std::int64_t>();
      return std::vector<index_t>(a.begin(), a.end());
    };
    r.testid = ids("testid");
    r.reference_correct = ids("reference_correct");
    r.failure = ids("failure");
    r.model = ids("model");
    return r;
  }
};

}  // namespace examples
