#pragma once
// The message of the exception `f()` throws ("(no error)" when it returns): tests check that an
// error names its problem, not only that it is thrown.
#include <exception>
#include <string>

namespace rnnabs_tests {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace rnnabs_tests
