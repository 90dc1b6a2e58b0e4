"""Recurrent models against PyTorch CPU (Debian python3-torch), same shapes, same weights, same run.

  lstm_train_mnist, gru_train_mnist  one SGD step (forward, cross-entropy, backward, update),
                                     B=128, T=28, I=28, H=128, 10 classes
  gru_train_text                     one SGD step, B=64, T=100, embedding 10000 x 64, GRU(300), 2 classes
  gru_train_fortunes                 one SGD step at the fortunes text model's shapes (the `repair` examples):
                                     B=32 real texts of 1..60 tokens (ragged; PyTorch: padded + packed with
                                     pack_padded_sequence, head on each text's final hidden state), vocabulary
                                     ~3400 words x 64, GRU(128), 2 classes
  lstm_infer_mnist                   forward (logits) of 10000 sequences of 28 x 28
  lstm_hvp_mnist                     one exact Hessian-vector product of the mean loss over a batch of 256
                                     (PyTorch: double backward through its native LSTM)

PyTorch runs at its fastest thread setting: both 1 thread and the run's thread count are timed and the
faster median is reported (on 2-core machines its 2-thread RNN steps can be several times slower).
The peer saves the gradient / logits / HVP for the rnnabs side's check. Inputs are real Fashion-MNIST
rows when the Debian package is installed (random tokens for gru_train_text); gru_train_fortunes reads the
`fortunes` package's strfile sources (random tokens of 5..60 steps when it is missing, noted in data.txt).
"""
import collections
import gzip
import os
import re
import statistics
import time
from pathlib import Path

import numpy as np

REPEATS = 7  # keep equal to `repeats` in compare_nn.cpp
FMNIST = Path("/usr/share/datasets/fashion-mnist")
FORTUNES = Path("/usr/share/games/fortunes")


def _torch():
    import torch  # imported lazily: `run --list` works without torch

    return torch


def _images(n, split="t10k", seed=0):
    f = FMNIST / f"{split}-images-idx3-ubyte.gz"
    if f.exists():
        with gzip.open(f, "rb") as fh:
            raw = np.frombuffer(fh.read(), dtype=np.uint8, offset=16)
        x = (raw.reshape(-1, 28, 28)[:n].astype(np.float32) / 255.0)
        with gzip.open(FMNIST / f"{split}-labels-idx1-ubyte.gz", "rb") as fh:
            y = np.frombuffer(fh.read(), dtype=np.uint8, offset=8)[:n].astype(np.int64)
        return x, y
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64)


class _Model:
    """embedding? -> LSTM/GRU -> Linear on the last step; registered in rnnabs's state_dict order.

    forward(x, lengths): with lengths (padded batch), the sequences are packed (pack_padded_sequence,
    enforce_sorted=False) and the head reads each one's final hidden state, its own last real step.
    """

    def __new__(cls, cell, inp, hidden, classes, vocab=0):
        torch = _torch()

        class M(torch.nn.Module):
            def __init__(self):
                super().__init__()
                if vocab:
                    self.embedding = torch.nn.Embedding(vocab, inp)
                self.rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(inp, hidden, batch_first=True)
                self.fc = torch.nn.Linear(hidden, classes)

            def forward(self, x, lengths=None):
                if vocab:
                    x = self.embedding(x)
                if lengths is not None:
                    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                                     enforce_sorted=False)
                    _, h = self.rnn(packed)
                    h = h[0] if isinstance(h, tuple) else h  # LSTM: (h_n, c_n)
                    return self.fc(h[-1])  # h_n is in the batch's own order (enforce_sorted=False)
                out, _ = self.rnn(x)
                return self.fc(out[:, -1])

        return M()


def _save_model(wd, m, meta):
    np.savez(wd / "model.npz", **{k: v.detach().numpy() for k, v in m.state_dict().items()})
    (wd / "meta.txt").write_text(meta)


def _fastest(wd, fn):
    """Median seconds of fn() at 1 thread and at the run's thread count; the faster one wins."""
    torch = _torch()
    n = int(os.environ.get("OMP_NUM_THREADS", "1"))
    best = None
    notes = []
    for th in sorted({1, n}):
        torch.set_num_threads(th)
        fn()  # warm-up
        t = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
        med = statistics.median(t)
        notes.append(f"{th}thr={med:.5f}s")
        if best is None or med < best[0]:
            best = (med, th)
    (wd / "peer_threads.txt").write_text(" ".join(notes) + f" best={best[1]}\n")
    torch.set_num_threads(best[1])
    return best[0]


# ---- training steps -----------------------------------------------------------------------------

def _prep_train(wd, cell, batch, steps, inp, hidden, classes, vocab):
    torch = _torch()
    torch.manual_seed(0)
    m = _Model(cell, inp, hidden, classes, vocab)
    if vocab:
        rng = np.random.default_rng(1)
        np.save(wd / "tokens.npy", rng.integers(0, vocab, (batch, steps)).astype(np.int64))
        np.save(wd / "labels.npy", rng.integers(0, classes, batch).astype(np.int64))
    else:
        x, y = _images(batch, "train")
        np.save(wd / "x.npy", x)
        np.save(wd / "labels.npy", y)
    _save_model(wd, m, f"{cell} {inp} {hidden} {classes} {vocab}")


def _peer_train(wd, cell, inp, hidden, classes, vocab):
    torch = _torch()
    m = _Model(cell, inp, hidden, classes, vocab)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(wd / "model.npz").items()})
    x = torch.from_numpy(np.load(wd / ("tokens.npy" if vocab else "x.npy")))
    y = torch.from_numpy(np.load(wd / "labels.npy"))
    # Ragged batch (gru_train_fortunes): padded tokens + lengths (CPU int64, as pack_padded_sequence wants).
    lengths = torch.from_numpy(np.load(wd / "lengths.npy")) if (wd / "lengths.npy").exists() else None
    loss_fn = torch.nn.CrossEntropyLoss()
    # The checked quantity: the gradient at the initial weights.
    m.zero_grad()
    loss_fn(m(x, lengths), y).backward()
    np.save(wd / "grad_peer.npy", np.concatenate([p.grad.numpy().ravel() for p in m.parameters()]))
    opt = torch.optim.SGD(m.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss_fn(m(x, lengths), y).backward()
        opt.step()

    return _fastest(wd, step)


# The fortunes text task of the `repair` examples (include/rnnabs/data/fortunes.hpp, examples/repair/text_task.hpp):
# class 0 = computers + linux + perl, class 1 = people + love + men-women; entries of 1..60 tokens by
# rnnabs' documented tokenizer (data/text.hpp), a repeated token list kept once; vocabulary (<pad>, <unk>,
# then words seen >= 2 times, by descending frequency, ties in byte order) from an 80 % training part,
# as the examples build it from their training split (~3,400 words).
_FORTUNES_GROUPS = (("computers", "linux", "perl"), ("people", "love", "men-women"))
_TOKEN = re.compile(rb"[a-z\x80-\xff]+(?:'[a-z\x80-\xff]+)*|[0-9]+(?:[.,][0-9]+)*|[^ \t\n\r\f\v]")


def _strfile(path):
    """Entries of a strfile source (fortune(6)): separated by lines holding a single '%'; stripped, non-empty."""
    entries, cur = [], []
    for line in path.read_bytes().split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.startswith(b"%") and line.strip() == b"%":
            entries.append(b"\n".join(cur))
            cur = []
        else:
            cur.append(line)
    entries.append(b"\n".join(cur))
    return [e.strip() for e in entries if e.strip()]


def _fortunes_texts(max_tokens=60):
    texts, labels, seen = [], [], set()
    for c, files in enumerate(_FORTUNES_GROUPS):
        for f in files:
            for e in _strfile(FORTUNES / f):
                t = tuple(_TOKEN.findall(e.lower()))
                if not 1 <= len(t) <= max_tokens or t in seen:
                    continue
                seen.add(t)
                texts.append(t)
                labels.append(c)
    return texts, np.array(labels, dtype=np.int64)


def _prep_fortunes(wd, batch=32, inp=64, hidden=128, classes=2, max_tokens=60):
    torch = _torch()
    rng = np.random.default_rng(0)
    if all((FORTUNES / f).is_file() for g in _FORTUNES_GROUPS for f in g):
        texts, labels = _fortunes_texts(max_tokens)
        perm = rng.permutation(len(texts))
        train = perm[: len(texts) - int(round(0.2 * len(texts)))]
        freq = collections.Counter(w for i in train for w in texts[i])
        words = sorted((w for w, k in freq.items() if k >= 2), key=lambda w: (-freq[w], w))
        ids = {w: k + 2 for k, w in enumerate(words)}  # 0 = <pad>, 1 = <unk>
        vocab = len(words) + 2
        seqs, ys = [], []
        for i in train:  # the first `batch` training texts of the permutation that hold a known word
            s = [ids.get(w, 1) for w in texts[i]]
            if any(k > 1 for k in s):
                seqs.append(s)
                ys.append(labels[i])
            if len(seqs) == batch:
                break
        note = (f"fortunes: {len(texts)} texts, vocabulary {vocab} from {len(train)} training texts, "
                f"lengths {min(map(len, seqs))}..{max(map(len, seqs))}")
    else:
        vocab = 3401
        lens = rng.integers(5, max_tokens + 1, batch)
        seqs = [list(rng.integers(2, vocab, n)) for n in lens]
        ys = list(rng.integers(0, classes, batch))
        note = f"random tokens ({FORTUNES} missing: apt-get install fortunes), vocabulary {vocab}, lengths 5..60"
    lengths = np.array([len(q) for q in seqs], dtype=np.int64)
    tokens = np.zeros((batch, lengths.max()), dtype=np.int64)  # padded with <pad> = 0
    for i, q in enumerate(seqs):
        tokens[i, : len(q)] = q
    np.save(wd / "tokens.npy", tokens)
    np.save(wd / "lengths.npy", lengths)
    np.save(wd / "labels.npy", np.array(ys, dtype=np.int64))
    (wd / "data.txt").write_text(note + "\n")
    torch.manual_seed(0)
    _save_model(wd, _Model("gru", inp, hidden, classes, vocab), f"gru {inp} {hidden} {classes} {vocab}")


def _peer_from_meta(wd):
    """_peer_train with the shapes prepare wrote to meta.txt ("cell input hidden classes vocab")."""
    cell, inp, hidden, classes, vocab = (wd / "meta.txt").read_text().split()
    return _peer_train(wd, cell, int(inp), int(hidden), int(classes), int(vocab))


def _train_case(cell, batch, steps, inp, hidden, classes, vocab=0):
    return {
        "quick": False,
        "peer_name": "torch",
        "prepare": lambda wd: _prep_train(wd, cell, batch, steps, inp, hidden, classes, vocab),
        "peer": lambda wd: _peer_train(wd, cell, inp, hidden, classes, vocab),
    }


# ---- inference ----------------------------------------------------------------------------------

def _prep_infer(wd):
    torch = _torch()
    torch.manual_seed(0)
    m = _Model("lstm", 28, 128, 10)
    x, y = _images(10000, "t10k")
    np.save(wd / "x.npy", x)
    np.save(wd / "labels.npy", y)
    _save_model(wd, m, "lstm 28 128 10 0")


def _peer_infer(wd):
    torch = _torch()
    m = _Model("lstm", 28, 128, 10)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(wd / "model.npz").items()})
    m.eval()
    x = torch.from_numpy(np.load(wd / "x.npy"))
    with torch.no_grad():
        np.save(wd / "logits_peer.npy", m(x).numpy())

        def fwd():
            m(x)

        return _fastest(wd, fwd)


# ---- Hessian-vector product ---------------------------------------------------------------------

def _prep_hvp(wd):
    _prep_train(wd, "lstm", 256, 28, 28, 128, 10, 0)
    p = sum(v.size for v in np.load(wd / "model.npz").values())
    np.save(wd / "v.npy", np.random.default_rng(2).standard_normal(p).astype(np.float32))


def _peer_hvp(wd):
    torch = _torch()
    m = _Model("lstm", 28, 128, 10)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(wd / "model.npz").items()})
    x = torch.from_numpy(np.load(wd / "x.npy"))
    y = torch.from_numpy(np.load(wd / "labels.npy"))
    params = list(m.parameters())
    flat_v = torch.from_numpy(np.load(wd / "v.npy"))
    vs, o = [], 0
    for p in params:
        vs.append(flat_v[o : o + p.numel()].view_as(p))
        o += p.numel()
    loss_fn = torch.nn.CrossEntropyLoss()

    def hvp():
        g = torch.autograd.grad(loss_fn(m(x), y), params, create_graph=True)
        return torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, vs)), params)

    np.save(wd / "hvp_peer.npy", np.concatenate([h.numpy().ravel() for h in hvp()]))
    return _fastest(wd, hvp)


CASES = {
    "lstm_train_mnist": _train_case("lstm", 128, 28, 28, 128, 10),
    "gru_train_mnist": _train_case("gru", 128, 28, 28, 128, 10),
    "gru_train_text": _train_case("gru", 64, 100, 64, 300, 2, vocab=10000),
    "gru_train_fortunes": {
        "quick": False,
        "peer_name": "torch",
        "prepare": _prep_fortunes,
        "peer": _peer_from_meta,
    },
    "lstm_infer_mnist": {"quick": False, "peer_name": "torch", "prepare": _prep_infer, "peer": _peer_infer},
    "lstm_hvp_mnist": {"quick": False, "peer_name": "torch", "prepare": _prep_hvp, "peer": _peer_hvp},
}
