"""Explanations of Python callables: LEMNA finds the features a known black box uses, DMM recovers the
regimes of a piecewise-linear black box, the fidelity tests run, and the black box's errors come back."""
import numpy as np
import pytest

import rnnabs


def test_lemna_ranks_the_features_a_linear_black_box_uses():
    w = np.zeros(12)
    w[[2, 7, 9]] = [3.0, 2.0, 1.0]
    calls = []

    def f(X):
        calls.append(X.shape)
        return X @ w

    x = np.ones(12)
    e = rnnabs.lemna(f, x, n_samples=300, seed=1, lambda_tv=1.0)  # the default λ fuses unrelated features
    assert list(e["ranking"][:3]) == [2, 7, 9]
    assert calls and calls[0] == (301, 12)
    # sequences: the score is the count of token 5 within 2 cells of the target
    def g(batch):
        return np.array([float(np.sum(s[8:13] == 5)) for s in batch])

    seq = np.array([1, 5, 1, 1, 1, 1, 1, 1, 5, 1, 5, 1, 5, 1, 1, 1])
    e = rnnabs.lemna_sequence(g, seq, 10, half_width=6, n_samples=300, seed=2, lambda_tv=0.5)
    assert set(e["positions"][e["ranking"][:3]].tolist()) == {8, 10, 12}


def test_black_box_errors_come_back_as_python_errors():
    def broken(X):
        raise KeyError("the model is gone")

    with pytest.raises(KeyError, match="the model is gone"):
        rnnabs.lemna(broken, np.ones(4))
    with pytest.raises(rnnabs.InvalidArgument, match="scores"):
        rnnabs.lemna(lambda X: np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="non-finite"):
        rnnabs.lemna(lambda X: np.full(len(X), np.nan), np.ones(4))


def test_dmm_recovers_two_regimes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    regime = X[:, 0] > 0
    y = np.where(regime, X @ [4.0, 0, 0] + 1, X @ [0, -3.0, 0] - 1) + 0.05 * rng.normal(size=400)
    fit = rnnabs.dmm(X, y, truncation=3, iterations=600, seed=1)
    big = np.argsort(fit.weights)[::-1][:2]
    coefs = fit.coef[big]
    assert any(np.allclose(c, [4, 0, 0], atol=0.3) for c in coefs)
    assert any(np.allclose(c, [0, -3, 0], atol=0.3) for c in coefs)
    e = fit.explain(X[0], y[0], np.zeros(3))
    assert e["ranking"][0] == (0 if regime[0] else 1)
    men = rnnabs.dmm_men(X, y, iterations=300, seed=1)
    assert men.lambdas.shape == (3, 2) and np.isfinite(men.predict_mean(X)).all()


def test_feature_fidelity_prefers_the_true_features():
    w = np.zeros(20)
    w[:3] = 2.0
    f = lambda X: 1 / (1 + np.exp(-(X @ w - 3)))  # noqa: E731
    rng = np.random.default_rng(0)
    cases = [(np.r_[np.ones(3), rng.integers(0, 2, 17)].astype(float), np.r_[0, 1, 2, np.arange(3, 20)])
             for _ in range(20)]
    r = rnnabs.feature_fidelity(f, cases, np.zeros(20), np.zeros(20), n_features=3)
    # deduction: removing the true features flips the decision; a random triple rarely does
    assert r["deduction"]["explainer"] < r["deduction"]["random"]
    assert r["deduction"]["cases"] == 20
