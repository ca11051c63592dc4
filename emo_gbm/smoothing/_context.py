"""The context model's inputs: a frame's log-posteriors and those of frames either side."""

import numpy as np
from joblib import Parallel, delayed
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emo_gbm.constants import N_CLASSES
from emo_gbm.metrics import scored_frames
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


def fit_context_model(X, y, weight, C):
    """The context model: standardised multinomial logistic regression on the scored frames
    (every frame when none is scored); the class prior when they hold a single class."""
    if not weight.any():
        weight = np.ones_like(weight)
    if np.unique(y[weight > 0]).size < 2:
        return DummyClassifier(strategy="prior").fit(X, y, sample_weight=weight)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
    return model.fit(X, y, logisticregression__sample_weight=weight)


def context_proba(model, frame_proba, offsets):
    """Posteriors of a context model for every frame of a recording, one column per class."""
    proba = np.zeros((frame_proba.shape[0], N_CLASSES))
    proba[:, model.classes_] = model.predict_proba(frame_context_features(frame_proba, offsets))
    return proba


def fit_context_out_of_fold(frame_proba, frames, offsets, stride, C, cv, n_jobs=1):
    """The context model on every ``stride``-th frame of all recordings, and its out-of-fold labels.

    Parameters
    ----------
    frame_proba : dict of str to ndarray of shape (n_frames, n_classes)
        Overlap-added posteriors of each recording.
    frames : dict of str to (ndarray, ndarray)
        Frame labels and agreements of each recording.
    offsets : sequence of int
    stride : int
    C : float
    cv : int
        Folds grouped by recording for the out-of-fold labels.
    n_jobs : int, default=1
        The fit on all recordings and the folds' fits run in parallel.

    Returns
    -------
    model : Pipeline or DummyClassifier
        Fitted on every recording.
    predicted : dict of str to ndarray of int
        Frame labels of each recording by the model of the fold that held it out (with a
        single recording: in-sample, by ``model``).
    """
    recordings = list(frame_proba)
    rows = {r: np.arange(0, frame_proba[r].shape[0], stride) for r in recordings}
    features = {r: frame_context_features(frame_proba[r], offsets, rows[r]) for r in recordings}
    labels = {r: frames[r][0][rows[r]] for r in recordings}
    scored = {r: scored_frames(frames[r][1][rows[r]]).astype(np.float64) for r in recordings}

    def fit_on(subset):
        return delayed(fit_context_model)(
            np.vstack([features[r] for r in subset]), np.concatenate([labels[r] for r in subset]),
            np.concatenate([scored[r] for r in subset]), C,
        )

    folds = []
    if len(recordings) >= 2:
        folds = list(GroupKFold(min(cv, len(recordings))).split(recordings, groups=np.arange(len(recordings))))
    models = Parallel(n_jobs=n_jobs)(
        [fit_on(recordings)] + [fit_on([recordings[i] for i in fit_index]) for fit_index, _ in folds]
    )
    if not folds:
        return models[0], {r: context_proba(models[0], p, offsets).argmax(axis=1) for r, p in frame_proba.items()}
    predicted = {}
    for model, (_, held_index) in zip(models[1:], folds):
        for i in held_index:
            predicted[recordings[i]] = context_proba(model, frame_proba[recordings[i]], offsets).argmax(axis=1)
    return models[0], predicted
