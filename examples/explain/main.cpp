// explain — explaining single predictions (LEMNA, DMM, DMM-MEN): `explain <experiment> [options]`.
#include "../common/dispatch.hpp"

namespace examples {
namespace explain_lemna {
int run(int, char**);
}
namespace explain_dmm {
int run(int, char**);
}
namespace explain_dmm_men {
int run(int, char**);
}
}  // namespace examples

int main(int argc, char** argv) {
  return examples::dispatch(
      "explain", "Explaining single predictions: LEMNA (CCS 2018), DMM and DMM-MEN (NeurIPS 2018)",
      {{"lemna", "LEMNA on a BiRNN finding function starts in libc.a: fidelity tests, patching",
        examples::explain_lemna::run},
       {"dmm", "DMM explaining a tabular classifier: fidelity vs LIME and random", examples::explain_dmm::run},
       {"dmm-men", "DMM-MEN on a Fashion-MNIST classifier: heatmaps, bootstrapped fidelity",
        examples::explain_dmm_men::run}},
      argc, argv);
}
