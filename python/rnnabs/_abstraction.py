"""The abstract model of any hidden states (RNNRepair's abstraction, Xie et al., ICML 2021).

Hidden states come as a list of T_i x H arrays, one per sequence, from any model (a PyTorch LSTM, a
GRU, a transformer layer), with one label per step (the model's prediction at that step). A reducer
(default rnnabs.PCA(10)) and a partitioner (default rnnabs.GaussianMixture(37, diag)) turn each step
into an abstract state 1..n (0 is the initial state); the automaton indexes every transition by the
training samples that take it.

Any objects following the protocol plug in: a reducer has fit(X) and transform(X); a partitioner has
fit(Z) and predict(Z) returning cluster ids 0..n-1, and says n through n_components, n_clusters or
n_states (scikit-learn's PCA, KMeans and GaussianMixture qualify).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _core
from ._estimators import PCA, GaussianMixture
from ._validation import check_fitted

__all__ = ["Abstraction", "Automaton", "DFA", "sequences_from_padded", "simnn_fidelity", "interpret_faults",
           "automaton_influence"]

Automaton = _core.Automaton


def sequences_from_padded(padded, lengths):
    """Per-sequence views of a padded (N, T, ...) array: [padded[i, :lengths[i]] for i] (no copy)."""
    padded = np.asarray(padded)
    lengths = np.asarray(lengths, dtype=np.int64)
    if padded.ndim < 2 or lengths.shape != (padded.shape[0],):
        raise ValueError(f"sequences_from_padded: got an array of shape {padded.shape} and {lengths.shape} lengths")
    if (lengths < 1).any() or (lengths > padded.shape[1]).any():
        raise ValueError(f"sequences_from_padded: lengths must lie in [1, {padded.shape[1]}]")
    return [padded[i, :n] for i, n in enumerate(lengths.tolist())]


def _sequences(seqs, name):
    if isinstance(seqs, np.ndarray) and seqs.ndim == 3:
        seqs = list(seqs)
    if not isinstance(seqs, (list, tuple)) or len(seqs) == 0:
        raise ValueError(f"{name} must be a non-empty list of per-sequence arrays (or an (N, T, H) array)")
    return seqs


def _labels(labels, lengths, name):
    if isinstance(labels, np.ndarray) and labels.ndim == 2:
        labels = list(labels)
    labels = [np.ascontiguousarray(l, dtype=np.int64).reshape(-1) for l in labels]
    if len(labels) != len(lengths):
        raise ValueError(f"{name}: {len(labels)} label sequences for {len(lengths)} sequences")
    for i, (l, n) in enumerate(zip(labels, lengths)):
        if l.shape[0] != n:
            raise ValueError(f"{name}: sequence {i} has {l.shape[0]} labels for {n} steps")
    return labels


def _root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _stack(seqs):
    """Every step of every sequence as one (sum T_i) x H matrix. When the sequences are consecutive
    C-contiguous views of one array (list(padded), np.split of a matrix), a view of that memory: no copy
    (a copy of 1.7M x 128 float32 costs more than the PCA fit). Otherwise one copy."""
    first = np.asarray(seqs[0])
    if first.ndim == 2 and first.flags.c_contiguous:
        ptr, item, width, total = first.__array_interface__["data"][0], first.itemsize, first.shape[1], 0
        root, ok = _root(first), True
        for h in seqs:
            if not (isinstance(h, np.ndarray) and h.dtype == first.dtype and h.ndim == 2 and h.shape[1] == width
                    and h.flags.c_contiguous and h.__array_interface__["data"][0] == ptr + total * width * item
                    and _root(h) is root):
                ok = False
                break
            total += h.shape[0]
        lo = root.__array_interface__["data"][0]
        if ok and root.flags.c_contiguous and lo <= ptr and ptr + total * width * item <= lo + root.nbytes:
            return np.lib.stride_tricks.as_strided(first, shape=(total, width), strides=(width * item, item),
                                                   writeable=False)
    return np.concatenate(seqs, axis=0) if len(seqs) > 1 else first


def _n_clusters(partitioner):
    for name in ("n_components", "n_clusters", "n_states"):
        v = getattr(partitioner, name, None)
        if isinstance(v, (int, np.integer)):
            return int(v)
    raise ValueError(f"Abstraction: the partitioner {type(partitioner).__name__} says how many clusters it has "
                     "through none of n_components, n_clusters, n_states")


class Abstraction:
    """reducer -> partitioner -> abstract states -> automaton, fitted on training hidden states.

    Fitted attributes: train_states_ (per sequence, states 1..n), n_states_ (n + 1), n_labels_,
    label_counts_ and label_distribution_ ((n + 1) x C: P(label | state); the initial state and
    unvisited states uniform), automaton_.
    """

    def __init__(self, reducer=None, partitioner=None, *, vocab_size=0):
        self.reducer = reducer
        self.partitioner = partitioner
        self.vocab_size = vocab_size

    def _stages(self):
        r = self.reducer if self.reducer is not None else PCA(n_components=10)
        p = self.partitioner if self.partitioner is not None else GaussianMixture(37, covariance_type="diag")
        for obj, needs, what in ((r, ("fit", "transform"), "reducer"), (p, ("fit", "predict"), "partitioner")):
            missing = [m for m in needs if not callable(getattr(obj, m, None))]
            if missing:
                raise TypeError(f"Abstraction: the {what} {type(obj).__name__} has no {', '.join(missing)}(): a "
                                f"{what} needs {' and '.join(needs)}")
        return r, p

    def _project(self, hidden):
        return self.reducer_.transform(_stack(hidden))

    def fit(self, hidden, step_labels, *, n_labels=None, tokens=None):
        """Fits on training hidden states (list of T_i x H arrays) and per-step labels (list of T_i ints);
        tokens (list of T_i token ids) make a token-labelled automaton."""
        hidden = _sequences(hidden, "Abstraction.fit: hidden")
        lengths = [int(np.shape(h)[0]) for h in hidden]
        labels = _labels(step_labels, lengths, "Abstraction.fit")
        C = int(n_labels) if n_labels is not None else int(max(l.max() for l in labels)) + 1
        reducer, partitioner = self._stages()
        X = _stack(hidden)
        reducer.fit(X)
        Z = reducer.transform(X)
        del X
        partitioner.fit(Z)
        n = _n_clusters(partitioner)
        ids = np.asarray(partitioner.predict(Z), dtype=np.int64)
        if ids.shape != (Z.shape[0],) or (ids < 0).any() or (ids >= n).any():
            raise ValueError(f"Abstraction: the partitioner's predict must return {Z.shape[0]} ids in [0, {n})")
        self.reducer_, self.partitioner_ = reducer, partitioner
        self.n_states_ = n + 1
        self.n_labels_ = C
        self.train_states_ = np.split(ids + 1, np.cumsum(lengths)[:-1])
        flat_labels = np.concatenate(labels)
        if flat_labels.min() < 0 or flat_labels.max() >= C:
            raise ValueError(f"Abstraction.fit: step labels must lie in [0, {C})")
        counts = np.bincount((ids + 1) * C + flat_labels, minlength=(n + 1) * C).reshape(n + 1, C)
        self.label_counts_ = counts
        tot = counts.sum(axis=1, keepdims=True)
        self.label_distribution_ = np.where(tot > 0, counts / np.maximum(tot, 1), 1.0 / C)
        tok = [] if tokens is None else _labels(tokens, lengths, "Abstraction.fit: tokens")
        self.automaton_ = _core.Automaton.build(self.train_states_, labels, n + 1, C, tokens=tok,
                                                vocab_size=int(self.vocab_size))
        return self

    @property
    def n_real_states_(self):
        return self.n_states_ - 1

    def states(self, hidden):
        """Abstract states (1..n) of every step of other hidden states, per sequence."""
        check_fitted(self, "automaton_")
        hidden = _sequences(hidden, "Abstraction.states: hidden")
        lengths = [int(np.shape(h)[0]) for h in hidden]
        ids = np.asarray(self.partitioner_.predict(self._project(hidden)), dtype=np.int64)
        return np.split(ids + 1, np.cumsum(lengths)[:-1])

    def abstract_traces(self, states, step_labels):
        """Per sequence a T_i x (2 + C) array: [state, label, P(label = 0..C-1 | state)] (RNNRepair's traces)."""
        check_fitted(self, "automaton_")
        labels = _labels(step_labels, [len(s) for s in states], "Abstraction.abstract_traces")
        return [np.column_stack([s, l, self.label_distribution_[s]]).astype(np.float64) for s, l in zip(states, labels)]


@dataclass
class DFA:
    """The deterministic automaton of the most frequent moves (next: m x V, label: m, seen: m x V)."""
    next: np.ndarray
    label: np.ndarray
    seen: np.ndarray

    @classmethod
    def extract(cls, abstraction):
        check_fitted(abstraction, "automaton_")
        nxt, lab, seen = _core.extract_dfa(abstraction.automaton_, abstraction.label_distribution_)
        return cls(nxt, lab, seen.astype(bool))

    def run(self, tokens):
        """The output label after reading `tokens` from the initial state."""
        s = 0
        for w in np.asarray(tokens, dtype=np.int64).tolist():
            if not 0 <= w < self.next.shape[1]:
                raise ValueError(f"DFA.run: token {w} outside [0, {self.next.shape[1]})")
            s = int(self.next[s, w])
        return int(self.label[s])


def simnn_fidelity(abstraction, train_states, train_labels, train_pred, train_truth, test_states, test_labels,
                   test_pred, test_truth, *, features="all", iterations=500, learning_rate=0.02, seed=0):
    """RNNRepair's SimNN probe: how well a small network on abstract traces reproduces the RNN (a dict of
    accuracies: train_accuracy, test_accuracy, test_agreement, rnn_test_accuracy, loss)."""
    i64 = lambda a: np.ascontiguousarray(a, dtype=np.int64)
    return _core.simnn_fidelity(abstraction.abstract_traces(train_states, train_labels), i64(train_pred),
                                i64(train_truth), abstraction.abstract_traces(test_states, test_labels),
                                i64(test_pred), i64(test_truth), abstraction.n_real_states_, abstraction.n_labels_,
                                features, iterations, learning_rate, seed)


def interpret_faults(abstraction, targets, test_states, test_labels, test_truth, test_pred, train_labels,
                     train_truth, *, max_k=100):
    """Fault interpretation (RNNRepair §4.2): for each target test sample, its nearest training traces by
    the masked abstract-trace distance, and per K how often their truth matches the target's truth or
    prediction (dict: rows by column, neighbours per target)."""
    check_fitted(abstraction, "automaton_")
    i64 = lambda a: np.ascontiguousarray(a, dtype=np.int64)
    return _core.neighbour_statistics(abstraction.abstract_traces(test_states, test_labels), i64(targets),
                                      i64(test_truth), i64(test_pred),
                                      abstraction.abstract_traces(abstraction.train_states_, train_labels),
                                      i64(train_truth), abstraction.n_real_states_, abstraction.n_labels_, max_k)


def automaton_influence(abstraction, test_states, test_labels, *, include_last_transition=True,
                        distinct_edges=True, divisor=0.0):
    """N x m: each training sample's overlap with each test trace's edges (RNNRepair's influence)."""
    check_fitted(abstraction, "automaton_")
    labels = _labels(test_labels, [len(s) for s in test_states], "automaton_influence")
    return _core.automaton_influence(abstraction.automaton_, [np.asarray(s, np.int64) for s in test_states], labels,
                                     include_last_transition, distinct_edges, divisor)
