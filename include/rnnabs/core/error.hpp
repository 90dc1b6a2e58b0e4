#pragma once
// Typed errors. Every message names the routine, the argument, what was expected and what came.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace rnnabs {

/// Base of every error rnnabs throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// Input of the wrong shape, range or value (NaN/Inf included), or a call out of order.
class invalid_argument : public error {
 public:
  using error::error;
};
/// A file that cannot be opened, read, parsed or written.
class io_error : public error {
 public:
  using error::error;
};
/// A computation that cannot go on: a singular matrix, a collapsed component, divergence.
class numerical_error : public error {
 public:
  using error::error;
};

namespace detail {
template <class... A>
std::string concat(A&&... a) {
  std::ostringstream os;
  os.precision(10);
  (os << ... << std::forward<A>(a));
  return os.str();
}
}  // namespace detail

/// Throws E with the concatenated message when `ok` is false.
template <class E = invalid_argument, class... A>
void require(bool ok, A&&... msg) {
  if (!ok) [[unlikely]]
    throw E(detail::concat(std::forward<A>(msg)...));
}

}  // namespace rnnabs
