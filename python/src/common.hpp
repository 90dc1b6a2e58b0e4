#pragma once
// Shared by the binding translation units of rnnabs._core.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <rnnabs/core/error.hpp>
#include <rnnabs/core/parallel.hpp>
#include <rnnabs/core/types.hpp>

namespace rnnabs::python {

namespace py = pybind11;

/// A read-only view of a C-contiguous NumPy matrix (no copy; other layouts and dtypes are converted
/// into a temporary by pybind11, which is the documented copy).
template <class T>
using cref = Eigen::Ref<const matrix<T>>;

/// The thread count of rnnabs computations (rnnabs.set_threads). Applied at the start of every
/// computation, because OpenMP keeps the count per calling thread and Python may call from any.
int& thread_setting();

/// For the duration of a computation: the GIL released and the thread setting applied.
class compute_scope {
 public:
  compute_scope() { rnnabs::set_threads(thread_setting()); }

 private:
  py::gil_scoped_release release_;
};

/// Runs f() with the GIL released and rnnabs' thread setting applied.
template <class F>
decltype(auto) compute(F&& f) {
  compute_scope scope;
  return f();
}

void bind_stats(py::module_& m);
void bind_abstraction(py::module_& m);
void bind_nn(py::module_& m);
void bind_explain(py::module_& m);
void bind_repair(py::module_& m);

}  // namespace rnnabs::python
