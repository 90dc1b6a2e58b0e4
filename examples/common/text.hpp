#pragma once
// Messages and file names built from pieces, for the example programs.
#include <cstdio>
#include <sstream>
#include <string>
#include <utility>

namespace examples {

/// The pieces streamed one after another (numbers with 10 significant digits).
template <class... A>
std::string concat(A&&... a) {
  std::ostringstream os;
  os.precision(10);
  (os << ... << std::forward<A>(a));
  return os.str();
}

/// v with 17 significant digits: the double's exact bits, for results compared byte for byte.
inline std::string exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace examples
