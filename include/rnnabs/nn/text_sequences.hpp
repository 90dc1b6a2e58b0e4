#pragma once
// Tokenized texts as sequences of token ids, the input of an embedding -> RNN classifier
// (rnn_config::vocab_size > 0). Words outside the vocabulary become <unk> and are counted.
#include <vector>

#include "rnnabs/data/text.hpp"
#include "rnnabs/nn/sequence_batch.hpp"

namespace rnnabs {

/// What encoding found: per text, how many of its tokens were out of the vocabulary.
struct encode_report {
  std::vector<index_t> oov;  ///< per text
  index_t oov_tokens = 0;    ///< in all
  index_t texts_with_oov = 0;
  index_t all_oov_texts = 0;  ///< texts whose every token is <unk>
};

/// Token ids and labels of `d` as a batch (token input, last-step labels). invalid_argument on an
/// invalid data set, and on a text whose every token is out of the vocabulary unless `allow_all_oov`
/// (such a text carries nothing a model could read); `report` receives the OOV counts.
template <class T = float>
sequence_batch<T> text_sequences(const data::text_dataset& d, const data::vocabulary& v,
                                 encode_report* report = nullptr, bool allow_all_oov = false) {
  d.validate("text_sequences");
  sequence_batch<T> b;
  b.tokens.reserve(static_cast<std::size_t>(d.size()));
  b.labels = d.labels;
  encode_report r;
  for (index_t i = 0; i < d.size(); ++i) {
    const auto& t = d.tokens[static_cast<std::size_t>(i)];
    index_t miss = 0;
    b.tokens.push_back(v.encode(t, &miss));
    r.oov.push_back(miss);
    r.oov_tokens += miss;
    r.texts_with_oov += miss > 0 ? 1 : 0;
    const bool all = (b.tokens.back().array() == data::vocabulary::unk).all();
    r.all_oov_texts += all ? 1 : 0;
    require(allow_all_oov || !all, "text_sequences: every token of text ", i, " is out of the vocabulary (", t.size(),
            " tokens, e.g. '", t.front(), "')");
  }
  if (report) *report = std::move(r);
  return b;
}

}  // namespace rnnabs
