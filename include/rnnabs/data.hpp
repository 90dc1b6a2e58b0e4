#pragma once
// data/: real data sets behind loaders that read local files only (no downloads).
// Needs rnnabs::zip (the IDX files are gzip-compressed).
#include "rnnabs/data/fashion_mnist.hpp"
#include "rnnabs/data/fortunes.hpp"
#include "rnnabs/data/split.hpp"
#include "rnnabs/data/text.hpp"
