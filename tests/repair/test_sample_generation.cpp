// Tests of sample-level repair data generation (repair/sample_generation.hpp): the nearest-by-label
// rule on a hand-made case, batched candidate traces against one-at-a-time traces, and the
// generator's choice against a recomputation, on a small LSTM over 8 x 8 images.
#include <gtest/gtest.h>

#include <limits>
#include <span>

#include <rnnabs/abstraction/model.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/repair/sample_generation.hpp>

#include "../common/error_of.hpp"

namespace repair_generation_tests {

using namespace rnnabs;
using rnnabs_tests::error_of;

TEST(SampleGeneration, NearestWithLabelOnAHandMadeCase) {
  const std::vector<index_t> eligible{2, 4, 5, 7, 9};
  const index_vector labels = (index_vector(10) << 0, 0, 1, 0, 0, 1, 0, 1, 0, 1).finished();
  const vector<double> d = (vector<double>(5) << 0.5, 0.1, 0.3, 0.3, 0.2).finished();
  EXPECT_EQ(nearest_with_label(d, eligible, labels, 1, 2), (std::vector<index_t>{9, 5}));
  EXPECT_EQ(nearest_with_label(d, eligible, labels, 1, 10),
            (std::vector<index_t>{9, 5, 7, 2}));  // 5 before 7: tie, lower id
  EXPECT_EQ(nearest_with_label(d, eligible, labels, 0, 3), (std::vector<index_t>{4}));
  EXPECT_TRUE(nearest_with_label(d, eligible, labels, 2, 1).empty());
}

TEST(SampleGeneration, CommonFailuresAndSuccessesAgreeAcrossModels) {
  const index_vector truth = (index_vector(6) << 0, 1, 2, 0, 1, 2).finished();
  const std::vector<index_vector> pred{(index_vector(6) << 1, 1, 0, 0, 2, 2).finished(),
                                       (index_vector(6) << 2, 1, 0, 1, 2, 2).finished(),
                                       (index_vector(6) << 1, 1, 1, 0, 1, 2).finished()};
  EXPECT_EQ(common_failures(pred, truth), (std::vector<index_t>{0, 2}));
  EXPECT_EQ(common_successes(pred, truth), (std::vector<index_t>{1, 5}));
  EXPECT_NE(error_of([&] { common_failures(std::span(pred).first(1), truth); }).find("at least 2 models"),
            std::string::npos);
  const std::vector<index_vector> ragged{pred[0], index_vector::Zero(5)};
  EXPECT_NE(error_of([&] { common_successes(ragged, truth); }).find("model 1 has 5 predictions"), std::string::npos);
}

struct small_world {
  lstm_classifier<float> model;
  default_abstraction abs;
  std::vector<matrix<float>> train_images;
  traces<float> train, test;
};

small_world make_world() {
  small_world w;
  rng g(21);
  sequence_batch<float> tr, te;
  const auto make = [&](sequence_batch<float>& b, index_t n) {
    b.labels.resize(n);
    for (index_t i = 0; i < n; ++i) {
      const index_t y = static_cast<index_t>(g.below(3));
      matrix<float> im = matrix<float>::Zero(8, 8);
      for (index_t r = 0; r < 8; ++r)  // class y: a bright band around row 2y+1, with noise
        for (index_t c = 0; c < 8; ++c)
          im(r, c) =
              static_cast<float>(std::clamp((std::abs(r - (2 * y + 1)) < 2 ? 0.8 : 0.1) + 0.6 * g.normal(), 0.0, 1.0));
      b.features.push_back(im);
      b.labels(i) = y;
    }
  };
  make(tr, 90);
  make(te, 60);
  w.model = lstm_classifier<float>(rnn_config{.input_size = 8, .hidden_size = 6, .num_classes = 3}, 4);
  rnnabs::train(w.model, tr, adam{.lr = 1e-2},
                train_options{.epochs = 25, .batch_size = 16, .seed = 1, .progress = false});
  w.train = profile(w.model, tr);
  w.test = profile(w.model, te);
  w.abs = make_abstraction({.pca_components = 3, .n_clusters = 4, .seed = 2});
  w.abs.fit(w.train);
  w.train_images = tr.features;
  return w;
}

/// The test inputs the model gets wrong.
std::vector<index_t> failures_of(const traces<float>& t) {
  std::vector<index_t> f;
  for (index_t i = 0; i < t.size(); ++i)
    if (t.predictions(i) != t.truth(i)) f.push_back(i);
  return f;
}

TEST(SampleGeneration, BatchedCandidateTracesEqualOneAtATime) {
  const auto w = make_world();
  candidate_options o;
  o.rotations = {-30, 0, 45};
  o.mutator_grids = true;
  const auto cands = make_candidates(w.train_images[0], o, 3);
  ASSERT_GT(cands.size(), 100u);
  sequence_batch<float> all;
  for (const auto& c : cands) all.features.push_back(c.image);
  const auto batched = batch_abstract_traces(w.model, w.abs, all);
  ASSERT_EQ(batched.size(), cands.size());
  for (std::size_t k = 0; k < cands.size(); k += 7) {
    sequence_batch<float> one;
    one.features.push_back(cands[k].image);
    EXPECT_EQ(batch_abstract_traces(w.model, w.abs, one)[0], batched[k]) << "candidate " << k;
  }
}

TEST(SampleGeneration, KeepsTheCandidateNearestTheTargetTrace) {
  const auto w = make_world();
  const std::vector<index_t> failures = failures_of(w.test);
  ASSERT_FALSE(failures.empty());
  ASSERT_LT(static_cast<double>(failures.size()),
            0.5 * static_cast<double>(w.test.size()));  // the model has learned something
  generation_options o;
  o.k_nearest = 2;
  o.candidates.rotations = {-20, -10, 0, 10, 20};
  const auto out = generate_repair_samples(w.model, w.abs, w.train_images, w.train, w.test, failures, o);
  ASSERT_FALSE(out.empty());
  const index_t n = w.abs.n_real_states(), C = w.abs.n_labels();
  const auto train_abs = w.abs.abstract_traces(w.abs.states(w.train), w.train.step_labels);
  for (const auto& s : out) {
    EXPECT_EQ(s.label, w.test.truth(s.failure));
    EXPECT_EQ(w.train.truth(s.target), w.test.predictions(s.failure));
    EXPECT_EQ(w.train.truth(s.source), s.label);
    EXPECT_EQ(w.train.predictions(s.source), w.train.truth(s.source));  // sources are predicted correctly
    // Recompute: no candidate of the chosen source is nearer the target trace.
    const auto cands = make_candidates(w.train_images[static_cast<std::size_t>(s.source)], o.candidates);
    sequence_batch<float> b;
    for (const auto& c : cands) b.features.push_back(c.image);
    auto ca = batch_abstract_traces(w.model, w.abs, b);
    ca.push_back(train_abs[static_cast<std::size_t>(s.target)]);
    const auto X = normalized_traces(ca, n, C, feature_set::all, 8);
    const auto d = trace_distances(X, static_cast<index_t>(cands.size()), X);
    for (std::size_t k = 0; k < cands.size(); ++k) EXPECT_GE(d(static_cast<index_t>(k)), s.distance - 1e-12);
  }
  const auto again = generate_repair_samples(w.model, w.abs, w.train_images, w.train, w.test, failures, o);
  ASSERT_EQ(again.size(), out.size());
  for (std::size_t k = 0; k < out.size(); ++k) EXPECT_EQ(again[k].image, out[k].image);
  EXPECT_NE(error_of([&] {
              generate_repair_samples(w.model, w.abs, w.train_images, w.train, w.test, {}, o);
            }).find("no failure"),
            std::string::npos);
  const std::vector<index_t> right{[&] {
    for (index_t i = 0; i < w.test.size(); ++i)
      if (w.test.predictions(i) == w.test.truth(i)) return i;
    return index_t{0};
  }()};
  EXPECT_NE(error_of([&] {
              generate_repair_samples(w.model, w.abs, w.train_images, w.train, w.test, right, o);
            }).find("is not a failure"),
            std::string::npos);
}

TEST(SampleGeneration, RandomChoiceIsSeededAndKeepsTheSameSourcesAndLabels) {
  const auto w = make_world();
  const std::vector<index_t> failures = failures_of(w.test);
  generation_options o;
  o.candidates.rotations = {-20, -10, 0, 10, 20};
  const auto guided = generate_repair_samples(w.model, w.abs, w.train_images, w.train, w.test, failures, o);
  o.choice = candidate_choice::random;
  o.seed = 5;
  const auto a = generate_repair_samples(w.model, w.abs, w.train_images, w.train, w.test, failures, o);
  const auto b = generate_repair_samples(w.model, w.abs, w.train_images, w.train, w.test, failures, o);
  ASSERT_EQ(a.size(), guided.size());
  ASSERT_EQ(b.size(), a.size());
  index_t farther = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].image, b[k].image);
    EXPECT_EQ(a[k].source, guided[k].source);
    EXPECT_EQ(a[k].target, guided[k].target);
    EXPECT_EQ(a[k].label, guided[k].label);
    EXPECT_GE(a[k].distance, guided[k].distance - 1e-12);  // the guided one is the nearest
    farther += a[k].distance > guided[k].distance ? 1 : 0;
  }
  EXPECT_GT(farther, 0);
}

TEST(SampleGeneration, BadImagesAreTypedErrors) {
  const auto w = make_world();
  const std::vector<index_t> failures = failures_of(w.test);
  generation_options o;
  o.candidates.rotations = {0};
  auto bad = w.train_images;
  bad[3](2, 2) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error_of([&] {
              generate_repair_samples(w.model, w.abs, bad, w.train, w.test, failures, o);
            }).find("training image 3 has a NaN"),
            std::string::npos);
  bad = w.train_images;
  bad[4] = matrix<float>::Zero(7, 8);
  EXPECT_NE(error_of([&] {
              generate_repair_samples(w.model, w.abs, bad, w.train, w.test, failures, o);
            }).find("training image 4 is 7 x 8, expected 8 x 8"),
            std::string::npos);
  bad.pop_back();
  EXPECT_NE(error_of([&] {
              generate_repair_samples(w.model, w.abs, bad, w.train, w.test, failures, o);
            }).find("training images for"),
            std::string::npos);
}

}  // namespace repair_generation_tests
