#pragma once
// Everything CPU-side, layer by layer (link rnnabs::zip: io/ and the save/load of fitted objects
// need zlib + minizip). The GPU side is rnnabs/cuda.hpp (nvcc, rnnabs::cuda).
#include "rnnabs/core.hpp"
#include "rnnabs/data.hpp"
#include "rnnabs/io.hpp"
#include "rnnabs/nn.hpp"
#include "rnnabs/stats.hpp"
#include "rnnabs/abstraction.hpp"
#include "rnnabs/explain.hpp"
#include "rnnabs/influence.hpp"
#include "rnnabs/repair.hpp"
#include "rnnabs/version.hpp"
