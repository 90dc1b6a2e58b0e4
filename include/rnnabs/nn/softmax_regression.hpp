#pragma once
// A linear classifier as a sample_objective: binary logistic regression (one logit, labels 0/1) or
// multinomial softmax regression (C >= 2 logits), with an intercept and an L2 term (l2/2)·‖w‖².
// Convex, with closed-form per-sample gradients, Hessian-vector products and Hessian, so it is
// the reference model of the influence layer (and a model of its own for tabular data).
//
//   rnnabs::softmax_regression_objective<double> f(X, y, /*num_classes=*/1, /*l2=*/1e-2);
//   auto w = rnnabs::vector<double>::Zero(f.parameter_count()).eval();
//   auto g = f.loss_gradient(w);  auto hv = f.hessian_vector_product(w, v);  auto H = f.hessian(w);
//
// Parameters: the C x (D+1) matrix [W | b] flattened row-major (class c's D weights, then its bias).
#include <algorithm>
#include <cmath>
#include <memory>
#include <span>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"

namespace rnnabs {

template <class T = double>
class softmax_regression_objective {
 public:
  using scalar = T;

  /// X: N x D features, y: N labels (0/1 for num_classes = 1, else in [0, num_classes)).
  softmax_regression_objective(matrix<T> x, index_vector y, index_t num_classes, double l2 = 0)
      : data_(std::make_shared<const data>(data{std::move(x), std::move(y)})), c_(num_classes), l2_(l2) {
    constexpr const char* who = "softmax_regression_objective";
    require_data(data_->x, who);
    require(num_classes >= 1, who, ": num_classes must be >= 1, got ", num_classes);
    require(l2 >= 0 && std::isfinite(l2), who, ": l2 must be finite and >= 0, got ", l2);
    require(data_->y.size() == data_->x.rows(), who, ": ", data_->y.size(), " labels for ", data_->x.rows(), " rows");
    const index_t classes = num_classes == 1 ? 2 : num_classes;
    for (index_t i = 0; i < data_->y.size(); ++i)
      require(data_->y(i) >= 0 && data_->y(i) < classes, who, ": label ", data_->y(i), " of row ", i,
              " is outside [0, ", classes, ")");
  }

  index_t features() const noexcept { return data_->x.cols(); }
  index_t num_classes() const noexcept { return c_; }
  index_t parameter_count() const noexcept { return c_ * (features() + 1); }
  index_t sample_count() const noexcept { return ids_.empty() ? data_->x.rows() : static_cast<index_t>(ids_.size()); }
  double l2() const noexcept { return l2_; }

  softmax_regression_objective subset(std::span<const index_t> ids) const {
    require(!ids.empty(), "softmax_regression_objective::subset: no sample ids");
    softmax_regression_objective s = *this;
    s.ids_.resize(ids.size());
    for (std::size_t k = 0; k < ids.size(); ++k) {
      require(ids[k] >= 0 && ids[k] < sample_count(), "softmax_regression_objective::subset: sample id ", ids[k],
              " is outside [0, ", sample_count(), ")");
      s.ids_[k] = row_of(ids[k]);
    }
    return s;
  }

  /// N x C' logits (C' = num_classes).
  matrix<T> logits(const vector<T>& w) const {
    check(w, "logits");
    return design() * weights(w).transpose();
  }

  T loss(const vector<T>& w) const {
    const vector<double> l = per_sample_losses(w);
    return static_cast<T>(l.mean() + penalty(w));
  }
  vector<double> per_sample_losses(const vector<T>& w) const {
    const matrix<T> z = logits(w);
    const index_vector y = labels();
    vector<double> l(z.rows());
    for (index_t i = 0; i < z.rows(); ++i) {
      if (c_ == 1) {
        const double s = z(i, 0);
        l(i) = std::max(s, 0.0) - s * static_cast<double>(y(i)) + std::log1p(std::exp(-std::abs(s)));
      } else {
        const double m = z.row(i).maxCoeff();
        l(i) = m + std::log((z.row(i).array() - static_cast<T>(m)).exp().template cast<double>().sum()) -
               static_cast<double>(z(i, y(i)));
      }
    }
    return l;
  }
  vector<T> loss_gradient(const vector<T>& w) const {
    const matrix<T> r = residuals(w);
    matrix<T> g = r.transpose() * design() / static_cast<T>(sample_count());
    vector<T> out = flat(g);
    if (l2_ > 0) out += static_cast<T>(l2_) * w;
    return out;
  }
  /// Row i: the gradient of sample i's loss, (p_i − y_i) ⊗ [x_i, 1].
  matrix<T> per_sample_gradients(const vector<T>& w) const {
    const matrix<T> r = residuals(w), xt = design();
    const index_t d1 = features() + 1;
    matrix<T> g(xt.rows(), parameter_count());
    for (index_t c = 0; c < c_; ++c) g.middleCols(c * d1, d1) = xt.array().colwise() * r.col(c).array();
    return g;
  }
  vector<T> hessian_vector_product(const vector<T>& w, const vector<T>& v) const {
    check(v, "hessian_vector_product");
    const matrix<T> xt = design(), p = probabilities(w);
    const matrix<T> a = xt * weights(v).transpose();  // N x C': the logits' tangent along v
    matrix<T> s;
    if (c_ == 1) {
      s = (p.array() * (T(1) - p.array()) * a.array()).matrix();
    } else {
      const vector<T> pa = (p.array() * a.array()).rowwise().sum();
      s = (p.array() * (a.array().colwise() - pa.array())).matrix();
    }
    vector<T> out = flat(matrix<T>(s.transpose() * xt / static_cast<T>(sample_count())));
    if (l2_ > 0) out += static_cast<T>(l2_) * v;
    return out;
  }
  /// The P x P Hessian of the mean loss (plus l2·I), accumulated in double.
  matrix<double> hessian(const vector<T>& w) const {
    const matrix<double> xt = design().template cast<double>(), p = probabilities(w).template cast<double>();
    const index_t d1 = features() + 1, P = parameter_count(), n = xt.rows();
    matrix<double> h = matrix<double>::Zero(P, P);
    for (index_t a = 0; a < c_; ++a)
      for (index_t b = 0; b <= a; ++b) {
        vector<double> coef(n);
        for (index_t i = 0; i < n; ++i)
          coef(i) = c_ == 1 ? p(i, 0) * (1 - p(i, 0)) : p(i, a) * ((a == b ? 1.0 : 0.0) - p(i, b));
        const matrix<double> blk = xt.transpose() * (xt.array().colwise() * coef.array()).matrix() /
                                   static_cast<double>(n);
        h.block(a * d1, b * d1, d1, d1) = blk;
        if (a != b) h.block(b * d1, a * d1, d1, d1) = blk.transpose();
      }
    h.diagonal().array() += l2_;
    return h;
  }

  /// N x C' class probabilities (C' = 1: P(y = 1)).
  matrix<T> probabilities(const vector<T>& w) const {
    matrix<T> z = logits(w);
    if (c_ == 1) return (T(1) / (T(1) + (-z.array()).exp())).matrix();
    for (index_t i = 0; i < z.rows(); ++i) {
      z.row(i).array() = (z.row(i).array() - z.row(i).maxCoeff()).exp();
      z.row(i) /= z.row(i).sum();
    }
    return z;
  }

 private:
  struct data {
    matrix<T> x;
    index_vector y;
  };

  index_t row_of(index_t k) const { return ids_.empty() ? k : ids_[static_cast<std::size_t>(k)]; }
  void check(const vector<T>& w, const char* what) const {
    require(w.size() == parameter_count(), "softmax_regression_objective::", what, ": ", w.size(),
            " parameters, the model has ", parameter_count());
  }
  /// [X | 1] of this objective's samples.
  matrix<T> design() const {
    const index_t n = sample_count(), d = features();
    matrix<T> xt(n, d + 1);
    for (index_t k = 0; k < n; ++k) xt.row(k).head(d) = data_->x.row(row_of(k));
    xt.col(d).setOnes();
    return xt;
  }
  index_vector labels() const {
    index_vector y(sample_count());
    for (index_t k = 0; k < y.size(); ++k) y(k) = data_->y(row_of(k));
    return y;
  }
  Eigen::Map<const matrix<T>> weights(const vector<T>& w) const {
    return Eigen::Map<const matrix<T>>(w.data(), c_, features() + 1);
  }
  static vector<T> flat(const matrix<T>& m) { return Eigen::Map<const vector<T>>(m.data(), m.size()); }
  /// p − onehot(y) per sample (N x C').
  matrix<T> residuals(const vector<T>& w) const {
    matrix<T> r = probabilities(w);
    const index_vector y = labels();
    for (index_t i = 0; i < r.rows(); ++i) {
      if (c_ == 1) r(i, 0) -= static_cast<T>(y(i));
      else r(i, y(i)) -= T(1);
    }
    return r;
  }
  double penalty(const vector<T>& w) const {
    return l2_ > 0 ? 0.5 * l2_ * w.template cast<double>().squaredNorm() : 0.0;
  }

  std::shared_ptr<const data> data_;
  std::vector<index_t> ids_;  // rows of data_ this objective covers (empty: all)
  index_t c_ = 1;
  double l2_ = 0;
};

}  // namespace rnnabs
