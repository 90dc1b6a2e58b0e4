// Quickstart 1: your own abstraction stages on hidden states from elsewhere.
// The hidden states stand in for any framework's RNN reading 0/1 strings (export yours as a padded
// n x t_max x width array): a unit that flips sign on every 1, seen through 8 noisy coordinates.
// A random-projection reducer and a sign-pattern partitioner of our own are plugged into rnnabs's
// abstraction; the automaton read off it is turned into a DFA and checked on fresh strings.
#include <cstdio>
#include <vector>
#include <rnnabs/abstraction/dfa.hpp>
#include <rnnabs/abstraction/model.hpp>
#include <rnnabs/core/rng.hpp>

using rnnabs::index_t;

struct random_projection {  // a dimension_reducer: k fixed Gaussian directions
  index_t k = 3;
  rnnabs::matrix<double> r;
  template <class D>
  void fit(const Eigen::MatrixBase<D>& x) {
    rnnabs::rng g(1);
    r.resize(x.cols(), k);
    for (index_t i = 0; i < r.size(); ++i) r.data()[i] = g.normal();
  }
  template <class D>  // a template on the scalar: float and double hidden states both work
  rnnabs::matrix<typename D::Scalar> transform(const Eigen::MatrixBase<D>& x) const {
    return x * r.cast<typename D::Scalar>();
  }
  index_t n_components() const { return k; }
};

struct sign_pattern {  // a state_partitioner: the signs of the first two coordinates, 4 clusters
  template <class D>
  void fit(const Eigen::MatrixBase<D>&) {}
  template <class D>
  rnnabs::index_vector predict(const Eigen::MatrixBase<D>& z) const {
    return (z.col(0).array() > 0).template cast<index_t>() * 2 + (z.col(1).array() > 0).template cast<index_t>();
  }
  index_t n_clusters() const { return 4; }
};

// n strings of 1..12 bits: hidden states (padded), lengths, per-step labels (parity so far), bits.
struct strings {
  std::vector<float> hidden;
  std::vector<index_t> lengths, labels;
  std::vector<rnnabs::index_vector> bits;  // the inputs
};
strings make_strings(index_t n, index_t t_max, index_t width, std::uint64_t seed) {
  rnnabs::rng g(seed), dir(99);
  std::vector<float> v(width);
  for (auto& c : v) c = static_cast<float>(dir.normal());
  strings s{std::vector<float>(n * t_max * width, 0.0f), {}, std::vector<index_t>(n * t_max, 0), {}};
  for (index_t i = 0; i < n; ++i) {
    const auto len = 1 + static_cast<index_t>(g.below(t_max));
    s.lengths.push_back(len), s.bits.emplace_back(len);
    float h = 1;
    for (index_t t = 0; t < len; ++t) {
      if ((s.bits.back()(t) = static_cast<index_t>(g.below(2))) == 1) h = -h;  // the "RNN": flips on every 1
      s.labels[i * t_max + t] = h < 0 ? 1 : 0;
      for (index_t j = 0; j < width; ++j)
        s.hidden[(i * t_max + t) * width + j] = h * v[j] + 0.2f * static_cast<float>(g.normal());
    }
  }
  return s;
}

int main() {
  const index_t n = 400, t_max = 12, width = 8;
  const strings s = make_strings(n, t_max, width, 7);
  auto tr = rnnabs::traces_from_padded<float>(s.hidden, n, t_max, width, s.lengths, s.labels, /*num_classes=*/2);
  tr.tokens = s.bits;  // the inputs, so that the automaton's transitions carry them
  const auto model = rnnabs::build_abstraction(tr, rnnabs::abstraction(random_projection{}, sign_pattern{}));
  std::printf("abstraction: %ld clusters + the initial state; purity %.3f\n", long(model.abstraction.n_real_states()),
              model.abstraction.stability().weighted_mean);
  const auto dfa = rnnabs::extract_dfa(model.automaton, model.abstraction.label_distribution());
  const strings fresh = make_strings(1000, 20, width, 8);  // longer strings than in training
  index_t right = 0;                                       // the DFA's output vs the parity of the whole string
  for (std::size_t i = 0; i < fresh.bits.size(); ++i)
    right += dfa.classify(fresh.bits[i]) == fresh.labels[i * 20 + static_cast<std::size_t>(fresh.lengths[i]) - 1];
  std::printf("extracted DFA: %ld states, parity of 1000 fresh strings right: %ld\n", long(dfa.n_states()),
              long(right));
  return right >= 990 ? 0 : 1;
}
