#pragma once
// data/: real data sets behind loaders that read local files only (no downloads).
// The IDX loaders (data/fashion_mnist.hpp) need rnnabs::zip and are left out without it.
#if defined(RNNABS_HAVE_ZIP)
#include "rnnabs/data/fashion_mnist.hpp"
#endif
#include "rnnabs/data/fortunes.hpp"
#include "rnnabs/data/function_starts.hpp"
#include "rnnabs/data/labelled_images.hpp"
#include "rnnabs/data/split.hpp"
#include "rnnabs/data/text.hpp"
