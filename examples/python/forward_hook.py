"""Hidden states from any torch.nn.Module layer, caught with a forward hook, abstracted into an automaton.
Here: the GRU of a small character model of the `fortunes` corpus (or, without it, random text).
    python3 examples/python/forward_hook.py [--dot automaton.dot]"""
import os
import sys

import numpy as np
import torch

import rnnabs

path = "/usr/share/games/fortunes/fortunes"
text = open(path, encoding="latin-1").read() if os.path.exists(path) else "".join(
    np.random.default_rng(0).choice(list("abc de\n"), 20000))
lines = [l for l in text.split("\n") if 8 <= len(l) <= 60][:1500]
chars = sorted(set("".join(lines)))
seqs = [torch.tensor([chars.index(c) for c in l]) for l in lines]


class CharModel(torch.nn.Module):  # any model: we only need one of its layers
    def __init__(self, vocab):
        super().__init__()
        self.emb, self.gru, self.out = torch.nn.Embedding(vocab, 16), torch.nn.GRU(16, 32), torch.nn.Linear(32, 2)

    def forward(self, tokens):
        h, _ = self.gru(self.emb(tokens))
        return self.out(h)  # per step: "is the next character a space?" (untrained: any labels do)


torch.manual_seed(0)
model = CharModel(len(chars)).eval()
caught = []
hook = model.gru.register_forward_hook(lambda module, inputs, output: caught.append(output[0].detach().numpy()))
labels = []
with torch.no_grad():
    for s in seqs:
        labels.append(model(s).argmax(1).numpy())
hook.remove()

abstraction = rnnabs.Abstraction(rnnabs.PCA(8), rnnabs.GaussianMixture(12, covariance_type="diag", random_state=0))
abstraction.fit(caught, labels, tokens=[s.numpy() for s in seqs])
a = abstraction.automaton_
print(f"{len(caught)} sequences, {sum(len(h) for h in caught)} steps of width {caught[0].shape[1]}")
print(f"automaton: {abstraction.n_states_} states, {a.n_transitions} transitions over {a.vocab_size} tokens")
keys, counts = a.transitions()
k = keys[np.argmax(counts)]
print(f"busiest transition {tuple(k.tolist())} ('{chars[k[2]]}'), taken {counts.max()} times "
      f"by {len(a.samples(*k))} training lines")
if "--dot" in sys.argv:
    open(sys.argv[sys.argv.index("--dot") + 1], "w").write(a.to_dot(min_count=20))
sys.exit(0 if a.n_transitions > 0 else 1)
