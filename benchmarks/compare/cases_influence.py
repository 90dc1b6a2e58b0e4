"""Influence scores against PyTorch CPU (Debian python3-torch): the same algorithm, same weights, same data.

The model is RNNRepair's binary LSTM (its torch_lstm_bin): LSTM(28 -> 100), Linear(100 -> 2) on the last step,
loss BCE(softmax(logits), one-hot) averaged over the two outputs; data Fashion-MNIST Trouser (1) vs
Sneaker (7) read row by row, all 12,000 training sequences, 20 test sequences. `prepare` trains it in
PyTorch (SGD lr 0.1, batch 256, 3 epochs, seed 0) and saves the weights after each epoch.

  influence_kl_fmnist      Koh & Liang: for each of the 20 test points s_k = (H + 0.5 I)^-1 g_k by 8
                           conjugate-gradient iterations, H the Hessian of the mean loss over the first
                           256 training sequences (exact HVPs; PyTorch: double backward through its
                           native LSTM); then every training sample's score (1/N) g_i . s_k (12,000 x 20).
  influence_tracin_fmnist  TracInCP over the 3 epoch checkpoints, lr 0.1 each:
                           sum_c 0.1 <g_i(theta_c), g_k(theta_c)> (12,000 x 20).

Per-sample gradients on the PyTorch side use the fastest method it offers for an RNN on the CPU: a
batched LSTM unrolled in Python whose per-step gate gradients are kept (retain_grad) and contracted
per sample with einsum (the "per-example gradient trick"); a loop of 12,000 single-sample backward
passes would be far slower. One timed run per side (the cases take seconds to minutes), at PyTorch's
faster thread setting measured on a short probe.
"""
import gzip
import os
import time
from pathlib import Path

import numpy as np

FMNIST = Path("/usr/share/datasets/fashion-mnist")
HIDDEN, CLASSES, FIRST, SECOND = 100, 2, 1, 7
N_TEST, HESSIAN_N, CG_ITERS, DAMPING, LR, BLOCK = 20, 256, 8, 0.5, 0.1, 256


def _torch():
    import torch

    return torch


def _split(split):
    f = FMNIST / f"{split}-images-idx3-ubyte.gz"
    if not f.exists():
        raise SystemExit("influence cases need Fashion-MNIST: apt-get install dataset-fashion-mnist")
    with gzip.open(f, "rb") as fh:
        x = np.frombuffer(fh.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(FMNIST / f"{split}-labels-idx1-ubyte.gz", "rb") as fh:
        y = np.frombuffer(fh.read(), dtype=np.uint8, offset=8)
    keep = (y == FIRST) | (y == SECOND)
    return (x[keep].astype(np.float32) / 255.0), (y[keep] == SECOND).astype(np.int64)


def _model():
    torch = _torch()

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(28, HIDDEN, batch_first=True)
            self.fc = torch.nn.Linear(HIDDEN, CLASSES)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.fc(out[:, -1])

    return M()


def _loss(torch, z, y, reduction="mean"):
    p = torch.softmax(z, dim=1)
    t = torch.nn.functional.one_hot(y, CLASSES).to(p.dtype)
    per = torch.nn.functional.binary_cross_entropy(p, t, reduction="none").mean(dim=1)
    return per.mean() if reduction == "mean" else per


def _load(wd, name):
    torch = _torch()
    m = _model()
    m.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(wd / name).items()})
    return m


def _prepare(wd):
    torch = _torch()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    x, y = _split("train")
    xt, yt = _split("t10k")
    np.save(wd / "x_train.npy", x)
    np.save(wd / "y_train.npy", y)
    np.save(wd / "x_test.npy", xt[:N_TEST])
    np.save(wd / "y_test.npy", yt[:N_TEST])
    m = _model()
    opt = torch.optim.SGD(m.parameters(), lr=LR)
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    rng = np.random.default_rng(0)
    for epoch in range(3):
        order = rng.permutation(len(x))
        for s in range(0, len(x), 256):
            idx = torch.from_numpy(order[s : s + 256])
            opt.zero_grad()
            _loss(torch, m(X[idx]), Y[idx]).backward()
            opt.step()
        np.savez(wd / f"model_{epoch}.npz", **{k: v.detach().numpy() for k, v in m.state_dict().items()})


def _per_sample_grads(torch, m, x, y):
    """B x P per-sample gradients, in state_dict order (weight_ih, weight_hh, bias_ih, bias_hh, fc.w, fc.b)."""
    w_ih, w_hh, b_ih, b_hh = m.rnn.weight_ih_l0, m.rnn.weight_hh_l0, m.rnn.bias_ih_l0, m.rnn.bias_hh_l0
    B, T, _ = x.shape
    h = x.new_zeros(B, HIDDEN)
    c = x.new_zeros(B, HIDDEN)
    gates, hs = [], []
    xw = x @ w_ih.detach().T  # inputs are constants: their projection needs no graph through x
    for t in range(T):
        hs.append(h)
        g = (xw[:, t] + b_ih.detach() + h @ w_hh.detach().T + b_hh.detach()).requires_grad_(True)
        g.retain_grad()
        gates.append(g)
        i, f, gg, o = g.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
        h = torch.sigmoid(o) * torch.tanh(c)
    h.retain_grad()
    z = h.detach() @ m.fc.weight.detach().T + m.fc.bias.detach()
    z.requires_grad_(True)
    # Per-sample losses are independent, so the gradient of their sum holds every sample's own.
    # The graph runs through h -> gates; z is cut from h so that dz and dh are read separately.
    per = _loss(torch, z, y, reduction="none")
    dz, = torch.autograd.grad(per.sum(), z)
    h.backward(dz @ m.fc.weight.detach())
    dg = torch.stack([g.grad for g in gates], dim=1)  # B x T x 4H
    H = torch.stack(hs, dim=1)  # B x T x H (state before each step)
    return torch.cat(
        [
            torch.einsum("btg,bti->bgi", dg, x).reshape(B, -1),
            torch.einsum("btg,bth->bgh", dg, H).reshape(B, -1),
            dg.sum(dim=1),
            dg.sum(dim=1),
            torch.einsum("bc,bh->bch", dz, h.detach()).reshape(B, -1),
            dz,
        ],
        dim=1,
    )


def _sample_grads_all(torch, m, x, y):
    out = []
    for s in range(0, len(x), BLOCK):
        out.append(_per_sample_grads(torch, m, x[s : s + BLOCK], y[s : s + BLOCK]))
    return torch.cat(out)


def _scores(torch, m, x, y, v):
    """N x m: per-sample training gradients against the P x m matrix v, block by block."""
    out = []
    for s in range(0, len(x), BLOCK):
        out.append(_per_sample_grads(torch, m, x[s : s + BLOCK], y[s : s + BLOCK]) @ v)
    return torch.cat(out)


def _threads(fn):
    """PyTorch's faster thread count on a short probe (its 2-thread RNN can be slower than 1)."""
    torch = _torch()
    n = int(os.environ.get("OMP_NUM_THREADS", "1"))
    best = None
    for th in sorted({1, n}):
        torch.set_num_threads(th)
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        if best is None or dt < best[0]:
            best = (dt, th)
    torch.set_num_threads(best[1])
    return best[1]


def _data(wd):
    torch = _torch()
    return (torch.from_numpy(np.load(wd / n)) for n in ("x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy"))


def _peer_kl(wd):
    torch = _torch()
    m = _load(wd, "model_2.npz")
    x, y, xt, yt = _data(wd)
    params = list(m.parameters())
    xh, yh = x[:HESSIAN_N], y[:HESSIAN_N]

    def hvp(v):
        vs, o = [], 0
        for p in params:
            vs.append(v[o : o + p.numel()].view_as(p))
            o += p.numel()
        g = torch.autograd.grad(_loss(torch, m(xh), yh), params, create_graph=True)
        hv = torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, vs)), params)
        return torch.cat([h.reshape(-1) for h in hv]) + DAMPING * v

    def cg(b):
        xk = torch.zeros_like(b)
        r = b.clone()
        d = r.clone()
        rr = r.dot(r)
        for _ in range(CG_ITERS):
            ad = hvp(d)
            alpha = rr / d.dot(ad)
            xk = xk + alpha * d
            r = r - alpha * ad
            rr_new = r.dot(r)
            d = r + (rr_new / rr) * d
            rr = rr_new
        return xk

    def run():
        gt = _per_sample_grads(torch, m, xt, yt).T.contiguous()  # P x 20
        s = torch.stack([cg(gt[:, k].contiguous()) for k in range(gt.shape[1])], dim=1)
        return _scores(torch, m, x, y, s) / len(x)

    th = _threads(lambda: hvp(torch.ones(sum(p.numel() for p in params))))
    t0 = time.perf_counter()
    scores = run()
    sec = time.perf_counter() - t0
    np.save(wd / "scores_peer.npy", scores.detach().numpy())
    (wd / "peer_threads.txt").write_text(f"threads={th}\n")
    return sec


def _peer_tracin(wd):
    torch = _torch()
    models = [_load(wd, f"model_{e}.npz") for e in range(3)]
    x, y, xt, yt = _data(wd)

    def run():
        total = None
        for m in models:
            gt = _per_sample_grads(torch, m, xt, yt).T.contiguous()
            s = LR * _scores(torch, m, x, y, gt)
            total = s if total is None else total + s
        return total

    th = _threads(lambda: _per_sample_grads(torch, models[0], x[:BLOCK], y[:BLOCK]))
    t0 = time.perf_counter()
    scores = run()
    sec = time.perf_counter() - t0
    np.save(wd / "scores_peer.npy", scores.detach().numpy())
    # The peer's per-sample gradients of a few samples, for the rnnabs side's check of the method itself.
    np.save(wd / "grads_peer.npy", _per_sample_grads(torch, models[2], x[:4], y[:4]).detach().numpy())
    (wd / "peer_threads.txt").write_text(f"threads={th}\n")
    return sec


CASES = {
    "influence_kl_fmnist": {"quick": False, "peer_name": "torch", "prepare": _prepare, "peer": _peer_kl},
    "influence_tracin_fmnist": {"quick": False, "peer_name": "torch", "prepare": _prepare, "peer": _peer_tracin},
}
