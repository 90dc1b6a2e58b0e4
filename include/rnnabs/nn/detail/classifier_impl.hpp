#pragma once
// Bodies of rnn_classifier: initialisation, validation, and the chunked evaluations.
#include <algorithm>
#include <cmath>

#include "rnnabs/core/parallel.hpp"
#include "rnnabs/core/validate.hpp"
#include "rnnabs/nn/detail/engine.hpp"
#include "rnnabs/nn/rnn_classifier.hpp"

namespace rnnabs {

template <recurrent_cell Cell, class T>
rnn_classifier<Cell, T>::rnn_classifier(const rnn_config& config, std::uint64_t seed, state_dict_names names)
    : cfg_(config), names_(std::move(names)) {
  cfg_.validate("rnn_classifier");
  layout_ = make_rnn_layout(cfg_, Cell::gates, idx_, names_);
  init(seed);
}

template <recurrent_cell Cell, class T>
void rnn_classifier<Cell, T>::init(std::uint64_t seed) {
  theta_.resize(layout_.size());
  rng g(seed);
  const double k_cell = 1.0 / std::sqrt(static_cast<double>(cfg_.hidden_size));
  const double k_head = 1.0 / std::sqrt(static_cast<double>(cfg_.output_size()));
  for (index_t i = 0; i < static_cast<index_t>(layout_.entries().size()); ++i) {
    const auto& e = layout_[i];
    T* p = theta_.data() + e.offset;
    if (i == idx_.embedding) {
      for (index_t k = 0; k < e.size(); ++k) p[k] = static_cast<T>(g.normal());
    } else {
      const double bound = (i == idx_.fc_weight || i == idx_.fc_bias) ? k_head : k_cell;
      for (index_t k = 0; k < e.size(); ++k) p[k] = static_cast<T>((2.0 * g.uniform() - 1.0) * bound);
    }
  }
}

template <recurrent_cell Cell, class T>
void rnn_classifier<Cell, T>::check_params(const vector<T>& p, std::string_view who, std::string_view what) const {
  require(p.size() == layout_.size(), who, ": ", what, " has ", p.size(), " entries, the model has ", layout_.size(),
          " parameters");
  if (p.allFinite()) [[likely]]
    return;
  for (const auto& e : layout_.entries())
    for (index_t k = 0; k < e.size(); ++k)
      require(std::isfinite(p(e.offset + k)), who, ": ", what, " has a non-finite value (", p(e.offset + k), ") in '",
              e.name, "' at flat index ", k);
}

template <recurrent_cell Cell, class T>
void rnn_classifier<Cell, T>::set_parameters(const vector<T>& p) {
  check_params(p, "rnn_classifier::set_parameters", "the parameter vector");
  theta_ = p;
}

template <recurrent_cell Cell, class T>
void rnn_classifier<Cell, T>::validate(const sequence_batch<T>& b, bool need_labels, std::string_view who) const {
  require(layout_.size() > 0, who, ": the model is empty (default-constructed)");
  const index_t n = b.size();
  require(n > 0, who, ": the batch has no sequences");
  if (cfg_.token_input()) {
    require(b.features.empty(), who, ": the model takes token ids, but the batch holds feature sequences");
    for (index_t i = 0; i < n; ++i) {
      const auto& s = b.tokens[static_cast<std::size_t>(i)];
      require(s.size() > 0, who, ": sequence ", i, " is empty");
      for (index_t t = 0; t < s.size(); ++t)
        require(s(t) >= 0 && s(t) < cfg_.vocab_size, who, ": token id ", s(t), " at step ", t, " of sequence ", i,
                " is outside the vocabulary [0, ", cfg_.vocab_size, ")");
    }
  } else {
    require(b.tokens.empty(), who, ": the model takes feature sequences, but the batch holds token ids");
    for (index_t i = 0; i < n; ++i) {
      const auto& x = b.features[static_cast<std::size_t>(i)];
      require(x.rows() > 0, who, ": sequence ", i, " is empty");
      require(x.cols() == cfg_.input_size, who, ": sequence ", i, " has ", x.cols(), " features per step, the model ",
              "takes ", cfg_.input_size);
      require_finite(x, who, detail::concat("sequence ", i));
    }
  }
  if (!need_labels) return;
  const index_t C = cfg_.num_classes;
  const index_t classes = (cfg_.loss == loss_kind::bce_with_logits && C == 1) ? 2 : C;
  const auto check = [&](index_t y, index_t i, index_t t) {
    require(y >= 0 && y < classes, who, ": label ", y, " of sequence ", i, t >= 0 ? detail::concat(" at step ", t) : "",
            " is outside [0, ", classes, ")");
  };
  if (cfg_.head == head_mode::last_step) {
    require(b.labels.size() == n, who, ": ", b.labels.size(), " labels for ", n, " sequences");
    for (index_t i = 0; i < n; ++i) check(b.labels(i), i, -1);
  } else {
    require(static_cast<index_t>(b.step_labels.size()) == n, who, ": ", b.step_labels.size(),
            " step-label sequences for ", n, " sequences (an every-step head needs step_labels)");
    for (index_t i = 0; i < n; ++i) {
      const auto& y = b.step_labels[static_cast<std::size_t>(i)];
      require(y.size() == b.length(i), who, ": sequence ", i, " has ", b.length(i), " steps but ", y.size(),
              " step labels");
      for (index_t t = 0; t < y.size(); ++t) check(y(t), i, t);
    }
  }
}

template <recurrent_cell Cell, class T>
template <bool Tan, class F>
void rnn_classifier<Cell, T>::for_chunks(const sequence_batch<T>& b, const T* theta, const T* vdir, F&& f) const {
  const index_t n = b.size(), chunk = cfg_.batch_chunk;
  // Largest GEMM of a lone chunk: rows x G·H x the widest other side (Eigen threads from 100000).
  index_t rows = 0;
  for (index_t i = 0; i < n; ++i) rows += b.length(i);
  const index_t gh = Cell::gates * cfg_.hidden_size;
  const double work = static_cast<double>(rows) * static_cast<double>(gh) *
                      static_cast<double>(std::max({cfg_.input_size, cfg_.output_size(), gh, cfg_.num_classes}));
  const std::uint64_t pass = detail::new_engine_pass();  // each thread packs the weights once per pass
  parallel_for(
      chunk_count(n, chunk),
      [&](index_t c) {
        const index_t begin = c * chunk, end = std::min(n, begin + chunk);
        const auto plan = detail::make_pack_plan(begin, end, [&](index_t i) { return b.length(i); });
        f(c, plan, engine<Tan>(theta, vdir, pass));
      },
      /*small=*/work < 1e5);
}

namespace detail {
template <class T>
auto label_reader(const rnn_config& cfg, const sequence_batch<T>& b) {
  return [&cfg, &b](index_t s, index_t t) -> index_t {
    return cfg.head == head_mode::last_step ? b.labels(s) : b.step_labels[static_cast<std::size_t>(s)](t);
  };
}
template <class T>
struct grad_part {
  double loss = 0;
  vector<T> g, hv;
};
}  // namespace detail

template <recurrent_cell Cell, class T>
double rnn_classifier<Cell, T>::loss(const sequence_batch<T>& b, const vector<T>& params) const {
  validate(b, true, "rnn_classifier::loss");
  check_params(params, "rnn_classifier::loss", "params");
  const index_t n = b.size();
  std::vector<double> part(static_cast<std::size_t>(chunk_count(n, cfg_.batch_chunk)), 0.0);
  const std::vector<T> w(static_cast<std::size_t>(cfg_.batch_chunk), T(1) / static_cast<T>(n));
  for_chunks<false>(b, params.data(), nullptr, [&](index_t c, const detail::pack_plan& plan, auto& e) {
    e.forward(b, plan);
    part[static_cast<std::size_t>(c)] = e.loss_and_seed(detail::label_reader(cfg_, b), w);
  });
  double total = 0;
  for (double p : part) total += p;
  return total;
}

template <recurrent_cell Cell, class T>
vector<T> rnn_classifier<Cell, T>::loss_gradient(const sequence_batch<T>& b, const vector<T>& params,
                                                 double* loss_out) const {
  validate(b, true, "rnn_classifier::loss_gradient");
  check_params(params, "rnn_classifier::loss_gradient", "params");
  const index_t n = b.size(), P = layout_.size();
  const std::vector<T> w(static_cast<std::size_t>(cfg_.batch_chunk), T(1) / static_cast<T>(n));
  auto merge = [](detail::grad_part<T>& tot, const detail::grad_part<T>& p) {
    tot.loss += p.loss;
    tot.g += p.g;
  };
  ordered_merge<detail::grad_part<T>, decltype(merge)> acc(chunk_count(n, cfg_.batch_chunk),
                                                           detail::grad_part<T>{0, vector<T>::Zero(P), {}}, merge);
  for_chunks<false>(b, params.data(), nullptr, [&](index_t c, const detail::pack_plan& plan, auto& e) {
    e.forward(b, plan);
    detail::grad_part<T> part{e.loss_and_seed(detail::label_reader(cfg_, b), w), vector<T>::Zero(P), {}};
    e.backward(cfg_.token_input());
    if (cfg_.token_input()) e.set_tokens(b);
    e.add_gradient(part.g.data(), nullptr);
    acc.submit(c, std::move(part));
  });
  auto total = acc.take();
  if (loss_out) *loss_out = total.loss;
  return std::move(total.g);
}

template <recurrent_cell Cell, class T>
vector<T> rnn_classifier<Cell, T>::train_gradient(const sequence_batch<T>& b, std::uint64_t dropout_seed,
                                                  step_stats* stats) const {
  validate(b, true, "rnn_classifier::train_gradient");
  const index_t n = b.size(), P = layout_.size();
  const std::vector<T> w(static_cast<std::size_t>(cfg_.batch_chunk), T(1) / static_cast<T>(n));
  struct part_t {
    double loss = 0;
    index_t correct = 0, total = 0;
    vector<T> g;
  };
  auto merge = [](part_t& tot, const part_t& p) {
    tot.loss += p.loss;
    tot.correct += p.correct;
    tot.total += p.total;
    tot.g += p.g;
  };
  ordered_merge<part_t, decltype(merge)> acc(chunk_count(n, cfg_.batch_chunk), part_t{0, 0, 0, vector<T>::Zero(P)},
                                             merge);
  for_chunks<false>(b, theta_.data(), nullptr, [&](index_t c, const detail::pack_plan& plan, auto& e) {
    if (cfg_.dropout > 0) e.enable_dropout(cfg_.dropout, rng::stream(dropout_seed, static_cast<std::uint64_t>(c)));
    e.forward(b, plan);
    const auto labels = detail::label_reader(cfg_, b);
    part_t part{e.loss_and_seed(labels, w), e.count_correct(labels), e.logits().v.rows(), vector<T>::Zero(P)};
    e.backward(cfg_.token_input());
    if (cfg_.token_input()) e.set_tokens(b);
    e.add_gradient(part.g.data(), nullptr);
    acc.submit(c, std::move(part));
  });
  auto total = acc.take();
  if (stats) *stats = {total.loss, total.correct, total.total};
  return std::move(total.g);
}

template <recurrent_cell Cell, class T>
vector<double> rnn_classifier<Cell, T>::per_sample_losses(const sequence_batch<T>& b, const vector<T>& params) const {
  validate(b, true, "rnn_classifier::per_sample_losses");
  check_params(params, "rnn_classifier::per_sample_losses", "params");
  vector<double> out = vector<double>::Zero(b.size());
  for_chunks<false>(b, params.data(), nullptr, [&](index_t, const detail::pack_plan& plan, auto& e) {
    e.forward(b, plan);
    e.add_sample_losses(detail::label_reader(cfg_, b), out.data());
  });
  return out;
}

template <recurrent_cell Cell, class T>
matrix<T> rnn_classifier<Cell, T>::per_sample_gradients(const sequence_batch<T>& b, const vector<T>& params) const {
  validate(b, true, "rnn_classifier::per_sample_gradients");
  check_params(params, "rnn_classifier::per_sample_gradients", "params");
  matrix<T> out = matrix<T>::Zero(b.size(), layout_.size());
  const std::vector<T> w(static_cast<std::size_t>(cfg_.batch_chunk), T(1));
  for_chunks<false>(b, params.data(), nullptr, [&](index_t, const detail::pack_plan& plan, auto& e) {
    e.forward(b, plan);
    e.loss_and_seed(detail::label_reader(cfg_, b), w);
    e.backward(cfg_.token_input());
    if (cfg_.token_input()) e.set_tokens(b);
    for (index_t r = 0; r < plan.count(); ++r)
      e.add_sample_gradient(r, out.row(plan.seq[static_cast<std::size_t>(r)]).data());
  });
  return out;
}

template <recurrent_cell Cell, class T>
vector<T> rnn_classifier<Cell, T>::hessian_vector_product(const sequence_batch<T>& b, const vector<T>& params,
                                                          const vector<T>& v) const {
  validate(b, true, "rnn_classifier::hessian_vector_product");
  check_params(params, "rnn_classifier::hessian_vector_product", "params");
  check_params(v, "rnn_classifier::hessian_vector_product", "the direction v");
  const index_t n = b.size(), P = layout_.size();
  const std::vector<T> w(static_cast<std::size_t>(cfg_.batch_chunk), T(1) / static_cast<T>(n));
  auto merge = [](vector<T>& tot, const vector<T>& p) { tot += p; };
  ordered_merge<vector<T>, decltype(merge)> acc(chunk_count(n, cfg_.batch_chunk), vector<T>::Zero(P), merge);
  for_chunks<true>(b, params.data(), v.data(), [&](index_t c, const detail::pack_plan& plan, auto& e) {
    e.forward(b, plan);
    e.loss_and_seed(detail::label_reader(cfg_, b), w);
    e.backward(cfg_.token_input());
    if (cfg_.token_input()) e.set_tokens(b);
    vector<T> hv = vector<T>::Zero(P);
    e.add_gradient(nullptr, hv.data());
    acc.submit(c, std::move(hv));
  });
  return acc.take();
}

template <recurrent_cell Cell, class T>
std::vector<matrix<T>> rnn_classifier<Cell, T>::input_gradients(const sequence_batch<T>& b) const {
  validate(b, true, "rnn_classifier::input_gradients");
  const index_t n = b.size();
  std::vector<matrix<T>> out(static_cast<std::size_t>(n));
  const std::vector<T> w(static_cast<std::size_t>(cfg_.batch_chunk), T(1) / static_cast<T>(n));
  for_chunks<false>(b, theta_.data(), nullptr, [&](index_t, const detail::pack_plan& plan, auto& e) {
    e.forward(b, plan);
    e.loss_and_seed(detail::label_reader(cfg_, b), w);
    e.backward(true);
    const auto& dx = e.input_gradient().v;
    for (index_t r = 0; r < plan.count(); ++r) {
      auto& o = out[static_cast<std::size_t>(plan.seq[static_cast<std::size_t>(r)])];
      o.resize(plan.length(r), cfg_.input_size);
      for (index_t t = 0; t < plan.length(r); ++t) o.row(t) = dx.row(plan.row(t, r));
    }
  });
  return out;
}

template <recurrent_cell Cell, class T>
rnn_output<T> rnn_classifier<Cell, T>::forward(const sequence_batch<T>& b, bool record) const {
  validate(b, false, "rnn_classifier::forward");
  const index_t n = b.size(), C = cfg_.num_classes, W = detail::distribution_width(cfg_.loss, C);
  const bool steps = record || cfg_.head == head_mode::every_step;
  rnn_output<T> out;
  out.logits.resize(n, C);
  out.probabilities.resize(n, W);
  out.predictions.resize(n);
  if (steps) {
    out.step_probabilities.resize(static_cast<std::size_t>(n));
    out.step_predictions.resize(static_cast<std::size_t>(n));
  }
  if (record) out.hidden.resize(static_cast<std::size_t>(n));
  const auto argmax = [](const auto& row) {
    index_t k = 0;
    row.maxCoeff(&k);
    return k;
  };
  for_chunks<false>(b, theta_.data(), nullptr, [&](index_t, const detail::pack_plan& plan, auto& e) {
    e.forward(b, plan);
    const auto& z = e.logits().v;
    const bool last = cfg_.head == head_mode::last_step;
    // Every-step logits: the head's own output, or (last-step head, recording) the head applied per step.
    matrix<T> zs;
    if (steps) {
      if (last) {
        zs = e.top_output().v * layout_.view(theta_.data(), idx_.fc_weight).transpose();
        zs.rowwise() += detail::crowvec<T>(theta_.data() + layout_[idx_.fc_bias].offset, C);
      } else {
        zs = z;
      }
    }
    for (index_t r = 0; r < plan.count(); ++r) {
      const auto s = plan.seq[static_cast<std::size_t>(r)];
      const auto su = static_cast<std::size_t>(s);
      out.logits.row(s) = z.row(last ? r : plan.last_row(r));
      detail::output_distribution(cfg_.loss, out.logits.row(s).data(), C, out.probabilities.row(s).data());
      out.predictions(s) = argmax(out.probabilities.row(s));
      if (!steps) continue;
      const index_t len = plan.length(r);
      auto& p = out.step_probabilities[su];
      p.resize(len, W);
      out.step_predictions[su].resize(len);
      for (index_t t = 0; t < len; ++t) {
        detail::output_distribution(cfg_.loss, zs.row(plan.row(t, r)).data(), C, p.row(t).data());
        out.step_predictions[su](t) = argmax(p.row(t));
      }
      if (record) {
        auto& h = out.hidden[su];
        h.resize(len, cfg_.output_size());
        for (index_t t = 0; t < len; ++t) h.row(t) = e.top_output().v.row(plan.row(t, r));
      }
    }
  });
  return out;
}

}  // namespace rnnabs
