// abstraction — RNNRepair's abstraction experiments on the Fashion-MNIST LSTM (E1–E6) and the Tomita
// ground truth: `abstraction <experiment> [options]`, `abstraction <experiment> --help`.
#include "../common/dispatch.hpp"

namespace examples {
namespace abstraction_sweep { int run(int, char**); }
namespace abstraction_features { int run(int, char**); }
namespace abstraction_faults { int run(int, char**); }
namespace abstraction_tomita { int run(int, char**); }
}  // namespace examples

int main(int argc, char** argv) {
  return examples::dispatch(
      "abstraction", "RNNRepair's abstraction experiments (spec §2-§4, E1-E6) and the Tomita ground truth",
      {{"sweep", "E1-E3: component sweep (BIC, stability, SimNN), refinement figure, automaton", examples::abstraction_sweep::run},
       {"features", "E4: SimNN feature ablation (label, state, state+label, P(label|state), all)", examples::abstraction_features::run},
       {"faults", "E5-E6: fault interpretation by the nearest abstract training traces", examples::abstraction_faults::run},
       {"tomita", "automata extracted from LSTMs vs the seven Tomita grammars' minimal DFAs", examples::abstraction_tomita::run}},
      argc, argv);
}
