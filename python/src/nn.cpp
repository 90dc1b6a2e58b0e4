// rnnabs._core: LSTM/GRU/RNN classifiers in PyTorch's layout (float32) with forward, traces, exact
// gradients and Hessian-vector products, and the gradient-based influence over them (Koh & Liang with
// four inverse-HVP solvers, TracIn / TracInCP).
#include <string>

#include <rnnabs/influence/gradients.hpp>
#include <rnnabs/influence/ihvp.hpp>
#include <rnnabs/influence/koh_liang.hpp>
#include <rnnabs/influence/sgd_influence.hpp>
#include <rnnabs/influence/tracin.hpp>
#include <rnnabs/nn/cells.hpp>
#include <rnnabs/nn/rnn_classifier.hpp>

#include "common.hpp"

namespace rnnabs::python {
namespace {

loss_kind parse_loss(const std::string& s) {
  for (auto k : {loss_kind::cross_entropy, loss_kind::bce_with_logits, loss_kind::softmax_bce})
    if (s == to_string(k)) return k;
  throw invalid_argument("RNN classifier: loss '" + s + "' is not one of cross_entropy, bce_with_logits, softmax_bce");
}

/// Sequences from Python: a list of T_i x input_size float32 arrays (feature input) or a list of T_i
/// token-id arrays (token input); labels: one per sequence (last-step head) or one array per sequence
/// (every-step head), or None. The sequences are copied into the batch.
template <class M>
sequence_batch<float> batch_of(const M& model, py::handle seqs, py::handle labels) {
  sequence_batch<float> b;
  if (model.config().token_input()) {
    b.tokens = seqs.cast<std::vector<index_vector>>();
  } else {
    b.features = seqs.cast<std::vector<matrix<float>>>();  // one copy (a list of Refs would dangle after conversions)
  }
  if (!labels.is_none()) {
    if (model.config().head == head_mode::every_step) b.step_labels = labels.cast<std::vector<index_vector>>();
    else b.labels = labels.cast<index_vector>();
  }
  return b;
}

template <class M>
py::dict output_dict(rnn_output<float> o) {
  py::dict d;
  d["logits"] = std::move(o.logits);
  d["probabilities"] = std::move(o.probabilities);
  d["predictions"] = std::move(o.predictions);
  if (!o.hidden.empty()) d["hidden"] = std::move(o.hidden);
  if (!o.step_probabilities.empty()) d["step_probabilities"] = std::move(o.step_probabilities);
  if (!o.step_predictions.empty()) d["step_predictions"] = std::move(o.step_predictions);
  return d;
}

py::dict report_dict(const ihvp_report& r) {
  py::dict d;
  d["iterations"] = r.iterations;
  d["residual"] = r.residual;
  d["converged"] = r.converged;
  d["scale"] = r.scale;
  d["rescales"] = r.rescales;
  d["min_eigenvalue"] = r.min_eigenvalue;
  d["max_eigenvalue"] = r.max_eigenvalue;
  return d;
}

template <class Cell>
void bind_classifier(py::module_& m, const char* name, const char* doc) {
  using M = rnn_classifier<Cell, float>;
  py::class_<M> c(m, name, doc);
  c.def(py::init([](index_t input_size, index_t hidden_size, index_t num_classes, index_t num_layers,
                    bool bidirectional, index_t vocab_size, const std::string& head, const std::string& loss,
                    std::uint64_t seed, const std::string& embedding, const std::string& rnn, const std::string& fc) {
          rnn_config cfg;
          cfg.input_size = input_size;
          cfg.hidden_size = hidden_size;
          cfg.num_classes = num_classes;
          cfg.num_layers = num_layers;
          cfg.bidirectional = bidirectional;
          cfg.vocab_size = vocab_size;
          require(head == "last_step" || head == "every_step", "RNN classifier: head '", head,
                  "' is not one of last_step, every_step");
          cfg.head = head == "last_step" ? head_mode::last_step : head_mode::every_step;
          cfg.loss = parse_loss(loss);
          return M(cfg, seed, state_dict_names{embedding, rnn, fc});
        }),
        py::arg("input_size"), py::arg("hidden_size"), py::arg("num_classes"), py::arg("num_layers") = 1,
        py::arg("bidirectional") = false, py::arg("vocab_size") = 0, py::arg("head") = "last_step",
        py::arg("loss") = "cross_entropy", py::arg("seed") = 0, py::arg("embedding_name") = "embedding",
        py::arg("rnn_name") = "rnn", py::arg("fc_name") = "fc");
  c.def_property_readonly("parameter_count", &M::parameter_count);
  c.def_property_readonly("tensor_names", [](const M& x) {
    std::vector<std::string> n;
    for (const auto& e : x.layout().entries()) n.push_back(e.name);
    return n;
  });
  c.def_property(
      "parameters", [](const M& x) { return vector<float>(x.parameters()); },
      [](M& x, const vector<float>& p) { x.set_parameters(p); }, "All parameters, flat, in state_dict order.");
  c.def(
      "state_dict",
      [](const M& x) {
        py::dict d;
        for (const auto& e : x.layout().entries()) {
          const matrix<float> t = x.parameter(e.name);
          if (e.is_vector()) d[py::str(e.name)] = vector<float>(Eigen::Map<const vector<float>>(t.data(), t.size()));
          else d[py::str(e.name)] = t;
        }
        return d;
      },
      "Every tensor by its PyTorch name (copies).");
  c.def(
      "load_state_dict",
      [](M& x, const py::dict& d) {
        for (const auto& e : x.layout().entries())
          require(d.contains(py::str(e.name)), "load_state_dict: the state_dict has no '", e.name, "'");
        for (const auto& [k, v] : d) {
          const std::string key = py::cast<std::string>(k);
          require(x.layout().contains(key), "load_state_dict: unexpected tensor '", key, "'");
          const auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(v);
          require(a && a.ndim() >= 1 && a.ndim() <= 2, "load_state_dict: '", key, "' must be a 1-d or 2-d array");
          const index_t rows = a.shape(0), cols = a.ndim() == 2 ? a.shape(1) : 1;
          if (a.ndim() == 1) x.set_tensor(key, Eigen::Map<const vector<float>>(a.data(), rows));
          else x.set_tensor(key, Eigen::Map<const matrix<float>>(a.data(), rows, cols));
        }
      },
      py::arg("state_dict"),
      "Sets every tensor from a dict name -> NumPy array (e.g. {k: v.numpy() for k, v in module.state_dict().items()}); "
      "InvalidArgument on a missing, unexpected, misshapen or non-finite tensor.");
  c.def(
      "forward",
      [](const M& x, py::handle seqs, bool record) {
        auto b = batch_of(x, seqs, py::none());
        return output_dict<M>(compute([&] {
          x.validate(b, false, "forward");
          return x.forward(b, record);
        }));
      },
      py::arg("sequences"), py::arg("record") = false,
      "logits, probabilities, predictions; with record=True also the traces: hidden (T_i x H·D per sequence), "
      "step_probabilities and step_predictions.");
  c.def(
      "loss",
      [](const M& x, py::handle seqs, py::handle labels) {
        auto b = batch_of(x, seqs, labels);
        return compute([&] { return x.loss(b); });
      },
      py::arg("sequences"), py::arg("labels"));
  c.def(
      "loss_gradient",
      [](const M& x, py::handle seqs, py::handle labels) {
        auto b = batch_of(x, seqs, labels);
        return compute([&] { return x.loss_gradient(b); });
      },
      py::arg("sequences"), py::arg("labels"), "Gradient of the mean loss w.r.t. all parameters (BPTT).");
  c.def(
      "per_sample_losses",
      [](const M& x, py::handle seqs, py::handle labels) {
        auto b = batch_of(x, seqs, labels);
        return compute([&] { return x.per_sample_losses(b); });
      },
      py::arg("sequences"), py::arg("labels"));
  c.def(
      "per_sample_gradients",
      [](const M& x, py::handle seqs, py::handle labels) {
        auto b = batch_of(x, seqs, labels);
        return compute([&] { return x.per_sample_gradients(b); });
      },
      py::arg("sequences"), py::arg("labels"), "n x P: row i is the gradient of sequence i's own loss.");
  c.def(
      "hessian_vector_product",
      [](const M& x, py::handle seqs, py::handle labels, const vector<float>& v) {
        auto b = batch_of(x, seqs, labels);
        return compute([&] { return x.hessian_vector_product(b, v); });
      },
      py::arg("sequences"), py::arg("labels"), py::arg("v"),
      "Exact Hessian of the mean loss times v (forward-over-reverse).");
  c.def(
      "input_gradients",
      [](const M& x, py::handle seqs, py::handle labels) {
        auto b = batch_of(x, seqs, labels);
        return compute([&] { return x.input_gradients(b); });
      },
      py::arg("sequences"), py::arg("labels"));

  m.def(
      "koh_liang",
      [](const M& model, py::handle train_x, py::handle train_y, py::handle test_x, py::handle test_y,
         const std::string& solver, double damping, double l2, double tol, index_t max_iter, index_t depth,
         index_t repetitions, index_t batch_size, double scale, index_t rank, std::uint64_t seed) {
        const auto tb = batch_of(model, train_x, train_y);
        const auto sb = batch_of(model, test_x, test_y);
        const auto r = compute([&] {
          const batch_objective<M> train(model, tb, l2), test(model, sb);
          const vector<float>& w = model.parameters();
          const matrix<double> g = sample_gradients(test, w);
          if (solver == "explicit") {
            explicit_ihvp s(train, w, explicit_ihvp_options{.damping = damping});
            return koh_liang(train, w, g, s);
          }
          if (solver == "cg") {
            cg_ihvp s(train, w, cg_options{.damping = damping, .tol = tol, .max_iter = max_iter});
            return koh_liang(train, w, g, s);
          }
          if (solver == "lissa") {
            lissa_ihvp s(train, w,
                         lissa_options{.damping = damping,
                                       .scale = scale,
                                       .depth = depth,
                                       .repetitions = repetitions,
                                       .batch_size = batch_size,
                                       .seed = seed});
            return koh_liang(train, w, g, s);
          }
          if (solver == "arnoldi") {
            arnoldi_ihvp s(train, w,
                           arnoldi_options{.damping = damping, .rank = rank, .iterations = 3 * rank, .seed = seed});
            return koh_liang(train, w, g, s);
          }
          throw invalid_argument("koh_liang: solver '" + solver + "' is not one of explicit, cg, lissa, arnoldi");
        });
        py::dict d;
        d["scores"] = r.scores;
        d["s_test"] = r.s_test;
        d["report"] = report_dict(r.report);
        return d;
      },
      py::arg("model"), py::arg("train_sequences"), py::arg("train_labels"), py::arg("test_sequences"),
      py::arg("test_labels"), py::arg("solver") = "cg", py::arg("damping") = 0.01, py::arg("l2") = 0.0,
      py::arg("tol") = 1e-6, py::arg("max_iter") = 200, py::arg("depth") = 500, py::arg("repetitions") = 1,
      py::arg("batch_size") = 64, py::arg("scale") = 0.0, py::arg("rank") = 20, py::arg("seed") = 0);
  m.def(
      "sgd_influence",
      [](const M& model, py::handle train_x, py::handle train_y, py::handle test_x, py::handle test_y,
         const std::vector<std::tuple<index_t, double, std::vector<index_t>, vector<float>>>& steps,
         const vector<float>& final_parameters, index_t epochs_back) {
        const auto tb = batch_of(model, train_x, train_y);
        const auto sb = batch_of(model, test_x, test_y);
        const auto r = compute([&] {
          const batch_objective<M> train(model, tb), test(model, sb);
          // The trajectory as the C++ trainer records it; each step's gradient is recomputed here, so a
          // run that was not plain SGD on this loss (momentum, Adam, weight decay, clipping) is refused.
          sgd_trajectory<float> traj;
          index_t k = 0;
          for (const auto& [epoch, lr, ids, theta] : steps) {
            require(!ids.empty(), "sgd_influence: step ", k, " has an empty batch");
            const vector<float> g = train.subset(ids).loss_gradient(theta);
            traj.record(step_record<float>{
                .epoch = epoch, .step = k++, .batch = &ids, .parameters = &theta, .gradient = &g, .learning_rate = lr});
          }
          traj.finish(final_parameters);
          return sgd_influence(train, traj, sample_gradients(test, final_parameters),
                               sgd_influence_options{.epochs_back = epochs_back});
        });
        py::dict d;
        d["all_epochs"] = r.all_epochs;
        d["last_epoch"] = r.last_epoch;
        d["steps"] = r.steps;
        d["gain"] = r.gain;
        return d;
      },
      py::arg("model"), py::arg("train_sequences"), py::arg("train_labels"), py::arg("test_sequences"),
      py::arg("test_labels"), py::arg("steps"), py::arg("final_parameters"), py::arg("epochs_back") = 0,
      "SGD-influence (Hara et al., NeurIPS 2019) of a recorded plain-SGD run: steps = [(epoch, lr, batch ids, "
      "parameters before the step)]; N x m predicted changes of each test loss when a training sample is left "
      "out of every batch.");
  m.def(
      "tracin",
      [](const M& model, py::handle train_x, py::handle train_y, py::handle test_x, py::handle test_y,
         const std::vector<std::pair<vector<float>, double>>& checkpoints, bool normalize, index_t projection,
         std::uint64_t seed) {
        const auto tb = batch_of(model, train_x, train_y);
        const auto sb = batch_of(model, test_x, test_y);
        return compute([&] {
          const batch_objective<M> train(model, tb), test(model, sb);
          std::vector<checkpoint<float>> cps;
          for (const auto& [p, lr] : checkpoints) cps.push_back(checkpoint<float>{p, lr});
          if (cps.empty()) cps.push_back(checkpoint<float>{model.parameters(), 1.0});
          return tracin_cp(train, test, cps,
                           tracin_options{.normalize = normalize, .projection = projection, .seed = seed});
        });
      },
      py::arg("model"), py::arg("train_sequences"), py::arg("train_labels"), py::arg("test_sequences"),
      py::arg("test_labels"), py::arg("checkpoints") = std::vector<std::pair<vector<float>, double>>{},
      py::arg("normalize") = false, py::arg("projection") = 0, py::arg("seed") = 0,
      "N x m: Σ_c lr_c ⟨∇ℓ_train,i(w_c), ∇ℓ_test,j(w_c)⟩ (TracInCP); no checkpoints: the current parameters, lr 1 "
      "(gradient similarity; cosine with normalize=True).");
}

}  // namespace

void bind_nn(py::module_& m) {
  bind_classifier<lstm_cell>(m, "LSTMClassifier", "LSTM stack + dense head in PyTorch's layout (float32).");
  bind_classifier<gru_cell>(m, "GRUClassifier", "GRU stack + dense head in PyTorch's layout (float32).");
  bind_classifier<rnn_tanh_cell>(m, "RNNClassifier", "Elman RNN (tanh) stack + dense head in PyTorch's layout.");
}

}  // namespace rnnabs::python
