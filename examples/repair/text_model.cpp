// repair text-model — the text classifier of RNNRepair's Toxic/SST experiments (Xie et al., ICML 2021:
// embedding -> GRU -> last-step head, Adam) on the fortunes topic task (or the user's labelled text),
// next to a bag-of-words logistic regression on the same split and vocabulary (binary word presence,
// L2 chosen on a validation fifth of the training set, fitted by Newton-CG).
// Writes <out>/{epochs.csv, baseline.csv, accuracy.png, summary.txt, model.rnnabs, vocabulary.txt}.
#include <CLI/CLI.hpp>

#include <cmath>
#include <numeric>

#include "text_task.hpp"
#include "../common/text.hpp"

namespace examples::repair_text_model {

using namespace rnnabs;

/// Binary bag of words (presence of each vocabulary word but <pad>/<unk>) of token sequences.
matrix<double> bag_of_words(const sequence_batch<float>& b, index_t vocab) {
  matrix<double> x = matrix<double>::Zero(b.size(), vocab - 2);
  for (index_t i = 0; i < b.size(); ++i)
    for (index_t k = 0; k < b.tokens[static_cast<std::size_t>(i)].size(); ++k) {
      const index_t w = b.tokens[static_cast<std::size_t>(i)](k);
      if (w >= 2) x(i, w - 2) = 1;
    }
  return x;
}

/// L2-regularized binary logistic regression on fixed features (intercept unpenalized), fitted by
/// Newton's method with each step solved by CG on Hessian-vector products. (The library's
/// softmax_regression_objective rebuilds [X | 1] per product, which is fine for influence analysis
/// but slow for thousands of CG steps over a 2,500 x 3,400 design.)
struct logistic_regression {
  vector<double> w;
  double b = 0;

  static logistic_regression fit(const matrix<double>& x, const index_vector& y, double l2) {
    const index_t n = x.rows(), d = x.cols();
    const vector<double> yd = y.cast<double>();
    logistic_regression m;
    m.w = vector<double>::Zero(d);
    const auto sigma = [&](const vector<double>& w, double b) {
      const vector<double> z = (x * w).array() + b;
      return vector<double>(z.unaryExpr([](double t) { return 1 / (1 + std::exp(-t)); }));
    };
    const auto loss = [&](const vector<double>& w, double b) {
      const vector<double> z = (x * w).array() + b;
      double l = 0;
      for (index_t i = 0; i < n; ++i) l += std::max(z(i), 0.0) - z(i) * yd(i) + std::log1p(std::exp(-std::abs(z(i))));
      return l / static_cast<double>(n) + 0.5 * l2 * w.squaredNorm();
    };
    for (int it = 0; it < 30; ++it) {
      const vector<double> p = sigma(m.w, m.b), r = p - yd, s = p.array() * (1 - p.array());
      const vector<double> gw = x.transpose() * r / static_cast<double>(n) + l2 * m.w;
      const double gb = r.mean(), gnorm = std::sqrt(gw.squaredNorm() + gb * gb);
      if (gnorm < 1e-7) break;
      // CG on H [dw; db] = -[gw; gb].
      const auto hv = [&](const vector<double>& vw, double vb, vector<double>& ow, double& ob) {
        const vector<double> a = (s.array() * ((x * vw).array() + vb)).matrix();
        ow = x.transpose() * a / static_cast<double>(n) + l2 * vw;
        ob = a.mean();
      };
      vector<double> dw = vector<double>::Zero(d), rw = -gw, pw = rw, hw;
      double db = 0, rb = -gb, pb = rb, hb = 0, rr = rw.squaredNorm() + rb * rb;
      for (int k = 0; k < 250 && std::sqrt(rr) > 1e-2 * gnorm; ++k) {
        hv(pw, pb, hw, hb);
        const double a = rr / (pw.dot(hw) + pb * hb);
        dw += a * pw;
        db += a * pb;
        rw -= a * hw;
        rb -= a * hb;
        const double rr2 = rw.squaredNorm() + rb * rb;
        pw = rw + (rr2 / rr) * pw;
        pb = rb + (rr2 / rr) * pb;
        rr = rr2;
      }
      double step = 1;
      const double f0 = loss(m.w, m.b), slope = gw.dot(dw) + gb * db;
      while (step > 1e-6 && loss(m.w + step * dw, m.b + step * db) > f0 + 1e-4 * step * slope) step *= 0.5;
      m.w += step * dw;
      m.b += step * db;
    }
    return m;
  }
  double accuracy(const matrix<double>& x, const index_vector& y) const {
    const vector<double> z = (x * w).array() + b;
    index_t ok = 0;
    for (index_t i = 0; i < y.size(); ++i) ok += (z(i) > 0 ? 1 : 0) == y(i) ? 1 : 0;
    return static_cast<double>(ok) / static_cast<double>(y.size());
  }
};

int run(int argc, char** argv) {
  CLI::App app{"The GRU text classifier of RNNRepair (embedding -> GRU -> head) vs a bag-of-words logistic regression"};
  text_task_options o;
  o.add_options(app);
  std::string out = "results/repair_text_model";
  app.add_option("--out", out, "results folder");
  CLI11_PARSE(app, argc, argv);
  const fs::path dir(out);
  fs::create_directories(dir);
  const auto t_all = std::chrono::steady_clock::now();
  text_task t = load_text_task(o);
  require(t.train.num_classes() == 2, "repair text-model: the baseline is binary; the data has ", t.train.num_classes(),
          " classes");

  // --- the GRU -------------------------------------------------------------------------------
  std::printf("model     embedding %ld -> GRU(%ld) -> head, Adam lr %g, batch %ld, %ld epochs, dropout %g, seed %lu\n",
              t.embeddings.size() ? t.embeddings.cols() : o.embedding, o.hidden, o.lr, o.batch, o.epochs, o.dropout,
              static_cast<unsigned long>(o.seed));
  std::fflush(stdout);
  train_history h;
  const auto t0 = std::chrono::steady_clock::now();
  const text_model m = train_text_model(o, t, t.train_batch, &h, &t.test_batch, true);
  const double train_s = seconds_since(t0);
  csv_table ep({"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds"});
  for (const auto& e : h.epochs) {
    ep.add(e.epoch + 1, e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.seconds);
    std::printf("  epoch %2ld  loss %.4f  train acc %.4f  test acc %.4f  %.1fs\n", e.epoch + 1, e.train_loss,
                e.train_accuracy, e.val_accuracy, e.seconds);
  }
  ep.save(dir / "epochs.csv");
  const double gru_acc = accuracy_of(m.forward(t.test_batch).predictions, t.test_batch.labels);
  m.save(dir / "model.rnnabs");
  t.vocab.save(dir / "vocabulary.txt");

  // --- the bag-of-words baseline --------------------------------------------------------------
  const auto t1 = std::chrono::steady_clock::now();
  const matrix<double> xtr = bag_of_words(t.train_batch, t.vocab.size()),
                       xte = bag_of_words(t.test_batch, t.vocab.size());
  // L2 by a validation fifth of the training set (seeded), then refit on all of it.
  std::vector<index_t> ids(static_cast<std::size_t>(xtr.rows()));
  std::iota(ids.begin(), ids.end(), index_t{0});
  rng g(o.split_seed ^ 0xB0Bu);
  g.shuffle(std::span<index_t>(ids));
  const std::size_t nval = ids.size() / 5;
  const auto rows_of = [&](std::size_t b, std::size_t e) {
    matrix<double> x(static_cast<index_t>(e - b), xtr.cols());
    index_vector y(static_cast<index_t>(e - b));
    for (std::size_t k = b; k < e; ++k) {
      x.row(static_cast<index_t>(k - b)) = xtr.row(ids[k]);
      y(static_cast<index_t>(k - b)) = t.train_batch.labels(ids[k]);
    }
    return std::pair{x, y};
  };
  const auto [xv, yv] = rows_of(0, nval);
  const auto [xf, yf] = rows_of(nval, ids.size());
  csv_table base({"l2", "validation_accuracy"});
  double best_l2 = 0, best_val = -1;
  for (const double l2 : {1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2}) {
    const double acc = logistic_regression::fit(xf, yf, l2).accuracy(xv, yv);
    base.add(l2, acc);
    if (acc > best_val) {
      best_val = acc;
      best_l2 = l2;
    }
  }
  base.save(dir / "baseline.csv");
  const double lr_acc = logistic_regression::fit(xtr, t.train_batch.labels, best_l2).accuracy(xte, t.test_batch.labels);
  const double lr_s = seconds_since(t1);

  plot(dir / "accuracy.gp",
       examples::concat(
           "set terminal pngcairo size 800,500\nset output '", (dir / "accuracy.png").string(),
           "'\nset datafile separator ','\nset key bottom right\nset xlabel 'epoch'\n"
           "set ylabel 'test accuracy'\nset title 'GRU text classifier vs bag-of-words logistic regression'\n"
           "plot '",
           (dir / "epochs.csv").string(), "' every ::1 using 1:5 with linespoints title 'GRU', ", lr_acc,
           " with lines dashtype 2 title 'BoW logistic regression'\n"));
  const std::string summary = examples::concat(
      "repair text-model: ", t.source, "\n", "train ", t.train.size(), " (", class_sizes_text(t.train), "), test ",
      t.test.size(), " (", class_sizes_text(t.test), "), vocabulary ", t.vocab.size(), " words (min_freq ", o.min_freq,
      ", max ", o.max_tokens, " tokens)\n", "GRU   embedding ", t.embeddings.size() ? t.embeddings.cols() : o.embedding,
      " -> GRU(", o.hidden, "), ", o.epochs, " epochs: test accuracy ", gru_acc, " (training ", train_s, " s, ",
      train_s / static_cast<double>(o.epochs), " s per epoch)\n", "BoW logistic regression (L2 ", best_l2,
      " by validation ", best_val, "): test accuracy ", lr_acc, " (", lr_s, " s)\n",
      "GRU - BoW = ", 100 * (gru_acc - lr_acc), " points\n", "total ", seconds_since(t_all), " s\n");
  rnnabs::io::atomic_write_bytes(dir / "summary.txt", summary);
  std::printf("\n%s", summary.c_str());
  return 0;
}

}  // namespace examples::repair_text_model
