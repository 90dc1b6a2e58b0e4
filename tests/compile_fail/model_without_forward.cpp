// profile() on a model type without forward(batch, record): the concept names the member.
// expect: the model needs a const member `forward(const sequence_batch<T>& batch, bool record)`
#include <vector>
#include <rnnabs/nn/profile.hpp>

struct my_output {
  std::vector<rnnabs::matrix<float>> hidden, step_probabilities;
  std::vector<rnnabs::index_vector> step_predictions;
  rnnabs::index_vector predictions;
};
struct my_model {
#ifdef RNNABS_SHOULD_FAIL
  my_output run(const rnnabs::sequence_batch<float>&) const { return {}; }
#else
  my_output forward(const rnnabs::sequence_batch<float>&, bool) const { return {}; }
#endif
};

int main() {
  rnnabs::sequence_batch<float> b;
  auto tr = rnnabs::profile(my_model{}, b);
  (void)tr;
}
