#pragma once
// Typed errors of the CUDA backend: every CUDA runtime, cuBLAS, cuSOLVER, cuRAND and cuDNN status is
// checked, and a failure throws rnnabs::cuda_error naming the call, the library, the status code and
// its meaning. RNNABS_CUDA_CHECK(call) is the one way the backend calls those libraries.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <curand.h>
#include <cusolverDn.h>

#include <string>

#include "rnnabs/core/error.hpp"

namespace rnnabs {

/// A CUDA runtime / cuBLAS / cuSOLVER / cuRAND / cuDNN call that failed (or no usable device).
class cuda_error : public error {
 public:
  cuda_error(const std::string& msg, const char* library, int status)
      : error(msg), library_(library), status_(status) {}
  /// "cuda", "cublas", "cusolver", "curand" or "cudnn".
  const char* library() const noexcept { return library_; }
  /// The library's status code.
  int status() const noexcept { return status_; }

 private:
  const char* library_;
  int status_;
};

namespace cuda::detail {

inline const char* status_name(cublasStatus_t s) noexcept {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "unknown cuBLAS status";
}
inline const char* status_name(cusolverStatus_t s) noexcept {
  switch (s) {
    case CUSOLVER_STATUS_SUCCESS: return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE: return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED: return "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "CUSOLVER_STATUS_NOT_SUPPORTED";
    default: return "cuSOLVER status";
  }
}
inline const char* status_name(curandStatus_t s) noexcept {
  switch (s) {
    case CURAND_STATUS_SUCCESS: return "CURAND_STATUS_SUCCESS";
    case CURAND_STATUS_VERSION_MISMATCH: return "CURAND_STATUS_VERSION_MISMATCH";
    case CURAND_STATUS_NOT_INITIALIZED: return "CURAND_STATUS_NOT_INITIALIZED";
    case CURAND_STATUS_ALLOCATION_FAILED: return "CURAND_STATUS_ALLOCATION_FAILED";
    case CURAND_STATUS_TYPE_ERROR: return "CURAND_STATUS_TYPE_ERROR";
    case CURAND_STATUS_OUT_OF_RANGE: return "CURAND_STATUS_OUT_OF_RANGE";
    case CURAND_STATUS_LENGTH_NOT_MULTIPLE: return "CURAND_STATUS_LENGTH_NOT_MULTIPLE";
    case CURAND_STATUS_DOUBLE_PRECISION_REQUIRED: return "CURAND_STATUS_DOUBLE_PRECISION_REQUIRED";
    case CURAND_STATUS_LAUNCH_FAILURE: return "CURAND_STATUS_LAUNCH_FAILURE";
    case CURAND_STATUS_PREEXISTING_FAILURE: return "CURAND_STATUS_PREEXISTING_FAILURE";
    case CURAND_STATUS_INITIALIZATION_FAILED: return "CURAND_STATUS_INITIALIZATION_FAILED";
    case CURAND_STATUS_ARCH_MISMATCH: return "CURAND_STATUS_ARCH_MISMATCH";
    case CURAND_STATUS_INTERNAL_ERROR: return "CURAND_STATUS_INTERNAL_ERROR";
  }
  return "unknown cuRAND status";
}

inline void fail(const char* library, int code, const char* name, const char* call, const char* file, int line) {
  throw cuda_error(
      rnnabs::detail::concat(call, " failed: ", library, " status ", code, " (", name, ") at ", file, ":", line),
      library, code);
}

inline void check(cudaError_t s, const char* call, const char* file, int line) {
  if (s != cudaSuccess) [[unlikely]] {
    (void)cudaGetLastError();  // clear a sticky-free error so later calls are not blamed for it
    fail("cuda", static_cast<int>(s), cudaGetErrorString(s), call, file, line);
  }
}
inline void check(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS) [[unlikely]]
    fail("cublas", static_cast<int>(s), status_name(s), call, file, line);
}
inline void check(cusolverStatus_t s, const char* call, const char* file, int line) {
  if (s != CUSOLVER_STATUS_SUCCESS) [[unlikely]]
    fail("cusolver", static_cast<int>(s), status_name(s), call, file, line);
}
inline void check(curandStatus_t s, const char* call, const char* file, int line) {
  if (s != CURAND_STATUS_SUCCESS) [[unlikely]]
    fail("curand", static_cast<int>(s), status_name(s), call, file, line);
}
inline void check(cudnnStatus_t s, const char* call, const char* file, int line) {
  if (s != CUDNN_STATUS_SUCCESS) [[unlikely]]
    fail("cudnn", static_cast<int>(s), cudnnGetErrorString(s), call, file, line);
}

}  // namespace cuda::detail
}  // namespace rnnabs

/// Calls a CUDA runtime / cuBLAS / cuSOLVER / cuRAND / cuDNN function; throws rnnabs::cuda_error on failure.
#define RNNABS_CUDA_CHECK(call) ::rnnabs::cuda::detail::check((call), #call, __FILE__, __LINE__)
/// Checks the launch of the kernel just queued (configuration errors; execution errors surface at the next sync).
#define RNNABS_CUDA_CHECK_LAUNCH(what) ::rnnabs::cuda::detail::check(cudaGetLastError(), what, __FILE__, __LINE__)
