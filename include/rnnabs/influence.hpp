#pragma once
// influence/: which training samples made the model do this? Inverse-HVP solvers (explicit, CG,
// LiSSA, Arnoldi), Koh & Liang influence, SGD-influence over a recorded trajectory, TracIn /
// TracInCP / gradient similarity, RNNRepair's automaton-based influence, and the metrics that judge
// them. Every method works on any sample_objective (nn/concepts.hpp): the library's RNNs through
// batch_objective, softmax_regression_objective, or a user's own.
#include "rnnabs/influence/automaton_influence.hpp"
#include "rnnabs/influence/gradients.hpp"
#include "rnnabs/influence/ihvp.hpp"
#include "rnnabs/influence/koh_liang.hpp"
#include "rnnabs/influence/metrics.hpp"
#include "rnnabs/influence/sgd_influence.hpp"
#include "rnnabs/influence/sharded.hpp"
#include "rnnabs/influence/tracin.hpp"
#include "rnnabs/nn/softmax_regression.hpp"
