#pragma once
// nn/: recurrent cells (LSTM, GRU, Elman tanh/ReLU, or your own recurrent_cell), the sequence
// classifier (embedding -> (bi)RNN stack -> dense head), losses, and exact derivatives: BPTT
// gradients, per-sample gradients, input gradients and Hessian-vector products; training
// (optimizers, dropout, schedules, checkpoints) and profiling of traces.
#include "rnnabs/nn/cells.hpp"
#include "rnnabs/nn/concepts.hpp"
#include "rnnabs/nn/dual.hpp"
#include "rnnabs/nn/keras.hpp"
#include "rnnabs/nn/model_concepts.hpp"
#include "rnnabs/nn/loss.hpp"
#include "rnnabs/nn/optimizers.hpp"
#include "rnnabs/nn/parameters.hpp"
#include "rnnabs/nn/profile.hpp"
#include "rnnabs/nn/rnn_classifier.hpp"
#include "rnnabs/nn/rnn_config.hpp"
#include "rnnabs/nn/sequence_batch.hpp"
#include "rnnabs/nn/softmax_regression.hpp"
#include "rnnabs/nn/text_sequences.hpp"
#include "rnnabs/nn/train.hpp"
