"""Explanations of a black box given as a Python callable (Guo et al., CCS 2018: LEMNA; DMM, DMM-MEN).

A feature black box takes an (n, p) float64 array and returns n scores; a sequence black box takes a
list of n int64 token arrays and returns n scores. It is called with the GIL held, from the thread
that called rnnabs.
"""
from __future__ import annotations

import numpy as np

from . import _core

__all__ = ["lemna", "lemna_sequence", "dmm", "dmm_men", "feature_fidelity", "sequence_fidelity"]


def lemna(f, x, null_value=None, **options):
    """LEMNA on a feature vector x: perturbs x (features set to null_value, default 0), scores the samples
    with f and fits a mixture regression under a fused-lasso penalty. Returns a dict with importance,
    ranking (features, most important first), component, coef, scores, ...

    Options: n_components=3, lambda_tv=-1 (√(n ln p)), fit_intercept=True, max_iter=100, n_init=1,
    design='mask', n_samples=500, keep_probability=0, seed=0."""
    x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
    null = np.zeros_like(x) if null_value is None else np.ascontiguousarray(null_value, dtype=np.float64).reshape(-1)
    return _core.lemna_features(f, x, null, **options)


def lemna_sequence(f, sequence, target, **options):
    """LEMNA on a token sequence at position target: windows of 2·half_width+1 cells are nullified
    (null_token) at random. Options as lemna plus half_width=20, null_token=0, pin_target=False."""
    return _core.lemna_sequence(f, np.ascontiguousarray(sequence, dtype=np.int64), int(target), **options)


dmm = _core.dmm
dmm_men = _core.dmm_men


def feature_fidelity(f, cases, null_value, seed_x, **options):
    """The three fidelity tests of explanations (deduction, augmentation, synthetic; Guo et al. §5.2) on
    feature vectors. cases: [(x, ranked_features)]. Returns per test the positive classification rate
    of the explainer's features and of a random selection. Options: n_features=25, threshold=0.5, seed=0."""
    cs = [(np.ascontiguousarray(x, np.float64), np.ascontiguousarray(r, np.int64)) for x, r in cases]
    return _core.feature_fidelity(f, cs, np.ascontiguousarray(null_value, np.float64),
                                  np.ascontiguousarray(seed_x, np.float64), **options)


def sequence_fidelity(g, cases, seed_sequence, **options):
    """The fidelity tests on sequences: g(batch, targets) scores each sequence at its target position.
    cases: [(sequence, target, ranked_positions)]. Options: n_features=25, threshold=0.5, seed=0, null_token=0."""
    cs = [(np.ascontiguousarray(s, np.int64), int(t), np.ascontiguousarray(r, np.int64)) for s, t, r in cases]
    return _core.sequence_fidelity(g, cs, np.ascontiguousarray(seed_sequence, np.int64), **options)
