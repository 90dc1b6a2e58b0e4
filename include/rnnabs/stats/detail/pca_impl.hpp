#pragma once
// Bodies of rnnabs::pca (included at the end of rnnabs/stats/pca.hpp).
#include <algorithm>

#include "rnnabs/stats/pca.hpp"
#if defined(RNNABS_HAVE_ZIP)
#include "rnnabs/io/archive.hpp"
#endif

namespace rnnabs {

template <class T>
void pca::fit_impl(const matrix_cref<T>& x, communicator_ref comm) {
  const char* who = "pca::fit";
  const row_shard shard = make_row_shard(comm, x.rows(), who);
  same_on_every_rank(comm, x.cols(), who, "row width");
  require(comm.size() == 1 || opt_.solver == pca_solver::covariance_eigh, who, ": solver ", to_string(opt_.solver),
          " is not distributed; on ", comm.size(), " ranks use covariance_eigh");
  const index_t n = shard.global, d = x.cols(), max_k = std::min(n, d);
  require(n > 0 && d > 0, who, ": X is empty (", n, " x ", d, ")");
  require(n >= 2, who, ": X needs at least 2 rows (samples) to estimate a variance, got ", n);
  const double frac = opt_.variance_fraction;
  require(frac == 0.0 || (frac > 0.0 && frac < 1.0), who, ": variance_fraction must be 0 (off) or in (0, 1), got ",
          frac);
  require(frac == 0.0 || opt_.solver != pca_solver::randomized, who,
          ": variance_fraction needs the whole spectrum; use solver covariance_eigh or exact, not randomized");
  require(frac > 0.0 || opt_.n_components == -1 || (opt_.n_components >= 1 && opt_.n_components <= max_k), who,
          ": n_components must be in [1, min(N, D)] = [1, ", max_k, "] (or -1 for all), got ", opt_.n_components,
          " for X of ", n, " x ", d);
  require(opt_.oversamples >= 0, who, ": oversamples must be >= 0, got ", opt_.oversamples);
  // NaN/Inf are caught by the solvers' mean pass (no extra sweep over X).

  const index_t k_req = (frac > 0.0 || opt_.n_components == -1) ? max_k : opt_.n_components;
  vector<double> mean;
  detail::pca_spectrum s;
  switch (opt_.solver) {
    case pca_solver::covariance_eigh: s = detail::pca_covariance_eigh<T>(x, mean, comm, n); break;
    case pca_solver::exact: s = detail::pca_exact_svd<T>(x, mean); break;
    case pca_solver::randomized:
      s = detail::pca_randomized_svd<T>(x, k_req, opt_.oversamples, opt_.power_iterations, opt_.seed, mean);
      break;
  }
  require<numerical_error>(s.total_variance > 0.0, who, ": X has zero variance (all ", n,
                           " rows are equal); there are no principal directions");
  const vector<double> ratio_all = s.variances / s.total_variance;

  index_t k = k_req;
  if (frac > 0.0) {  // sklearn: the first k whose cumulative ratio exceeds frac
    double cum = 0.0;
    k = 0;
    while (k < ratio_all.size() && cum + ratio_all(k) <= frac) cum += ratio_all(k++);
    k = std::min<index_t>(k + 1, ratio_all.size());
  }

  components_ = s.components.topRows(k);
  detail::flip_signs(components_);
  mean_ = std::move(mean);
  explained_variance_ = s.variances.head(k);
  explained_variance_ratio_ = ratio_all.head(k);
  singular_values_ = (explained_variance_ * static_cast<double>(n - 1)).cwiseSqrt();
  n_samples_ = n;
  if (k >= max_k) noise_variance_ = 0.0;
  else if (s.complete) noise_variance_ = s.variances.segment(k, max_k - k).mean();
  else noise_variance_ = std::max(0.0, s.total_variance - explained_variance_.sum()) / static_cast<double>(max_k - k);

  if (opt_.whiten) {
    index_t bad = -1;
    for (index_t i = 0; i < k && bad < 0; ++i)
      if (!(explained_variance_(i) > 0.0)) bad = i;
    if (bad >= 0) {
      components_.resize(0, 0);
      throw numerical_error(detail::concat(who, ": component ", bad,
                                           " has zero variance, so it cannot be whitened; lower n_components to ", bad,
                                           " or turn whiten off"));
    }
  }
}

#if defined(RNNABS_HAVE_ZIP)
inline void pca::save(const std::filesystem::path& path) const {
  require(fitted(), "pca::save: called before fit");
  io::archive a("pca", archive_version);
  a.put("components", components_);
  a.put("mean", mean_);
  a.put("explained_variance", explained_variance_);
  a.put("explained_variance_ratio", explained_variance_ratio_);
  a.put("singular_values", singular_values_);
  a.put_scalar("noise_variance", noise_variance_);
  a.put_scalar("n_samples", static_cast<double>(n_samples_));
  a.put_scalar("whiten", opt_.whiten ? 1.0 : 0.0);
  a.put_string("solver", to_string(opt_.solver));
  io::save(path, a);
}

inline pca pca::load(const std::filesystem::path& path) {
  const io::archive a = io::load(path, "pca", archive_version);
  pca_options o;
  o.whiten = a.get_scalar("whiten") != 0.0;
  const std::string solver = a.get_string("solver");
  for (auto s : {pca_solver::covariance_eigh, pca_solver::randomized, pca_solver::exact})
    if (solver == to_string(s)) o.solver = s;
  try {
    return from_fitted(o, a.get("components"), a.get_vector("mean"), a.get_vector("explained_variance"),
                       a.get_vector("explained_variance_ratio"), a.get_vector("singular_values"),
                       a.get_scalar("noise_variance"), a.get_integer("n_samples", 0, index_t{1} << 53));
  } catch (const invalid_argument& e) {  // a file whose content does not hold together
    throw io_error(rnnabs::detail::concat("pca::load: ", path.string(), ": ", e.what()));
  }
}
#else
inline void pca::save(const std::filesystem::path&) const {
  throw io_error("pca::save: this build has no archive support; link rnnabs::zip (zlib + minizip)");
}
inline pca pca::load(const std::filesystem::path&) {
  throw io_error("pca::load: this build has no archive support; link rnnabs::zip (zlib + minizip)");
}
#endif

}  // namespace rnnabs
