"""The challenge's BiLSTM baseline in NumPy: layers, network, optimiser and a classifier.

Architecture (the challenge baseline): one branch per modality, each a stack of two
bidirectional LSTM layers; the first returns its output sequence, the second one vector
(the last forward state joined to the last backward state, i.e. the backward state at the
first time step, as Keras' ``Bidirectional(LSTM(..., return_sequences=False))`` gives it);
the branch vectors are concatenated and go through ``Dense(dense_size)`` and a softmax
``Dense(n_classes)``; categorical cross-entropy (optionally sample-weighted), RMSprop.

What "200 units" means here: ``hidden_size`` is the width of a bidirectional layer's output,
forward and backward halves concatenated, so ``hidden_size=200`` is 100 LSTM cells per
direction and every branch hands a 200-d vector to the fusion layer (four branches: 800).
``hidden_size`` must therefore be even.

Forward and backward passes (backpropagation through time) are written by hand, batched
over windows. Everything a layer computes for all time steps at once is one matrix product
outside the time loop (input projections of all steps, gradients of the input weights and of
the inputs); the time loop holds only the recurrent product and the gate arithmetic. The
two directions of a bidirectional layer share one time loop (their states stacked, one
stacked product per step), and the modality branches, independent up to the fusion layer,
can run on parallel threads.
"""

import os
import time
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from emo_gbm.constants import MODALITIES

#: Name given to the single modality when ``X`` is one 3-D array instead of a dict.
SINGLE_INPUT = "x"

#: Activations allowed for the hidden dense layer.
DENSE_ACTIVATIONS = ("relu", "tanh")


# --------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------


class ParameterSet:
    """Named parameter tensors that are views into one flat vector.

    Keeping every tensor in one vector lets the optimiser update the whole network with a
    few vectorised operations, and a copy of the vector is a snapshot of the network.

    Parameters
    ----------
    shapes : list of (str, tuple of int)
        Name and shape of every tensor, in storage order.
    dtype : numpy dtype, default=float32

    Examples
    --------
    >>> p = ParameterSet([("W", (2, 3)), ("b", (3,))])
    >>> p.flat.shape, p["W"].shape
    ((9,), (2, 3))
    >>> p["b"][:] = 1.0
    >>> p.flat[-3:].tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, shapes, dtype=np.float32):
        self.shapes = [(str(name), tuple(int(d) for d in shape)) for name, shape in shapes]
        size = sum(int(np.prod(shape)) for _, shape in self.shapes)
        self.flat = np.zeros(size, dtype=dtype)
        self._make_views()

    def _make_views(self):
        self._views = {}
        offset = 0
        for name, shape in self.shapes:
            n = int(np.prod(shape))
            self._views[name] = self.flat[offset : offset + n].reshape(shape)
            offset += n

    def __getitem__(self, name):
        return self._views[name]

    def __iter__(self):
        return iter(name for name, _ in self.shapes)

    @property
    def dtype(self):
        return self.flat.dtype

    def zeros_like(self):
        """A parameter set of the same layout, all zeros."""
        return ParameterSet(self.shapes, self.flat.dtype)

    def astype(self, dtype):
        """A copy converted to ``dtype``."""
        out = ParameterSet(self.shapes, dtype)
        out.flat[:] = self.flat
        return out

    # Pickling views would store every tensor separately and lose the link to ``flat``.
    def __getstate__(self):
        return {"shapes": self.shapes, "flat": self.flat}

    def __setstate__(self, state):
        self.shapes = state["shapes"]
        self.flat = state["flat"]
        self._make_views()


def _glorot_uniform(rng, n_in, n_out):
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def _orthogonal(rng, n_rows, n_cols):
    # Keras' Orthogonal initialiser: QR of a Gaussian matrix, signs fixed by diag(R).
    a = rng.standard_normal(size=(max(n_rows, n_cols), min(n_rows, n_cols)))
    q, r = np.linalg.qr(a)
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)
    return q.T if n_rows < n_cols else q


class Workspace:
    """Scratch arrays reused from one batch to the next.

    A training step needs hundreds of megabytes of activations; allocating them afresh
    every batch made the operating system map and zero that memory every time, about a
    fifth of the run time. An array handed out under a key stays valid until the next
    request for the same key. Buffers are not pickled.

    Examples
    --------
    >>> ws = Workspace()
    >>> a = ws.empty("gates", (4, 3), np.float32)
    >>> b = ws.empty("gates", (2, 3), np.float32)  # smaller: same memory
    >>> bool(np.shares_memory(a, b))
    True
    """

    def __init__(self):
        self._buffers = {}

    def empty(self, key, shape, dtype):
        """An uninitialised array of ``shape`` and ``dtype`` stored under ``key``."""
        size = int(np.prod(shape))
        buf = self._buffers.get(key)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = np.empty(size, dtype=dtype)
            self._buffers[key] = buf
        return buf[:size].reshape(shape)

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self._buffers = {}


def _empty(workspace, key, shape, dtype):
    if workspace is None:
        return np.empty(shape, dtype=dtype)
    return workspace.empty(key, shape, dtype)


# --------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------


class LSTMGroup:
    """Independent LSTM units, each with its own weights and input, run in one time loop.

    One unit is a plain LSTM layer; a forward and a reversed unit reading the same input
    make a bidirectional layer; the units of several branches can share the loop. Gates are
    ordered input, forget, output, candidate in the fused weight matrices, so the three
    sigmoid gates are one contiguous block.

    Parameters
    ----------
    input_sizes : sequence of int
        Number of input features of each unit.
    hidden_size : int
        Number of cells of every unit.
    reverse : sequence of bool, optional
        Whether each unit reads its sequence from the last step to the first. Default: none.
    name : str, default="lstm"
        Prefix of the parameter names: ``{name}.W{unit}`` of shape (input_size, 4 * hidden),
        ``{name}.U`` of shape (n_units, hidden, 4 * hidden), ``{name}.b`` of shape
        (n_units, 4 * hidden).

    Examples
    --------
    >>> layer = LSTMGroup([3], hidden_size=4)
    >>> params = ParameterSet(layer.parameter_shapes(), np.float64)
    >>> layer.initialize(params, np.random.RandomState(0))
    >>> x = np.random.RandomState(1).standard_normal((5, 2, 3))  # (time, batch, features)
    >>> (h,), cache = layer.forward(params, [x], return_sequences=True)
    >>> h.shape
    (5, 2, 4)
    """

    def __init__(self, input_sizes, hidden_size, reverse=None, name="lstm"):
        self.input_sizes = tuple(int(n) for n in input_sizes)
        self.hidden_size = int(hidden_size)
        if reverse is None:
            reverse = (False,) * len(self.input_sizes)
        self.reverse = tuple(bool(r) for r in reverse)
        if len(self.reverse) != len(self.input_sizes):
            raise ValueError("reverse needs one flag per unit")
        self.name = name

    @property
    def n_units(self):
        return len(self.input_sizes)

    def parameter_shapes(self):
        """Names and shapes of the layer's parameter tensors."""
        gates = 4 * self.hidden_size
        shapes = [(f"{self.name}.W{s}", (n, gates)) for s, n in enumerate(self.input_sizes)]
        shapes.append((f"{self.name}.U", (self.n_units, self.hidden_size, gates)))
        shapes.append((f"{self.name}.b", (self.n_units, gates)))
        return shapes

    def initialize(self, params, rng):
        """Keras' LSTM defaults: Glorot-uniform inputs, orthogonal recurrence, forget bias 1."""
        hidden = self.hidden_size
        for s, n_in in enumerate(self.input_sizes):
            params[f"{self.name}.W{s}"][...] = _glorot_uniform(rng, n_in, 4 * hidden)
            params[f"{self.name}.U"][s] = _orthogonal(rng, hidden, 4 * hidden)
        bias = params[f"{self.name}.b"]
        bias[...] = 0.0
        # A forget bias of 1 keeps the cell state early in training (Jozefowicz et al. 2015).
        bias[:, hidden : 2 * hidden] = 1.0

    def forward(self, params, xs, return_sequences=True, workspace=None):
        """Run every unit over its input sequence.

        Parameters
        ----------
        params : ParameterSet
        xs : list of ndarray of shape (n_steps_u, batch, input_size_u)
            One time-major input per unit; lengths may differ, the batch size may not.
        return_sequences : bool
            Return each unit's states at every step (in the input's time order), or only its
            final state (for a reversed unit: the state after reading the first step).
        workspace : Workspace, optional
            Where to keep activations; then outputs and cache are valid only until the
            next call with the same workspace.

        Returns
        -------
        outputs : list of ndarray
            Per unit, shape (n_steps_u, batch, hidden) or (batch, hidden).
        cache : dict
            What :meth:`backward` needs.
        """
        hidden = self.hidden_size
        n_gates = 4 * hidden
        dtype = params.dtype
        batch = xs[0].shape[1]
        lengths = np.array([x.shape[0] for x in xs], dtype=np.int64)
        # Slot p holds unit order[p]; longest first, so the units still running at step t
        # are the leading slots and every per-step operation is one call on a slice.
        order = np.argsort(-lengths, kind="stable")
        slot = np.empty_like(order)
        slot[order] = np.arange(len(order))
        n_steps = int(lengths.max())
        active = (lengths[order][None, :] > np.arange(n_steps)[:, None]).sum(axis=1)

        # sigmoid(z) = (1 + tanh(z / 2)) / 2. Halving the sigmoid gates' weights here lets
        # one tanh call activate all four gates; the backward pass works with the original
        # weights and the gradient w.r.t. z, so it needs no correction.
        half = np.ones(n_gates, dtype=dtype)
        half[: 3 * hidden] = 0.5
        bias = params[f"{self.name}.b"] * half
        # Buffers are (slot, step, batch, width): a unit's steps are contiguous for the big
        # products after the loop, and a step's active units are a strided slice.
        ws = workspace
        name = self.name
        gates = _empty(ws, f"{name}.gates", (self.n_units, n_steps, batch, n_gates), dtype)
        inputs = []  # each unit's input in processing order, as (steps * batch, features)
        for s, x in enumerate(xs):
            n = int(lengths[s])
            if self.reverse[s]:
                x_seq = _empty(ws, f"{name}.input{s}", x.shape, dtype)
                np.copyto(x_seq, x[::-1])
            else:
                x_seq = np.ascontiguousarray(x, dtype=dtype)
            inputs.append(x_seq.reshape(n * batch, -1))
            out = gates[slot[s], :n].reshape(n * batch, n_gates)
            np.dot(inputs[s], params[f"{self.name}.W{s}"] * half, out=out)
            out += bias[s]

        recurrent = params[f"{self.name}.U"][order] * half
        shape = (self.n_units, n_steps, batch, hidden)
        states = _empty(ws, f"{name}.states", shape, dtype)
        cells = _empty(ws, f"{name}.cells", shape, dtype)
        tanh_cells = _empty(ws, f"{name}.tanh_cells", shape, dtype)
        step_gates = np.empty((self.n_units, batch, n_gates), dtype=dtype)
        step_hidden = np.empty((self.n_units, batch, hidden), dtype=dtype)

        for t in range(n_steps):
            k = int(active[t])
            g = gates[:k, t]
            if t:
                np.matmul(states[:k, t - 1], recurrent[:k], out=step_gates[:k])
                g += step_gates[:k]
            np.tanh(g, out=g)
            sig = g[..., : 3 * hidden]
            sig *= 0.5
            sig += 0.5
            c = cells[:k, t]
            np.multiply(g[..., :hidden], g[..., 3 * hidden :], out=c)
            if t:
                np.multiply(g[..., hidden : 2 * hidden], cells[:k, t - 1], out=step_hidden[:k])
                c += step_hidden[:k]
            tc = tanh_cells[:k, t]
            np.tanh(c, out=tc)
            np.multiply(g[..., 2 * hidden : 3 * hidden], tc, out=states[:k, t])

        outputs = []
        for s in range(self.n_units):
            n = int(lengths[s])
            if return_sequences:
                seq = states[slot[s], :n]
                outputs.append(seq[::-1] if self.reverse[s] else seq)
            else:
                outputs.append(states[slot[s], n - 1].copy())
        cache = {
            "inputs": inputs,
            "gates": gates,
            "states": states,
            "cells": cells,
            "tanh_cells": tanh_cells,
            "lengths": lengths,
            "order": order,
            "slot": slot,
            "active": active,
            "workspace": ws,
        }
        return outputs, cache

    def backward(self, params, grads, cache, d_sequences=None, d_last=None, input_grads=True):
        """Backpropagation through time.

        Writes the parameter gradients into ``grads`` and returns the input gradients. The
        cache is consumed (its gate buffer is overwritten with gate gradients).

        Parameters
        ----------
        params, grads : ParameterSet
        cache : dict
            From :meth:`forward`.
        d_sequences : list of ndarray of shape (n_steps_u, batch, hidden), optional
            Gradient of the loss w.r.t. every output state.
        d_last : list of ndarray of shape (batch, hidden), optional
            Gradient of the loss w.r.t. every unit's final state.
        input_grads : bool, default=True
            Compute the gradients w.r.t. the inputs (not needed for a first layer).

        Returns
        -------
        d_inputs : list of ndarray of shape (n_steps_u, batch, input_size_u), or None
        """
        hidden = self.hidden_size
        n_gates = 4 * hidden
        dtype = params.dtype
        gates = cache["gates"]
        states, cells, tanh_cells = cache["states"], cache["cells"], cache["tanh_cells"]
        lengths, order, slot = cache["lengths"], cache["order"], cache["slot"]
        active, ws = cache["active"], cache["workspace"]
        n_units, n_steps, batch = gates.shape[:3]

        d_state_seq = None
        if d_sequences is not None:
            # Steps beyond a unit's length are never read, so they need no zeroing.
            d_state_seq = _empty(ws, f"{self.name}.d_states", states.shape, dtype)
            for s, d in enumerate(d_sequences):
                d_state_seq[slot[s], : lengths[s]] = d[::-1] if self.reverse[s] else d
        # Units whose last step is t get the gradient of their final state injected there.
        ends_at = {}
        if d_last is not None:
            for s in range(n_units):
                ends_at.setdefault(int(lengths[s]) - 1, []).append(s)

        recurrent_t = np.ascontiguousarray(params[f"{self.name}.U"][order].transpose(0, 2, 1))
        d_hidden = np.zeros((n_units, batch, hidden), dtype=dtype)
        d_cell = np.zeros((n_units, batch, hidden), dtype=dtype)
        buf1 = np.empty((n_units, batch, hidden), dtype=dtype)
        buf2 = np.empty((n_units, batch, hidden), dtype=dtype)
        buf3 = np.empty((n_units, batch, 3 * hidden), dtype=dtype)
        d_act = np.empty((n_units, batch, n_gates), dtype=dtype)

        for t in range(n_steps - 1, -1, -1):
            k = int(active[t])
            for s in ends_at.get(t, ()):
                d_hidden[slot[s]] += d_last[s]
            dh = d_hidden[:k]
            if d_state_seq is not None:
                dh += d_state_seq[:k, t]
            g = gates[:k, t]
            tc = tanh_cells[:k, t]
            dc = d_cell[:k]
            b1, b2 = buf1[:k], buf2[:k]
            np.multiply(dh, g[..., 2 * hidden : 3 * hidden], out=b1)
            np.multiply(tc, tc, out=b2)
            np.subtract(1.0, b2, out=b2)
            b1 *= b2
            dc += b1
            da = d_act[:k]
            np.multiply(dc, g[..., 3 * hidden :], out=da[..., :hidden])
            if t:
                np.multiply(dc, cells[:k, t - 1], out=da[..., hidden : 2 * hidden])
            else:
                da[..., hidden : 2 * hidden] = 0.0
            np.multiply(dh, tc, out=da[..., 2 * hidden : 3 * hidden])
            np.multiply(dc, g[..., :hidden], out=da[..., 3 * hidden :])
            dc *= g[..., hidden : 2 * hidden]  # becomes the cell gradient of step t - 1
            # Activation derivatives in place: the gate values are not needed any more.
            sig = g[..., : 3 * hidden]
            b3 = buf3[:k]
            np.multiply(sig, sig, out=b3)
            np.subtract(sig, b3, out=sig)
            cand = g[..., 3 * hidden :]
            np.multiply(cand, cand, out=cand)
            np.subtract(1.0, cand, out=cand)
            g *= da
            if t:
                np.matmul(g, recurrent_t[:k], out=d_hidden[:k])

        d_inputs = [] if input_grads else None
        d_recurrent = grads[f"{self.name}.U"]
        d_bias = grads[f"{self.name}.b"]
        for s, x2 in enumerate(cache["inputs"]):
            n = int(lengths[s])
            p = slot[s]
            d_gates = gates[p, :n].reshape(n * batch, n_gates)  # processing order
            np.dot(x2.T, d_gates, out=grads[f"{self.name}.W{s}"])
            d_bias[s] = d_gates.sum(axis=0)
            if n > 1:
                prev = states[p, : n - 1].reshape((n - 1) * batch, hidden)
                np.dot(prev.T, d_gates[batch:], out=d_recurrent[s])
            else:
                d_recurrent[s] = 0.0
            if input_grads:
                dx = _empty(ws, f"{self.name}.d_input{s}", x2.shape, dtype)
                np.dot(d_gates, params[f"{self.name}.W{s}"].T, out=dx)
                dx = dx.reshape(n, batch, -1)
                d_inputs.append(dx[::-1] if self.reverse[s] else dx)
        return d_inputs


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
        out = _empty(workspace, f"{self.name}.out", fwd.shape[:-1] + (2 * hidden,), fwd.dtype)
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
        params[f"{self.name}.W"][...] = _glorot_uniform(rng, self.input_size, self.output_size)
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
    >>> np.exp(log_softmax(np.array([[0.0, 0.0]]))).tolist()
    [[0.5, 0.5]]
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


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


class RMSprop:
    """RMSprop as in Keras: ``ms = rho*ms + (1-rho)*g**2; p -= lr * g / (sqrt(ms) + eps)``.

    Parameters
    ----------
    learning_rate : float, default=0.001
    rho : float, default=0.9
    epsilon : float, default=1e-7

    Examples
    --------
    >>> opt = RMSprop(learning_rate=0.1)
    >>> p = np.array([1.0, -2.0])
    >>> opt.step(p, np.array([0.5, -0.5]))
    >>> p.round(4).tolist()  # the first step moves every weight by lr / sqrt(1 - rho)
    [0.6838, -1.6838]
    """

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        self.learning_rate = learning_rate
        self.rho = rho
        self.epsilon = epsilon
        self.mean_square = None

    def step(self, params, grads):
        """Update the flat parameter vector ``params`` in place from ``grads``."""
        if self.mean_square is None:
            self.mean_square = np.zeros_like(params)
        ms = self.mean_square
        ms *= self.rho
        ms += (1.0 - self.rho) * np.square(grads)
        denom = np.sqrt(ms)
        denom += self.epsilon
        params -= self.learning_rate * grads / denom


# --------------------------------------------------------------------------------------
# Estimator
# --------------------------------------------------------------------------------------


def _as_modality_dict(X):
    """``X`` as a dict name -> 3-D array (a bare 3-D array is the single modality ``"x"``)."""
    if isinstance(X, Mapping):
        if not X:
            raise ValueError("X is an empty dict; it needs at least one modality")
        items = dict(X)
    else:
        items = {SINGLE_INPUT: X}
    out = {}
    for name, array in items.items():
        array = np.asarray(array)
        if array.ndim != 3:
            raise ValueError(
                f"X[{name!r}] must be 3-D (n_windows, n_steps, n_features), got shape "
                f"{array.shape}"
            )
        if array.dtype.kind not in "fiub":
            raise ValueError(f"X[{name!r}] must be numeric, got dtype {array.dtype}")
        if min(array.shape) < 1:
            raise ValueError(f"X[{name!r}] has an empty dimension: shape {array.shape}")
        out[name] = array
    sizes = {len(a) for a in out.values()}
    if len(sizes) != 1:
        raise ValueError(f"every modality of X needs the same number of windows, got {sizes}")
    return out


def _resolve_modalities(requested, available):
    if requested is None:
        known = [m for m in MODALITIES if m in available]
        return tuple(known + sorted(m for m in available if m not in known))
    requested = (requested,) if isinstance(requested, str) else tuple(requested)
    missing = [m for m in requested if m not in available]
    if missing:
        raise ValueError(f"X lacks the modalities {missing}; it has {sorted(available)}")
    if not requested:
        raise ValueError("modalities is empty")
    return requested


def _robust_scaling(array, tail=0.01, max_rows=200_000):
    """Clipping bounds, mean and standard deviation of each feature of a (n, steps, F) array.

    The bounds are the ``tail`` and ``1 - tail`` quantiles; mean and deviation are those of
    the values clipped to them, NaN ignored. Sensor glitches (Kinect values of 1e40, which
    become inf in float32) then neither set the scale nor reach the network. Statistics come
    from at most about ``max_rows`` evenly spaced time steps, which estimates them well at a
    fraction of the cost.
    """
    n, steps, n_features = array.shape
    n_windows = max(1, min(n, -(-max_rows // steps)))
    index = np.unique(np.linspace(0, n - 1, n_windows).round().astype(np.int64))
    rows = np.asarray(array[index], dtype=np.float64).reshape(-1, n_features)
    observed = (~np.isnan(rows)).any(axis=0)
    low = np.zeros(n_features)
    high = np.zeros(n_features)
    if observed.any():
        seen = rows[:, observed]
        low[observed], high[observed] = np.nanquantile(seen, [tail, 1.0 - tail], axis=0)
        # More than `tail` infinite values: bound by the largest finite ones instead.
        finite = np.where(np.isfinite(seen), seen, np.nan)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-inf columns
            low[observed] = np.where(np.isfinite(low[observed]), low[observed],
                                     np.nan_to_num(np.nanmin(finite, axis=0)))
            high[observed] = np.where(np.isfinite(high[observed]), high[observed],
                                      np.nan_to_num(np.nanmax(finite, axis=0)))
    clipped = np.clip(rows, low, high)
    count = (~np.isnan(clipped)).sum(axis=0)
    mean = np.divide(np.nansum(clipped, axis=0), count, out=np.zeros(n_features), where=count > 0)
    var = np.divide(np.nansum((clipped - mean) ** 2, axis=0), count,
                    out=np.zeros(n_features), where=count > 0)
    std = np.sqrt(var)
    # Constant (or never observed) features: leave them unscaled rather than divide by ~0.
    std[std < 1e-6 * np.maximum(1.0, np.abs(mean))] = 1.0
    return low, high, mean, std


def _grouped_validation_split(groups, fraction, rng):
    """Boolean validation mask holding ``ceil(fraction * n_groups)`` whole groups."""
    unique = np.unique(groups)
    if fraction <= 0 or len(unique) < 2:
        return np.zeros(len(groups), dtype=bool), unique[:0]
    n_val = min(int(np.ceil(fraction * len(unique))), len(unique) - 1)
    val_groups = unique[rng.permutation(len(unique))[:n_val]]
    return np.isin(groups, val_groups), np.sort(val_groups)


class BiLSTMClassifier(ClassifierMixin, BaseEstimator):
    """The challenge's BiLSTM baseline as a scikit-learn classifier of windows.

    One branch per modality (two stacked bidirectional LSTM layers, see
    :class:`BaselineNetwork`), fused by ``Dense(dense_size)`` and a softmax output, trained
    with RMSprop on (sample-weighted) cross-entropy, with early stopping on whole groups held
    out for validation.

    Parameters
    ----------
    modalities : sequence of str, optional
        Keys of ``X`` to use, in branch order. Default: every key of ``X`` (those of
        :data:`~emo_gbm.constants.MODALITIES` first, in that order).
    hidden_size : int, default=200
        Output width of each bidirectional layer, forward and backward halves joined
        (100 cells per direction by default). Must be even.
    dense_size : int, default=100
    dense_activation : {"relu", "tanh"}, default="relu"
    learning_rate : float, default=0.001
    rho : float, default=0.9
    epsilon : float, default=1e-7
        RMSprop settings (Keras' defaults).
    batch_size : int, default=64
    max_epochs : int, default=30
        With the defaults an epoch over the ~3,100 windows of the full training set (four
        modalities) costs about 75 s of one core, so even 30 epochs stay under 40 minutes.
    patience : int, default=5
        Stop after this many epochs without a lower validation loss; the weights of the
        best epoch are kept.
    validation_fraction : float, default=0.1
        Share of the groups held out for early stopping; 0 trains ``max_epochs`` epochs on
        everything and keeps the last weights.
    standardize : bool, default=True
        Clip each feature to its 1st and 99th percentiles seen in ``fit`` and scale it to
        zero mean and unit variance (statistics of the clipped non-missing values) before
        missing values become 0: "missing" then sits at the feature mean, and outliers
        (including infinite values) stay within the range the network was trained on.
        With ``standardize=False`` the raw values are used and must be finite or NaN.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, the validation split and the batch order.
    n_jobs : int, default=1
        Threads running the modality branches side by side (-1: one per CPU). Each branch
        does the same arithmetic on any thread, so the model does not depend on it.
    verbose : int, default=0
        Print one line per epoch when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    modalities_ : tuple of str
    input_shapes_ : dict of str to (int, int)
        (n_steps, n_features) of each modality seen in ``fit``.
    feature_bounds_ : dict of str to ndarray of shape (2, n_features)
        Clipping bounds (infinite when ``standardize=False``).
    feature_means_, feature_scales_ : dict of str to ndarray of shape (n_features,)
        Standardisation statistics (0 and 1 when ``standardize=False``).
    network_ : BaselineNetwork
    history_ : dict of str to list
        Per epoch: ``loss``, ``accuracy`` (training batches as seen during the epoch),
        ``val_loss``, ``val_accuracy`` (NaN without validation) and ``seconds``.
    n_epochs_ : int
        Epochs run.
    best_epoch_ : int
        1-based epoch whose weights were kept.
    validation_groups_ : ndarray
        Groups held out for early stopping (empty without validation).

    Notes
    -----
    ``X`` is a dict mapping modality name to a float array of shape
    (n_windows, n_steps, n_features); modalities may have different numbers of steps (each
    at its own rate). A single 3-D array is accepted as one modality named ``"x"``. NaN marks
    missing values; they become 0 (after standardisation), as the challenge baseline fed
    zeros for missing data.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(0, 2, 40)
    >>> X = {"audio": rng.standard_normal((40, 6, 2)).astype(np.float32)}
    >>> X["audio"][:, 0, 0] += 3 * y
    >>> clf = BiLSTMClassifier(hidden_size=8, dense_size=8, learning_rate=0.01,
    ...                        max_epochs=20, validation_fraction=0, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> float(clf.score(X, y)) > 0.9
    True
    """

    def __init__(
        self,
        modalities=None,
        hidden_size=200,
        dense_size=100,
        dense_activation="relu",
        learning_rate=0.001,
        rho=0.9,
        epsilon=1e-7,
        batch_size=64,
        max_epochs=30,
        patience=5,
        validation_fraction=0.1,
        standardize=True,
        random_state=None,
        n_jobs=1,
        verbose=0,
    ):
        self.modalities = modalities
        self.hidden_size = hidden_size
        self.dense_size = dense_size
        self.dense_activation = dense_activation
        self.learning_rate = learning_rate
        self.rho = rho
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.standardize = standardize
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.dict = True
        tags.input_tags.allow_nan = True
        return tags

    def _check_params(self):
        if not (isinstance(self.hidden_size, (int, np.integer)) and self.hidden_size >= 2
                and self.hidden_size % 2 == 0):
            raise ValueError(f"hidden_size must be an even integer >= 2, got {self.hidden_size!r}")
        for name in ("dense_size", "batch_size", "max_epochs", "patience"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.dense_activation not in DENSE_ACTIVATIONS:
            raise ValueError(
                f"dense_activation must be one of {DENSE_ACTIVATIONS}, "
                f"got {self.dense_activation!r}"
            )
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if not 0 <= self.rho < 1:
            raise ValueError(f"rho must be in [0, 1), got {self.rho!r}")
        if not self.epsilon > 0:
            raise ValueError(f"epsilon must be positive, got {self.epsilon!r}")
        n_jobs_ok = isinstance(self.n_jobs, (int, np.integer)) and (
            self.n_jobs >= 1 or self.n_jobs == -1
        )
        if not n_jobs_ok:
            raise ValueError(f"n_jobs must be a positive integer or -1, got {self.n_jobs!r}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}"
            )

    @contextmanager
    def _compute_context(self):
        """One BLAS thread, and a pool of ``n_jobs`` threads for the branches (or None)."""
        n_threads = (os.cpu_count() or 1) if self.n_jobs == -1 else int(self.n_jobs)
        # The per-step products are too small to gain from BLAS threads, and BLAS threads
        # competing with other processes for the cores slowed training several-fold.
        with threadpool_limits(limits=1, user_api="blas"):
            if n_threads <= 1:
                yield None
            else:
                with ThreadPoolExecutor(max_workers=n_threads) as executor:
                    yield executor

    def _fit_scaling(self, X):
        """Clipping bounds, means and scales of every feature (see ``standardize``)."""
        self.feature_bounds_, self.feature_means_, self.feature_scales_ = {}, {}, {}
        for m in self.modalities_:
            n_features = X[m].shape[2]
            if self.standardize:
                low, high, mean, std = _robust_scaling(X[m])
            else:
                if np.isinf(X[m]).any():
                    raise ValueError(
                        f"X[{m!r}] contains infinite values; standardize=True clips them"
                    )
                low, high = np.full(n_features, -np.inf), np.full(n_features, np.inf)
                mean, std = np.zeros(n_features), np.ones(n_features)
            self.feature_bounds_[m] = np.stack([low, high]).astype(np.float32)
            self.feature_means_[m] = mean.astype(np.float32)
            self.feature_scales_[m] = std.astype(np.float32)

    def _batch(self, X, index):
        """Time-major float32 inputs of the windows ``index``, standardised, NaN -> 0."""
        xs = []
        for m in self.modalities_:
            block = np.asarray(X[m][index], dtype=np.float32)
            low, high = self.feature_bounds_[m]
            np.clip(block, low, high, out=block)  # NaN stays NaN
            block -= self.feature_means_[m]
            block /= self.feature_scales_[m]
            np.nan_to_num(block, copy=False, nan=0.0)
            xs.append(np.ascontiguousarray(block.transpose(1, 0, 2)))
        return xs

    def _evaluate(self, network, X, y, weights, index, executor):
        """Weighted mean cross-entropy and accuracy of the windows ``index``."""
        total_loss = 0.0
        correct = 0
        for start in range(0, len(index), self.batch_size):
            part = index[start : start + self.batch_size]
            logits, _ = network.forward(self._batch(X, part), executor)
            log_p = log_softmax(logits.astype(np.float64))
            total_loss += float(np.dot(weights[part], -log_p[np.arange(len(part)), y[part]]))
            correct += int((logits.argmax(axis=1) == y[part]).sum())
        return total_loss / len(index), correct / len(index)

    def fit(self, X, y, sample_weight=None, groups=None):
        """Train on windows ``X`` with labels ``y``.

        Parameters
        ----------
        X : dict of str to ndarray of shape (n_windows, n_steps, n_features), or ndarray
            See the class notes.
        y : array-like of shape (n_windows,)
        sample_weight : array-like of shape (n_windows,), optional
            Non-negative weights of the windows in the loss (rescaled to mean 1).
        groups : array-like of shape (n_windows,), optional
            Group of each window (recording, session or actor); validation holds out whole
            groups. Default: every window is its own group.

        Returns
        -------
        self
        """
        self._check_params()
        with self._compute_context() as executor:
            return self._fit(X, y, sample_weight, groups, executor)

    def _fit(self, X, y, sample_weight, groups, executor):
        X = _as_modality_dict(X)
        n = len(next(iter(X.values())))
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != n:
            raise ValueError(f"y must be 1-D with {n} entries (one per window), got {y.shape}")
        check_classification_targets(y)
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        if sample_weight is None:
            weights = np.ones(n)
        else:
            weights = np.asarray(sample_weight, dtype=np.float64)
            if weights.shape != (n,):
                raise ValueError(f"sample_weight must have shape ({n},), got {weights.shape}")
            if not np.all(np.isfinite(weights)) or np.any(weights < 0):
                raise ValueError("sample_weight must be finite and non-negative")
            if weights.sum() <= 0:
                raise ValueError("sample_weight sums to zero; there is nothing to learn from")
        groups = np.arange(n) if groups is None else np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(f"groups must have shape ({n},), got {groups.shape}")

        self.modalities_ = _resolve_modalities(self.modalities, X)
        self.input_shapes_ = {m: tuple(int(d) for d in X[m].shape[1:]) for m in self.modalities_}
        self._fit_scaling(X)

        rng = check_random_state(self.random_state)
        init_seed, split_seed, shuffle_seed = rng.randint(np.iinfo(np.int32).max, size=3)
        val_mask, self.validation_groups_ = _grouped_validation_split(
            groups, self.validation_fraction, np.random.RandomState(split_seed)
        )
        train_index = np.flatnonzero(~val_mask)
        val_index = np.flatnonzero(val_mask)
        if weights[train_index].sum() <= 0:
            raise ValueError("the training part of sample_weight sums to zero")
        # Mean weight 1 over the training windows keeps the loss on the unweighted scale.
        weights = (weights / weights[train_index].mean()).astype(np.float32)

        network = BaselineNetwork(
            [self.input_shapes_[m][1] for m in self.modalities_],
            hidden_size=self.hidden_size,
            dense_size=self.dense_size,
            n_classes=len(self.classes_),
            dense_activation=self.dense_activation,
            dtype=np.float32,
        ).initialize(np.random.RandomState(init_seed))
        optimizer = RMSprop(self.learning_rate, self.rho, self.epsilon)
        shuffle_rng = np.random.RandomState(shuffle_seed)

        history = {k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")}
        best_loss, best_epoch, best_params, wait = np.inf, 0, None, 0
        for epoch in range(1, self.max_epochs + 1):
            tic = time.perf_counter()
            order = shuffle_rng.permutation(train_index)
            total_loss, correct = 0.0, 0
            for start in range(0, len(order), self.batch_size):
                part = order[start : start + self.batch_size]
                loss, grads, logits = network.loss_and_gradient(
                    self._batch(X, part), y_encoded[part], weights[part], executor
                )
                if not np.isfinite(loss):
                    raise FloatingPointError(
                        f"the training loss became {loss} in epoch {epoch}; "
                        "try a lower learning_rate"
                    )
                optimizer.step(network.params.flat, grads.flat)
                total_loss += loss * len(part)
                correct += int((logits.argmax(axis=1) == y_encoded[part]).sum())
            history["loss"].append(total_loss / len(order))
            history["accuracy"].append(correct / len(order))
            if len(val_index):
                val_loss, val_acc = self._evaluate(
                    network, X, y_encoded, weights, val_index, executor
                )
            else:
                val_loss, val_acc = np.nan, np.nan
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_acc)
            history["seconds"].append(time.perf_counter() - tic)
            if self.verbose > 0:
                print(
                    f"epoch {epoch}/{self.max_epochs}: loss {history['loss'][-1]:.4f} "
                    f"acc {history['accuracy'][-1]:.4f} val_loss {val_loss:.4f} "
                    f"val_acc {val_acc:.4f} ({history['seconds'][-1]:.1f} s)",
                    flush=True,
                )
            if not len(val_index):
                best_epoch = epoch
                continue
            if val_loss < best_loss:
                best_loss, best_epoch, wait = val_loss, epoch, 0
                best_params = network.params.flat.copy()
            else:
                wait += 1
                if wait >= self.patience:
                    break
        if best_params is not None:
            network.params.flat[:] = best_params
        self.network_ = network
        self.history_ = history
        self.n_epochs_ = len(history["loss"])
        self.best_epoch_ = best_epoch
        return self

    def _check_X_predict(self, X):
        X = _as_modality_dict(X)
        for m in self.modalities_:
            if m not in X:
                raise ValueError(f"X lacks the modality {m!r} the model was fitted on")
            if X[m].shape[2] != self.input_shapes_[m][1]:
                raise ValueError(
                    f"X[{m!r}] has {X[m].shape[2]} features, the model was fitted on "
                    f"{self.input_shapes_[m][1]}"
                )
        return X

    def predict_proba(self, X):
        """Class posteriors of every window.

        Parameters
        ----------
        X : dict of str to ndarray of shape (n_windows, n_steps, n_features), or ndarray

        Returns
        -------
        proba : ndarray of shape (n_windows, n_classes), float64
            Columns follow ``classes_``.
        """
        check_is_fitted(self, "network_")
        X = self._check_X_predict(X)
        n = len(X[self.modalities_[0]])
        proba = np.empty((n, len(self.classes_)))
        with self._compute_context() as executor:
            for start in range(0, n, self.batch_size):
                part = np.arange(start, min(start + self.batch_size, n))
                proba[part] = self.network_.predict_proba(self._batch(X, part), executor)
        return proba

    def predict(self, X):
        """Most probable class of every window, shape (n_windows,).

        Parameters
        ----------
        X : dict of str to ndarray of shape (n_windows, n_steps, n_features), or ndarray
        """
        check_is_fitted(self, "network_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
