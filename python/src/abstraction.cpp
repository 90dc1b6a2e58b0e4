// rnnabs._core: the automaton, the default abstraction pipeline (for parity and overhead checks),
// SimNN fidelity, fault interpretation, DFA extraction and automaton-based influence.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <unistd.h>
#include <string>

#include <rnnabs/abstraction/dfa.hpp>
#include <rnnabs/abstraction/export.hpp>
#include <rnnabs/abstraction/fault.hpp>
#include <rnnabs/abstraction/fidelity.hpp>
#include <rnnabs/abstraction/model.hpp>
#include <rnnabs/influence/automaton_influence.hpp>

#include "common.hpp"

namespace rnnabs::python {
namespace {

// Pickling goes through the library's own archive (a temporary file), so a pickle holds exactly what
// Automaton.save writes.
py::bytes automaton_bytes(const automaton& a) {
  static std::atomic<unsigned> counter{0};
  const auto path = std::filesystem::temp_directory_path() /
                    ("rnnabs-pickle-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".rnnabs");
  std::string data;
  {
    compute_scope scope;
    a.save(path);
    std::ifstream in(path, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
    std::filesystem::remove(path);
  }
  return py::bytes(data);
}

automaton automaton_from_bytes(const std::string& data) {
  static std::atomic<unsigned> counter{0};
  const auto path = std::filesystem::temp_directory_path() /
                    ("rnnabs-unpickle-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".rnnabs");
  compute_scope scope;
  {
    std::ofstream out(path, std::ios::binary);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  try {
    automaton a = automaton::load(path);
    std::filesystem::remove(path);
    return a;
  } catch (...) {
    std::filesystem::remove(path);
    throw;
  }
}

void bind_automaton(py::module_& m) {
  py::class_<automaton> a(m, "Automaton",
                          "The abstract model's transitions (state, label) --token--> (next state, next label), "
                          "each with its count and the training samples that take it.");
  a.def_static(
      "build",
      [](std::vector<index_vector> states, std::vector<index_vector> labels, index_t n_states, index_t n_labels,
         std::vector<index_vector> tokens, index_t vocab_size) {
        return compute([&] { return automaton::build(states, labels, tokens, n_states, n_labels, vocab_size); });
      },
      py::arg("states"), py::arg("labels"), py::arg("n_states"), py::arg("n_labels"),
      py::arg("tokens") = std::vector<index_vector>{}, py::arg("vocab_size") = 0,
      "From per-sequence abstract states (1..n_states-1), per-step labels and optional tokens; sample ids are "
      "the positions in `states`.");
  a.def_property_readonly("n_states", &automaton::n_states);
  a.def_property_readonly("n_labels", &automaton::n_labels);
  a.def_property_readonly("vocab_size", &automaton::vocab_size);
  a.def_property_readonly("n_samples", &automaton::n_samples);
  a.def_property_readonly("n_live_samples", &automaton::n_live_samples);
  a.def_property_readonly("n_transitions", &automaton::n_transitions);
  a.def_property_readonly("n_edges", &automaton::n_edges);
  a.def(
      "transitions",
      [](const automaton& x) {
        matrix<index_t> keys(x.n_transitions(), 5);
        index_vector counts(x.n_transitions());
        for (index_t i = 0; i < x.n_transitions(); ++i) {
          const transition t = x.transition_at(i);
          keys.row(i) << t.from, t.label, t.token, t.next_label, t.to;
          counts(i) = x.count_at(i);
        }
        return std::make_pair(keys, counts);
      },
      "(keys, counts): every distinct transition as a row (from, label, token, next_label, to), sorted, and its "
      "step count.");
  a.def(
      "edges",
      [](const automaton& x) {
        matrix<index_t> keys(x.n_edges(), 4);
        index_vector counts(x.n_edges());
        for (index_t i = 0; i < x.n_edges(); ++i) {
          const edge e = x.edge_at(i);
          keys.row(i) << e.from, e.label, e.next_label, e.to;
          counts(i) = x.edge_count_at(i);
        }
        return std::make_pair(keys, counts);
      },
      "(keys, counts): every distinct token-free edge (from, label, next_label, to), sorted, and its step count.");
  a.def(
      "count",
      [](const automaton& x, index_t from, index_t label, index_t token, index_t next_label, index_t to) {
        return x.count(transition{from, label, token, next_label, to});
      },
      py::arg("from_state"), py::arg("label"), py::arg("token"), py::arg("next_label"), py::arg("to_state"));
  a.def(
      "edge_count",
      [](const automaton& x, index_t from, index_t label, index_t next_label, index_t to) {
        return x.count(edge{from, label, next_label, to});
      },
      py::arg("from_state"), py::arg("label"), py::arg("next_label"), py::arg("to_state"));
  a.def(
      "postings",
      [](const automaton& x, index_t i) {
        require(i >= 0 && i < x.n_transitions(), "Automaton.postings: transition index ", i, " outside [0, ",
                x.n_transitions(), ")");
        const auto p = x.postings_at(i);
        matrix<index_t> out(static_cast<index_t>(p.size()), 2);
        for (std::size_t k = 0; k < p.size(); ++k) out.row(static_cast<index_t>(k)) << p[k].sample, p[k].step;
        return out;
      },
      py::arg("i"), "(sample, step) of every step taking transition i (of transitions()), by sample.");
  a.def(
      "samples",
      [](const automaton& x, index_t from, index_t label, index_t token, index_t next_label, index_t to) {
        const auto s = x.samples(transition{from, label, token, next_label, to});
        return index_vector(Eigen::Map<const index_vector>(s.data(), static_cast<index_t>(s.size())));
      },
      py::arg("from_state"), py::arg("label"), py::arg("token"), py::arg("next_label"), py::arg("to_state"),
      "Distinct training samples taking the transition, ascending.");
  a.def(
      "edge_probability",
      [](const automaton& x, index_t from, index_t label, index_t next_label, index_t to) {
        return x.edge_probability(edge{from, label, next_label, to});
      },
      py::arg("from_state"), py::arg("label"), py::arg("next_label"), py::arg("to_state"),
      "P(edge | from_state, label) ignoring the token; None when (from_state, label) has no out-steps.");
  a.def("state_transition_counts", &automaton::state_transition_counts, "m x m: steps from state i into state j.");
  a.def(
      "remove", [](automaton& x, const std::vector<index_t>& s) { compute([&] { x.remove(s); }); }, py::arg("samples"),
      "Removes training samples (their postings and counts).");
  a.def(
      "to_dot",
      [](const automaton& x, index_t min_count, bool per_label, const std::string& name) {
        return to_dot(x, dot_options{.min_count = min_count, .per_label = per_label, .name = name});
      },
      py::arg("min_count") = 1, py::arg("per_label") = false, py::arg("name") = "automaton", "Graphviz text.");
  a.def(
      "to_json",
      [](const automaton& x, bool postings) { return to_json(x, json_options{.postings = postings}).dump(); },
      py::arg("postings") = false, "JSON text (with each transition's (sample, step) postings when asked).");
  a.def(
      "save", [](const automaton& x, const std::string& p) { compute([&] { x.save(p); }); }, py::arg("path"));
  a.def_static(
      "load", [](const std::string& p) { return compute([&] { return automaton::load(p); }); }, py::arg("path"));
  a.def(py::pickle([](const automaton& x) { return automaton_bytes(x); },
                   [](const py::bytes& b) { return automaton_from_bytes(std::string(b)); }));
}

void bind_pipeline(py::module_& m) {
  m.def(
      "build_abstraction",
      [](std::vector<matrix<float>> hidden, std::vector<index_vector> step_labels, index_t num_classes,
         index_t pca_components, index_t n_clusters, const std::string& covariance_type, double tol, index_t max_iter,
         index_t n_init, std::uint64_t seed, bool single_precision) {
        auto r = compute([&] {
          traces<float> tr = make_traces<float>(std::move(hidden), std::move(step_labels), num_classes);
          return build_abstraction(
              tr, abstraction_options{
                      .pca_components = pca_components,
                      .n_clusters = n_clusters,
                      .covariance = parse_covariance_type(covariance_type),
                      .tol = tol,
                      .max_iter = max_iter,
                      .n_init = n_init,
                      .seed = seed,
                      .precision = single_precision ? em_precision::single_precision : em_precision::double_precision});
        });
        py::dict d;
        d["states"] = r.abstraction.train_states();
        d["label_distribution"] = r.abstraction.label_distribution();
        d["automaton"] = std::move(r.automaton);
        d["fit_seconds"] = r.fit_seconds;
        d["automaton_seconds"] = r.automaton_seconds;
        d["n_iter"] = r.abstraction.partitioner().n_iter();
        d["pca_explained_variance"] = vector<double>(r.abstraction.reducer().pca_model().explained_variance());
        return d;
      },
      py::arg("hidden"), py::arg("step_labels"), py::arg("num_classes"), py::arg("pca_components") = 10,
      py::arg("n_clusters") = 37, py::arg("covariance_type") = "diag", py::arg("tol") = 1e-3, py::arg("max_iter") = 100,
      py::arg("n_init") = 1, py::arg("seed") = 0, py::arg("single_precision") = false,
      "The C++ pipeline in one call (rnnabs::build_abstraction: PCA, GMM, states, automaton) on float32 hidden "
      "states; rnnabs.Abstraction composes the same from Python estimators.");
}

feature_set parse_features(const std::string& s) { return parse_feature_set(s); }

void bind_analyses(py::module_& m) {
  m.def(
      "simnn_fidelity",
      [](const std::vector<matrix<double>>& train_abstract, const index_vector& train_pred,
         const index_vector& train_truth, const std::vector<matrix<double>>& test_abstract,
         const index_vector& test_pred, const index_vector& test_truth, index_t n_real_states, index_t n_labels,
         const std::string& features, index_t iterations, double learning_rate, std::uint64_t seed) {
        const auto r = compute([&] {
          return simnn_fidelity(train_abstract, train_pred, train_truth, test_abstract, test_pred, test_truth,
                                n_real_states, n_labels, parse_features(features),
                                simnn_options{.iterations = iterations, .learning_rate = learning_rate, .seed = seed});
        });
        py::dict d;
        d["features"] = std::string(to_string(r.features));
        d["loss"] = r.loss;
        d["train_accuracy"] = r.train_accuracy;
        d["test_accuracy"] = r.test_accuracy;
        d["test_agreement"] = r.test_agreement;
        d["rnn_test_accuracy"] = r.rnn_test_accuracy;
        d["n_train"] = r.n_train;
        d["n_test"] = r.n_test;
        return d;
      },
      py::arg("train_abstract"), py::arg("train_pred"), py::arg("train_truth"), py::arg("test_abstract"),
      py::arg("test_pred"), py::arg("test_truth"), py::arg("n_real_states"), py::arg("n_labels"),
      py::arg("features") = "all", py::arg("iterations") = 500, py::arg("learning_rate") = 0.02, py::arg("seed") = 0);
  m.def(
      "neighbour_statistics",
      [](const std::vector<matrix<double>>& test_abstract, const index_vector& targets, const index_vector& test_truth,
         const index_vector& test_pred, const std::vector<matrix<double>>& train_abstract,
         const index_vector& train_truth, index_t n_real_states, index_t n_labels, index_t max_k) {
        const auto rep = compute([&] {
          const auto trx = normalized_traces(train_abstract, n_real_states, n_labels);
          const auto tex = normalized_traces(test_abstract, n_real_states, n_labels, feature_set::all, trx.steps);
          return neighbour_statistics(tex, targets, test_truth, test_pred, trx, train_truth, max_k);
        });
        py::dict rows;
        const char* names[] = {
            "k",          "frac_any_truth", "share_truth",   "mean_cnt_truth", "mean_dist_truth", "frac_any_pred",
            "share_pred", "mean_cnt_pred",  "mean_dist_pred"};
        for (const char* n : names) rows[n] = py::list();
        for (const auto& r : rep.rows) {
          const double v[] = {static_cast<double>(r.k), r.frac_any_truth, r.share_truth, r.mean_cnt_truth,
                              r.mean_dist_truth,        r.frac_any_pred,  r.share_pred,  r.mean_cnt_pred,
                              r.mean_dist_pred};
          for (std::size_t i = 0; i < 9; ++i) rows[names[i]].cast<py::list>().append(v[i]);
        }
        py::dict d;
        d["rows"] = rows;
        d["neighbours"] = rep.neighbours;
        d["n_targets"] = rep.n_targets;
        return d;
      },
      py::arg("test_abstract"), py::arg("targets"), py::arg("test_truth"), py::arg("test_pred"),
      py::arg("train_abstract"), py::arg("train_truth"), py::arg("n_real_states"), py::arg("n_labels"),
      py::arg("max_k") = 100);
  m.def(
      "extract_dfa",
      [](const automaton& a, const matrix<double>& label_distribution) {
        const auto d = compute([&] { return extract_dfa(a, label_distribution); });
        return py::make_tuple(d.next, d.label, matrix<index_t>(d.seen.cast<index_t>()));
      },
      py::arg("automaton"), py::arg("label_distribution"),
      "(next m x V, label m, seen m x V): the deterministic automaton of the most frequent moves.");
  m.def(
      "automaton_influence",
      [](const automaton& a, const std::vector<index_vector>& test_states, const std::vector<index_vector>& test_labels,
         bool include_last_transition, bool distinct_edges, double divisor) {
        return compute([&] {
          return automaton_influence(a, test_states, test_labels,
                                     automaton_influence_options{.include_last_transition = include_last_transition,
                                                                 .distinct_edges = distinct_edges,
                                                                 .divisor = divisor});
        });
      },
      py::arg("automaton"), py::arg("test_states"), py::arg("test_labels"), py::arg("include_last_transition") = true,
      py::arg("distinct_edges") = true, py::arg("divisor") = 0.0,
      "N x m: overlap of each training sample's transitions with each test trace's.");
}

}  // namespace

void bind_abstraction(py::module_& m) {
  bind_automaton(m);
  bind_pipeline(m);
  bind_analyses(m);
}

}  // namespace rnnabs::python
