"""The optimiser of the baseline: RMSprop as Keras implements it."""

import numpy as np


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

