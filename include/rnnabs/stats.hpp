#pragma once
// stats/: PCA, k-means, Gaussian mixtures fitted by EM, and the component / covariance sweep.
#include "rnnabs/stats/gmm.hpp"
#include "rnnabs/stats/kmeans.hpp"
#include "rnnabs/stats/model_selection.hpp"
#include "rnnabs/stats/pca.hpp"
