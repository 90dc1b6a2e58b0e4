// transform returns a std::vector: the concept asks for an Eigen matrix of the input's scalar.
// expect: `transform(X)` must return an Eigen matrix of the input's scalar T
#include <vector>
#include <rnnabs/core/concepts.hpp>

struct my_reducer {
  template <class D>
  void fit(const Eigen::MatrixBase<D>&) {}
  template <class D>
#ifdef RNNABS_SHOULD_FAIL
  std::vector<double> transform(const Eigen::MatrixBase<D>& x) const {
    return std::vector<double>(x.size());
  }
#else
  rnnabs::matrix<typename D::Scalar> transform(const Eigen::MatrixBase<D>& x) const {
    return x;
  }
#endif
  rnnabs::index_t n_components() const { return 1; }
};
static_assert(rnnabs::check_dimension_reducer<my_reducer, float>());
int main() {}
