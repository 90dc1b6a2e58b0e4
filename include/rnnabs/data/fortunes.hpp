#pragma once
// A binary topic task from the `fortunes` Debian package (strfile sources under
// /usr/share/games/fortunes/), the offline stand-in for RNNRepair's Toxic/SST text tasks.
//
// The grouping, fixed once (measured on Debian 12's fortunes-min/fortunes 1:1.99.1-7.3, max 60 tokens):
//   class 0 "computing"  computers + linux + perl       1,357 entries
//   class 1 "people"     people + love + men-women      1,830 entries        3,187 in all
// Entries longer than 60 tokens are left out (as RNNRepair's Toxic preparation kept comments under 200
// characters), and an entry whose token list repeats an earlier one is kept once, so no
// text is both in training and in test. A bag-of-words logistic regression reaches about 89 % on
// the 80/20 split (see docs/repair.md), so the classes can be learned but are not trivial.
//
//   auto d = rnnabs::data::load_fortunes();                           // the grouping above
//   auto [train, test] = rnnabs::data::fortunes_split(d);           // 80/20, stratified, seed 2021
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/data/text.hpp"
#include "rnnabs/io/text.hpp"

namespace rnnabs::data {

inline const std::filesystem::path fortunes_dir = "/usr/share/games/fortunes";

/// Which topic files make up each class.
struct topic_grouping {
  std::vector<std::string> class_names;
  std::vector<std::vector<std::string>> files;  ///< per class
  index_t max_tokens = 60;                      ///< longer entries are left out
};

/// The fixed grouping of this header's comment.
inline topic_grouping fortunes_grouping() {
  return {{"computing", "people"}, {{"computers", "linux", "perl"}, {"people", "love", "men-women"}}, 60};
}

/// The entries of the grouping's topic files, tokenized, in file order (class 0's files first).
/// io_error naming the Debian package when a file is missing.
inline text_dataset load_fortunes(const std::filesystem::path& dir = fortunes_dir,
                                  const topic_grouping& g = fortunes_grouping()) {
  constexpr const char* who = "load_fortunes";
  require(!g.files.empty() && g.files.size() == g.class_names.size(), who, ": ", g.files.size(), " file groups for ",
          g.class_names.size(), " class names");
  text_dataset d;
  d.class_names = g.class_names;
  std::vector<index_t> labels;
  std::set<std::vector<std::string>> seen;
  for (std::size_t c = 0; c < g.files.size(); ++c) {
    require(!g.files[c].empty(), who, ": class '", g.class_names[c], "' has no topic file");
    for (const auto& f : g.files[c]) {
      const auto path = dir / f;
      require<io_error>(std::filesystem::is_regular_file(path), who, ": ", path,
                        ": no such file; install the Debian package 'fortunes' (apt-get install fortunes), or "
                        "pass the folder that holds the strfile sources");
      for (const auto& e : io::read_strfile(path)) {
        auto t = tokenize(e);
        if (t.empty() || (g.max_tokens > 0 && static_cast<index_t>(t.size()) > g.max_tokens)) continue;
        if (!seen.insert(t).second) continue;
        d.tokens.push_back(std::move(t));
        labels.push_back(static_cast<index_t>(c));
      }
    }
  }
  require<io_error>(!d.tokens.empty(), who, ": ", dir, ": no entry of at most ", g.max_tokens, " tokens");
  d.labels = Eigen::Map<const index_vector>(labels.data(), static_cast<index_t>(labels.size()));
  return d;
}

/// The documented split of the fortunes task: stratified, 20 % test, seed 2021.
inline text_split fortunes_split(const text_dataset& d, double test_fraction = 0.2, std::uint64_t seed = 2021) {
  return train_test_split(d, test_fraction, seed);
}

}  // namespace rnnabs::data
