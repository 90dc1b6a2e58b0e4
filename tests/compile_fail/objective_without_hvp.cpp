// Koh & Liang needs Hessian-vector products; a gradient-only objective is told so (TracIn is enough for it).
// expect: the type needs a const member `hessian_vector_product(w, v)` returning a vector<scalar>
#include <span>
#include <rnnabs/nn/concepts.hpp>

struct my_objective {
  using scalar = double;
  rnnabs::index_t parameter_count() const { return 2; }
  rnnabs::index_t sample_count() const { return 3; }
  rnnabs::matrix<double> per_sample_gradients(const rnnabs::vector<double>&) const {
    return rnnabs::matrix<double>::Zero(3, 2);
  }
  my_objective subset(std::span<const rnnabs::index_t>) const { return *this; }
  double loss(const rnnabs::vector<double>& w) const { return w.squaredNorm(); }
  rnnabs::vector<double> loss_gradient(const rnnabs::vector<double>& w) const { return 2 * w; }
#ifndef RNNABS_SHOULD_FAIL
  rnnabs::vector<double> hessian_vector_product(const rnnabs::vector<double>&, const rnnabs::vector<double>& v) const {
    return 2 * v;
  }
#endif
};
static_assert(rnnabs::check_gradient_objective<my_objective>());  // enough for TracIn either way
static_assert(rnnabs::check_sample_objective<my_objective>());
int main() {}
