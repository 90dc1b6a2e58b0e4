// repair — RNNRepair's repairs of a text model: `repair <experiment> [options]`.
#include "../common/dispatch.hpp"

namespace examples {
namespace repair_text_model { int run(int, char**); }
namespace repair_segment { int run(int, char**); }
namespace repair_backdoor { int run(int, char**); }
}  // namespace examples

int main(int argc, char** argv) {
  return examples::dispatch(
      "repair", "Repair of RNN text classifiers: RNNRepair's segment-level repair (spec §6.4) and backdoor study (§6.5)",
      {{"text-model", "the GRU text classifier vs a bag-of-words logistic regression (fortunes topics)",
        examples::repair_text_model::run},
       {"segment", "segment-level repair: guided vs random training edits, retrained, with side effects",
        examples::repair_segment::run},
       {"backdoor", "a trigger-word backdoor: automaton contexts, guided attacks, fix by removing R_x",
        examples::repair_backdoor::run}},
      argc, argv);
}
