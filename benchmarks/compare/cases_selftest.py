"""Self-test of the side-by-side protocol: a float64 matrix product, numpy vs rnnabs (Eigen).

Every cases_*.py module defines CASES = {name: {...}} with
  quick      bool   run by `run --quick`
  prepare    fn(workdir)          writes the inputs (.npy) both sides read
  peer       fn(workdir) -> s     times the peer, saves its outputs for rnnabs' check, returns seconds
  peer_name  str    (default "sklearn")
  default    bool   (default True) run when no --cases is given; the self-test only runs when named
and benchmarks/compare/compare_<x>.cpp registers the rnnabs side under the same name.
"""
import statistics
import time

import numpy as np

N = 512
REPEATS = 7  # keep equal to `repeats` in compare_selftest.cpp


def prepare(wd):
    rng = np.random.default_rng(0)
    np.save(wd / "A.npy", rng.standard_normal((N, N)))
    np.save(wd / "B.npy", rng.standard_normal((N, N)))


def peer(wd):
    a = np.load(wd / "A.npy")
    b = np.load(wd / "B.npy")
    c = a @ b  # warm-up
    t = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        c = a @ b
        t.append(time.perf_counter() - t0)
    np.save(wd / "C_peer.npy", c)
    return statistics.median(t)


CASES = {
    "selftest": {"quick": True, "default": False, "prepare": prepare, "peer": peer, "peer_name": "numpy"},
}
