// A recurrent cell without backward: the concept asks for both pointwise templates.
// expect: the type needs `template <class S> static void forward(xg, hg, prev, next, cache)` and `backward(cache, prev, dnext, dxg, dhg, dprev)`
#include <array>
#include <string_view>
#include <rnnabs/nn/concepts.hpp>

struct my_cell {
  static constexpr rnnabs::index_t gates = 1, states = 1, cache_size = 1;
  static constexpr std::string_view name() { return "mine"; }
  template <class S>
  static void forward(const std::array<S, 1>& xg, const std::array<S, 1>& hg, const std::array<S, 1>&,
                      std::array<S, 1>& next, std::array<S, 1>& cache) {
    next[0] = xg[0] + hg[0];
    cache[0] = next[0];
  }
#ifndef RNNABS_SHOULD_FAIL
  template <class S>
  static void backward(const std::array<S, 1>&, const std::array<S, 1>&, const std::array<S, 1>& dnext,
                       std::array<S, 1>& dxg, std::array<S, 1>& dhg, std::array<S, 1>& dprev) {
    dxg[0] = dnext[0];
    dhg[0] = dnext[0];
    dprev[0] = S(0);
  }
#endif
};
static_assert(rnnabs::check_recurrent_cell<my_cell>());
int main() {}
