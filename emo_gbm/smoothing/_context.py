"""The context model's inputs: a frame's log-posteriors and those of frames either side."""

import numpy as np

from emo_gbm.smoothing._constants import PROBA_FLOOR


def frame_context_features(frame_proba, offsets, rows=None):
    """Log-posteriors of each frame and of the frames ``offsets`` before and after it.

    On the frame grid a neighbour is an index shift, clamped at the ends, so only the wanted
    rows are looked up.
    recording at ``-offset`` and ``+offset``, whose sorted search for windows at arbitrary
    positions would read every frame to keep one in 20 when fitting.

    Parameters
    ----------
    frame_proba : ndarray of shape (n_frames, n_classes)
    offsets : sequence of int
        Positive frame distances; a frame beyond either end of the recording reads the
        first or last frame.
    rows : ndarray of int, optional
        The frames wanted (default: all).

    Returns
    -------
    features : ndarray of shape (n_rows, n_classes * (1 + 2 * len(offsets))), float64
        Blocks of ``n_classes`` columns: the frame itself, then for each offset the frame
        that far before and the one that far after.

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])
    >>> np.exp(frame_context_features(proba, [1], rows=np.array([0]))).round(6).tolist()
    [[0.5, 0.5, 0.5, 0.5, 1.0, 1e-06]]
    """
    log_proba = np.log(np.maximum(np.asarray(frame_proba, dtype=np.float64), PROBA_FLOOR))
    n_frames = log_proba.shape[0]
    rows = np.arange(n_frames) if rows is None else np.asarray(rows, dtype=np.int64)
    shifts = [0] + [sign * int(o) for o in offsets for sign in (-1, 1)]
    return np.hstack([log_proba[np.clip(rows + shift, 0, n_frames - 1)] for shift in shifts])
