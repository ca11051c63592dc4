"""The challenge baseline workflow: recordings -> 4 s sequence windows -> BiLSTM -> frame labels.

Each window hands every modality to the network at its native rate, taken from the 100 fps
aligned grid with a stride (audio every frame, face and eyes every 2nd, Kinect every 7th).
Missing values become zeros, as in the challenge baseline (after the estimator's clipping
and standardisation, see :class:`~emo_gbm.baseline.bilstm.BiLSTMClassifier`). Training uses non-overlapping windows; prediction
may use overlapping ones, whose posteriors are averaged on every frame they cover.
"""

from typing import Dict, NamedTuple

import numpy as np

from emo_gbm.baseline.bilstm import BiLSTMClassifier
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


def _resolve_strides(strides, modalities):
    strides = dict(DEFAULT_STRIDES if strides is None else strides)
    missing = [m for m in modalities if m not in strides]
    if missing:
        raise ValueError(f"no stride given for modalities {missing}")
    for m in modalities:
        if int(strides[m]) < 1:
            raise ValueError(f"the stride of {m!r} must be a positive integer, got {strides[m]!r}")
    return {m: int(strides[m]) for m in modalities}


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
    recordings, length=400, hop=400, strides=None, modalities=MODALITIES, missing_value=0.0
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
    strides : dict of str to int, optional
        Sampling step of each modality on the frame grid; default :data:`DEFAULT_STRIDES`
        (audio 1, face_nn 2, eyes 2, kinect 7).
    modalities : sequence of str, default=MODALITIES
    missing_value : float, default=0.0
        Value of missing cells (NaN keeps them marked as missing).

    Returns
    -------
    BaselineWindows

    Examples
    --------
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
    strides = _resolve_strides(strides, modalities)
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
            X[m][row:end] = block
        stops = np.minimum(rec_starts + length, n)
        labels[row:end], weights[row:end] = _window_labels(rec, rec_starts, stops)
        recording_index[row:end] = i
        row = end
    start = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
    return BaselineWindows(X, labels, weights, recording_index, start)


def baseline_folder(modalities):
    """Name of the build sub-folder of a baseline trained on ``modalities``.

    Examples
    --------
    >>> baseline_folder(MODALITIES), baseline_folder(["eyes"]), baseline_folder(["kinect", "audio"])
    ('baseline', 'baseline_only_eyes', 'baseline_audio_kinect')
    """
    chosen = [m for m in MODALITIES if m in set(modalities)]
    if chosen == list(MODALITIES):
        return "baseline"
    if len(chosen) == 1:
        return f"baseline_only_{chosen[0]}"
    return "baseline_" + "_".join(chosen)


def _recording_group(recording):
    # The GBM pipeline's convention: subject-independent when the actor is known.
    actor = recording.meta.get("actor") if recording.meta else None
    return str(actor) if actor is not None else recording.rec_id


def train_baseline(
    recordings,
    hidden_size=200,
    modalities=MODALITIES,
    random_state=0,
    *,
    length=400,
    hop=400,
    strides=None,
    dense_size=100,
    dense_activation="relu",
    learning_rate=0.001,
    rho=0.9,
    epsilon=1e-7,
    batch_size=64,
    max_epochs=30,
    patience=5,
    validation_fraction=0.1,
    n_jobs=1,
    verbose=0,
):
    """Train the challenge baseline on labelled recordings.

    Windows are labelled by their agreement-weighted majority and weighted by their mean
    agreement; early stopping holds out whole actors (from ``meta``) or, without them,
    whole recordings.

    Parameters
    ----------
    recordings : list of Recording
        Every recording needs labels.
    hidden_size : int, default=200
        Width of each bidirectional layer (both directions; 100 cells each by default).
    modalities : sequence of str, default=MODALITIES
        Branches of the network; ``("audio",)`` gives the single-modality baseline.
    random_state : int, default=0
    length, hop : int, default=400
        Window length and hop in frames.
    strides : dict of str to int, optional
        See :func:`windows_from_recordings`.
    dense_size, dense_activation, learning_rate, rho, epsilon, batch_size : optional
        See :class:`~emo_gbm.baseline.bilstm.BiLSTMClassifier`.
    max_epochs, patience, validation_fraction, n_jobs, verbose : optional
        See :class:`~emo_gbm.baseline.bilstm.BiLSTMClassifier`. ``n_jobs=2`` runs the modality
        branches on two threads (same model, about 1.6 times faster on two cores).

    Returns
    -------
    BiLSTMClassifier
        Fitted; ``predict_baseline`` turns it into frame labels.

    Examples
    --------
    >>> from emo_gbm.data.recording import Recording
    >>> rng = np.random.RandomState(0)
    >>> recs = []
    >>> for i in range(12):
    ...     label = i % 2
    ...     rec = Recording.empty(f"id{i:08x}", np.arange(800) / 100,
    ...                           labels=np.full(800, label, dtype=np.int8))
    ...     rec.streams["audio"][:] = rng.standard_normal((800, 36)) + 2 * label
    ...     rec.present["audio"][:] = True
    ...     recs.append(rec)
    >>> model = train_baseline(recs, hidden_size=8, modalities=("audio",), dense_size=8,
    ...                        learning_rate=0.01, max_epochs=10, validation_fraction=0)
    >>> frame_labels = predict_baseline(model, recs[:2])
    >>> [float(np.mean(frame_labels[r.rec_id] == r.labels)) for r in recs[:2]]
    [1.0, 1.0]
    """
    unlabelled = [r.rec_id for r in recordings if r.labels is None]
    if unlabelled:
        raise ValueError(f"training needs labels; these recordings have none: {unlabelled[:5]}")
    if not recordings:
        raise ValueError("no recordings to train on")
    modalities = tuple(modalities)
    windows = windows_from_recordings(
        recordings, length, hop, strides, modalities, missing_value=np.nan
    )
    groups = np.array([_recording_group(r) for r in recordings])[windows.recording]
    keep = windows.weights > 0
    X, labels, weights = windows.X, windows.labels, windows.weights
    if not keep.all():
        X = {m: x[keep] for m, x in X.items()}
        labels, weights, groups = labels[keep], weights[keep], groups[keep]
    model = BiLSTMClassifier(
        modalities=modalities,
        hidden_size=hidden_size,
        dense_size=dense_size,
        dense_activation=dense_activation,
        learning_rate=learning_rate,
        rho=rho,
        epsilon=epsilon,
        batch_size=batch_size,
        max_epochs=max_epochs,
        patience=patience,
        validation_fraction=validation_fraction,
        random_state=random_state,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    return model.fit(X, labels, sample_weight=weights, groups=groups)


def average_window_posteriors(starts, length, posteriors, n_frames):
    """Frame posteriors as the mean of the posteriors of every window covering the frame.

    Parameters
    ----------
    starts : ndarray of shape (n_windows,)
        First frame of each window.
    length : int
        Window length; windows are clipped to the recording.
    posteriors : ndarray of shape (n_windows, n_classes)
    n_frames : int

    Returns
    -------
    ndarray of shape (n_frames, n_classes), float64
        NaN on frames no window covers.

    Examples
    --------
    >>> p = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> average_window_posteriors(np.array([0, 2]), 4, p, 6).tolist()
    [[1.0, 0.0], [1.0, 0.0], [0.5, 0.5], [0.5, 0.5], [0.0, 1.0], [0.0, 1.0]]
    """
    starts = np.asarray(starts, dtype=np.int64)
    posteriors = np.asarray(posteriors, dtype=np.float64)
    stops = np.minimum(starts + length, n_frames)
    # Difference arrays: +p at a window's start, -p at its stop, then one cumulative sum.
    total = np.zeros((n_frames + 1, posteriors.shape[1]))
    count = np.zeros(n_frames + 1)
    np.add.at(total, starts, posteriors)
    np.add.at(total, stops, -posteriors)
    np.add.at(count, starts, 1.0)
    np.add.at(count, stops, -1.0)
    total = np.cumsum(total, axis=0)[:n_frames]
    count = np.cumsum(count)[:n_frames]
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / np.where(count > 0, count, np.nan)[:, None]


def predict_baseline_proba(model, recordings, hop=100, length=400, strides=None, max_windows=1024):
    """Frame posteriors of every recording from a fitted baseline.

    Parameters
    ----------
    model : BiLSTMClassifier
        From :func:`train_baseline` (or fitted on :func:`windows_from_recordings` output).
    recordings : list of Recording
    hop : int, default=100
        Step between prediction windows; overlapping windows' posteriors are averaged.
    length : int, default=400
        Window length; with ``strides`` it must give the step counts the model was
        trained on.
    strides : dict of str to int, optional
        See :func:`windows_from_recordings`.
    max_windows : int, default=1024
        Windows built at a time, to bound memory.

    Returns
    -------
    dict of str to ndarray of shape (n_frames, n_classes), float32
        Columns follow ``model.classes_``.

    Examples
    --------
    See :func:`train_baseline`.
    """
    modalities = model.modalities_
    steps = {m: len(range(0, length, s)) for m, s in _resolve_strides(strides, modalities).items()}
    for m in modalities:
        if steps[m] != model.input_shapes_[m][0]:
            raise ValueError(
                f"windows of length {length} give {steps[m]} steps of {m}, the model was "
                f"trained on {model.input_shapes_[m][0]}; pass the training length and strides"
            )
    result = {}
    chunk = []
    chunk_windows = 0

    def flush():
        windows = windows_from_recordings(chunk, length, hop, strides, modalities, np.nan)
        proba = model.predict_proba(windows.X)
        for i, rec in enumerate(chunk):
            rows = windows.recording == i
            frame = average_window_posteriors(
                windows.start[rows], length, proba[rows], rec.n_frames
            )
            result[rec.rec_id] = frame.astype(np.float32)

    for rec in recordings:
        chunk.append(rec)
        chunk_windows += len(window_starts(rec.n_frames, length, hop))
        if chunk_windows >= max_windows:
            flush()
            chunk, chunk_windows = [], 0
    if chunk:
        flush()
    return result


def predict_baseline(model, recordings, hop=100, length=400, strides=None):
    """Frame labels of every recording from a fitted baseline.

    Every frame gets a label, also in recordings where no modality is present (the model
    then sees all-missing windows).

    Parameters
    ----------
    model : BiLSTMClassifier
    recordings : list of Recording
    hop, length, strides
        See :func:`predict_baseline_proba`.

    Returns
    -------
    dict of str to ndarray of shape (n_frames,), int8
        Class index per frame (order of :data:`~emo_gbm.constants.EMOTIONS`).

    Examples
    --------
    See :func:`train_baseline`.
    """
    classes = np.asarray(model.classes_)
    return {
        rec_id: classes[frame.argmax(axis=1)].astype(np.int8)
        for rec_id, frame in predict_baseline_proba(model, recordings, hop, length, strides).items()
    }
