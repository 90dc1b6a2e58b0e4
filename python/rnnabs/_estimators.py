"""PCA, KMeans and GaussianMixture with scikit-learn's conventions over rnnabs' C++ core.

Constructor parameters are named as scikit-learn's; fitted attributes end in an underscore; the
estimators subclass scikit-learn's BaseEstimator and mixins when it is installed (so clone, pipelines,
GridSearchCV and check_estimator work). Differences from scikit-learn are listed in docs/python.md.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import _core
from ._validation import (BaseEstimator, ClusterMixin, DensityMixin, TransformerMixin, as_matrix, as_weights,
                          check_fitted, check_int, seed_of)

__all__ = ["PCA", "KMeans", "GaussianMixture"]


class _Picklable:
    """Fitted attributes are plain NumPy arrays; the C++ model (`_core`) is rebuilt from them after
    unpickling, so pickles hold no pointers and stay readable across rnnabs builds."""

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_core", None)
        return state

    def _model(self):
        core = self.__dict__.get("_core")
        if core is None:
            core = self._rebuild()
            self.__dict__["_core"] = core
        return core


class PCA(_Picklable, TransformerMixin, BaseEstimator):
    """Principal component analysis: scikit-learn's PCA over rnnabs::pca (float32 data stays float32).

    svd_solver: 'auto' and 'covariance_eigh' (the D x D covariance, then eigh: one pass over X),
    'full' (thin SVD of the centred data), 'randomized' (Halko et al.; seed from random_state).
    n_components: None (all), an int, or a float in (0, 1) (the fewest components explaining that
    fraction of the variance). Unsupported: 'mle', svd_solver='arpack'.
    """

    _solvers = {"auto": "covariance_eigh", "covariance_eigh": "covariance_eigh", "full": "exact",
                "randomized": "randomized"}

    def __init__(self, n_components=None, *, copy=True, whiten=False, svd_solver="auto", iterated_power="auto",
                 n_oversamples=10, random_state=None):
        self.n_components = n_components
        self.copy = copy
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.random_state = random_state

    def _core_options(self):
        k, fraction = -1, 0.0
        nc = self.n_components
        if nc is None:
            pass
        elif isinstance(nc, (numbers.Integral, np.integer)) and not isinstance(nc, bool):
            k = check_int(nc, "PCA: n_components", 1)
        elif isinstance(nc, numbers.Real) and 0.0 < float(nc) < 1.0:
            fraction = float(nc)
        else:
            raise ValueError(f"PCA: n_components must be None, an int >= 1 or a float in (0, 1), got {nc!r}")
        if self.svd_solver not in self._solvers:
            raise ValueError(f"PCA: svd_solver must be one of {sorted(self._solvers)}, got {self.svd_solver!r}")
        power = -1 if self.iterated_power == "auto" else check_int(self.iterated_power, "PCA: iterated_power", 0)
        return dict(n_components=k, variance_fraction=fraction, solver=self._solvers[self.svd_solver],
                    whiten=bool(self.whiten), seed=seed_of(self.random_state),
                    oversamples=check_int(self.n_oversamples, "PCA: n_oversamples", 0), power_iterations=power)

    def fit(self, X, y=None):
        """Fits the components to X (n_samples x n_features, at least 2 samples)."""
        X = as_matrix(X, "PCA", min_samples=2)
        core = _core.PCA(**self._core_options())
        core.fit(X)
        self._core = core
        self.n_features_in_ = X.shape[1]
        self.n_samples_ = core.n_samples
        self.n_components_ = core.n_components
        self.components_ = core.components
        self.mean_ = core.mean
        self.explained_variance_ = core.explained_variance
        self.explained_variance_ratio_ = core.explained_variance_ratio
        self.singular_values_ = core.singular_values
        self.noise_variance_ = core.noise_variance
        return self

    def _rebuild(self):
        return _core.PCA.from_fitted(self.components_, self.mean_, self.explained_variance_,
                                     self.explained_variance_ratio_, self.singular_values_, self.noise_variance_,
                                     self.n_samples_, bool(self.whiten))

    def transform(self, X):
        """Scores of X on the components (X's dtype: float32 stays float32)."""
        check_fitted(self, "components_")
        return self._model().transform(as_matrix(X, "PCA", n_features=self.n_features_in_))

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def inverse_transform(self, X):
        """Back to the data space from component scores."""
        check_fitted(self, "components_")
        return self._model().inverse_transform(as_matrix(X, "PCA.inverse_transform", n_features=self.n_components_))

    def get_covariance(self):
        """The data covariance of the probabilistic PCA model (Tipping & Bishop 1999), as scikit-learn."""
        check_fitted(self, "components_")
        c = self.components_
        ev = self.explained_variance_
        if self.whiten:
            c = c * np.sqrt(ev)[:, None]
        d = np.maximum(ev - self.noise_variance_, 0.0)
        cov = (c.T * d) @ c
        cov.flat[:: cov.shape[0] + 1] += self.noise_variance_
        return cov

    def get_precision(self):
        return np.linalg.inv(self.get_covariance())

    def score_samples(self, X):
        """Log-likelihood of each sample under the probabilistic PCA model."""
        check_fitted(self, "components_")
        X = as_matrix(X, "PCA", n_features=self.n_features_in_)
        r = X - self.mean_
        p = self.get_precision()
        _, logdet = np.linalg.slogdet(p)
        return -0.5 * (np.einsum("ij,jk,ik->i", r, p, r) + X.shape[1] * np.log(2 * np.pi) - logdet)

    def score(self, X, y=None):
        return float(np.mean(self.score_samples(X)))

    def save(self, path):
        """Writes the fitted model (an NPZ-based rnnabs archive, readable from C++ with rnnabs::pca::load)."""
        check_fitted(self, "components_")
        self._model().save(str(path))

    @classmethod
    def load(cls, path):
        core = _core.PCA.load(str(path))
        est = cls(n_components=core.n_components)
        est._core = core
        est.n_features_in_ = core.n_features
        est.n_samples_ = core.n_samples
        est.n_components_ = core.n_components
        for a in ("components", "mean", "explained_variance", "explained_variance_ratio", "singular_values",
                  "noise_variance"):
            setattr(est, a + "_", getattr(core, a))
        return est


class KMeans(_Picklable, ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means: k-means++ seeding and Lloyd iterations over rnnabs::kmeans (scikit-learn's tol scaling).

    init: 'k-means++' or an (n_clusters, n_features) array. n_init: 'auto' means 1 (scikit-learn >= 1.4
    with k-means++). algorithm: 'lloyd' only.
    """

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4, verbose=0,
                 random_state=None, copy_x=True, algorithm="lloyd"):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm

    def fit(self, X, y=None, sample_weight=None):
        X = as_matrix(X, "KMeans")
        k = check_int(self.n_clusters, "KMeans: n_clusters", 1)
        if X.shape[0] < k:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={k}.")
        if self.algorithm != "lloyd":
            raise ValueError(f"KMeans: algorithm must be 'lloyd', got {self.algorithm!r}")
        n_init = 1 if self.n_init == "auto" else check_int(self.n_init, "KMeans: n_init", 1)
        w = as_weights(sample_weight, X.shape[0], "KMeans.fit")
        core = _core.KMeans(n_clusters=k, n_init=n_init, max_iter=check_int(self.max_iter, "KMeans: max_iter", 1),
                            tol=float(self.tol), seed=seed_of(self.random_state))
        if isinstance(self.init, str):
            if self.init != "k-means++":
                raise ValueError(f"KMeans: init must be 'k-means++' or an array of centres, got {self.init!r}")
            core.fit(X, w)
        else:
            c0 = np.asarray(self.init, dtype=np.float64)
            if c0.shape != (k, X.shape[1]):
                raise ValueError(f"KMeans: init has shape {c0.shape}, expected {(k, X.shape[1])}")
            core.fit_from_centres(X, c0, w)
        self._core = core
        self.n_features_in_ = X.shape[1]
        self.cluster_centers_ = core.centers.astype(X.dtype, copy=False)
        self.labels_ = core.labels
        self.inertia_ = core.inertia
        self.n_iter_ = core.n_iter
        return self

    def _rebuild(self):
        return _core.KMeans.from_result(np.asarray(self.cluster_centers_, np.float64), self.labels_, self.inertia_,
                                        self.n_iter_, True)

    def predict(self, X):
        """Index of the nearest centre of each row."""
        check_fitted(self, "cluster_centers_")
        return self._model().predict(as_matrix(X, "KMeans", n_features=self.n_features_in_))

    def fit_predict(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """Euclidean distance of each row to each centre."""
        check_fitted(self, "cluster_centers_")
        return self._model().transform(as_matrix(X, "KMeans", n_features=self.n_features_in_))

    def fit_transform(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the (weighted) inertia of X under the fitted centres."""
        d = self.transform(X).astype(np.float64).min(axis=1) ** 2
        w = as_weights(sample_weight, d.shape[0], "KMeans.score")
        return -float(d.sum() if w is None else d @ w)

    def save(self, path):
        check_fitted(self, "cluster_centers_")
        self._model().save(str(path))

    @classmethod
    def load(cls, path):
        core = _core.KMeans.load(str(path))
        est = cls(n_clusters=core.n_clusters)
        est._core = core
        est.n_features_in_ = core.n_features
        est.cluster_centers_ = core.centers
        est.labels_ = core.labels
        est.inertia_ = core.inertia
        est.n_iter_ = core.n_iter
        return est


def _covariances_from_precisions(prec, cov_type, k, d):
    p = np.asarray(prec, dtype=np.float64)
    if cov_type == "full":
        return np.linalg.inv(p.reshape(k, d, d)).reshape(k * d, d)
    if cov_type == "tied":
        return np.linalg.inv(p.reshape(d, d))
    if cov_type == "diag":
        return 1.0 / p.reshape(k, d)
    return (1.0 / p).reshape(k, 1)


class GaussianMixture(_Picklable, DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM: scikit-learn's GaussianMixture over rnnabs::gaussian_mixture.

    Beyond scikit-learn: on_degenerate ('reseed' moves an emptied component to the worst-explained
    points; 'error' raises NumericalError; 'keep' is scikit-learn's behaviour) and precision ('double',
    or 'single' for float32 EM iterations with double sums, about twice as fast). weights_init,
    means_init and precisions_init are given together or not at all.
    """

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1,
                 init_params="kmeans", weights_init=None, means_init=None, precisions_init=None, random_state=None,
                 warm_start=False, verbose=0, verbose_interval=10, on_degenerate="reseed", precision="double"):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.on_degenerate = on_degenerate
        self.precision = precision

    def _initial(self, d):
        k, t = self.n_components, self.covariance_type
        if self.warm_start and hasattr(self, "means_"):
            return self.weights_, self.means_, _covariances_from_precisions(self.precisions_, t, k, d)
        given = [a is not None for a in (self.weights_init, self.means_init, self.precisions_init)]
        if not any(given):
            return None
        if not all(given):
            raise ValueError("GaussianMixture: give weights_init, means_init and precisions_init together "
                             "(rnnabs does not mix given and initialised parameters)")
        return (np.asarray(self.weights_init, np.float64), np.asarray(self.means_init, np.float64),
                _covariances_from_precisions(self.precisions_init, t, k, d))

    def fit(self, X, y=None):
        """Fits the mixture to X (n_samples x n_features) by EM; returns self."""
        X = as_matrix(X, "GaussianMixture", min_samples=2)
        k = check_int(self.n_components, "GaussianMixture: n_components", 1)
        if X.shape[0] < k:
            raise ValueError(f"Expected n_samples >= n_components but got n_components = {k}, "
                             f"n_samples = {X.shape[0]}")
        init = self._initial(X.shape[1])
        core = _core.GaussianMixture(
            n_components=k, covariance_type=self.covariance_type, tol=float(self.tol), reg_covar=float(self.reg_covar),
            max_iter=check_int(self.max_iter, "GaussianMixture: max_iter", 1),
            n_init=1 if init is not None else check_int(self.n_init, "GaussianMixture: n_init", 1),
            init=self.init_params, seed=seed_of(self.random_state), on_degenerate=self.on_degenerate,
            precision=self.precision)
        if init is None:
            core.fit(X)
        else:
            core.fit(X, weights=init[0], means=init[1], covariances=init[2])
        self._core = core
        self._set_fitted(core, X.shape[1])
        return self

    def _set_fitted(self, core, d):
        k, t = core.n_components, self.covariance_type
        self.n_features_in_ = d
        self.weights_ = core.weights
        self.means_ = core.means
        cov, pc = core.covariances, core.precisions_cholesky
        if t == "full":
            self.covariances_ = cov.reshape(k, d, d)
            self.precisions_cholesky_ = pc.reshape(k, d, d)
            self.precisions_ = np.einsum("kij,klj->kil", self.precisions_cholesky_, self.precisions_cholesky_)
        elif t == "tied":
            self.covariances_ = cov
            self.precisions_cholesky_ = pc
            self.precisions_ = pc @ pc.T
        else:
            self.covariances_ = cov.reshape(k, d) if t == "diag" else cov.reshape(k)
            self.precisions_cholesky_ = pc.reshape(self.covariances_.shape)
            self.precisions_ = self.precisions_cholesky_ ** 2
        self.converged_ = core.converged
        self.n_iter_ = core.n_iter
        self.lower_bound_ = core.lower_bound

    def _rebuild(self):
        k, d, t = self.n_components, self.n_features_in_, self.covariance_type
        shape = {"full": (k * d, d), "tied": (d, d), "diag": (k, d), "spherical": (k, 1)}[t]
        return _core.GaussianMixture.from_parameters(self.weights_, self.means_,
                                                     np.asarray(self.covariances_, np.float64).reshape(shape), t)

    def _X(self, X):
        check_fitted(self, "means_")
        return as_matrix(X, "GaussianMixture", n_features=self.n_features_in_)

    def predict(self, X):
        """The most probable component of each row."""
        return self._model().predict(self._X(X))

    def fit_predict(self, X, y=None):
        return self.fit(X).predict(X)

    def predict_proba(self, X):
        """Posterior probability of each component for each row (n x K)."""
        return self._model().predict_proba(self._X(X))

    def score_samples(self, X):
        """Log-likelihood of each row."""
        return self._model().score_samples(self._X(X))

    def score(self, X, y=None):
        """Mean log-likelihood of the rows."""
        return self._model().score(self._X(X))

    def bic(self, X):
        return self._model().bic(self._X(X))

    def aic(self, X):
        return self._model().aic(self._X(X))

    def sample(self, n_samples=1):
        """n_samples draws (grouped by component, as scikit-learn) and their components; seeded by random_state."""
        check_fitted(self, "means_")
        n = check_int(n_samples, "GaussianMixture.sample: n_samples", 1)
        return self._model().sample(n, seed_of(self.random_state))

    def save(self, path):
        check_fitted(self, "means_")
        self._model().save(str(path))

    @classmethod
    def load(cls, path):
        core = _core.GaussianMixture.load(str(path))
        est = cls(n_components=core.n_components, covariance_type=core.covariance_type)
        est._core = core
        est._set_fitted(core, core.n_features)
        return est
