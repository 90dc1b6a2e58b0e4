#pragma once
// explain/: LEMNA (fused-lasso mixture regression), DMM / DMM-MEN (Dirichlet-process mixture
// regression), the fidelity tests and explanation-guided patching, over any black_box_scorer.
#include "rnnabs/explain/dmm.hpp"
#include "rnnabs/explain/fidelity.hpp"
#include "rnnabs/explain/fused_lasso.hpp"
#include "rnnabs/explain/lemna.hpp"
#include "rnnabs/explain/perturbation.hpp"
#include "rnnabs/explain/relabel.hpp"
#include "rnnabs/explain/scorer.hpp"
#include "rnnabs/explain/tv_prox.hpp"
