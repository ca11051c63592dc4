"""The challenge baseline on a dataset: labelled recordings -> trained BiLSTM -> frame labels.

Training uses non-overlapping windows (:func:`~emo_gbm.baseline.windows_from_recordings`);
missing values become zeros, as in the challenge baseline (after the estimator's clipping
and standardisation, see :class:`~emo_gbm.baseline.BiLSTMClassifier`). Prediction may use
overlapping windows, whose posteriors are averaged on every frame they cover.
"""

import numpy as np

from emo_gbm.baseline._classifier import BiLSTMClassifier
from emo_gbm.baseline._sequences import modality_strides, windows_from_recordings
from emo_gbm.constants import MODALITIES
from emo_gbm.features import window_starts


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


def _training_windows(recordings, modalities):
    """Windows of positive weight: inputs (NaN where missing), labels, weights, groups."""
    windows = windows_from_recordings(recordings, modalities=modalities, missing_value=np.nan)
    groups = np.array([_recording_group(r) for r in recordings])[windows.recording]
    keep = windows.weights > 0
    X, labels, weights = windows.X, windows.labels, windows.weights
    if not keep.all():
        X = {m: x[keep] for m, x in X.items()}
        labels, weights, groups = labels[keep], weights[keep], groups[keep]
    return X, labels, weights, groups


def train_baseline(
    recordings,
    hidden_size=200,
    modalities=MODALITIES,
    random_state=0,
    *,
    dense_size=100,
    learning_rate=0.001,
    max_epochs=30,
    patience=5,
    validation_fraction=0.1,
    n_jobs=1,
    verbose=0,
):
    """Train the challenge baseline on labelled recordings.

    Non-overlapping 4 s windows (:func:`windows_from_recordings`) are labelled by their
    agreement-weighted majority and weighted by their mean agreement; early stopping holds
    out whole actors (from ``meta``) or, without them, whole recordings.

    Parameters
    ----------
    recordings : list of Recording
        Every recording needs labels.
    hidden_size : int, default=200
        Width of each bidirectional layer (both directions; 100 cells each by default).
    modalities : sequence of str, default=MODALITIES
        Branches of the network; ``("audio",)`` gives the single-modality baseline.
    random_state : int, default=0
    dense_size, learning_rate, max_epochs, patience, validation_fraction, n_jobs, verbose
        See :class:`~emo_gbm.baseline.BiLSTMClassifier`. ``n_jobs=2`` runs the modality
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
    X, labels, weights, groups = _training_windows(recordings, modalities)
    model = BiLSTMClassifier(
        modalities=modalities,
        hidden_size=hidden_size,
        dense_size=dense_size,
        learning_rate=learning_rate,
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


def predict_baseline_proba(model, recordings, hop=100, length=400, max_windows=1024):
    """Frame posteriors of every recording from a fitted baseline.

    Parameters
    ----------
    model : BiLSTMClassifier
        From :func:`train_baseline` (or fitted on :func:`windows_from_recordings` output).
    recordings : list of Recording
    hop : int, default=100
        Step between prediction windows; overlapping windows' posteriors are averaged.
    length : int, default=400
        Window length; it must give the step counts the model was trained on.
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
    steps = {m: len(range(0, length, s)) for m, s in modality_strides(modalities).items()}
    for m in modalities:
        if steps[m] != model.input_shapes_[m][0]:
            raise ValueError(
                f"windows of length {length} give {steps[m]} steps of {m}, the model was "
                f"trained on {model.input_shapes_[m][0]}; pass the training length"
            )
    result = {}
    chunk = []
    chunk_windows = 0

    def flush():
        windows = windows_from_recordings(chunk, length, hop, modalities, np.nan)
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


def predict_baseline(model, recordings, length=400):
    """Frame labels of every recording from a fitted baseline.

    Every frame gets a label, also in recordings where no modality is present (the model
    then sees all-missing windows). Windows overlap (hop 1 s), see
    :func:`predict_baseline_proba`.

    Parameters
    ----------
    model : BiLSTMClassifier
    recordings : list of Recording
    length : int, default=400
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
        for rec_id, frame in predict_baseline_proba(model, recordings, length=length).items()
    }
