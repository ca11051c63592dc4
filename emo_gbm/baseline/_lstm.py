"""LSTM units run in one time loop, forward and backward (backpropagation through time).

Everything a layer computes for all time steps at once is one matrix product outside the
time loop (input projections of all steps, gradients of the input weights and of the
inputs); the time loop holds only the recurrent product and the gate arithmetic.
"""

import numpy as np

from emo_gbm.baseline._parameters import empty_buffer, glorot_uniform, orthogonal


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
    >>> import numpy as np
    >>> from emo_gbm.baseline import LSTMGroup, ParameterSet
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
        """Number of LSTM units in the group."""
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
            params[f"{self.name}.W{s}"][...] = glorot_uniform(rng, n_in, 4 * hidden)
            params[f"{self.name}.U"][s] = orthogonal(rng, hidden, 4 * hidden)
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
        dtype = params.dtype
        batch = xs[0].shape[1]
        lengths = np.array([x.shape[0] for x in xs], dtype=np.int64)
        order, slot, active = _schedule(lengths)
        n_steps = int(lengths.max())
        # sigmoid(z) = (1 + tanh(z / 2)) / 2. Halving the sigmoid gates' weights here lets
        # one tanh call activate all four gates; the backward pass works with the original
        # weights and the gradient w.r.t. z, so it needs no correction.
        half = np.ones(4 * self.hidden_size, dtype=dtype)
        half[: 3 * self.hidden_size] = 0.5
        gates, inputs = self._project_inputs(params, xs, lengths, slot, half, workspace)
        recurrent = params[f"{self.name}.U"][order] * half
        ws, name = workspace, self.name
        shape = (self.n_units, n_steps, batch, self.hidden_size)
        states = empty_buffer(ws, f"{name}.states", shape, dtype)
        cells = empty_buffer(ws, f"{name}.cells", shape, dtype)
        tanh_cells = empty_buffer(ws, f"{name}.tanh_cells", shape, dtype)
        _forward_steps(gates, recurrent, states, cells, tanh_cells, active)

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

    def _project_inputs(self, params, xs, lengths, slot, half, ws):
        """Gate pre-activations of every step from the inputs (bias included), and the inputs
        in processing order as (steps * batch, features)."""
        n_gates = 4 * self.hidden_size
        dtype = params.dtype
        batch = xs[0].shape[1]
        n_steps = int(lengths.max())
        name = self.name
        bias = params[f"{self.name}.b"] * half
        # Buffers are (slot, step, batch, width): a unit's steps are contiguous for the big
        # products after the loop, and a step's active units are a strided slice.
        gates = empty_buffer(ws, f"{name}.gates", (self.n_units, n_steps, batch, n_gates), dtype)
        inputs = []  # each unit's input in processing order, as (steps * batch, features)
        for s, x in enumerate(xs):
            n = int(lengths[s])
            if self.reverse[s]:
                x_seq = empty_buffer(ws, f"{name}.input{s}", x.shape, dtype)
                np.copyto(x_seq, x[::-1])
            else:
                x_seq = np.ascontiguousarray(x, dtype=dtype)
            inputs.append(x_seq.reshape(n * batch, -1))
            out = gates[slot[s], :n].reshape(n * batch, n_gates)
            np.dot(inputs[s], params[f"{self.name}.W{s}"] * half, out=out)
            out += bias[s]
        return gates, inputs

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
        states = cache["states"]
        lengths, order, slot = cache["lengths"], cache["order"], cache["slot"]
        n_units = cache["gates"].shape[0]

        d_state_seq = None
        if d_sequences is not None:
            # Steps beyond a unit's length are never read, so they need no zeroing.
            d_state_seq = empty_buffer(
                cache["workspace"], f"{self.name}.d_states", states.shape, params.dtype
            )
            for s, d in enumerate(d_sequences):
                d_state_seq[slot[s], : lengths[s]] = d[::-1] if self.reverse[s] else d
        # Units whose last step is t get the gradient of their final state injected there.
        ends_at = {}
        if d_last is not None:
            for s in range(n_units):
                ends_at.setdefault(int(lengths[s]) - 1, []).append(s)

        recurrent_t = np.ascontiguousarray(params[f"{self.name}.U"][order].transpose(0, 2, 1))
        _backward_steps(cache, recurrent_t, d_state_seq, d_last, ends_at)
        return self._weight_gradients(params, grads, cache, input_grads)

    def _weight_gradients(self, params, grads, cache, input_grads):
        """Parameter gradients from the gate gradients left in the cache; input gradients."""
        hidden = self.hidden_size
        n_gates = 4 * hidden
        dtype = params.dtype
        gates, states, ws = cache["gates"], cache["states"], cache["workspace"]
        lengths, slot = cache["lengths"], cache["slot"]
        batch = gates.shape[2]
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
                dx = empty_buffer(ws, f"{self.name}.d_input{s}", x2.shape, dtype)
                np.dot(d_gates, params[f"{self.name}.W{s}"].T, out=dx)
                dx = dx.reshape(n, batch, -1)
                d_inputs.append(dx[::-1] if self.reverse[s] else dx)
        return d_inputs


def _schedule(lengths):
    """Processing order of units of the given lengths: ``order``, ``slot`` and ``active``.

    Slot p holds unit order[p]; longest first, so the units still running at step t are the
    leading ``active[t]`` slots and every per-step operation is one call on a slice.
    """
    order = np.argsort(-lengths, kind="stable")
    slot = np.empty_like(order)
    slot[order] = np.arange(len(order))
    n_steps = int(lengths.max())
    active = (lengths[order][None, :] > np.arange(n_steps)[:, None]).sum(axis=1)
    return order, slot, active


def _forward_steps(gates, recurrent, states, cells, tanh_cells, active):
    """The forward time loop: fill ``states``, ``cells`` and ``tanh_cells`` step by step.

    ``gates`` holds the input projections (sigmoid gates' halved) and receives the gate
    activations; ``recurrent`` is the halved recurrent weights in slot order.
    """
    n_units, n_steps, batch, n_gates = gates.shape
    hidden = n_gates // 4
    dtype = gates.dtype
    step_gates = np.empty((n_units, batch, n_gates), dtype=dtype)
    step_hidden = np.empty((n_units, batch, hidden), dtype=dtype)
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


def _backward_steps(cache, recurrent_t, d_state_seq, d_last, ends_at):
    """The backward time loop: overwrite the cache's gate activations with gate gradients.

    ``recurrent_t`` is the transposed recurrent weights in slot order; ``d_state_seq`` the
    output-state gradients in slot order (or None); ``ends_at`` maps a step to the units
    whose final state (gradient in ``d_last``) it is.
    """
    gates, cells, tanh_cells = cache["gates"], cache["cells"], cache["tanh_cells"]
    active, slot = cache["active"], cache["slot"]
    n_units, n_steps, batch, n_gates = gates.shape
    hidden = n_gates // 4
    dtype = gates.dtype
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
