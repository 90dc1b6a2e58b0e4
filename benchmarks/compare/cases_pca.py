"""Side-by-side case for PCA: rnnabs::pca (covariance_eigh) vs scikit-learn's default PCA.

pca_1680k: hidden-state traces at the RNNRepair MNIST scale (60,000 sequences x 28 steps = 1.68M rows,
128 units, float32), reduced to 10 components. The traces are a smooth low-rank latent process pushed
through tanh, plus unit noise, so the leading 10 eigenvalues are well separated (gaps > 5%).
"""
import os
import time

import numpy as np

N_SEQ, T, H, RANK, K = 60_000, 28, 128, 16, 10


def _traces(seed=20240601):
    rng = np.random.default_rng(seed)
    # Loadings: random orthonormal directions; latent scales decay geometrically so eigenvalues separate.
    w, _ = np.linalg.qr(rng.standard_normal((H, RANK)))
    scale = 1.1 * 0.8 ** np.arange(RANK)
    bias = 0.3 * rng.standard_normal(H)
    x = np.empty((N_SEQ * T, H), dtype=np.float32)
    step = 5_000  # sequences per block keeps the float64 temporaries near 100 MB
    for s0 in range(0, N_SEQ, step):
        n = min(step, N_SEQ - s0)
        # AR(1) latent trajectories per sequence (RNN states drift smoothly over time).
        z = np.empty((n, T, RANK))
        z[:, 0] = rng.standard_normal((n, RANK))
        for t in range(1, T):
            z[:, t] = 0.9 * z[:, t - 1] + np.sqrt(1 - 0.81) * rng.standard_normal((n, RANK))
        h = np.tanh((z * scale) @ w.T * 4.0 + bias) + 0.05 * rng.standard_normal((n, T, H))
        x[s0 * T:(s0 + n) * T] = h.reshape(n * T, H)
    return x


def prepare(workdir):
    np.save(os.path.join(workdir, "X.npy"), _traces())


def peer(workdir):
    from sklearn.decomposition import PCA
    x = np.load(os.path.join(workdir, "X.npy"))
    times, model = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        model = PCA(n_components=K).fit(x)
        times.append(time.perf_counter() - t0)
    np.save(os.path.join(workdir, "explained_variance.npy"), model.explained_variance_.astype(np.float64))
    np.save(os.path.join(workdir, "components.npy"), model.components_.astype(np.float64))
    np.save(os.path.join(workdir, "mean.npy"), model.mean_.astype(np.float64))
    return float(np.median(times))


def python(workdir):
    """The same fit through the Python package (run --python): rnnabs.PCA(10).fit, median of 3."""
    import rnnabs
    x = np.load(os.path.join(workdir, "X.npy"))
    times, model = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        model = rnnabs.PCA(n_components=K).fit(x)
        times.append(time.perf_counter() - t0)
    ev = np.load(os.path.join(workdir, "explained_variance.npy"))
    err = float(np.max(np.abs(model.explained_variance_ - ev) / ev))
    return float(np.median(times)), err <= 5e-3, f"err(explained_variance vs peer)={err:.3g}"


CASES = {"pca_1680k": {"quick": False, "prepare": prepare, "peer": peer, "python": python}}
