#pragma once
// abstraction/: RNNRepair's abstract model — states, the automaton with its transition -> training
// sample index, SimNN fidelity, fault interpretation, DFA extraction. Export and save/load of the
// automaton need rnnabs::zip.
#include "rnnabs/abstraction/abstraction.hpp"
#include "rnnabs/abstraction/automaton.hpp"
#include "rnnabs/abstraction/dfa.hpp"
#include "rnnabs/abstraction/export.hpp"
#include "rnnabs/abstraction/fault.hpp"
#include "rnnabs/abstraction/features.hpp"
#include "rnnabs/abstraction/fidelity.hpp"
#include "rnnabs/abstraction/model.hpp"
#include "rnnabs/abstraction/simnn.hpp"
