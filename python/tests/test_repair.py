"""The repair building blocks: judging a repair against a brute-force count, the image mutators' bounds,
and the trigger contexts of a backdoor token against the sequences that contain it."""
import numpy as np
import pytest

import rnnabs


def test_judge_repair_counts_fixes_and_side_effects():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 500)
    before = np.where(rng.random(500) < 0.8, truth, (truth + 1) % 3)
    after = np.where(rng.random(500) < 0.85, truth, (truth + 2) % 3)
    targets = np.flatnonzero(before != truth)[:40]
    r = rnnabs.judge_repair(truth, before, after, targets.tolist())
    rest = np.setdiff1d(np.arange(500), targets)
    assert r["targets"] == 40 and r["targets_fixed"] == int((after[targets] == truth[targets]).sum())
    assert r["were_right"] == int((before[rest] == truth[rest]).sum())
    assert r["broken"] == int(((before[rest] == truth[rest]) & (after[rest] != truth[rest])).sum())
    assert r["also_fixed"] == int(((before[rest] != truth[rest]) & (after[rest] == truth[rest])).sum())
    assert r["accuracy"] == pytest.approx(float((after == truth).mean()))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_mutants_stay_within_the_bounds(dtype):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (28, 28)).astype(dtype)
    if dtype == np.float32:
        img /= 255
    top = 255.0 if dtype == np.uint8 else 1.0
    for seed in range(20):
        m, op, p, ok = rnnabs.mutate(img, seed, mutators=["brightness", "contrast", "noise", "pixel_change", "blur"])
        assert m.dtype == img.dtype and m.shape == img.shape
        if ok:
            d = np.abs(m.astype(np.float64) - img.astype(np.float64))
            changed = (d > 0).mean()
            assert changed <= 0.02 + 1e-12 or d.max() <= 0.2 * top + 1e-6, (op, p)
    a = rnnabs.mutate(img, 7)
    b = rnnabs.mutate(img, 7)
    assert np.array_equal(a[0], b[0]) and a[1:] == b[1:]  # seeded
    with pytest.raises(ValueError, match="not a mutator"):
        rnnabs.mutate(img, 0, mutators=["warp"])


def test_trigger_contexts_find_every_sample_reading_the_trigger():
    rng = np.random.default_rng(2)
    tokens = [rng.integers(0, 6, int(rng.integers(4, 10))) for _ in range(60)]
    for i in range(0, 60, 5):
        tokens[i][int(rng.integers(0, len(tokens[i])))] = 9  # the trigger
    states = [rng.integers(1, 4, len(t)) for t in tokens]
    labels = [rng.integers(0, 2, len(t)) for t in tokens]
    a = rnnabs.Automaton.build(states, labels, n_states=4, n_labels=2, tokens=tokens, vocab_size=10)
    c = rnnabs.trigger_contexts(a, 9)
    assert sorted(c["samples"]) == [i for i, t in enumerate(tokens) if (t == 9).any()]
    assert sum(w for _, _, w in c["contexts"]) == sum(int((t == 9).sum()) for t in tokens)
