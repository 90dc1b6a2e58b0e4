"""RNN classifiers in PyTorch's layout, and the gradient-based influence over them.

A classifier is input -> (bi)LSTM/GRU/RNN stack -> dense head on the last step (or every step), with
its parameters named as a PyTorch module's state_dict: `<rnn>.weight_ih_l0`, ..., `<fc>.weight`,
`<fc>.bias` (and `<embedding>.weight` for token input). from_state_dict reads the shape off the
tensors, so a trained PyTorch model comes over in one line:

    model = rnnabs.LSTMClassifier.from_state_dict(torch_model.state_dict())

Forward passes, traces, per-sample gradients and exact Hessian-vector products run in C++ (float32);
results match PyTorch's to float32 rounding (tests/test_models.py).
"""
from __future__ import annotations

import re

import numpy as np

from . import _core

__all__ = ["LSTMClassifier", "GRUClassifier", "RNNClassifier", "koh_liang", "tracin", "sgd_influence",
           "flat_parameters"]


def _numpy(t):
    if hasattr(t, "detach"):  # a torch.Tensor
        t = t.detach().cpu().numpy()
    return np.ascontiguousarray(t, dtype=np.float32)


class _FromStateDict:
    _gates = 1

    @classmethod
    def from_state_dict(cls, state_dict, *, rnn="rnn", fc="fc", embedding="embedding", head="last_step",
                        loss="cross_entropy"):
        """A classifier shaped and filled from a PyTorch state_dict (tensors or NumPy arrays); the module
        names of the recurrent stack, the head and the embedding default to rnn, fc and embedding."""
        sd = {k: _numpy(v) for k, v in state_dict.items()}
        pat = re.compile(re.escape(rnn) + r"\.weight_ih_l(\d+)(_reverse)?$")
        layers = [m for m in (pat.match(k) for k in sd) if m]
        if not layers:
            raise ValueError(f"from_state_dict: no '{rnn}.weight_ih_l0' in the state_dict (keys: {sorted(sd)[:8]}...); "
                             "name the recurrent module with rnn=")
        for key in (f"{rnn}.weight_hh_l0", f"{fc}.weight"):
            if key not in sd:
                raise ValueError(f"from_state_dict: the state_dict has no '{key}'")
        hidden = sd[f"{rnn}.weight_hh_l0"].shape[1]
        gates = sd[f"{rnn}.weight_hh_l0"].shape[0] // hidden
        if gates != cls._gates:
            raise ValueError(f"from_state_dict: '{rnn}.weight_hh_l0' has {gates} gates, {cls.__name__} has "
                             f"{cls._gates}")
        vocab = sd[f"{embedding}.weight"].shape[0] if f"{embedding}.weight" in sd else 0
        model = cls(input_size=sd[f"{rnn}.weight_ih_l0"].shape[1], hidden_size=hidden,
                    num_classes=sd[f"{fc}.weight"].shape[0], num_layers=1 + max(int(m.group(1)) for m in layers),
                    bidirectional=any(m.group(2) for m in layers), vocab_size=vocab, head=head, loss=loss,
                    embedding_name=embedding, rnn_name=rnn, fc_name=fc)
        model.load_state_dict(sd)
        return model


class LSTMClassifier(_FromStateDict, _core.LSTMClassifier):
    __doc__ = _core.LSTMClassifier.__doc__
    _gates = 4


class GRUClassifier(_FromStateDict, _core.GRUClassifier):
    __doc__ = _core.GRUClassifier.__doc__
    _gates = 3


class RNNClassifier(_FromStateDict, _core.RNNClassifier):
    __doc__ = _core.RNNClassifier.__doc__
    _gates = 1


def koh_liang(model, train_sequences, train_labels, test_sequences, test_labels, *, solver="cg", damping=0.01,
              l2=0.0, **solver_options):
    """Koh & Liang influence (ICML 2017): scores[i, j] = ∇ℓ_test,j · (H + λI)⁻¹ ∇ℓ_train,i / N, the predicted
    change of test loss j when training sample i of N is removed (H: the Hessian of the mean training
    loss plus l2; λ: damping). solver: 'explicit' (the full Hessian,
    small models), 'cg', 'lissa' or 'arnoldi'. Returns a dict: scores (N x m), s_test (P x m), report."""
    return _core.koh_liang(model, train_sequences, train_labels, test_sequences, test_labels, solver=solver,
                           damping=damping, l2=l2, **solver_options)


def tracin(model, train_sequences, train_labels, test_sequences, test_labels, *, checkpoints=(), normalize=False,
           projection=0, seed=0):
    """TracInCP (Pruthi et al., NeurIPS 2020): N x m, Σ over checkpoints (parameters, learning rate) of
    lr ⟨∇ℓ_train,i, ∇ℓ_test,j⟩; without checkpoints, the gradient similarity at the model's parameters."""
    cps = [(np.ascontiguousarray(p, np.float32), float(lr)) for p, lr in checkpoints]
    return _core.tracin(model, train_sequences, train_labels, test_sequences, test_labels, cps, normalize,
                        projection, seed)


def flat_parameters(state_dict):
    """A state_dict's tensors flattened into one float32 vector, in the dict's order (the order of
    model.parameters, and of a classifier's `parameters`)."""
    return np.concatenate([_numpy(v).reshape(-1) for v in state_dict.values()])


def sgd_influence(model, train_sequences, train_labels, test_sequences, test_labels, *, steps, final_parameters,
                  epochs_back=0):
    """SGD-influence (Hara et al., NeurIPS 2019) of a plain-SGD training run recorded as
    steps = [(epoch, learning_rate, batch_ids, flat_parameters_before_the_step), ...] (e.g. from a PyTorch
    loop with torch.optim.SGD, no momentum or weight decay) and the final flat parameters. Returns a dict:
    all_epochs and last_epoch (N x m: the first-order change of each test loss when training sample i is
    left out of its batches; positive: i helps), steps, gain. Each recorded step is checked against the
    gradient rnnabs computes: a run that was not plain SGD on this loss raises InvalidArgument."""
    st = [(int(e), float(lr), [int(i) for i in ids], np.ascontiguousarray(p, np.float32)) for e, lr, ids, p in steps]
    return _core.sgd_influence(model, train_sequences, train_labels, test_sequences, test_labels, st,
                               np.ascontiguousarray(final_parameters, np.float32), epochs_back)
