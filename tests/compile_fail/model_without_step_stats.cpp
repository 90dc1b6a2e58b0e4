// train() on a model without step_stats: the trainable_model concept says what to add.
// expect: the model needs a nested `struct step_stats { double loss; index_t correct, total; }`
#include <cstdint>
#include <string_view>
#include <vector>
#include <rnnabs/nn/optimizers.hpp>
#include <rnnabs/nn/train.hpp>

struct my_output {
  std::vector<rnnabs::matrix<float>> hidden, step_probabilities;
  std::vector<rnnabs::index_vector> step_predictions;
  rnnabs::index_vector predictions;
};
struct my_model {
  using scalar = float;
#ifndef RNNABS_SHOULD_FAIL
  struct step_stats {
    double loss = 0;
    rnnabs::index_t correct = 0, total = 0;
  };
#endif
  my_output forward(const rnnabs::sequence_batch<float>&, bool) const { return {}; }
  double loss(const rnnabs::sequence_batch<float>&) const { return 0; }
  rnnabs::vector<float> parameters() const { return theta; }
  void set_parameters(const rnnabs::vector<float>& t) { theta = t; }
  template <class Stats>
  rnnabs::vector<float> train_gradient(const rnnabs::sequence_batch<float>&, std::uint64_t, Stats*) const {
    return theta;
  }
  void validate(const rnnabs::sequence_batch<float>&, bool, std::string_view) const {}
  rnnabs::vector<float> theta = rnnabs::vector<float>::Zero(2);
};

int main() {
  my_model m;
  rnnabs::sequence_batch<float> b;
  rnnabs::train(m, b, rnnabs::sgd{0.1}, rnnabs::train_options{});
}
