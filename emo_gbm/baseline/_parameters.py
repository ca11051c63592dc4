"""Parameter storage and scratch memory of the NumPy network.

:class:`ParameterSet` keeps every tensor as a view into one flat vector (the optimiser's
view of the network); :class:`Workspace` keeps activation buffers from one batch to the
next. The Keras initialisers live here too.
"""

import numpy as np


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
        """Data type of every tensor."""
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


def glorot_uniform(rng, n_in, n_out):
    """Keras' Glorot-uniform initialiser: a (n_in, n_out) matrix."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def orthogonal(rng, n_rows, n_cols):
    """Keras' orthogonal initialiser: a (n_rows, n_cols) matrix."""
    # QR of a Gaussian matrix, signs fixed by diag(R).
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


def empty_buffer(workspace, key, shape, dtype):
    """An uninitialised array, from ``workspace`` under ``key`` when one is given."""
    if workspace is None:
        return np.empty(shape, dtype=dtype)
    return workspace.empty(key, shape, dtype)
