// explain dmm — DMM (Dirichlet-process mixture of Bayesian linear regressions; Guo et al., NeurIPS 2018)
// explaining a tabular binary classifier, with the three fidelity tests against a random baseline and a LIME
// baseline (the released experiment used an MLP on 135 PDF-malware features, which are not available here).
//
// Stand-in data: Fashion-MNIST, two classes (default Pullover = 2 vs Coat = 4, the hard pair), each image
// average-pooled to 7 x 7 = 49 tabular features in [0, 1]. Black box: L2-regularised logistic regression
// trained here (Newton's method). DMM is fitted on (training features, black-box probability of class 1);
// its surrogate error is measured on held-out test rows. Explanations of test samples predicted as class 1
// rank features by β_j (x_j − null_j) in the sample's component (null = 0, a blank patch).
//
//   explain dmm                         defaults run in well under a minute
//   explain dmm --iterations 20000      the released chain length
//
// Writes <out>/{fidelity.csv, components.csv, loglik.csv, loglik.png, summary.txt}.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <rnnabs/data/fashion_mnist.hpp>
#include <rnnabs/data/split.hpp>
#include <rnnabs/explain/dmm.hpp>
#include <rnnabs/explain/fidelity.hpp>

#include "../common/results.hpp"
#include "../common/text.hpp"

namespace examples::explain_dmm {

using namespace rnnabs;

/// 7 x 7 average pooling of 28 x 28 images: n x 49.
matrix<double> pooled_features(const data::labelled_images& d) {
  const index_t n = static_cast<index_t>(d.images.shape()[0]);
  matrix<double> X = matrix<double>::Zero(n, 49);
  for (index_t i = 0; i < n; ++i)
    for (index_t r = 0; r < 28; ++r)
      for (index_t c = 0; c < 28; ++c)
        X(i,
          (r / 4) * 7 + c / 4) += static_cast<double>(d.images(static_cast<std::size_t>(i), static_cast<std::size_t>(r),
                                                               static_cast<std::size_t>(c))) /
                                  16.0;
  return X;
}

/// The black box: logistic regression with an intercept, fitted by Newton's method (ridge 1e-3 · n).
struct logistic_box {
  vector<double> w;
  double b = 0;
  vector<double> operator()(const matrix<double>& X) const {
    return (1.0 / (1.0 + (-(X * w).array() - b).exp())).matrix();
  }
  static logistic_box fit(const matrix<double>& X, const vector<double>& y, int iters = 25) {
    const index_t n = X.rows(), p = X.cols();
    matrix<double> Z(n, p + 1);
    Z.leftCols(p) = X;
    Z.col(p).setOnes();
    vector<double> th = vector<double>::Zero(p + 1);
    const double ridge = 1e-3 * static_cast<double>(n);
    for (int it = 0; it < iters; ++it) {
      const vector<double> q = (1.0 / (1.0 + (-(Z * th).array()).exp())).matrix();
      vector<double> g = Z.transpose() * (q - y);
      g.head(p) += ridge * th.head(p);
      const vector<double> wdiag = (q.array() * (1 - q.array())).matrix();
      Eigen::MatrixXd H = Z.transpose() * wdiag.asDiagonal() * Z;
      H.diagonal().head(p).array() += ridge;
      th -= H.ldlt().solve(g);
    }
    return {th.head(p), th(p)};
  }
};

int run(int argc, char** argv) {
  CLI::App app{"DMM explaining a tabular classifier (Fashion-MNIST 7x7 pooled features), with fidelity tests"};
  std::string data_dir = data::fashion_mnist_dir.string();
  std::string out = "results/explain_dmm";
  std::vector<int> classes{2, 4};
  index_t n_fit = 3000, iterations = 1500, truncation = 3, n_features = 5, n_explain = 500;
  std::uint64_t seed = 1567;
  app.add_option("--data-dir", data_dir, "Fashion-MNIST IDX folder (Debian: dataset-fashion-mnist)");
  app.add_option("--out", out, "results folder");
  app.add_option("--classes", classes, "the two classes: class 0, class 1 (explained)")->expected(2);
  app.add_option("--n-fit", n_fit, "training rows the DMM is fitted on");
  app.add_option("--iterations", iterations, "Gibbs sweeps (burn-in: half; released: 20000)");
  app.add_option("--truncation", truncation, "J, the stick-breaking truncation (released: 3)");
  app.add_option("-n,--n-features,--nf", n_features, "features selected by each explanation");
  app.add_option("--n-explain", n_explain, "test samples predicted as class 1 to explain");
  app.add_option("--seed", seed, "seed of the sampler, the split and the baselines");
  CLI11_PARSE(app, argc, argv);

  const auto t0 = std::chrono::steady_clock::now();
  examples::fs::create_directories(out);
  const std::vector<std::int32_t> cls{classes[0], classes[1]};
  const auto tr = data::select_classes(data::load_fashion_mnist(data::split::train, data_dir), cls);
  const auto te = data::select_classes(data::load_fashion_mnist(data::split::test, data_dir), cls);
  const matrix<double> Xtr = pooled_features(tr), Xte = pooled_features(te);
  vector<double> ytr(Xtr.rows()), yte(Xte.rows());
  for (index_t i = 0; i < ytr.size(); ++i) ytr(i) = tr.labels(static_cast<std::size_t>(i));
  for (index_t i = 0; i < yte.size(); ++i) yte(i) = te.labels(static_cast<std::size_t>(i));
  const logistic_box box = logistic_box::fit(Xtr, ytr);
  static_assert(check_black_box_scorer<logistic_box, matrix<double>>());
  const vector<double> pte = box(Xte);
  index_t tp = 0, fp = 0, fn = 0, tn = 0;
  for (index_t i = 0; i < pte.size(); ++i) {
    const bool p1 = pte(i) > 0.5, t1 = yte(i) > 0.5;
    tp += p1 && t1, fp += p1 && !t1, fn += !p1 && t1, tn += !p1 && !t1;
  }
  const double prec = static_cast<double>(tp) / static_cast<double>(std::max<index_t>(tp + fp, 1));
  const double rec = static_cast<double>(tp) / static_cast<double>(std::max<index_t>(tp + fn, 1));
  std::printf("black box  logistic regression on 49 pooled features, classes %d vs %d: test accuracy %.4f, "
              "precision %.4f, recall %.4f, F1 %.4f\n",
              classes[0], classes[1], static_cast<double>(tp + tn) / static_cast<double>(pte.size()), prec, rec,
              2 * prec * rec / std::max(prec + rec, 1e-12));

  // DMM on a random subset of the training rows (the released code: 80 % of the training set).
  rng g(seed);
  std::vector<index_t> ids(static_cast<std::size_t>(Xtr.rows()));
  std::iota(ids.begin(), ids.end(), index_t{0});
  g.shuffle(std::span(ids));
  n_fit = std::min(n_fit, Xtr.rows());
  matrix<double> Xf(n_fit, 49);
  for (index_t i = 0; i < n_fit; ++i) Xf.row(i) = Xtr.row(ids[static_cast<std::size_t>(i)]);
  const vector<double> yf = box(Xf);
  std::fprintf(stderr, "DMM: %ld rows x 49 features, J = %ld, %ld sweeps ...\n", static_cast<long>(n_fit),
               static_cast<long>(truncation), static_cast<long>(iterations));
  const auto t1 = std::chrono::steady_clock::now();
  const dp_mixture_fit f = dmm({.truncation = truncation, .iterations = iterations, .seed = seed}).fit(Xf, yf);
  const double fit_s = examples::seconds_since(t1);
  const vector<double> pm = f.predict_mean(Xte);
  const double rmse = std::sqrt((pm - pte).squaredNorm() / static_cast<double>(pte.size()));
  const matrix<double> qi = f.predictive_quantiles(Xte, {0.05, 0.95}, 2000, seed);
  double cover = 0;
  for (index_t i = 0; i < pte.size(); ++i) cover += pte(i) >= qi(i, 0) && pte(i) <= qi(i, 1);
  cover /= static_cast<double>(pte.size());
  std::printf("DMM        %.1f s, %ld kept draws; held-out RMSE of the surrogate vs the black box %.4f, "
              "90%% predictive interval coverage %.3f\n",
              fit_s, static_cast<long>(f.kept_draws), rmse, cover);
  examples::csv_table comp({"component", "weight", "variance", "rows", "top_features_by_beta"});
  for (index_t j = 0; j < f.n_components(); ++j) {
    std::string top;
    const index_vector r = f.rank_by_magnitude(j);
    for (index_t k = 0; k < 5; ++k) top += (k ? " " : "") + std::to_string(r(k));
    comp.add(j, f.weights(j), f.variances(j), f.counts(j), top);
    std::printf("  component %ld: pi %.3f  sigma2 %.3g  rows %ld  top |beta| features %s\n", static_cast<long>(j),
                f.weights(j), f.variances(j), static_cast<long>(f.counts(j)), top.c_str());
  }
  comp.save(examples::fs::path(out) / "components.csv");

  // Explanations of test samples predicted as class 1; the augmentation seed is the class-0 prediction
  // closest to the boundary (as in DMM's released code).
  const vector<double> null_value = vector<double>::Zero(49);
  index_t seed_row = -1;
  for (index_t i = 0; i < pte.size(); ++i)
    if (pte(i) < 0.5 && (seed_row < 0 || pte(i) > pte(seed_row))) seed_row = i;
  require(seed_row >= 0, "explain dmm: no test sample is predicted as class 0");
  const vector<double> seed_x = Xte.row(seed_row).transpose();
  std::vector<feature_case<double>> dmm_cases, lime_cases;
  for (index_t i = 0; i < pte.size() && static_cast<index_t>(dmm_cases.size()) < n_explain; ++i) {
    if (pte(i) <= 0.5) continue;
    const vector<double> x = Xte.row(i).transpose();
    dmm_cases.push_back({x, explain_instance(f, x, pte(i), null_value).ranking});
    lime_cases.push_back({x, lime_explain(box, x, null_value, {.seed = seed + static_cast<std::uint64_t>(i)}).first});
  }
  const fidelity_options fo{.n_features = n_features, .seed = seed};
  const auto rd = feature_fidelity(box, dmm_cases, null_value, seed_x, fo);
  const auto rl = feature_fidelity(box, lime_cases, null_value, seed_x, fo);
  examples::csv_table fid({"test", "dmm", "lime", "random", "cases", "n_features"});
  std::printf("\nfidelity (PCR = share still classified as class %d; %zu explained test samples, %ld features)\n",
              classes[1], dmm_cases.size(), static_cast<long>(n_features));
  std::printf("  %-13s %8s %8s %8s   desired\n", "test", "DMM", "LIME", "random");
  const struct {
    const char* name;
    const fidelity_score& d;
    const fidelity_score& l;
    const char* want;
  } rows[] = {{"deduction", rd.deduction, rl.deduction, "low"},
              {"augmentation", rd.augmentation, rl.augmentation, "high"},
              {"synthetic", rd.synthetic, rl.synthetic, "high"}};
  for (const auto& r : rows) {
    std::printf("  %-13s %8.3f %8.3f %8.3f   %s\n", r.name, r.d.explainer, r.l.explainer, r.d.random, r.want);
    fid.add(r.name, r.d.explainer, r.l.explainer, r.d.random, r.d.cases, n_features);
  }
  fid.save(examples::fs::path(out) / "fidelity.csv");
  examples::csv_table ll({"iteration", "complete_data_loglik"});
  for (std::size_t i = 0; i < f.log_likelihood_trace.size(); ++i) ll.add(i + 1, f.log_likelihood_trace[i]);
  ll.save(examples::fs::path(out) / "loglik.csv");
  // clang-format off
  examples::plot(examples::fs::path(out) / "loglik.gp",
                 "set terminal pngcairo size 800,480\nset output '" + (examples::fs::path(out) / "loglik.png").string() +
                     "'\nset datafile separator ','\nset xlabel 'Gibbs sweep'\nset ylabel 'complete-data log-likelihood'\n"
                     "plot '" + (examples::fs::path(out) / "loglik.csv").string() +
                     "' every ::1 using 1:2 with lines title 'DMM chain'\n");
  // clang-format on
  rnnabs::io::atomic_write_bytes(
      examples::fs::path(out) / "summary.txt",
      examples::concat("classes ", classes[0], " vs ", classes[1], "\nrmse ", rmse, "\ncoverage90 ", cover,
                       "\ndeduction ", rd.deduction.explainer, " lime ", rl.deduction.explainer, " random ",
                       rd.deduction.random, "\naugmentation ", rd.augmentation.explainer, " lime ",
                       rl.augmentation.explainer, " random ", rd.augmentation.random, "\nsynthetic ",
                       rd.synthetic.explainer, " lime ", rl.synthetic.explainer, " random ", rd.synthetic.random,
                       "\n"));
  std::printf("\nresults in %s (%.1f s)\n", out.c_str(), examples::seconds_since(t0));
  return 0;
}

}  // namespace examples::explain_dmm
