"""Train a small LSTM in PyTorch on Fashion-MNIST rows, then hand it to rnnabs: automaton, influential
training samples and the interpretation of a fault.   python3 examples/python/pytorch_lstm.py"""
import gzip
import sys

import numpy as np
import torch

import rnnabs


def fmnist(kind, n):  # Debian's dataset-fashion-mnist: images as 28 steps of 28 pixels
    d = "/usr/share/datasets/fashion-mnist/"
    with gzip.open(f"{d}{kind}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:n].astype(np.float32) / 255
    with gzip.open(f"{d}{kind}-labels-idx1-ubyte.gz") as f:
        return x, np.frombuffer(f.read(), np.uint8, offset=8)[:n].astype(np.int64)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.fc = torch.nn.LSTM(28, 32, batch_first=True), torch.nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][:, -1])


torch.manual_seed(0)
xtr, ytr = fmnist("train", 3000)
xte, yte = fmnist("t10k", 500)
net = Net()
opt = torch.optim.Adam(net.parameters(), 3e-3)
for epoch in range(4):
    for b in torch.randperm(len(xtr)).split(50):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.from_numpy(xtr[b.numpy()])), torch.from_numpy(ytr[b.numpy()])).backward()
        opt.step()

model = rnnabs.LSTMClassifier.from_state_dict(net.state_dict())  # the same network, in C++
train, test = model.forward(list(xtr), record=True), model.forward(list(xte), record=True)
print(f"test accuracy {np.mean(test['predictions'] == yte):.3f}")

abs_ = rnnabs.Abstraction(rnnabs.PCA(10), rnnabs.GaussianMixture(20, covariance_type="diag", random_state=0))
abs_.fit(train["hidden"], train["step_predictions"], n_labels=10)
print(f"automaton: {abs_.n_states_} states, {abs_.automaton_.n_transitions} transitions")

fault = int(np.flatnonzero(test["predictions"] != yte)[0])
scores = rnnabs.tracin(model, list(xtr), ytr, [xte[fault]], yte[[fault]])[:, 0]
top = np.argsort(-scores)[:5]
print(f"test {fault}: truth {yte[fault]}, predicted {test['predictions'][fault]}; "
      f"most influential training samples {top.tolist()} (labels {ytr[top].tolist()})")

test_states = abs_.states(test["hidden"])
rep = rnnabs.interpret_faults(abs_, [fault], test_states, test["step_predictions"], yte, test["predictions"],
                              train["step_predictions"], ytr, max_k=10)
share = rep["rows"]["share_pred"][-1]
print(f"its 10 nearest training traces: {share:.0%} carry the wrong label it predicted")
sys.exit(0 if np.mean(test["predictions"] == yte) > 0.6 else 1)
