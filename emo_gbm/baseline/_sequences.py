"""Sequence windows for the BiLSTM baseline: recordings -> 4 s windows of every modality.

Each window hands every modality to the network at its native rate, taken from the 100 fps
aligned grid with a stride (audio every frame, face and eyes every 2nd, Kinect every 7th).
Windows are labelled by the agreement-weighted majority of their frames.
"""

from typing import Dict, NamedTuple

import numpy as np

from emo_gbm.constants import EMOTIONS, FRAME_RATE, MODALITIES, N_FEATURES, RATES
from emo_gbm.features import window_starts

#: Step (in 100 fps frames) at which each modality is sampled: its native rate.
DEFAULT_STRIDES = {m: max(1, int(round(FRAME_RATE / RATES[m]))) for m in MODALITIES}

#: Breaks ties of agreement mass in favour of the class with more frames.
_COUNT_TIE_BREAK = 1e-6


class BaselineWindows(NamedTuple):
    """Sequence windows of a list of recordings.

    Attributes
    ----------
    X : dict of str to ndarray of shape (n_windows, n_steps, n_features), float32
        One array per modality; ``n_steps = ceil(length / stride)``.
    labels : ndarray of shape (n_windows,), int8
        Agreement-weighted majority class of the window's frames; -1 for recordings
        without labels.
    weights : ndarray of shape (n_windows,), float32
        Mean annotator agreement over the window's frames (1 where agreement is unknown,
        0 for recordings without labels).
    recording : ndarray of shape (n_windows,), int64
        Index of the window's recording in the input list.
    start : ndarray of shape (n_windows,), int64
        First frame of the window.
    """

    X: Dict[str, np.ndarray]
    labels: np.ndarray
    weights: np.ndarray
    recording: np.ndarray
    start: np.ndarray


def modality_strides(modalities):
    """The stride of every modality, from :data:`DEFAULT_STRIDES`."""
    missing = [m for m in modalities if m not in DEFAULT_STRIDES]
    if missing:
        raise ValueError(f"no stride given for modalities {missing}")
    return {m: DEFAULT_STRIDES[m] for m in modalities}


def _window_labels(recording, starts, stops):
    n_windows = len(starts)
    if recording.labels is None:
        return np.full(n_windows, -1, dtype=np.int8), np.zeros(n_windows, dtype=np.float32)
    labels = np.asarray(recording.labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(EMOTIONS)):
        raise ValueError(
            f"{recording.rec_id}: frame labels must lie in 0..{len(EMOTIONS) - 1}"
        )
    n = len(labels)
    agreement = (
        np.ones(n) if recording.agreement is None
        else np.asarray(recording.agreement, dtype=np.float64)
    )
    mass = np.zeros((n + 1, len(EMOTIONS)))
    mass[np.arange(1, n + 1), labels] = agreement + _COUNT_TIE_BREAK
    np.cumsum(mass, axis=0, out=mass)
    total = np.concatenate([[0.0], np.cumsum(agreement)])
    window_labels = (mass[stops] - mass[starts]).argmax(axis=1).astype(np.int8)
    covered = np.maximum(stops - starts, 1)
    weights = ((total[stops] - total[starts]) / covered).astype(np.float32)
    return window_labels, weights


def windows_from_recordings(
    recordings, length=400, hop=400, modalities=MODALITIES, missing_value=0.0
):
    """Cut recordings into fixed-length sequence windows for the BiLSTM baseline.

    Window positions come from :func:`~emo_gbm.features.window_starts`, so the baseline and
    the GBM pipeline window alike. A recording shorter than ``length`` gets one window
    padded with missing frames.

    Parameters
    ----------
    recordings : list of Recording
    length : int, default=400
        Window length in 100 fps frames (400 = 4 s).
    hop : int, default=400
        Step between window starts (``length`` for non-overlapping windows).
    modalities : sequence of str, default=MODALITIES
        Each is sampled at its stride in :data:`DEFAULT_STRIDES` (audio 1, face_nn 2,
        eyes 2, kinect 7).
    missing_value : float, default=0.0
        Value of missing cells (NaN keeps them marked as missing).

    Returns
    -------
    BaselineWindows

    Examples
    --------
    >>> import numpy as np
    >>> from emo_gbm.data.recording import Recording
    >>> rec = Recording.empty("id00000001", np.arange(1000) / 100,
    ...                       labels=np.zeros(1000, dtype=np.int8))
    >>> w = windows_from_recordings([rec], length=400, hop=400)
    >>> {m: x.shape for m, x in w.X.items()}
    {'audio': (3, 400, 36), 'face_nn': (3, 200, 100), 'eyes': (3, 200, 6), 'kinect': (3, 58, 27)}
    >>> w.start.tolist(), w.labels.tolist(), float(w.X["audio"].max())
    ([0, 400, 600], [0, 0, 0], 0.0)
    """
    modalities = tuple(modalities)
    strides = modality_strides(modalities)
    offsets = {m: np.arange(0, length, strides[m]) for m in modalities}
    starts = [window_starts(r.n_frames, length, hop) for r in recordings]
    n_windows = sum(len(s) for s in starts)
    X = {
        m: np.empty((n_windows, len(offsets[m]), N_FEATURES[m]), dtype=np.float32)
        for m in modalities
    }
    labels = np.empty(n_windows, dtype=np.int8)
    weights = np.empty(n_windows, dtype=np.float32)
    recording_index = np.empty(n_windows, dtype=np.int64)
    row = 0
    for i, (rec, rec_starts) in enumerate(zip(recordings, starts)):
        n = rec.n_frames
        end = row + len(rec_starts)
        for m in modalities:
            frames = rec_starts[:, None] + offsets[m][None, :]
            X[m][row:end] = _modality_block(rec, m, frames, missing_value)
        stops = np.minimum(rec_starts + length, n)
        labels[row:end], weights[row:end] = _window_labels(rec, rec_starts, stops)
        recording_index[row:end] = i
        row = end
    start = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
    return BaselineWindows(X, labels, weights, recording_index, start)


def _modality_block(rec, m, frames, missing_value):
    """Features of modality ``m`` at the frame indices ``frames`` (n_windows, n_steps);
    frames beyond the recording are missing."""
    n = rec.n_frames
    if m in rec.streams:
        stream = np.asarray(rec.streams[m], dtype=np.float32)
    else:  # the recording's split has no folder of this modality
        stream = np.full((n, N_FEATURES[m]), np.nan, dtype=np.float32)
    if stream.shape[1] != N_FEATURES[m]:
        raise ValueError(
            f"{rec.rec_id}: {m} has {stream.shape[1]} features, expected {N_FEATURES[m]}"
        )
    if n:
        block = stream[np.minimum(frames, n - 1)]
        block[frames >= n] = np.nan
    else:
        block = np.full(frames.shape + (N_FEATURES[m],), np.nan, dtype=np.float32)
    if not np.isnan(missing_value):
        block[np.isnan(block)] = missing_value
    return block
