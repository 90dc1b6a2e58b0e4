// rnnabs._core: the repair experiments' library functions — judging a repair by what it fixes and what
// it breaks, DeepHunter's image mutators, and the trigger contexts of a backdoor in the automaton.
#include <cstdint>
#include <string>

#include <rnnabs/core/rng.hpp>
#include <rnnabs/repair/backdoor.hpp>
#include <rnnabs/repair/mutators.hpp>
#include <rnnabs/repair/outcome.hpp>

#include "common.hpp"

namespace rnnabs::python {
namespace {

mutator parse_mutator(const std::string& s) {
  for (auto m : all_mutators)
    if (s == to_string(m)) return m;
  throw invalid_argument("mutate: '" + s +
                         "' is not a mutator (translation, scale, shear, rotation, contrast, brightness, blur, "
                         "pixel_change, noise)");
}

template <class T>
py::tuple mutate_py(const matrix<T>& img, std::uint64_t seed, index_t tries, double alpha, double beta,
                    const std::vector<std::string>& names) {
  mutate_options o{.tries = tries, .alpha = alpha, .beta = beta};
  if (!names.empty()) {
    o.mutators.clear();
    for (const auto& n : names) o.mutators.push_back(parse_mutator(n));
  }
  auto r = compute([&] {
    rng g(seed);
    return mutate(img, g, o);
  });
  return py::make_tuple(std::move(r.image), std::string(to_string(r.op)), r.parameter, r.accepted);
}

}  // namespace

void bind_repair(py::module_& m) {
  m.def(
      "judge_repair",
      [](const index_vector& truth, const index_vector& before, const index_vector& after,
         const std::vector<index_t>& targets) {
        const repair_outcome r = judge_repair(truth, before, after, targets);
        py::dict d;
        d["targets"] = r.targets;
        d["targets_fixed"] = r.targets_fixed;
        d["rest"] = r.rest;
        d["rest_correct"] = r.rest_correct;
        d["were_right"] = r.were_right;
        d["broken"] = r.broken;
        d["were_wrong"] = r.were_wrong;
        d["also_fixed"] = r.also_fixed;
        d["target_accuracy"] = r.target_accuracy();
        d["rest_accuracy"] = r.rest_accuracy();
        d["accuracy"] = r.accuracy();
        return d;
      },
      py::arg("truth"), py::arg("before"), py::arg("after"), py::arg("targets"),
      "What a repair fixed among its targets and what it broke among the inputs that were right before.");
  const auto mutate_doc =
      "(mutant, op, parameter, accepted): one DeepHunter mutation of a grey image (uint8 0..255 or float 0..1) "
      "within the L0 (alpha) / L-inf (beta) bounds, seeded.";
  m.def("mutate", &mutate_py<std::uint8_t>, py::arg("image").noconvert(), py::arg("seed"), py::arg("tries") = 50,
        py::arg("alpha") = 0.02, py::arg("beta") = 0.2, py::arg("mutators") = std::vector<std::string>{}, mutate_doc);
  m.def("mutate", &mutate_py<float>, py::arg("image"), py::arg("seed"), py::arg("tries") = 50, py::arg("alpha") = 0.02,
        py::arg("beta") = 0.2, py::arg("mutators") = std::vector<std::string>{}, mutate_doc);
  m.def(
      "trigger_contexts",
      [](const automaton& a, index_t trigger) {
        const trigger_contexts c = find_trigger_contexts(a, trigger);
        py::list nodes;
        for (const auto& [node, w] : c.weight) nodes.append(py::make_tuple(node.state, node.label, w));
        py::dict d;
        d["contexts"] = nodes;
        d["samples"] = c.samples;
        return d;
      },
      py::arg("automaton"), py::arg("trigger"),
      "Where a (suspected) trigger token is read: (state, label, steps) of each abstract node it leaves, and "
      "every training sample that reads it.");
}

}  // namespace rnnabs::python
