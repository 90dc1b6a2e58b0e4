#pragma once
// SimNN, the fidelity probe of RNNRepair (Xie et al., ICML 2021): softmax regression (one linear layer, no hidden
// layer) on flattened normalized abstract traces, trained full-batch with Adam. High accuracy of the
// probe on test traces means the abstract traces keep the information the RNN decides on.
// Deterministic: seeded initialisation (PyTorch's Linear default U(±1/√D)), and gradients summed over
// fixed row chunks merged in order, so the result is the same for any thread count, and for any number
// of ranks when the rows are sharded (fit with a communicator).
//
//   rnnabs::simnn probe({.iterations = 500, .learning_rate = 0.02, .seed = 1});
//   probe.fit(X_train, y_train, C);          // X: N x D (double), y: N class ids
//   double acc = probe.accuracy(X_test, y_test);
#include <cmath>
#include <cstdint>
#include <vector>

#include "rnnabs/core/communicator.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"

namespace rnnabs {

struct simnn_options {
  index_t iterations = 500;
  double learning_rate = 0.02;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  ///< Adam (PyTorch's defaults)
  std::uint64_t seed = 0;
};

class simnn {
 public:
  simnn() = default;
  explicit simnn(const simnn_options& o) : opt_(o) {}

  /// Trains on rows of x with labels y in [0, n_classes).
  simnn& fit(const matrix<double>& x, const index_vector& y, index_t n_classes) {
    check(x, y, n_classes, true);
    return train(x, y, n_classes, x.rows(), {});
  }

  /// Distributed: x, y are this rank's rows (any split; a rank may hold none). The gradient of every
  /// iteration is summed over all ranks' rows in the single process's chunk order, so every rank ends
  /// with the probe fit(all rows) gives on one process, bit for bit. Collective.
  simnn& fit(const matrix<double>& x, const index_vector& y, index_t n_classes, communicator_ref comm) {
    if (comm.size() == 1) return fit(x, y, n_classes);
    const index_t d = same_on_every_rank(comm, x.cols(), "simnn::fit", "row width");
    collectively(comm, [&] { check(x, y, n_classes, x.rows() > 0); });
    // Rows and labels travel together to ranks whose rows start at multiples of the chunk grid.
    matrix<double> xy(x.rows(), d + 1);
    xy.leftCols(d) = x;
    xy.col(d) = y.cast<double>();
    if (!rows_aligned(comm, xy.rows())) xy = align_rows(comm, xy);
    const index_vector ya = xy.col(d).cast<index_t>();
    const std::vector<index_t> rows = all_gather_value(comm, static_cast<index_t>(xy.rows()));
    index_t n = 0;
    for (const index_t r : rows) n += r;
    require(n >= 1, "simnn::fit: no rank holds a row");
    return train(xy.leftCols(d), ya, n_classes, n, comm);
  }

  /// N x C logits.
  matrix<double> decision_function(const matrix<double>& x) const {
    require(fitted(), "simnn::predict: called before fit");
    require(x.cols() == w_.rows(), "simnn::predict: X has ", x.cols(), " columns, the probe was fitted on ", w_.rows());
    matrix<double> z;
    in_team([&] { z = x * w_; });  // one thread's blocking: the same bits for any thread count
    z.rowwise() += b_.transpose();
    return z;
  }
  index_vector predict(const matrix<double>& x) const {
    const matrix<double> z = decision_function(x);
    index_vector r(z.rows());
    for (index_t i = 0; i < z.rows(); ++i) z.row(i).maxCoeff(&r(i));
    return r;
  }
  /// Fraction of rows whose prediction equals y (0 for no rows).
  double accuracy(const matrix<double>& x, const index_vector& y) const {
    require(y.size() == x.rows(), "simnn::accuracy: ", y.size(), " labels for ", x.rows(), " rows");
    if (x.rows() == 0) return 0.0;
    return static_cast<double>((predict(x).array() == y.array()).count()) / static_cast<double>(x.rows());
  }

  bool fitted() const noexcept { return w_.size() > 0; }
  /// Mean cross-entropy on the training rows at the final weights.
  double loss() const noexcept { return loss_; }
  const std::vector<double>& loss_history() const noexcept { return loss_history_; }
  const matrix<double>& weights() const noexcept { return w_; }
  const vector<double>& bias() const noexcept { return b_; }

 private:
  struct grad {
    matrix<double> dw;
    vector<double> db;
    double loss = 0;
    template <class F>
    void for_each_buffer(F&& f) {  // what travels between ranks
      detail::for_each_buffer(dw, f);
      detail::for_each_buffer(db, f);
      detail::for_each_buffer(loss, f);
    }
  };

  void check(const matrix<double>& x, const index_vector& y, index_t n_classes, bool has_rows) const {
    constexpr const char* who = "simnn::fit";
    if (has_rows) require_data(x, who);
    require(y.size() == x.rows(), who, ": ", y.size(), " labels for ", x.rows(), " rows");
    require(n_classes >= 2, who, ": n_classes must be >= 2, got ", n_classes);
    require(opt_.iterations >= 0 && opt_.learning_rate > 0, who, ": bad options (iterations ", opt_.iterations,
            ", learning_rate ", opt_.learning_rate, ")");
    for (index_t i = 0; i < y.size(); ++i)
      require(y(i) >= 0 && y(i) < n_classes, who, ": label ", y(i), " of row ", i, " is outside [0, ", n_classes, ")");
  }

  /// Full-batch Adam on the rows of all ranks (n of them; this rank's are x, y).
  simnn& train(const matrix<double>& x, const index_vector& y, index_t n_classes, index_t n, communicator_ref comm) {
    rng g(opt_.seed);
    const index_t d = x.cols(), c = n_classes;
    const double bound = 1.0 / std::sqrt(static_cast<double>(d));
    w_.resize(d, c);
    b_.resize(c);
    for (index_t i = 0; i < w_.size(); ++i) w_.data()[i] = (2 * g.uniform() - 1) * bound;
    for (index_t i = 0; i < c; ++i) b_(i) = (2 * g.uniform() - 1) * bound;
    const matrix<float> xf = x.cast<float>();
    matrix<double> mw = matrix<double>::Zero(d, c), vw = mw;
    vector<double> mb = vector<double>::Zero(c), vb = mb;
    loss_history_.clear();
    for (index_t it = 1; it <= opt_.iterations; ++it) {
      grad gr = gradient(xf, y, n, comm);
      loss_history_.push_back(gr.loss);
      const double b1t = 1 - std::pow(opt_.beta1, static_cast<double>(it));
      const double b2t = 1 - std::pow(opt_.beta2, static_cast<double>(it));
      mw = opt_.beta1 * mw + (1 - opt_.beta1) * gr.dw;
      vw = opt_.beta2 * vw + (1 - opt_.beta2) * gr.dw.cwiseAbs2();
      mb = opt_.beta1 * mb + (1 - opt_.beta1) * gr.db;
      vb = opt_.beta2 * vb + (1 - opt_.beta2) * gr.db.cwiseAbs2();
      w_.array() -= opt_.learning_rate * (mw.array() / b1t) / ((vw.array() / b2t).sqrt() + opt_.epsilon);
      b_.array() -= opt_.learning_rate * (mb.array() / b1t) / ((vb.array() / b2t).sqrt() + opt_.epsilon);
    }
    loss_ = gradient(xf, y, n, comm).loss;
    return *this;
  }

  /// The mean loss and its gradient over all ranks' rows (n; this rank's are x, y).
  grad gradient(const matrix<float>& x, const index_vector& y, index_t n, communicator_ref comm) const {
    constexpr index_t chunk = 2048;
    const index_t d = x.cols(), c = w_.cols();
    const matrix<float> wf = w_.cast<float>();
    const vector<float> bf = b_.cast<float>();
    grad zero{matrix<double>::Zero(d, c), vector<double>::Zero(c), 0.0};
    const auto map = [&](index_t b, index_t e, grad& acc) {
      const index_t r = e - b;
      matrix<float> z = x.middleRows(b, r) * wf;
      z.rowwise() += bf.transpose();
      for (index_t i = 0; i < r; ++i) {
        const float mx = z.row(i).maxCoeff();
        z.row(i).array() = (z.row(i).array() - mx).exp();
        const float s = z.row(i).sum();
        z.row(i) /= s;
        acc.loss -= std::log(std::max(static_cast<double>(z(i, y(b + i))), 1e-300));
        z(i, y(b + i)) -= 1.0f;
      }
      acc.dw += (x.middleRows(b, r).transpose() * z).cast<double>();
      acc.db += z.colwise().sum().transpose().cast<double>();
    };
    const auto merge = [](grad& t, const grad& p) {
      t.dw += p.dw;
      t.db += p.db;
      t.loss += p.loss;
    };
    // Always inside the OpenMP team, even for one chunk: outside one, Eigen would thread the chunk's
    // products with thread-count-dependent blocking.
    grad g = chunked_reduce(comm, x.rows(), chunk, zero, map, merge);
    const double inv = 1.0 / static_cast<double>(n);
    g.dw *= inv;
    g.db *= inv;
    g.loss *= inv;
    return g;
  }

  simnn_options opt_;
  matrix<double> w_;
  vector<double> b_;
  double loss_ = 0;
  std::vector<double> loss_history_;
};

}  // namespace rnnabs
