"""RNN classifiers from a PyTorch state_dict: forward, traces, gradients and HVPs against PyTorch's
autograd; Koh & Liang and TracIn against the same quantities built from PyTorch."""
import numpy as np
import pytest

import rnnabs

torch = pytest.importorskip("torch")


class Net(torch.nn.Module):
    def __init__(self, kind, inp=3, hid=6, classes=4, layers=1, bidir=False):
        super().__init__()
        cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
        self.rnn = cls(inp, hid, num_layers=layers, bidirectional=bidir, batch_first=True)
        self.fc = torch.nn.Linear(hid * (2 if bidir else 1), classes)

    def forward(self, x):  # one sequence at a time, so lengths may differ; last-step head
        o, _ = self.rnn(x[None])
        h = o[0, -1]
        if self.rnn.bidirectional:
            H = self.rnn.hidden_size
            h = torch.cat([o[0, -1, :H], o[0, 0, H:]])
        return self.fc(h), o[0]


def make(kind, **kw):
    torch.manual_seed(0)
    net = Net(kind, **kw)
    cls = {"lstm": rnnabs.LSTMClassifier, "gru": rnnabs.GRUClassifier, "rnn": rnnabs.RNNClassifier}[kind]
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(int(t), net.rnn.input_size)).astype(np.float32) for t in rng.integers(2, 9, 7)]
    y = rng.integers(0, 4, len(xs))
    return net, cls.from_state_dict(net.state_dict()), xs, y


def flat_grad(net, x, y):
    net.zero_grad()
    logits, _ = net(torch.from_numpy(x))
    torch.nn.functional.cross_entropy(logits[None], torch.tensor([int(y)])).backward()
    return torch.cat([p.grad.reshape(-1) for p in net.parameters()]).numpy()


@pytest.mark.parametrize("kind,kw", [("lstm", {}), ("gru", {}), ("rnn", {}), ("lstm", {"layers": 2, "bidir": True})])
def test_forward_traces_and_gradients_equal_pytorch(kind, kw):
    net, m, xs, y = make(kind, **kw)
    assert m.parameter_count == sum(p.numel() for p in net.parameters())
    out = m.forward(xs, record=True)
    for i, x in enumerate(xs):
        logits, hidden = net(torch.from_numpy(x))
        np.testing.assert_allclose(out["logits"][i], logits.detach().numpy(), atol=2e-6)
        np.testing.assert_allclose(out["hidden"][i], hidden.detach().numpy(), atol=2e-6)
    G = m.per_sample_gradients(xs, y)
    ref = np.stack([flat_grad(net, x, t) for x, t in zip(xs, y)])
    np.testing.assert_allclose(G, ref, atol=2e-5, rtol=1e-4)
    np.testing.assert_allclose(m.loss_gradient(xs, y), ref.mean(0), atol=2e-5, rtol=1e-4)
    sd = m.state_dict()
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(sd[k], v.numpy())


def test_hessian_vector_product_equals_pytorch_double_backward():
    net, m, xs, y = make("lstm")
    params = list(net.parameters())
    v = np.random.default_rng(2).normal(size=m.parameter_count).astype(np.float32)
    loss = sum(torch.nn.functional.cross_entropy(net(torch.from_numpy(x))[0][None], torch.tensor([int(t)]))
               for x, t in zip(xs, y)) / len(xs)
    g = torch.autograd.grad(loss, params, create_graph=True)
    gv = sum((gi.reshape(-1) * vi).sum() for gi, vi in zip(g, torch.split(torch.from_numpy(v), [p.numel() for p in params])))
    hv = torch.cat([h.reshape(-1) for h in torch.autograd.grad(gv, params)]).numpy()
    np.testing.assert_allclose(m.hessian_vector_product(xs, y, v), hv, atol=5e-5, rtol=1e-3)


def test_koh_liang_explicit_equals_a_dense_solve_and_tracin_equals_gradient_products():
    net, m, xs, y = make("rnn", hid=3)
    P = m.parameter_count
    H = np.stack([m.hessian_vector_product(xs, y, e) for e in np.eye(P, dtype=np.float32)], axis=1).astype(np.float64)
    H = (H + H.T) / 2
    lam = 1.0 + max(0.0, -np.linalg.eigvalsh(H).min())
    Gtr = m.per_sample_gradients(xs, y).astype(np.float64)
    Gte = m.per_sample_gradients(xs[:2], y[:2]).astype(np.float64)
    ref = Gtr @ np.linalg.solve(H + lam * np.eye(P), Gte.T) / len(xs)  # removing one of N samples: 1/N
    r = rnnabs.koh_liang(m, xs, y, xs[:2], y[:2], solver="explicit", damping=lam)
    np.testing.assert_allclose(r["scores"], ref, rtol=1e-3, atol=1e-6)
    cg = rnnabs.koh_liang(m, xs, y, xs[:2], y[:2], solver="cg", damping=lam, tol=1e-10, max_iter=500)
    np.testing.assert_allclose(cg["scores"], r["scores"], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(rnnabs.tracin(m, xs, y, xs[:2], y[:2]), Gtr @ Gte.T, rtol=1e-5, atol=1e-7)
    cp = rnnabs.tracin(m, xs, y, xs[:2], y[:2], checkpoints=[(m.parameters, 0.5), (m.parameters, 0.25)])
    np.testing.assert_allclose(cp, 0.75 * Gtr @ Gte.T, rtol=1e-5, atol=1e-7)


def test_bad_state_dict_and_bad_sequences_raise_value_errors():
    net, m, xs, y = make("gru")
    sd = {k: v.numpy() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match="4 gates, LSTMClassifier has 4|3 gates, LSTMClassifier has 4"):
        rnnabs.LSTMClassifier.from_state_dict(sd)
    bad = dict(sd)
    bad["fc.bias"] = np.full(4, np.nan, np.float32)
    with pytest.raises(rnnabs.InvalidArgument, match="non-finite"):
        m.load_state_dict(bad)
    with pytest.raises(ValueError):
        m.forward([np.zeros((3, 5), np.float32)])  # 5 features, the model takes 3
    with pytest.raises(ValueError):
        m.loss(xs, np.full(len(xs), 9))  # label outside the classes


def test_sgd_influence_predicts_leave_one_out_retraining():
    """A plain-SGD run recorded from PyTorch; each sample's predicted effect against actually replaying
    the run without it (the same batches, divisor kept)."""
    torch.manual_seed(0)
    net = Net("rnn", hid=4)
    rng = np.random.default_rng(3)
    xs = [rng.normal(size=(5, 3)).astype(np.float32) for _ in range(24)]
    y = rng.integers(0, 4, 24)
    xt, yt = xs[:1], y[:1]
    init = {k: v.clone() for k, v in net.state_dict().items()}
    batches = [(e, perm[b:b + 6]) for e in range(3) for perm in [rng.permutation(24)] for b in range(0, 24, 6)]
    lr = 0.2

    def run(leave_out=None, record=None):
        net.load_state_dict(init)
        for e, ids in batches:
            if record is not None:
                record.append((e, lr, ids.tolist(), rnnabs.flat_parameters(net.state_dict())))
            net.zero_grad()
            loss = sum(torch.nn.functional.cross_entropy(net(torch.from_numpy(xs[i]))[0][None], torch.tensor([int(y[i])]))
                       for i in ids if i != leave_out) / len(ids)
            loss.backward()
            with torch.no_grad():
                for p in net.parameters():
                    p -= lr * p.grad
        with torch.no_grad():
            return float(torch.nn.functional.cross_entropy(net(torch.from_numpy(xt[0]))[0][None],
                                                           torch.tensor([int(yt[0])])))

    steps = []
    base = run(record=steps)
    final = rnnabs.flat_parameters(net.state_dict())
    m = rnnabs.RNNClassifier.from_state_dict(net.state_dict())
    r = rnnabs.sgd_influence(m, xs, y, xt, yt, steps=steps, final_parameters=final)
    actual = np.array([run(leave_out=i) - base for i in range(24)])
    assert r["steps"] == len(batches)
    assert np.corrcoef(r["all_epochs"][:, 0], actual)[0, 1] > 0.95
    bad = [(e, lr, ids, p * 1.01) for e, lr, ids, p in steps]  # not what SGD did
    with pytest.raises(ValueError, match="not plain SGD"):
        rnnabs.sgd_influence(m, xs, y, xt, yt, steps=bad, final_parameters=final)


def test_lissa_and_arnoldi_approach_the_exact_solve():
    net, m, xs, y = make("rnn", hid=3)
    lam = 2.0
    exact = rnnabs.koh_liang(m, xs, y, xs[:2], y[:2], solver="explicit", damping=lam)["scores"]
    lissa = rnnabs.koh_liang(m, xs, y, xs[:2], y[:2], solver="lissa", damping=lam, depth=2000, batch_size=64)
    assert np.corrcoef(lissa["scores"].ravel(), exact.ravel())[0, 1] > 0.99
    arnoldi = rnnabs.koh_liang(m, xs, y, xs[:2], y[:2], solver="arnoldi", damping=lam, rank=12)
    assert np.corrcoef(arnoldi["scores"].ravel(), exact.ravel())[0, 1] > 0.9
    with pytest.raises(ValueError, match="not one of explicit, cg, lissa, arnoldi"):
        rnnabs.koh_liang(m, xs, y, xs[:2], y[:2], solver="newton")
