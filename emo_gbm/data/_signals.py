"""Random signal building blocks of the generator: seeded streams, AR(1) noise, smoothing, run masks."""

import numpy as np
from scipy.signal import lfilter

from emo_gbm.constants import FRAME_RATE


def _rng(*key):
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in key]))


def _ar1(rng, n, timescales, rate=FRAME_RATE):
    """Unit-variance stationary AR(1) columns with the given time constants (seconds)."""
    timescales = np.atleast_1d(np.asarray(timescales, dtype=np.float64))
    out = rng.standard_normal((n, timescales.size))
    for tau in np.unique(timescales):
        columns = timescales == tau
        rho = np.exp(-1.0 / (tau * rate))
        gain = np.sqrt(1.0 - rho * rho)
        block = out[:, columns]
        block[0] /= gain  # start in the stationary distribution
        out[:, columns] = lfilter([gain], [1.0, -rho], block, axis=0)
    return out


def _smooth(x, tau):
    """Zero-phase one-pole low-pass along axis 0 (forward then backward pass) of a frame-rate signal."""
    alpha = 1.0 - np.exp(-1.0 / (tau * FRAME_RATE))
    b, a = [alpha], [1.0, alpha - 1.0]
    y = lfilter(b, a, x, axis=0, zi=(1.0 - alpha) * x[:1])[0]
    y = lfilter(b, a, y[::-1], axis=0, zi=(1.0 - alpha) * y[-1:])[0]
    return y[::-1]


def _runs_mask(n, onsets, lengths):
    """Boolean mask of the frames covered by runs starting at ``onsets``."""
    edges = np.zeros(n + 1, dtype=np.int64)
    np.add.at(edges, np.clip(onsets, 0, n), 1)
    np.add.at(edges, np.clip(onsets + lengths, 0, n), -1)
    return np.cumsum(edges[:-1]) > 0


def _poisson_runs(rng, n, rate, median_seconds, sigma, bounds):
    """Mask of random runs (events per second ``rate``, log-normal lengths)."""
    onsets = np.flatnonzero(rng.random(n) < rate / FRAME_RATE)
    seconds = np.clip(rng.lognormal(np.log(median_seconds), sigma, onsets.size), *bounds)
    return _runs_mask(n, onsets, np.round(seconds * FRAME_RATE).astype(np.int64))


def _alternating_mask(rng, n, on_median, off_median, sigma):
    """Alternating on/off runs with log-normal lengths (seconds); returns the 'on' mask."""
    state = rng.random() < on_median / (on_median + off_median)
    mask = np.zeros(n, dtype=bool)
    pos = -int(rng.random() * on_median * FRAME_RATE)  # start inside a run
    while pos < n:
        length = int(rng.lognormal(np.log(on_median if state else off_median), sigma) * FRAME_RATE) + 1
        if state:
            mask[max(pos, 0) : pos + length] = True
        pos += length
        state = not state
    return mask
