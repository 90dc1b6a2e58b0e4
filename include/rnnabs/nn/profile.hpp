#pragma once
// Profiling: run a model over a dataset and record, per sequence, what the abstraction pipeline
// reads — hidden states (T_i x W), per-step output distributions (T_i x C), per-step labels, the
// final prediction and the truth. NPZ on disk (ragged sequences concatenated, with lengths), so
// Python reads it with `np.load`.
//
//   auto tr = rnnabs::profile(model, test_batch);      // any rnnabs::profilable_model (model_concepts.hpp)
//   rnnabs::save_traces("traces.npz", tr);              // hidden, step_probabilities, ..., lengths
//   auto again = rnnabs::load_traces<float>("traces.npz");
#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "rnnabs/core/error.hpp"
#include "rnnabs/core/traces.hpp"
#include "rnnabs/core/types.hpp"
#include "rnnabs/nn/model_concepts.hpp"
#include "rnnabs/nn/sequence_batch.hpp"
#if defined(RNNABS_HAVE_ZIP)
#include "rnnabs/io/npz.hpp"
#endif

namespace rnnabs {

/// Records `m` over `b` (forward with recording; labels of `b` become the truth, -1 when absent).
template <class Model, class T>
traces<T> profile(const Model& m, const sequence_batch<T>& b) {
  if constexpr (!check_profilable_model<Model, T>()) {
    return {};
  } else {
    auto out = m.forward(b, /*record=*/true);
    traces<T> tr;
    tr.hidden = std::move(out.hidden);
    tr.step_probabilities = std::move(out.step_probabilities);
    tr.step_labels = std::move(out.step_predictions);
    tr.tokens = b.tokens;
    tr.predictions = std::move(out.predictions);
    if (b.labels.size() == b.size()) {
      tr.truth = b.labels;
    } else if (static_cast<index_t>(b.step_labels.size()) == b.size()) {
      tr.truth.resize(b.size());  // every-step labels: the truth of the last step
      for (index_t i = 0; i < b.size(); ++i) {
        const auto& y = b.step_labels[static_cast<std::size_t>(i)];
        tr.truth(i) = y.size() ? y(y.size() - 1) : -1;
      }
    } else {
      tr.truth = index_vector::Constant(b.size(), -1);
    }
    return tr;
  }
}

/// Hidden states as one padded N x T_max x W xtensor (steps past a sequence's end are zero).
template <class T>
xt::xtensor<T, 3> padded_hidden(const traces<T>& tr) {
  index_t tmax = 0;
  for (const auto& h : tr.hidden) tmax = std::max(tmax, h.rows());
  const auto n = static_cast<std::size_t>(tr.size()), tm = static_cast<std::size_t>(tmax),
             w = static_cast<std::size_t>(tr.width());
  xt::xtensor<T, 3> out = xt::zeros<T>({n, tm, w});
  for (std::size_t i = 0; i < n; ++i)
    Eigen::Map<matrix<T>>(out.data() + i * tm * w, tr.hidden[i].rows(), tr.width()) = tr.hidden[i];
  return out;
}

#if defined(RNNABS_HAVE_ZIP)
namespace detail {
template <class M>
M concat_rows(const std::vector<M>& parts, index_t cols) {
  index_t rows = 0;
  for (const auto& p : parts) rows += p.rows();
  M out(rows, cols);
  index_t r = 0;
  for (const auto& p : parts) {
    out.middleRows(r, p.rows()) = p;
    r += p.rows();
  }
  return out;
}
}  // namespace detail

/// NPZ members: hidden (S x W), step_probabilities (S x C), step_labels (S), tokens (S, token models),
/// lengths (n), predictions (n), truth (n); S = total steps, sequences concatenated in order. Atomic.
template <class T>
void save_traces(const std::filesystem::path& path, const traces<T>& tr) {
  tr.validate("save_traces");
  std::map<std::string, io::npy_array> a;
  index_vector len(tr.size());
  for (index_t i = 0; i < tr.size(); ++i) len(i) = tr.length(i);
  a["hidden"] = io::to_npy_array(detail::concat_rows(tr.hidden, tr.width()));
  a["step_probabilities"] = io::to_npy_array(detail::concat_rows(tr.step_probabilities, tr.num_classes()));
  a["step_labels"] = io::to_npy_array(detail::concat_rows(tr.step_labels, 1));
  if (!tr.tokens.empty()) a["tokens"] = io::to_npy_array(detail::concat_rows(tr.tokens, 1));
  a["lengths"] = io::to_npy_array(len);
  a["predictions"] = io::to_npy_array(tr.predictions);
  a["truth"] = io::to_npy_array(tr.truth);
  io::save_npz(path, a);
}

/// Reads save_traces' NPZ; io_error on missing members, inconsistent sizes or non-finite values.
template <class T>
traces<T> load_traces(const std::filesystem::path& path) {
  auto all = io::npz_read(path);
  const std::string origin = detail::concat("load_traces: ", path);
  const auto get = [&](const char* name) -> const io::npy_array& {
    const auto it = all.find(name);
    require<io_error>(it != all.end(), origin, ": no member '", name, "'");
    return it->second;
  };
  const matrix<T> hid = io::to_matrix<T>(get("hidden"));
  const matrix<T> prob = io::to_matrix<T>(get("step_probabilities"));
  const auto ints = [&](const char* name) {
    const matrix<index_t> m = io::to_matrix<index_t>(get(name));
    require<io_error>(m.cols() == 1, origin, ": '", name, "' must be 1-d");
    return index_vector(Eigen::Map<const index_vector>(m.data(), m.rows()));
  };
  const index_vector len = ints("lengths"), lab = ints("step_labels");
  traces<T> tr;
  tr.predictions = ints("predictions");
  tr.truth = ints("truth");
  const bool has_tokens = all.count("tokens") > 0;
  const index_vector tok = has_tokens ? ints("tokens") : index_vector();
  require<io_error>(len.size() > 0 && (len.array() > 0).all(), origin, ": lengths must be positive");
  index_t S = 0;  // lengths from the file: their sum must not overflow
  for (index_t i = 0; i < len.size(); ++i)
    require<io_error>(!__builtin_add_overflow(S, len(i), &S), origin, ": the lengths overflow");
  require<io_error>(hid.rows() == S && prob.rows() == S && lab.size() == S && (!has_tokens || tok.size() == S), origin,
                    ": member sizes disagree with the lengths (", S, " steps in all)");
  require<io_error>(hid.allFinite() && prob.allFinite(), origin, ": non-finite hidden states or probabilities");
  index_t r = 0;
  for (index_t i = 0; i < len.size(); ++i) {
    tr.hidden.push_back(hid.middleRows(r, len(i)));
    tr.step_probabilities.push_back(prob.middleRows(r, len(i)));
    tr.step_labels.push_back(lab.segment(r, len(i)));
    if (has_tokens) tr.tokens.push_back(tok.segment(r, len(i)));
    r += len(i);
  }
  try {
    tr.validate(origin);
  } catch (const invalid_argument& e) {
    throw io_error(e.what());
  }
  return tr;
}
#endif

}  // namespace rnnabs
