#pragma once
// A program of several experiments: `<program> <experiment> [options]`, each experiment with its own
// CLI11 options and --help. The experiments of one family share most of the library's templates, so
// they build as one program (one unity unit) instead of one program each. An experiment's error
// (a typed rnnabs exception naming the problem) is reported here, once for all: "<program> <exp>: …", exit 1.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace examples {

struct experiment {
  const char* name;
  const char* what;
  int (*run)(int argc, char** argv);  // argv[0] is the experiment's name
};

inline int dispatch(const char* program, const char* what, const std::vector<experiment>& list, int argc, char** argv) {
  const auto usage = [&](std::FILE* out) {
    std::fprintf(out,
                 "%s\nUsage: %s <experiment> [options]   (%s <experiment> --help for its options)\n\nExperiments:\n",
                 what, program, program);
    for (const auto& e : list) std::fprintf(out, "  %-14s %s\n", e.name, e.what);
  };
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto& e : list)
    if (std::strcmp(argv[1], e.name) == 0) {
      std::string name = std::string(program) + " " + e.name;  // "explain lemna" in the experiment's --help
      std::vector<char*> args(argv + 1, argv + argc + 1);  // with argv[argc] = nullptr, as main's (MPI_Init reads it)
      args[0] = name.data();
      try {
        return e.run(argc - 1, args.data());
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "%s: %s\n", name.c_str(), ex.what());
        return 1;
      }
    }
  std::fprintf(stderr, "%s: unknown experiment '%s'\n\n", program, argv[1]);
  usage(stderr);
  return 2;
}

}  // namespace examples
