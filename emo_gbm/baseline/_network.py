"""The challenge baseline's network: per-modality BiLSTM branches, fused by dense layers.

Architecture (the challenge baseline): one branch per modality, each a stack of two
bidirectional LSTM layers; the first returns its output sequence, the second one vector
(the last forward state joined to the last backward state, i.e. the backward state at the
first time step, as Keras' ``Bidirectional(LSTM(..., return_sequences=False))`` gives it);
the branch vectors are concatenated and go through ``Dense(dense_size)`` and a softmax
``Dense(n_classes)``; categorical cross-entropy (optionally sample-weighted).

The two directions of a bidirectional layer share one time loop (their states stacked, one
stacked product per step), and the modality branches, independent up to the fusion layer,
can run on parallel threads.
"""

import numpy as np
from sklearn.utils import check_random_state

from emo_gbm.baseline._layers import BiLSTM, Dense, log_softmax
from emo_gbm.baseline._parameters import ParameterSet, Workspace


class BaselineNetwork:
    """The multi-branch network of the challenge baseline.

    Per branch ``BiLSTM -> BiLSTM (last states)``, branch vectors concatenated, then
    ``Dense(dense_size, activation)`` and a linear ``Dense(n_classes)`` whose softmax is
    taken in the loss. Branches are independent up to the concatenation, so they can run
    in parallel threads; each branch computes the same numbers on any thread.

    Parameters
    ----------
    input_sizes : sequence of int
        Input features of each branch (modality).
    hidden_size : int, default=200
        Output width of each bidirectional layer (both directions joined); must be even.
        Each direction has ``hidden_size // 2`` cells.
    dense_size : int, default=100
    n_classes : int, default=6
    dense_activation : {"relu", "tanh"}, default="relu"
    dtype : numpy dtype, default=float32
        Precision of parameters and computation (float64 for gradient checks).

    Examples
    --------
    >>> net = BaselineNetwork([3, 2], hidden_size=4, dense_size=5, n_classes=3)
    >>> net = net.initialize(np.random.RandomState(0))
    >>> rng = np.random.RandomState(1)
    >>> xs = [rng.standard_normal((8, 2, 3)), rng.standard_normal((4, 2, 2))]
    >>> net.predict_proba(xs).sum(axis=1).round(6).tolist()
    [1.0, 1.0]
    """

    def __init__(
        self,
        input_sizes,
        hidden_size=200,
        dense_size=100,
        n_classes=6,
        dense_activation="relu",
        dtype=np.float32,
    ):
        if hidden_size < 2 or hidden_size % 2:
            raise ValueError(f"hidden_size must be an even number >= 2, got {hidden_size}")
        self.input_sizes = tuple(int(n) for n in input_sizes)
        self.hidden_size = int(hidden_size)
        self.dense_size = int(dense_size)
        self.n_classes = int(n_classes)
        self.dense_activation = dense_activation
        per_direction = self.hidden_size // 2
        self.branches = [
            (
                BiLSTM(n, per_direction, True, name=f"branch{j}.lstm1"),
                BiLSTM(self.hidden_size, per_direction, False, name=f"branch{j}.lstm2"),
            )
            for j, n in enumerate(self.input_sizes)
        ]
        n_joined = len(self.input_sizes) * self.hidden_size
        self.dense = Dense(n_joined, self.dense_size, dense_activation, "dense")
        self.output = Dense(self.dense_size, self.n_classes, None, name="output")
        self.layers = [layer for pair in self.branches for layer in pair]
        self.layers += [self.dense, self.output]
        shapes = [shape for layer in self.layers for shape in layer.parameter_shapes()]
        self.params = ParameterSet(shapes, dtype)
        self.workspace = Workspace()

    def initialize(self, random_state=None):
        """Draw initial weights from ``random_state``; returns self."""
        rng = check_random_state(random_state)
        for layer in self.layers:
            layer.initialize(self.params, rng)
        return self

    @staticmethod
    def _map_branches(function, args, order, executor):
        """``[function(j, args[j]) for j]``, started in ``order``, on ``executor`` if any."""
        if executor is None:
            results = {j: function(j, args[j]) for j in order}
        else:
            futures = {j: executor.submit(function, j, args[j]) for j in order}
            results = {j: futures[j].result() for j in order}
        return [results[j] for j in range(len(args))]

    def _branch_forward(self, j, x):
        lstm1, lstm2 = self.branches[j]
        seq, cache1 = lstm1.forward(self.params, x, self.workspace)
        vector, cache2 = lstm2.forward(self.params, seq, self.workspace)
        return vector, (cache1, cache2)

    def forward(self, xs, executor=None):
        """Logits (batch, n_classes) for time-major inputs, one (steps, batch, F) per branch.

        Also returns the cache for :meth:`backward`. Activations live in the network's
        :class:`Workspace`, so a cache is valid only until the next ``forward`` call.
        ``executor`` (a ``concurrent.futures`` executor) runs the branches in parallel.
        """
        xs = [np.asarray(x, dtype=self.params.dtype) for x in xs]
        if len(xs) != len(self.input_sizes):
            raise ValueError(f"expected {len(self.input_sizes)} inputs, got {len(xs)}")
        # Longest sequences first, so that a thread pool balances its load.
        order = sorted(range(len(xs)), key=lambda j: -len(xs[j]))
        results = self._map_branches(self._branch_forward, xs, order, executor)
        joined = np.concatenate([vector for vector, _ in results], axis=1)
        hidden, cache_dense = self.dense.forward(self.params, joined)
        logits, cache_out = self.output.forward(self.params, hidden)
        branch_caches = [cache for _, cache in results]
        return logits, (branch_caches, order, cache_dense, cache_out)

    def backward(self, cache, d_logits, executor=None):
        """Gradients of all parameters given the gradient w.r.t. the logits."""
        branch_caches, order, cache_dense, cache_out = cache
        grads = self.params.zeros_like()
        d_hidden = self.output.backward(self.params, grads, cache_out, d_logits)
        d_joined = self.dense.backward(self.params, grads, cache_dense, d_hidden)
        width = self.hidden_size

        def branch_backward(j, branch_cache):
            lstm1, lstm2 = self.branches[j]
            cache1, cache2 = branch_cache
            d_vector = d_joined[:, j * width : (j + 1) * width]
            d_seq = lstm2.backward(self.params, grads, cache2, d_vector)
            # The inputs are data: their gradient would cost a large product for nothing.
            lstm1.backward(self.params, grads, cache1, d_seq, input_grads=False)

        self._map_branches(branch_backward, branch_caches, order, executor)
        return grads

    def loss_and_gradient(self, xs, y, sample_weight=None, executor=None):
        """Mean (sample-weighted) cross-entropy of a batch, its gradient, and the logits.

        The loss is ``mean_i(w_i * -log p_i[y_i])`` (``w_i = 1`` without weights), the
        Keras convention, so weights scale the loss rather than renormalise each batch.
        """
        y = np.asarray(y)
        logits, cache = self.forward(xs, executor)
        log_p = log_softmax(logits)
        n = len(y)
        w = np.ones(n, dtype=logits.dtype) if sample_weight is None else np.asarray(
            sample_weight, dtype=logits.dtype
        )
        losses = -log_p[np.arange(n), y]
        loss = float(np.dot(w, losses) / n)
        d_logits = np.exp(log_p)
        d_logits[np.arange(n), y] -= 1.0
        d_logits *= (w / n)[:, None]
        grads = self.backward(cache, d_logits, executor)
        return loss, grads, logits

    def predict_proba(self, xs, executor=None):
        """Softmax posteriors (batch, n_classes) for time-major inputs."""
        logits, _ = self.forward(xs, executor)
        return np.exp(log_softmax(logits))
