// rnnabs_demo — the library's main job at this stage, on real data: Fashion-MNIST images →
// PCA → a sweep over the number of Gaussian-mixture components, choosing K by BIC (the state
// abstraction step of RNNRepair, here on raw image rows; later stages feed RNN hidden states).
// Writes <out>/bic.csv, <out>/bic.png (+ .gp script) and <out>/summary.txt.
#include <CLI/CLI.hpp>

#include <rnnabs/data/fashion_mnist.hpp>
#include <rnnabs/stats/model_selection.hpp>
#include <rnnabs/stats/pca.hpp>

#include "common/results.hpp"

int main(int argc, char** argv) {
  CLI::App app{"rnnabs demo: PCA + Gaussian-mixture component sweep (BIC) on Fashion-MNIST"};
  std::string data_dir = rnnabs::data::fashion_mnist_dir.string();
  std::string out = "results/demo";
  rnnabs::index_t n_pca = 10;
  std::vector<rnnabs::index_t> ks = {1, 2, 4, 8, 12, 16, 24, 32, 40, 48, 64, 80};
  std::string covariance = "diag";
  std::uint64_t seed = 0;
  int threads = 0;
  app.add_option("--data", data_dir, "directory of the Fashion-MNIST (or MNIST) IDX files");
  app.add_option("--out", out, "results folder");
  app.add_option("--pca", n_pca, "principal components kept")->check(CLI::Range(1, 784));
  app.add_option("--k", ks, "numbers of mixture components to try")->delimiter(',');
  app.add_option("--covariance", covariance, "full, tied, diag or spherical");
  app.add_option("--seed", seed, "seed of every random step");
  app.add_option("--threads", threads, "threads (0: all cores)");
  CLI11_PARSE(app, argc, argv);

  try {
    if (threads > 0) rnnabs::set_threads(threads);
    const auto cov = rnnabs::parse_covariance_type(covariance);
    const auto t0 = std::chrono::steady_clock::now();
    const auto train = rnnabs::data::load_fashion_mnist(rnnabs::data::split::train, data_dir);
    const auto n = static_cast<rnnabs::index_t>(train.images.shape()[0]);
    const auto d = static_cast<rnnabs::index_t>(train.images.shape()[1] * train.images.shape()[2]);
    const Eigen::Map<const rnnabs::matrix<float>> X(train.images.data(), n, d);  // one image per row
    std::printf("data      %ld images x %ld pixels from %s (%.1fs)\n", n, d, data_dir.c_str(),
                examples::seconds_since(t0));

    auto t1 = std::chrono::steady_clock::now();
    rnnabs::pca reducer({.n_components = n_pca, .seed = seed});
    reducer.fit(X);
    const rnnabs::matrix<float> Z = reducer.transform(X);
    std::printf("pca       %ld -> %ld components, %.1f%% of the variance (%.2fs)\n", d, n_pca,
                100.0 * reducer.explained_variance_ratio().sum(), examples::seconds_since(t1));

    t1 = std::chrono::steady_clock::now();
    examples::progress bar("gmm sweep", static_cast<long>(ks.size()));
    long done = 0;
    std::printf("gmm sweep %s covariance, K in {", covariance.c_str());
    for (std::size_t i = 0; i < ks.size(); ++i) std::printf("%s%ld", i ? "," : "", ks[i]);
    std::printf("}\n%6s %16s %16s %12s %6s %9s\n", "K", "BIC", "AIC", "loglik/pt", "iters", "seconds");
    const auto sweep = rnnabs::sweep_gmm(
        Z, {.n_components = ks, .covariances = {cov}, .base = {.max_iter = 200, .seed = seed}},
        [&](const rnnabs::gmm_sweep_entry& e) {
          bar.update(++done, "K=" + std::to_string(e.n_components));
          std::printf("%6ld %16.1f %16.1f %12.5f %6ld %9.2f%s\n", e.n_components, e.bic, e.aic, e.score, e.n_iter,
                      e.seconds, e.converged ? "" : "  (not converged)");
          std::fflush(stdout);
        });
    const auto& best = sweep.entries[sweep.best_bic()];
    std::printf("best      K = %ld by BIC (%.1f); sweep took %.1fs\n", best.n_components, best.bic,
                examples::seconds_since(t1));

    const examples::fs::path dir(out);
    examples::fs::create_directories(dir);
    examples::csv_table csv({"k", "covariance", "bic", "aic", "loglik_per_point", "n_iter", "converged", "seconds"});
    for (const auto& e : sweep.entries)
      csv.add(e.n_components, covariance, e.bic, e.aic, e.score, e.n_iter, e.converged ? 1 : 0, e.seconds);
    csv.save(dir / "bic.csv");
    const bool plotted = examples::plot(
        dir / "bic.gp",
        "set terminal pngcairo size 900,560 font 'sans,11'\n"
        "set output '" + (dir / "bic.png").string() + "'\n"
        "set datafile separator ','\nset key top right\nset grid\n"
        "set title 'Fashion-MNIST, PCA " + std::to_string(n_pca) + " + GMM (" + covariance + "): information criteria'\n"
        "set xlabel 'number of mixture components K'\nset ylabel 'criterion (lower is better)'\n"
        "plot '" + (dir / "bic.csv").string() + "' every ::1 using 1:3 with linespoints lw 2 title 'BIC', "
        "'' every ::1 using 1:4 with linespoints lw 2 title 'AIC'\n");
    rnnabs::io::atomic_write_bytes(
        dir / "summary.txt",
        rnnabs::detail::concat("rnnabs demo: Fashion-MNIST train (", n, " x ", d, ") -> PCA ", n_pca, " (",
                               100.0 * reducer.explained_variance_ratio().sum(), "% variance) -> GMM ", covariance,
                               " sweep\nbest K by BIC: ", best.n_components, " (BIC ", best.bic, ")\n"));
    std::printf("results   %s/{bic.csv,%ssummary.txt} (total %.1fs)\n", dir.string().c_str(),
                plotted ? "bic.png," : "", examples::seconds_since(t0));
  } catch (const rnnabs::error& e) {
    std::fprintf(stderr, "rnnabs_demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
