// A reducer written for double, used on float traces: the concept names the scalar mismatch.
// expect: the reducer is written for another scalar than the hidden states
#include <rnnabs/abstraction/abstraction.hpp>

struct double_reducer {
  void fit(const rnnabs::matrix<double>& x) { cols = x.cols(); }
  rnnabs::matrix<double> transform(const rnnabs::matrix<double>& x) const { return x; }
  rnnabs::index_t n_components() const { return cols; }
  rnnabs::index_t cols = 0;
};

int main() {
#ifdef RNNABS_SHOULD_FAIL
  rnnabs::traces<float> tr;
#else
  rnnabs::traces<double> tr;
#endif
  rnnabs::abstraction<double_reducer, rnnabs::kmeans> abs;
  abs.fit(tr);
}
