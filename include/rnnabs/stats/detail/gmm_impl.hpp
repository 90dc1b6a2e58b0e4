#pragma once
// Bodies of gaussian_mixture (gmm.hpp): the EM driver, the degenerate-component policy,
// initialisation, sampling and persistence.
#include <Eigen/Cholesky>
#include <cmath>
#include <unordered_map>

#if defined(RNNABS_HAVE_ZIP)
#include "rnnabs/io/archive.hpp"
#endif
#include "rnnabs/stats/detail/gmm_init.hpp"
#include "rnnabs/stats/kmeans.hpp"

namespace rnnabs {

inline void gaussian_mixture::check_options(index_t n) const {
  const char* who = "gaussian_mixture::fit";
  require(opt_.n_components >= 1, who, ": n_components = ", opt_.n_components, ", expected >= 1");
  require(opt_.n_components <= n, who, ": n_components = ", opt_.n_components, " exceeds the number of samples ", n);
  require(opt_.max_iter >= 1, who, ": max_iter = ", opt_.max_iter, ", expected >= 1");
  require(opt_.n_init >= 1, who, ": n_init = ", opt_.n_init, ", expected >= 1");
  require(opt_.tol >= 0 && std::isfinite(opt_.tol), who, ": tol = ", opt_.tol, ", expected a finite value >= 0");
  require(opt_.reg_covar >= 0 && std::isfinite(opt_.reg_covar), who, ": reg_covar = ", opt_.reg_covar,
          ", expected a finite value >= 0");
  require(opt_.min_weight >= 0 && opt_.min_weight < 1, who, ": min_weight = ", opt_.min_weight,
          ", expected a value in [0, 1)");
}

namespace detail {
/// Starting parameters by the configured method.
template <class Derived>
gmm_parameters initial_parameters(const Eigen::MatrixBase<Derived>& X, const packed_points& P, const gmm_options& o,
                                  std::uint64_t seed) {
  const index_t K = o.n_components;
  switch (o.init) {
    case gmm_init::kmeans: {
      kmeans km({.n_clusters = K, .n_init = 1, .seed = seed});
      if (P.weighted) {
        vector<double> w(P.n);
        for (index_t i = 0; i < P.n; ++i) w[i] = P.weight(i);
        km.fit(X, w, P.comm);
      } else {
        km.fit(X, P.comm);
      }
      return params_from_labels(P, km.labels(), K, o.covariance, o.reg_covar);
    }
    case gmm_init::kmeans_plusplus: {
      rng g(seed);
      const matrix<double> Xd = X.template cast<double>();
      const matrix_cref<double> xr(Xd);
      const index_vector idx = kmeans_plusplus<double>(xr, K, g, vector<double>(), P.comm);
      matrix<double> centres(K, P.d);
      for (index_t k = 0; k < K; ++k) centres.row(k) = global_row(P.comm, P.shard, Xd, idx(k)).transpose();
      return params_from_labels(P, nearest_centre(P, centres), K, o.covariance, o.reg_covar);
    }
    case gmm_init::random_from_data: {
      rng g(seed);
      // Partial Fisher–Yates over 0..N-1, with only the swapped slots stored (O(K), not O(N)).
      const index_t N = P.global_n();
      std::unordered_map<index_t, index_t> moved;
      auto at = [&](index_t i) {
        const auto it = moved.find(i);
        return it == moved.end() ? i : it->second;
      };
      std::vector<index_t> idx(static_cast<std::size_t>(K));
      for (index_t k = 0; k < K; ++k) {
        const index_t j = k + g.below(N - k), vk = at(k), vj = at(j);
        idx[static_cast<std::size_t>(k)] = vj;
        moved[j] = vk;
      }
      matrix<double> centres(K, P.d);
      for (index_t k = 0; k < K; ++k) centres.row(k) = packed_row(P, idx[static_cast<std::size_t>(k)]).transpose();
      return params_from_labels(P, nearest_centre(P, centres), K, o.covariance, o.reg_covar);
    }
    case gmm_init::random: return params_from_random_responsibilities(P, K, o.covariance, o.reg_covar, seed);
  }
  throw invalid_argument("gaussian_mixture: unknown init method");
}
}  // namespace detail

template <class Derived>
gaussian_mixture& gaussian_mixture::fit_packed(const Eigen::MatrixBase<Derived>& X, const detail::packed_points& P,
                                               const gmm_parameters* initial) {
  check_options(P.global_n());
  detail::data_moments mom;
  const bool warm = opt_.warm_start && fitted_ && !initial;
  if (warm)
    require(n_features() == P.d, "gaussian_mixture::fit: warm start on ", P.d, " features, the model has ",
            n_features());
  if (initial)
    collectively(P.comm,
                 [&] { detail::check_parameters(*initial, opt_.covariance, k_(), P.d, "gaussian_mixture::fit"); });
  const index_t runs = (initial || warm) ? 1 : opt_.n_init;
  run best;
  bool have = false;
  for (index_t r = 0; r < runs; ++r) {
    gmm_parameters p0 = initial ? *initial
                        : warm  ? p_
                                : detail::initial_parameters(X, P, opt_, rng::stream(opt_.seed, r)());
    run cur = em(P, std::move(p0), mom);
    if (!have || cur.lower_bound > best.lower_bound) {
      best = std::move(cur);
      have = true;
    }
  }
  p_ = std::move(best.p);
  pchol_ = std::move(best.pchol);
  lower_bound_ = best.lower_bound;
  n_iter_ = best.n_iter;
  n_reseeded_ = best.n_reseeded;
  converged_ = best.converged;
  history_ = std::move(best.history);
  fitted_ = true;
  return *this;
}

inline gaussian_mixture::run gaussian_mixture::em(const detail::packed_points& P, gmm_parameters p,
                                                  detail::data_moments& mom) const {
  run out;
  matrix<double> pchol;
  out.n_reseeded += factor_and_settle(P, p, pchol, 0, mom);
  double lb = -std::numeric_limits<double>::infinity();
  for (index_t it = 1; it <= opt_.max_iter; ++it) {
    const double prev = lb;
    const auto model = detail::kernel_model(p.weights, p.means, pchol, opt_.covariance);
    const detail::gmm_stats st = detail::em_pass(P, model, opt_.precision);
    lb = st.loglik / P.weight_sum;
    require<numerical_error>(std::isfinite(lb), "gaussian_mixture::fit: the log-likelihood is ", lb, " at iteration ",
                             it, "; the data or parameters overflow (rescale the data)");
    out.history.push_back(lb);
    out.n_iter = it;
    p = detail::m_step(st, p.means, opt_.covariance, opt_.reg_covar);
    const index_t moved = factor_and_settle(P, p, pchol, it, mom);
    out.n_reseeded += moved;
    if (moved == 0 && std::abs(lb - prev) < opt_.tol) {
      out.converged = true;
      break;
    }
  }
  out.p = std::move(p);
  out.pchol = std::move(pchol);
  out.lower_bound = lb;
  return out;
}

inline index_t gaussian_mixture::factor_and_settle(const detail::packed_points& P, gmm_parameters& p,
                                                   matrix<double>& pchol, index_t iter,
                                                   detail::data_moments& mom) const {
  const covariance_type c = opt_.covariance;
  std::vector<index_t> not_pd;
  pchol = detail::precision_cholesky(p.covariances, c, k_(), P.d, not_pd);
  std::vector<index_t> bad = not_pd;
  for (index_t k = 0; k < k_(); ++k)
    if (p.weights[k] < opt_.min_weight && std::find(bad.begin(), bad.end(), k) == bad.end()) bad.push_back(k);
  if (bad.empty()) return 0;
  std::sort(bad.begin(), bad.end());
  auto describe = [&] {
    const index_t k = bad.front();
    const bool pd_fail = std::find(not_pd.begin(), not_pd.end(), k) != not_pd.end();
    return detail::concat("gaussian_mixture::fit: component ", k,
                          pd_fail ? " has a covariance that is not positive "
                                    "definite"
                                  : " is empty (weight ",
                          pd_fail ? "" : std::to_string(p.weights[k]), pd_fail ? "" : ")",
                          iter == 0 ? " at initialisation" : " at iteration ", iter == 0 ? "" : std::to_string(iter),
                          " (", bad.size(), " degenerate of ", k_(), "); increase reg_covar (now ", opt_.reg_covar,
                          "), use fewer components, or set on_degenerate = reseed");
  };
  if (opt_.on_degenerate == degenerate_policy::error) throw numerical_error(describe());
  if (opt_.on_degenerate == degenerate_policy::keep) {
    if (!not_pd.empty()) throw numerical_error(describe());
    return 0;
  }
  require<numerical_error>(static_cast<index_t>(bad.size()) < k_() && c != covariance_type::tied, describe(),
                           " — every component is affected, nothing to reseed from");
  // Reseed: the worst-explained points under the remaining components become the new means.
  mom.compute(P);
  vector<double> w = p.weights;
  for (index_t k : bad) w[k] = 0;
  w /= w.sum();
  const auto model = detail::kernel_model(w, p.means, pchol, c);
  struct scored {  // (log-likelihood, global row): the m lowest, ties to lower rows; travels as bytes
    double lse;
    index_t row;
    bool operator<(const scored& o) const noexcept { return lse < o.lse || (lse == o.lse && row < o.row); }
  };
  std::vector<scored> worst(static_cast<std::size_t>(P.n));
  detail::e_pass(P, model, [&](index_t i, double lse, const double*) {
    const double wi = P.weight(i);
    worst[i] = {wi > 0 ? lse : std::numeric_limits<double>::infinity(), P.shard.offset + i};
  });
  const auto m = static_cast<std::ptrdiff_t>(bad.size());
  const auto local_m = std::min<std::ptrdiff_t>(m, static_cast<std::ptrdiff_t>(worst.size()));
  std::partial_sort(worst.begin(), worst.begin() + local_m, worst.end());
  if (P.comm.size() > 1) {  // every rank's m lowest, padded, then the m lowest of those
    worst.resize(static_cast<std::size_t>(m), {std::numeric_limits<double>::infinity(), P.global_n()});
    std::vector<scored> all(worst.size() * static_cast<std::size_t>(P.comm.size()));
    P.comm.all_gather(std::as_bytes(std::span<const scored>(worst)), std::as_writable_bytes(std::span<scored>(all)));
    std::partial_sort(all.begin(), all.begin() + m, all.end());
    worst = std::move(all);
  }
  const double w0 = 1.0 / static_cast<double>(P.global_n());
  const index_t D = P.d;
  for (std::size_t j = 0; j < bad.size(); ++j) {
    const index_t k = bad[j];
    p.means.row(k) = detail::packed_row(P, worst[j].row).transpose();
    p.weights[k] = w0;
    switch (c) {
      case covariance_type::full:
        p.covariances.middleRows(k * D, D) = (mom.var.array() + opt_.reg_covar).matrix().asDiagonal();
        break;
      case covariance_type::diag: p.covariances.row(k) = (mom.var.array() + opt_.reg_covar).matrix().transpose(); break;
      case covariance_type::spherical: p.covariances(k, 0) = mom.var.mean() + opt_.reg_covar; break;
      case covariance_type::tied: break;
    }
  }
  p.weights /= p.weights.sum();
  std::vector<index_t> still;
  pchol = detail::precision_cholesky(p.covariances, c, k_(), D, still);
  require<numerical_error>(still.empty(), describe(), " — reseeding failed (the data have zero variance?)");
  return static_cast<index_t>(bad.size());
}

inline std::pair<matrix<double>, index_vector> gaussian_mixture::sample(index_t n, std::uint64_t seed) const {
  require_fitted("gaussian_mixture::sample");
  require(n >= 1, "gaussian_mixture::sample: n = ", n, ", expected >= 1");
  const index_t K = k_(), D = n_features();
  rng g(seed);
  std::vector<index_t> count(static_cast<std::size_t>(K), 0);
  for (index_t i = 0; i < n; ++i) {  // multinomial by sequential categorical draws
    double u = g.uniform(), acc = 0;
    index_t k = 0;
    for (; k < K - 1; ++k) {
      acc += p_.weights[k];
      if (u < acc) break;
    }
    ++count[k];
  }
  matrix<double> X(n, D);
  index_vector label(n);
  index_t row = 0;
  for (index_t k = 0; k < K; ++k) {
    const Eigen::MatrixXd L = Eigen::LLT<Eigen::MatrixXd>(covariance(k)).matrixL();
    for (index_t j = 0; j < count[k]; ++j, ++row) {
      vector<double> z(D);
      for (index_t a = 0; a < D; ++a) z[a] = g.normal();
      X.row(row) = (p_.means.row(k).transpose() + L * z).transpose();
      label[row] = k;
    }
  }
  return {std::move(X), std::move(label)};
}

inline gaussian_mixture gaussian_mixture::from_parameters(const gmm_parameters& p, covariance_type c) {
  gaussian_mixture g({.n_components = p.means.rows(), .covariance = c});
  detail::check_parameters(p, c, p.means.rows(), p.means.cols(), "gaussian_mixture::from_parameters");
  std::vector<index_t> bad;
  g.pchol_ = detail::precision_cholesky(p.covariances, c, p.means.rows(), p.means.cols(), bad);
  require(bad.empty(), "gaussian_mixture::from_parameters: the covariance of component ", bad.empty() ? 0 : bad.front(),
          " is not positive definite");
  g.p_ = p;
  g.fitted_ = true;
  return g;
}

inline matrix<double> gaussian_mixture::covariance(index_t k) const {
  require_fitted("gaussian_mixture::covariance");
  require(k >= 0 && k < k_(), "gaussian_mixture::covariance: component ", k, " out of range [0, ", k_(), ")");
  const index_t D = n_features();
  const auto& C = p_.covariances;
  switch (opt_.covariance) {
    case covariance_type::full: return C.middleRows(k * D, D);
    case covariance_type::tied: return C;
    case covariance_type::diag: return C.row(k).transpose().asDiagonal();
    case covariance_type::spherical: return matrix<double>::Identity(D, D) * C(k, 0);
  }
  return {};
}

#if defined(RNNABS_HAVE_ZIP)
inline void gaussian_mixture::save(const std::filesystem::path& path) const {
  require_fitted("gaussian_mixture::save");
  io::archive a("gaussian_mixture", 1);
  a.put("weights", vector<double>(p_.weights));
  a.put("means", p_.means);
  a.put("covariances", p_.covariances);
  a.put("precisions_cholesky", pchol_);
  a.put_string("covariance_type", std::string(to_string(opt_.covariance)));
  a.put_scalar("reg_covar", opt_.reg_covar);
  a.put_scalar("tol", opt_.tol);
  a.put_scalar("max_iter", static_cast<double>(opt_.max_iter));
  a.put_scalar("n_init", static_cast<double>(opt_.n_init));
  a.put_scalar("init", static_cast<double>(static_cast<int>(opt_.init)));
  a.put_scalar("on_degenerate", static_cast<double>(static_cast<int>(opt_.on_degenerate)));
  a.put_scalar("min_weight", opt_.min_weight);
  a.put_scalar("precision", static_cast<double>(static_cast<int>(opt_.precision)));
  a.put_string("seed", std::to_string(opt_.seed));
  a.put_scalar("converged", converged_ ? 1.0 : 0.0);
  a.put_scalar("n_iter", static_cast<double>(n_iter_));
  a.put_scalar("lower_bound", lower_bound_);
  io::save(path, a);
}

inline gaussian_mixture gaussian_mixture::load(const std::filesystem::path& path) {
  const io::archive a = io::load(path, "gaussian_mixture", 1);
  gmm_options o;
  o.covariance = parse_covariance_type(a.get_string("covariance_type"));
  o.reg_covar = a.get_scalar("reg_covar");
  o.tol = a.get_scalar("tol");
  constexpr index_t big = index_t{1} << 53;  // counts stored as float64 scalars
  o.max_iter = a.get_integer("max_iter", 0, big);
  o.n_init = a.get_integer("n_init", 0, big);
  o.init = static_cast<gmm_init>(a.get_integer("init", 0, 3));
  o.on_degenerate = static_cast<degenerate_policy>(a.get_integer("on_degenerate", 0, 2));
  o.min_weight = a.get_scalar("min_weight");
  if (a.contains("precision")) {  // absent from files written before the option existed: double
    const double prec = a.get_scalar("precision");
    require<io_error>(prec == 0 || prec == 1, "gaussian_mixture::load: ", path.string(), ": unknown precision code ",
                      prec);
    o.precision = static_cast<em_precision>(static_cast<int>(prec));
  }
  o.seed = a.get_uint64_string("seed");
  gaussian_mixture g;
  g.p_.weights = a.get_vector("weights");
  g.p_.means = a.get("means");
  g.p_.covariances = a.get("covariances");
  o.n_components = g.p_.means.rows();
  g.opt_ = o;
  try {
    detail::check_parameters(g.p_, o.covariance, o.n_components, g.p_.means.cols(), "gaussian_mixture::load");
  } catch (const invalid_argument& e) {
    throw io_error(detail::concat(path.string(), ": ", e.what()));
  }
  std::vector<index_t> bad;
  g.pchol_ = detail::precision_cholesky(g.p_.covariances, o.covariance, o.n_components, g.p_.means.cols(), bad);
  require<io_error>(bad.empty(), "gaussian_mixture::load: ", path.string(), ": covariance of component ",
                    bad.empty() ? 0 : bad.front(), " is not positive definite");
  g.converged_ = a.get_scalar("converged") != 0;
  g.n_iter_ = a.get_integer("n_iter", 0, big);
  g.lower_bound_ = a.get_scalar("lower_bound");
  g.fitted_ = true;
  return g;
}
#else
inline void gaussian_mixture::save(const std::filesystem::path&) const {
  throw io_error("gaussian_mixture::save: this build has no archive support; link rnnabs::zip (zlib + minizip)");
}
inline gaussian_mixture gaussian_mixture::load(const std::filesystem::path&) {
  throw io_error("gaussian_mixture::load: this build has no archive support; link rnnabs::zip (zlib + minizip)");
}
#endif

}  // namespace rnnabs
