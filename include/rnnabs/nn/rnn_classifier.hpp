#pragma once
// A sequence classifier: feature or token input (embedding) -> stacked, optionally bidirectional
// recurrent layers of any recurrent_cell -> a dense head at each sequence's last step or at every
// step. Parameters live in one flat vector in PyTorch state_dict order (see rnn_config.hpp), so
// loss gradients, per-sample gradients and exact Hessian-vector products share that layout.
//
//   rnnabs::rnn_config cfg{.input_size = 28, .hidden_size = 128, .num_classes = 10};
//   rnnabs::rnn_classifier<rnnabs::lstm_cell> model(cfg, /*seed=*/1);
//   auto out = model.forward(batch, /*record=*/true);        // logits, predictions, traces
//   auto g = model.loss_gradient(batch);                     // d mean-loss / d params (BPTT)
//   auto hv = model.hessian_vector_product(batch, v);        // exact H v (forward-over-reverse)
#include <cstdint>
#include <cmath>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/cells.hpp"
#include "rnnabs/nn/concepts.hpp"
#include "rnnabs/nn/keras.hpp"
#include "rnnabs/nn/loss.hpp"
#include "rnnabs/nn/parameters.hpp"
#include "rnnabs/nn/rnn_config.hpp"
#include "rnnabs/nn/sequence_batch.hpp"
#include "rnnabs/nn/detail/engine.hpp"

namespace rnnabs {

/// What forward returns. Row i / entry i is sequence i of the batch, in batch order.
template <class T>
struct rnn_output {
  matrix<T> logits;          // n x C at each sequence's last step (bidirectional last-step heads read
                             // the forward final state and the reverse final state, at step 0)
  matrix<T> probabilities;   // n x C': softmax or sigmoid (a single logit gives [1 - q, q])
  index_vector predictions;  // argmax of probabilities
  // Traces, filled when recording (and step_* always for every-step heads):
  std::vector<matrix<T>> hidden;               // T_i x H·D: the top layer's output at every step
  std::vector<matrix<T>> step_probabilities;   // T_i x C': the head applied at every step
  std::vector<index_vector> step_predictions;  // T_i
};

template <recurrent_cell Cell, class T = float>
class rnn_classifier {
 public:
  using cell_type = Cell;
  using scalar = T;
  static constexpr int archive_version = 1;

  rnn_classifier() = default;
  /// PyTorch's default initialisation from `seed`: recurrent weights and biases U(−1/√H, 1/√H),
  /// head U(−1/√fan_in, 1/√fan_in), embedding N(0, 1).
  explicit rnn_classifier(const rnn_config& config, std::uint64_t seed = 0, state_dict_names names = {});

  const rnn_config& config() const noexcept { return cfg_; }
  const state_dict_names& names() const noexcept { return names_; }
  const parameter_layout& layout() const noexcept { return layout_; }
  index_t parameter_count() const noexcept { return layout_.size(); }
  /// All parameters, flat, in state_dict order.
  const vector<T>& parameters() const noexcept { return theta_; }
  /// Replaces all parameters; invalid_argument on a wrong size or a non-finite value.
  void set_parameters(const vector<T>& p);
  /// One tensor by its state_dict name (1-d tensors are 1 x n); invalid_argument for an unknown name.
  Eigen::Map<const matrix<T>> parameter(std::string_view name) const {
    return layout_.view(theta_.data(), index_of(name));
  }
  Eigen::Map<matrix<T>> parameter(std::string_view name) { return layout_.view(theta_.data(), index_of(name)); }
  /// Replaces one tensor (a 1-d tensor may come as a vector or a 1 x n / n x 1 matrix);
  /// invalid_argument on an unknown name, a shape mismatch or a non-finite value.
  template <class D>
  void set_tensor(std::string_view name, const Eigen::MatrixBase<D>& value) {
    const index_t i = index_of(name);
    const auto& e = layout_[i];
    const bool ok = e.is_vector() ? (value.size() == e.rows && (value.rows() == 1 || value.cols() == 1))
                                  : (value.rows() == e.rows && value.cols() == e.cols);
    require(ok, "rnn_classifier::set_tensor: '", e.name, "' is ", e.rows, e.is_vector() ? "" : " x ",
            e.is_vector() ? std::string() : std::to_string(e.cols), ", got ", value.rows(), " x ", value.cols());
    require(value.allFinite(), "rnn_classifier::set_tensor: '", e.name, "' has a non-finite value");
    const matrix<T> m = value.template cast<T>();
    theta_.segment(e.offset, e.size()) = Eigen::Map<const vector<T>>(m.data(), e.size());
  }
  /// Sets the four tensors of one direction of layer `layer` (e.g. from from_keras_gru).
  void set_cell_weights(index_t layer, bool reverse, const cell_weights<T>& w) {
    require(layer >= 0 && layer < cfg_.num_layers && (!reverse || cfg_.bidirectional),
            "rnn_classifier::set_cell_weights: no layer ", layer, reverse ? " (reverse)" : "");
    const std::string sfx = detail::concat("_l", layer, reverse ? "_reverse" : "");
    set_tensor(names_.rnn + ".weight_ih" + sfx, w.weight_ih);
    set_tensor(names_.rnn + ".weight_hh" + sfx, w.weight_hh);
    set_tensor(names_.rnn + ".bias_ih" + sfx, w.bias_ih);
    set_tensor(names_.rnn + ".bias_hh" + sfx, w.bias_hh);
  }

  // ---- evaluation (labels are needed only by the loss and its derivatives) ---------------------
  rnn_output<T> forward(const sequence_batch<T>& b, bool record = false) const;

  /// Mean over the batch of each sequence's loss (an every-step head averages over the sequence's steps).
  double loss(const sequence_batch<T>& b) const { return loss(b, theta_); }
  double loss(const sequence_batch<T>& b, const vector<T>& params) const;
  /// Gradient of the mean loss w.r.t. all parameters (BPTT); `loss_out` receives the loss.
  vector<T> loss_gradient(const sequence_batch<T>& b, double* loss_out = nullptr) const {
    return loss_gradient(b, theta_, loss_out);
  }
  vector<T> loss_gradient(const sequence_batch<T>& b, const vector<T>& params, double* loss_out = nullptr) const;
  /// What train_gradient reports besides the gradient.
  struct step_stats {
    double loss = 0;      // mean loss of the batch (with dropout, when the config has it)
    index_t correct = 0;  // correct predictions: sequences (last-step head) or steps (every-step head)
    index_t total = 0;    // predictions counted
  };
  /// The gradient a training step uses: loss_gradient of the current parameters in training mode
  /// (dropout masks drawn from `dropout_seed` when config().dropout > 0), plus the batch's accuracy.
  vector<T> train_gradient(const sequence_batch<T>& b, std::uint64_t dropout_seed, step_stats* stats = nullptr) const;
  /// n values: sequence i's own loss (their mean is loss()).
  vector<double> per_sample_losses(const sequence_batch<T>& b) const { return per_sample_losses(b, theta_); }
  vector<double> per_sample_losses(const sequence_batch<T>& b, const vector<T>& params) const;
  /// n x P: row i is the gradient of sequence i's own loss (their mean is loss_gradient).
  matrix<T> per_sample_gradients(const sequence_batch<T>& b) const { return per_sample_gradients(b, theta_); }
  matrix<T> per_sample_gradients(const sequence_batch<T>& b, const vector<T>& params) const;
  /// Exact Hessian of the mean loss w.r.t. all parameters times v (forward-over-reverse).
  vector<T> hessian_vector_product(const sequence_batch<T>& b, const vector<T>& v) const {
    return hessian_vector_product(b, theta_, v);
  }
  vector<T> hessian_vector_product(const sequence_batch<T>& b, const vector<T>& params, const vector<T>& v) const;
  /// Gradient of the mean loss w.r.t. each input step: T_i x input_size per sequence (the feature
  /// vectors, or the embedding vectors looked up for the tokens).
  std::vector<matrix<T>> input_gradients(const sequence_batch<T>& b) const;

  /// Throws invalid_argument naming the first problem of `b` (shape, empty sequence, token or label
  /// out of range, non-finite feature); labels are checked when `need_labels`.
  void validate(const sequence_batch<T>& b, bool need_labels, std::string_view who) const;

  // ---- persistence ------------------------------------------------------------------------------
  /// Versioned, atomic rnnabs archive (kind "rnn_classifier"): the config and every tensor under its
  /// state_dict name. Needs rnnabs::zip.
  void save(const std::filesystem::path& path) const;
  /// Reads save()'s archive; io_error for another kind, a newer version, another cell type, or
  /// missing, misshapen or non-finite tensors.
  static rnn_classifier load(const std::filesystem::path& path);
  /// A plain NPZ holding exactly the PyTorch state_dict (names and shapes as PyTorch's, dtype T):
  /// `model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(path).items()})`.
  void save_npz(const std::filesystem::path& path) const;
  /// Loads such an NPZ (e.g. `np.savez(path, **{k: v.numpy() for k, v in m.state_dict().items()})`)
  /// into this model's shape; io_error on a missing, unexpected or misshapen member or non-finite value.
  void load_npz(const std::filesystem::path& path);

 private:
  index_t index_of(std::string_view name) const {
    const auto& e = layout_.find(name);
    return static_cast<index_t>(&e - layout_.entries().data());
  }
  void init(std::uint64_t seed);
  void check_params(const vector<T>& p, std::string_view who, std::string_view what) const;
  /// Runs f(chunk, plan, engine) over the batch's chunks in parallel, each with this thread's engine
  /// bound to parameters theta (and, when Tan, direction vdir).
  template <bool Tan, class F>
  void for_chunks(const sequence_batch<T>& b, const T* theta, const T* vdir, F&& f) const;
  /// This thread's engine, bound to the model: its buffers live on between calls (no allocation,
  /// no page faults once the batch shape repeats, as in a training loop).
  template <bool Tan>
  detail::rnn_engine<Cell, T, Tan>& engine(const T* theta, const T* vdir, std::uint64_t pass) const {
    static thread_local detail::rnn_engine<Cell, T, Tan> e;
    e.bind(cfg_, layout_, idx_, theta, vdir, pass);
    return e;
  }

  rnn_config cfg_;
  state_dict_names names_;
  parameter_layout layout_;
  rnn_parameter_index idx_;
  vector<T> theta_;
};

/// A model and a batch bound together as an objective of the parameters: the mean loss over the
/// batch's sequences plus an optional L2 term (l2/2)·‖w‖² — a sample_objective, so influence analysis
/// can take mini-batches, Hessian subsamples and blocks of per-sample gradients of it.
template <class Model>
class batch_objective {
 public:
  using scalar = typename Model::scalar;
  /// Keeps references: `model` and `batch` must outlive the objective (subsets own their sequences).
  batch_objective(const Model& model, const sequence_batch<scalar>& batch, double l2 = 0)
      : m_(&model), b_(&batch), l2_(l2) {
    require(l2 >= 0 && std::isfinite(l2), "batch_objective: l2 must be finite and >= 0, got ", l2);
    m_->validate(*b_, true, "batch_objective");
  }
  index_t parameter_count() const { return m_->parameter_count(); }
  index_t sample_count() const { return b_->size(); }
  double l2() const noexcept { return l2_; }
  const Model& model() const noexcept { return *m_; }
  const sequence_batch<scalar>& batch() const noexcept { return *b_; }

  /// The same objective over sequences ids[0], ids[1], ... of the batch (copied into the subset).
  batch_objective subset(std::span<const index_t> ids) const {
    require(!ids.empty(), "batch_objective::subset: no sample ids");
    auto owned = std::make_shared<const sequence_batch<scalar>>(rnnabs::subset(*b_, ids));
    return batch_objective(m_, std::move(owned), l2_);
  }

  scalar loss(const vector<scalar>& w) const {
    return static_cast<scalar>(m_->loss(*b_, w) +
                               (l2_ > 0 ? 0.5 * l2_ * w.template cast<double>().squaredNorm() : 0.0));
  }
  vector<scalar> loss_gradient(const vector<scalar>& w) const {
    vector<scalar> g = m_->loss_gradient(*b_, w);
    if (l2_ > 0) g += static_cast<scalar>(l2_) * w;
    return g;
  }
  vector<scalar> hessian_vector_product(const vector<scalar>& w, const vector<scalar>& v) const {
    vector<scalar> hv = m_->hessian_vector_product(*b_, w, v);
    if (l2_ > 0) hv += static_cast<scalar>(l2_) * v;
    return hv;
  }
  matrix<scalar> per_sample_gradients(const vector<scalar>& w) const { return m_->per_sample_gradients(*b_, w); }
  /// Each sequence's own loss at w (n values, no regularizer).
  vector<double> per_sample_losses(const vector<scalar>& w) const { return m_->per_sample_losses(*b_, w); }

 private:
  batch_objective(const Model* m, std::shared_ptr<const sequence_batch<scalar>> owned, double l2)
      : m_(m), owned_(std::move(owned)), b_(owned_.get()), l2_(l2) {}

  const Model* m_;
  std::shared_ptr<const sequence_batch<scalar>> owned_;  // set for subsets
  const sequence_batch<scalar>* b_;
  double l2_ = 0;
};

template <class T = float>
using lstm_classifier = rnn_classifier<lstm_cell, T>;
template <class T = float>
using gru_classifier = rnn_classifier<gru_cell, T>;
template <class T = float>
using rnn_tanh_classifier = rnn_classifier<rnn_tanh_cell, T>;
template <class T = float>
using rnn_relu_classifier = rnn_classifier<rnn_relu_cell, T>;

}  // namespace rnnabs

#include "rnnabs/nn/detail/classifier_impl.hpp"
#include "rnnabs/nn/detail/classifier_io.hpp"
