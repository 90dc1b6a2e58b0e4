#pragma once
// Registry of side-by-side cases for the `rnnabs_compare` program (benchmarks/compare/run drives it).
// A case reads the inputs the peer script wrote into `workdir` (.npy), times rnnabs on them with the
// same protocol as the peer, checks its results against the peer's saved outputs, and returns both.
#include <filesystem>
#include <functional>
#include <map>
#include <string>

namespace rnnabs::compare {

struct outcome {
  double seconds = 0;      // the timed quantity (median), same definition as the peer's
  bool equal = false;      // results agree with the peer's within `tolerance`
  double max_rel_err = 0;  // largest relative difference found by the check
  std::string detail;      // one line: what was compared
};

using case_fn = std::function<outcome(const std::filesystem::path& workdir)>;

inline std::map<std::string, case_fn>& registry() {
  static std::map<std::string, case_fn> r;
  return r;
}

/// `static const bool reg = rnnabs::compare::add("gmm_diag_200k", fn);` at namespace scope in a case file.
inline bool add(const std::string& name, case_fn fn) {
  registry().emplace(name, std::move(fn));
  return true;
}

}  // namespace rnnabs::compare
