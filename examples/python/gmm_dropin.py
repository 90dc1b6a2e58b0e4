"""rnnabs.GaussianMixture as a drop-in for scikit-learn's: the same call on the same data, both timed.
Data: Fashion-MNIST images reduced to 10 principal components (by rnnabs.PCA).   python3 examples/python/gmm_dropin.py [N]"""
import gzip
import sys
import time
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture

import rnnabs

n = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:n].astype(np.float64) / 255
X = rnnabs.PCA(10).fit_transform(images)  # (scikit-learn's PCA takes ~55 s on this 60000 x 784 here)

results = {}
for name, cls in (("scikit-learn", GaussianMixture), ("rnnabs", rnnabs.GaussianMixture)):
    gmm = cls(n_components=20, covariance_type="diag", random_state=0)  # the same constructor, the same fit
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gmm.fit(X)
    seconds = time.perf_counter() - t0
    results[name] = (seconds, gmm.score(X), gmm.bic(X), gmm.n_iter_)
    print(f"{name:>12}: fit {seconds:6.2f} s, mean log-likelihood {gmm.score(X):.4f}, BIC {gmm.bic(X):.1f}, "
          f"{gmm.n_iter_} EM iterations")

(ts, ls, _, _), (tr, lr, _, _) = results["scikit-learn"], results["rnnabs"]
print(f"speed-up {ts / tr:.1f}x; log-likelihood difference {lr - ls:+.4f} (each from its own k-means start)")
sys.exit(0 if abs(lr - ls) < 0.05 * abs(ls) + 0.5 else 1)
