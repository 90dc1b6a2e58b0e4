#pragma once
// Shape of a sequence classifier (input -> (bi)RNN stack -> dense head) and its parameter layout.
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/loss.hpp"
#include "rnnabs/nn/parameters.hpp"

namespace rnnabs {

/// Where the dense head reads the RNN: the final state of each sequence, or every step.
enum class head_mode { last_step, every_step };

constexpr std::string_view to_string(head_mode h) { return h == head_mode::last_step ? "last_step" : "every_step"; }

struct rnn_config {
  index_t input_size = 0;   // features per step; with vocab_size > 0 the embedding dimension
  index_t vocab_size = 0;   // > 0: token input through an embedding (vocab_size x input_size)
  index_t hidden_size = 0;  // H per direction
  index_t num_layers = 1;
  bool bidirectional = false;
  index_t num_classes = 0;  // outputs of the head (1 is allowed with bce_with_logits)
  head_mode head = head_mode::last_step;
  loss_kind loss = loss_kind::cross_entropy;
  index_t batch_chunk = 16;  // sequences per work item; results are bit-identical for any thread count
  double dropout = 0;        // training only: drop probability of each layer's output (between stacked
                             // layers and before the head), inverted scaling; 0 = off

  index_t directions() const noexcept { return bidirectional ? 2 : 1; }
  /// Width of a layer's output (and of the head's input): H per direction.
  index_t output_size() const noexcept { return hidden_size * directions(); }
  bool token_input() const noexcept { return vocab_size > 0; }

  void validate(std::string_view who) const {
    require(input_size > 0, who, ": input_size must be positive, got ", input_size);
    require(vocab_size >= 0, who, ": vocab_size must be >= 0, got ", vocab_size);
    require(hidden_size > 0, who, ": hidden_size must be positive, got ", hidden_size);
    require(num_layers >= 1, who, ": num_layers must be >= 1, got ", num_layers);
    require(num_classes >= 1, who, ": num_classes must be >= 1, got ", num_classes);
    require(num_classes >= 2 || loss == loss_kind::bce_with_logits, who, ": loss ", to_string(loss),
            " needs num_classes >= 2, got ", num_classes);
    require(batch_chunk >= 1, who, ": batch_chunk must be >= 1, got ", batch_chunk);
    require(dropout >= 0 && dropout < 1, who, ": dropout must be in [0, 1), got ", dropout);
  }
};

/// Indices into a parameter_layout of each tensor of an rnn classifier.
struct rnn_parameter_index {
  index_t embedding = -1;
  std::vector<std::array<index_t, 4>> cell;  // [layer * directions + dir] -> w_ih, w_hh, b_ih, b_hh
  index_t fc_weight = -1;
  index_t fc_bias = -1;
};

/// Names used in the PyTorch state_dict: module names of the embedding, the recurrent stack and the head.
struct state_dict_names {
  std::string embedding = "embedding";
  std::string rnn = "rnn";
  std::string head = "fc";
};

/// The layout in PyTorch `state_dict` order: embedding.weight; for each layer, each direction:
/// rnn.weight_ih_l{k}[_reverse], weight_hh, bias_ih, bias_hh; fc.weight, fc.bias.
inline parameter_layout make_rnn_layout(const rnn_config& c, index_t gates, rnn_parameter_index& idx,
                                        const state_dict_names& names = {}) {
  parameter_layout L;
  idx = {};
  if (c.token_input()) idx.embedding = L.add(names.embedding + ".weight", c.vocab_size, c.input_size);
  const index_t gh = gates * c.hidden_size;
  for (index_t l = 0; l < c.num_layers; ++l) {
    const index_t in = l == 0 ? c.input_size : c.output_size();
    for (index_t d = 0; d < c.directions(); ++d) {
      const std::string sfx = detail::concat("_l", l, d == 1 ? "_reverse" : "");
      const std::string p = names.rnn + ".";
      std::array<index_t, 4> e{};
      e[0] = L.add(p + "weight_ih" + sfx, gh, in);
      e[1] = L.add(p + "weight_hh" + sfx, gh, c.hidden_size);
      e[2] = L.add(p + "bias_ih" + sfx, gh);
      e[3] = L.add(p + "bias_hh" + sfx, gh);
      idx.cell.push_back(e);
    }
  }
  idx.fc_weight = L.add(names.head + ".weight", c.num_classes, c.output_size());
  idx.fc_bias = L.add(names.head + ".bias", c.num_classes);
  return L;
}

}  // namespace rnnabs
