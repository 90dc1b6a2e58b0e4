#pragma once
// RAII wrappers of the CUDA backend: device queries, device buffers, streams, events, and the
// cuBLAS / cuSOLVER / cuRAND / cuDNN handles. Every call is checked (error.cuh); destructors never
// throw (a failure there is ignored: the context may already be gone at exit).
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rnnabs/core/types.hpp"
#include "rnnabs/cuda/error.cuh"

namespace rnnabs::cuda {

/// Number of usable CUDA devices; 0 when there is none, no driver, or the driver is older than the
/// runtime (cudaErrorNoDevice, cudaErrorInsufficientDriver, ... are answers here, not errors).
inline int device_count() noexcept {
  int n = 0;
  const cudaError_t s = cudaGetDeviceCount(&n);
  if (s != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}
inline bool has_device() noexcept { return device_count() > 0; }

/// Throws cuda_error when no device is usable (what the GPU routines call first).
inline void require_device(const char* who) {
  int n = 0;
  const cudaError_t s = cudaGetDeviceCount(&n);
  if (s != cudaSuccess || n == 0) {
    (void)cudaGetLastError();
    throw cuda_error(rnnabs::detail::concat(who, ": no usable CUDA device (cudaGetDeviceCount: ",
                                            s == cudaSuccess ? "0 devices" : cudaGetErrorString(s), ")"),
                     "cuda", static_cast<int>(s));
  }
}

/// Name, compute capability, SM count and memory of the current device.
struct device_info {
  std::string name;
  int major = 0, minor = 0, sm_count = 0, device = 0;
  std::size_t memory = 0;
  std::size_t shared_per_block_optin = 0;
};
inline device_info current_device() {
  device_info d;
  RNNABS_CUDA_CHECK(cudaGetDevice(&d.device));
  cudaDeviceProp p{};
  RNNABS_CUDA_CHECK(cudaGetDeviceProperties(&p, d.device));
  d.name = p.name;
  d.major = p.major;
  d.minor = p.minor;
  d.sm_count = p.multiProcessorCount;
  d.memory = p.totalGlobalMem;
  d.shared_per_block_optin = p.sharedMemPerBlockOptin;
  return d;
}

/// A CUDA stream (non-blocking with respect to the legacy default stream).
class stream {
 public:
  stream() { RNNABS_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~stream() {
    if (s_) (void)cudaStreamDestroy(s_);
  }
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  stream(stream&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  stream& operator=(stream&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  cudaStream_t get() const noexcept { return s_; }
  operator cudaStream_t() const noexcept { return s_; }
  void synchronize() const { RNNABS_CUDA_CHECK(cudaStreamSynchronize(s_)); }

 private:
  cudaStream_t s_ = nullptr;
};

/// A CUDA event (for timing: elapsed_ms(start, stop)).
class event {
 public:
  event() { RNNABS_CUDA_CHECK(cudaEventCreate(&e_)); }
  ~event() {
    if (e_) (void)cudaEventDestroy(e_);
  }
  event(const event&) = delete;
  event& operator=(const event&) = delete;
  cudaEvent_t get() const noexcept { return e_; }
  void record(cudaStream_t s) { RNNABS_CUDA_CHECK(cudaEventRecord(e_, s)); }
  void synchronize() const { RNNABS_CUDA_CHECK(cudaEventSynchronize(e_)); }
  static float elapsed_ms(const event& start, const event& stop) {
    float ms = 0;
    RNNABS_CUDA_CHECK(cudaEventElapsedTime(&ms, start.e_, stop.e_));
    return ms;
  }

 private:
  cudaEvent_t e_ = nullptr;
};

/// n elements of T in device memory. Moves, never copies implicitly; upload/download are explicit.
template <class T>
class device_buffer {
 public:
  device_buffer() = default;
  explicit device_buffer(std::size_t n) { resize(n); }
  ~device_buffer() { release(); }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  device_buffer(device_buffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }

  /// Reallocates when the size changes (contents are not kept).
  void resize(std::size_t n) {
    if (n == n_) return;
    release();
    if (n > 0) {
      void* p = nullptr;
      RNNABS_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
      p_ = static_cast<T*>(p);
    }
    n_ = n;
  }
  T* data() noexcept { return p_; }
  const T* data() const noexcept { return p_; }
  std::size_t size() const noexcept { return n_; }
  std::size_t bytes() const noexcept { return n_ * sizeof(T); }
  bool empty() const noexcept { return n_ == 0; }

  /// Copies n host values in (resizing to n).
  void upload(const T* host, std::size_t n, cudaStream_t s = nullptr) {
    resize(n);
    if (n) RNNABS_CUDA_CHECK(cudaMemcpyAsync(p_, host, n * sizeof(T), cudaMemcpyHostToDevice, s));
    if (n) RNNABS_CUDA_CHECK(cudaStreamSynchronize(s));
  }
  void upload(const std::vector<T>& v, cudaStream_t s = nullptr) { upload(v.data(), v.size(), s); }
  /// Copies the first n values out (synchronous on s).
  void download(T* host, std::size_t n, cudaStream_t s = nullptr) const {
    require(n <= n_, "device_buffer::download: ", n, " values asked of a buffer of ", n_);
    if (n) {
      RNNABS_CUDA_CHECK(cudaMemcpyAsync(host, p_, n * sizeof(T), cudaMemcpyDeviceToHost, s));
      RNNABS_CUDA_CHECK(cudaStreamSynchronize(s));
    }
  }
  std::vector<T> to_host(cudaStream_t s = nullptr) const {
    std::vector<T> v(n_);
    download(v.data(), n_, s);
    return v;
  }
  /// Sets every byte (0xFF poisons floats and doubles with NaN: tests use it before each run).
  void fill_bytes(int byte, cudaStream_t s = nullptr) {
    if (n_) RNNABS_CUDA_CHECK(cudaMemsetAsync(p_, byte, bytes(), s));
  }
  void zero(cudaStream_t s = nullptr) { fill_bytes(0, s); }

 private:
  void release() noexcept {
    if (p_) (void)cudaFree(p_);
    p_ = nullptr;
    n_ = 0;
  }
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

/// A cuBLAS handle bound to a stream.
class cublas_handle {
 public:
  explicit cublas_handle(cudaStream_t s = nullptr) {
    RNNABS_CUDA_CHECK(cublasCreate(&h_));
    RNNABS_CUDA_CHECK(cublasSetStream(h_, s));
  }
  ~cublas_handle() {
    if (h_) (void)cublasDestroy(h_);
  }
  cublas_handle(const cublas_handle&) = delete;
  cublas_handle& operator=(const cublas_handle&) = delete;
  cublasHandle_t get() const noexcept { return h_; }
  operator cublasHandle_t() const noexcept { return h_; }
  /// Tensor-core TF32 for float GEMMs (off by default: exact FP32, comparable with the CPU twin).
  void allow_tf32(bool on) {
    RNNABS_CUDA_CHECK(cublasSetMathMode(h_, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  }

 private:
  cublasHandle_t h_ = nullptr;
};

/// A dense cuSOLVER handle bound to a stream.
class cusolver_handle {
 public:
  explicit cusolver_handle(cudaStream_t s = nullptr) {
    RNNABS_CUDA_CHECK(cusolverDnCreate(&h_));
    RNNABS_CUDA_CHECK(cusolverDnSetStream(h_, s));
  }
  ~cusolver_handle() {
    if (h_) (void)cusolverDnDestroy(h_);
  }
  cusolver_handle(const cusolver_handle&) = delete;
  cusolver_handle& operator=(const cusolver_handle&) = delete;
  cusolverDnHandle_t get() const noexcept { return h_; }
  operator cusolverDnHandle_t() const noexcept { return h_; }

 private:
  cusolverDnHandle_t h_ = nullptr;
};

/// A cuRAND generator (Philox4x32-10: counter-based, the same stream for a seed on any device).
class curand_generator {
 public:
  explicit curand_generator(std::uint64_t seed, cudaStream_t s = nullptr) {
    RNNABS_CUDA_CHECK(curandCreateGenerator(&g_, CURAND_RNG_PSEUDO_PHILOX4_32_10));
    RNNABS_CUDA_CHECK(curandSetPseudoRandomGeneratorSeed(g_, seed));
    RNNABS_CUDA_CHECK(curandSetStream(g_, s));
  }
  ~curand_generator() {
    if (g_) (void)curandDestroyGenerator(g_);
  }
  curand_generator(const curand_generator&) = delete;
  curand_generator& operator=(const curand_generator&) = delete;
  curandGenerator_t get() const noexcept { return g_; }
  operator curandGenerator_t() const noexcept { return g_; }

 private:
  curandGenerator_t g_ = nullptr;
};

/// A cuDNN handle bound to a stream.
class cudnn_handle {
 public:
  explicit cudnn_handle(cudaStream_t s = nullptr) {
    RNNABS_CUDA_CHECK(cudnnCreate(&h_));
    RNNABS_CUDA_CHECK(cudnnSetStream(h_, s));
  }
  ~cudnn_handle() {
    if (h_) (void)cudnnDestroy(h_);
  }
  cudnn_handle(const cudnn_handle&) = delete;
  cudnn_handle& operator=(const cudnn_handle&) = delete;
  cudnnHandle_t get() const noexcept { return h_; }
  operator cudnnHandle_t() const noexcept { return h_; }

 private:
  cudnnHandle_t h_ = nullptr;
};

/// The handles one computation needs, on one stream.
struct context {
  cuda::stream stream;
  cublas_handle blas{stream.get()};
  cusolver_handle solver{stream.get()};
  void synchronize() const { stream.synchronize(); }
};

/// Backend selector of the routines that exist on both sides.
enum class backend { cpu, cuda };

}  // namespace rnnabs::cuda
