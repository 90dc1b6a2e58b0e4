// A partitioner whose predict takes matrix<double>, fed float states.
// expect: the partitioner is written for another scalar than the reduced states
#include <rnnabs/core/concepts.hpp>

struct double_partitioner {
  template <class D>
  void fit(const Eigen::MatrixBase<D>&) {}
  rnnabs::index_vector predict(const rnnabs::matrix<double>& z) const { return rnnabs::index_vector::Zero(z.rows()); }
  rnnabs::index_t n_clusters() const { return 1; }
};

#ifdef RNNABS_SHOULD_FAIL
static_assert(rnnabs::check_state_partitioner<double_partitioner, float>());
#else
static_assert(rnnabs::check_state_partitioner<double_partitioner, double>());
#endif
int main() {}
