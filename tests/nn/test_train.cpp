// Tests of training and profiling: optimizer updates against their closed forms (PyTorch's rules),
// training that learns a separable task, determinism for a seed and across thread counts, dropout
// gradients against finite differences with the masks held fixed, checkpoints, and traces on disk.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <filesystem>
#include <fstream>
#include <rnnabs/core.hpp>
#include <rnnabs/nn.hpp>
#include <string>
#include <unistd.h>

namespace nn_train_tests {

using namespace rnnabs;
namespace fs = std::filesystem;

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("rnnabs_train_" + std::to_string(::getpid()) + "_" + name);
}

/// Class = whether the first feature's sum over the sequence is positive (lengths 3..8).
template <class T>
sequence_batch<T> sum_task(index_t n, std::uint64_t seed, index_t features = 2) {
  rng g(seed);
  sequence_batch<T> b;
  b.labels.resize(n);
  for (index_t i = 0; i < n; ++i) {
    const index_t len = 3 + static_cast<index_t>(g.below(6));
    matrix<T> x(len, features);
    for (index_t k = 0; k < x.size(); ++k) x.data()[k] = static_cast<T>(g.normal());
    b.labels(i) = x.col(0).sum() > 0 ? 1 : 0;
    b.features.push_back(x);
  }
  return b;
}

// ---- optimizers against their closed forms ------------------------------------------------------

TEST(Optimizers, SgdMomentumMatchesTorchRule) {
  vector<double> th(2), g(2);
  th << 1.0, -2.0;
  g << 0.5, 0.25;
  sgd o{.lr = 0.1, .momentum = 0.9};
  o.step(th, g, 0.1);  // b = g
  EXPECT_DOUBLE_EQ(th(0), 1.0 - 0.1 * 0.5);
  o.step(th, g, 0.1);  // b = 0.9 g + g
  EXPECT_DOUBLE_EQ(th(0), 1.0 - 0.1 * 0.5 - 0.1 * 1.9 * 0.5);
  sgd nest{.lr = 0.1, .momentum = 0.9, .nesterov = true};
  vector<double> t2 = vector<double>::Zero(2);
  nest.step(t2, g, 0.1);  // b = g, update g + 0.9 g
  EXPECT_DOUBLE_EQ(t2(1), -0.1 * 1.9 * 0.25);
}

TEST(Optimizers, AdamFirstStepIsSignedLearningRate) {
  vector<float> th = vector<float>::Zero(3), g(3);
  g << 3.0f, -0.001f, 0.0f;
  adam o{.lr = 0.01};
  o.step(th, g, 0.01);
  // m̂ = g, v̂ = g²: the step is lr·g/(|g| + ε).
  EXPECT_NEAR(th(0), -0.01f, 1e-7);
  EXPECT_NEAR(th(1), 0.01f * 0.001f / (0.001f + 1e-8f), 1e-7);
  EXPECT_EQ(th(2), 0.0f);
  // Second step with the same gradient: still ±lr (bias-corrected moments equal g and g²).
  o.step(th, g, 0.01);
  EXPECT_NEAR(th(0), -0.02f, 1e-6);
}

TEST(Optimizers, RmspropMatchesTorchRule) {
  vector<double> th = vector<double>::Zero(1), g(1);
  g << 2.0;
  rmsprop o{.lr = 0.01, .alpha = 0.9};
  o.step(th, g, 0.01);
  const double v = 0.1 * 4.0;
  EXPECT_NEAR(th(0), -0.01 * 2.0 / (std::sqrt(v) + 1e-8), 1e-15);
}

TEST(Optimizers, Schedules) {
  const auto s = step_decay(2, 0.5);
  EXPECT_DOUBLE_EQ(s(0), 1.0);
  EXPECT_DOUBLE_EQ(s(3), 0.5);
  EXPECT_DOUBLE_EQ(s(4), 0.25);
  const auto c = cosine_decay(10);
  EXPECT_DOUBLE_EQ(c(0), 1.0);
  EXPECT_NEAR(c(5), 0.5, 1e-15);
}

// ---- training -----------------------------------------------------------------------------------

TEST(Train, LearnsSeparableTask) {
  const auto data = sum_task<float>(512, 1), test = sum_task<float>(256, 2);
  lstm_classifier<float> m(rnn_config{.input_size = 2, .hidden_size = 16, .num_classes = 2}, 3);
  const double before = evaluate(m, test).second;
  train_options o{.epochs = 8, .batch_size = 32, .seed = 4, .progress = false};
  o.validation = &test;
  const auto h = train(m, data, adam{.lr = 0.01}, o);
  ASSERT_EQ(h.epochs.size(), 8u);
  EXPECT_EQ(h.steps, 8 * 16);
  EXPECT_LT(h.epochs.back().train_loss, h.epochs.front().train_loss);
  EXPECT_GT(h.epochs.back().val_accuracy, 0.9) << "accuracy before training: " << before;
  EXPECT_DOUBLE_EQ(h.epochs.back().val_accuracy, evaluate(m, test).second);
}

/// A user's own model type: no config(), no save(); only what the model concepts ask for. It wraps
/// a GRU, so training it must give exactly the GRU's own training.
struct wrapped_model {
  using scalar = float;
  using step_stats = gru_classifier<float>::step_stats;
  gru_classifier<float> inner;
  auto forward(const sequence_batch<float>& b, bool record) const { return inner.forward(b, record); }
  double loss(const sequence_batch<float>& b) const { return inner.loss(b); }
  const vector<float>& parameters() const { return inner.parameters(); }
  void set_parameters(const vector<float>& p) { inner.set_parameters(p); }
  vector<float> train_gradient(const sequence_batch<float>& b, std::uint64_t seed, step_stats* st) const {
    return inner.train_gradient(b, seed, st);
  }
  void validate(const sequence_batch<float>& b, bool need_labels, std::string_view who) const {
    inner.validate(b, need_labels, who);
  }
};
static_assert(check_trainable_model<wrapped_model>());
static_assert(trainable_model<gru_classifier<float>> && profilable_model<lstm_classifier<double>, double>);

TEST(Train, AUserModelIsTrainedEvaluatedAndProfiled) {
  const auto data = sum_task<float>(120, 8), test = sum_task<float>(60, 9);
  const rnn_config c{.input_size = 2, .hidden_size = 8, .num_classes = 2};
  gru_classifier<float> direct(c, 4);
  wrapped_model mine{gru_classifier<float>(c, 4)};
  const train_options o{.epochs = 2, .batch_size = 16, .seed = 3, .progress = false};
  const auto h1 = train(direct, data, adam{.lr = 0.01}, o);
  const auto h2 = train(mine, data, adam{.lr = 0.01}, o);
  EXPECT_EQ(mine.parameters(), direct.parameters());
  EXPECT_EQ(h2.epochs.back().train_loss, h1.epochs.back().train_loss);
  EXPECT_EQ(evaluate(mine, test), evaluate(direct, test));
  const auto a = profile(mine, test), b = profile(direct, test);
  EXPECT_EQ(a.hidden[3], b.hidden[3]);
  EXPECT_EQ(a.predictions, b.predictions);
  // Checkpoints need save(path): refused with a clear error, not a compile error.
  train_options ck = o;
  ck.checkpoint = temp_path("never.rnnabs");
  EXPECT_THROW(train(mine, data, adam{.lr = 0.01}, ck), invalid_argument);
}

TEST(Train, DeterministicForSeedAndThreadCount) {
  const auto data = sum_task<float>(200, 5);
  rnn_config c{.input_size = 2, .hidden_size = 12, .num_classes = 2, .batch_chunk = 8, .dropout = 0.2};
  auto run = [&](int threads, std::uint64_t seed) {
    omp_set_num_threads(threads);
    gru_classifier<float> m(c, 7);
    train_options o{.epochs = 2, .batch_size = 50, .seed = seed, .clip_norm = 1.0, .progress = false};
    train(m, data, sgd{.lr = 0.05, .momentum = 0.9}, o);
    return m.parameters();
  };
  const vector<float> a = run(1, 11), b = run(2, 11), d = run(2, 12);
  omp_set_num_threads(2);
  EXPECT_EQ(a, b) << "training must not depend on the thread count";
  EXPECT_NE(a, d) << "another seed shuffles (and drops) differently";
}

TEST(Train, StopsEarlyCheckpointsAndRecordsSteps) {
  const auto data = sum_task<double>(40, 6);
  rnn_tanh_classifier<double> m(rnn_config{.input_size = 2, .hidden_size = 5, .num_classes = 2}, 1);
  const auto ckpt = temp_path("ckpt.rnnabs");
  basic_train_options<double> o{.epochs = 5, .batch_size = 16, .seed = 1, .progress = false};
  o.checkpoint = ckpt;
  index_t steps = 0;
  std::vector<index_t> seen;
  o.on_step = [&](const step_record<double>& s) {
    EXPECT_EQ(s.step, steps++);
    seen.insert(seen.end(), s.batch->begin(), s.batch->end());
  };
  o.on_epoch = [](const epoch_record& r) { return r.epoch < 1; };
  const auto h = train(m, data, rmsprop{.lr = 0.01}, o);
  EXPECT_TRUE(h.stopped_early);
  EXPECT_EQ(h.epochs.size(), 2u);
  EXPECT_EQ(steps, 6);
  std::sort(seen.begin(), seen.begin() + 40);
  for (index_t i = 0; i < 40; ++i)
    EXPECT_EQ(seen[static_cast<std::size_t>(i)], i) << "an epoch visits every sample once";
  const auto back = rnn_tanh_classifier<double>::load(ckpt);
  EXPECT_EQ(back.parameters(), m.parameters());
  fs::remove(ckpt);
}

TEST(Train, DropoutGradientMatchesFiniteDifferencesWithFixedMasks) {
  const auto data = sum_task<double>(12, 8, 3);
  rnn_config c{.input_size = 3, .hidden_size = 6, .num_layers = 2, .num_classes = 2, .dropout = 0.3};
  lstm_classifier<double> m(c, 2);
  const vector<double> theta = m.parameters();
  typename lstm_classifier<double>::step_stats st;
  const vector<double> g = m.train_gradient(data, 99, &st);
  const vector<double> g0 = m.loss_gradient(data);
  EXPECT_GT((g - g0).norm(), 1e-6 * g0.norm()) << "dropout changes the gradient";
  rng r(3);
  vector<double> v(theta.size());
  for (index_t i = 0; i < v.size(); ++i) v(i) = r.normal();
  const double e = 1e-6;
  auto loss_at = [&](const vector<double>& th) {
    m.set_parameters(th);
    typename lstm_classifier<double>::step_stats s;
    m.train_gradient(data, 99, &s);
    return s.loss;
  };
  const double fd = (loss_at(theta + e * v) - loss_at(theta - e * v)) / (2 * e);
  EXPECT_NEAR(fd, g.dot(v), 1e-7 * std::max(1.0, std::abs(fd)));
  m.set_parameters(theta);
  EXPECT_EQ(m.train_gradient(data, 99), g) << "same seed, same masks";
}

TEST(Train, BadOptionsAndDivergence) {
  const auto data = sum_task<float>(20, 9);
  lstm_classifier<float> m(rnn_config{.input_size = 2, .hidden_size = 4, .num_classes = 2}, 1);
  EXPECT_THROW(train(m, data, adam{}, train_options{.epochs = 0, .progress = false}), invalid_argument);
  EXPECT_THROW(train(m, data, adam{.lr = -1}, train_options{.progress = false}), invalid_argument);
  EXPECT_THROW(train(m, data, adam{}, train_options{.clip_norm = -1, .progress = false}), invalid_argument);
  auto bad = data;
  bad.labels(3) = 5;
  EXPECT_THROW(train(m, bad, adam{}, train_options{.progress = false}), invalid_argument);
  EXPECT_THROW((rnn_config{.input_size = 2, .hidden_size = 4, .num_classes = 2, .dropout = 1.0}.validate("t")),
               invalid_argument);
  // A user optimizer (any type modelling rnnabs::optimizer) that blows the parameters up.
  struct exploding {
    double lr = 0.1;
    void step(vector<float>& th, const vector<float>&, double) { th(0) = std::numeric_limits<float>::infinity(); }
  };
  const vector<float> before = m.parameters();
  EXPECT_THROW(train(m, data, exploding{}, train_options{.progress = false}), numerical_error);
  EXPECT_EQ(m.parameters(), before) << "the model keeps its last finite parameters";
}

// ---- profiling ----------------------------------------------------------------------------------

TEST(Profile, TracesMatchForwardAndRoundTripThroughNpz) {
  const auto data = sum_task<float>(9, 10);
  gru_classifier<float> m(rnn_config{.input_size = 2, .hidden_size = 7, .num_classes = 3}, 4);
  auto b = data;
  b.labels(0) = 2;
  const auto tr = profile(m, b);
  ASSERT_EQ(tr.size(), 9);
  EXPECT_EQ(tr.width(), 7);
  EXPECT_EQ(tr.num_classes(), 3);
  const auto out = m.forward(b);
  for (index_t i = 0; i < 9; ++i) {
    const auto k = static_cast<std::size_t>(i);
    EXPECT_EQ(tr.length(i), b.length(i));
    // The last step's distribution is the model's prediction distribution.
    EXPECT_LT((tr.step_probabilities[k].bottomRows(1) - out.probabilities.row(i)).cwiseAbs().maxCoeff(), 1e-6);
    EXPECT_EQ(tr.step_labels[k](tr.length(i) - 1), out.predictions(i));
    EXPECT_EQ(tr.truth(i), b.labels(i));
  }
  const auto path = temp_path("traces.npz");
  save_traces(path, tr);
  const auto back = load_traces<float>(path);
  ASSERT_EQ(back.size(), tr.size());
  for (std::size_t k = 0; k < 9; ++k) {
    EXPECT_EQ(back.hidden[k], tr.hidden[k]);
    EXPECT_EQ(back.step_labels[k], tr.step_labels[k]);
  }
  EXPECT_EQ(back.truth, tr.truth);
  const auto padded = padded_hidden(back);
  ASSERT_EQ(padded.shape()[0], 9u);
  for (index_t i = 0; i < 9; ++i)
    for (index_t t = 0; t < static_cast<index_t>(padded.shape()[1]); ++t)
      for (index_t j = 0; j < 7; ++j)
        EXPECT_EQ(padded(i, t, j), t < tr.length(i) ? tr.hidden[static_cast<std::size_t>(i)](t, j) : 0.0f);
  // Truncated file: io_error, never a crash.
  const auto bytes = fs::file_size(path);
  fs::resize_file(path, bytes / 2);
  EXPECT_THROW(load_traces<float>(path), io_error);
  fs::remove(path);
}

// Found while writing the fuzz harness for the archive loaders (docs/fuzzing.md): load_traces summed
// the 'lengths' member with Eigen's sum(), a signed overflow (undefined behaviour) for lengths such as
// 2^62 + 2^62 that could even wrap to the real step count.
TEST(Profile, LoadTracesRejectsOverflowingLengthsWithIoError) {
  traces<float> tr;
  for (int i = 0; i < 2; ++i) {
    tr.hidden.push_back(matrix<float>::Zero(2, 3));
    tr.step_probabilities.push_back(matrix<float>::Constant(2, 2, 0.5f));
    tr.step_labels.push_back(index_vector::Zero(2));
  }
  tr.predictions = index_vector::Zero(2);
  tr.truth = index_vector::Zero(2);
  const auto path = temp_path("traces_fuzz.npz");
  save_traces(path, tr);
  EXPECT_EQ(load_traces<float>(path).size(), 2);
  auto m = io::npz_read(path);
  // 4 x (2^62 + 1) = 2^64 + 4 wraps to 4, the real number of steps.
  constexpr std::int64_t q = (std::int64_t{1} << 62) + 1;
  m["lengths"] = io::to_npy_array(xt::xarray<std::int64_t>{q, q, q, q});
  io::save_npz(path, m);
  EXPECT_THROW(load_traces<float>(path), io_error);
  fs::remove(path);
}

}  // namespace nn_train_tests
