#pragma once
// SGD-influence (Hara, Nitanda & Maehara, NeurIPS 2019, "Data Cleansing for Models Trained with SGD"):
// the effect of removing a training sample from every mini-batch it was in, traced through the
// recorded SGD trajectory θ_{t+1} = θ_t − η_t/|B_t| Σ_{j∈B_t} ∇ℓ_j(θ_t). Going back from the final
// parameters with u = ∇ℓ_test(θ_T):
//   for t = T−1 … 0:   score[i] += η_t/|B_t| ⟨u, ∇ℓ_i(θ_t)⟩  for i ∈ B_t;   u ← (I − η_t H_t) u
// with H_t the Hessian of B_t's mean loss at θ_t. score[i] is the first-order change of the test loss
// when i is left out of its batches (divisor |B_t| kept) — positive: i helps, negative: i hurts.
// RNNRepair's copy scaled the Hessian step by an extra 1/|B| and took the test gradient on the wrong
// samples (0..n−1, not the targets); here the recursion is Hara's, and both the all-epochs estimate and the
// last-epoch one it used are reported.
//
//   rnnabs::sgd_trajectory<float> traj;
//   train_options o{...};  o.on_step = traj.recorder();         // plain SGD, no clipping
//   train(model, data, rnnabs::sgd{.lr = 0.1}, o);  traj.finish(model.parameters());
//   auto r = rnnabs::sgd_influence(rnnabs::batch_objective(model, data), traj,
//                                  rnnabs::mean_sample_gradient(test, traj.final_parameters()));
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/influence/gradients.hpp"
#include "rnnabs/nn/concepts.hpp"
#include "rnnabs/nn/train.hpp"
#if defined(RNNABS_HAVE_ZIP)
#include "rnnabs/io/archive.hpp"
#endif

namespace rnnabs {

/// One SGD step: θ_{t+1} = θ_t − η ∇L_B(θ_t), as recorded before the update.
template <class T>
struct sgd_step {
  index_t epoch = 0;
  double learning_rate = 0;
  std::vector<index_t> batch;  ///< training-sample ids of the mini-batch
  vector<T> parameters;        ///< θ_t
};

/// A recorded training run: every step's batch, rate and parameters, and the final parameters.
/// `recorder()` plugs into train_options::on_step; finish() takes the parameters after the last step.
/// Each step is checked against the next: when θ_{t+1} ≠ θ_t − η_t g_t (momentum, Adam, weight decay
/// or clipping changed the update), plain_sgd() turns false and SGD-influence refuses the trajectory.
template <class T = float>
class sgd_trajectory {
 public:
  static constexpr int archive_version = 1;

  /// For train_options::on_step.
  std::function<void(const step_record<T>&)> recorder() {
    return [this](const step_record<T>& r) { record(r); };
  }

  void record(const step_record<T>& r) {
    require(r.batch && r.parameters && r.gradient, "sgd_trajectory::record: incomplete step record");
    require(!finished_, "sgd_trajectory::record: the trajectory is finished");
    if (!steps_.empty()) check_update(*r.parameters);
    steps_.push_back({r.epoch, r.learning_rate, *r.batch, *r.parameters});
    last_gradient_ = *r.gradient;
  }

  /// The parameters after the last step (model.parameters() once train() returns).
  void finish(const vector<T>& final_parameters) {
    require(!steps_.empty(), "sgd_trajectory::finish: no step was recorded");
    check_update(final_parameters);
    final_ = final_parameters;
    last_gradient_ = vector<T>();
    finished_ = true;
  }

  const std::vector<sgd_step<T>>& steps() const noexcept { return steps_; }
  const vector<T>& final_parameters() const noexcept { return final_; }
  bool finished() const noexcept { return finished_; }
  bool plain_sgd() const noexcept { return plain_; }
  index_t epochs() const noexcept { return steps_.empty() ? 0 : steps_.back().epoch + 1; }
  /// θ at the start of each epoch (epoch 0: the initial parameters) and the final θ: TracInCP checkpoints.
  std::vector<vector<T>> epoch_starts() const {
    std::vector<vector<T>> r;
    for (std::size_t s = 0; s < steps_.size(); ++s)
      if (s == 0 || steps_[s].epoch != steps_[s - 1].epoch) r.push_back(steps_[s].parameters);
    return r;
  }

#if defined(RNNABS_HAVE_ZIP)
  /// Versioned, atomic archive (kind "sgd_trajectory"): parameters as a steps x P array of T.
  void save(const std::filesystem::path& path) const {
    require(finished_, "sgd_trajectory::save: finish() the trajectory first");
    const index_t s = static_cast<index_t>(steps_.size()), p = final_.size();
    io::archive a("sgd_trajectory", archive_version);
    matrix<T> theta(s, p);
    vector<double> lr(s), ep(s), offsets(s + 1);
    std::vector<double> ids;
    offsets(0) = 0;
    for (index_t k = 0; k < s; ++k) {
      const auto& st = steps_[static_cast<std::size_t>(k)];
      theta.row(k) = st.parameters.transpose();
      lr(k) = st.learning_rate;
      ep(k) = static_cast<double>(st.epoch);
      for (index_t i : st.batch) ids.push_back(static_cast<double>(i));
      offsets(k + 1) = static_cast<double>(ids.size());
    }
    a.put_array("parameters", io::to_npy_array(theta));
    a.put_array("final", io::to_npy_array(matrix<T>(final_.transpose())));
    a.put("learning_rates", lr);
    a.put("epochs", ep);
    a.put("batch_offsets", offsets);
    a.put("batch_ids", Eigen::Map<const vector<double>>(ids.data(), static_cast<index_t>(ids.size())).eval());
    a.put_scalar("plain_sgd", plain_ ? 1.0 : 0.0);
    io::save(path, a);
  }
  static sgd_trajectory load(const std::filesystem::path& path) {
    const auto a = io::load(path, "sgd_trajectory", archive_version);
    const auto where = detail::concat("sgd_trajectory::load: ", path);
    const auto get_t = [&](const char* name) {
      require<io_error>(a.contains(name), where, ": no entry '", name, "'");
      return io::to_matrix<T>(a.arrays().at(name));
    };
    const matrix<T> theta = get_t("parameters"), fin = get_t("final");
    const vector<double> lr = a.get_vector("learning_rates"), ep = a.get_vector("epochs"),
                         off = a.get_vector("batch_offsets");
    const vector<double> ids =
        a.contains("batch_ids") && a.arrays().at("batch_ids").size() > 0 ? a.get_vector("batch_ids") : vector<double>();
    const index_t s = theta.rows();
    require<io_error>(fin.rows() == 1 && fin.cols() == theta.cols() && lr.size() == s && ep.size() == s &&
                          off.size() == s + 1 && off(s) == static_cast<double>(ids.size()),
                      where, ": inconsistent entries");
    // Whole numbers in range before any cast (a cast of NaN or 1e300 to index_t is undefined).
    const auto whole = [](double v, double hi) { return std::isfinite(v) && v == std::trunc(v) && v >= 0 && v <= hi; };
    const auto n_ids = static_cast<double>(ids.size());
    sgd_trajectory t;
    for (index_t k = 0; k < s; ++k) {
      sgd_step<T> st;
      require<io_error>(whole(ep(k), 9.0e15), where, ": bad epoch ", ep(k), " of step ", k);
      st.epoch = static_cast<index_t>(ep(k));
      st.learning_rate = lr(k);
      require<io_error>(whole(off(k), n_ids) && whole(off(k + 1), n_ids) && off(k) <= off(k + 1), where,
                        ": corrupt batch offsets [", off(k), ", ", off(k + 1), ") of step ", k, " (", ids.size(),
                        " batch ids)");
      const auto b = static_cast<index_t>(off(k)), e = static_cast<index_t>(off(k + 1));
      for (index_t j = b; j < e; ++j) {
        require<io_error>(whole(ids(j), 9.0e15), where, ": bad batch id ", ids(j));
        st.batch.push_back(static_cast<index_t>(ids(j)));
      }
      st.parameters = theta.row(k).transpose();
      t.steps_.push_back(std::move(st));
    }
    t.final_ = fin.row(0).transpose();
    t.plain_ = a.get_scalar("plain_sgd") != 0;
    t.finished_ = true;
    return t;
  }
#endif

 private:
  void check_update(const vector<T>& next) {
    const auto& prev = steps_.back();
    require(next.size() == prev.parameters.size(), "sgd_trajectory: parameter count changed from ",
            prev.parameters.size(), " to ", next.size());
    const vector<double> expect = prev.parameters.template cast<double>() -
                                  prev.learning_rate * last_gradient_.template cast<double>();
    const double err = (next.template cast<double>() - expect).norm();
    const double tol = 1e-4 * (prev.learning_rate * last_gradient_.template cast<double>().norm()) +
                       1e-6 * expect.norm() + 1e-12;
    if (!(err <= tol)) plain_ = false;
  }

  std::vector<sgd_step<T>> steps_;
  vector<T> final_;
  vector<T> last_gradient_;
  bool plain_ = true, finished_ = false;
};

struct sgd_influence_options {
  index_t epochs_back = 0;  ///< 0: the whole trajectory; k > 0: only the last k epochs' steps
  index_t block = 256;      ///< samples per per-sample-gradient block within a batch
};

struct sgd_influence_result {
  matrix<double> all_epochs;             ///< N x m: through the whole trajectory (Hara et al.)
  matrix<double> last_epoch;             ///< N x m: the last epoch's steps only (RNNRepair's "sgd_last")
  std::vector<matrix<double>> by_epoch;  ///< contribution of each epoch's steps (their sum is all_epochs)
  index_t steps = 0;                     ///< steps traced back
  /// ‖u‖ (largest column) when the trace-back reaches the start of each epoch, over ‖u_T‖: how much
  /// (I − ηH) amplified the test gradient. Far above 1 means negative curvature blew the linear
  /// estimate up over the early epochs (long non-convex runs); trust last_epoch then.
  std::vector<double> gain;
};

/// SGD-influence of every training sample on each column of `test_gradients` (P x m, at the final
/// parameters: e.g. mean_sample_gradient(test, traj.final_parameters())). `train` must be the
/// objective the run minimized (same samples, same ids as the recorded batches).
template <sample_objective F>
sgd_influence_result sgd_influence(const F& train, const sgd_trajectory<typename F::scalar>& traj,
                                   const matrix<double>& test_gradients, sgd_influence_options o = {}) {
  using S = typename F::scalar;
  constexpr const char* who = "sgd_influence";
  require(traj.finished(), who, ": the trajectory is not finished (call finish(model.parameters()))");
  require(traj.plain_sgd(), who,
          ": the trajectory is not plain SGD (an update differed from θ − η∇L_B: momentum, "
          "Adam, weight decay or gradient clipping); SGD-influence models plain SGD only");
  require(test_gradients.rows() == train.parameter_count(), who, ": the test gradients have ", test_gradients.rows(),
          " rows, the objective has ", train.parameter_count(), " parameters");
  require(test_gradients.allFinite(), who, ": the test gradients have a non-finite value");
  require(o.epochs_back >= 0 && o.block >= 1, who, ": need epochs_back >= 0 and block >= 1");
  const auto& steps = traj.steps();
  const index_t n = train.sample_count(), m = test_gradients.cols(), E = traj.epochs();
  const index_t first_epoch = o.epochs_back > 0 ? std::max<index_t>(0, E - o.epochs_back) : 0;
  sgd_influence_result r;
  r.by_epoch.assign(static_cast<std::size_t>(E), matrix<double>::Zero(n, m));
  matrix<double> u = test_gradients;
  const double u0 = std::max(u.colwise().norm().maxCoeff(), 1e-300);
  r.gain.assign(static_cast<std::size_t>(E), 1.0);
  for (auto it = steps.rbegin(); it != steps.rend() && it->epoch >= first_epoch; ++it) {
    const auto& st = *it;
    require(!st.batch.empty(), who, ": a recorded step has an empty batch");
    for (index_t i : st.batch)
      require(i >= 0 && i < n, who, ": the trajectory's batch id ", i, " is outside the objective's ", n, " samples");
    require(st.parameters.size() == u.rows(), who, ": a recorded step has ", st.parameters.size(), " parameters");
    const F batch = train.subset(st.batch);
    const double c = st.learning_rate / static_cast<double>(st.batch.size());
    // score[i] += η/|B| ⟨u, ∇ℓ_i(θ_t)⟩ (a sample may appear in a batch more than once: each counts).
    const matrix<double> dots = gradient_products(batch, st.parameters, u, {o.block});
    auto& slot = r.by_epoch[static_cast<std::size_t>(st.epoch)];
    for (std::size_t k = 0; k < st.batch.size(); ++k) slot.row(st.batch[k]) += c * dots.row(static_cast<index_t>(k));
    // u ← (I − η H_t) u, one HVP per column (columns in parallel).
    matrix<double> hu(u.rows(), m);
    parallel_for(
        m,
        [&](index_t k) {
          hu.col(k) = batch.hessian_vector_product(st.parameters, vector<double>(u.col(k)).template cast<S>().eval())
                          .template cast<double>();
        },
        /*small=*/m == 1);
    require<numerical_error>(hu.allFinite(), who,
                             ": a Hessian-vector product became non-finite at a recorded step "
                             "of epoch ",
                             st.epoch);
    u -= st.learning_rate * hu;
    ++r.steps;
    r.gain[static_cast<std::size_t>(st.epoch)] = u.colwise().norm().maxCoeff() / u0;
  }
  r.all_epochs = matrix<double>::Zero(n, m);
  for (const auto& e : r.by_epoch) r.all_epochs += e;
  r.last_epoch = E > 0 ? r.by_epoch.back() : r.all_epochs;
  return r;
}

}  // namespace rnnabs
