// rnnabs._core: PCA, k-means and the Gaussian mixture (the estimators of rnnabs/_estimators.py).
#include <optional>
#include <string>

#include <rnnabs/stats/gmm.hpp>
#include <rnnabs/stats/kmeans.hpp>
#include <rnnabs/stats/pca.hpp>

#include "common.hpp"

namespace rnnabs::python {
namespace {

pca_solver parse_solver(const std::string& s) {
  for (auto v : {pca_solver::covariance_eigh, pca_solver::randomized, pca_solver::exact})
    if (s == to_string(v)) return v;
  throw invalid_argument("PCA: solver '" + s + "' is not one of covariance_eigh, randomized, exact");
}

gmm_init parse_init(const std::string& s) {
  if (s == "kmeans") return gmm_init::kmeans;
  if (s == "k-means++") return gmm_init::kmeans_plusplus;
  if (s == "random") return gmm_init::random;
  if (s == "random_from_data") return gmm_init::random_from_data;
  throw invalid_argument("GaussianMixture: init_params '" + s +
                         "' is not one of kmeans, k-means++, random, random_from_data");
}

degenerate_policy parse_policy(const std::string& s) {
  if (s == "reseed") return degenerate_policy::reseed;
  if (s == "error") return degenerate_policy::error;
  if (s == "keep") return degenerate_policy::keep;
  throw invalid_argument("GaussianMixture: on_degenerate '" + s + "' is not one of reseed, error, keep");
}

em_precision parse_precision(const std::string& s) {
  if (s == "double") return em_precision::double_precision;
  if (s == "single") return em_precision::single_precision;
  throw invalid_argument("GaussianMixture: precision '" + s + "' is not one of double, single");
}

vector<double> weights_or_empty(const std::optional<vector<double>>& w) { return w ? *w : vector<double>(); }

// Both scalar types for every data argument: float32 is taken as is (no copy when C-contiguous),
// everything else becomes float64 (pybind11 converts; a copy unless already C-contiguous float64).
template <class C, class F32, class F64, class... Extra>
void def_float_double(py::class_<C>& c, const char* name, F32&& f32, F64&& f64, const Extra&... extra) {
  c.def(name, std::forward<F32>(f32), py::arg("X").noconvert(), extra...);
  c.def(name, std::forward<F64>(f64), py::arg("X"), extra...);
}

void bind_pca(py::module_& m) {
  py::class_<pca> c(m, "PCA", "Principal component analysis (rnnabs::pca).");
  c.def(py::init([](index_t n_components, double variance_fraction, const std::string& solver, bool whiten,
                    std::uint64_t seed, index_t oversamples, index_t power_iterations) {
          return pca(pca_options{.n_components = n_components,
                                 .variance_fraction = variance_fraction,
                                 .solver = parse_solver(solver),
                                 .whiten = whiten,
                                 .seed = seed,
                                 .oversamples = oversamples,
                                 .power_iterations = power_iterations});
        }),
        py::arg("n_components") = -1, py::arg("variance_fraction") = 0.0, py::arg("solver") = "covariance_eigh",
        py::arg("whiten") = false, py::arg("seed") = 0, py::arg("oversamples") = 10, py::arg("power_iterations") = -1);
  def_float_double(
      c, "fit", [](pca& p, cref<float> x) { compute([&] { p.fit(x); }); },
      [](pca& p, cref<double> x) { compute([&] { p.fit(x); }); });
  def_float_double(
      c, "transform", [](const pca& p, cref<float> x) { return compute([&] { return p.transform(x); }); },
      [](const pca& p, cref<double> x) { return compute([&] { return p.transform(x); }); });
  def_float_double(
      c, "inverse_transform",
      [](const pca& p, cref<float> x) { return compute([&] { return p.inverse_transform(x); }); },
      [](const pca& p, cref<double> x) { return compute([&] { return p.inverse_transform(x); }); });
  c.def_property_readonly("components", [](const pca& p) { return matrix<double>(p.components()); });
  c.def_property_readonly("mean", [](const pca& p) { return vector<double>(p.mean()); });
  c.def_property_readonly("explained_variance", [](const pca& p) { return vector<double>(p.explained_variance()); });
  c.def_property_readonly("explained_variance_ratio",
                          [](const pca& p) { return vector<double>(p.explained_variance_ratio()); });
  c.def_property_readonly("singular_values", [](const pca& p) { return vector<double>(p.singular_values()); });
  c.def_property_readonly("noise_variance", &pca::noise_variance);
  c.def_property_readonly("n_components", &pca::n_components);
  c.def_property_readonly("n_features", &pca::n_features);
  c.def_property_readonly("n_samples", &pca::n_samples);
  c.def_property_readonly("fitted", &pca::fitted);
  c.def_static(
      "from_fitted",
      [](matrix<double> components, vector<double> mean, vector<double> ev, vector<double> evr, vector<double> sv,
         double noise_variance, index_t n_samples, bool whiten) {
        return pca::from_fitted(pca_options{.whiten = whiten}, std::move(components), std::move(mean), std::move(ev),
                                std::move(evr), std::move(sv), noise_variance, n_samples);
      },
      py::arg("components"), py::arg("mean"), py::arg("explained_variance"), py::arg("explained_variance_ratio"),
      py::arg("singular_values"), py::arg("noise_variance"), py::arg("n_samples"), py::arg("whiten") = false);
  c.def("save", [](const pca& p, const std::string& path) { compute([&] { p.save(path); }); });
  c.def_static("load", [](const std::string& path) { return compute([&] { return pca::load(path); }); });
}

void bind_kmeans(py::module_& m) {
  py::class_<kmeans> c(m, "KMeans", "k-means: k-means++ seeding and Lloyd iterations (rnnabs::kmeans).");
  c.def(py::init([](index_t n_clusters, index_t n_init, index_t max_iter, double tol, std::uint64_t seed) {
          require(n_clusters >= 1, "KMeans: n_clusters must be >= 1, got ", n_clusters);
          return kmeans(kmeans_options{
              .n_clusters = n_clusters, .n_init = n_init, .max_iter = max_iter, .tol = tol, .seed = seed});
        }),
        py::arg("n_clusters") = 8, py::arg("n_init") = 1, py::arg("max_iter") = 300, py::arg("tol") = 1e-4,
        py::arg("seed") = 0);
  const auto sw = py::arg("sample_weight") = py::none();
  c.def(
      "fit",
      [](kmeans& k, cref<float> x, std::optional<vector<double>> w) {
        compute([&] { k.fit(x, weights_or_empty(w)); });
      },
      py::arg("X").noconvert(), sw);
  c.def(
      "fit",
      [](kmeans& k, cref<double> x, std::optional<vector<double>> w) {
        compute([&] { k.fit(x, weights_or_empty(w)); });
      },
      py::arg("X"), sw);
  c.def(
      "fit_from_centres",
      [](kmeans& k, cref<float> x, const matrix<double>& c0, std::optional<vector<double>> w) {
        compute([&] { k.fit_from_centres(x, c0, weights_or_empty(w)); });
      },
      py::arg("X").noconvert(), py::arg("centres"), sw);
  c.def(
      "fit_from_centres",
      [](kmeans& k, cref<double> x, const matrix<double>& c0, std::optional<vector<double>> w) {
        compute([&] { k.fit_from_centres(x, c0, weights_or_empty(w)); });
      },
      py::arg("X"), py::arg("centres"), sw);
  def_float_double(
      c, "predict", [](const kmeans& k, cref<float> x) { return compute([&] { return k.predict(x); }); },
      [](const kmeans& k, cref<double> x) { return compute([&] { return k.predict(x); }); });
  def_float_double(
      c, "transform", [](const kmeans& k, cref<float> x) { return compute([&] { return k.transform(x); }); },
      [](const kmeans& k, cref<double> x) { return compute([&] { return k.transform(x); }); });
  c.def_property_readonly("centers", [](const kmeans& k) { return matrix<double>(k.centers()); });
  c.def_property_readonly("labels", [](const kmeans& k) { return index_vector(k.labels()); });
  c.def_property_readonly("inertia", &kmeans::inertia);
  c.def_property_readonly("n_iter", &kmeans::n_iter);
  c.def_property_readonly("converged", &kmeans::converged);
  c.def_property_readonly("n_clusters", &kmeans::n_clusters);
  c.def_property_readonly("n_features", &kmeans::n_features);
  c.def_property_readonly("fitted", &kmeans::fitted);
  c.def_static(
      "from_result",
      [](matrix<double> centers, index_vector labels, double inertia, index_t n_iter, bool converged) {
        require(centers.rows() >= 1 && centers.allFinite(), "KMeans.from_result: centers must be finite, K >= 1");
        kmeans_options o;
        o.n_clusters = centers.rows();
        return kmeans::from_result(
            o, detail::kmeans_result{std::move(centers), std::move(labels), inertia, n_iter, converged});
      },
      py::arg("centers"), py::arg("labels"), py::arg("inertia"), py::arg("n_iter"), py::arg("converged"));
  c.def("save", [](const kmeans& k, const std::string& path) { compute([&] { k.save(path); }); });
  c.def_static("load", [](const std::string& path) { return compute([&] { return kmeans::load(path); }); });
}

void bind_gmm(py::module_& m) {
  py::class_<gaussian_mixture> c(m, "GaussianMixture", "Gaussian mixture fitted by EM (rnnabs::gaussian_mixture).");
  c.def(py::init([](index_t n_components, const std::string& covariance_type, double tol, double reg_covar,
                    index_t max_iter, index_t n_init, const std::string& init, bool warm_start, std::uint64_t seed,
                    const std::string& on_degenerate, double min_weight, const std::string& precision) {
          return gaussian_mixture(gmm_options{.n_components = n_components,
                                              .covariance = parse_covariance_type(covariance_type),
                                              .tol = tol,
                                              .reg_covar = reg_covar,
                                              .max_iter = max_iter,
                                              .n_init = n_init,
                                              .init = parse_init(init),
                                              .warm_start = warm_start,
                                              .seed = seed,
                                              .on_degenerate = parse_policy(on_degenerate),
                                              .min_weight = min_weight,
                                              .precision = parse_precision(precision)});
        }),
        py::arg("n_components") = 1, py::arg("covariance_type") = "full", py::arg("tol") = 1e-3,
        py::arg("reg_covar") = 1e-6, py::arg("max_iter") = 100, py::arg("n_init") = 1, py::arg("init") = "kmeans",
        py::arg("warm_start") = false, py::arg("seed") = 0, py::arg("on_degenerate") = "reseed",
        py::arg("min_weight") = 1e-8, py::arg("precision") = "double");
  // fit(X, sample_weight=None, weights=None, means=None, covariances=None): the three initial
  // parameters together, or none.
  const auto fit = [](gaussian_mixture& g, const auto& x, std::optional<vector<double>> sw,
                      std::optional<vector<double>> w0, std::optional<matrix<double>> m0,
                      std::optional<matrix<double>> c0) {
    require(w0.has_value() == m0.has_value() && m0.has_value() == c0.has_value(),
            "GaussianMixture.fit: give the initial weights, means and covariances together, or none");
    compute([&] {
      if (!w0) {
        sw ? g.fit(x, *sw) : g.fit(x);
        return;
      }
      const gmm_parameters p{std::move(*w0), std::move(*m0), std::move(*c0)};
      sw ? g.fit(x, *sw, p) : g.fit(x, p);
    });
  };
  const auto none = py::none();
  c.def(
      "fit",
      [fit](gaussian_mixture& g, cref<float> x, std::optional<vector<double>> sw, std::optional<vector<double>> w0,
            std::optional<matrix<double>> m0, std::optional<matrix<double>> c0) {
        fit(g, x, std::move(sw), std::move(w0), std::move(m0), std::move(c0));
      },
      py::arg("X").noconvert(), py::arg("sample_weight") = none, py::arg("weights") = none, py::arg("means") = none,
      py::arg("covariances") = none);
  c.def(
      "fit",
      [fit](gaussian_mixture& g, cref<double> x, std::optional<vector<double>> sw, std::optional<vector<double>> w0,
            std::optional<matrix<double>> m0, std::optional<matrix<double>> c0) {
        fit(g, x, std::move(sw), std::move(w0), std::move(m0), std::move(c0));
      },
      py::arg("X"), py::arg("sample_weight") = none, py::arg("weights") = none, py::arg("means") = none,
      py::arg("covariances") = none);
#define RNNABS_GMM_METHOD(name)                                                                              \
  def_float_double(                                                                                          \
      c, #name, [](const gaussian_mixture& g, cref<float> x) { return compute([&] { return g.name(x); }); }, \
      [](const gaussian_mixture& g, cref<double> x) { return compute([&] { return g.name(x); }); })
  RNNABS_GMM_METHOD(predict);
  RNNABS_GMM_METHOD(predict_proba);
  RNNABS_GMM_METHOD(score_samples);
  RNNABS_GMM_METHOD(score);
  RNNABS_GMM_METHOD(bic);
  RNNABS_GMM_METHOD(aic);
#undef RNNABS_GMM_METHOD
  c.def(
      "sample",
      [](const gaussian_mixture& g, index_t n, std::uint64_t seed) {
        return compute([&] { return g.sample(n, seed); });
      },
      py::arg("n"), py::arg("seed"));
  c.def_property_readonly("weights", [](const gaussian_mixture& g) { return vector<double>(g.weights()); });
  c.def_property_readonly("means", [](const gaussian_mixture& g) { return matrix<double>(g.means()); });
  c.def_property_readonly("covariances", [](const gaussian_mixture& g) { return matrix<double>(g.covariances()); });
  c.def_property_readonly("precisions_cholesky",
                          [](const gaussian_mixture& g) { return matrix<double>(g.precisions_cholesky()); });
  c.def_property_readonly("covariance_type",
                          [](const gaussian_mixture& g) { return std::string(to_string(g.options().covariance)); });
  c.def_property_readonly("converged", &gaussian_mixture::converged);
  c.def_property_readonly("n_iter", &gaussian_mixture::n_iter);
  c.def_property_readonly("lower_bound", &gaussian_mixture::lower_bound);
  c.def_property_readonly("lower_bound_history", &gaussian_mixture::lower_bound_history);
  c.def_property_readonly("n_reseeded", &gaussian_mixture::n_reseeded);
  c.def_property_readonly("n_components", &gaussian_mixture::n_components);
  c.def_property_readonly("n_features", &gaussian_mixture::n_features);
  c.def_property_readonly("n_parameters", &gaussian_mixture::n_parameters);
  c.def_property_readonly("fitted", &gaussian_mixture::fitted);
  c.def_static(
      "from_parameters",
      [](vector<double> w, matrix<double> means, matrix<double> cov, const std::string& type) {
        return gaussian_mixture::from_parameters(gmm_parameters{std::move(w), std::move(means), std::move(cov)},
                                                 parse_covariance_type(type));
      },
      py::arg("weights"), py::arg("means"), py::arg("covariances"), py::arg("covariance_type"));
  c.def("save", [](const gaussian_mixture& g, const std::string& path) { compute([&] { g.save(path); }); });
  c.def_static("load", [](const std::string& path) { return compute([&] { return gaussian_mixture::load(path); }); });
}

}  // namespace

void bind_stats(py::module_& m) {
  bind_pca(m);
  bind_kmeans(m);
  bind_gmm(m);
}

}  // namespace rnnabs::python
