#pragma once
// repair/: RNNRepair's repairs over the abstract model — segment-level repair of text models
// (fault point, candidates from the automaton, longest matching segment, token insertion, the
// retraining protocol with its side effects) and the backdoor study (poisoning, trigger contexts,
// guided placement, the fix by removing influential samples); the image mutators of sample-level
// repair (DeepHunter's nine transformations and its constrained mutation) and its data generation.
#include "rnnabs/repair/backdoor.hpp"
#include "rnnabs/repair/edits.hpp"
#include "rnnabs/repair/image_ops.hpp"
#include "rnnabs/repair/mutators.hpp"
#include "rnnabs/repair/outcome.hpp"
#include "rnnabs/repair/paths.hpp"
#include "rnnabs/repair/sample_generation.hpp"
#include "rnnabs/repair/segment.hpp"
#include "rnnabs/repair/segment_study.hpp"
