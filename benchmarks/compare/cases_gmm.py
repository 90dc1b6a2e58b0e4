"""Side-by-side cases for the Gaussian mixture: rnnabs::gaussian_mixture vs sklearn.mixture.GaussianMixture.

Shapes: 200k points (D=10, K=32) and the RNNRepair MNIST scale, 1.68M points = 60,000 sequences x 28
steps after PCA to 10 (K=37). Both sides start from the same explicit parameters (weights, means,
covariances; sklearn gets precisions_init) and run EM with tol=0. The timed quantity is the cost of
one EM iteration, measured differentially on both sides: (time of a fit with BASE+ITERS iterations -
time of a fit with BASE iterations) / ITERS, so set-up and validation costs cancel; after one untimed
warm-up fit, each of the two times is the minimum of REPEATS fits (a single pair can come out negative
on a shared machine), and a non-positive difference is an error, not a figure. rnnabs' final
parameters and lower bound are then checked against sklearn's.
Keep BASE/ITERS/REPEATS in sync with compare_gmm.cpp.
"""
import os
import time
import warnings

import numpy as np

BASE = 1
REPEATS = 2


def iters_for(n):
    return 5 if n <= 200_000 else 2


def _data(n, d, k, seed):
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.standard_normal((k, d))
    mix = rng.dirichlet(np.full(k, 2.0))
    label = rng.choice(k, size=n, p=mix)
    x = np.empty((n, d))
    for j in range(k):
        idx = np.flatnonzero(label == j)
        a = rng.standard_normal((d, d)) * 0.4 + np.eye(d) * 0.6
        x[idx] = centres[j] + rng.standard_normal((idx.size, d)) @ a
    return x


def _init(x, k, cov, seed):
    rng = np.random.default_rng(seed + 1)
    n, d = x.shape
    means = x[rng.choice(n, size=k, replace=False)]
    weights = np.full(k, 1.0 / k)
    var = x.var(axis=0)
    if cov == "full":
        c = np.cov(x[:: max(1, n // 100_000)].T)
        covs = np.tile(c, (k, 1))  # (K*D) x D stacked, rnnabs' layout
    elif cov == "diag":
        covs = np.tile(var, (k, 1))
    else:
        raise ValueError(cov)
    return weights, means, covs


def _precisions(covs, cov, k, d):
    if cov == "full":
        return np.stack([np.linalg.inv(covs[j * d:(j + 1) * d]) for j in range(k)])
    return 1.0 / covs


def make_case(n, d, k, cov, seed):
    def prepare(wd):
        x = _data(n, d, k, seed)
        w, m, c = _init(x, k, cov, seed)
        np.save(os.path.join(wd, "X.npy"), x)
        np.save(os.path.join(wd, "weights0.npy"), w)
        np.save(os.path.join(wd, "means0.npy"), m)
        np.save(os.path.join(wd, "covariances0.npy"), c)

    def peer(wd):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        x = np.load(os.path.join(wd, "X.npy"))
        w = np.load(os.path.join(wd, "weights0.npy"))
        m = np.load(os.path.join(wd, "means0.npy"))
        c = np.load(os.path.join(wd, "covariances0.npy"))
        prec = _precisions(c, cov, k, d)
        iters = iters_for(n)

        def fit(max_iter):
            g = GaussianMixture(n_components=k, covariance_type=cov, weights_init=w, means_init=m,
                                precisions_init=prec, init_params="random_from_data", max_iter=max_iter,
                                tol=0.0, reg_covar=1e-6, random_state=0)
            t0 = time.perf_counter()
            g.fit(x)
            return time.perf_counter() - t0, g

        fit(BASE)  # warm-up: first-touch page faults and thread-pool start-up would bias t_base
        t_base = min(fit(BASE)[0] for _ in range(REPEATS))
        t_full, g = min((fit(BASE + iters) for _ in range(REPEATS)), key=lambda r: r[0])
        if t_full <= t_base:
            raise RuntimeError(f"timing noise exceeds the differential: {BASE + iters} iterations took "
                               f"{t_full:.4g} s, {BASE} took {t_base:.4g} s")
        covs = g.covariances_.reshape(k * d, d) if cov == "full" else g.covariances_
        np.save(os.path.join(wd, "peer_weights.npy"), g.weights_)
        np.save(os.path.join(wd, "peer_means.npy"), g.means_)
        np.save(os.path.join(wd, "peer_covariances.npy"), covs)
        np.save(os.path.join(wd, "peer_lower_bound.npy"), np.array([g.lower_bound_]))
        return (t_full - t_base) / iters

    def python(wd):
        """The same differential timing through the Python package (run --python)."""
        import rnnabs
        x = np.load(os.path.join(wd, "X.npy"))
        w = np.load(os.path.join(wd, "weights0.npy"))
        m = np.load(os.path.join(wd, "means0.npy"))
        c = np.load(os.path.join(wd, "covariances0.npy"))
        prec = _precisions(c, cov, k, d)
        iters = iters_for(n)

        def fit(max_iter):
            g = rnnabs.GaussianMixture(n_components=k, covariance_type=cov, weights_init=w, means_init=m,
                                       precisions_init=prec, max_iter=max_iter, tol=0.0, reg_covar=1e-6,
                                       on_degenerate="keep")
            t0 = time.perf_counter()
            g.fit(x)
            return time.perf_counter() - t0, g

        fit(BASE)
        t_base = min(fit(BASE)[0] for _ in range(REPEATS))
        t_full, g = min((fit(BASE + iters) for _ in range(REPEATS)), key=lambda r: r[0])
        lb = float(np.load(os.path.join(wd, "peer_lower_bound.npy"))[0])
        err = abs(g.lower_bound_ - lb) / abs(lb)
        return (t_full - t_base) / iters, err <= 1e-8, f"err(lower_bound vs peer)={err:.3g}"

    return {"quick": n <= 200_000, "prepare": prepare, "peer": peer, "python": python}


CASES = {
    "gmm_diag_200k": make_case(200_000, 10, 32, "diag", 11),
    "gmm_full_200k": make_case(200_000, 10, 32, "full", 12),
    "gmm_diag_1680k": make_case(1_680_000, 10, 37, "diag", 13),
    "gmm_full_1680k": make_case(1_680_000, 10, 37, "full", 14),
}
