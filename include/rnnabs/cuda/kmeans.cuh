#pragma once
// k-means on the GPU: the twin of rnnabs::kmeans (stats/kmeans.hpp) — greedy k-means++ seeding with
// the CPU's random draws, then Lloyd — and the initialisation of the GPU Gaussian-mixture fit.
//
//   rnnabs::kmeans km({.n_clusters = 37, .seed = 7});
//   rnnabs::cuda::fit(km, Z);                        // seeding and Lloyd on the device
//   rnnabs::cuda::fit(km, Z, rnnabs::cuda::backend::cpu);
//
// Everything O(N·K·D) runs on the device: the D² distances of the seeding, the potentials of its
// candidates, each Lloyd assignment and the centre sums (the labelled pass of gmm.cuh: Σw and
// Σw(x − c) per cluster, summed around the current centres). The host draws the random numbers in the
// CPU's order, finds a draw in the cumulative sums by chunk (the device sums chunks of 4096 points, the
// host scans the one chunk that holds the draw), and does the K×D centre update. Distances are exact
// squared norms in double; every sum has a fixed order, so a fit is deterministic on a given device.
// Against the CPU: the same seeding up to rounding in the cumulative sums (a draw within rounding of a
// boundary may pick the neighbouring point), labels equal except for points within rounding of a tie
// (the CPU assigns float data in float), centres and inertia equal to rounding otherwise.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include "rnnabs/cuda/blas.cuh"
#include "rnnabs/cuda/gmm_engine.cuh"
#include "rnnabs/cuda/points.cuh"
#include "rnnabs/cuda/runtime.cuh"
#include "rnnabs/stats/kmeans.hpp"

namespace rnnabs::cuda {

namespace kernels {

/// Points per block in the chunked passes; the unit of the host's cumulative search.
inline constexpr int kmeans_chunk = 4096;
/// Threads per block of the chunked passes.
inline constexpr int kmeans_threads = 256;

/// Σ of v over the block (blockDim.x = kmeans_threads), returned to every thread.
__device__ inline double block_sum(double v, double* red) {
  const int tid = static_cast<int>(threadIdx.x);
  red[tid] = v;
  __syncthreads();
  for (int h = kmeans_threads / 2; h > 0; h /= 2) {
    if (tid < h) red[tid] += red[tid + h];
    __syncthreads();
  }
  const double r = red[0];
  __syncthreads();
  return r;
}

__device__ inline double squared_distance(const double* __restrict__ xi, const double* __restrict__ y, int D) {
  double s = 0;
  for (int a = 0; a < D; ++a) {
    const double d = xi[a] - y[a];
    s += d * d;
  }
  return s;
}

/// The rows [begin, end) of chunk blockIdx.x.
struct chunk_rows {
  long long begin, end;
  __device__ chunk_rows(long long n)
      : begin(static_cast<long long>(blockIdx.x) * kmeans_chunk), end(begin + kmeans_chunk) {
    if (end > n) end = n;
  }
};

/// closest[i] = ‖x_i − y‖² (first) or min(closest[i], ‖x_i − y‖²).
__global__ inline void lower_closest(const double* __restrict__ x, long long n, int D, const double* __restrict__ y,
                                     int first, double* __restrict__ closest) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const double d = squared_distance(x + i * D, y, D);
    closest[i] = first ? d : fmin(closest[i], d);
  }
}

/// out[chunk] = Σ_{i in chunk} w_i·v_i (a null w or v counts as ones).
__global__ inline void chunk_sums(const double* __restrict__ w, const double* __restrict__ v, long long n,
                                  double* __restrict__ out) {
  __shared__ double red[kmeans_threads];
  const chunk_rows r(n);
  double s = 0;
  for (long long i = r.begin + threadIdx.x; i < r.end; i += kmeans_threads) s += (w ? w[i] : 1.0) * (v ? v[i] : 1.0);
  s = block_sum(s, red);
  if (threadIdx.x == 0) out[blockIdx.x] = s;
}

/// out[j] = w_{b+j}·v_{b+j} for j < m: one chunk's terms, for the host's sequential scan.
__global__ inline void weighted_terms(const double* __restrict__ w, const double* __restrict__ v, long long b, int m,
                                      double* __restrict__ out) {
  const int j = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (j < m) out[j] = (w ? w[b + j] : 1.0) * (v ? v[b + j] : 1.0);
}

/// out[chunk·T + t] = Σ_{i in chunk} w_i·min(closest_i, ‖x_i − cand_t‖²): the seeding potential after
/// adding candidate t (cand: T×D, read through the cache), per chunk.
__global__ inline void candidate_potentials(const double* __restrict__ x, const double* __restrict__ w,
                                            const double* __restrict__ closest, long long n, int D,
                                            const double* __restrict__ cand, int T, double* __restrict__ out) {
  __shared__ double red[kmeans_threads];
  const chunk_rows r(n);
  for (int t = 0; t < T; ++t) {
    double s = 0;
    for (long long i = r.begin + threadIdx.x; i < r.end; i += kmeans_threads)
      s += (w ? w[i] : 1.0) * fmin(closest[i], squared_distance(x + i * D, cand + t * D, D));
    s = block_sum(s, red);
    if (threadIdx.x == 0) out[static_cast<long long>(blockIdx.x) * T + t] = s;
  }
}

/// label[i] = argmin_k ‖x_i − c_k‖² (ties to the lower k), dist[i] = that squared distance;
/// changed[chunk] = how many labels of the chunk changed.
__global__ inline void assign_nearest(const double* __restrict__ x, long long n, int D, const double* __restrict__ c,
                                      int K, int* __restrict__ label, double* __restrict__ dist,
                                      double* __restrict__ changed) {
  __shared__ double red[kmeans_threads];
  const chunk_rows r(n);
  double moved = 0;
  for (long long i = r.begin + threadIdx.x; i < r.end; i += kmeans_threads) {
    const double* xi = x + i * D;
    int best = 0;
    double bd = squared_distance(xi, c, D);
    for (int k = 1; k < K; ++k) {
      const double d = squared_distance(xi, c + static_cast<long long>(k) * D, D);
      if (d < bd) {
        bd = d;
        best = k;
      }
    }
    moved += label[i] != best ? 1.0 : 0.0;
    label[i] = best;
    dist[i] = bd;
  }
  moved = block_sum(moved, red);
  if (threadIdx.x == 0) changed[blockIdx.x] = moved;
}

/// dist[i] = ‖x_i − c_{label[i]}‖².
__global__ inline void own_distance(const double* __restrict__ x, long long n, int D, const double* __restrict__ c,
                                    const int* __restrict__ label, double* __restrict__ dist) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x)
    dist[i] = squared_distance(x + i * D, c + static_cast<long long>(label[i]) * D, D);
}

}  // namespace kernels

/// k-means passes over points resident on the device, for K clusters.
class kmeans_engine {
 public:
  kmeans_engine(const device_points& data, index_t K, cudaStream_t s = nullptr)
      : data_(data), K_(checked(K, data)), s_(s), sums_(data, K, moments::first, s) {
    const auto n = static_cast<std::size_t>(data.n());
    chunks_ = static_cast<int>((data.n() + kernels::kmeans_chunk - 1) / kernels::kmeans_chunk);
    closest_.resize(n);
    dist_.resize(n);
    label_.resize(n);
    chunk_out_.resize(static_cast<std::size_t>(chunks_) * 32);
    terms_.resize(static_cast<std::size_t>(kernels::kmeans_chunk));
    centres_.resize(static_cast<std::size_t>(K * data.d()));
    label_.fill_bytes(0xFF, s_);    // -1: no label yet
    closest_.fill_bytes(0xFF, s_);  // NaN until written: a missed write cannot pass the tests
    dist_.fill_bytes(0xFF, s_);
  }

  /// The row indices of the K initial centres chosen by greedy k-means++ (the CPU's
  /// detail::kmeans_plusplus: 2 + ⌊ln K⌋ candidates per centre, the same draws from `gen`).
  /// `weighted` = false ignores the sample weights (gaussian_mixture's kmeans_plusplus init).
  index_vector plusplus(rng& gen, bool weighted = true) {
    const index_t n = data_.n(), d = data_.d();
    const double* w = weighted ? data_.w() : nullptr;
    const index_t trials = 2 + static_cast<index_t>(std::log(static_cast<double>(K_)));
    index_vector chosen(K_);
    if (!w) {
      chosen(0) = static_cast<index_t>(gen.below(static_cast<std::uint64_t>(n)));
    } else {
      const std::vector<double> cum = cumulative(w, nullptr);
      chosen(0) = search(cum, w, nullptr, gen.uniform() * cum.back());
    }
    std::vector<double> y = row(chosen(0));
    lower(y, true);
    std::vector<index_t> cand(static_cast<std::size_t>(trials));
    std::vector<double> cand_x(static_cast<std::size_t>(trials * d));
    device_buffer<double> cand_dev(cand_x.size());
    for (index_t c = 1; c < K_; ++c) {
      const std::vector<double> cum = cumulative(w, closest_.data());
      const double pot = cum.back();
      for (index_t t = 0; t < trials; ++t) {
        cand[static_cast<std::size_t>(t)] = search(cum, w, closest_.data(), gen.uniform() * pot);
        const std::vector<double> r = row(cand[static_cast<std::size_t>(t)]);
        std::copy(r.begin(), r.end(), cand_x.begin() + t * d);
      }
      cand_dev.upload(cand_x, s_);
      if (chunk_out_.size() < static_cast<std::size_t>(chunks_ * trials))
        chunk_out_.resize(static_cast<std::size_t>(chunks_ * trials));
      kernels::candidate_potentials<<<chunks_, kernels::kmeans_threads, 0, s_>>>(
          data_.x(), w, closest_.data(), n, static_cast<int>(d), cand_dev.data(), static_cast<int>(trials),
          chunk_out_.data());
      RNNABS_CUDA_CHECK_LAUNCH("candidate_potentials kernel");
      std::vector<double> per(static_cast<std::size_t>(chunks_ * trials));
      chunk_out_.download(per.data(), per.size(), s_);
      std::vector<double> cand_pot(static_cast<std::size_t>(trials), 0.0);
      for (int b = 0; b < chunks_; ++b)  // chunks in order
        for (index_t t = 0; t < trials; ++t)
          cand_pot[static_cast<std::size_t>(t)] += per[static_cast<std::size_t>(b * trials + t)];
      const auto best = std::min_element(cand_pot.begin(), cand_pot.end()) - cand_pot.begin();  // first minimum
      chosen(c) = cand[static_cast<std::size_t>(best)];
      lower(std::vector<double>(cand_x.begin() + best * d, cand_x.begin() + (best + 1) * d), false);
    }
    return chosen;
  }

  /// Labels (on the device, labels()) of the nearest centres; returns how many changed since the
  /// previous assignment (all of them the first time). dist() then holds each point's squared distance.
  index_t assign(const matrix<double>& c) {
    upload_centres(c);
    kernels::assign_nearest<<<chunks_, kernels::kmeans_threads, 0, s_>>>(
        data_.x(), data_.n(), static_cast<int>(data_.d()), centres_.data(), static_cast<int>(K_), label_.data(),
        dist_.data(), chunk_out_.data());
    RNNABS_CUDA_CHECK_LAUNCH("assign_nearest kernel");
    std::vector<double> moved(static_cast<std::size_t>(chunks_));
    chunk_out_.download(moved.data(), moved.size(), s_);
    double total = 0;
    for (double m : moved) total += m;
    return static_cast<index_t>(total);
  }

  /// Lloyd from centres c, as the CPU's detail::lloyd: stop when no label changes or the total squared
  /// centre shift is <= tol_abs; an empty cluster takes the point farthest from its centre (farthest
  /// first, lower index on ties). Labels are downloaded into the result when `with_labels`.
  rnnabs::detail::kmeans_result lloyd(matrix<double> c, index_t max_iter, double tol_abs, bool with_labels = true) {
    require(c.rows() == K_ && c.cols() == data_.d(), "cuda::kmeans: initial centres are ", c.rows(), " x ", c.cols(),
            ", expected ", K_, " x ", data_.d());
    label_.fill_bytes(0xFF, s_);  // -1: every label changes on the first assignment
    rnnabs::detail::kmeans_result r;
    bool strict = false, small_shift = false;
    index_t it = 0;
    for (; it < max_iter; ++it) {
      const index_t changed = assign(c);
      rnnabs::detail::gmm_stats st = sums_.label_stats(label_.data(), c);
      relocate_empty(c, st);
      matrix<double> c_new = c;
      for (index_t j = 0; j < K_; ++j)
        if (st.nk[j] > 0)
          for (index_t a = 0; a < c.cols(); ++a) c_new(j, a) = c(j, a) + st.s1[j * c.cols() + a] / st.nk[j];
      const double shift = (c_new - c).squaredNorm();
      c = std::move(c_new);
      if (changed == 0) {
        strict = true;
        break;
      }
      if (shift <= tol_abs) {
        small_shift = true;
        break;
      }
    }
    r.n_iter = std::min(it + 1, max_iter);
    if (!strict) assign(c);  // labels of the final centres
    upload_centres(c);
    kernels::own_distance<<<grid_for(static_cast<std::size_t>(data_.n())), 256, 0, s_>>>(
        data_.x(), data_.n(), static_cast<int>(data_.d()), centres_.data(), label_.data(), dist_.data());
    RNNABS_CUDA_CHECK_LAUNCH("own_distance kernel");
    r.inertia = cumulative(data_.w(), dist_.data()).back();
    r.converged = strict || small_shift;
    r.centers = std::move(c);
    if (with_labels) r.labels = download_labels();
    return r;
  }

  /// The current labels (device, N values).
  const int* labels() const noexcept { return label_.data(); }
  index_vector download_labels() const {
    std::vector<int> h(static_cast<std::size_t>(data_.n()));
    label_.download(h.data(), h.size(), s_);
    index_vector out(data_.n());
    for (index_t i = 0; i < data_.n(); ++i) out[i] = h[static_cast<std::size_t>(i)];
    return out;
  }
  /// Row i of the points (D values, copied from the device).
  std::vector<double> row(index_t i) const {
    std::vector<double> y(static_cast<std::size_t>(data_.d()));
    RNNABS_CUDA_CHECK(
        cudaMemcpyAsync(y.data(), data_.x() + i * data_.d(), y.size() * sizeof(double), cudaMemcpyDeviceToHost, s_));
    RNNABS_CUDA_CHECK(cudaStreamSynchronize(s_));
    return y;
  }

 private:
  static index_t checked(index_t K, const device_points& data) {
    require(K >= 1 && K <= data.n(), "cuda::kmeans: n_clusters must be in [1, N] = [1, ", data.n(), "], got ", K);
    return K;
  }
  void upload_centres(const matrix<double>& c) {
    RNNABS_CUDA_CHECK(cudaMemcpyAsync(centres_.data(), c.data(), static_cast<std::size_t>(c.size()) * sizeof(double),
                                      cudaMemcpyHostToDevice, s_));
    RNNABS_CUDA_CHECK(cudaStreamSynchronize(s_));  // c may change or go once we return
  }
  /// closest = ‖x − y‖² (first) or its minimum with it.
  void lower(const std::vector<double>& y, bool first) {
    point_.upload(y.data(), y.size(), s_);
    kernels::lower_closest<<<grid_for(static_cast<std::size_t>(data_.n())), 256, 0, s_>>>(
        data_.x(), data_.n(), static_cast<int>(data_.d()), point_.data(), first ? 1 : 0, closest_.data());
    RNNABS_CUDA_CHECK_LAUNCH("lower_closest kernel");
  }
  /// Inclusive cumulative sums of Σ w·v over the chunks, added on the host in chunk order.
  std::vector<double> cumulative(const double* w, const double* v) {
    kernels::chunk_sums<<<chunks_, kernels::kmeans_threads, 0, s_>>>(w, v, data_.n(), chunk_out_.data());
    RNNABS_CUDA_CHECK_LAUNCH("chunk_sums kernel");
    std::vector<double> cum(static_cast<std::size_t>(chunks_));
    chunk_out_.download(cum.data(), cum.size(), s_);
    std::partial_sum(cum.begin(), cum.end(), cum.begin());
    return cum;
  }
  /// The first point whose running sum of w·v reaches `target` (numpy's searchsorted, side 'left',
  /// clipped to the last point): the chunk from `cum`, then a sequential scan of its terms.
  index_t search(const std::vector<double>& cum, const double* w, const double* v, double target) {
    const index_t n = data_.n();
    auto c = static_cast<index_t>(std::lower_bound(cum.begin(), cum.end(), target) - cum.begin());
    double s = c > 0 && c < static_cast<index_t>(cum.size()) ? cum[static_cast<std::size_t>(c - 1)] : 0.0;
    std::vector<double> h(static_cast<std::size_t>(kernels::kmeans_chunk));
    for (; c < static_cast<index_t>(cum.size()); ++c) {  // past the chunk only when rounding differs
      const index_t b = c * kernels::kmeans_chunk, m = std::min<index_t>(kernels::kmeans_chunk, n - b);
      kernels::weighted_terms<<<grid_for(static_cast<std::size_t>(m)), 256, 0, s_>>>(w, v, b, static_cast<int>(m),
                                                                                     terms_.data());
      RNNABS_CUDA_CHECK_LAUNCH("weighted_terms kernel");
      terms_.download(h.data(), static_cast<std::size_t>(m), s_);
      for (index_t j = 0; j < m; ++j)
        if ((s += h[static_cast<std::size_t>(j)]) >= target) return b + j;
    }
    return n - 1;
  }
  /// The CPU's relocate_empty on sums shifted by the centres: an empty cluster j takes the farthest
  /// point x (Σw = w_x, Σw(x − c_j) = w_x (x − c_j)), which leaves the cluster it came from.
  void relocate_empty(const matrix<double>& c, rnnabs::detail::gmm_stats& st) {
    std::vector<index_t> empty;
    for (index_t j = 0; j < K_; ++j)
      if (st.nk[j] == 0.0) empty.push_back(j);
    if (empty.empty()) return;
    const index_t n = data_.n(), D = data_.d();
    std::vector<double> dist(static_cast<std::size_t>(n));
    dist_.download(dist.data(), dist.size(), s_);
    const index_vector lab = download_labels();
    const std::vector<index_t> order = rnnabs::detail::farthest_first(dist, empty.size());
    for (std::size_t e = 0; e < order.size(); ++e) {
      const index_t far = order[e], to = empty[e];
      const index_t from = lab[far];
      double wi = 1.0;
      if (data_.w()) {
        RNNABS_CUDA_CHECK(cudaMemcpyAsync(&wi, data_.w() + far, sizeof(double), cudaMemcpyDeviceToHost, s_));
        RNNABS_CUDA_CHECK(cudaStreamSynchronize(s_));
      }
      const std::vector<double> xi = row(far);
      for (index_t a = 0; a < D; ++a) {
        st.s1[from * D + a] -= wi * (xi[static_cast<std::size_t>(a)] - c(from, a));
        st.s1[to * D + a] = wi * (xi[static_cast<std::size_t>(a)] - c(to, a));
      }
      st.nk[from] -= wi;
      st.nk[to] = wi;
    }
  }

  const device_points& data_;
  index_t K_;
  cudaStream_t s_;
  gmm_engine sums_;
  int chunks_ = 1;
  device_buffer<double> closest_, dist_, chunk_out_, terms_, centres_, point_;
  device_buffer<int> label_;
};

/// Fits `km` (its options: n_clusters, n_init, max_iter, tol, seed) on the rows of X with the chosen
/// backend: the CPU's k-means++ draws and Lloyd loop, with every pass over the points on the device.
template <class Derived>
kmeans& fit(kmeans& km, const Eigen::MatrixBase<Derived>& X, backend b = backend::cuda,
            const vector<double>& sample_weight = vector<double>()) {
  using T = typename Derived::Scalar;
  static_assert(real_scalar<T>, "rnnabs::cuda::fit(kmeans): X must hold float or double");
  if (b == backend::cpu) return km.fit(X, sample_weight);
  const kmeans_options o = km.options();
  const matrix_cref<T> xr(X.derived());
  rnnabs::detail::check_kmeans_options(o, "cuda::fit(kmeans)");
  rnnabs::detail::check_kmeans_input(xr, o.n_clusters, sample_weight, "cuda::fit(kmeans)");
  const double tol_abs = rnnabs::detail::kmeans_tolerance<T>(xr, o.tol);
  stream s;
  const device_points data(xr, sample_weight.size() ? sample_weight.data() : nullptr, s.get());
  kmeans_engine eng(data, o.n_clusters, s.get());
  rnnabs::detail::kmeans_result best;
  for (index_t run = 0; run < o.n_init; ++run) {
    rng gen = rng::stream(o.seed, static_cast<std::uint64_t>(run));
    const index_vector idx = eng.plusplus(gen);
    matrix<double> c0(o.n_clusters, xr.cols());
    for (index_t j = 0; j < c0.rows(); ++j) c0.row(j) = xr.row(idx(j)).template cast<double>();
    rnnabs::detail::kmeans_result r = eng.lloyd(std::move(c0), o.max_iter, tol_abs);
    // The CPU keeps the first of two runs that end on the same partition (equal inertia); here the
    // centres' last bits depend on the path (sums around the previous centres), so a later run must
    // be better by more than rounding to win.
    if (run == 0 || r.inertia < best.inertia * (1 - 1e-12)) best = std::move(r);
  }
  km = kmeans::from_result(o, std::move(best));
  return km;
}

/// GPU twin of kmeans_plusplus_indices: the same greedy k-means++ with the same draws from `gen`.
template <class Derived>
index_vector kmeans_plusplus_indices(const Eigen::MatrixBase<Derived>& X, index_t k, rng& gen,
                                     const vector<double>& sample_weight = vector<double>()) {
  using T = typename Derived::Scalar;
  const matrix_cref<T> xr(X.derived());
  rnnabs::detail::check_kmeans_input(xr, k, sample_weight, "cuda::kmeans_plusplus_indices");
  stream s;
  const device_points data(xr, sample_weight.size() ? sample_weight.data() : nullptr, s.get());
  kmeans_engine eng(data, k, s.get());
  return eng.plusplus(gen);
}

}  // namespace rnnabs::cuda
