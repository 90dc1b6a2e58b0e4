// An objective without per-sample gradients cannot feed gradient-based influence (TracIn).
// expect: the type needs a const member `per_sample_gradients(w)` returning a matrix<scalar>
#include <span>
#include <rnnabs/nn/concepts.hpp>

struct my_objective {
  using scalar = double;
  rnnabs::index_t parameter_count() const { return 2; }
  rnnabs::index_t sample_count() const { return 3; }
#ifndef RNNABS_SHOULD_FAIL
  rnnabs::matrix<double> per_sample_gradients(const rnnabs::vector<double>&) const {
    return rnnabs::matrix<double>::Zero(3, 2);
  }
#endif
  my_objective subset(std::span<const rnnabs::index_t>) const { return *this; }
};
static_assert(rnnabs::check_gradient_objective<my_objective>());
int main() {}
