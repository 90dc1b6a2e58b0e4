#pragma once
// Messages and file names built from pieces, for the example programs.
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

}  // namespace examples
