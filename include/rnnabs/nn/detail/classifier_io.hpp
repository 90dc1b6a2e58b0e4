#pragma once
// rnn_classifier persistence: the rnnabs archive (save/load) and PyTorch state_dict NPZ
// (save_npz/load_npz). Both need rnnabs::zip; without it they throw io_error.
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "rnnabs/nn/rnn_classifier.hpp"
#if defined(RNNABS_HAVE_ZIP)
#include "rnnabs/io/archive.hpp"
#include "rnnabs/io/npz.hpp"
#endif

namespace rnnabs {

#if defined(RNNABS_HAVE_ZIP)
namespace detail {

/// One tensor of the flat vector as an npy array with PyTorch's shape (1-d for biases), dtype T.
template <class T>
io::npy_array tensor_to_npy(const parameter_layout& L, const vector<T>& theta, index_t i) {
  const auto& e = L[i];
  if (e.is_vector()) return io::to_npy_array(vector<T>(theta.segment(e.offset, e.rows)));
  return io::to_npy_array(matrix<T>(L.view(theta.data(), i)));
}

/// Copies `a` into entry i of theta; io_error on a shape mismatch or a non-finite value.
template <class T>
void tensor_from_npy(const parameter_layout& L, vector<T>& theta, index_t i, const io::npy_array& a,
                     const std::string& origin) {
  const auto& e = L[i];
  const std::vector<std::size_t> want = e.is_vector() ? std::vector<std::size_t>{static_cast<std::size_t>(e.rows)}
                                                      : std::vector<std::size_t>{static_cast<std::size_t>(e.rows),
                                                                                 static_cast<std::size_t>(e.cols)};
  require<io_error>(a.shape == want, origin, ": '", e.name, "' has shape ", io::detail::shape_text(a.shape),
                    ", the model needs ", io::detail::shape_text(want));
  require<io_error>(a.type == io::dtype::f4 || a.type == io::dtype::f8, origin, ": '", e.name, "' is a ",
                    io::dtype_name(a.type), " array, expected float32 or float64");
  const matrix<T> m = io::to_matrix<T>(a);
  require<io_error>(m.allFinite(), origin, ": '", e.name, "' has a non-finite value");
  theta.segment(e.offset, e.size()) = Eigen::Map<const vector<T>>(m.data(), e.size());
}

}  // namespace detail

template <recurrent_cell Cell, class T>
void rnn_classifier<Cell, T>::save(const std::filesystem::path& path) const {
  require(layout_.size() > 0, "rnn_classifier::save: the model is empty (default-constructed)");
  io::archive a("rnn_classifier", archive_version);
  a.put_string("config.cell", std::string(Cell::name()));
  a.put_string("config.loss", std::string(to_string(cfg_.loss)));
  a.put_string("config.head", std::string(to_string(cfg_.head)));
  a.put_string("config.names", names_.embedding + "\n" + names_.rnn + "\n" + names_.head);
  a.put_scalar("config.input_size", static_cast<double>(cfg_.input_size));
  a.put_scalar("config.vocab_size", static_cast<double>(cfg_.vocab_size));
  a.put_scalar("config.hidden_size", static_cast<double>(cfg_.hidden_size));
  a.put_scalar("config.num_layers", static_cast<double>(cfg_.num_layers));
  a.put_scalar("config.bidirectional", cfg_.bidirectional ? 1.0 : 0.0);
  a.put_scalar("config.num_classes", static_cast<double>(cfg_.num_classes));
  a.put_scalar("config.batch_chunk", static_cast<double>(cfg_.batch_chunk));
  for (index_t i = 0; i < static_cast<index_t>(layout_.entries().size()); ++i)
    a.put_array(layout_[i].name, detail::tensor_to_npy(layout_, theta_, i));
  io::save(path, a);
}

template <recurrent_cell Cell, class T>
rnn_classifier<Cell, T> rnn_classifier<Cell, T>::load(const std::filesystem::path& path) {
  const io::archive a = io::load(path, "rnn_classifier", archive_version);
  const std::string origin = detail::concat("rnn_classifier::load: ", path);
  const std::string cell = a.get_string("config.cell");
  require<io_error>(cell == Cell::name(), origin, ": the file holds a '", cell, "' model, this type is '", Cell::name(),
                    "'");
  rnn_config c;
  const auto count = [&](const char* name) {
    const double v = a.get_scalar(name);
    require<io_error>(std::isfinite(v) && v >= 0 && v == std::floor(v) && v < 1e15, origin, ": bad ", name, " (", v,
                      ")");
    return static_cast<index_t>(v);
  };
  c.input_size = count("config.input_size");
  c.vocab_size = count("config.vocab_size");
  c.hidden_size = count("config.hidden_size");
  c.num_layers = count("config.num_layers");
  c.bidirectional = a.get_scalar("config.bidirectional") != 0.0;
  c.num_classes = count("config.num_classes");
  c.batch_chunk = count("config.batch_chunk");
  const std::string loss = a.get_string("config.loss"), head = a.get_string("config.head");
  bool known = false;
  for (auto k : {loss_kind::cross_entropy, loss_kind::bce_with_logits, loss_kind::softmax_bce})
    if (loss == to_string(k)) c.loss = k, known = true;
  require<io_error>(known, origin, ": unknown loss '", loss, "'");
  require<io_error>(head == "last_step" || head == "every_step", origin, ": unknown head '", head, "'");
  c.head = head == "last_step" ? head_mode::last_step : head_mode::every_step;
  state_dict_names names;
  {
    const std::string s = a.get_string("config.names");
    const auto p1 = s.find('\n'), p2 = s.find('\n', p1 == std::string::npos ? p1 : p1 + 1);
    require<io_error>(p1 != std::string::npos && p2 != std::string::npos, origin, ": corrupt config.names");
    names = {s.substr(0, p1), s.substr(p1 + 1, p2 - p1 - 1), s.substr(p2 + 1)};
  }
  try {
    c.validate("rnn_classifier::load");
  } catch (const invalid_argument& e) {
    throw io_error(detail::concat(origin, ": bad config: ", e.what()));
  }
  {  // The parameter count follows from the config read above: bound it before building the layout.
    const long double dirs = c.bidirectional ? 2 : 1, h = static_cast<long double>(c.hidden_size),
                      gh = static_cast<long double>(Cell::gates) * h, out = dirs * h;
    const long double n = (c.token_input() ? static_cast<long double>(c.vocab_size) * c.input_size : 0) +
                          dirs * gh * (static_cast<long double>(c.input_size) + h + 2) +
                          (static_cast<long double>(c.num_layers) - 1) * dirs * gh * (out + h + 2) +
                          static_cast<long double>(c.num_classes) * (out + 1);
    io::detail::check_alloc(n < 1.8e19L ? static_cast<std::uint64_t>(n) : ~std::uint64_t{0}, sizeof(T), origin,
                            "the parameters of its config");
  }
  rnn_classifier m;
  m.cfg_ = c;
  m.names_ = names;
  m.layout_ = make_rnn_layout(c, Cell::gates, m.idx_, names);
  m.theta_.resize(m.layout_.size());
  for (index_t i = 0; i < static_cast<index_t>(m.layout_.entries().size()); ++i) {
    const auto& name = m.layout_[i].name;
    require<io_error>(a.contains(name), origin, ": no tensor '", name, "'");
    detail::tensor_from_npy(m.layout_, m.theta_, i, a.arrays().at(name), origin);
  }
  return m;
}

template <recurrent_cell Cell, class T>
void rnn_classifier<Cell, T>::save_npz(const std::filesystem::path& path) const {
  require(layout_.size() > 0, "rnn_classifier::save_npz: the model is empty (default-constructed)");
  std::map<std::string, io::npy_array> m;
  for (index_t i = 0; i < static_cast<index_t>(layout_.entries().size()); ++i)
    m.emplace(layout_[i].name, detail::tensor_to_npy(layout_, theta_, i));
  io::save_npz(path, m);
}

template <recurrent_cell Cell, class T>
void rnn_classifier<Cell, T>::load_npz(const std::filesystem::path& path) {
  require(layout_.size() > 0, "rnn_classifier::load_npz: construct the model with its config first");
  const std::string origin = detail::concat("rnn_classifier::load_npz: ", path);
  const auto arrays = io::npz_read(path);
  std::set<std::string> expected;
  for (const auto& e : layout_.entries()) expected.insert(e.name);
  for (const auto& [name, arr] : arrays)
    require<io_error>(expected.contains(name), origin, ": unexpected member '", name,
                      "' (not a parameter of this model)");
  vector<T> theta(layout_.size());
  for (index_t i = 0; i < static_cast<index_t>(layout_.entries().size()); ++i) {
    const auto it = arrays.find(layout_[i].name);
    require<io_error>(it != arrays.end(), origin, ": no member '", layout_[i].name, "'");
    detail::tensor_from_npy(layout_, theta, i, it->second, origin);
  }
  theta_ = std::move(theta);  // only a complete, valid file replaces the weights
}

#else
template <recurrent_cell Cell, class T>
void rnn_classifier<Cell, T>::save(const std::filesystem::path&) const {
  throw io_error("rnn_classifier::save: this build has no archive support; link rnnabs::zip (zlib + minizip)");
}
template <recurrent_cell Cell, class T>
rnn_classifier<Cell, T> rnn_classifier<Cell, T>::load(const std::filesystem::path&) {
  throw io_error("rnn_classifier::load: this build has no archive support; link rnnabs::zip (zlib + minizip)");
}
template <recurrent_cell Cell, class T>
void rnn_classifier<Cell, T>::save_npz(const std::filesystem::path&) const {
  throw io_error("rnn_classifier::save_npz: this build has no NPZ support; link rnnabs::zip (zlib + minizip)");
}
template <recurrent_cell Cell, class T>
void rnn_classifier<Cell, T>::load_npz(const std::filesystem::path&) {
  throw io_error("rnn_classifier::load_npz: this build has no NPZ support; link rnnabs::zip (zlib + minizip)");
}
#endif

}  // namespace rnnabs
