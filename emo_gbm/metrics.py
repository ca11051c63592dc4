"""The challenge metric: accuracy over frames whose annotator agreement is above 0.6.

``WA`` pools all scored frames (correct / scored, the challenge's headline accuracy);
``UA`` is the mean, over the classes present among the scored frames, of per-class recall.
"""

import numpy as np

from emo_gbm.constants import AGREEMENT_THRESHOLD, EMOTIONS, N_CLASSES



def scored_frames(agreement, threshold=AGREEMENT_THRESHOLD):
    """Mask of the frames the metric scores: agreement strictly above ``threshold``.

    The comparison is made at the precision the agreement is stored in. A score of 0.6 read
    into float32 is 0.60000002, above 0.6 in float64, yet the file said 0.6: comparing it with
    the float32 nearest to the threshold keeps such frames unscored, as the challenge's
    "over 0.6" says.

    Parameters
    ----------
    agreement : array-like of float
    threshold : float, default 0.6

    Returns
    -------
    mask : ndarray of bool, the shape of ``agreement``

    Examples
    --------
    >>> import numpy as np
    >>> scored_frames(np.array([0.6, 0.625, 0.5], dtype=np.float32)).tolist()
    [False, True, False]
    >>> scored_frames([0.6, 0.6000001]).tolist()
    [False, True]
    """
    agreement = np.asarray(agreement)
    if agreement.dtype.kind != "f":
        agreement = agreement.astype(np.float64)
    return agreement > agreement.dtype.type(threshold)


def _scored(y_true, y_pred, agreement, threshold):
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    agreement = np.asarray(agreement).ravel()
    if not (y_true.shape == y_pred.shape == agreement.shape):
        raise ValueError(
            f"y_true, y_pred and agreement must have one value per frame, got lengths "
            f"{y_true.shape[0]}, {y_pred.shape[0]} and {agreement.shape[0]}"
        )
    mask = scored_frames(agreement, threshold)
    return y_true[mask].astype(np.int64), y_pred[mask].astype(np.int64)


def confusion_matrix(y_true, y_pred, agreement, threshold=AGREEMENT_THRESHOLD):
    """Counts of (true class, predicted class) over the scored frames.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n_frames,)
        Class indices 0..5 in the order of :data:`~emo_gbm.constants.EMOTIONS`.
    agreement : array-like of float, shape (n_frames,)
        Annotator agreement per frame; only frames with agreement > ``threshold`` count.
    threshold : float, default 0.6

    Returns
    -------
    counts : ndarray of shape (6, 6), int64
        ``counts[i, j]`` is the number of scored frames of true class ``i`` predicted as ``j``.

    Examples
    --------
    >>> confusion_matrix([0, 0, 1], [0, 1, 1], [0.9, 0.9, 0.5])[:2, :2].tolist()
    [[1, 1], [0, 0]]
    """
    t, p = _scored(y_true, y_pred, agreement, threshold)
    if t.size and (t.min() < 0 or t.max() >= N_CLASSES or p.min() < 0 or p.max() >= N_CLASSES):
        raise ValueError(f"class indices must lie in 0..{N_CLASSES - 1}")
    return np.bincount(t * N_CLASSES + p, minlength=N_CLASSES * N_CLASSES).reshape(N_CLASSES, N_CLASSES)


def scores_from_confusion(counts):
    """WA, UA and per-class recall from a confusion matrix of scored frames.

    Parameters
    ----------
    counts : ndarray of shape (6, 6)

    Returns
    -------
    dict
        ``WA``, ``UA``, ``frames`` (scored frames) and ``recall`` (class name -> recall,
        None for a class absent from the scored frames).

    Examples
    --------
    >>> s = scores_from_confusion(confusion_matrix([0, 0, 0, 1], [0, 0, 1, 1], [1, 1, 1, 1]))
    >>> round(s["WA"], 3), round(s["UA"], 3)
    (0.75, 0.833)
    """
    counts = np.asarray(counts)
    frames = int(counts.sum())
    if frames == 0:
        raise ValueError(f"no frame has agreement above {AGREEMENT_THRESHOLD}: nothing to score")
    support = counts.sum(axis=1)
    present = support > 0
    recall = np.zeros(N_CLASSES)
    recall[present] = np.diag(counts)[present] / support[present]
    return {
        "WA": float(np.trace(counts) / frames),
        "UA": float(recall[present].mean()),
        "frames": frames,
        "recall": {name: (float(r) if ok else None) for name, r, ok in zip(EMOTIONS, recall, present)},
    }


def weighted_accuracy(y_true, y_pred, agreement, threshold=AGREEMENT_THRESHOLD):
    """Correct scored frames / scored frames (the challenge's headline accuracy).

    Examples
    --------
    >>> weighted_accuracy([0, 1, 2, 2], [0, 1, 0, 0], [0.9, 0.9, 0.9, 0.6])
    0.6666666666666666
    """
    return scores_from_confusion(confusion_matrix(y_true, y_pred, agreement, threshold))["WA"]


def unweighted_accuracy(y_true, y_pred, agreement, threshold=AGREEMENT_THRESHOLD):
    """Mean per-class recall over the classes present among the scored frames.

    Examples
    --------
    >>> unweighted_accuracy([0, 0, 0, 1], [0, 0, 0, 0], [0.9, 0.9, 0.9, 0.9])
    0.5
    """
    return scores_from_confusion(confusion_matrix(y_true, y_pred, agreement, threshold))["UA"]


def score_recordings(predictions, truths, threshold=AGREEMENT_THRESHOLD):
    """Pooled WA/UA over many recordings.

    Parameters
    ----------
    predictions : dict of str to array of int
        Recording id -> predicted class per frame.
    truths : dict of str to tuple (labels, agreement)
        Recording id -> true class and agreement per frame. Every id of ``truths`` must be
        in ``predictions`` with the same number of frames.

    Returns
    -------
    dict
        ``WA``, ``UA``, ``frames`` (scored), ``frames_total``, ``recordings``, ``recall``
        and ``confusion`` (6 x 6 nested list of counts, rows true, columns predicted).

    Examples
    --------
    >>> s = score_recordings({"a": [0, 1]}, {"a": ([0, 0], [0.9, 0.9])})
    >>> s["WA"], s["frames"], s["recordings"]
    (0.5, 2, 1)
    """
    counts = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    total = 0
    for rec_id in sorted(truths):
        labels, agreement = truths[rec_id]
        if rec_id not in predictions:
            raise ValueError(f"no prediction for recording {rec_id}")
        counts += confusion_matrix(labels, predictions[rec_id], agreement, threshold)
        total += len(labels)
    result = scores_from_confusion(counts)
    result.update(frames_total=int(total), recordings=len(truths), confusion=counts.tolist())
    return result
