// rnnabs._core: the compiled half of the Python package (the pure-Python layer is python/rnnabs/).
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <exception>

#include <rnnabs/io/limits.hpp>
#include <rnnabs/version.hpp>

#include "common.hpp"

namespace rnnabs::python {

// rnnabs' own thread count, applied at every computation: OMP_NUM_THREADS when set, else every core.
// (Not OpenMP's per-thread setting, which other extensions change: importing torch sets it to 1.)
int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS"); env && std::atoi(env) > 0) return std::atoi(env);
#if defined(_OPENMP)
  return omp_get_num_procs();
#else
  return 1;
#endif
}

int& thread_setting() {
  static int n = default_threads();
  return n;
}

namespace {

// The Python classes of rnnabs' errors: each subclasses rnnabs.Error and the built-in a Python user
// would catch (ValueError for bad input, OSError for files, ArithmeticError for numerics).
PyObject* new_exception(py::module_& m, const char* name, py::handle bases, const char* doc) {
  const std::string full = std::string("rnnabs.") + name;
  PyObject* t = PyErr_NewExceptionWithDoc(full.c_str(), doc, bases.ptr(), nullptr);
  if (!t) throw py::error_already_set();
  m.add_object(name, py::handle(t));
  return t;
}

void bind_errors(py::module_& m) {
  static PyObject* base = new_exception(m, "Error", PyExc_RuntimeError, "Base of every error rnnabs raises.");
  static PyObject* invalid = new_exception(
      m, "InvalidArgument", py::make_tuple(py::handle(base), py::handle(PyExc_ValueError)),
      "Input of the wrong shape, range or value (NaN/Inf included), or a call out of order.");
  static PyObject* io = new_exception(m, "FileError", py::make_tuple(py::handle(base), py::handle(PyExc_OSError)),
                                      "A file that cannot be opened, read, parsed or written.");
  static PyObject* numeric = new_exception(
      m, "NumericalError", py::make_tuple(py::handle(base), py::handle(PyExc_ArithmeticError)),
      "A computation that cannot go on: a singular matrix, a collapsed component, divergence.");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const rnnabs::invalid_argument& e) {
      PyErr_SetString(invalid, e.what());
    } catch (const rnnabs::io_error& e) {
      PyErr_SetString(io, e.what());
    } catch (const rnnabs::numerical_error& e) {
      PyErr_SetString(numeric, e.what());
    } catch (const rnnabs::error& e) {
      PyErr_SetString(base, e.what());
    }
  });
}

}  // namespace
}  // namespace rnnabs::python

PYBIND11_MODULE(_core, m) {
  using namespace rnnabs::python;
  m.doc() = "rnnabs' compiled core (use the package `rnnabs`, which wraps it).";
  m.attr("__version__") = std::to_string(rnnabs::version_major) + "." + std::to_string(rnnabs::version_minor) + "." +
                          std::to_string(rnnabs::version_patch);
  bind_errors(m);

  m.def(
      "set_threads",
      [](int n) {
        if (n < 0)
          throw rnnabs::invalid_argument("set_threads: n must be >= 0 (0: OMP_NUM_THREADS, else every core), got " +
                                         std::to_string(n));
        thread_setting() = n > 0 ? n : default_threads();
      },
      py::arg("n"),
      "Threads of later rnnabs computations (0: OMP_NUM_THREADS, else every core). Results do not depend on it.");
  m.def(
      "get_threads", [] { return thread_setting(); }, "Threads rnnabs computations use.");
  m.def(
      "set_max_alloc_bytes", [](std::uint64_t n) { rnnabs::io::set_max_alloc_bytes(n); }, py::arg("n"),
      "Largest allocation a loader may make from a file's header (default 4 GiB).");
  // For the zero-copy test: the address the C++ side sees for a float32 / float64 matrix argument.
  m.def("_data_address", [](cref<float> x) { return reinterpret_cast<std::uintptr_t>(x.data()); });
  m.def("_data_address", [](cref<double> x) { return reinterpret_cast<std::uintptr_t>(x.data()); });
  m.def("_busy_wait", [](double seconds) {  // for the GIL test: C++ work with the GIL released
    return compute([&] {
      const auto t0 = std::chrono::steady_clock::now();
      double s = 0;
      while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) s += 1;
      return s;
    });
  });

  bind_stats(m);
  bind_abstraction(m);
  bind_nn(m);
  bind_explain(m);
  bind_repair(m);
}
