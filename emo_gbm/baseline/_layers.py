"""The layers of the baseline network: bidirectional LSTM, dense layer, log-softmax."""

import numpy as np

from emo_gbm.baseline._lstm import LSTMGroup
from emo_gbm.baseline._parameters import empty_buffer, glorot_uniform

#: Activations allowed for the hidden dense layer.
DENSE_ACTIVATIONS = ("relu", "tanh")


class BiLSTM:
    """Bidirectional LSTM layer: a forward and a reversed LSTM reading the same sequence.

    The output joins the forward and backward states along the feature axis (forward
    first), so its width is ``2 * hidden_size``. Both directions run in one time loop.

    Parameters
    ----------
    input_size : int
    hidden_size : int
        Cells per direction.
    return_sequences : bool, default=True
        Output the joined states at every step, or one vector: the forward state after
        the last step joined to the backward state after the first step (Keras'
        ``Bidirectional(LSTM(..., return_sequences=False))``).
    name : str, default="bilstm"

    Examples
    --------
    >>> import numpy as np
    >>> from emo_gbm.baseline import BiLSTM, ParameterSet
    >>> layer = BiLSTM(3, hidden_size=4, return_sequences=False)
    >>> params = ParameterSet(layer.parameter_shapes(), np.float64)
    >>> layer.initialize(params, np.random.RandomState(0))
    >>> x = np.random.RandomState(1).standard_normal((6, 2, 3))  # (time, batch, features)
    >>> out, cache = layer.forward(params, x)
    >>> out.shape
    (2, 8)
    """

    def __init__(self, input_size, hidden_size, return_sequences=True, name="bilstm"):
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.return_sequences = bool(return_sequences)
        self.name = name
        self.group = LSTMGroup([self.input_size] * 2, hidden_size, [False, True], name)

    def parameter_shapes(self):
        """Names and shapes of the layer's parameter tensors."""
        return self.group.parameter_shapes()

    def initialize(self, params, rng):
        """Initialise both directions (see :meth:`LSTMGroup.initialize`)."""
        self.group.initialize(params, rng)

    def forward(self, params, x, workspace=None):
        """Run the layer on a time-major input (n_steps, batch, input_size).

        Returns the output, (n_steps, batch, 2 * hidden) or (batch, 2 * hidden), and the
        cache for :meth:`backward`. With a ``workspace``, both are valid only until its
        next use (see :meth:`LSTMGroup.forward`).
        """
        (fwd, bwd), cache = self.group.forward(params, [x, x], self.return_sequences, workspace)
        hidden = self.hidden_size
        out = empty_buffer(workspace, f"{self.name}.out", fwd.shape[:-1] + (2 * hidden,), fwd.dtype)
        out[..., :hidden] = fwd
        out[..., hidden:] = bwd
        return out, cache

    def backward(self, params, grads, cache, d_output, input_grads=True):
        """Gradient w.r.t. the input (None when ``input_grads`` is False); parameter
        gradients go into ``grads``."""
        halves = [d_output[..., : self.hidden_size], d_output[..., self.hidden_size :]]
        if self.return_sequences:
            d_units = self.group.backward(params, grads, cache, halves, None, input_grads)
        else:
            d_units = self.group.backward(params, grads, cache, None, halves, input_grads)
        if not input_grads:
            return None
        d_fwd, d_bwd = d_units
        d_fwd += d_bwd  # the forward unit's gradient is this layer's own array
        return d_fwd


class Dense:
    """Fully connected layer ``activation(x @ W + b)``.

    Parameters
    ----------
    input_size, output_size : int
    activation : {"relu", "tanh", None}, default=None
        None is the identity (the softmax of the output layer lives in the loss).
    name : str, default="dense"

    Examples
    --------
    >>> import numpy as np
    >>> from emo_gbm.baseline import Dense, ParameterSet
    >>> layer = Dense(3, 2, activation="relu")
    >>> params = ParameterSet(layer.parameter_shapes(), np.float64)
    >>> layer.initialize(params, np.random.RandomState(0))
    >>> y, cache = layer.forward(params, np.ones((4, 3)))
    >>> y.shape, bool((y >= 0).all())
    ((4, 2), True)
    """

    def __init__(self, input_size, output_size, activation=None, name="dense"):
        if activation not in (None,) + DENSE_ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}")
        self.input_size = int(input_size)
        self.output_size = int(output_size)
        self.activation = activation
        self.name = name

    def parameter_shapes(self):
        """Names and shapes of the layer's parameter tensors."""
        return [
            (f"{self.name}.W", (self.input_size, self.output_size)),
            (f"{self.name}.b", (self.output_size,)),
        ]

    def initialize(self, params, rng):
        """Glorot-uniform weights, zero bias (Keras' defaults)."""
        params[f"{self.name}.W"][...] = glorot_uniform(rng, self.input_size, self.output_size)
        params[f"{self.name}.b"][...] = 0.0

    def forward(self, params, x):
        """Output of shape (batch, output_size) and the cache for :meth:`backward`."""
        y = np.dot(x, params[f"{self.name}.W"])
        y += params[f"{self.name}.b"]
        if self.activation == "relu":
            np.maximum(y, 0.0, out=y)
        elif self.activation == "tanh":
            np.tanh(y, out=y)
        return y, (x, y)

    def backward(self, params, grads, cache, d_output):
        """Gradient w.r.t. the input; parameter gradients go into ``grads``."""
        x, y = cache
        if self.activation == "relu":
            d_pre = d_output * (y > 0)
        elif self.activation == "tanh":
            d_pre = d_output * (1.0 - y * y)
        else:
            d_pre = d_output
        np.dot(x.T, d_pre, out=grads[f"{self.name}.W"])
        grads[f"{self.name}.b"][...] = d_pre.sum(axis=0)
        return np.dot(d_pre, params[f"{self.name}.W"].T)


def log_softmax(logits):
    """Row-wise log of the softmax, computed stably.

    Examples
    --------
    >>> import numpy as np
    >>> np.exp(log_softmax(np.array([[0.0, 0.0]]))).tolist()
    [[0.5, 0.5]]
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

