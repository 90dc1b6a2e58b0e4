#pragma once
// The CUDA backend of rnnabs (compile with nvcc; CMake target rnnabs::cuda). See docs/cuda.md.
//   backend   one entry point per routine, CPU or GPU by a backend argument (fit(pca&), loss_gradient, ...)
//   runtime   device queries, RAII buffers / streams / events, cuBLAS, cuSOLVER, cuRAND, cuDNN handles
//   gmm       Gaussian-mixture EM on the device (cuda::fit(gaussian_mixture&, X, backend))
//   pca       PCA by cuBLAS SYRK + cuSOLVER syevd (cuda::pca_fit)
//   cudnn_rnn LSTM/GRU classifiers through cuDNN's RNN API (forward, backward data/weights, SGD step)
//   rnn_engine our own LSTM/GRU kernels: exact Hessian-vector products, recorded hidden states
//   influence per-sample gradient dot products (TracIn) and random projections
#include "rnnabs/cuda/backend.cuh"
#include "rnnabs/cuda/blas.cuh"
#include "rnnabs/cuda/cells.cuh"
#include "rnnabs/cuda/cudnn_rnn.cuh"
#include "rnnabs/cuda/error.cuh"
#include "rnnabs/cuda/gmm.cuh"
#include "rnnabs/cuda/gmm_engine.cuh"
#include "rnnabs/cuda/influence.cuh"
#include "rnnabs/cuda/kmeans.cuh"
#include "rnnabs/cuda/pca.cuh"
#include "rnnabs/cuda/points.cuh"
#include "rnnabs/cuda/rnn_engine.cuh"
#include "rnnabs/cuda/rnn_layout.hpp"
#include "rnnabs/cuda/runtime.cuh"
