"""Input checks of the Python layer, with scikit-learn's messages, and its base classes.

The checks are O(1) in the data except where a conversion is needed: C-contiguous float32/float64
arrays reach the C++ core without a copy, and finiteness is checked there (one pass, in C++).
"""
from __future__ import annotations

import inspect
import numbers

import numpy as np

try:  # scikit-learn's bases when it is installed: get_params/set_params, clone, repr, tags
    from sklearn.base import BaseEstimator, ClusterMixin, DensityMixin, TransformerMixin
    from sklearn.exceptions import NotFittedError
    HAVE_SKLEARN = True
except ImportError:  # the same conventions without it
    HAVE_SKLEARN = False

    class NotFittedError(ValueError, AttributeError):
        """Raised when an estimator is used before fit (as scikit-learn's)."""

    class BaseEstimator:
        """get_params/set_params from the constructor's signature, as scikit-learn's BaseEstimator."""

        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD)

        def get_params(self, deep=True):
            return {k: getattr(self, k) for k in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for k, v in params.items():
                if k not in valid:
                    raise ValueError(f"Invalid parameter {k!r} for estimator {type(self).__name__}. "
                                     f"Valid parameters are: {valid!r}.")
                setattr(self, k, v)
            return self

        def __repr__(self):
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class TransformerMixin:
        def fit_transform(self, X, y=None, **fit_params):
            return self.fit(X, y, **fit_params).transform(X)

    class ClusterMixin:
        _estimator_type = "clusterer"

        def fit_predict(self, X, y=None, **kwargs):
            self.fit(X, **kwargs)
            return self.labels_

    class DensityMixin:
        _estimator_type = "DensityEstimator"

        def score(self, X, y=None):
            return 0.0


def as_matrix(X, who, *, min_samples=1, n_features=None, dtype="numeric"):
    """X as a 2-d C-contiguous float32 or float64 array (float32 kept; anything else becomes float64).

    No copy for a C-contiguous float array. Raises ValueError (scikit-learn's messages) for sparse,
    complex, non-2-d, empty or too-short input and a wrong column count; NaN/Inf are rejected by the core.
    """
    if hasattr(X, "tocsr") or hasattr(X, "toarray"):
        raise TypeError(f"{who}: sparse input is not supported; pass X.toarray()")
    a = np.asarray(X)
    if np.iscomplexobj(a):
        raise ValueError(f"{who}: Complex data not supported")
    if a.dtype not in (np.float32, np.float64):
        if a.dtype.kind not in "biuf" and a.dtype != object:
            raise ValueError(f"{who}: X has dtype {a.dtype}; expected numbers")
        a = a.astype(np.float64)
    if a.ndim != 2:
        raise ValueError(f"Expected 2D array, got {a.ndim}D array instead: {who} takes an n_samples x n_features "
                         "matrix. Reshape your data either using array.reshape(-1, 1) if your data has a single "
                         "feature or array.reshape(1, -1) if it contains a single sample.")
    if a.shape[0] < min_samples:
        raise ValueError(f"Found array with {a.shape[0]} sample(s) (shape={a.shape}) while a minimum of "
                         f"{min_samples} is required by {who}.")
    if a.shape[1] < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={a.shape}) while a minimum of 1 is required by {who}.")
    if n_features is not None and a.shape[1] != n_features:
        raise ValueError(f"X has {a.shape[1]} features, but {who} is expecting {n_features} features as input.")
    return np.ascontiguousarray(a)


def as_weights(w, n, who):
    """Per-sample weights as float64 (None stays None)."""
    if w is None:
        return None
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.shape != (n,):
        raise ValueError(f"{who}: sample_weight has shape {w.shape}, expected ({n},)")
    return np.ascontiguousarray(w)


def seed_of(random_state):
    """A 64-bit seed from scikit-learn's random_state: None gives 0 (rnnabs is reproducible by default),
    an int is the seed, a numpy Generator/RandomState draws one."""
    if random_state is None:
        return 0
    if isinstance(random_state, (numbers.Integral, np.integer)):
        if int(random_state) < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    raise ValueError(f"random_state must be None, an int, a RandomState or a Generator; got {random_state!r}")


def check_fitted(est, attribute):
    if not hasattr(est, attribute):
        raise NotFittedError(f"This {type(est).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                             "arguments before using this estimator.")


def check_int(value, name, minimum):
    if not isinstance(value, (numbers.Integral, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
