// influence — which training samples made the model do this: `influence <experiment> [options]`.
#include "../common/dispatch.hpp"

namespace examples {
namespace influence_label_flip {
int run(int, char**);
}
namespace influence_loo {
int run(int, char**);
}
namespace influence_dist_scores {
int run(int, char**);
}
}  // namespace examples

int main(int argc, char** argv) {
  return examples::dispatch(
      "influence", "Influence analysis: RNNRepair's data-cleaning experiment (RQ3) and leave-one-out validation",
      {{"label-flip", "RQ3: find flipped labels by influence, restore them, retrain (Fashion-MNIST)",
        examples::influence_label_flip::run},
       {"loo", "influence estimates vs actual leave-one-out retraining (Pearson / Spearman)",
        examples::influence_loo::run},
       {"dist-scores", "Koh & Liang and TracIn with the training set sharded across MPI ranks (mpirun -np N)",
        examples::influence_dist_scores::run}},
      argc, argv);
}
