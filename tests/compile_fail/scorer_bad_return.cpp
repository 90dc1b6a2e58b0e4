// A black-box scorer that returns one string per input instead of scores.
// expect: `f(batch)` must return one score per item as an Eigen vector or a std::vector<float/double>
#include <string>
#include <vector>
#include <rnnabs/explain/scorer.hpp>

int main() {
#ifdef RNNABS_SHOULD_FAIL
  auto scorer = [](const rnnabs::matrix<float>& x) { return std::vector<std::string>(x.rows()); };
#else
  auto scorer = [](const rnnabs::matrix<float>& x) { return std::vector<double>(x.rows()); };
#endif
  static_assert(rnnabs::check_black_box_scorer<decltype(scorer), rnnabs::matrix<float>>());
}
