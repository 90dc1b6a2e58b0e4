"""Side-by-side case for one LEMNA explanation: rnnabs vs the released pipeline's solver route.

The released code (Explaining-DL lemna_beta.py) fits, for every explained byte, a single fused lasso
    min_b  1/2 ||y - X b||^2 + lam * sum_j |b_{j+1} - b_j|,   lam = sqrt(n ln p), no intercept,
on 501 perturbed windows of 41 raw token values (rows: kept tokens, 0 = nullified), through R's genlasso
path algorithm. r-base / genlasso are not in Debian, so the peer is a NumPy ADMM of exactly that objective
(split z = D b, cached inverse of X'X + rho D'D, columns scaled by 1/256 for conditioning as in the
ADMM that cross-checked the genlasso golden values), run until the primal and dual residuals are below
1e-12 relative. It then ranks the window cells by coefficient, as the released code does.
rnnabs times lemna::explain_samples on the same design in the same configuration (raw values, K = 1, no
intercept, lambda = sqrt(n ln p)): fused lasso + ranking. The timed quantity on both sides is the median
over REPEATS explanations of the surrogate step (the black-box queries are the same on both sides and are
not timed). The coefficients are checked against the peer's (relative to max |b|, tol 1e-6).
Keep REPEATS in sync with compare_lemna.cpp.
"""
import math
import statistics
import time

import numpy as np

N, P = 501, 41
REPEATS = 7


def prepare(wd):
    rng = np.random.default_rng(2018)
    tokens = rng.integers(1, 257, size=P).astype(float)
    x = np.tile(tokens, (N, 1))
    for i in range(1, N):  # k ~ U{1..P-1} nullified cells, as the released sampler
        k = rng.integers(1, P)
        x[i, rng.choice(P, size=k, replace=False)] = 0.0
    a = np.full(P, 0.1)
    a[18:23] = 2.0  # the planted important cells (start byte and its neighbours)
    y = 1.0 / (1.0 + np.exp(-(x @ a / 256.0 - 3.0)))
    np.save(wd / "X.npy", x)
    np.save(wd / "y.npy", y)


def admm_fused_lasso(x, y, lam, rho=1.0, tol=1e-12, max_iter=200000):
    s = 256.0  # scale columns for conditioning (b = b_s / s, lam_s = lam / s)
    xs = x / s
    lam_s = lam / s
    p = x.shape[1]
    d = np.diff(np.eye(p), axis=0)
    ainv = np.linalg.inv(xs.T @ xs + rho * d.T @ d)
    xty = xs.T @ y
    z = np.zeros(p - 1)
    u = np.zeros(p - 1)
    b = np.zeros(p)
    for it in range(max_iter):
        b = ainv @ (xty + rho * d.T @ (z - u))
        db = d @ b
        z_old = z
        v = db + u
        z = np.sign(v) * np.maximum(np.abs(v) - lam_s / rho, 0.0)
        u = u + db - z
        if (np.linalg.norm(db - z) <= tol * max(1.0, np.linalg.norm(db))
                and rho * np.linalg.norm(z - z_old) <= tol * max(1.0, np.linalg.norm(xty))):
            break
    return b / s


def explain(x, y):
    lam = math.sqrt(x.shape[0] * math.log(x.shape[1]))
    b = admm_fused_lasso(x, y, lam)
    order = np.argsort(-b, kind="stable")
    return b, order


def peer(wd):
    x = np.load(wd / "X.npy")
    y = np.load(wd / "y.npy")
    b, _ = explain(x, y)  # warm-up
    t = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        b, order = explain(x, y)
        t.append(time.perf_counter() - t0)
    np.save(wd / "peer_beta.npy", b)
    return statistics.median(t)


CASES = {
    "lemna_explain": {"quick": True, "prepare": prepare, "peer": peer, "peer_name": "numpy-admm"},
}
