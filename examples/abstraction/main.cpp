// abstraction — RNNRepair's abstraction experiments on the Fashion-MNIST LSTM and the Tomita
// ground truth: `abstraction <experiment> [options]`, `abstraction <experiment> --help`.
#include "../common/dispatch.hpp"

namespace examples {
namespace abstraction_sweep {
int run(int, char**);
}
namespace abstraction_features {
int run(int, char**);
}
namespace abstraction_faults {
int run(int, char**);
}
namespace abstraction_tomita {
int run(int, char**);
}
namespace abstraction_dist_sweep {
int run(int, char**);
}
}  // namespace examples

int main(int argc, char** argv) {
  return examples::dispatch(
      "abstraction", "RNNRepair's abstraction experiments (Xie et al., ICML 2021) and the Tomita ground truth",
      {{"sweep", "component sweep (BIC, stability, SimNN), refinement figure, automaton",
        examples::abstraction_sweep::run},
       {"features", "SimNN feature ablation (label, state, state+label, P(label|state), all)",
        examples::abstraction_features::run},
       {"faults", "fault interpretation by the nearest abstract training traces", examples::abstraction_faults::run},
       {"tomita", "automata extracted from LSTMs vs the seven Tomita grammars' minimal DFAs",
        examples::abstraction_tomita::run},
       {"dist-sweep", "BIC sweep and automaton on traces sharded across MPI ranks (mpirun -np N)",
        examples::abstraction_dist_sweep::run}},
      argc, argv);
}
