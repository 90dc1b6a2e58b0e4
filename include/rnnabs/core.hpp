#pragma once
// core/: errors, shapes, concepts, seeded RNG, deterministic threading, xtensor <-> Eigen views.
#include "rnnabs/core/concepts.hpp"
#include "rnnabs/core/error.hpp"
#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/tensor_bridge.hpp"
#include "rnnabs/core/traces.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/core/validate.hpp"
