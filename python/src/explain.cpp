// rnnabs._core: explanations of a black box given as a Python callable (LEMNA on feature vectors and
// on token sequences), the DMM / DMM-MEN posterior mixtures, and the fidelity tests.
#include <string>

#include <rnnabs/explain/dmm.hpp>
#include <rnnabs/explain/fidelity.hpp>
#include <rnnabs/explain/lemna.hpp>

#include "common.hpp"

namespace rnnabs::python {
namespace {

// A Python callable as a black box. It holds a borrowed handle (the caller keeps the function alive)
// so that copies made by the C++ code with the GIL released touch no reference count; each call takes
// the GIL, and a Python exception comes back as py::error_already_set.
vector<double> scores_of(const py::object& r) {
  const auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(r);
  require(a && a.ndim() == 1, "black box: it must return a 1-d array of scores, one per input");
  return Eigen::Map<const vector<double>>(a.data(), a.shape(0));
}

struct feature_box {
  py::handle f;
  vector<double> operator()(const matrix<double>& batch) const {
    py::gil_scoped_acquire gil;
    return scores_of(f(batch));
  }
};

struct sequence_box {
  py::handle f;
  vector<double> operator()(const token_batch& batch) const {
    py::gil_scoped_acquire gil;
    return scores_of(f(batch));
  }
};

struct position_box {
  py::handle f;
  vector<double> operator()(const token_batch& batch, const index_vector& targets) const {
    py::gil_scoped_acquire gil;
    return scores_of(f(batch, targets));
  }
};

lemna_options lemna_opts(index_t n_components, double lambda_tv, bool fit_intercept, index_t max_iter, index_t n_init,
                         const std::string& design, index_t n_samples, index_t half_width, index_t null_token,
                         bool pin_target, double keep_probability, std::uint64_t seed) {
  require(design == "mask" || design == "raw_values", "lemna: design '", design, "' is not one of mask, raw_values");
  lemna_options o;
  o.mixture.n_components = n_components;
  o.mixture.lambda_tv = lambda_tv;
  o.mixture.fit_intercept = fit_intercept;
  o.mixture.max_iter = max_iter;
  o.mixture.n_init = n_init;
  o.design = design == "mask" ? design_mode::mask : design_mode::raw_values;
  o.n_samples = n_samples;
  o.half_width = half_width;
  o.null_token = null_token;
  o.pin_target = pin_target;
  o.keep_probability = keep_probability;
  o.seed = seed;
  return o;
}

py::dict explanation_dict(const lemna_explanation& e) {
  py::dict d;
  d["importance"] = e.importance;
  d["ranking"] = e.ranking;
  d["positions"] = e.positions;
  d["component"] = e.component;
  d["scores"] = e.scores;
  d["coef"] = e.model.coef;
  d["intercepts"] = e.model.intercepts;
  d["weights"] = e.model.weights;
  d["variances"] = e.model.variances;
  d["log_likelihood"] = e.model.log_likelihood;
  d["converged"] = e.model.converged;
  return d;
}

py::dict report_dict(const fidelity_report& r) {
  py::dict d;
  const std::pair<const char*, const fidelity_score*> tests[] = {
      {"deduction", &r.deduction}, {"augmentation", &r.augmentation}, {"synthetic", &r.synthetic}};
  for (const auto& [name, s] : tests) {
    py::dict t;
    t["explainer"] = s->explainer;
    t["random"] = s->random;
    t["cases"] = s->cases;
    d[name] = t;
  }
  return d;
}

#define RNNABS_LEMNA_ARGS                                                                                   \
  py::arg("n_components") = 3, py::arg("lambda_tv") = -1.0, py::arg("fit_intercept") = true,                \
  py::arg("max_iter") = 100, py::arg("n_init") = 1, py::arg("design") = "mask", py::arg("n_samples") = 500, \
  py::arg("half_width") = 20, py::arg("null_token") = 0, py::arg("pin_target") = false,                     \
  py::arg("keep_probability") = 0.0, py::arg("seed") = 0

void bind_lemna(py::module_& m) {
  m.def(
      "lemna_features",
      [](const py::function& f, const vector<double>& x, const vector<double>& null_value, index_t n_components,
         double lambda_tv, bool fit_intercept, index_t max_iter, index_t n_init, const std::string& design,
         index_t n_samples, index_t half_width, index_t null_token, bool pin_target, double keep_probability,
         std::uint64_t seed) {
        const lemna l(lemna_opts(n_components, lambda_tv, fit_intercept, max_iter, n_init, design, n_samples,
                                 half_width, null_token, pin_target, keep_probability, seed));
        const feature_box box{f};
        return explanation_dict(compute([&] { return l.explain_features(box, x, null_value); }));
      },
      py::arg("f"), py::arg("x"), py::arg("null_value"), RNNABS_LEMNA_ARGS);
  m.def(
      "lemna_sequence",
      [](const py::function& f, const index_vector& seq, index_t target, index_t n_components, double lambda_tv,
         bool fit_intercept, index_t max_iter, index_t n_init, const std::string& design, index_t n_samples,
         index_t half_width, index_t null_token, bool pin_target, double keep_probability, std::uint64_t seed) {
        const lemna l(lemna_opts(n_components, lambda_tv, fit_intercept, max_iter, n_init, design, n_samples,
                                 half_width, null_token, pin_target, keep_probability, seed));
        const sequence_box box{f};
        return explanation_dict(compute([&] { return l.explain_sequence(box, seq, target); }));
      },
      py::arg("f"), py::arg("sequence"), py::arg("target"), RNNABS_LEMNA_ARGS);
  m.def(
      "feature_fidelity",
      [](const py::function& f, const std::vector<std::pair<vector<double>, index_vector>>& cases,
         const vector<double>& null_value, const vector<double>& seed_x, index_t n_features, double threshold,
         std::uint64_t seed) {
        std::vector<feature_case<double>> cs;
        for (const auto& [x, r] : cases) cs.push_back(feature_case<double>{x, r});
        const feature_box box{f};
        return report_dict(compute([&] {
          return feature_fidelity(box, cs, null_value, seed_x,
                                  fidelity_options{.n_features = n_features, .threshold = threshold, .seed = seed});
        }));
      },
      py::arg("f"), py::arg("cases"), py::arg("null_value"), py::arg("seed_x"), py::arg("n_features") = 25,
      py::arg("threshold") = 0.5, py::arg("seed") = 0);
  m.def(
      "sequence_fidelity",
      [](const py::function& g, const std::vector<std::tuple<index_vector, index_t, index_vector>>& cases,
         const index_vector& seed_sequence, index_t n_features, double threshold, std::uint64_t seed,
         index_t null_token) {
        std::vector<sequence_case> cs;
        for (const auto& [s, t, r] : cases) cs.push_back(sequence_case{s, t, r});
        const position_box box{g};
        return report_dict(compute([&] {
          return sequence_fidelity(
              box, cs, seed_sequence,
              fidelity_options{
                  .n_features = n_features, .threshold = threshold, .seed = seed, .null_token = null_token});
        }));
      },
      py::arg("g"), py::arg("cases"), py::arg("seed_sequence"), py::arg("n_features") = 25, py::arg("threshold") = 0.5,
      py::arg("seed") = 0, py::arg("null_token") = 0);
}

template <class Fit>
void bind_fit_members(py::class_<Fit>& c) {
  c.def_readonly("weights", &Fit::weights);
  c.def_readonly("coef", &Fit::coef);
  c.def_readonly("intercepts", &Fit::intercepts);
  c.def_readonly("variances", &Fit::variances);
  c.def_readonly("assignments", &Fit::assignments);
  c.def_readonly("counts", &Fit::counts);
  c.def_readonly("alpha", &Fit::alpha);
  c.def_readonly("kept_draws", &Fit::kept_draws);
  c.def_readonly("log_likelihood_trace", &Fit::log_likelihood_trace);
  c.def(
      "predict_mean", [](const Fit& f, const matrix<double>& X) { return compute([&] { return f.predict_mean(X); }); },
      py::arg("X"));
  c.def(
      "responsibilities",
      [](const Fit& f, const matrix<double>& X, const vector<double>& y) {
        return compute([&] { return f.responsibilities(X, y); });
      },
      py::arg("X"), py::arg("y"));
  c.def(
      "explain",
      [](const Fit& f, const vector<double>& x, double score, const vector<double>& null_value) {
        const dp_explanation e = explain_instance(f, x, score, null_value);
        py::dict d;
        d["component"] = e.component;
        d["contribution"] = e.contribution;
        d["ranking"] = e.ranking;
        return d;
      },
      py::arg("x"), py::arg("score"), py::arg("null_value"),
      "The component of (x, score) and its features ranked by contribution β_j ∘ (x − null).");
}

void bind_dmm(py::module_& m) {
  py::class_<dp_mixture_fit> fit(m, "DPMixtureFit", "Posterior means of a Dirichlet-process mixture regression.");
  bind_fit_members(fit);
  py::class_<dmm_men_fit, dp_mixture_fit> men(m, "DMMMENFit", "DMM-MEN: the DP mixture with shared elastic nets.");
  men.def_readonly("net_of_component", &dmm_men_fit::net_of_component);
  men.def_readonly("lambdas", &dmm_men_fit::lambdas);
  men.def_readonly("sigma_acceptance", &dmm_men_fit::sigma_acceptance);
  men.def_readonly("lambda_acceptance", &dmm_men_fit::lambda_acceptance);
  m.def(
      "dmm",
      [](const matrix<double>& X, const vector<double>& y, index_t truncation, index_t iterations, index_t burn_in,
         double prior_variance, bool fit_intercept, std::uint64_t seed) {
        const dmm d(dmm_options{.truncation = truncation,
                                .iterations = iterations,
                                .burn_in = burn_in,
                                .prior_variance = prior_variance,
                                .fit_intercept = fit_intercept,
                                .seed = seed});
        return compute([&] { return d.fit(X, y); });
      },
      py::arg("X"), py::arg("y"), py::arg("truncation") = 3, py::arg("iterations") = 2000, py::arg("burn_in") = -1,
      py::arg("prior_variance") = 3.0, py::arg("fit_intercept") = true, py::arg("seed") = 0,
      "DMM: Gibbs sampling of a truncated Dirichlet-process mixture of Bayesian linear regressions.");
  m.def(
      "dmm_men",
      [](const matrix<double>& X, const vector<double>& y, index_t truncation, index_t n_nets, index_t iterations,
         index_t burn_in, bool fit_intercept, std::uint64_t seed) {
        dmm_men_options o;
        o.truncation = truncation;
        o.n_nets = n_nets;
        o.iterations = iterations;
        o.burn_in = burn_in;
        o.fit_intercept = fit_intercept;
        o.seed = seed;
        const dmm_men d(o);
        return compute([&] { return d.fit(X, y); });
      },
      py::arg("X"), py::arg("y"), py::arg("truncation") = 6, py::arg("n_nets") = 3, py::arg("iterations") = 2000,
      py::arg("burn_in") = -1, py::arg("fit_intercept") = true, py::arg("seed") = 0,
      "DMM-MEN: the DP mixture whose components share K Bayesian elastic nets.");
}

}  // namespace

void bind_explain(py::module_& m) {
  bind_lemna(m);
  bind_dmm(m);
}

}  // namespace rnnabs::python
