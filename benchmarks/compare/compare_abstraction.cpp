// rnnabs side of the abstraction case (peer: the RNNRepair way in sklearn, see cases_abstraction.py).
// Timed: rnnabs::build_abstraction on the traces — stack the steps, PCA to 10, diagonal GMM K = 37 to
// convergence, states, state x label counts, automaton + postings index. Checked: PCA explained
// variance, BIC within 2 % of the peer's, and the automaton built from the peer's own states against
// the peer's transition counts and id sets (exact).
#include <chrono>
#include <filesystem>

#include <rnnabs/abstraction/model.hpp>
#include <rnnabs/io/npy.hpp>

#include "compare_registry.hpp"

namespace compare_abstraction_case {

using namespace rnnabs;
namespace fs = std::filesystem;

compare::outcome run_case(const fs::path& wd) {
  const matrix<float> hid = io::load_npy_matrix<float>(wd / "hidden.npy");
  const matrix<index_t> lab = io::load_npy_matrix<index_t>(wd / "step_labels.npy");
  const index_t n = lab.rows(), T = lab.cols(), C = 10;
  traces<float> tr;
  for (index_t i = 0; i < n; ++i) {
    tr.hidden.push_back(hid.middleRows(i * T, T));
    const index_vector l = lab.row(i).transpose();
    matrix<float> p = matrix<float>::Zero(T, C);
    for (index_t t = 0; t < T; ++t) p(t, l(t)) = 1;
    tr.step_probabilities.push_back(std::move(p));
    tr.step_labels.push_back(l);
  }
  tr.predictions = lab.col(T - 1);
  tr.truth = index_vector::Constant(n, -1);

  // The peer computes in float32 throughout (scikit-learn keeps the traces' dtype); rnnabs runs its
  // EM iterations in float with double sums across tiles (em_precision::single_precision).
  const abstraction_options opt{.pca_components = 10,
                                .n_clusters = 37,
                                .tol = 1e-3,
                                .max_iter = 100,
                                .seed = 0,
                                .precision = em_precision::single_precision};
  const auto t0 = std::chrono::steady_clock::now();
  const abstract_model model = build_abstraction(tr, opt);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // PCA and BIC against the peer.
  const auto& red = model.abstraction.reducer().pca_model();
  const vector<double> ev_peer = io::load_npy_matrix<double>(wd / "peer_explained_variance.npy").col(0);
  const double e_ev = (red.explained_variance() - ev_peer).cwiseAbs().maxCoeff() / ev_peer.cwiseAbs().maxCoeff();
  const matrix<double> peer_bic = io::load_npy_matrix<double>(wd / "peer_bic.npy");
  const matrix<float> z = model.abstraction.reducer().transform(hid);
  const double bic = model.abstraction.partitioner().bic(z);
  const double e_bic = std::abs(bic - peer_bic(0, 0)) / std::abs(peer_bic(0, 0));

  // The automaton from the peer's states reproduces the peer's transitions and id sets.
  const matrix<index_t> ps = io::load_npy_matrix<index_t>(wd / "peer_states.npy");
  std::vector<index_vector> states(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) states[static_cast<std::size_t>(i)] = ps.row(i).transpose();
  const auto t1 = std::chrono::steady_clock::now();
  const automaton a = automaton::build(states, tr.step_labels, {}, 38, C);
  const double automaton_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  const matrix<index_t> keys = io::load_npy_matrix<index_t>(wd / "peer_keys.npy");
  const matrix<index_t> counts = io::load_npy_matrix<index_t>(wd / "peer_counts.npy");
  const matrix<index_t> ids = io::load_npy_matrix<index_t>(wd / "peer_ids.npy");
  double e_auto = a.n_transitions() == keys.rows() ? 0.0 : 1.0;
  for (index_t k = 0; k < keys.rows() && e_auto == 0.0; ++k) {
    const transition t{keys(k, 0), keys(k, 1), keys(k, 2), keys(k, 3), keys(k, 4)};
    if (a.transition_at(k) != t || a.count_at(k) != counts(k, 0) ||
        static_cast<index_t>(a.samples(t).size()) != ids(k, 0))
      e_auto = 1.0;
  }

  compare::outcome o;
  o.seconds = seconds;
  o.max_rel_err = std::max({e_ev, e_bic, e_auto});
  o.equal = e_ev <= 1e-4 && e_bic <= 0.02 && e_auto == 0.0;
  o.detail = detail::concat("N=", n, "_T=", T, "_H=", hid.cols(), "_pca10_gmm37diag_err(explained_variance)=", e_ev,
                            "_err(bic)=", e_bic, "(rnnabs_iters=", model.abstraction.partitioner().n_iter(),
                            ",peer_iters=", peer_bic(1, 0), ")_automaton_from_peer_states_exact=", e_auto == 0.0,
                            "_fit_s=", model.fit_seconds, "_automaton+index_s=", model.automaton_seconds,
                            "_automaton_rebuild_s=", automaton_s, "_transitions=", a.n_transitions());
  return o;
}

[[maybe_unused]] const bool r1 = compare::add("abstraction_fmnist", run_case);

}  // namespace compare_abstraction_case
