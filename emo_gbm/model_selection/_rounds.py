"""Boosting rounds chosen by grouped cross-validation: every fold model is read after a grid of rounds."""

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone

from emo_gbm.model_selection._fitting import fit_block


#: Numbers of boosting rounds at which out-of-fold posteriors are scored when the rounds are tuned.
ROUND_GRID = (10, 20, 30, 50, 75, 100, 150, 200, 250, 300, 400, 500, 700, 1000, 1500, 2000)


def boosting_rounds(estimator):
    """The number of rounds of a LightGBM or XGBoost classifier, else None.

    Only for these two can posteriors be read after fewer rounds than were fitted, which
    is what choosing the rounds by cross-validation needs.

    Examples
    --------
    >>> from lightgbm import LGBMClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> boosting_rounds(LGBMClassifier(n_estimators=300))
    300
    >>> boosting_rounds(LogisticRegression()) is None
    True
    """
    module = type(estimator).__module__.split(".")[0]
    if module not in ("lightgbm", "xgboost"):
        return None
    rounds = estimator.get_params().get("n_estimators")
    return 100 if rounds is None else int(rounds)  # XGBoost's None means its default, 100


def fit_cost(estimator, n_columns):
    """A rough relative cost of fitting ``estimator`` on ``n_columns`` columns: the columns
    times the boosting rounds (1 for a model that is not boosted).

    Used only to start the longest fits first (:func:`longest_first`), so that two workers
    finish together rather than one waiting on a long fit started last.

    Examples
    --------
    >>> from lightgbm import LGBMClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> fit_cost(LGBMClassifier(n_estimators=200), 100), fit_cost(LogisticRegression(), 100)
    (20000, 100)
    """
    return n_columns * (boosting_rounds(estimator) or 1)


def longest_first(costs):
    """The order in which to run tasks of these ``costs``: the costliest first, equal costs
    in their given order. Results come back in this order; ``in_given_order`` restores theirs.

    Examples
    --------
    >>> order = longest_first([1, 5, 3, 5])
    >>> order
    [1, 3, 2, 0]
    >>> in_given_order(["b", "d", "c", "a"], order)
    ['a', 'b', 'c', 'd']
    """
    return sorted(range(len(costs)), key=lambda i: -costs[i])


def runs_alone(costs, n_jobs):
    """Whether the costliest of tasks of these ``costs`` should run first and alone, on all
    ``n_jobs`` threads (:func:`~emo_gbm.model_selection.fit_threaded`), before the others.

    Run beside the others on one worker, it would finish long after them while the other
    workers idle; alone, it uses them all. Yes when the others together cost less than half
    of it for every worker beside its own.

    Examples
    --------
    >>> runs_alone([200, 50, 30], n_jobs=2), runs_alone([200, 150], n_jobs=2), runs_alone([200, 50], n_jobs=1)
    (True, False, False)
    """
    if n_jobs < 2 or len(costs) == 0:
        return False
    largest = max(costs)
    return sum(costs) - largest < largest * (n_jobs - 1) / 2


def in_given_order(results, order):
    """``results`` of tasks run in ``order`` (:func:`longest_first`), back in the tasks' given order."""
    restored = [None] * len(order)
    for position, result in zip(order, results):
        restored[position] = result
    return restored


def round_checkpoints(n_rounds):
    """The rounds at which a model of ``n_rounds`` rounds is scored: :data:`ROUND_GRID` below it, then itself.

    Examples
    --------
    >>> round_checkpoints(120)
    [10, 20, 30, 50, 75, 100, 120]
    """
    return [r for r in ROUND_GRID if r < n_rounds] + [int(n_rounds)]


def lowest_log_loss(staged, y, sample_weight=None):
    """The candidate (boosting checkpoint or meta-learner setting) whose out-of-fold
    posteriors have the lowest (weighted) log-loss.

    Parameters
    ----------
    staged : ndarray of shape (n_candidates, n_samples, n_classes)
        Out-of-fold posteriors of each candidate.
    y : ndarray of int of shape (n_samples,)
    sample_weight : ndarray of shape (n_samples,), optional

    Returns
    -------
    best : int
        Index of the candidate; the first among equal losses (the fewest rounds).
    losses : ndarray of shape (n_candidates,)

    Examples
    --------
    >>> staged = np.array([[[0.5, 0.5]], [[0.1, 0.9]], [[0.01, 0.99]]])
    >>> best, losses = lowest_log_loss(staged, np.array([1]))
    >>> int(best), losses.round(3).tolist()
    (2, [0.693, 0.105, 0.01])
    """
    y = np.asarray(y)
    weight = np.ones(y.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    picked = np.clip(staged[:, np.arange(y.shape[0]), y], 1e-15, 1.0)
    losses = -(np.log(picked) * weight).sum(axis=1) / max(weight.sum(), np.finfo(float).tiny)
    return int(np.argmin(losses)), losses


def with_rounds(estimator, rounds):
    """A clone of ``estimator`` with ``rounds`` boosting rounds (unchanged when ``rounds`` is None)."""
    estimator = clone(estimator)
    if rounds is not None:
        estimator.set_params(n_estimators=int(rounds))
    return estimator


def cross_val_rounds(estimator, X, y, folds, sample_weight=None, tune=True, seed=0, n_jobs=1):
    """Out-of-fold posteriors of one classifier, with its boosting rounds chosen on them.

    The single-model counterpart of :class:`StackedModalityClassifier`'s ``tune_rounds``:
    each fold model is fitted with the estimator's ``n_estimators`` as a ceiling and its
    validation posteriors are read after each of :func:`round_checkpoints` rounds; the
    count with the lowest out-of-fold log-loss wins.

    Parameters
    ----------
    estimator : classifier
        LightGBM or XGBoost to tune; any other classifier is cross-validated as given.
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of int of shape (n_samples,)
        Class indices 0..n_classes-1.
    folds : list of (ndarray, ndarray)
        (train, validation) rows; the validation parts partition the rows.
    sample_weight : ndarray of shape (n_samples,), optional
    tune : bool, default=True
    seed : int, default=0
        ``random_state`` of every fold model.
    n_jobs : int, default=1

    Returns
    -------
    oof : ndarray of shape (n_samples, n_classes)
        Out-of-fold posteriors at the chosen rounds.
    rounds : int or None
        The chosen rounds (None when not tuned).
    losses : dict of int to float
        Out-of-fold log-loss at each checkpoint (empty when not tuned).
    """
    n_classes = int(np.max(y)) + 1
    max_rounds = boosting_rounds(estimator) if tune else None
    checkpoints = [None] if max_rounds is None else round_checkpoints(max_rounds)
    no_blank = np.zeros(0, dtype=np.int64)
    results = Parallel(n_jobs=n_jobs)(
        delayed(fit_block)(
            estimator, seed, X, y, sample_weight, train, no_blank, None, valid, n_classes, False, checkpoints
        )
        for train, valid in folds
    )
    return choose_rounds(folds, results, checkpoints, y, sample_weight, tuned=max_rounds is not None)


def choose_rounds(folds, results, checkpoints, y, sample_weight, tuned):
    """Out-of-fold posteriors at the best checkpoint, from the ``fit_block`` results of each fold.

    Returns the posteriors, the rounds chosen (None when not ``tuned``) and the log-loss at
    each checkpoint (empty when not ``tuned``).
    """
    n_classes = results[0][2].shape[2]
    staged = np.zeros((len(checkpoints), len(y), n_classes))
    for (_, valid), (_, _, valid_proba, _) in zip(folds, results):
        staged[:, valid] = valid_proba
    best, losses = lowest_log_loss(staged, y, sample_weight)
    if not tuned:
        return staged[best], None, {}
    return staged[best], checkpoints[best], dict(zip(checkpoints, losses.tolist()))
