"""Side-by-side case for the whole abstraction step (PCA + GMM): rnnabs::build_abstraction vs the RNNRepair
way in scikit-learn, on the same traces.

Traces: 60,000 sequences x 28 steps of hidden width 128 — Fashion-MNIST training images read row by row
through a fixed random LSTM (numpy, seeded; /usr/share/datasets/fashion-mnist, or seeded noise images
when the package is missing), with a fixed random dense head giving the per-step labels. If
$RNNABS_ABSTRACTION_TRACES names an NPZ written by rnnabs::save_traces (e.g. a real trained LSTM's
train_traces.npz), those are used instead.

The timed step, both sides: PCA to 10 components fitted on every step (1.68M x 128) and applied;
a diagonal GMM with K = 37 fitted to convergence (tol 1e-3, max_iter 100, k-means init) and its
states; the state x label counts; the transitions with their training-sample index. The peer does
that step as RNNRepair does (sklearn PCA + GaussianMixture, then the Python loop of
`update_transitions` filling the 5-d tensor and the transition -> set-of-ids dicts).

Check: PCA explained variance (rel. 1e-4); BIC within 2 % (both are local optima of EM from their own
k-means starts); and rnnabs' automaton built from the *peer's* states must reproduce the peer's
transition counts and id sets exactly.
"""
import gzip
import os
import time
from pathlib import Path

import numpy as np

N, T, I, H, C = 60_000, 28, 28, 128, 10
K, PCA_K = 37, 10
FMNIST = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def _images(rng):
    if FMNIST.exists():
        with gzip.open(FMNIST, "rb") as f:
            raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
        return raw.reshape(-1, T, I)[:N].astype(np.float32) / 255.0
    return rng.random((N, T, I), dtype=np.float32)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _random_lstm_traces(seed=7):
    rng = np.random.default_rng(seed)
    x = _images(rng)
    b = 1.0 / np.sqrt(H)
    w_ih = rng.uniform(-b, b, (I, 4 * H)).astype(np.float32) * 4.0
    w_hh = rng.uniform(-b, b, (H, 4 * H)).astype(np.float32) * 2.0
    bias = rng.uniform(-b, b, 4 * H).astype(np.float32)
    w_fc = rng.standard_normal((H, C)).astype(np.float32)
    h = np.zeros((N, H), np.float32)
    c = np.zeros((N, H), np.float32)
    hid = np.empty((N, T, H), np.float32)
    for t in range(T):
        g = x[:, t] @ w_ih + h @ w_hh + bias
        i, f, gg, o = _sigmoid(g[:, :H]), _sigmoid(g[:, H:2 * H]), np.tanh(g[:, 2 * H:3 * H]), _sigmoid(g[:, 3 * H:])
        c = f * c + i * gg
        h = o * np.tanh(c)
        hid[:, t] = h
    logits = hid.reshape(-1, H) @ w_fc
    labels = logits.argmax(1).reshape(N, T).astype(np.int64)
    return hid.reshape(N * T, H), labels


def prepare(wd):
    src = os.environ.get("RNNABS_ABSTRACTION_TRACES", "")
    if src:
        z = np.load(src)
        lengths = z["lengths"]
        if not (lengths == T).all():
            raise SystemExit("abstraction_fmnist: the traces must hold sequences of 28 steps")
        hid, labels = z["hidden"].astype(np.float32), z["step_labels"].reshape(-1, T).astype(np.int64)
    else:
        hid, labels = _random_lstm_traces()
    np.save(wd / "hidden.npy", hid)           # (N*T) x H, sequences concatenated
    np.save(wd / "step_labels.npy", labels)   # N x T


def peer(wd):
    import warnings
    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    hid = np.load(wd / "hidden.npy")
    labels = np.load(wd / "step_labels.npy")
    n, t = labels.shape

    t0 = time.perf_counter()
    pca = PCA(n_components=PCA_K, random_state=0).fit(hid)               # RNNRepair: PCA_R
    z = pca.transform(hid)
    gmm = GaussianMixture(n_components=K, covariance_type="diag", random_state=0).fit(z)  # GMM.__init__
    states = gmm.predict(z).reshape(n, t) + 1
    m = K + 1
    lbs = np.zeros((m, C), np.int64)                                        # GMM.evaluate_labels
    lbs[0][0] = 1
    np.add.at(lbs, (states.ravel(), labels.ravel()), 1)
    # GMM.update_transitions: dense 5-d tensor + transition -> set of training ids (token-free: V = 1)
    tr = np.zeros((m, C, 1, C, m), np.int64)
    to_train, to_train_without = {}, {}
    for i in range(n):
        sp, lp = 0, 0
        si, li = states[i].tolist(), labels[i].tolist()
        for j in range(t):
            sc, lc = si[j], li[j]
            tr[sp][lp][0][lc][sc] += 1
            to_train.setdefault((sp, lp, 0, lc, sc), set()).add(i)
            to_train_without.setdefault((sp, lp, lc, sc), set()).add(i)
            sp, lp = sc, lc
    seconds = time.perf_counter() - t0

    bic = gmm.bic(z)
    keys = sorted(to_train)
    np.save(wd / "peer_states.npy", states.astype(np.int64))
    np.save(wd / "peer_explained_variance.npy", pca.explained_variance_)
    np.save(wd / "peer_bic.npy", np.array([bic, gmm.n_iter_]))
    np.save(wd / "peer_keys.npy", np.array(keys, np.int64).reshape(-1, 5))
    np.save(wd / "peer_counts.npy", np.array([tr[k] for k in keys], np.int64))
    np.save(wd / "peer_ids.npy", np.array([len(to_train[k]) for k in keys], np.int64))
    return seconds


def python(wd):
    """The same step through the Python package (run --python): rnnabs.Abstraction of rnnabs.PCA and
    rnnabs.GaussianMixture on the per-sequence hidden states (views of one array, no copy)."""
    import rnnabs
    hid = np.load(wd / "hidden.npy")
    labels = np.load(wd / "step_labels.npy")
    n, t = labels.shape
    hidden = list(hid.reshape(n, t, -1))
    t0 = time.perf_counter()
    a = rnnabs.Abstraction(rnnabs.PCA(PCA_K, random_state=0),
                           rnnabs.GaussianMixture(K, covariance_type="diag", tol=1e-3, max_iter=100, random_state=0,
                                                  precision="single"))
    a.fit(hidden, list(labels), n_labels=C)
    seconds = time.perf_counter() - t0
    bic = a.partitioner_.bic(a.reducer_.transform(hid))
    peer_bic = float(np.load(wd / "peer_bic.npy")[0])
    err = abs(bic - peer_bic) / abs(peer_bic)
    return seconds, err <= 0.02, f"err(bic vs peer)={err:.3g}_transitions={a.automaton_.n_transitions}"


CASES = {
    "abstraction_fmnist": {"quick": False, "prepare": prepare, "peer": peer, "python": python},
}
