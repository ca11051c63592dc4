"""Overlap-add of window posteriors onto the frame grid, and the nearest-window labels."""

import numpy as np
import pandas as pd

from emo_gbm.constants import N_CLASSES
from emo_gbm.smoothing._constants import PROBA_FLOOR, TAPERS


def taper_weights(length, taper):
    """Weight of each frame of a window of ``length`` frames in overlap-add.

    Parameters
    ----------
    length : int
    taper : {"flat", "triangular", "hann"}
        Tapered weights are positive everywhere, largest at the centre.

    Returns
    -------
    weights : ndarray of shape (length,), float64

    Examples
    --------
    >>> taper_weights(3, "triangular").tolist()
    [0.5, 1.0, 0.5]
    >>> taper_weights(2, "flat").tolist()
    [1.0, 1.0]
    """
    if taper == "flat":
        return np.ones(length)
    if taper == "triangular":
        return np.bartlett(length + 2)[1:-1]
    if taper == "hann":
        return np.hanning(length + 2)[1:-1]
    raise ValueError(f"unknown taper {taper!r}; known: {TAPERS}")


def sharpen(window_proba, power):
    """Window posteriors raised to ``power`` and renormalised (a temperature of ``1 / power``).

    Each window keeps its argmax, but the overlap-added average changes: above 1 it moves
    towards a vote of the windows' labels, so one confidently wrong window no longer
    outweighs several hesitant right ones; towards 0 it approaches the mean of the
    log-posteriors, where one confident window can veto a class.

    Parameters
    ----------
    window_proba : ndarray of shape (n_windows, n_classes)
    power : float
        Positive; 1 returns the posteriors unchanged.

    Returns
    -------
    sharpened : ndarray of shape (n_windows, n_classes), float64
        Rows sum to 1.

    Examples
    --------
    >>> import numpy as np
    >>> sharpen(np.array([[0.6, 0.2, 0.2]]), 2.0).round(3).tolist()
    [[0.818, 0.091, 0.091]]
    """
    window_proba = np.asarray(window_proba, dtype=np.float64)
    if power == 1.0:
        return window_proba
    powered = np.maximum(window_proba, PROBA_FLOOR) ** power
    return powered / powered.sum(axis=1, keepdims=True)


def overlap_add(window_proba, starts, stops, n_frames, taper="flat"):
    """Per-frame posteriors: the weighted mean of the posteriors of the windows covering each frame.

    Parameters
    ----------
    window_proba : ndarray of shape (n_windows, n_classes)
    starts, stops : ndarray of shape (n_windows,), int
        Frames ``[start, stop)`` of each window; all windows of a recording have the same
        length except that none extends past ``n_frames``.
    n_frames : int
    taper : {"flat", "triangular", "hann"}, default="flat"

    Returns
    -------
    frame_proba : ndarray of shape (n_frames, n_classes), float64
        Frames no window covers get the uniform distribution.

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> overlap_add(proba, np.array([0, 2]), np.array([4, 6]), 6).tolist()
    [[1.0, 0.0], [1.0, 0.0], [0.5, 0.5], [0.5, 0.5], [0.0, 1.0], [0.0, 1.0]]
    """
    window_proba = np.asarray(window_proba, dtype=np.float64)
    starts = np.asarray(starts, dtype=np.int64)
    stops = np.asarray(stops, dtype=np.int64)
    n_classes = window_proba.shape[1]
    if starts.size == 0:
        return np.full((n_frames, n_classes), 1.0 / n_classes)
    length = int((stops - starts).max())
    offsets = np.arange(length)
    frames = starts[:, None] + offsets
    inside = frames < stops[:, None]
    weights = np.broadcast_to(taper_weights(length, taper), frames.shape)[inside]
    frames = frames[inside]
    window_of = np.broadcast_to(np.arange(starts.size)[:, None], inside.shape)[inside]
    total = np.bincount(frames, weights=weights, minlength=n_frames)
    frame_proba = np.column_stack(
        [np.bincount(frames, weights=weights * window_proba[window_of, k], minlength=n_frames) for k in range(n_classes)]
    )
    covered = total > 0
    frame_proba[covered] /= total[covered, None]
    frame_proba[~covered] = 1.0 / n_classes
    return frame_proba[:n_frames]


def nearest_window_labels(window_labels, starts, stops, n_frames):
    """Label of each frame from the window whose centre is nearest (ties: the earlier one).

    Examples
    --------
    >>> import numpy as np
    >>> nearest_window_labels(np.array([2, 5]), np.array([0, 2]), np.array([4, 6]), 6).tolist()
    [2, 2, 2, 5, 5, 5]
    """
    centres = (np.asarray(starts) + np.asarray(stops)) / 2.0
    order = np.argsort(centres, kind="stable")
    centres = centres[order]
    frame_centres = np.arange(n_frames) + 0.5
    right = np.clip(np.searchsorted(centres, frame_centres), 0, centres.size - 1)
    left = np.clip(right - 1, 0, centres.size - 1)
    use_left = np.abs(frame_centres - centres[left]) <= np.abs(centres[right] - frame_centres)
    return np.asarray(window_labels)[order][np.where(use_left, left, right)]


def group_windows(windows, window_proba):
    """Per recording: (starts, stops, posteriors), in order of first appearance."""
    rec_ids = windows["rec_id"].to_numpy()
    starts = windows["start"].to_numpy(dtype=np.int64)
    stops = windows["stop"].to_numpy(dtype=np.int64)
    window_proba = np.asarray(window_proba, dtype=np.float64)
    if window_proba.shape != (len(windows), N_CLASSES):
        raise ValueError(f"window_proba must have shape ({len(windows)}, {N_CLASSES}), got {window_proba.shape}")
    codes, uniques = pd.factorize(rec_ids)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(uniques.size + 1))
    return {
        rec_id: (starts[order[a:b]], stops[order[a:b]], window_proba[order[a:b]])
        for rec_id, a, b in zip(uniques, bounds[:-1], bounds[1:])
    }
