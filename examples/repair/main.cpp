// repair — RNNRepair's repairs of text and image models: `repair <experiment> [options]`.
#include "../common/dispatch.hpp"

namespace examples {
namespace repair_text_model {
int run(int, char**);
}
namespace repair_segment {
int run(int, char**);
}
namespace repair_backdoor {
int run(int, char**);
}
namespace repair_failures {
int run(int, char**);
}
namespace repair_generate {
int run(int, char**);
}
namespace repair_retrain {
int run(int, char**);
}
}  // namespace examples

int main(int argc, char** argv) {
  return examples::dispatch(
      "repair",
      "Repair of RNN classifiers: RNNRepair's segment-level repair (§4.4), backdoor study (§B.5) and sample-level repair (§4.3)",
      {{"text-model", "the GRU text classifier vs a bag-of-words logistic regression (fortunes topics)",
        examples::repair_text_model::run},
       {"segment", "segment-level repair: guided vs random training edits, retrained, with side effects",
        examples::repair_segment::run},
       {"backdoor", "a trigger-word backdoor: automaton contexts, guided attacks, fix by removing R_x",
        examples::repair_backdoor::run},
       {"failures", "the common failures of M Fashion-MNIST LSTMs, as an image grid, and a trace picture",
        examples::repair_failures::run},
       {"generate", "repair samples for the common failures, guided by each model's abstract traces (NPZ)",
        examples::repair_generate::run},
       {"retrain", "retraining with the generated samples vs none, rotated and random-choice, with side effects",
        examples::repair_retrain::run}},
      argc, argv);
}
