#pragma once
// Interchange formats of an automaton: Graphviz DOT (a picture of the state graph) and JSON (every
// transition with its count, optionally its postings). JSON goes through nlohmann-json
// (Debian: nlohmann-json3-dev), a header-only dependency of this header only.
//
//   rnnabs::save_dot("automaton.gv", a, {.min_count = 50});   // dot -Tpng automaton.gv -o a.png
//   rnnabs::save_json("automaton.json", a);
//   auto dot = rnnabs::trace_to_dot(a, path, {.token_name = [&](rnnabs::index_t w) { return vocab.word(w); }});
#include <cstdio>
#include <filesystem>
#include <functional>
#include <span>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "rnnabs/abstraction/automaton.hpp"
#include "rnnabs/io/atomic_file.hpp"

namespace rnnabs {

struct dot_options {
  /// Edges with fewer steps are left out (nodes without edges too).
  index_t min_count = 1;
  /// One edge per (state, label) -> (next state, next label) instead of per state pair.
  bool per_label = false;
  std::string name = "automaton";
};

/// The state graph in DOT. Node s lists its steps per label (the labels of the steps entering it);
/// an edge s -> s' carries its step count and P(s' | s).
inline std::string to_dot(const automaton& a, const dot_options& o = {}) {
  require(a.n_states() > 0, "to_dot: the automaton is empty");
  const index_t m = a.n_states(), C = a.n_labels();
  matrix<index_t> in_label = matrix<index_t>::Zero(m, C);  // steps entering s with label l
  for (index_t i = 0; i < a.n_edges(); ++i) {
    const edge e = a.edge_at(i);
    in_label(e.to, e.next_label) += a.edge_count_at(i);
  }
  const matrix<index_t> st = a.state_transition_counts();
  std::ostringstream os;
  os.precision(4);
  os << "digraph " << nlohmann::json(o.name).dump() << " {\n  rankdir=LR;\n  node [shape=circle, fontsize=10];\n";
  os << "  s0 [label=\"0\\ninit\", shape=doublecircle];\n";
  std::vector<char> used(static_cast<std::size_t>(m), 0);
  used[0] = 1;
  const auto keep_edge = [&](index_t c) { return c >= o.min_count && c > 0; };
  if (o.per_label) {
    for (index_t i = 0; i < a.n_edges(); ++i)
      if (keep_edge(a.edge_count_at(i)))
        used[static_cast<std::size_t>(a.edge_at(i).from)] = used[static_cast<std::size_t>(a.edge_at(i).to)] = 1;
  } else {
    for (index_t s = 0; s < m; ++s)
      for (index_t t = 0; t < m; ++t)
        if (keep_edge(st(s, t))) used[static_cast<std::size_t>(s)] = used[static_cast<std::size_t>(t)] = 1;
  }
  for (index_t s = 1; s < m; ++s) {
    if (!used[static_cast<std::size_t>(s)]) continue;
    os << "  s" << s << " [label=\"" << s;
    for (index_t l = 0; l < C; ++l)
      if (in_label(s, l) > 0) os << "\\n" << l << ": " << in_label(s, l);
    os << "\"];\n";
  }
  if (o.per_label) {
    for (index_t i = 0; i < a.n_edges(); ++i) {
      const index_t c = a.edge_count_at(i);
      if (!keep_edge(c)) continue;
      const edge e = a.edge_at(i);
      os << "  s" << e.from << " -> s" << e.to << " [label=\"" << e.label << "->" << e.next_label << " " << c << " ("
         << *a.edge_probability(e) << ")\"];\n";
    }
  } else {
    for (index_t s = 0; s < m; ++s) {
      const index_t out = st.row(s).sum();
      for (index_t t = 0; t < m; ++t)
        if (keep_edge(st(s, t)))
          os << "  s" << s << " -> s" << t << " [label=\"" << st(s, t) << " ("
             << static_cast<double>(st(s, t)) / static_cast<double>(out) << ")\"];\n";
    }
  }
  os << "}\n";
  return os.str();
}

struct trace_dot_options {
  /// Draw the automaton's state graph faded behind the trace (edges with at least min_count steps).
  bool automaton = true;
  index_t min_count = 1;
  /// Name of a token on the trace's edges (e.g. a vocabulary's word); empty: the id. Feature input
  /// (no tokens) shows the step number only.
  std::function<std::string(index_t)> token_name{};
  std::string name = "trace";
};

/// One input's path through the automaton (RNNRepair's trace plot): the states it visits in bold, each step j an
/// edge "j: token, label -> next label (n)" with n the training steps on that transition, over the
/// faded state graph. `path` holds the input's transitions (repair::abstract_path builds them).
inline std::string trace_to_dot(const automaton& a, std::span<const transition> path, const trace_dot_options& o = {}) {
  require(a.n_states() > 0, "trace_to_dot: the automaton is empty");
  require(!path.empty(), "trace_to_dot: the path is empty");
  const index_t m = a.n_states();
  for (const auto& t : path)
    require(t.from >= 0 && t.from < m && t.to >= 0 && t.to < m, "trace_to_dot: a transition of the path leaves the ", m,
            " states of the automaton");
  std::vector<char> on_path(static_cast<std::size_t>(m), 0), shown(static_cast<std::size_t>(m), 0);
  for (const auto& t : path) on_path[static_cast<std::size_t>(t.from)] = on_path[static_cast<std::size_t>(t.to)] = 1;
  shown = on_path;
  const matrix<index_t> st = a.state_transition_counts();
  if (o.automaton)
    for (index_t s = 0; s < m; ++s)
      for (index_t t = 0; t < m; ++t)
        if (st(s, t) >= std::max<index_t>(1, o.min_count))
          shown[static_cast<std::size_t>(s)] = shown[static_cast<std::size_t>(t)] = 1;
  std::ostringstream os;
  os << "digraph " << nlohmann::json(o.name).dump() << " {\n  rankdir=LR;\n  node [shape=circle, fontsize=10];\n";
  for (index_t s = 0; s < m; ++s) {
    if (!shown[static_cast<std::size_t>(s)]) continue;
    os << "  s" << s << " [label=\"" << (s == 0 ? "0\\ninit" : std::to_string(s)) << "\""
       << (s == 0 ? ", shape=doublecircle" : "")
       << (on_path[static_cast<std::size_t>(s)] ? ", penwidth=2" : ", color=gray80, fontcolor=gray60") << "];\n";
  }
  if (o.automaton)
    for (index_t s = 0; s < m; ++s)
      for (index_t t = 0; t < m; ++t)
        if (st(s, t) >= std::max<index_t>(1, o.min_count)) os << "  s" << s << " -> s" << t << " [color=gray85];\n";
  for (std::size_t j = 0; j < path.size(); ++j) {
    const transition& t = path[j];
    os << "  s" << t.from << " -> s" << t.to << " [penwidth=2, color=blue, fontcolor=blue, label=\"" << j;
    if (a.consumes_tokens()) {
      const std::string w = o.token_name ? o.token_name(t.token) : std::to_string(t.token);
      os << ": " << nlohmann::json(w).dump().substr(1, nlohmann::json(w).dump().size() - 2);
    }
    os << ", " << t.label << "->" << t.next_label << " (" << (t.token < a.vocab_size() ? a.count(t) : 0) << ")\"];\n";
  }
  os << "}\n";
  return os.str();
}

struct json_options {
  bool postings = false;  ///< include each transition's (sample, step) postings
};

/// {"format": "rnnabs-automaton", "version": 1, "n_states", "n_labels", "vocab_size", "n_samples",
///  "live_samples", "transitions": [{"from", "label", "token", "next_label", "to", "count",
///  ["postings": [[sample, step], ...]]}, ...]}
inline nlohmann::json to_json(const automaton& a, const json_options& o = {}) {
  nlohmann::json j;
  j["format"] = "rnnabs-automaton";
  j["version"] = automaton::archive_version;
  j["n_states"] = a.n_states();
  j["n_labels"] = a.n_labels();
  j["vocab_size"] = a.vocab_size();
  j["consumes_tokens"] = a.consumes_tokens();
  j["n_samples"] = a.n_samples();
  j["live_samples"] = a.n_live_samples();
  j["total_count"] = a.total_count();
  nlohmann::json tr = nlohmann::json::array();
  for (index_t i = 0; i < a.n_transitions(); ++i) {
    const transition t = a.transition_at(i);
    nlohmann::json e = {{"from", t.from}, {"label", t.label},      {"token", t.token}, {"next_label", t.next_label},
                        {"to", t.to},     {"count", a.count_at(i)}};
    if (o.postings) {
      nlohmann::json p = nlohmann::json::array();
      for (const posting& q : a.postings_at(i)) p.push_back({q.sample, q.step});
      e["postings"] = std::move(p);
    }
    tr.push_back(std::move(e));
  }
  j["transitions"] = std::move(tr);
  return j;
}

inline void save_dot(const std::filesystem::path& path, const automaton& a, const dot_options& o = {}) {
  io::atomic_write_bytes(path, to_dot(a, o));
}
inline void save_json(const std::filesystem::path& path, const automaton& a, const json_options& o = {}) {
  io::atomic_write_bytes(path, to_json(a, o).dump(1));
}

}  // namespace rnnabs
