#pragma once
// Mini-batch training of any rnn_classifier-like model with an optimizer policy:
//
//   rnnabs::train_options o{.epochs = 5, .batch_size = 128, .seed = 1, .clip_norm = 5};
//   o.validation = &test;                                       // optional: accuracy after each epoch
//   auto hist = rnnabs::train(model, data, rnnabs::adam{.lr = 1e-3}, o);
//
// Deterministic for a seed and independent of the thread count: the epoch's shuffle comes from
// rng::stream(seed, epoch), dropout masks from rng::stream(seed ^ step, chunk), and gradients are
// reduced in a fixed order. `on_step` sees every step (batch ids, parameters before the update), which
// is what SGD-influence replays.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/progress.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/model_concepts.hpp"
#include "rnnabs/nn/optimizers.hpp"
#include "rnnabs/nn/rnn_config.hpp"
#include "rnnabs/nn/sequence_batch.hpp"

namespace rnnabs {

/// One epoch's figures.
struct epoch_record {
  index_t epoch = 0;                                               // 0-based
  double learning_rate = 0;                                        // the rate used in this epoch
  double train_loss = 0;                                           // mean over the epoch's batches (training mode)
  double train_accuracy = 0;                                       // fraction correct over the epoch (training mode)
  double val_loss = std::numeric_limits<double>::quiet_NaN();      // with a validation set
  double val_accuracy = std::numeric_limits<double>::quiet_NaN();  // with a validation set
  double seconds = 0;                                              // wall time of the epoch, evaluation included
};

struct train_history {
  std::vector<epoch_record> epochs;
  index_t steps = 0;
  bool stopped_early = false;  // a callback asked to stop
};

/// What on_step sees, before the update is applied.
template <class T>
struct step_record {
  index_t epoch = 0, step = 0;                  // step counts from 0 over the whole run
  const std::vector<index_t>* batch = nullptr;  // sample ids (rows of the training set) of this step
  const vector<T>* parameters = nullptr;        // θ before the update
  const vector<T>* gradient = nullptr;          // the (clipped) gradient applied
  double learning_rate = 0;
  double loss = 0;
};

template <class T = float>
struct basic_train_options {
  index_t epochs = 10;
  index_t batch_size = 128;
  std::uint64_t seed = 0;
  bool shuffle = true;
  double clip_norm = 0;                                  // > 0: rescale gradients to at most this L2 norm
  std::function<double(long epoch)> lr_schedule{};       // factor of the optimizer's lr per epoch (empty: 1)
  const sequence_batch<T>* validation = nullptr;         // evaluated after every epoch when set
  std::function<bool(const epoch_record&)> on_epoch{};   // return false to stop training
  std::function<void(const step_record<T>&)> on_step{};  // every step (e.g. to store a trajectory)
  bool progress = true;                                  // progress bar on stderr when it is a terminal
  std::filesystem::path checkpoint{};                    // non-empty: model.save(checkpoint) (atomic) ...
  index_t checkpoint_every = 1;                          // ... every this many epochs and at the end
};
using train_options = basic_train_options<float>;

/// Loss and accuracy of `m` on `b` (evaluation mode); accuracy per sequence, or per step for
/// every-step heads.
template <class Model, class T>
std::pair<double, double> evaluate(const Model& m, const sequence_batch<T>& b) {
  if constexpr (!check_evaluable_model<Model, T>()) {
    return {};
  } else {
    const double loss = m.loss(b);
    const auto out = m.forward(b, false);
    index_t correct = 0, total = 0;
    bool every_step = !b.step_labels.empty();  // a model without config(): per step when the batch has step labels
    if constexpr (requires { m.config().head; }) every_step = every_step && m.config().head == head_mode::every_step;
    if (every_step) {
      for (index_t i = 0; i < b.size(); ++i) {
        const auto& y = b.step_labels[static_cast<std::size_t>(i)];
        const auto& p = out.step_predictions[static_cast<std::size_t>(i)];
        for (index_t t = 0; t < y.size(); ++t) correct += p(t) == y(t) ? 1 : 0;
        total += y.size();
      }
    } else {
      for (index_t i = 0; i < b.size(); ++i) correct += out.predictions(i) == b.labels(i) ? 1 : 0;
      total = b.size();
    }
    return {loss, static_cast<double>(correct) / static_cast<double>(std::max<index_t>(1, total))};
  }
}

/// Trains `model` on `data` in place; returns the per-epoch history. invalid_argument on bad options
/// or data; numerical_error when the loss, the gradient or the parameters become non-finite (the
/// model keeps the last finite parameters).
template <class Model, class Opt, class T = typename Model::scalar>
  requires optimizer<Opt, T>
train_history train(Model& model, const sequence_batch<T>& data, Opt opt, const basic_train_options<T>& o) {
  if constexpr (!check_trainable_model<Model>()) {
    return {};
  } else {
    constexpr bool can_save = requires(const Model& m, const std::filesystem::path& p) { m.save(p); };
    require(can_save || o.checkpoint.empty(), "train: checkpoints need a model with save(path)");
    auto save = [&](const std::filesystem::path& p) {
      if constexpr (can_save) model.save(p);
    };
    require(o.epochs >= 1, "train: epochs must be >= 1, got ", o.epochs);
    require(o.batch_size >= 1, "train: batch_size must be >= 1, got ", o.batch_size);
    require(o.clip_norm >= 0 && std::isfinite(o.clip_norm), "train: clip_norm must be finite and >= 0, got ",
            o.clip_norm);
    require(o.checkpoint_every >= 1, "train: checkpoint_every must be >= 1, got ", o.checkpoint_every);
    require(opt.lr > 0 && std::isfinite(opt.lr), "train: the learning rate must be positive, got ", opt.lr);
    model.validate(data, true, "train");
    if (o.validation) model.validate(*o.validation, true, "train (validation set)");

    const index_t n = data.size();
    const index_t per_epoch = (n + o.batch_size - 1) / o.batch_size;
    std::vector<index_t> order(static_cast<std::size_t>(n));
    train_history hist;
    vector<T> theta = model.parameters();
    for (index_t epoch = 0; epoch < o.epochs; ++epoch) {
      const auto t0 = std::chrono::steady_clock::now();
      std::iota(order.begin(), order.end(), index_t{0});
      if (o.shuffle) {
        rng g = rng::stream(o.seed, static_cast<std::uint64_t>(epoch));
        g.shuffle(std::span<index_t>(order));
      }
      const double factor = o.lr_schedule ? o.lr_schedule(static_cast<long>(epoch)) : 1.0;
      require(factor > 0 && std::isfinite(factor), "train: lr_schedule(", epoch, ") = ", factor, " is not positive");
      const double rate = opt.lr * factor;
      epoch_record rec;
      rec.epoch = epoch;
      rec.learning_rate = rate;
      double loss_sum = 0;
      index_t correct = 0, counted = 0, seen = 0;
      progress bar(detail::concat("epoch ", epoch + 1, "/", o.epochs), static_cast<long>(per_epoch), o.progress);
      for (index_t s = 0; s < per_epoch; ++s) {
        const auto first = order.begin() + s * o.batch_size;
        const std::vector<index_t> ids(first, first + std::min(o.batch_size, n - s * o.batch_size));
        const auto batch = subset(data, ids);
        typename Model::step_stats st;
        vector<T> g = model.train_gradient(
            batch, o.seed ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(hist.steps + 1)), &st);
        require<numerical_error>(std::isfinite(st.loss) && g.allFinite(),
                                 "train: the loss or gradient became non-finite ", "at epoch ", epoch, ", step ", s,
                                 " (loss ", st.loss, "); lower the learning rate or set clip_norm");
        if (o.clip_norm > 0) {
          const double norm = static_cast<double>(g.template cast<double>().norm());
          if (norm > o.clip_norm) g *= static_cast<T>(o.clip_norm / norm);
        }
        if (o.on_step) o.on_step(step_record<T>{epoch, hist.steps, &ids, &theta, &g, rate, st.loss});
        opt.step(theta, g, rate);
        require<numerical_error>(theta.allFinite(), "train: the parameters became non-finite at epoch ", epoch,
                                 ", step ", s, " (learning rate ", rate, "); lower the learning rate or set clip_norm");
        model.set_parameters(theta);
        ++hist.steps;
        loss_sum += st.loss * static_cast<double>(ids.size());
        correct += st.correct;
        counted += st.total;
        seen += static_cast<index_t>(ids.size());
        bar.update(static_cast<long>(s + 1),
                   detail::concat("loss ", static_cast<float>(loss_sum / static_cast<double>(seen))));
      }
      bar.finish();
      rec.train_loss = loss_sum / static_cast<double>(n);
      rec.train_accuracy = static_cast<double>(correct) / static_cast<double>(std::max<index_t>(1, counted));
      if (o.validation) std::tie(rec.val_loss, rec.val_accuracy) = evaluate(model, *o.validation);
      rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      hist.epochs.push_back(rec);
      if (!o.checkpoint.empty() && ((epoch + 1) % o.checkpoint_every == 0 || epoch + 1 == o.epochs)) save(o.checkpoint);
      if (o.on_epoch && !o.on_epoch(rec)) {
        hist.stopped_early = true;
        if (!o.checkpoint.empty()) save(o.checkpoint);
        break;
      }
    }
    return hist;
  }
}

}  // namespace rnnabs
