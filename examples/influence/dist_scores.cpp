// influence dist-scores — influence scoring with the Fashion-MNIST training set sharded across the
// ranks of `mpirun -np N influence dist-scores` (any N; one process without mpirun):
//   1. rank 0 loads (or trains and caches) the LSTM, then the other ranks load it;
//   2. each rank holds a range of training sequences (multiples of --chunk) and its objective;
//   3. Koh & Liang: s_test = (H + λI)⁻¹ ∇ℓ_test, by Arnoldi (the top eigenpairs of H: robust where an
//      LSTM's H is indefinite) or conjugate gradients, with Hessian-vector products summed over every
//      rank's samples; then each rank scores its own samples. TracInCP at the trained weights (gradient
//      cosine) needs nothing shared;
//   4. the top-k helpful and harmful training samples per test input, merged across the ranks.
// The test inputs are the first --tests misclassified test images. Rank 0 writes <out>/influence.csv
// (values to 17 digits) and summary.txt: the same bytes for any number of ranks.
#include <CLI/CLI.hpp>

#include <rnnabs/influence/sharded.hpp>
#include <rnnabs/influence/tracin.hpp>

#include "../abstraction/common.hpp"
#include "../common/text.hpp"
#include "../common/world.hpp"

namespace examples::influence_dist_scores {

int run(int argc, char** argv) {
  examples::world world(argc, argv);
  using namespace rnnabs;
  CLI::App app{"Koh & Liang and TracIn influence with the training set sharded across MPI ranks"};
  examples::dist_job job;
  job.out = "results/influence_dist_scores";
  job.train_limit = 6144;
  index_t tests = 4, chunk = 512, top = 10, cg_iters = 100, rank = 20, lanczos = 40;
  double l2 = 1e-3, damping = 0.01, tol = 1e-4;
  std::string solver_name = "arnoldi";
  job.add_options(app);
  app.add_option("--tests", tests, "misclassified test images explained");
  app.add_option("--chunk", chunk, "samples per chunk of the shared sums (a multiple of 128); ranks hold multiples");
  app.add_option("--top", top, "helpful and harmful samples listed per test image");
  app.add_option("--l2", l2, "L2 term of the training objective (l2/2)·‖w‖²");
  app.add_option("--damping", damping, "λ of (H + λI)⁻¹");
  app.add_option("--solver", solver_name, "inverse-HVP solver: arnoldi or cg")->check(CLI::IsMember({"arnoldi", "cg"}));
  app.add_option("--rank", rank, "Arnoldi: eigenpairs of H kept");
  app.add_option("--lanczos", lanczos, "Arnoldi: Lanczos steps (Hessian-vector products)");
  app.add_option("--cg-iters", cg_iters, "conjugate-gradient iterations at most");
  app.add_option("--tol", tol, "CG tolerance (relative residual)");
  CLI11_PARSE(app, argc, argv);
  const communicator_ref comm = world.comm();
  const std::uint64_t seed = job.seed;
  const auto t0 = std::chrono::steady_clock::now();
  const auto [train_set, test_set, m] = job.open(world);

  // The test inputs: the first misclassified test images (every rank finds the same ones).
  std::vector<index_t> wrong;
  {
    const index_t scan = std::min<index_t>(test_set.size(), 2000);
    std::vector<index_t> ids(static_cast<std::size_t>(scan));
    std::iota(ids.begin(), ids.end(), 0);
    const index_vector pred = m.model.forward(subset(test_set, ids)).predictions;
    for (index_t i = 0; i < scan && static_cast<index_t>(wrong.size()) < tests; ++i)
      if (pred(i) != test_set.labels(i)) wrong.push_back(i);
  }
  require(!wrong.empty(), "influence dist-scores: no misclassified test image among the first 2000");
  const auto test = subset(test_set, wrong);

  // This rank's training samples and the sharded objective over all of them (each rank needs some).
  require(chunk >= 128 && chunk % 128 == 0, "influence dist-scores: --chunk must be a multiple of 128, got ", chunk);
  require(chunk_count(train_set.size(), chunk) >= world.size(), "influence dist-scores: ", train_set.size(),
          " training samples make fewer chunks of ", chunk, " than there are ranks (", world.size(),
          "); lower --chunk or run fewer ranks");
  const auto [b, e] = shard_rows(train_set.size(), world.rank(), world.size(), chunk);
  std::vector<index_t> mine(static_cast<std::size_t>(e - b));
  std::iota(mine.begin(), mine.end(), b);
  const auto local_set = subset(train_set, mine);
  const batch_objective f_local(m.model, local_set, l2), f_test(m.model, test);
  const sharded_objective train(f_local, comm, {.chunk = chunk});
  const vector<float> w = m.model.parameters();
  const matrix<double> gt = sample_gradients(f_test, w);

  const auto t1 = std::chrono::steady_clock::now();
  const auto kl = [&] {
    if (solver_name == "cg") {
      cg_ihvp solver(train, w, {.damping = damping, .tol = tol, .max_iter = cg_iters});
      return koh_liang(train, w, gt, solver);
    }
    arnoldi_ihvp solver(train, w, {.damping = damping, .rank = rank, .iterations = lanczos, .seed = seed});
    return koh_liang(train, w, gt, solver);
  }();
  const double kl_seconds = examples::seconds_since(t1);
  const std::string solved =
      solver_name == "cg" ? examples::concat("CG ", kl.report.iterations, " iterations, residual ",
                                             exact(kl.report.residual), kl.report.converged ? "" : " (not converged)")
                          : examples::concat("Arnoldi ", kl.report.iterations, " Lanczos steps, eigenvalues of H kept ",
                                             exact(kl.report.min_eigenvalue), " .. ", exact(kl.report.max_eigenvalue));
  world.say("koh-liang ", train.sample_count(), " samples on ", world.size(), " rank(s), P = ", train.parameter_count(),
            ": ", solved, ", ", kl_seconds, " s\n");
  const auto t2 = std::chrono::steady_clock::now();
  const matrix<double> tr = gradient_similarity(f_local, f_test, w, {.normalize = true});
  world.say("tracin    gradient cosines of the local samples, ", examples::seconds_since(t2), " s\n");

  examples::csv_table csv(
      {"method", "test_image", "test_label", "list", "rank", "train_sample", "train_label", "score"});
  const auto list = [&](const char* method, const matrix<double>& scores) {
    for (const bool helpful : {true, false}) {
      const auto best = top_k(scores, top, {.largest = helpful, .first_row = b}, comm);
      for (std::size_t j = 0; j < best.size(); ++j)
        for (std::size_t q = 0; q < best[j].size(); ++q)
          csv.add(method, wrong[j], test_set.labels(wrong[j]), helpful ? "helpful" : "harmful", q + 1,
                  best[j][q].sample, train_set.labels(best[j][q].sample), exact(best[j][q].score));
    }
  };
  list("koh_liang", kl.scores);
  list("tracin_cosine", tr);
  if (world.root()) {
    const examples::fs::path dir(job.out);
    examples::fs::create_directories(dir);
    csv.save(dir / "influence.csv");
    std::string norms;
    for (index_t j = 0; j < kl.s_test.cols(); ++j) norms += (j ? ", " : "") + exact(kl.s_test.col(j).norm());
    io::atomic_write_bytes(
        dir / "summary.txt",
        examples::concat("influence dist-scores\nmodel: LSTM(", m.model.config().hidden_size, "), ",
                         train.parameter_count(), " parameters\ntraining samples: ", train.sample_count(),
                         ", l2 = ", l2, "\ntest images: ", wrong.size(), "\nsolver: damping ", damping, ", ", solved,
                         "\n|s_test|: ", norms, "\nlists: influence.csv (top ", top,
                         " helpful and harmful per method and test image)\n"));
  }
  const std::vector<std::size_t> bytes = all_gather_value(comm, world.bytes_sent());
  world.say("ranks     ", world.size(), ", bytes sent by rank 0: ", bytes.front(), ", wall ",
            examples::seconds_since(t0), " s\nresults   ", job.out, "\n");
  return 0;
}

}  // namespace examples::influence_dist_scores
