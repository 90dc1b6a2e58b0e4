#!/usr/bin/python3
"""PyTorch reference for examples/train_fmnist: the same model (LSTM/GRU(128) on 28 rows x 28 pixels,
Linear(10) on the last step), the same hyper-parameters (Adam lr 2e-3, batch 128, gradient-norm clip 5,
12 epochs, a fresh shuffle each epoch) on the same Fashion-MNIST files; prints test accuracy per epoch.

  torch_train_fmnist.py [--cell lstm|gru] [--epochs 12] [--threads 1] [--seed 1]
"""
import argparse
import gzip
import time

import numpy as np
import torch

D = "/usr/share/datasets/fashion-mnist"


def load(split):
    with gzip.open(f"{D}/{split}-images-idx3-ubyte.gz", "rb") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28).astype(np.float32) / 255
    with gzip.open(f"{D}/{split}-labels-idx1-ubyte.gz", "rb") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


class M(torch.nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(28, 128, batch_first=True)
        self.fc = torch.nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][:, -1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cell", default="lstm")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    m = M(a.cell)
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    lf = torch.nn.CrossEntropyLoss()
    t_all = time.perf_counter()
    for e in range(a.epochs):
        t0 = time.perf_counter()
        m.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 128):
            idx = perm[i : i + 128]
            opt.zero_grad()
            lf(m(xtr[idx]), ytr[idx]).backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 5.0)
            opt.step()
        m.eval()
        with torch.no_grad():
            acc = (m(xte).argmax(1) == yte).float().mean().item()
        print(f"epoch {e + 1} test_accuracy {100 * acc:.2f}% seconds {time.perf_counter() - t0:.1f}", flush=True)
    print(f"torch {a.cell}: final test accuracy {100 * acc:.2f}% after {a.epochs} epochs, "
          f"{time.perf_counter() - t_all:.1f}s ({a.threads} thread)")


if __name__ == "__main__":
    main()
