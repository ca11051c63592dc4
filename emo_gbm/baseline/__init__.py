"""The challenge's BiLSTM baseline in NumPy, and its training and prediction on a dataset.

Architecture (the challenge baseline): one branch per modality, each a stack of two
bidirectional LSTM layers, the branch vectors concatenated and fused by ``Dense(dense_size)``
and a softmax output; categorical cross-entropy (optionally sample-weighted), RMSprop.
Forward and backward passes (backpropagation through time) are written by hand, batched
over windows.

What "200 units" means here: ``hidden_size`` is the width of a bidirectional layer's output,
forward and backward halves concatenated, so ``hidden_size=200`` is 100 LSTM cells per
direction and every branch hands a 200-d vector to the fusion layer (four branches: 800).
``hidden_size`` must therefore be even.

Modules (private, one job each): ``_parameters`` (flat parameter storage, scratch memory,
initialisers), ``_lstm`` (LSTM units forward and backward), ``_layers`` (bidirectional LSTM,
dense layer, log-softmax), ``_network`` (the multi-branch network), ``_optim`` (RMSprop),
``_validation`` (parameter and input checks), ``_scaling`` (feature clipping and
standardisation), ``_epochs`` (the training loop with early stopping), ``_classifier``
(:class:`BiLSTMClassifier`), ``_sequences`` (sequence windows from recordings) and
``_dataset`` (training and prediction on recordings).
"""

from emo_gbm.baseline._classifier import BiLSTMClassifier
from emo_gbm.baseline._dataset import (
    average_window_posteriors,
    baseline_folder,
    predict_baseline,
    predict_baseline_proba,
    train_baseline,
)
from emo_gbm.baseline._layers import BiLSTM, Dense, log_softmax
from emo_gbm.baseline._lstm import LSTMGroup
from emo_gbm.baseline._network import BaselineNetwork
from emo_gbm.baseline._optim import RMSprop
from emo_gbm.baseline._parameters import ParameterSet, Workspace
from emo_gbm.baseline._sequences import DEFAULT_STRIDES, BaselineWindows, windows_from_recordings

__all__ = [
    "DEFAULT_STRIDES",
    "BaselineNetwork",
    "BaselineWindows",
    "BiLSTM",
    "BiLSTMClassifier",
    "Dense",
    "LSTMGroup",
    "ParameterSet",
    "RMSprop",
    "Workspace",
    "average_window_posteriors",
    "baseline_folder",
    "log_softmax",
    "predict_baseline",
    "predict_baseline_proba",
    "train_baseline",
    "windows_from_recordings",
]
