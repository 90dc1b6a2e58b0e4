// A partitioner without n_clusters(): the concept says which member is missing.
// expect: the type needs a const member `n_clusters()` returning an index_t
#include <rnnabs/abstraction/abstraction.hpp>

struct sign_partitioner {
  template <class D>
  void fit(const Eigen::MatrixBase<D>&) {}
  template <class D>
  rnnabs::index_vector predict(const Eigen::MatrixBase<D>& z) const {
    return (z.col(0).array() > 0).template cast<rnnabs::index_t>();
  }
#ifndef RNNABS_SHOULD_FAIL
  rnnabs::index_t n_clusters() const { return 2; }
#endif
};

int main() {
  rnnabs::traces<float> tr;
  rnnabs::abstraction<rnnabs::identity_reducer, sign_partitioner> abs;
  abs.fit(tr);
}
