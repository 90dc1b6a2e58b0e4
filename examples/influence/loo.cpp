// influence loo — do the influence estimates mean anything? Each method's predicted effect of removing
// a training sample on one test loss, against the effect measured by actually retraining without it,
// for the 50 training samples each method calls most influential (Koh & Liang's protocol, Fig. 2).
// Fashion-MNIST, the hard pair 2 Pullover vs 4 Coat, the test point with the highest loss:
//   convex  L2-regularized logistic regression on 7 x 7 pooled pixels (P = 50), fitted by Newton;
//           leave-one-out refits by Newton from the optimum (exact). Methods: Koh & Liang with each
//           solver (explicit, CG, LiSSA, Arnoldi), gradient dot product.
//   lstm    a small LSTM(8) on the rows (P = 1,234), trained by plain SGD with the run recorded.
//           SGD-influence and TracIn against the counterfactual replay of that run without the sample
//           (the quantity SGD-influence linearizes); Koh & Liang against warm-started retraining
//           (full-batch gradient descent from the trained parameters, with and without the sample).
// Writes <out>/{correlations.csv, <model>_<method>.csv (sample, predicted, actual), summary.txt}.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <numeric>

#include <rnnabs/data/fashion_mnist.hpp>
#include <rnnabs/data/split.hpp>
#include <rnnabs/influence.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/nn/image_sequences.hpp>

#include "../common/results.hpp"
#include "../common/text.hpp"

namespace examples::influence_loo {

using namespace rnnabs;
namespace fs = examples::fs;

struct settings {
  index_t train = 1000, test = 500, top = 50, lstm_train = 500, hidden = 8, epochs = 20, batch = 50;
  double l2 = 0.01, lstm_l2 = 1e-3, lr = 0.1;
  index_t warm_steps = 300;
  std::uint64_t seed = 1;
};

/// 7 x 7 means of 4 x 4 pixel blocks.
matrix<double> pooled(const data::labelled_images& d, index_t n) {
  matrix<double> x = matrix<double>::Zero(n, 49);
  for (index_t i = 0; i < n; ++i)
    for (std::size_t r = 0; r < 28; ++r)
      for (std::size_t c = 0; c < 28; ++c)
        x(i, static_cast<index_t>((r / 4) * 7 + c / 4)) += d.images(static_cast<std::size_t>(i), r, c) / 16.0;
  return x;
}

index_vector labels(const data::labelled_images& d, index_t n) {
  index_vector y(n);
  for (index_t i = 0; i < n; ++i) y(i) = d.labels(static_cast<std::size_t>(i));
  return y;
}

/// The `k` ids of largest |score|.
std::vector<index_t> top_abs(const vector<double>& s, index_t k) {
  std::vector<index_t> o(static_cast<std::size_t>(s.size()));
  std::iota(o.begin(), o.end(), index_t{0});
  std::stable_sort(o.begin(), o.end(), [&](index_t a, index_t b) { return std::abs(s(a)) > std::abs(s(b)); });
  o.resize(static_cast<std::size_t>(std::min<index_t>(k, s.size())));
  return o;
}

std::vector<index_t> all_but(index_t n, index_t i) {
  std::vector<index_t> r;
  for (index_t j = 0; j < n; ++j)
    if (j != i) r.push_back(j);
  return r;
}

template <class F>
vector<double> newton(const F& f, vector<double> w) {
  for (int it = 0; it < 100; ++it) {
    const vector<double> g = f.loss_gradient(w);
    if (g.norm() <= 1e-12) break;
    w -= f.hessian(w).ldlt().solve(g);
  }
  return w;
}

struct table {
  examples::csv_table corr{{"model", "method", "pearson", "spearman", "samples", "reference"}};
  std::string text;
  void add(const fs::path& dir, const std::string& model, const std::string& method, const std::vector<index_t>& ids,
           const vector<double>& predicted, const vector<double>& actual, const std::string& reference) {
    examples::csv_table t({"sample", "predicted", "actual"});
    for (index_t k = 0; k < predicted.size(); ++k) t.add(ids[static_cast<std::size_t>(k)], predicted(k), actual(k));
    t.save(dir / (model + "_" + method + ".csv"));
    const double p = pearson(predicted, actual), s = spearman(predicted, actual);
    corr.add(model, method, p, s, predicted.size(), reference);
    text += examples::concat("  ", model, " ", method, ": Pearson ", p, ", Spearman ", s, " (", predicted.size(),
                             " samples; vs ", reference, ")\n");
    std::printf("%-7s %-18s Pearson %7.4f  Spearman %7.4f   vs %s\n", model.c_str(), method.c_str(), p, s,
                reference.c_str());
    std::fflush(stdout);
  }
};

void convex_part(const settings& s, const data::labelled_images& tr, const data::labelled_images& te,
                 const fs::path& dir, table& out) {
  const softmax_regression_objective<double> f(pooled(tr, s.train), labels(tr, s.train), 1, s.l2);
  const softmax_regression_objective<double> test(pooled(te, s.test), labels(te, s.test), 1, 0.0);
  const vector<double> w = newton(f, vector<double>::Zero(f.parameter_count()));
  index_t q = 0;
  test.per_sample_losses(w).maxCoeff(&q);
  const auto tq = test.subset(std::vector<index_t>{q});
  const matrix<double> gt = mean_sample_gradient(tq, w);
  const double base = tq.per_sample_losses(w)(0);
  const auto actual_of = [&](const std::vector<index_t>& ids) {
    vector<double> a(static_cast<index_t>(ids.size()));
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const auto fi = f.subset(all_but(f.sample_count(), ids[k]));
      a(static_cast<index_t>(k)) = tq.per_sample_losses(newton(fi, w))(0) - base;
    }
    return a;
  };
  const auto report = [&](const std::string& name, const vector<double>& scores) {
    const auto ids = top_abs(scores, s.top);
    vector<double> pred(static_cast<index_t>(ids.size()));
    for (std::size_t k = 0; k < ids.size(); ++k) pred(static_cast<index_t>(k)) = scores(ids[k]);
    out.add(dir, "convex", name, ids, pred, actual_of(ids), "leave-one-out Newton refits");
  };
  explicit_ihvp ex(f, w);
  cg_ihvp cg(f, w, {.tol = 1e-10});
  lissa_ihvp li(f, w, {.damping = 0.0, .depth = 3000, .repetitions = 4, .batch_size = 100, .seed = s.seed});
  arnoldi_ihvp ar(f, w, {.rank = 20, .iterations = 40, .seed = s.seed});
  report("koh_liang_explicit", koh_liang(f, w, gt, ex).scores.col(0));
  report("koh_liang_cg", koh_liang(f, w, gt, cg).scores.col(0));
  report("koh_liang_lissa", koh_liang(f, w, gt, li).scores.col(0));
  report("koh_liang_arnoldi", koh_liang(f, w, gt, ar).scores.col(0));
  // Gradient dot product: the same sign convention, scaled like a removal effect (1/N, no Hessian).
  report("gradient_dot", gradient_products(f, w, gt).col(0) / static_cast<double>(f.sample_count()));
}

void lstm_part(const settings& s, const data::labelled_images& tr, const data::labelled_images& te, const fs::path& dir,
               table& out) {
  using model_t = rnn_classifier<lstm_cell, double>;
  const auto to_double = [](const sequence_batch<float>& b, index_t n) {
    sequence_batch<double> d;
    d.labels = b.labels.head(n);
    for (index_t i = 0; i < n; ++i) d.features.push_back(b.features[static_cast<std::size_t>(i)].cast<double>());
    return d;
  };
  const auto train = to_double(row_sequences(tr), s.lstm_train);
  const auto test_all = to_double(row_sequences(te), s.test);
  model_t model(rnn_config{.input_size = 28, .hidden_size = s.hidden, .num_classes = 2, .loss = loss_kind::softmax_bce},
                s.seed);
  const vector<double> w0 = model.parameters();
  sgd_trajectory<double> traj;
  basic_train_options<double> o{.epochs = s.epochs, .batch_size = s.batch, .seed = s.seed, .progress = false};
  o.on_step = traj.recorder();
  rnnabs::train(model, train, sgd{.lr = s.lr}, o);
  traj.finish(model.parameters());
  const vector<double>& wT = traj.final_parameters();
  const batch_objective f(model, train, s.lstm_l2);
  const batch_objective f0(model, train);  // what the SGD run minimized (no L2)
  const batch_objective tall(model, test_all);
  index_t q = 0;
  tall.per_sample_losses(wT).maxCoeff(&q);
  const batch_objective tq = tall.subset(std::vector<index_t>{q});
  const matrix<double> gt = mean_sample_gradient(tq, wT);
  std::printf("lstm    LSTM(%ld), %ld parameters, %ld SGD steps; test point %ld has loss %.4f\n", s.hidden,
              model.parameter_count(), static_cast<index_t>(traj.steps().size()), q, tq.per_sample_losses(wT)(0));
  // The counterfactual replay: the recorded batches without sample j (divisor |B| kept).
  const auto replay = [&](index_t j) {
    vector<double> w = w0;
    for (const auto& st : traj.steps()) {
      std::vector<index_t> keep;
      for (index_t i : st.batch)
        if (i != j) keep.push_back(i);
      if (!keep.empty())
        w -= st.learning_rate * f0.subset(keep).loss_gradient(w) *
             (static_cast<double>(keep.size()) / static_cast<double>(st.batch.size()));
    }
    return tq.per_sample_losses(w)(0);
  };
  const double base = replay(-1);  // the same arithmetic without removal (equals the run up to rounding)
  const auto by_replay = [&](const std::string& name, const vector<double>& scores) {
    const auto ids = top_abs(scores, s.top);
    vector<double> pred(static_cast<index_t>(ids.size())), act(static_cast<index_t>(ids.size()));
    for (std::size_t k = 0; k < ids.size(); ++k) {
      pred(static_cast<index_t>(k)) = scores(ids[k]);
      act(static_cast<index_t>(k)) = replay(ids[k]) - base;
    }
    out.add(dir, "lstm", name, ids, pred, act, "counterfactual SGD replay");
  };
  by_replay("sgd_influence", sgd_influence(f0, traj, gt).all_epochs.col(0));
  // TracIn scores a proponent positive: training on it lowered the test loss, so removing it raises
  // the loss by that amount to first order — the same sign as a removal effect.
  by_replay("tracin", tracin(f0, tq, traj).col(0));
  // Koh & Liang at the SGD solution on the L2-regularized objective, against warm-started retraining.
  // SGD stops short of a minimum: the Hessian there is indefinite, so damp just past its lowest eigenvalue.
  const double lo = explicit_ihvp(f, wT, {.damping = 1e6}).report().min_eigenvalue;
  const double damping = 0.01 + 1.1 * std::max(0.0, -lo);
  explicit_ihvp ex(f, wT, {.damping = damping});
  const vector<double> kl = koh_liang(f, wT, gt, ex).scores.col(0);
  const auto descend = [&](const batch_objective<model_t>& g) {
    vector<double> w = wT;
    for (index_t it = 0; it < s.warm_steps; ++it) w -= s.lr * g.loss_gradient(w);
    return tq.per_sample_losses(w)(0);
  };
  const double warm_base = descend(f);
  const auto ids = top_abs(kl, s.top);
  vector<double> pred(static_cast<index_t>(ids.size())), act(static_cast<index_t>(ids.size()));
  for (std::size_t k = 0; k < ids.size(); ++k) {
    pred(static_cast<index_t>(k)) = kl(ids[k]);
    act(static_cast<index_t>(k)) = descend(f.subset(all_but(f.sample_count(), ids[k]))) - warm_base;
  }
  out.add(dir, "lstm", "koh_liang_explicit", ids, pred, act,
          examples::concat("warm-started retraining (", s.warm_steps, " full-batch GD steps; damping ", damping, ")"));
}

int run(int argc, char** argv) {
  CLI::App app{"Influence estimates against actual leave-one-out retraining (Pearson / Spearman per method)"};
  settings s;
  std::string data_dir = data::fashion_mnist_dir.string(), out = "results/influence_loo";
  int threads = 0;
  app.add_option("--train", s.train, "training samples of the logistic regression");
  app.add_option("--lstm-train", s.lstm_train, "training sequences of the LSTM");
  app.add_option("--top", s.top, "samples checked per method (largest |estimate|)");
  app.add_option("--hidden", s.hidden, "LSTM hidden units");
  app.add_option("--epochs", s.epochs, "LSTM SGD epochs");
  app.add_option("--lr", s.lr, "LSTM SGD learning rate");
  app.add_option("--warm-steps", s.warm_steps, "gradient steps of the warm-started retraining");
  app.add_option("--seed", s.seed, "seed");
  app.add_option("--data", data_dir, "directory of the Fashion-MNIST (or MNIST) IDX files");
  app.add_option("--out", out, "results folder");
  app.add_option("--threads", threads, "threads (0: all cores)");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) set_threads(threads);
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path dir(out);
  fs::create_directories(dir);
  const std::vector<std::int32_t> cls{2, 4};
  const auto tr = data::select_classes(data::load_fashion_mnist(data::split::train, data_dir), cls);
  const auto te = data::select_classes(data::load_fashion_mnist(data::split::test, data_dir), cls);
  table t;
  convex_part(s, tr, te, dir, t);
  lstm_part(s, tr, te, dir, t);
  t.corr.save(dir / "correlations.csv");
  const std::string summary = "influence loo: Fashion-MNIST 2 vs 4, predicted vs actual removal effects on the "
                              "highest-loss test point\n" +
                              t.text + examples::concat("total time ", examples::seconds_since(t0), " s\n");
  io::atomic_write_bytes(dir / "summary.txt", summary);
  std::printf("results in %s (%.1fs)\n", dir.c_str(), examples::seconds_since(t0));
  return 0;
}

}  // namespace examples::influence_loo
