#pragma once
// One chunk of a batch through an rnn classifier: forward, loss and head, BPTT, and parameter
// gradient contraction (summed over the chunk or per sequence).
//
// Tan = true carries a tangent beside every value (parameters θ + εv): the forward pass becomes
// its directional derivative, the backward pass the derivative of the gradient, so the parameter
// "gradient" tangent is exactly H v (forward-over-reverse, Pearlmutter's R-op). GEMMs stay real
// GEMMs (each product of two dual matrices is three); the cells' pointwise code runs on dual<T>.
//
// Layout (Appleyard et al.): per direction, one GEMM for all steps' input projections
// XP = X W_ihᵀ + b_ih, one GEMM per step for every gate's recurrent projection, and the cell's
// fused pointwise code per unit. Rows are packed (see packing.hpp). The products use the weights
// (and, with tangents, the direction's blocks) packed once per pass and thread (gemm.hpp, bind).
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "rnnabs/core/rng.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/concepts.hpp"
#include "rnnabs/nn/dual.hpp"
#include "rnnabs/nn/loss.hpp"
#include "rnnabs/nn/rnn_config.hpp"
#include "rnnabs/nn/sequence_batch.hpp"
#include "rnnabs/nn/detail/gemm.hpp"
#include "rnnabs/nn/detail/packing.hpp"

namespace rnnabs::detail {

/// A matrix and, when Tan, its tangent.
template <class T, bool Tan>
struct tmat {
  matrix<T> v, d;
  void resize(index_t r, index_t c) {
    v.resize(r, c);
    if constexpr (Tan) d.resize(r, c);
  }
  void set_zero(index_t r, index_t c) {
    v.setZero(r, c);
    if constexpr (Tan) d.setZero(r, c);
  }
};

/// Read (value, tangent) at flat position i of a row as the engine's scalar S.
template <class T, bool Tan>
struct row_in {
  const T* v;
  const T* d;
  auto operator[](index_t i) const {
    if constexpr (Tan) return dual<T>{v[i], d[i]};
    else return v[i];
  }
};
template <class T, bool Tan>
struct row_out {
  T* v;
  T* d;
  template <class S>
  void set(index_t i, const S& x) const {
    if constexpr (Tan) {
      v[i] = x.v;
      d[i] = x.d;
    } else {
      v[i] = x;
    }
  }
};
template <class T, bool Tan>
row_in<T, Tan> in_row(const tmat<T, Tan>& m, index_t r) {
  if constexpr (Tan) return {m.v.row(r).data(), m.d.row(r).data()};
  else return {m.v.row(r).data(), nullptr};
}
template <class T, bool Tan>
row_out<T, Tan> out_row(tmat<T, Tan>& m, index_t r) {
  if constexpr (Tan) return {m.v.row(r).data(), m.d.row(r).data()};
  else return {m.v.row(r).data(), nullptr};
}

/// Parameter views for one tensor: θ and, when Tan, the direction v.
template <class T>
struct pview {
  Eigen::Map<const matrix<T>> w;
  Eigen::Map<const matrix<T>> dw;  // empty when not Tan
};
template <class T>
using crowvec = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;

/// A fresh, nonzero id for one pass of a model's chunks over its engines (see rnn_engine::bind).
inline std::uint64_t new_engine_pass() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

template <recurrent_cell Cell, class T, bool Tan>
class rnn_engine {
 public:
  using S = std::conditional_t<Tan, dual<T>, T>;
  static constexpr index_t G = Cell::gates, K = Cell::states, CC = Cell::cache_size;

  /// theta: flat parameters; vdir: the HVP direction (Tan only, else nullptr).
  rnn_engine() = default;
  rnn_engine(const rnn_config& cfg, const parameter_layout& layout, const rnn_parameter_index& idx, const T* theta,
             const T* vdir) {
    bind(cfg, layout, idx, theta, vdir);
  }
  /// (Re)binds the engine to a model and parameters; its buffers are kept, so an engine reused for
  /// batches of one shape allocates nothing after the first. `pass`: binds with the same nonzero
  /// pass (new_engine_pass) promise the same model, θ and v, so the packed weights are reused;
  /// 0 repacks.
  void bind(const rnn_config& cfg, const parameter_layout& layout, const rnn_parameter_index& idx, const T* theta,
            const T* vdir, std::uint64_t pass = 0) {
    cfg_ = &cfg;
    layout_ = &layout;
    idx_ = &idx;
    theta_ = theta;
    vdir_ = vdir;
    H_ = cfg.hidden_size;
    D_ = cfg.directions();
    plan_ = nullptr;
    drop_p_ = 0;
    // θ or v may have changed under the same pointers: the packed weights are stale.
    if (pass != 0 && pass == pass_) return;
    pass_ = pass;
    for (auto* side : {&packed_t_, &packed_n_}) {
      side->resize(layout.entries().size());
      for (auto& p : *side) p.ready = false;
    }
  }

  /// Training-mode dropout with drop probability p (inverted scaling), masks drawn from `g`.
  void enable_dropout(double p, rng g)
    requires(!Tan)
  {
    drop_p_ = p;
    drop_rng_ = g;
  }

  // ---- forward -------------------------------------------------------------------------------
  /// Runs the chunk's sequences through the stack; keeps what backward needs.
  void forward(const sequence_batch<T>& b, const pack_plan& plan) {
    plan_ = &plan;
    const index_t N = plan.rows();
    // Layer-0 input, packed.
    const index_t I = cfg_->input_size;
    input_.resize(N, I);
    for (index_t t = 0; t < plan.tmax(); ++t)
      for (index_t r = 0; r < plan.active_at(t); ++r) {
        const index_t row = plan.row(t, r), s = plan.seq[static_cast<std::size_t>(r)];
        if (cfg_->token_input()) {
          const index_t tok = b.tokens[static_cast<std::size_t>(s)](t);
          input_.v.row(row) = mat(idx_->embedding).row(tok);
          if constexpr (Tan) input_.d.row(row) = dmat(idx_->embedding).row(tok);
        } else {
          input_.v.row(row) = b.features[static_cast<std::size_t>(s)].row(t);
          if constexpr (Tan) input_.d.row(row).setZero();
        }
      }
    input_tangent_ = cfg_->token_input();
    layers_.resize(static_cast<std::size_t>(cfg_->num_layers));
    const tmat<T, Tan>* x = &input_;
    for (index_t l = 0; l < cfg_->num_layers; ++l) {
      auto& L = layers_[static_cast<std::size_t>(l)];
      L.dirs.resize(static_cast<std::size_t>(D_));
      L.out.resize(N, H_ * D_);
      for (index_t d = 0; d < D_; ++d) {
        auto& dir = L.dirs[static_cast<std::size_t>(d)];
        if (d == 0) {
          dir.x = *x;
        } else {
          dir.x.resize(N, x->v.cols());
          permute_rows(*x, dir.x);
        }
        dir_forward(l, d, dir, l > 0 || input_tangent_);
        // Output of the layer, in the common (forward) packed order.
        for (index_t row = 0; row < N; ++row) {
          const index_t src = d == 0 ? row : rev(row);
          L.out.v.row(row).segment(d * H_, H_) = dir.s[0].v.row(src);
          if constexpr (Tan) L.out.d.row(row).segment(d * H_, H_) = dir.s[0].d.row(src);
        }
      }
      if (l + 1 < cfg_->num_layers) apply_dropout(L.out, L.mask);
      x = &L.out;
    }
    // Head input: each sequence's final states, or every step.
    if (cfg_->head == head_mode::last_step) {
      feat_.resize(plan.count(), H_ * D_);
      for (index_t r = 0; r < plan.count(); ++r)
        for (index_t d = 0; d < D_; ++d) {
          const auto& s0 = top().dirs[static_cast<std::size_t>(d)].s[0];
          feat_.v.row(r).segment(d * H_, H_) = s0.v.row(plan.last_row(r));
          if constexpr (Tan) feat_.d.row(r).segment(d * H_, H_) = s0.d.row(plan.last_row(r));
        }
    } else {
      feat_ = top().out;
    }
    apply_dropout(feat_, feat_mask_);
    dense(feat_, idx_->fc_weight, idx_->fc_bias, logits_, true);
  }

  /// The top layer's output (N x H·D, common packed order) and the head's logits (rows of feat).
  const tmat<T, Tan>& top_output() const { return layers_.back().out; }
  const tmat<T, Tan>& logits() const { return logits_; }

  // ---- loss and backward ----------------------------------------------------------------------
  /// (packed sequence r, step t) of a row of the head's logits: one row per sequence for a last-step
  /// head (its last step), one per packed step for an every-step head.
  std::pair<index_t, index_t> head_position(index_t row) const {
    const auto& plan = *plan_;
    if (cfg_->head == head_mode::last_step) return {row, plan.length(row) - 1};
    const index_t t = step_of(row);
    return {row - plan.offset_at(t), t};
  }

  /// Sum over the chunk of weight[s] * loss of sequence s (batch index); seeds the head's gradient.
  /// Every-step heads average a sequence's loss over its steps.
  template <class Labels>
  double loss_and_seed(const Labels& label_of, const std::vector<T>& weight) {
    const auto& plan = *plan_;
    const index_t C = cfg_->num_classes;
    const bool last = cfg_->head == head_mode::last_step;
    dz_.resize(logits_.v.rows(), C);
    double total = 0;
    std::vector<S> z(static_cast<std::size_t>(C)), g(static_cast<std::size_t>(C));
    for (index_t row = 0; row < logits_.v.rows(); ++row) {
      const auto [r, t] = head_position(row);
      const index_t s = plan.seq[static_cast<std::size_t>(r)];
      const index_t y = label_of(s, t);
      const T w = weight[static_cast<std::size_t>(r)] / (last ? T(1) : static_cast<T>(plan.length(r)));
      total += static_cast<double>(w) * loss_value(cfg_->loss, logits_.v.row(row).data(), C, y);
      const auto zin = in_row(logits_, row);
      for (index_t c = 0; c < C; ++c) z[static_cast<std::size_t>(c)] = zin[c];
      loss_gradient(cfg_->loss, z.data(), C, y, g.data());
      const auto out = out_row(dz_, row);
      for (index_t c = 0; c < C; ++c) out.set(c, g[static_cast<std::size_t>(c)] * S(w));
    }
    return total;
  }

  /// Adds each sequence's own loss (the mean over its steps for every-step heads) to out[s], s the
  /// sequence's id in the batch.
  template <class Labels>
  void add_sample_losses(const Labels& label_of, double* out) const {
    const auto& plan = *plan_;
    const index_t C = cfg_->num_classes;
    const bool last = cfg_->head == head_mode::last_step;
    for (index_t row = 0; row < logits_.v.rows(); ++row) {
      const auto [r, t] = head_position(row);
      const index_t s = plan.seq[static_cast<std::size_t>(r)];
      const double per = last ? 1.0 : 1.0 / static_cast<double>(plan.length(r));
      out[s] += per * loss_value(cfg_->loss, logits_.v.row(row).data(), C, label_of(s, t));
    }
  }

  /// Rows of the head whose argmax is the label (sequences for a last-step head, steps for every-step).
  template <class Labels>
  index_t count_correct(const Labels& label_of) const {
    const auto& plan = *plan_;
    const index_t C = cfg_->num_classes;
    index_t correct = 0;
    for (index_t row = 0; row < logits_.v.rows(); ++row) {
      const auto [r, t] = head_position(row);
      const index_t y = label_of(plan.seq[static_cast<std::size_t>(r)], t);
      index_t k = 0;
      if (C == 1) k = logits_.v(row, 0) > T(0) ? 1 : 0;
      else logits_.v.row(row).maxCoeff(&k);
      correct += k == y ? 1 : 0;
    }
    return correct;
  }

  /// BPTT from the seeded head gradient down to the input; keeps the pre-activation gradients.
  void backward(bool need_input_gradient) {
    const auto& plan = *plan_;
    const index_t N = plan.rows();
    // d feat = dZ W_fc
    auto& dfeat = dfeat_;
    back_dense(dz_, idx_->fc_weight, dfeat);
    if (drop_p_ > 0) dfeat.v.array() *= feat_mask_.array();
    auto& dy = dy_;  // gradient w.r.t. the current layer's output (common order)
    if (cfg_->head == head_mode::last_step) {
      // The reverse direction's final state is its own last row, i.e. step 0 in common order.
      dy.set_zero(N, H_ * D_);
      for (index_t r = 0; r < plan.count(); ++r)
        for (index_t d = 0; d < D_; ++d) {
          const index_t row = d == 0 ? plan.last_row(r) : plan.row(0, r);
          dy.v.row(row).segment(d * H_, H_) = dfeat.v.row(r).segment(d * H_, H_);
          if constexpr (Tan) dy.d.row(row).segment(d * H_, H_) = dfeat.d.row(r).segment(d * H_, H_);
        }
    } else {
      std::swap(dy, dfeat);
    }
    for (index_t l = cfg_->num_layers - 1; l >= 0; --l) {
      auto& L = layers_[static_cast<std::size_t>(l)];
      const bool need_dx = l > 0 || need_input_gradient;
      auto& dx = dx_;
      for (index_t d = 0; d < D_; ++d) {
        auto& dir = L.dirs[static_cast<std::size_t>(d)];
        auto& dh = dh_;
        dh.resize(N, H_);
        for (index_t row = 0; row < N; ++row) {
          const index_t dst = d == 0 ? row : rev(row);
          dh.v.row(dst) = dy.v.row(row).segment(d * H_, H_);
          if constexpr (Tan) dh.d.row(dst) = dy.d.row(row).segment(d * H_, H_);
        }
        dir_backward(l, d, dir, dh);
        if (!need_dx) continue;
        auto& dxd = dxd_;
        back_input(dir.dxp, idx_->cell[cell_index(l, d)][0], dxd);
        if (d == 0) {
          std::swap(dx, dxd);
        } else {
          for (index_t row = 0; row < N; ++row) {
            dx.v.row(row) += dxd.v.row(rev(row));
            if constexpr (Tan) dx.d.row(row) += dxd.d.row(rev(row));
          }
        }
      }
      if (need_dx) {
        std::swap(dy, dx);
        if (drop_p_ > 0 && l > 0) dy.v.array() *= layers_[uz(l - 1)].mask.array();
      }
    }
    if (need_input_gradient) std::swap(dinput_, dy);
  }

  /// Gradient w.r.t. the layer-0 input rows (features or embedding vectors), common packed order.
  const tmat<T, Tan>& input_gradient() const { return dinput_; }

  /// Adds the chunk's parameter gradient to g (and, when Tan, its tangent H v to hv). g may be null
  /// when Tan: an HVP alone skips the value gradient's contractions (an eighth of its flops).
  void add_gradient(T* g, T* hv) const {
    const auto& plan = *plan_;
    const index_t N = plan.rows(), nb = plan.count();
    for (index_t l = 0; l < cfg_->num_layers; ++l)
      for (index_t d = 0; d < D_; ++d) {
        const auto& dir = layers_[static_cast<std::size_t>(l)].dirs[static_cast<std::size_t>(d)];
        const auto& e = idx_->cell[cell_index(l, d)];
        add_outer(g, hv, e[0], dir.dxp, dir.x, 0, N, l > 0 || input_tangent_);
        add_colsum(g, hv, e[2], dir.dxp);
        // W_hh pairs step t's recurrent gradient with step t-1's state: rows [nb, N) with prev rows.
        if (N > nb) {
          auto& prev = prev_rows_;
          prev.resize(uz(N - nb));
          for (index_t t = 1; t < plan.tmax(); ++t)
            for (index_t r = 0; r < plan.active_at(t); ++r) prev[uz(plan.row(t, r) - nb)] = plan.row(t - 1, r);
          add_outer(g, hv, e[1], dhp_of(dir), dir.s[0], nb, N - nb, true, &prev);
        }
        add_colsum(g, hv, e[3], dhp_of(dir));
      }
    add_outer(g, hv, idx_->fc_weight, dz_, feat_, 0, dz_.v.rows());
    add_colsum(g, hv, idx_->fc_bias, dz_);
    if (cfg_->token_input()) {
      std::vector<index_t> all(uz(N));
      for (index_t row = 0; row < N; ++row) all[uz(row)] = row;
      add_embedding(g, hv, all);
    }
  }

  /// Adds sequence r's (sorted position) parameter gradient to g (plain engine only).
  void add_sample_gradient(index_t r, T* g) const
    requires(!Tan)
  {
    const auto& plan = *plan_;
    const index_t len = plan.length(r);
    std::vector<index_t> rows(static_cast<std::size_t>(len));
    for (index_t t = 0; t < len; ++t) rows[static_cast<std::size_t>(t)] = plan.row(t, r);
    for (index_t l = 0; l < cfg_->num_layers; ++l)
      for (index_t d = 0; d < D_; ++d) {
        const auto& dir = layers_[static_cast<std::size_t>(l)].dirs[static_cast<std::size_t>(d)];
        const auto& e = idx_->cell[cell_index(l, d)];
        auto& dp = sample_rows_;  // this sequence's gate gradients, input side then recurrent side
        gather_into(dir.dxp.v, rows, dp);
        packed_x_.pack_rows(dir.x.v, rows);
        gemm_packed_tn(dp, packed_x_, gview(g, e[0]), true);
        gview(g, e[2]) += dp.colwise().sum();
        if constexpr (!shared_gate_gradients) gather_into(dir.dhp.v, rows, dp);
        if (len > 1) {
          const std::vector<index_t> prev(rows.begin(), rows.end() - 1);
          packed_x_.pack_rows(dir.s[0].v, prev);
          gemm_packed_tn(dp.bottomRows(len - 1), packed_x_, gview(g, e[1]), true);
        }
        gview(g, e[3]) += dp.colwise().sum();
      }
    if (cfg_->head == head_mode::last_step) {
      gview(g, idx_->fc_weight).noalias() += dz_.v.row(r).transpose() * feat_.v.row(r);
      gview(g, idx_->fc_bias) += dz_.v.row(r);
    } else {
      const matrix<T> dz = gather(dz_.v, rows);
      gview(g, idx_->fc_weight).noalias() += dz.transpose() * gather(feat_.v, rows);
      gview(g, idx_->fc_bias) += dz.colwise().sum();
    }
    if (cfg_->token_input()) add_embedding(g, nullptr, rows);
  }

 private:
  struct packed_weights {
    packed_rhs<T> w, v;  // a weight W and its direction V (Tan), as Wᵀ/Vᵀ or as W/V
    bool ready = false;  // packed since the last bind
  };
  struct direction {
    tmat<T, Tan> x;                 // input in this direction's packed order
    tmat<T, Tan> xp;                // X W_ihᵀ + b_ih
    std::array<tmat<T, Tan>, K> s;  // states per packed row
    tmat<T, Tan> cache;             // the cell's cache, CC·H per row
    tmat<T, Tan> dxp, dhp;          // gradients w.r.t. the input / recurrent projections (dhp unused
                                    // when the cell's are equal: see dhp_of)
  };
  /// Cells whose gate gradients are the same for both projections (LSTM, Elman) keep one matrix.
  static constexpr bool shared_gate_gradients = [] {
    if constexpr (requires { Cell::same_gate_gradients; }) return bool(Cell::same_gate_gradients);
    else return false;
  }();
  static tmat<T, Tan>& dhp_of(direction& d) { return shared_gate_gradients ? d.dxp : d.dhp; }
  static const tmat<T, Tan>& dhp_of(const direction& d) { return shared_gate_gradients ? d.dxp : d.dhp; }
  struct layer {
    std::vector<direction> dirs;
    tmat<T, Tan> out;
    matrix<T> mask;  // dropout mask of `out` (training only)
  };

  /// Multiplies x by a fresh mask of 0 and 1/(1-p) entries (training only; no-op when p = 0).
  void apply_dropout(tmat<T, Tan>& x, matrix<T>& mask) {
    if (drop_p_ <= 0) return;
    mask.resize(x.v.rows(), x.v.cols());
    const T keep = static_cast<T>(1.0 / (1.0 - drop_p_));
    for (index_t i = 0; i < mask.size(); ++i) mask.data()[i] = drop_rng_.uniform() < drop_p_ ? T(0) : keep;
    x.v.array() *= mask.array();
  }

  static std::size_t uz(index_t i) { return static_cast<std::size_t>(i); }
  std::size_t cell_index(index_t l, index_t d) const { return uz(l * D_ + d); }
  const layer& top() const { return layers_.back(); }
  index_t rev(index_t row) const { return plan_->reverse[uz(row)]; }
  index_t step_of(index_t row) const {
    const auto& off = plan_->offset;
    return static_cast<index_t>(std::upper_bound(off.begin(), off.end(), row) - off.begin()) - 1;
  }

  Eigen::Map<const matrix<T>> mat(index_t i) const { return layout_->view(theta_, i); }
  Eigen::Map<const matrix<T>> dmat(index_t i) const { return layout_->view(vdir_, i); }
  crowvec<T> vec(index_t i) const { return {theta_ + (*layout_)[i].offset, (*layout_)[i].rows}; }
  crowvec<T> dvec(index_t i) const { return {vdir_ + (*layout_)[i].offset, (*layout_)[i].rows}; }
  Eigen::Map<matrix<T>> gview(T* g, index_t i) const { return layout_->view(g, i); }

  static matrix<T> gather(const matrix<T>& m, const std::vector<index_t>& rows) {
    matrix<T> out;
    gather_into(m, rows, out);
    return out;
  }
  static void gather_into(const matrix<T>& m, const std::vector<index_t>& rows, matrix<T>& out) {
    out.resize(static_cast<index_t>(rows.size()), m.cols());
    for (std::size_t k = 0; k < rows.size(); ++k) out.row(static_cast<index_t>(k)) = m.row(rows[k]);
  }

  /// Weight wi (and its direction) packed for x·Wᵀ (transposed) or dy·W, once per bind.
  const packed_weights& packed(index_t wi, bool transposed) const {
    auto& p = (transposed ? packed_t_ : packed_n_)[uz(wi)];
    if (!p.ready) {
      if (transposed) {
        p.w.pack(mat(wi).transpose());
        if constexpr (Tan) p.v.pack(dmat(wi).transpose());
      } else {
        p.w.pack(mat(wi));
        if constexpr (Tan) p.v.pack(dmat(wi));
      }
      p.ready = true;
    }
    return p;
  }

  void permute_rows(const tmat<T, Tan>& src, tmat<T, Tan>& dst) const {
    for (index_t row = 0; row < src.v.rows(); ++row) {
      dst.v.row(rev(row)) = src.v.row(row);
      if constexpr (Tan) dst.d.row(rev(row)) = src.d.row(row);
    }
  }

  /// out = X Wᵀ + b (tangent: Ẋ Wᵀ + X Ẇᵀ + ḃ; Ẋ skipped when x_tangent is false).
  void dense(const tmat<T, Tan>& x, index_t wi, index_t bi, tmat<T, Tan>& out, bool x_tangent) const {
    const auto& pw = packed(wi, true);
    out.resize(x.v.rows(), (*layout_)[wi].rows);
    out.v.rowwise() = vec(bi);
    gemm_packed(x.v, pw.w, out.v, true);
    if constexpr (Tan) {
      out.d.rowwise() = dvec(bi);
      gemm_packed(x.v, pw.v, out.d, true);
      if (x_tangent) gemm_packed(x.d, pw.w, out.d, true);
    }
  }
  /// dx = dOut W (tangent: dȮut W + dOut Ẇ).
  void back_input(const tmat<T, Tan>& dout, index_t wi, tmat<T, Tan>& dx) const {
    const auto& pw = packed(wi, false);
    dx.resize(dout.v.rows(), (*layout_)[wi].cols);
    gemm_packed(dout.v, pw.w, dx.v, false);
    if constexpr (Tan) {
      gemm_packed(dout.d, pw.w, dx.d, false);
      gemm_packed(dout.v, pw.v, dx.d, true);
    }
  }
  void back_dense(const tmat<T, Tan>& dz, index_t wi, tmat<T, Tan>& dx) const { back_input(dz, wi, dx); }

  /// g[wi] += dOut[rows r0..r0+n)ᵀ X (tangent: dȮutᵀ X + dOutᵀ Ẋ; Ẋ skipped when x_tangent is false).
  /// X's rows are x's, or with x_rows the rows x_rows[k] of x.
  void add_outer(T* g, T* hv, index_t wi, const tmat<T, Tan>& dout, const tmat<T, Tan>& x, index_t r0, index_t n,
                 bool x_tangent = true, const std::vector<index_t>* x_rows = nullptr) const {
    const auto pack_x = [&](const matrix<T>& m) {
      if (x_rows) packed_x_.pack_rows(m, *x_rows);
      else packed_x_.pack(m);
    };
    pack_x(x.v);
    if (g) gemm_packed_tn(dout.v.middleRows(r0, n), packed_x_, gview(g, wi), true);
    if constexpr (Tan) {
      gemm_packed_tn(dout.d.middleRows(r0, n), packed_x_, gview(hv, wi), true);
      if (x_tangent) {
        pack_x(x.d);
        gemm_packed_tn(dout.v.middleRows(r0, n), packed_x_, gview(hv, wi), true);
      }
    } else {
      (void)hv;
    }
  }
  void add_colsum(T* g, T* hv, index_t bi, const tmat<T, Tan>& dout) const {
    if (g) gview(g, bi) += dout.v.colwise().sum();
    if constexpr (Tan) gview(hv, bi) += dout.d.colwise().sum();
    else (void)hv;
  }
  /// The embedding's gradient: the layer-0 input gradient of `rows` scattered to their tokens' rows.
  void add_embedding(T* g, T* hv, const std::vector<index_t>& rows) const {
    for (const index_t row : rows) {
      const index_t tok = token_[uz(row)];
      if (g) gview(g, idx_->embedding).row(tok) += dinput_.v.row(row);
      if constexpr (Tan) gview(hv, idx_->embedding).row(tok) += dinput_.d.row(row);
    }
  }

 public:
  /// Token id of each packed row (set by the caller before add_gradient for token input).
  void set_tokens(const sequence_batch<T>& b) {
    const auto& plan = *plan_;
    token_.assign(uz(plan.rows()), 0);
    for (index_t t = 0; t < plan.tmax(); ++t)
      for (index_t r = 0; r < plan.active_at(t); ++r) token_[uz(plan.row(t, r))] = b.tokens[uz(plan.seq[uz(r)])](t);
  }

 private:
  // ---- the cells' pointwise code on lanes: W units at a time (pack<T, W>, or dual<pack<T, W>> when
  // carrying tangents), the remainder of H one unit at a time (S) -------------------------------------
  static constexpr int W = pack_width<T>;
  using lanes = std::conditional_t<Tan, dual<pack<T, W>>, pack<T, W>>;
  struct rp {  // a row to read: values and (Tan) tangents
    const T* v;
    const T* d;
  };
  struct wp {  // a row to write
    T* v;
    T* d;
  };
  static rp rrow(const tmat<T, Tan>& m, index_t r) {
    if constexpr (Tan) return {m.v.row(r).data(), m.d.row(r).data()};
    else return {m.v.row(r).data(), nullptr};
  }
  static wp wrow(tmat<T, Tan>& m, index_t r) {
    if constexpr (Tan) return {m.v.row(r).data(), m.d.row(r).data()};
    else return {m.v.row(r).data(), nullptr};
  }
  template <class V>
  static V load1(const T* p) {
    if constexpr (std::is_same_v<V, T>) return *p;
    else return V::load(p);
  }
  static void store1(T* p, T x) { *p = x; }
  static void store1(T* p, const pack<T, W>& x) { x.store(p); }
  template <class P>
  static P load(const rp& r, index_t i) {
    if constexpr (is_dual<P>::value) {
      using V = decltype(P{}.v);
      return P{load1<V>(r.v + i), load1<V>(r.d + i)};
    } else {
      return load1<P>(r.v + i);
    }
  }
  template <class P>
  static void store(const wp& w, index_t i, const P& x) {
    if constexpr (is_dual<P>::value) {
      store1(w.v + i, x.v);
      store1(w.d + i, x.d);
    } else {
      store1(w.v + i, x);
    }
  }

  template <class P>
  void unit_forward(index_t j, const rp& xr, const rp& hr, const std::array<rp, K>& pr, const std::array<wp, K>& nr,
                    const wp& cr, bool has_prev) const {
    std::array<P, G> xg, hg;
    std::array<P, K> prev, next;
    std::array<P, CC> cache;
    for (index_t k = 0; k < G; ++k) {
      xg[uz(k)] = load<P>(xr, k * H_ + j);
      hg[uz(k)] = load<P>(hr, k * H_ + j);
    }
    for (index_t k = 0; k < K; ++k) prev[uz(k)] = has_prev ? load<P>(pr[uz(k)], j) : P(T(0));
    Cell::forward(xg, hg, prev, next, cache);
    for (index_t k = 0; k < K; ++k) store(nr[uz(k)], j, next[uz(k)]);
    for (index_t k = 0; k < CC; ++k) store(cr, k * H_ + j, cache[uz(k)]);
  }

  struct unit_rows {
    rp cache, dh;
    wp dxp, dhp;
    bool has_prev, has_later;
  };
  template <class P>
  void unit_backward(index_t j, const unit_rows& u, const std::array<rp, K>& pr, const std::array<wp, K>& cw) const {
    std::array<P, G> dxg, dhg;
    std::array<P, K> prev, dnext, dprev;
    std::array<P, CC> cache;
    for (index_t k = 0; k < CC; ++k) cache[uz(k)] = load<P>(u.cache, k * H_ + j);
    for (index_t k = 0; k < K; ++k) {
      prev[uz(k)] = u.has_prev ? load<P>(pr[uz(k)], j) : P(T(0));
      dnext[uz(k)] = u.has_later ? load<P>(rp{cw[uz(k)].v, cw[uz(k)].d}, j) : P(T(0));
    }
    dnext[0] += load<P>(u.dh, j);
    Cell::backward(cache, prev, dnext, dxg, dhg, dprev);
    for (index_t k = 0; k < G; ++k) {
      store(u.dxp, k * H_ + j, dxg[uz(k)]);
      if constexpr (!shared_gate_gradients) store(u.dhp, k * H_ + j, dhg[uz(k)]);
    }
    for (index_t k = 0; k < K; ++k) store(cw[uz(k)], j, dprev[uz(k)]);
  }

  void dir_forward(index_t l, index_t d, direction& dir, bool x_tangent) {
    const auto& plan = *plan_;
    const auto& e = idx_->cell[cell_index(l, d)];
    const index_t N = plan.rows(), GH = G * H_;
    dense(dir.x, e[0], e[2], dir.xp, x_tangent);
    for (auto& s : dir.s) s.resize(N, H_);
    dir.cache.resize(N, CC * H_);
    const auto& pw = packed(e[1], true);
    // The recurrent projection of step t: rows [0, n) values, [n, 2n) tangents (when Tan):
    // b_hh + h W_hhᵀ, and ḃ_hh + ḣ W_hhᵀ + h V_hhᵀ.
    auto& hp = hp_;
    hp.resize((Tan ? 2 : 1) * plan.count(), GH);
    for (index_t t = 0; t < plan.tmax(); ++t) {
      const index_t n = plan.active_at(t), o = plan.offset_at(t);
      hp.topRows(n).rowwise() = vec(e[3]);
      if constexpr (Tan) hp.middleRows(n, n).rowwise() = dvec(e[3]);
      if (t > 0) {
        const auto h = dir.s[0].v.middleRows(plan.offset_at(t - 1), n);
        gemm_packed(h, pw.w, hp.topRows(n), true);
        if constexpr (Tan) {
          gemm_packed(dir.s[0].d.middleRows(plan.offset_at(t - 1), n), pw.w, hp.middleRows(n, n), true);
          gemm_packed(h, pw.v, hp.middleRows(n, n), true);
        }
      }
      for (index_t r = 0; r < n; ++r) {
        const index_t row = o + r;
        std::array<rp, K> pr{};
        std::array<wp, K> nr{};
        for (index_t k = 0; k < K; ++k) {
          if (t > 0) pr[uz(k)] = rrow(dir.s[uz(k)], plan.row(t - 1, r));
          nr[uz(k)] = wrow(dir.s[uz(k)], row);
        }
        const rp xr = rrow(dir.xp, row), hr{hp.row(r).data(), Tan ? hp.row(n + r).data() : nullptr};
        const wp cr = wrow(dir.cache, row);
        index_t j = 0;
        for (; j + W <= H_; j += W) unit_forward<lanes>(j, xr, hr, pr, nr, cr, t > 0);
        for (; j < H_; ++j) unit_forward<S>(j, xr, hr, pr, nr, cr, t > 0);
      }
    }
  }

  void dir_backward(index_t l, index_t d, direction& dir, const tmat<T, Tan>& dh) {
    const auto& plan = *plan_;
    const index_t N = plan.rows(), GH = G * H_, nb = plan.count();
    dir.dxp.resize(N, GH);
    if constexpr (!shared_gate_gradients) dir.dhp.resize(N, GH);
    auto& carry = carry_;  // gradient w.r.t. the state, from the step after
    for (auto& c : carry) c.set_zero(nb, H_);
    const auto& pw = packed(idx_->cell[cell_index(l, d)][1], false);
    for (index_t t = plan.tmax() - 1; t >= 0; --t) {
      const index_t n = plan.active_at(t), o = plan.offset_at(t);
      const index_t later = t + 1 < plan.tmax() ? plan.active_at(t + 1) : 0;
      for (index_t r = 0; r < n; ++r) {
        const index_t row = o + r;
        std::array<rp, K> pr{};
        std::array<wp, K> cw{};
        for (index_t k = 0; k < K; ++k) {
          if (t > 0) pr[uz(k)] = rrow(dir.s[uz(k)], plan.row(t - 1, r));
          cw[uz(k)] = wrow(carry[uz(k)], r);
        }
        const unit_rows u{rrow(dir.cache, row),   rrow(dh, row), wrow(dir.dxp, row),
                          wrow(dhp_of(dir), row), t > 0,         r < later};
        index_t j = 0;
        for (; j + W <= H_; j += W) unit_backward<lanes>(j, u, pr, cw);
        for (; j < H_; ++j) unit_backward<S>(j, u, pr, cw);
      }
      if (t > 0) {  // the state's gradient through W_hh (tangent: through W_hh and V_hh)
        const auto& dhp = dhp_of(dir);
        gemm_packed(dhp.v.middleRows(o, n), pw.w, carry[0].v.topRows(n), true);
        if constexpr (Tan) {
          gemm_packed(dhp.d.middleRows(o, n), pw.w, carry[0].d.topRows(n), true);
          gemm_packed(dhp.v.middleRows(o, n), pw.v, carry[0].d.topRows(n), true);
        }
      }
    }
  }

  const rnn_config* cfg_ = nullptr;
  const parameter_layout* layout_ = nullptr;
  const rnn_parameter_index* idx_ = nullptr;
  const T* theta_ = nullptr;
  const T* vdir_ = nullptr;
  index_t H_ = 0, D_ = 0;
  // Work buffers kept between calls (see bind).
  tmat<T, Tan> dfeat_, dy_, dx_, dh_, dxd_;
  matrix<T> hp_;
  // Weights packed for the products x·Wᵀ (packed_t_) and dy·W (packed_n_), by parameter index; and
  // the data side of the gradient contractions, packed per product.
  mutable std::vector<packed_weights> packed_t_, packed_n_;
  mutable packed_rhs<T> packed_x_;
  std::uint64_t pass_ = 0;
  mutable std::vector<index_t> prev_rows_;
  mutable matrix<T> sample_rows_;
  std::array<tmat<T, Tan>, K> carry_;
  const pack_plan* plan_ = nullptr;
  tmat<T, Tan> input_;
  bool input_tangent_ = false;
  std::vector<layer> layers_;
  tmat<T, Tan> feat_, logits_, dz_, dinput_;
  std::vector<index_t> token_;
  double drop_p_ = 0;
  rng drop_rng_{0};
  matrix<T> feat_mask_;
};

}  // namespace rnnabs::detail
