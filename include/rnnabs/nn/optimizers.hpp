#pragma once
// First-order optimizers as policies, with PyTorch's update rules (torch.optim.SGD, Adam, RMSprop),
// so hyper-parameters carry over. Each holds its hyper-parameters and its own state (sized on the
// first step) and updates a flat parameter vector in place: `opt.step(theta, gradient, lr)`.
// State is kept in double whatever the parameter type.
#include <cmath>
#include <concepts>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"

namespace rnnabs {

/// What train() needs of an optimizer: a base learning rate and an in-place step.
template <class O, class T = float>
concept optimizer = requires(O o, vector<T>& theta, const vector<T>& g) {
  { o.lr } -> std::convertible_to<double>;
  o.step(theta, g, 0.1);
};

/// static_assert(check_optimizer<O, T>()) says what is missing.
template <class O, class T>
consteval bool check_optimizer() {
  // clang-format off
  static_assert(requires(O o) {
    { o.lr } -> std::convertible_to<double>;
  }, "rnnabs::optimizer: the type needs a member `double lr` (the base learning rate)");
  static_assert(requires(O o, vector<T>& theta, const vector<T>& g) { o.step(theta, g, 0.1); },
                "rnnabs::optimizer: the type needs a member `step(vector<T>& theta, const vector<T>& gradient, double "
                "rate)` updating theta in place");
  // clang-format on
  return optimizer<O, T>;
}

namespace detail {
template <class T>
void check_step(const vector<T>& theta, const vector<T>& g, Eigen::VectorXd& state, const char* who) {
  require(theta.size() == g.size(), who, ": gradient has ", g.size(), " entries for ", theta.size(), " parameters");
  if (state.size() != theta.size()) state = Eigen::VectorXd::Zero(theta.size());
}
}  // namespace detail

/// SGD with optional (Nesterov) momentum and L2 weight decay: b = μ b + g (b = g at the first step),
/// θ −= lr (g + μ b if Nesterov else b).
struct sgd {
  double lr = 0.01;
  double momentum = 0;
  double weight_decay = 0;
  bool nesterov = false;

  template <class T>
  void step(vector<T>& theta, const vector<T>& grad, double rate) {
    detail::check_step(theta, grad, state.buf, "sgd::step");
    for (index_t i = 0; i < theta.size(); ++i) {
      double g = static_cast<double>(grad(i)) + weight_decay * static_cast<double>(theta(i));
      if (momentum != 0) {
        state.buf(i) = state.steps ? momentum * state.buf(i) + g : g;
        g = nesterov ? g + momentum * state.buf(i) : state.buf(i);
      }
      theta(i) = static_cast<T>(static_cast<double>(theta(i)) - rate * g);
    }
    ++state.steps;
  }

  struct {
    Eigen::VectorXd buf{};  // momentum buffer
    long steps = 0;
  } state{};  // running state, sized on the first step
};

/// Adam (Kingma & Ba) with bias correction, as torch.optim.Adam (L2 weight decay added to g).
struct adam {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;

  template <class T>
  void step(vector<T>& theta, const vector<T>& grad, double rate) {
    detail::check_step(theta, grad, state.m, "adam::step");
    auto& m_ = state.m;
    auto& v_ = state.v;
    if (v_.size() != theta.size()) v_ = Eigen::VectorXd::Zero(theta.size());
    const long t = ++state.steps;
    const double c1 = 1 - std::pow(beta1, static_cast<double>(t)), c2 = 1 - std::pow(beta2, static_cast<double>(t));
    const double step_size = rate / c1, root_c2 = std::sqrt(c2);
    for (index_t i = 0; i < theta.size(); ++i) {
      const double g = static_cast<double>(grad(i)) + weight_decay * static_cast<double>(theta(i));
      m_(i) = beta1 * m_(i) + (1 - beta1) * g;
      v_(i) = beta2 * v_(i) + (1 - beta2) * g * g;
      theta(i) = static_cast<T>(static_cast<double>(theta(i)) - step_size * m_(i) / (std::sqrt(v_(i)) / root_c2 + eps));
    }
  }

  struct {
    Eigen::VectorXd m{}, v{};  // first and second moments
    long steps = 0;
  } state{};  // running state, sized on the first step
};

/// RMSprop as torch.optim.RMSprop: v = α v + (1 − α) g², θ −= lr g / (√v + ε) (with momentum:
/// b = μ b + g / (√v + ε), θ −= lr b).
struct rmsprop {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double momentum = 0;
  double weight_decay = 0;

  template <class T>
  void step(vector<T>& theta, const vector<T>& grad, double rate) {
    detail::check_step(theta, grad, state.v, "rmsprop::step");
    auto& v_ = state.v;
    auto& buf_ = state.buf;
    if (momentum != 0 && buf_.size() != theta.size()) buf_ = Eigen::VectorXd::Zero(theta.size());
    for (index_t i = 0; i < theta.size(); ++i) {
      const double g = static_cast<double>(grad(i)) + weight_decay * static_cast<double>(theta(i));
      v_(i) = alpha * v_(i) + (1 - alpha) * g * g;
      double u = g / (std::sqrt(v_(i)) + eps);
      if (momentum != 0) u = buf_(i) = momentum * buf_(i) + u;
      theta(i) = static_cast<T>(static_cast<double>(theta(i)) - rate * u);
    }
  }

  struct {
    Eigen::VectorXd v{}, buf{};  // mean square and momentum buffer
  } state{};                     // running state, sized on the first step
};

/// Learning-rate schedules: factors of the base rate by epoch (0-based), for train_options::lr_schedule.
inline auto step_decay(long every, double gamma) {
  return [every, gamma](long epoch) { return std::pow(gamma, static_cast<double>(epoch / every)); };
}
inline auto cosine_decay(long epochs, double floor = 0) {
  return [epochs, floor](long epoch) {
    const double x = static_cast<double>(epoch) / static_cast<double>(std::max(1L, epochs));
    return floor + (1 - floor) * 0.5 * (1 + std::cos(3.14159265358979323846 * x));
  };
}

static_assert(check_optimizer<sgd, float>() && check_optimizer<adam, double>() && check_optimizer<rmsprop, float>());

}  // namespace rnnabs
