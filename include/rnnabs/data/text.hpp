#pragma once
// Labelled text for token models: a tokenizer, a vocabulary, data sets of token lists, and their
// optional pretrained embeddings (their encoding as token batches is nn/text_sequences.hpp).
//
//   auto d = rnnabs::data::load_labelled_text("sst_train.tsv");          // "label<TAB>text" or CSV
//   auto [train, test] = rnnabs::data::train_test_split(d, 0.2, /*seed=*/7);
//   auto vocab = rnnabs::data::vocabulary::build(train.tokens, {.min_freq = 2});
//   auto batch = rnnabs::text_sequences(train, vocab);                  // nn/text_sequences.hpp
//
// Tokenizer rules (tokenize): the text is lower-cased (ASCII letters; other bytes are kept as they
// are) and split into
//   words        maximal runs of letters (a-z and every byte >= 0x80, so UTF-8 letters stay inside
//                their word); an apostrophe between two letters joins them ("don't", "o'clock")
//   numbers      maximal runs of digits; a '.' or ',' between two digits joins them ("3.14", "1,000")
//   punctuation  every other character that is not white space, one token each ("..." is 3 tokens)
// A word and an adjacent number are separate tokens ("mp3" -> "mp", "3").
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/io/atomic_file.hpp"
#include "rnnabs/io/text.hpp"

namespace rnnabs::data {

namespace detail {
inline bool is_letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; }
inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline char lower(unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); }
}  // namespace detail

/// The tokens of `text` by the rules in this header's comment.
inline std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> out;
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = at(i);
    if (detail::is_space(c)) {
      ++i;
      continue;
    }
    std::string tok;
    if (detail::is_letter(c)) {
      while (i < text.size()) {
        if (detail::is_letter(at(i))) {
          tok.push_back(detail::lower(at(i++)));
        } else if (text[i] == '\'' && i + 1 < text.size() && detail::is_letter(at(i + 1))) {
          tok.push_back('\'');
          ++i;
        } else {
          break;
        }
      }
    } else if (detail::is_digit(c)) {
      while (i < text.size()) {
        if (detail::is_digit(at(i))) {
          tok.push_back(text[i++]);
        } else if ((text[i] == '.' || text[i] == ',') && i + 1 < text.size() && detail::is_digit(at(i + 1))) {
          tok.push_back(text[i++]);
        } else {
          break;
        }
      }
    } else {
      tok.push_back(text[i++]);
    }
    out.push_back(std::move(tok));
  }
  return out;
}

struct vocabulary_options {
  index_t min_freq = 1;  ///< words seen fewer times are left out (they encode as <unk>)
  index_t max_size = 0;  ///< > 0: at most this many ids, specials included (the most frequent words)
};

/// Word <-> id. Ids 0 and 1 are the specials <pad> (padding of fixed-length exports; rnnabs' own
/// batches are ragged and never pad) and <unk> (every word not in the vocabulary). Built words follow
/// by descending training frequency, ties in byte order of the word, so a vocabulary is a pure
/// function of its corpus and options.
class vocabulary {
 public:
  static constexpr index_t pad = 0;
  static constexpr index_t unk = 1;
  static constexpr std::string_view pad_word = "<pad>";
  static constexpr std::string_view unk_word = "<unk>";

  vocabulary() : words_{std::string(pad_word), std::string(unk_word)} { reindex(); }

  /// From an explicit word list: ids are positions; the first two must be <pad> and <unk>; no duplicates.
  explicit vocabulary(std::vector<std::string> words) : words_(std::move(words)) {
    require(words_.size() >= 2 && words_[0] == pad_word && words_[1] == unk_word,
            "vocabulary: the word list must start with <pad>, <unk>");
    reindex();
    if (index_.size() != words_.size())
      for (std::size_t k = 0; k < words_.size(); ++k)
        require(index_.at(words_[k]) == static_cast<index_t>(k), "vocabulary: the word '", words_[k],
                "' is listed twice (ids ", index_.at(words_[k]), " and ", k, ")");
  }

  /// The vocabulary of tokenized documents (see options).
  static vocabulary build(const std::vector<std::vector<std::string>>& docs, const vocabulary_options& o = {}) {
    require(o.min_freq >= 1, "vocabulary::build: min_freq must be >= 1, got ", o.min_freq);
    require(o.max_size == 0 || o.max_size >= 2, "vocabulary::build: max_size must be 0 (unlimited) or >= 2, got ",
            o.max_size);
    require(!docs.empty(), "vocabulary::build: no documents");
    std::unordered_map<std::string, index_t> freq;
    for (const auto& d : docs)
      for (const auto& w : d) ++freq[w];
    std::vector<std::pair<std::string, index_t>> kept;
    for (auto& [w, f] : freq)
      if (f >= o.min_freq && w != pad_word && w != unk_word) kept.emplace_back(w, f);
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (o.max_size > 0 && static_cast<index_t>(kept.size()) > o.max_size - 2)
      kept.resize(static_cast<std::size_t>(o.max_size - 2));
    vocabulary v;
    v.counts_.assign(2, 0);
    for (auto& [w, f] : kept) {
      v.words_.push_back(w);
      v.counts_.push_back(f);
    }
    v.reindex();
    return v;
  }

  index_t size() const noexcept { return static_cast<index_t>(words_.size()); }
  bool contains(std::string_view w) const { return index_.find(std::string(w)) != index_.end(); }
  /// The id of `w`; <unk> when absent.
  index_t id(std::string_view w) const {
    const auto it = index_.find(std::string(w));
    return it == index_.end() ? unk : it->second;
  }
  const std::string& word(index_t id) const {
    require(id >= 0 && id < size(), "vocabulary::word: id ", id, " outside [0, ", size(), ")");
    return words_[static_cast<std::size_t>(id)];
  }
  const std::vector<std::string>& words() const noexcept { return words_; }
  /// Training frequency of a built word (0 for the specials, added words and list-made vocabularies).
  index_t frequency(index_t id) const {
    require(id >= 0 && id < size(), "vocabulary::frequency: id ", id, " outside [0, ", size(), ")");
    return static_cast<std::size_t>(id) < counts_.size() ? counts_[static_cast<std::size_t>(id)] : 0;
  }
  /// Adds a word at the end (e.g. a trigger token) and returns its id; the existing id if present.
  index_t add(const std::string& w) {
    require(!w.empty(), "vocabulary::add: empty word");
    if (const auto it = index_.find(w); it != index_.end()) return it->second;
    words_.push_back(w);
    index_.emplace(w, size() - 1);
    return size() - 1;
  }

  /// Ids of `tokens`; `oov` (if given) receives how many became <unk>.
  index_vector encode(const std::vector<std::string>& tokens, index_t* oov = nullptr) const {
    index_vector ids(static_cast<index_t>(tokens.size()));
    index_t miss = 0;
    for (std::size_t k = 0; k < tokens.size(); ++k) {
      ids(static_cast<index_t>(k)) = id(tokens[k]);
      miss += ids(static_cast<index_t>(k)) == unk && tokens[k] != unk_word ? 1 : 0;
    }
    if (oov) *oov = miss;
    return ids;
  }
  std::vector<std::string> decode(const index_vector& ids) const {
    std::vector<std::string> w;
    w.reserve(static_cast<std::size_t>(ids.size()));
    for (index_t k = 0; k < ids.size(); ++k) w.push_back(word(ids(k)));
    return w;
  }
  /// Words joined by single spaces.
  std::string text(const index_vector& ids) const {
    std::string s;
    for (index_t k = 0; k < ids.size(); ++k) s += (k ? " " : "") + word(ids(k));
    return s;
  }

  /// One word per line (line k = id k), atomic.
  void save(const std::filesystem::path& path) const {
    for (const auto& w : words_) require(w.find('\n') == std::string::npos, "vocabulary::save: a word holds a newline");
    io::atomic_write(path, [&](std::ostream& os) {
      for (const auto& w : words_) os << w << '\n';
    });
  }
  static vocabulary load(const std::filesystem::path& path) {
    const std::string bytes = io::detail::read_file_bytes(path, "vocabulary::load");
    std::vector<std::string> w;
    io::detail::for_each_line(bytes, [&](std::string_view line, std::size_t) { w.emplace_back(line); });
    try {
      return vocabulary(std::move(w));
    } catch (const invalid_argument& e) {
      throw io_error(rnnabs::detail::concat("vocabulary::load: ", path, ": ", e.what()));
    }
  }

  friend bool operator==(const vocabulary& a, const vocabulary& b) { return a.words_ == b.words_; }

 private:
  void reindex() {
    index_.clear();
    for (std::size_t k = 0; k < words_.size(); ++k) index_.emplace(words_[k], static_cast<index_t>(k));
  }

  std::vector<std::string> words_;
  std::vector<index_t> counts_;
  std::unordered_map<std::string, index_t> index_;
};

/// Tokenized, labelled texts. Labels are class ids into `class_names`.
struct text_dataset {
  std::vector<std::vector<std::string>> tokens;
  index_vector labels;
  std::vector<std::string> class_names;

  index_t size() const noexcept { return static_cast<index_t>(tokens.size()); }
  index_t num_classes() const noexcept { return static_cast<index_t>(class_names.size()); }
  /// Samples per class.
  std::vector<index_t> class_sizes() const {
    std::vector<index_t> n(class_names.size(), 0);
    for (index_t i = 0; i < labels.size(); ++i) ++n[static_cast<std::size_t>(labels(i))];
    return n;
  }
  /// invalid_argument naming the first problem: no sample, an empty text, a label outside the classes.
  void validate(std::string_view who) const {
    require(size() > 0, who, ": the data set holds no sample");
    require(labels.size() == size(), who, ": ", labels.size(), " labels for ", size(), " texts");
    require(num_classes() >= 1, who, ": no class names");
    for (index_t i = 0; i < size(); ++i) {
      require(!tokens[static_cast<std::size_t>(i)].empty(), who, ": text ", i, " is empty (no token)");
      require(labels(i) >= 0 && labels(i) < num_classes(), who, ": label ", labels(i), " of text ", i,
              " is outside [0, ", num_classes(), ")");
    }
  }
};

/// The samples `ids` (in that order).
inline text_dataset subset(const text_dataset& d, std::span<const index_t> ids) {
  text_dataset s;
  s.class_names = d.class_names;
  s.labels.resize(static_cast<index_t>(ids.size()));
  for (std::size_t k = 0; k < ids.size(); ++k) {
    require(ids[k] >= 0 && ids[k] < d.size(), "subset: sample id ", ids[k], " is outside [0, ", d.size(), ")");
    s.tokens.push_back(d.tokens[static_cast<std::size_t>(ids[k])]);
    s.labels(static_cast<index_t>(k)) = d.labels(ids[k]);
  }
  return s;
}

struct text_split {
  text_dataset train, test;
};

/// A seeded, stratified split: within each class, a permutation drawn from rng::stream(seed, class)
/// puts round(test_fraction · class size) samples in the test set; both sets keep corpus order.
inline text_split train_test_split(const text_dataset& d, double test_fraction, std::uint64_t seed) {
  d.validate("train_test_split");
  require(test_fraction > 0 && test_fraction < 1, "train_test_split: test_fraction must be in (0, 1), got ",
          test_fraction);
  std::vector<char> is_test(static_cast<std::size_t>(d.size()), 0);
  for (index_t c = 0; c < d.num_classes(); ++c) {
    std::vector<index_t> ids;
    for (index_t i = 0; i < d.size(); ++i)
      if (d.labels(i) == c) ids.push_back(i);
    rng g = rng::stream(seed, static_cast<std::uint64_t>(c));
    g.shuffle(std::span<index_t>(ids));
    const auto k = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(ids.size())));
    for (std::size_t j = 0; j < k; ++j) is_test[static_cast<std::size_t>(ids[j])] = 1;
  }
  std::vector<index_t> tr, te;
  for (index_t i = 0; i < d.size(); ++i) (is_test[static_cast<std::size_t>(i)] ? te : tr).push_back(i);
  require(!tr.empty() && !te.empty(), "train_test_split: test_fraction ", test_fraction, " of ", d.size(),
          " samples leaves a set empty");
  return {subset(d, tr), subset(d, te)};
}

/// Options of the labelled-text loader.
struct text_options {
  std::string text_column = "text";    ///< CSV: header name of the text column
  std::string label_column = "label";  ///< CSV: header name of the label column
  /// The classes in id order. Empty: the distinct labels of the file, in byte order. Given: a label
  /// not in the list is an io_error (class ids never depend on label frequencies, as torchtext's did).
  std::vector<std::string> classes{};
  index_t max_tokens = 0;  ///< > 0: longer texts are dropped (or cut, with truncate)
  bool truncate = false;
  char separator = ',';  ///< CSV field separator
};

/// Labelled texts from a file: "label<TAB>text" per line (.tsv, .txt and any other extension), or
/// CSV with a header (.csv). io_error naming the file and line for malformed input, an empty text,
/// an unknown label, or a file without samples.
inline text_dataset load_labelled_text(const std::filesystem::path& path, const text_options& o = {}) {
  constexpr const char* who = "load_labelled_text";
  std::vector<io::labelled_line> rows;
  if (path.extension() == ".csv") {
    for (auto& [f, line] : io::read_csv_columns(path, {o.label_column, o.text_column}, o.separator))
      rows.push_back({std::move(f[0]), std::move(f[1]), line});
  } else {
    rows = io::read_labelled_lines(path);
  }
  require<io_error>(!rows.empty(), who, ": ", path, ": no sample");
  std::vector<std::string> classes = o.classes;
  if (classes.empty()) {
    for (const auto& r : rows) classes.push_back(std::string(io::detail::trim(r.label)));
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  }
  std::map<std::string, index_t> cls;
  for (std::size_t c = 0; c < classes.size(); ++c) cls.emplace(classes[c], static_cast<index_t>(c));
  text_dataset d;
  d.class_names = classes;
  std::vector<index_t> labels;
  for (const auto& r : rows) {
    const std::string label(io::detail::trim(r.label));
    const auto it = cls.find(label);
    require<io_error>(
        it != cls.end(), who, ": ", path, ": line ", r.line, ": unknown label '", label, "' (classes: ",
        [&] {
          std::string s;
          for (const auto& c : classes) s += (s.empty() ? "" : ", ") + c;
          return s;
        }(),
        ")");
    auto t = tokenize(r.text);
    require<io_error>(!t.empty(), who, ": ", path, ": line ", r.line, ": the text has no token");
    if (o.max_tokens > 0 && static_cast<index_t>(t.size()) > o.max_tokens) {
      if (!o.truncate) continue;
      t.resize(static_cast<std::size_t>(o.max_tokens));
    }
    d.tokens.push_back(std::move(t));
    labels.push_back(it->second);
  }
  require<io_error>(!d.tokens.empty(), who, ": ", path, ": every text is longer than max_tokens = ", o.max_tokens);
  d.labels = Eigen::Map<const index_vector>(labels.data(), static_cast<index_t>(labels.size()));
  return d;
}

/// Pretrained embeddings for a vocabulary from a GloVe-format text file: a V x d matrix whose rows are
/// the file's vectors for the words it holds, N(0, 1) draws (from `seed`) for the others, and zero for
/// <pad> and <unk> (RNNRepair's initialisation). `found` receives how many words had a vector.
template <class T = float>
matrix<T> load_embeddings(const std::filesystem::path& path, const vocabulary& v, std::uint64_t seed,
                          index_t* found = nullptr) {
  std::unordered_map<std::string, std::size_t> wanted;
  for (index_t k = 2; k < v.size(); ++k) wanted.emplace(v.word(k), static_cast<std::size_t>(k));
  const auto rows = io::read_embeddings_text(path, wanted, static_cast<std::size_t>(v.size()));
  const auto d = static_cast<index_t>(rows.dim);
  matrix<T> e(v.size(), d);
  rng g(seed);
  index_t hit = 0;
  for (index_t k = 0; k < v.size(); ++k) {
    const auto ku = static_cast<std::size_t>(k);
    if (k == vocabulary::pad || k == vocabulary::unk) {
      e.row(k).setZero();
    } else if (rows.found[ku]) {
      for (index_t j = 0; j < d; ++j)
        e(k, j) = static_cast<T>(rows.values[ku * rows.dim + static_cast<std::size_t>(j)]);
      ++hit;
    } else {
      for (index_t j = 0; j < d; ++j) e(k, j) = static_cast<T>(g.normal());
    }
  }
  if (found) *found = hit;
  return e;
}

}  // namespace rnnabs::data
