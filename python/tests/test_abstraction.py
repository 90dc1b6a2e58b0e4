"""The abstract model from hidden states: the Python composition equals the C++ pipeline, the automaton
equals a brute-force count, Python-protocol stages plug in, and the analyses run on it."""
import json
import pickle

import numpy as np
import pytest

import rnnabs


def lstm_like_traces(n=300, T=12, H=16, C=3, seed=0):
    """Hidden states of a fixed random tanh RNN on random inputs, labels from a fixed random head."""
    rng = np.random.default_rng(seed)
    W, U, V = rng.normal(size=(4, H)), rng.normal(size=(H, H)) / np.sqrt(H), rng.normal(size=(H, C))
    hidden, labels = [], []
    for i in range(n):
        t = int(rng.integers(T // 2, T + 1))
        h, hs = np.zeros(H), []
        for x in rng.normal(size=(t, 4)):
            h = np.tanh(x @ W + h @ U)
            hs.append(h)
        hs = np.array(hs, np.float32)
        hidden.append(hs)
        labels.append((hs @ V).argmax(1))
    return hidden, labels


def brute_force_transitions(states, labels):
    counts, samples = {}, {}
    for i, (s, l) in enumerate(zip(states, labels)):
        ps, pl = 0, 0
        for sc, lc in zip(s.tolist(), l.tolist()):
            key = (ps, pl, 0, lc, sc)
            counts[key] = counts.get(key, 0) + 1
            samples.setdefault(key, set()).add(i)
            ps, pl = sc, lc
    return counts, samples


def test_python_composition_equals_the_cpp_pipeline_and_a_brute_force_count():
    hidden, labels = lstm_like_traces()
    a = rnnabs.Abstraction(rnnabs.PCA(5, random_state=0),
                           rnnabs.GaussianMixture(8, covariance_type="diag", random_state=0)).fit(hidden, labels)
    ref = rnnabs._core.build_abstraction(hidden, labels, 3, pca_components=5, n_clusters=8, seed=0)
    assert all(np.array_equal(x, y) for x, y in zip(a.train_states_, ref["states"]))
    np.testing.assert_array_equal(a.label_distribution_, ref["label_distribution"])
    keys, counts = a.automaton_.transitions()
    rkeys, rcounts = ref["automaton"].transitions()
    np.testing.assert_array_equal(keys, rkeys)
    np.testing.assert_array_equal(counts, rcounts)
    bf_counts, bf_samples = brute_force_transitions(a.train_states_, labels)
    assert {tuple(k): int(c) for k, c in zip(keys.tolist(), counts.tolist())} == bf_counts
    for i, k in enumerate(keys.tolist()):
        assert set(a.automaton_.samples(*k).tolist()) == bf_samples[tuple(k)]
        assert set(a.automaton_.postings(i)[:, 0].tolist()) == bf_samples[tuple(k)]
    assert a.n_states_ == 9 and a.automaton_.n_states == 9 and a.automaton_.n_samples == len(hidden)
    m = a.automaton_.state_transition_counts()
    assert m.sum() == sum(len(s) for s in a.train_states_)
    # new hidden states get states through the same stages
    assert all(np.array_equal(x, y) for x, y in zip(a.states(hidden[:20]), a.train_states_[:20]))


def test_automaton_exports_and_round_trips(tmp_path):
    hidden, labels = lstm_like_traces(n=80)
    a = rnnabs.Abstraction(rnnabs.PCA(4), rnnabs.KMeans(5, random_state=0)).fit(hidden, labels)
    aut = a.automaton_
    j = json.loads(aut.to_json(postings=True))
    assert isinstance(j, dict) and len(json.dumps(j)) > 100
    assert aut.to_dot().lstrip().startswith("digraph")
    aut.save(str(tmp_path / "a.rnnabs"))
    for b in (rnnabs.Automaton.load(str(tmp_path / "a.rnnabs")), pickle.loads(pickle.dumps(aut))):
        for x, y in zip(b.transitions(), aut.transitions()):
            np.testing.assert_array_equal(x, y)
    with pytest.raises(rnnabs.FileError):
        (tmp_path / "bad.rnnabs").write_bytes(b"PK\x03\x04 not really a zip")
        rnnabs.Automaton.load(str(tmp_path / "bad.rnnabs"))


def test_python_protocol_stages_recover_a_parity_dfa():
    """Hidden states that encode parity (one-hot plus noise), abstracted with scikit-learn's PCA and
    KMeans as plug-in stages: the extracted DFA computes parity on fresh strings."""
    sk = pytest.importorskip("sklearn.cluster")
    rng = np.random.default_rng(0)
    hidden, labels, tokens = [], [], []
    for _ in range(200):
        bits = rng.integers(0, 2, int(rng.integers(3, 12)))
        par = np.cumsum(bits) % 2
        hidden.append((np.eye(2)[par] + 0.05 * rng.normal(size=(len(bits), 2))).astype(np.float32))
        labels.append(par)
        tokens.append(bits)

    class Identity:  # a reducer that is neither rnnabs' nor scikit-learn's
        def fit(self, X):
            return self

        def transform(self, X):
            return X

    a = rnnabs.Abstraction(Identity(), sk.KMeans(2, n_init=3, random_state=0)).fit(hidden, labels, tokens=tokens)
    dfa = rnnabs.DFA.extract(a)
    fresh = [rng.integers(0, 2, 30) for _ in range(200)]
    assert all(dfa.run(s) == int(s.sum() % 2) for s in fresh)
    with pytest.raises(TypeError, match="needs fit and predict"):
        rnnabs.Abstraction(Identity(), Identity()).fit(hidden, labels)


def test_fidelity_faults_and_automaton_influence():
    hidden, labels = lstm_like_traces(n=200)
    train, test = slice(0, 150), slice(150, 200)
    a = rnnabs.Abstraction(rnnabs.PCA(5), rnnabs.GaussianMixture(6, covariance_type="diag")).fit(hidden[train],
                                                                                                 labels[train])
    pred = np.array([l[-1] for l in labels])
    truth = pred.copy()
    truth[::7] = (truth[::7] + 1) % 3  # some "mistakes"
    ts = a.states(hidden[test])
    f = rnnabs.simnn_fidelity(a, a.train_states_, labels[train], pred[train], truth[train], ts, labels[test],
                              pred[test], truth[test], iterations=50)
    assert 0 <= f["test_accuracy"] <= 1 and f["n_test"] == 50 and f["loss"] > 0
    failed = np.flatnonzero(pred[test] != truth[test])
    rep = rnnabs.interpret_faults(a, failed, ts, labels[test], truth[test], pred[test], labels[train], truth[train],
                                  max_k=5)
    assert rep["n_targets"] == len(failed) and rep["rows"]["k"] == [1, 2, 3, 4, 5]
    # a test trace that repeats a training trace has it as nearest neighbour (distance 0)
    rep2 = rnnabs.interpret_faults(a, [0], a.train_states_[:1], labels[:1], truth[:1], pred[:1], labels[train],
                                   truth[train], max_k=1)
    first = rep2["neighbours"][0][0]
    assert np.array_equal(a.train_states_[first], a.train_states_[0]) and np.array_equal(labels[first], labels[0])
    inf = rnnabs.automaton_influence(a, ts, labels[test])
    assert inf.shape == (150, 50)
    # brute force: the share of a test trace's distinct edges that training sample i also takes
    def edges(s, l):
        prev = [(0, 0)] + list(zip(s.tolist(), l.tolist()))
        return {(p[0], p[1], c[1], c[0]) for p, c in zip(prev[:-1], prev[1:])}
    E_test = edges(ts[3], labels[test][3])
    for i in range(0, 150, 13):
        E_i = edges(a.train_states_[i], labels[train][i])
        assert inf[i, 3] == pytest.approx(len(E_test & E_i) / len(E_test))


def test_bad_input_names_the_problem():
    hidden, labels = lstm_like_traces(n=20)
    with pytest.raises(ValueError, match="sequence 2 has"):
        rnnabs.Abstraction().fit(hidden, [l if i != 2 else l[:-1] for i, l in enumerate(labels)])
    bad = [h.copy() for h in hidden]
    bad[5][1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        rnnabs.Abstraction(rnnabs.PCA(3), rnnabs.GaussianMixture(2)).fit(bad, labels)


def test_consecutive_views_are_stacked_without_a_copy():
    from rnnabs._abstraction import _stack
    padded = np.arange(5 * 4 * 3, dtype=np.float32).reshape(5, 4, 3)
    X = _stack(list(padded))
    assert np.shares_memory(X, padded) and np.array_equal(X, padded.reshape(20, 3))
    parts = np.split(padded.reshape(20, 3), [3, 9, 10])
    assert np.shares_memory(_stack(parts), padded)
    shuffled = [padded[i] for i in (1, 0, 2, 3, 4)]  # not consecutive: copied, in the list's order
    Y = _stack(shuffled)
    assert not np.shares_memory(Y, padded) and np.array_equal(Y, np.concatenate(shuffled))
    other = [padded[0], padded[1].copy()]  # the second lives elsewhere
    assert np.array_equal(_stack(other), np.concatenate(other))
