// rnnabs_compare: the rnnabs side of the side-by-side benchmark (benchmarks/compare/run drives it).
//   rnnabs_compare --list              names of the registered cases, one per line
//   rnnabs_compare <case> <workdir>    runs the case on the inputs the peer wrote into <workdir>, prints
//     rnnabs_s=<seconds> equal=<yes|no> max_rel_err=<x> detail=<one line>
// Exit status: 0 results equal to the peer's, 1 not equal, 2 usage error or the case threw.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "compare_registry.hpp"

namespace compare_main {

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s <case> <workdir>\n       %s --list\n", argv0, argv0);
  return 2;
}

std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace compare_main

int main(int argc, char** argv) {
  using namespace compare_main;
  auto& cases = rnnabs::compare::registry();
  if (argc == 2 && std::string(argv[1]) == "--list") {
    for (const auto& [name, fn] : cases) std::printf("%s\n", name.c_str());
    return 0;
  }
  if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    usage(argv[0]);
    return 0;
  }
  if (argc != 3) return usage(argv[0]);
  const std::string name = argv[1];
  const std::filesystem::path workdir = argv[2];
  const auto it = cases.find(name);
  if (it == cases.end()) {
    std::fprintf(stderr, "rnnabs_compare: unknown case '%s'; known cases:", name.c_str());
    for (const auto& [n, fn] : cases) std::fprintf(stderr, " %s", n.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  if (!std::filesystem::is_directory(workdir)) {
    std::fprintf(stderr, "rnnabs_compare: workdir '%s' is not a directory\n", workdir.c_str());
    return 2;
  }
  try {
    const rnnabs::compare::outcome o = it->second(workdir);
    std::printf("rnnabs_s=%.6g equal=%s max_rel_err=%.3g detail=%s\n", o.seconds, o.equal ? "yes" : "no", o.max_rel_err,
                one_line(o.detail).c_str());
    return o.equal ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rnnabs_compare: case '%s' failed: %s\n", name.c_str(), e.what());
    return 2;
  }
}
