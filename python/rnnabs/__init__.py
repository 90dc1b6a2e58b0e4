"""rnnabs: model-based analysis of recurrent neural networks, from Python.

A pure-Python layer over the compiled C++ core (rnnabs._core): scikit-learn-style estimators (PCA,
KMeans, GaussianMixture), the abstract model of any hidden states (Abstraction, Automaton, fidelity,
fault interpretation, DFA extraction), RNN classifiers built from a PyTorch state_dict with exact
gradients and Hessian-vector products, influence (Koh & Liang, TracIn, automaton-based) and
explanations of black boxes (LEMNA, DMM, DMM-MEN), and the repair experiments' building blocks
(judge_repair, mutate, trigger_contexts). See docs/python.md.

NumPy arrays that are C-contiguous float32/float64 reach the core without a copy; the GIL is released
during computation; rnnabs errors are raised as rnnabs.Error subclasses of ValueError (InvalidArgument),
OSError (FileError) and ArithmeticError (NumericalError).
"""
from . import _core
from ._core import (Error, FileError, InvalidArgument, NumericalError, get_threads, judge_repair, mutate,
                    set_max_alloc_bytes, set_threads, trigger_contexts)
from ._abstraction import (DFA, Abstraction, Automaton, automaton_influence, interpret_faults,
                           sequences_from_padded, simnn_fidelity)
from ._estimators import PCA, GaussianMixture, KMeans
from ._explain import dmm, dmm_men, feature_fidelity, lemna, lemna_sequence, sequence_fidelity
from ._models import (GRUClassifier, LSTMClassifier, RNNClassifier, flat_parameters, koh_liang, sgd_influence,
                      tracin)

__version__ = _core.__version__

__all__ = ["PCA", "KMeans", "GaussianMixture",
           "Abstraction", "Automaton", "DFA", "sequences_from_padded", "simnn_fidelity", "interpret_faults",
           "automaton_influence",
           "LSTMClassifier", "GRUClassifier", "RNNClassifier", "koh_liang", "tracin", "sgd_influence",
           "flat_parameters",
           "lemna", "lemna_sequence", "dmm", "dmm_men", "feature_fidelity", "sequence_fidelity",
           "judge_repair", "mutate", "trigger_contexts",
           "Error", "InvalidArgument", "FileError", "NumericalError", "set_threads", "get_threads",
           "set_max_alloc_bytes", "__version__"]
