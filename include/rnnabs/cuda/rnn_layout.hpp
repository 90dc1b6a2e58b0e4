#pragma once
// The mapping between cuDNN's packed RNN weight space and the CPU/PyTorch flat parameter layout of
// rnn_classifier (state_dict order, see nn/rnn_config.hpp). Host-only: no CUDA header needed.
//
// cuDNN (v8/v9 RNN API, CUDNN_RNN_DOUBLE_BIAS, CUDNN_LINEAR_INPUT) keeps, for each pseudo-layer
// pl = layer·directions + direction, 2G "linear layers" (G = 4 for LSTM, 3 for GRU), each a matrix
// and a bias vector whose addresses cudnnGetRNNWeightParams(pl, linLayerID) returns:
//   linLayerID g      (0 <= g < G): the input matrix of gate g, H × in (in = input_size at layer 0,
//                                   H·directions above), and the input bias b_ih of gate g (H);
//   linLayerID G + g:               the recurrent matrix of gate g, H × H, and b_hh of gate g (H).
// cuDNN's gate order equals PyTorch's: LSTM (i, f, g, o) — input, forget, new memory (cell), output;
// GRU (r, z, n) — reset, update, new memory, with the reset gate applied after the recurrent
// projection (h̃ = tanh(W_n x + b_in + r ⊙ (R_n h + b_hn))), exactly PyTorch's GRU. Each matrix is
// stored as H contiguous rows of `in` values, i.e. the same element order as the H-row slice
// [g·H, (g+1)·H) of PyTorch's weight_ih / weight_hh (row-major). So every gate's block moves as one
// contiguous copy:
//   weight_ih_l{l}[_reverse] rows g·H…g·H+H−1  <->  matrix of (pl, g)
//   weight_hh_l{l}[_reverse] rows g·H…g·H+H−1  <->  matrix of (pl, G + g)
//   bias_ih_l{l}[_reverse][g·H, g·H+H)         <->  bias of (pl, g)
//   bias_hh_l{l}[_reverse][g·H, g·H+H)         <->  bias of (pl, G + g)
// The head (fc.weight, fc.bias) and an embedding are not part of cuDNN's weight space.
//
// Where those blocks sit inside the weight space is cuDNN's business: on a device the addresses
// come from cudnnGetRNNWeightParams (cuda/rnn.cuh). canonical_cudnn_addresses() is the layout
// cuDNN is known to use — per pseudo-layer, the 2G matrices in linLayerID order, then the 2G
// biases — used by the host tests and checked against the queried addresses by the GPU tests.
#include <algorithm>
#include <string>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/parameters.hpp"
#include "rnnabs/nn/rnn_config.hpp"

namespace rnnabs::cuda {

/// Where the matrix and the bias of one (pseudo-layer, linLayerID) live in cuDNN's weight space
/// (offsets and sizes in elements).
struct cudnn_param_address {
  index_t pseudo_layer = 0, lin_id = 0;
  index_t matrix_offset = 0, matrix_rows = 0, matrix_cols = 0;
  index_t bias_offset = 0, bias_size = 0;
  friend bool operator==(const cudnn_param_address&, const cudnn_param_address&) = default;
};

/// One contiguous block of parameters: `size` values at `flat` in the flat layout and at `packed` in
/// cuDNN's weight space; `name` says which tensor and gate.
struct weight_segment {
  index_t flat = 0, packed = 0, size = 0;
  std::string name;
};

/// The whole correspondence for one rnn_config: every recurrent parameter in exactly one segment.
struct cudnn_weight_map {
  index_t packed_size = 0;  // elements of the weight space
  index_t flat_size = 0;    // parameters of the flat layout (head and embedding included)
  std::vector<weight_segment> segments;

  /// Flat (PyTorch) -> packed (cuDNN); packed entries no segment covers are left as they are.
  template <class T>
  void to_packed(const T* flat, T* packed) const {
    for (const auto& s : segments) std::copy(flat + s.flat, flat + s.flat + s.size, packed + s.packed);
  }
  /// Packed (cuDNN) -> flat (PyTorch); only the recurrent entries of `flat` are written.
  template <class T>
  void to_flat(const T* packed, T* flat) const {
    for (const auto& s : segments) std::copy(packed + s.packed, packed + s.packed + s.size, flat + s.flat);
  }
};

/// Pseudo-layers of a config: num_layers · directions.
inline index_t pseudo_layers(const rnn_config& c) noexcept { return c.num_layers * c.directions(); }

/// Gate-matrix shape of (pseudo-layer, linLayerID): H × in for input matrices, H × H for recurrent ones.
inline std::pair<index_t, index_t> cudnn_matrix_shape(const rnn_config& c, index_t gates, index_t pl, index_t id) {
  const index_t layer = pl / c.directions();
  const index_t in = layer == 0 ? c.input_size : c.output_size();
  return {c.hidden_size, id < gates ? in : c.hidden_size};
}

/// cuDNN's canonical packed layout: per pseudo-layer the 2G matrices (linLayerID order), then the 2G biases.
inline std::vector<cudnn_param_address> canonical_cudnn_addresses(const rnn_config& c, index_t gates) {
  std::vector<cudnn_param_address> out;
  index_t off = 0;
  for (index_t pl = 0; pl < pseudo_layers(c); ++pl) {
    const std::size_t first = out.size();
    for (index_t id = 0; id < 2 * gates; ++id) {
      const auto [r, cc] = cudnn_matrix_shape(c, gates, pl, id);
      cudnn_param_address a;
      a.pseudo_layer = pl;
      a.lin_id = id;
      a.matrix_offset = off;
      a.matrix_rows = r;
      a.matrix_cols = cc;
      off += r * cc;
      out.push_back(a);
    }
    for (index_t id = 0; id < 2 * gates; ++id) {
      auto& a = out[first + static_cast<std::size_t>(id)];
      a.bias_offset = off;
      a.bias_size = c.hidden_size;
      off += c.hidden_size;
    }
  }
  return out;
}

/// Elements of the canonical weight space.
inline index_t canonical_cudnn_size(const rnn_config& c, index_t gates) {
  index_t n = 0;
  for (const auto& a : canonical_cudnn_addresses(c, gates)) n += a.matrix_rows * a.matrix_cols + a.bias_size;
  return n;
}

/// The map for a classifier's layout given the addresses of every (pseudo-layer, linLayerID) —
/// queried from cuDNN on a device, or canonical_cudnn_addresses() — and the weight-space size.
inline cudnn_weight_map make_cudnn_weight_map(const rnn_config& c, index_t gates, const parameter_layout& L,
                                              const rnn_parameter_index& idx,
                                              const std::vector<cudnn_param_address>& addr, index_t packed_size) {
  const char* who = "cuda::make_cudnn_weight_map";
  require(static_cast<index_t>(idx.cell.size()) == pseudo_layers(c), who, ": the layout has ", idx.cell.size(),
          " recurrent cells, the config ", pseudo_layers(c));
  require(static_cast<index_t>(addr.size()) == pseudo_layers(c) * 2 * gates, who, ": ", addr.size(),
          " cuDNN addresses, expected ", pseudo_layers(c) * 2 * gates);
  cudnn_weight_map m;
  m.packed_size = packed_size;
  m.flat_size = L.size();
  const index_t H = c.hidden_size;
  for (const auto& a : addr) {
    const auto& e = idx.cell[static_cast<std::size_t>(a.pseudo_layer)];
    const index_t g = a.lin_id % gates;
    const bool rec = a.lin_id >= gates;
    const auto [rows, cols] = cudnn_matrix_shape(c, gates, a.pseudo_layer, a.lin_id);
    require(a.matrix_rows * a.matrix_cols == rows * cols && a.bias_size == H, who, ": cuDNN block (pseudo-layer ",
            a.pseudo_layer, ", linLayerID ", a.lin_id, ") holds ", a.matrix_rows * a.matrix_cols, " + ", a.bias_size,
            " values, expected ", rows * cols, " + ", H);
    const auto& W = L[rec ? e[1] : e[0]];
    const auto& b = L[rec ? e[3] : e[2]];
    const std::string gate = rnnabs::detail::concat("[gate ", g, "]");
    m.segments.push_back({W.offset + g * H * cols, a.matrix_offset, rows * cols, W.name + gate});
    m.segments.push_back({b.offset + g * H, a.bias_offset, H, b.name + gate});
  }
  for (const auto& s : m.segments)
    require(s.packed >= 0 && s.packed + s.size <= packed_size && s.flat + s.size <= m.flat_size, who, ": segment ",
            s.name, " lies outside the weight space (", s.packed, " + ", s.size, " > ", packed_size, ")");
  return m;
}

}  // namespace rnnabs::cuda
