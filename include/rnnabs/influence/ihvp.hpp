#pragma once
// Inverse Hessian-vector products (H + λI)⁻¹ u of a twice_differentiable objective at a point w,
// the core of Koh & Liang influence. Four solvers with one interface (`solve(U)` column by column,
// `report()`), all with the same meaning of `damping` (λ):
//
//   explicit_ihvp   the Hessian built and factored (small models: P up to a few thousand)
//   cg_ihvp         conjugate gradients on H + λI (residual monitored, negative curvature detected)
//   lissa_ihvp      the stochastic Neumann series of Agarwal et al. on mini-batch Hessians, with an
//                   automatic scale and recovery from divergence (the NaN blow-ups of other tools)
//   arnoldi_ihvp    Lanczos on H: the top eigenpairs, inverted in their span (Schioppa et al. 2022)
//
//   rnnabs::cg_ihvp solver(train.subset(hessian_ids), theta, {.damping = 1e-3, .tol = 1e-5});
//   rnnabs::matrix<double> s_test = solver.solve(test_gradients);   // P x m
//
// Vectors are double; the objective's own scalar is used only for its HVP calls. Right-hand sides are
// solved independently (in parallel when several), so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/concepts.hpp"

namespace rnnabs {

/// What the last solve did (the worst right-hand side where they differ).
struct ihvp_report {
  index_t iterations = 0;  ///< CG iterations / LiSSA steps per repetition / Lanczos steps
  double residual = 0;     ///< CG: ‖(H+λI)x − u‖ / ‖u‖; LiSSA: relative change of the last step
  bool converged = false;
  double scale = 0;             ///< LiSSA: the scale used in the end
  index_t rescales = 0;         ///< LiSSA: divergences recovered by raising the scale
  double min_eigenvalue = 0;    ///< explicit: smallest eigenvalue of H; arnoldi: smallest kept Ritz value
  double max_eigenvalue = 0;    ///< explicit / arnoldi: largest eigenvalue of H; LiSSA: the estimate used
  std::vector<double> history;  ///< per iteration, first right-hand side: CG residuals, LiSSA changes
};

/// An inverse-HVP solver bound to an objective and a point.
template <class S>
concept ihvp_solver = requires(S& s, const matrix<double>& u) {
  { s.solve(u) } -> std::convertible_to<matrix<double>>;
  { s.report() } -> std::convertible_to<ihvp_report>;
};

/// static_assert(check_ihvp_solver<S>()) says what is missing.
template <class S>
consteval bool check_ihvp_solver() {
  static_assert(
      requires(S& s, const matrix<double>& u) {
        { s.solve(u) } -> std::convertible_to<matrix<double>>;
      }, "rnnabs::ihvp_solver: the type needs a member `solve(const matrix<double>& U)` returning (H + λI)⁻¹ U");
  static_assert(
      requires(S& s) {
        { s.report() } -> std::convertible_to<ihvp_report>;
      }, "rnnabs::ihvp_solver: the type needs a member `report()` returning an rnnabs::ihvp_report");
  return ihvp_solver<S>;
}

namespace detail {

/// (H + λI) v in double through the objective's own scalar.
template <class F, class S>
vector<double> damped_hvp(const F& f, const vector<S>& w, const vector<double>& v, double damping) {
  vector<double> hv = f.hessian_vector_product(w, v.template cast<S>().eval()).template cast<double>();
  if (damping != 0) hv += damping * v;
  return hv;
}

inline void check_rhs(const matrix<double>& u, index_t p, const char* who) {
  require(u.rows() == p, who, ": the right-hand sides have ", u.rows(), " rows, the objective has ", p,
          " parameters (pass a P x m matrix, one column per vector)");
  require(u.cols() >= 1, who, ": no right-hand side");
  require(u.allFinite(), who, ": a right-hand side has a non-finite value");
}

/// What every solver checks of its point and damping.
template <class F, class S>
void check_point(const F& f, const vector<S>& w, double damping, const char* who) {
  require(std::isfinite(damping) && damping >= 0, who, ": damping must be finite and >= 0, got ", damping);
  require(w.size() == f.parameter_count(), who, ": w has ", w.size(), " entries, the objective has ",
          f.parameter_count(), " parameters");
}

/// Runs solve_one(column) for every column of u, in parallel when there are several (one after
/// another when `serial`); each column is a deterministic serial solve, so the result is the same for
/// any thread count.
template <bool serial = false, class One>
matrix<double> solve_columns(const matrix<double>& u, std::vector<ihvp_report>& reports, One&& solve_one) {
  matrix<double> x(u.rows(), u.cols());
  reports.assign(static_cast<std::size_t>(u.cols()), ihvp_report{});
  const auto one = [&](index_t k) {
    const vector<double> col = u.col(k);
    x.col(k) = solve_one(col, reports[static_cast<std::size_t>(k)]);
  };
  if constexpr (serial) {
    for (index_t k = 0; k < u.cols(); ++k) one(k);
  } else {
    parallel_for(u.cols(), one, /*small=*/u.cols() == 1);
  }
  return x;
}

/// The worst of several reports (most iterations, largest residual, converged only if all did).
inline ihvp_report worst_of(const std::vector<ihvp_report>& r) {
  ihvp_report w = r.front();
  for (const auto& x : r) {
    w.iterations = std::max(w.iterations, x.iterations);
    w.residual = std::max(w.residual, x.residual);
    w.converged = w.converged && x.converged;
    w.scale = std::max(w.scale, x.scale);
    w.rescales = std::max(w.rescales, x.rescales);
  }
  return w;
}

}  // namespace detail

// ---- explicit ------------------------------------------------------------------------------------

struct explicit_ihvp_options {
  double damping = 0;
  index_t max_parameters = 4096;  ///< refuse larger models (P² doubles of memory, P³ flops)
};

/// Builds H (the objective's `hessian(w)` when it has one, else P HVPs of unit vectors, symmetrized),
/// factors H + λI once and solves any number of right-hand sides. numerical_error when H + λI is not
/// positive definite, with the damping that would make it so.
template <class F>
  requires twice_differentiable<F, typename F::scalar>
class explicit_ihvp {
 public:
  using scalar = typename F::scalar;

  explicit_ihvp(const F& f, const vector<scalar>& w, explicit_ihvp_options o = {}) : damping_(o.damping) {
    constexpr const char* who = "explicit_ihvp";
    detail::check_point(f, w, o.damping, who);
    const index_t p = f.parameter_count();
    require(p <= o.max_parameters, who, ": ", p, " parameters need a ", p, " x ", p, " Hessian (",
            static_cast<double>(p) * static_cast<double>(p) * 8e-9,
            " GB); use cg_ihvp or lissa_ihvp, or raise "
            "explicit_ihvp_options::max_parameters");
    matrix<double> h;
    if constexpr (requires {
                    { f.hessian(w) } -> std::convertible_to<matrix<double>>;
                  }) {
      h = f.hessian(w);
    } else {
      h.resize(p, p);
      const auto column = [&](index_t j) {
        vector<double> e = vector<double>::Zero(p);
        e(j) = 1;
        h.col(j) = detail::damped_hvp(f, w, e, 0.0);
      };
      if constexpr (detail::collective_objective<F>) {
        for (index_t j = 0; j < p; ++j) column(j);
      } else {
        parallel_for(p, column, /*small=*/p == 1);
      }
      h = (0.5 * (h + h.transpose())).eval();
    }
    require<numerical_error>(h.allFinite(), who, ": the Hessian has non-finite entries at w");
    const Eigen::SelfAdjointEigenSolver<matrix<double>> es(h, Eigen::EigenvaluesOnly);
    report_.min_eigenvalue = es.eigenvalues()(0);
    report_.max_eigenvalue = es.eigenvalues()(p - 1);
    h.diagonal().array() += damping_;
    llt_.compute(h);
    const double lo = report_.min_eigenvalue + damping_;
    require<numerical_error>(llt_.info() == Eigen::Success && lo > 0, who,
                             ": H + λI is not positive definite at w (smallest eigenvalue of H ",
                             report_.min_eigenvalue, ", damping λ = ", damping_, "): the loss is not convex there; ",
                             "set damping above ", -report_.min_eigenvalue, " (e.g. ",
                             std::max(1e-8, -1.1 * report_.min_eigenvalue), ")");
    report_.converged = true;
  }

  matrix<double> solve(const matrix<double>& u) {
    detail::check_rhs(u, llt_.rows(), "explicit_ihvp::solve");
    return llt_.solve(u);
  }
  ihvp_report report() const { return report_; }

 private:
  double damping_ = 0;
  Eigen::LLT<matrix<double>> llt_;
  ihvp_report report_;
};

// ---- conjugate gradients --------------------------------------------------------------------------

struct cg_options {
  double damping = 0;
  double tol = 1e-6;  ///< stop when ‖r‖ ≤ tol ‖u‖
  index_t max_iter = 200;
  bool require_convergence = false;  ///< numerical_error instead of a report with converged = false
};

/// Conjugate gradients on (H + λI) x = u from x = 0. A direction of non-positive curvature
/// (pᵀ(H+λI)p ≤ 0: H + λI is not positive definite) is a numerical_error naming the damping needed.
template <class F>
  requires twice_differentiable<F, typename F::scalar>
class cg_ihvp {
 public:
  using scalar = typename F::scalar;

  cg_ihvp(const F& f, const vector<scalar>& w, cg_options o = {}) : f_(&f), w_(w), o_(o) {
    constexpr const char* who = "cg_ihvp";
    detail::check_point(f, w, o.damping, who);
    require(o.tol > 0 && o.max_iter >= 1, who, ": need tol > 0 and max_iter >= 1, got ", o.tol, " and ", o.max_iter);
  }

  matrix<double> solve(const matrix<double>& u) {
    detail::check_rhs(u, w_.size(), "cg_ihvp::solve");
    std::vector<ihvp_report> reps;
    matrix<double> x = detail::solve_columns<detail::collective_objective<F>>(
        u, reps, [&](const vector<double>& b, ihvp_report& r) { return one(b, r); });
    report_ = detail::worst_of(reps);
    report_.history = reps.front().history;
    return x;
  }
  ihvp_report report() const { return report_; }

 private:
  vector<double> one(const vector<double>& b, ihvp_report& rep) const {
    const index_t p = b.size();
    vector<double> x = vector<double>::Zero(p), r = b, d = b;
    const double bnorm = b.norm();
    rep = {};
    if (bnorm == 0) {
      rep.converged = true;
      return x;
    }
    double rr = r.squaredNorm();
    for (index_t it = 1; it <= o_.max_iter; ++it) {
      const vector<double> ad = detail::damped_hvp(*f_, w_, d, o_.damping);
      const double dad = d.dot(ad), dd = d.squaredNorm();
      require<numerical_error>(std::isfinite(dad),
                               "cg_ihvp: the Hessian-vector product became non-finite at "
                               "iteration ",
                               it);
      require<numerical_error>(dad > 1e-12 * dd * std::max(1.0, std::abs(o_.damping)),
                               "cg_ihvp: H + λI has "
                               "non-positive curvature along a search direction at iteration ",
                               it, " (Rayleigh quotient of H ", dad / dd - o_.damping, ", damping λ = ", o_.damping,
                               "): H is not positive definite at w; set damping above ", o_.damping - dad / dd,
                               " or solve at a minimum of the loss");
      const double alpha = rr / dad;
      x += alpha * d;
      r -= alpha * ad;
      const double rr_new = r.squaredNorm();
      rep.iterations = it;
      rep.residual = std::sqrt(rr_new) / bnorm;
      rep.history.push_back(rep.residual);
      if (rep.residual <= o_.tol) {
        rep.converged = true;
        break;
      }
      d = r + (rr_new / rr) * d;
      rr = rr_new;
    }
    require<numerical_error>(rep.converged || !o_.require_convergence, "cg_ihvp: no convergence in ", o_.max_iter,
                             " iterations (relative residual ", rep.residual, " > tol ", o_.tol,
                             "); raise max_iter or damping (a larger λ conditions H + λI better)");
    return x;
  }

  const F* f_;
  vector<scalar> w_;
  cg_options o_;
  ihvp_report report_;
};

// ---- LiSSA ------------------------------------------------------------------------------------------

struct lissa_options {
  double damping = 0.01;
  double scale = 0;         ///< s > 0 fixed; 0: automatic (1.5 × the largest |eigenvalue| found by
                            ///< power iteration on a mini-batch Hessian, at least 1)
  index_t depth = 500;      ///< recursion steps per repetition
  index_t repetitions = 1;  ///< independent estimates, averaged
  index_t batch_size = 64;  ///< samples per mini-batch Hessian (>= N: the full Hessian every step)
  std::uint64_t seed = 0;
  double tol = 0;                 ///< > 0: stop a repetition when ‖h_j − h_{j−1}‖ ≤ tol ‖h_j‖
  index_t max_rescales = 6;       ///< divergence: scale × 10 and restart, at most this many times
  index_t power_iterations = 20;  ///< for the automatic scale
};

/// LiSSA (Agarwal, Bullins & Hazan 2017; Koh & Liang's stochastic estimator) on mini-batch Hessians
/// H_j of a sample_objective: h_0 = u, h_j = u + h_{j−1} − (H_j + λI) h_{j−1} / s, result h_J / s,
/// whose fixed point is (H + λI)⁻¹ u for any scale s with (λ_max + λ)/s < 2 (this is the
/// scale-independent form of the damping; other tools' "damping" is λ/s). The recursion is watched:
/// when ‖h_j‖ outgrows the linear bound 2 (j + 1) ‖u‖ or turns non-finite, the scale is raised tenfold
/// and the repetition restarted; past max_rescales it is a numerical_error with advice.
template <class F>
  requires sample_objective<F>
class lissa_ihvp {
 public:
  using scalar = typename F::scalar;

  lissa_ihvp(const F& f, const vector<scalar>& w, lissa_options o = {}) : f_(&f), w_(w), o_(o) {
    constexpr const char* who = "lissa_ihvp";
    detail::check_point(f, w, o.damping, who);
    require(o.depth >= 1 && o.repetitions >= 1 && o.batch_size >= 1 && o.max_rescales >= 0 && o.scale >= 0 &&
                std::isfinite(o.scale) && o.tol >= 0,
            who, ": need depth, repetitions, batch_size >= 1, max_rescales >= 0, scale >= 0 and tol >= 0");
    require(f.sample_count() >= 1, who, ": the objective has no samples");
    scale_ = o.scale > 0 ? o.scale : automatic_scale();
  }

  /// The scale the next solve starts from (automatic: from the power iteration).
  double scale() const noexcept { return scale_; }

  matrix<double> solve(const matrix<double>& u) {
    detail::check_rhs(u, w_.size(), "lissa_ihvp::solve");
    std::vector<ihvp_report> reps;
    matrix<double> x = detail::solve_columns<detail::collective_objective<F>>(
        u, reps, [&](const vector<double>& b, ihvp_report& r) { return one(b, r); });
    report_ = detail::worst_of(reps);
    report_.history = reps.front().history;
    report_.max_eigenvalue = lambda_max_;
    return x;
  }
  ihvp_report report() const { return report_; }

 private:
  std::vector<index_t> batch(rng& g) const {
    const index_t n = f_->sample_count(), b = std::min(o_.batch_size, n);
    std::vector<index_t> ids(static_cast<std::size_t>(b));
    for (auto& i : ids) i = static_cast<index_t>(g.below(static_cast<std::uint64_t>(n)));
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  double automatic_scale() {
    rng g = rng::stream(o_.seed, 0xA5A5);
    const index_t n = f_->sample_count();
    const F h = n <= 4 * o_.batch_size ? *f_ : f_->subset(batch(g));
    vector<double> v(w_.size());
    for (index_t i = 0; i < v.size(); ++i) v(i) = g.normal();
    v.normalize();
    double lam = 0;
    for (index_t it = 0; it < o_.power_iterations; ++it) {
      vector<double> hv = detail::damped_hvp(h, w_, v, 0.0);
      require<numerical_error>(hv.allFinite(), "lissa_ihvp: the Hessian-vector product is non-finite at w");
      lam = v.dot(hv);
      const double nrm = hv.norm();
      if (nrm == 0) break;
      v = hv / nrm;
    }
    lambda_max_ = std::abs(lam);
    return std::max(1.0, 1.5 * (lambda_max_ + o_.damping));
  }

  vector<double> one(const vector<double>& u, ihvp_report& rep) const {
    rep = {};
    const double unorm = u.norm();
    vector<double> sum = vector<double>::Zero(u.size());
    if (unorm == 0) {
      rep.converged = true;
      rep.scale = scale_;
      return sum;
    }
    double s = scale_;
    const bool full = o_.batch_size >= f_->sample_count();  // every step on the whole objective
    for (index_t rpt = 0; rpt < o_.repetitions; ++rpt) {
      for (;;) {  // one repetition, restarted with a larger scale after a divergence
        rng g = rng::stream(o_.seed, static_cast<std::uint64_t>(rpt));
        vector<double> h = u;
        bool diverged = false, stopped = false;
        index_t j = 1;
        double change = 0;
        for (; j <= o_.depth; ++j) {
          const F mb = full ? *f_ : f_->subset(batch(g));
          const vector<double> next = u + h - detail::damped_hvp(mb, w_, h, o_.damping) / s;
          const double nn = next.norm();
          if (!std::isfinite(nn) || nn > 2.0 * static_cast<double>(j + 1) * unorm) {
            diverged = true;
            break;
          }
          change = (next - h).norm() / std::max(nn, 1e-300);
          h = next;
          if (rpt == 0 && rep.history.size() < static_cast<std::size_t>(o_.depth)) rep.history.push_back(change);
          if (o_.tol > 0 && change <= o_.tol) {
            stopped = true;
            break;
          }
        }
        if (!diverged) {
          sum += h / s;
          rep.iterations = std::max(rep.iterations, std::min(j, o_.depth));
          rep.residual = std::max(rep.residual, change);
          rep.converged = rep.converged || stopped || o_.tol == 0;
          break;
        }
        require<numerical_error>(rep.rescales < o_.max_rescales, "lissa_ihvp: the recursion diverged at scale ", s,
                                 " (step ", j, " of repetition ", rpt, ") after ", rep.rescales,
                                 " tenfold rescales: mini-batch Hessians have curvature outside (−λ, 2s − λ); the loss "
                                 "is probably not convex at w — raise damping (now ",
                                 o_.damping,
                                 ") above the most negative eigenvalue, use larger batches, or use cg_ihvp");
        ++rep.rescales;
        s *= 10;
        rep.history.clear();
      }
    }
    rep.scale = s;
    return sum / static_cast<double>(o_.repetitions);
  }

  const F* f_;
  vector<scalar> w_;
  lissa_options o_;
  double scale_ = 1, lambda_max_ = 0;
  ihvp_report report_;
};

// ---- Arnoldi (Lanczos) ----------------------------------------------------------------------------

struct arnoldi_options {
  double damping = 0;
  index_t rank = 20;        ///< eigenpairs kept (the largest eigenvalues)
  index_t iterations = 60;  ///< Lanczos steps (>= rank), fully reorthogonalized
  std::uint64_t seed = 0;
};

/// Schioppa et al.'s Arnoldi influence for a symmetric H: Lanczos from a seeded random start builds
/// an orthonormal Krylov basis Q and the tridiagonal T = QᵀHQ; the `rank` largest Ritz pairs (θ, q)
/// with θ + λ > 0 give (H + λI)⁻¹ u ≈ Σ q (qᵀu) / (θ + λ) — the inverse restricted to H's dominant
/// subspace (components outside it are dropped, as in the paper; so are the other directions of a
/// repeated eigenvalue, which one Krylov sequence cannot see). Each solve is then a projection.
template <class F>
  requires twice_differentiable<F, typename F::scalar>
class arnoldi_ihvp {
 public:
  using scalar = typename F::scalar;

  arnoldi_ihvp(const F& f, const vector<scalar>& w, arnoldi_options o = {}) : damping_(o.damping) {
    constexpr const char* who = "arnoldi_ihvp";
    detail::check_point(f, w, o.damping, who);
    const index_t p = f.parameter_count();
    require(o.rank >= 1 && o.iterations >= o.rank, who, ": need 1 <= rank <= iterations, got rank ", o.rank,
            " and iterations ", o.iterations);
    const index_t m = std::min(o.iterations, p);
    matrix<double> q(p, m);
    vector<double> alpha(m), beta = vector<double>::Zero(m);
    rng g(o.seed);
    vector<double> v(p);
    for (index_t i = 0; i < p; ++i) v(i) = g.normal();
    q.col(0) = v.normalized();
    index_t n = 0;  // Krylov vectors built
    for (index_t k = 0; k < m; ++k) {
      vector<double> z = detail::damped_hvp(f, w, vector<double>(q.col(k)), 0.0);
      require<numerical_error>(z.allFinite(), who, ": the Hessian-vector product is non-finite at w");
      alpha(k) = q.col(k).dot(z);
      n = k + 1;
      // Full reorthogonalization (twice, for safety in floating point).
      for (int pass = 0; pass < 2; ++pass) z -= q.leftCols(n) * (q.leftCols(n).transpose() * z);
      if (n == m) break;
      beta(k) = z.norm();
      // An invariant subspace: the Krylov space is exhausted (H restricted to it is exact).
      if (beta(k) <= 1e-10 * std::max(std::abs(alpha(k)), 1e-300)) break;
      q.col(k + 1) = z / beta(k);
    }
    matrix<double> t = matrix<double>::Zero(n, n);
    for (index_t i = 0; i < n; ++i) {
      t(i, i) = alpha(i);
      if (i + 1 < n) t(i, i + 1) = t(i + 1, i) = beta(i);
    }
    const Eigen::SelfAdjointEigenSolver<matrix<double>> es(t);
    // Ritz values ascending: keep the largest `rank` with θ + λ > 0.
    std::vector<index_t> keep;
    for (index_t i = n - 1; i >= 0 && static_cast<index_t>(keep.size()) < o.rank; --i)
      if (es.eigenvalues()(i) + damping_ > 0) keep.push_back(i);
    require<numerical_error>(!keep.empty(), who, ": no Ritz value of H is above −damping (largest ",
                             es.eigenvalues()(n - 1), "); raise damping");
    const index_t r = static_cast<index_t>(keep.size());
    basis_.resize(p, r);
    values_.resize(r);
    for (index_t j = 0; j < r; ++j) {
      const index_t i = keep[static_cast<std::size_t>(j)];
      basis_.col(j) = q.leftCols(n) * es.eigenvectors().col(i);
      values_(j) = es.eigenvalues()(i);
    }
    report_.iterations = n;
    report_.converged = true;
    report_.max_eigenvalue = values_(0);
    report_.min_eigenvalue = values_(r - 1);
  }

  /// The kept eigenvalues of H (descending) and eigenvectors (P x rank).
  const vector<double>& eigenvalues() const noexcept { return values_; }
  const matrix<double>& eigenvectors() const noexcept { return basis_; }

  matrix<double> solve(const matrix<double>& u) {
    detail::check_rhs(u, basis_.rows(), "arnoldi_ihvp::solve");
    matrix<double> x;
    in_team([&] {  // depth-P products: the same bits for any thread count
      const matrix<double> c = basis_.transpose() * u;
      x = basis_ * ((values_.array() + damping_).inverse().matrix().asDiagonal() * c);
    });
    return x;
  }
  ihvp_report report() const { return report_; }

 private:
  double damping_ = 0;
  matrix<double> basis_;
  vector<double> values_;
  ihvp_report report_;
};

}  // namespace rnnabs
