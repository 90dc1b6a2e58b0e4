#pragma once
// The per-tile kernels of the streaming EM. One pass over a tile computes the weighted
// log-probabilities of its points under every component, normalizes them into responsibilities
// (log-sum-exp per point), and accumulates the sufficient statistics of the next M-step around
// the current means (shifted sums: the variance never comes from a one-pass E[x²]−E[x]²).
// Loops run over points in fixed-width lane blocks so they vectorize without fast-math and the
// summation order is fixed (bit-identical results for any thread count).
#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>

#include "rnnabs/stats/detail/gmm_tiles.hpp"
#include "rnnabs/stats/gmm_types.hpp"

namespace rnnabs::detail {

/// Points processed together by the kernels: several SIMD packets, so each statement has
/// independent dependency chains. Eigen's fixed-size arrays give vector code on any ISA.
template <class S>
inline constexpr index_t gmm_block = 256 / static_cast<index_t>(sizeof(S));  // 32 doubles, 64 floats
static_assert(gmm_tile % gmm_block<double> == 0 && gmm_tile % gmm_block<float> == 0);
template <class S>
using gmm_lane_block = Eigen::Array<S, gmm_block<S>, 1>;
template <class S>
using gmm_tile_array = Eigen::Array<S, gmm_tile, 1>;
template <class S>
using gmm_block_map = Eigen::Map<const gmm_lane_block<S>>;
template <class S>
using gmm_tile_map = Eigen::Map<gmm_tile_array<S>>;
template <class S>
using gmm_tile_cmap = Eigen::Map<const gmm_tile_array<S>>;

/// Component parameters in the form the kernels want, in the kernels' arithmetic S.
template <class S>
struct basic_gmm_kernel_model {
  index_t k = 0, d = 0;
  bool full = false;      // full/tied (triangular precision factor) vs diag/spherical
  bool tied = false;      // one factor shared by all components
  aligned_vector<S> mu;   // K×D means (also the shift of the accumulated statistics)
  aligned_vector<S> hp;   // diag: K×D, half precisions 0.5/σ²
  aligned_vector<S> rs;   // diag: K×D, sqrt(hp) = 1/(σ√2): the E-step's (x·rs − μ·rs)² is two FMAs
  aligned_vector<S> mrs;  // diag: K×D, μ·rs
  aligned_vector<S> pc;   // full: (tied ? 1 : K)×D×D upper-triangular U with Σ⁻¹ = U Uᵀ, [row d][col j]
  aligned_vector<S> c;    // K: log w_k + log|U_k| − D/2·log 2π

  const S* factor(index_t j) const noexcept { return pc.data() + (tied ? 0 : j) * d * d; }
  /// Derives rs and mrs from hp and mu (diag/spherical); call after setting them.
  void set_scales() {
    rs.resize(hp.size());
    mrs.resize(hp.size());
    for (std::size_t i = 0; i < hp.size(); ++i) {
      rs[i] = std::sqrt(hp[i]);
      mrs[i] = mu[i] * rs[i];
    }
  }
};
using gmm_kernel_model = basic_gmm_kernel_model<double>;

/// The model rounded to float, for the single-precision pass.
inline basic_gmm_kernel_model<float> narrow(const gmm_kernel_model& m) {
  basic_gmm_kernel_model<float> f;
  f.k = m.k;
  f.d = m.d;
  f.full = m.full;
  f.tied = m.tied;
  auto cast = [](const aligned_vector<double>& v) { return aligned_vector<float>(v.begin(), v.end()); };
  f.mu = cast(m.mu);
  f.hp = cast(m.hp);
  f.rs = cast(m.rs);
  f.mrs = cast(m.mrs);
  f.pc = cast(m.pc);
  f.c = cast(m.c);
  return f;
}

/// Sufficient statistics of one chunk (or of all data, after merging in chunk order).
struct gmm_stats {
  index_t k = 0, d = 0;
  bool full = false;
  std::vector<double> nk;  // K: Σ r
  std::vector<double> s1;  // K×D: Σ r (x − μ)
  std::vector<double> s2;  // diag: K×D Σ r (x − μ)²;  full: K×D×D, lower triangle of Σ r (x − μ)(x − μ)ᵀ
  double loglik = 0;       // Σ w · log p(x)

  gmm_stats() = default;
  gmm_stats(index_t k_, index_t d_, bool full_)
      : k(k_), d(d_), full(full_), nk(k_, 0.0), s1(k_ * d_, 0.0), s2(full_ ? k_ * d_ * d_ : k_ * d_, 0.0) {}
  void merge(const gmm_stats& o) {
    for (std::size_t i = 0; i < nk.size(); ++i) nk[i] += o.nk[i];
    for (std::size_t i = 0; i < s1.size(); ++i) s1[i] += o.s1[i];
    for (std::size_t i = 0; i < s2.size(); ++i) s2[i] += o.s2[i];
    loglik += o.loglik;
  }
  template <class F>
  void for_each_buffer(F&& f) {  // what travels between ranks (core/communicator.hpp)
    for (auto* v : {&nk, &s1, &s2}) f(std::as_writable_bytes(std::span<double>(*v)));
    f(std::as_writable_bytes(std::span<double>(&loglik, 1)));
  }
};

/// Scratch of one worker: K×tile log-probabilities / responsibilities and per-point temporaries.
template <class S>
struct basic_gmm_scratch {
  aligned_vector<S> lp, diff, wdiff, mx, lse;
  basic_gmm_scratch(index_t k, index_t d)
      : lp(k * gmm_tile), diff(d * gmm_tile), wdiff(d * gmm_tile), mx(gmm_tile), lse(gmm_tile) {}
};
using gmm_scratch = basic_gmm_scratch<double>;

/// Weighted component log-densities of one tile: lp[j][p] = log w_j + log N(x_p | μ_j, Σ_j).
template <class S>
void tile_log_prob(const basic_gmm_kernel_model<S>& m, const S* x, basic_gmm_scratch<S>& s) {
  constexpr index_t T = gmm_tile, B = gmm_block<S>;
  using block = gmm_lane_block<S>;
  using bmap = gmm_block_map<S>;
  const index_t D = m.d;
  for (index_t j = 0; j < m.k; ++j) {
    const S* mu = m.mu.data() + j * D;
    S* out = s.lp.data() + j * T;
    if (!m.full) {
      // hp·(x − μ)² as t² with t = x·rs − μ·rs (one FMA each); the error of t is eps·|μ|/σ, not a
      // cancellation of large sums (sklearn's x² − 2xμ + μ² form).
      const S* rs = m.rs.data() + j * D;
      const S* mrs = m.mrs.data() + j * D;
      for (index_t p0 = 0; p0 < T; p0 += B) {
        block acc = block::Zero();
        for (index_t a = 0; a < D; ++a) {
          const block t = bmap(x + a * T + p0) * rs[a] - mrs[a];
          acc += t * t;
        }
        Eigen::Map<block>(out + p0) = m.c[j] - acc;
      }
    } else {
      const S* U = m.factor(j);
      S* df = s.diff.data();
      for (index_t a = 0; a < D; ++a) gmm_tile_map<S>(df + a * T) = gmm_tile_cmap<S>(x + a * T) - mu[a];
      for (index_t p0 = 0; p0 < T; p0 += B) {
        block acc = block::Zero();
        for (index_t b = 0; b < D; ++b) {  // y_b = Σ_{a≤b} (x−μ)_a U_ab
          block y = bmap(df + p0) * U[b];
          for (index_t a = 1; a <= b; ++a) y += bmap(df + a * T + p0) * U[a * D + b];
          acc += y.square();
        }
        Eigen::Map<block>(out + p0) = m.c[j] - S(0.5) * acc;
      }
    }
  }
}

/// Constants of exp_nonpositive per scalar: the split of ln 2, the rounding shifter, the lowest
/// argument kept (below it exp underflows the normal range: 0), the exponent field, and the Taylor
/// coefficients of e^r for Horner's rule, highest order first.
template <class S>
struct exp_constants;
template <>
struct exp_constants<double> {
  using bits = std::int64_t;
  using ubits = std::uint64_t;
  static constexpr double log2e = 1.4426950408889634074, ln2_hi = 0.693145751953125, ln2_lo = 1.42860682030941723212e-6,
                          shifter = 0x1.8p52, lowest = -708.3, resp_cutoff = -600.0;
  static constexpr int bias = 1023, mantissa = 52;
  static constexpr std::array<double, 14> taylor = {// degree 13
                                                    1.0 / 6227020800.0,
                                                    1.0 / 479001600.0,
                                                    1.0 / 39916800.0,
                                                    1.0 / 3628800.0,
                                                    1.0 / 362880.0,
                                                    1.0 / 40320.0,
                                                    1.0 / 5040.0,
                                                    1.0 / 720.0,
                                                    1.0 / 120.0,
                                                    1.0 / 24.0,
                                                    1.0 / 6.0,
                                                    0.5,
                                                    1.0,
                                                    1.0};
};
template <>
struct exp_constants<float> {
  using bits = std::int32_t;
  using ubits = std::uint32_t;
  static constexpr float log2e = 1.44269504f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f, shifter = 0x1.8p23f,
                         lowest = -87.3f, resp_cutoff = -64.0f;
  static constexpr int bias = 127, mantissa = 23;
  static constexpr std::array<float, 8> taylor = {
      // degree 7: truncation below 1e-8 relative
      1.0f / 5040.0f, 1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f};
};

/// exp(v[i]) in place for v[i] <= 0 (log-sum-exp arguments): 2^k·e^r with |r| <= ln2/2 and a Taylor
/// polynomial — double within 1 ulp of std::exp, float within 2 ulp of the correctly rounded value
/// (tested); no division, so it vectorizes to about half the cost of Eigen's rational approximation.
/// Arguments below `cutoff` (at least `lowest`: -708.3 in double, -87.3 in float) give 0.
template <class S>
void exp_nonpositive(S* v, index_t n, S cutoff = exp_constants<S>::lowest) noexcept {
  using E = exp_constants<S>;
  using bits = typename E::bits;
  for (index_t i = 0; i < n; ++i) {
    const S x = v[i] < E::lowest ? E::lowest : v[i];
    const S t = x * E::log2e + E::shifter;  // adding the shifter rounds to an integer in the low mantissa bits
    const S k = t - E::shifter;
    const bits ki = std::bit_cast<bits>(t) - std::bit_cast<bits>(E::shifter);
    const S r = (x - k * E::ln2_hi) - k * E::ln2_lo;
    S p = E::taylor[0];
    for (std::size_t j = 1; j < E::taylor.size(); ++j) p = p * r + E::taylor[j];
    const S scale = std::bit_cast<S>(static_cast<typename E::ubits>(ki + E::bias) << E::mantissa);
    v[i] = v[i] < cutoff ? S(0) : p * scale;
  }
}

/// Turns lp into responsibilities times the sample weight, in place, and writes the per-point
/// log-likelihood log Σ_j exp(lp[j][p]) into s.lse. Returns Σ_p w_p · lse_p (summed in double).
/// A responsibility below e^resp_cutoff of the point's largest (e^-600 in double, e^-64 in float) is
/// 0: it cannot move any sum beyond rounding, and its products in the M-step would be subnormal
/// numbers, which cost a microcode assist each on Intel cores (the float pass ran ~2× slower).
template <class S>
double tile_normalize(index_t K, const S* w, basic_gmm_scratch<S>& s) {
  constexpr index_t T = gmm_tile;
  using map = gmm_tile_map<S>;
  using cmap = gmm_tile_cmap<S>;
  S* lp = s.lp.data();
  map mx(s.mx.data()), sum(s.lse.data());
  mx = map(lp);
  for (index_t j = 1; j < K; ++j) mx = mx.max(map(lp + j * T));
  sum.setZero();
  for (index_t j = 0; j < K; ++j) {
    map e(lp + j * T);
    e -= mx;
    exp_nonpositive(lp + j * T, T, exp_constants<S>::resp_cutoff);
    sum += e;
  }
  const gmm_tile_array<S> inv = cmap(w) / sum;
  for (index_t j = 0; j < K; ++j) map(lp + j * T) *= inv;
  sum = mx + sum.log();
  if constexpr (std::is_same_v<S, double>) {
    return (cmap(w) * sum).sum();
  } else {
    return (cmap(w).template cast<double>() * sum.template cast<double>()).sum();
  }
}

/// The statistics of one work chunk while its tiles are accumulated: diagonal sums (and Σ r) are
/// kept per SIMD lane (W = one 64-byte vector of S) and reduced into the double gmm_stats once per
/// chunk, so the hot loop does no horizontal reduction; full/tied scatter sums go to gmm_stats per
/// tile. flush() must end every chunk; the order of every sum is fixed (thread-count independent).
template <class S>
struct basic_gmm_partial {
  static constexpr index_t W = 64 / static_cast<index_t>(sizeof(S));
  static_assert(gmm_tile % W == 0);
  using lane = Eigen::Array<S, W, 1>;
  gmm_stats& st;
  aligned_vector<S> nk, s1, s2;  // K×W, K×D×W, diag K×D×W (empty for full)

  explicit basic_gmm_partial(gmm_stats& out)
      : st(out), nk(static_cast<std::size_t>(out.k * W), S(0)), s1(static_cast<std::size_t>(out.k * out.d * W), S(0)),
        s2(out.full ? 0 : static_cast<std::size_t>(out.k * out.d * W), S(0)) {}

  /// v (one tile's values) folded to W lanes and added to the lanes at `at`.
  static void add(S* at, const gmm_tile_array<S>& v) {
    lane f = v.template segment<W>(0);
    for (index_t i = W; i < gmm_tile; i += W) f += v.template segment<W>(i);
    Eigen::Map<lane>(at) += f;
  }
  void flush() {
    auto reduce = [](aligned_vector<S>& lanes, std::vector<double>& into) {
      for (std::size_t i = 0; i < into.size() && !lanes.empty(); ++i) {
        Eigen::Map<lane> l(lanes.data() + i * W);
        into[i] += l.template cast<double>().sum();  // a fixed vector tree, not a serial chain
        l.setZero();
      }
    };
    reduce(nk, st.nk);
    reduce(s1, st.s1);
    if (!st.full) reduce(s2, st.s2);
  }
};

/// Σ r (x − μ_j) and Σ r (x − μ_j)² of diagonal component j over one tile (r: its responsibilities).
template <class S>
void accumulate_shifted_diag(const basic_gmm_kernel_model<S>& m, index_t j, const S* x, const S* r,
                             basic_gmm_partial<S>& acc) {
  constexpr index_t T = gmm_tile, W = basic_gmm_partial<S>::W;
  using lane = typename basic_gmm_partial<S>::lane;
  using lmap = Eigen::Map<const lane>;
  const index_t D = m.d;
  const S* mu = m.mu.data() + j * D;
  for (index_t a = 0; a < D; ++a) {
    lane f1 = lane::Zero(), f2 = lane::Zero();
    for (index_t p = 0; p < T; p += W) {  // register-resident lanes: no temporaries, no reductions
      const lane d0 = lmap(x + a * T + p) - mu[a];
      const lane rd = lmap(r + p) * d0;
      f1 += rd;
      f2 += rd * d0;
    }
    Eigen::Map<lane>(acc.s1.data() + (j * D + a) * W) += f1;
    Eigen::Map<lane>(acc.s2.data() + (j * D + a) * W) += f2;
  }
}

/// Raw moments Σ r x̃ and Σ r x̃² (x̃ = x − centre) of Q diagonal components over one tile, from the
/// tile's x̃ and x̃² rows: two FMAs per point, component and feature (the M-step's GEMM form, blocked
/// so each x̃ load serves Q components). em_pass turns them into shifted sums and checks the cancellation.
template <int Q>
void accumulate_raw_diag(const index_t* comp, index_t D, const double* lp, const double* xc, const double* xq,
                         basic_gmm_partial<double>& acc) {
  constexpr index_t T = gmm_tile, W = basic_gmm_partial<double>::W;
  using lane = typename basic_gmm_partial<double>::lane;
  using lmap = Eigen::Map<const lane>;
  for (index_t a = 0; a < D; ++a) {
    std::array<lane, Q> f1, f2;
    for (int q = 0; q < Q; ++q) f1[q] = f2[q] = lane::Zero();
    for (index_t p = 0; p < T; p += W) {
      const lane xv = lmap(xc + a * T + p), qv = lmap(xq + a * T + p);
      for (int q = 0; q < Q; ++q) {
        const lane rv = lmap(lp + comp[q] * T + p);
        f1[q] += rv * xv;
        f2[q] += rv * qv;
      }
    }
    for (int q = 0; q < Q; ++q) {
      Eigen::Map<lane>(acc.s1.data() + (comp[q] * D + a) * W) += f1[q];
      Eigen::Map<lane>(acc.s2.data() + (comp[q] * D + a) * W) += f2[q];
    }
  }
}

/// Adds one tile's responsibilities (in s.lp) to the statistics, shifted by the current means.
template <class S>
void tile_accumulate(const basic_gmm_kernel_model<S>& m, const S* x, basic_gmm_scratch<S>& s,
                     basic_gmm_partial<S>& acc) {
  constexpr index_t T = gmm_tile, W = basic_gmm_partial<S>::W;
  using map = gmm_tile_map<S>;
  using cmap = gmm_tile_cmap<S>;
  const index_t D = m.d;
  for (index_t j = 0; j < m.k; ++j) {
    const cmap r(s.lp.data() + j * T);
    const S* mu = m.mu.data() + j * D;
    acc.add(acc.nk.data() + j * W, r);
    if (!m.full) {
      accumulate_shifted_diag(m, j, x, r.data(), acc);
    } else {
      double* s2 = acc.st.s2.data() + j * D * D;
      S* df = s.diff.data();
      S* wd = s.wdiff.data();
      for (index_t a = 0; a < D; ++a) {
        map d0(df + a * T), rd(wd + a * T);
        d0 = cmap(x + a * T) - mu[a];
        rd = r * d0;
        acc.add(acc.s1.data() + (j * D + a) * W, rd);
      }
      for (index_t a = 0; a < D; ++a) {
        const cmap rd(wd + a * T);
        for (index_t b = 0; b <= a; ++b) s2[a * D + b] += (rd * cmap(df + b * T)).sum();
      }
    }
  }
}

/// Which diagonal components the double pass sums as raw moments about the centre c: split[j] = 1.
/// The fast form cancels by ρ = (Σ r x̃² + |μ̃|(|Σ r x̃| + |s1|)) / s2 ≈ 1 + ((μ − c)/σ)²; the relative
/// error of s2 is at most (summation chain, ≤ 256) · eps · ρ, so ρ is capped at gmm_raw_moment_ratio
/// (≈ 6e-11 worst case). Components predicted from the current σ to exceed an eighth of the cap keep
/// the shifted sums (σ may shrink within an iteration; convert_raw_moments checks the outcome).
inline constexpr double gmm_raw_moment_ratio = 1e3;

struct diag_split {
  std::vector<index_t> raw, shifted;
};

inline diag_split split_diag_components(const packed_points& P, const gmm_kernel_model& m,
                                        const std::vector<unsigned char>& force_shifted) {
  diag_split sp;
  for (index_t j = 0; j < m.k; ++j) {
    bool raw = !force_shifted[static_cast<std::size_t>(j)];
    for (index_t a = 0; raw && a < m.d; ++a) {
      const double off = m.mu[j * m.d + a] - P.centre[a];
      raw = 1.0 + 2.0 * m.hp[j * m.d + a] * off * off <= gmm_raw_moment_ratio / 8;
    }
    (raw ? sp.raw : sp.shifted).push_back(j);
  }
  return sp;
}

/// Turns the raw moments of the components in `raw` into the shifted sums the M-step reads
/// (s1 = Σ r x̃ − μ̃ nk, s2 = Σ r x̃² − μ̃ (Σ r x̃ + s1), μ̃ = μ − c); marks in `failed` those whose
/// cancellation exceeded the cap. Returns whether any did.
inline bool convert_raw_moments(gmm_stats& st, const gmm_kernel_model& m, const std::vector<double>& centre,
                                const std::vector<index_t>& raw, std::vector<unsigned char>& failed) {
  bool any = false;
  const index_t D = m.d;
  for (const index_t j : raw) {
    const double nk = st.nk[static_cast<std::size_t>(j)];
    for (index_t a = 0; a < D; ++a) {
      double& s1 = st.s1[static_cast<std::size_t>(j * D + a)];
      double& s2 = st.s2[static_cast<std::size_t>(j * D + a)];
      const double mt = m.mu[j * D + a] - centre[static_cast<std::size_t>(a)], u1 = s1, u2 = s2;
      s1 = u1 - mt * nk;
      s2 = u2 - mt * (u1 + s1);
      if (u2 + std::abs(mt) * (std::abs(u1) + std::abs(s1)) > gmm_raw_moment_ratio * std::max(s2, 0.0)) {
        failed[static_cast<std::size_t>(j)] = 1;
        any = true;
      }
    }
  }
  return any;
}

/// tile_accumulate for a double diag model split into raw-moment and shifted components.
inline void tile_accumulate_split(const gmm_kernel_model& m, const packed_points& P, const double* x,
                                  const diag_split& sp, gmm_scratch& s, basic_gmm_partial<double>& acc) {
  constexpr index_t T = gmm_tile, W = basic_gmm_partial<double>::W;
  const index_t D = m.d;
  double* xc = s.diff.data();  // x̃ and x̃², D×T each (the scratch rows the full kernels use)
  double* xq = s.wdiff.data();
  for (index_t a = 0; a < D; ++a) {
    gmm_tile_map<double> c(xc + a * T), q(xq + a * T);
    c = gmm_tile_cmap<double>(x + a * T) - P.centre[static_cast<std::size_t>(a)];
    q = c.square();
  }
  for (index_t j = 0; j < m.k; ++j) acc.add(acc.nk.data() + j * W, gmm_tile_cmap<double>(s.lp.data() + j * T));
  const index_t* raw = sp.raw.data();
  const auto nr = static_cast<index_t>(sp.raw.size());
  index_t i = 0;
  for (; i + 8 <= nr; i += 8) accumulate_raw_diag<8>(raw + i, D, s.lp.data(), xc, xq, acc);
  for (; i + 4 <= nr; i += 4) accumulate_raw_diag<4>(raw + i, D, s.lp.data(), xc, xq, acc);
  for (; i < nr; ++i) accumulate_raw_diag<1>(raw + i, D, s.lp.data(), xc, xq, acc);
  for (const index_t j : sp.shifted) accumulate_shifted_diag(m, j, x, s.lp.data() + j * T, acc);
}

/// One fused E+M pass over all points in arithmetic S: statistics for the next M-step and Σ w log p(x).
/// For S = float each tile (and its weights) is rounded into a scratch copy: D×64 values against the
/// K×D×64 operations that use them, so the conversion costs nothing and P stays the one copy.
/// `split` (double, diag only) names the components summed as raw moments (the rest shifted); null:
/// all shifted.
template <class S>
gmm_stats em_pass_as(const packed_points& P, const basic_gmm_kernel_model<S>& m, const diag_split* split = nullptr) {
  const gmm_stats zero(m.k, m.d, m.full);
  const bool use_raw = split != nullptr && !split->raw.empty();
  return P.reduce_tiles(
      zero,
      [&](index_t tb, index_t te, gmm_stats& st) {
        basic_gmm_scratch<S> s(m.k, m.d);
        aligned_vector<S> xs, ws;
        if constexpr (!std::is_same_v<S, double>) {
          xs.resize(static_cast<std::size_t>(m.d * gmm_tile));
          ws.resize(static_cast<std::size_t>(gmm_tile));
        }
        basic_gmm_partial<S> acc(st);
        for (index_t t = tb; t < te; ++t) {
          const S* x = nullptr;
          const S* w = nullptr;
          if constexpr (std::is_same_v<S, double>) {
            x = P.tile(t);
            w = P.weights(t);
          } else {
            std::copy_n(P.tile(t), xs.size(), xs.begin());
            std::copy_n(P.weights(t), ws.size(), ws.begin());
            x = xs.data();
            w = ws.data();
          }
          tile_log_prob(m, x, s);
          st.loglik += tile_normalize(m.k, w, s);
          if constexpr (std::is_same_v<S, double>) {
            if (use_raw) {
              tile_accumulate_split(m, P, x, *split, s, acc);
              continue;
            }
          }
          tile_accumulate(m, x, s, acc);
        }
        acc.flush();
      },
      [](gmm_stats& total, const gmm_stats& part) { total.merge(part); });
}

/// The pass in the requested precision.
inline gmm_stats em_pass(const packed_points& P, const gmm_kernel_model& m,
                         em_precision precision = em_precision::double_precision) {
  if (precision == em_precision::single_precision) return em_pass_as<float>(P, narrow(m));
  if (m.full || static_cast<index_t>(P.centre.size()) != m.d) return em_pass_as<double>(P, m);
  // Diag: raw moments where they cancel little. A component over the cap is summed again shifted; the
  // E-step does not depend on the split, so the second pass (if any) is the last.
  std::vector<unsigned char> shifted(static_cast<std::size_t>(m.k), 0);
  for (;;) {
    const diag_split sp = split_diag_components(P, m, shifted);
    gmm_stats st = em_pass_as<double>(P, m, &sp);
    if (!convert_raw_moments(st, m, P.centre, sp.raw, shifted)) return st;
  }
}

/// E-step only, point by point: f(point, lse, responsibilities with stride gmm_tile) for each real point.
template <class F>
void e_pass(const packed_points& P, const gmm_kernel_model& m, F&& f) {
  parallel_for(P.n_chunks(), [&](index_t c) {
    gmm_scratch s(m.k, m.d);
    alignas(64) double ones[gmm_tile];
    for (double& o : ones) o = 1.0;
    const index_t tb = c * gmm_chunk_tiles, te = std::min(P.n_tiles, tb + gmm_chunk_tiles);
    for (index_t t = tb; t < te; ++t) {
      tile_log_prob(m, P.tile(t), s);
      tile_normalize(m.k, ones, s);
      for (index_t p = 0; p < gmm_tile; ++p) {
        const index_t i = packed_points::point(t, p);
        if (i >= P.n) break;
        f(i, s.lse[p], s.lp.data() + p);
      }
    }
  });
}

}  // namespace rnnabs::detail
