"""Fitting helpers shared by the stacker and the round selection: weights, seeds, all-class posteriors."""

import os

import numpy as np
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter


def staged_proba(model, X, checkpoints, n_classes, model_classes=None):
    """Posteriors (all classes) after each number of rounds in ``checkpoints``.

    Parameters
    ----------
    model : fitted LightGBM or XGBoost classifier, or any classifier when ``checkpoints`` is ``[None]``
    X : ndarray
    checkpoints : list of int, or ``[None]`` for the fitted model as it is
    n_classes : int
    model_classes : ndarray of int, optional
        Class index of each of the model's own labels (see :func:`proba_all_classes`).

    Returns
    -------
    proba : ndarray of shape (len(checkpoints), n_samples, n_classes)
    """
    module = type(model).__module__.split(".")[0]
    out = np.zeros((len(checkpoints), X.shape[0], n_classes))
    for i, rounds in enumerate(checkpoints):
        if rounds is None or module not in ("lightgbm", "xgboost"):
            kwargs = {}  # e.g. the DummyClassifier of a single-class fold: no rounds to cut
        elif module == "lightgbm":
            kwargs = {"num_iteration": int(rounds)}
        else:
            kwargs = {"iteration_range": (0, int(rounds))}
        out[i] = proba_all_classes(model, X, n_classes, model_classes, **kwargs)
    return out


def param_combinations(grid, what):
    """Every combination of a dict of parameter -> list of values, as a list of dicts.

    Examples
    --------
    >>> param_combinations({"C": [1, 2], "tol": [0.1]}, "grid")
    [{'C': 1, 'tol': 0.1}, {'C': 2, 'tol': 0.1}]
    """
    if not isinstance(grid, dict):
        raise ValueError(f"{what} must be a dict of parameter -> list of values, got {grid!r}")
    combos = [{}]
    for name, values in grid.items():
        values = list(values)
        if not values:
            raise ValueError(f"{what}[{name!r}] is empty")
        combos = [dict(c, **{name: v}) for c in combos for v in values]
    return combos


def take_rows(values, rows):
    """``values[rows]``, or None when ``values`` is None."""
    return None if values is None else values[rows]


def with_seed(estimator, seed):
    """A clone of ``estimator`` with its ``random_state`` (if any) set to ``seed``."""
    estimator = clone(estimator)
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=int(seed))
    return estimator


def fit_weighted(estimator, X, y, sample_weight):
    """``fit``, with the sample weights when the estimator (or a Pipeline's last step) takes them."""
    if sample_weight is not None:
        if isinstance(estimator, Pipeline):
            name, last = estimator.steps[-1]
            if last != "passthrough" and has_fit_parameter(last, "sample_weight"):
                return estimator.fit(X, y, **{f"{name}__sample_weight": sample_weight})
        elif has_fit_parameter(estimator, "sample_weight"):
            return estimator.fit(X, y, sample_weight=sample_weight)
    return estimator.fit(X, y)


def fit_threaded(estimator, X, y, sample_weight, n_threads=1):
    """:func:`fit_weighted`, a LightGBM model on ``n_threads`` threads.

    LightGBM grows the same trees on any number of threads (its ``deterministic`` mode; the
    tests check it bit for bit), so a fit that would otherwise run alone on one core while
    the others idle can use them all (at most the cores of the machine it runs on). The fitted
    model keeps the estimator's own thread count for predicting. Other estimators are fitted as
    given.
    """
    n_threads = min(int(n_threads), os.cpu_count() or 1)
    if n_threads > 1 and type(estimator).__module__.split(".")[0] == "lightgbm":
        own = estimator.get_params()["n_jobs"]
        return fit_weighted(estimator.set_params(n_jobs=n_threads), X, y, sample_weight).set_params(n_jobs=own)
    return fit_weighted(estimator, X, y, sample_weight)


def fit_and_predict(estimator, X, y, sample_weight, X_predict, n_classes):
    """Fit on (X, y) and return the posteriors of every class for ``X_predict``."""
    return proba_all_classes(fit_weighted(estimator, X, y, sample_weight), X_predict, n_classes)


def proba_all_classes(estimator, X, n_classes, model_classes=None, **kwargs):
    """``predict_proba`` with one column per class 0..n_classes-1, zeros for classes the
    estimator never saw. ``model_classes`` maps the estimator's own labels 0..k-1 to class
    indices when it was fitted on re-encoded labels; ``kwargs`` go to ``predict_proba``."""
    proba = np.zeros((X.shape[0], n_classes), dtype=np.float64)
    own = np.asarray(estimator.classes_, dtype=np.int64)
    columns = own if model_classes is None else np.asarray(model_classes)[own]
    proba[:, columns] = estimator.predict_proba(X, **kwargs)
    return proba


def fit_block(
    estimator, seed, X_block, y, sample_weight, train, blank_rows, missing_position, evaluate, n_classes, with_blank,
    checkpoints=(None,), n_threads=1,
):
    """Fit one base model on ``train`` rows (``blank_rows`` of them blanked; a LightGBM model
    on ``n_threads`` threads, :func:`fit_threaded`).

    Returns the model, the class index of each of its outputs, its posteriors on the
    ``evaluate`` rows at each of ``checkpoints`` (shape (n_checkpoints, n_rows, n_classes))
    and, if ``with_blank``, its posteriors for a blank input (shape (n_checkpoints, n_classes)).
    """
    X_train = X_block[train].copy()
    blank_out(X_train, blank_rows, missing_position)
    weight = None if sample_weight is None else sample_weight[train]
    # Labels are re-encoded to 0..k-1 within the fold: XGBoost refuses gaps in class labels.
    model_classes, y_train = np.unique(y[train], return_inverse=True)
    if model_classes.size < 2:
        # Boosting libraries refuse a single class; the answer is then that class anyway.
        model = DummyClassifier(strategy="prior").fit(X_train, y_train)
    else:
        model = fit_threaded(with_seed(estimator, seed), X_train, y_train, weight, n_threads)
    checkpoints = list(checkpoints)
    evaluated = blank_proba = None
    if evaluate is not None:
        evaluated = staged_proba(model, X_block[evaluate], checkpoints, n_classes, model_classes)
    if with_blank:
        blank_row = np.full((1, X_block.shape[1]), np.nan, dtype=X_block.dtype)
        blank_out(blank_row, np.ones(1, dtype=bool), missing_position)
        blank_proba = staged_proba(model, blank_row, checkpoints, n_classes, model_classes)[:, 0]
    return model, model_classes, evaluated, blank_proba


def blank_out(X_block, rows, missing_position):
    """Make ``rows`` of a block look like an absent modality: NaN features, missing fraction 1."""
    X_block[rows] = np.nan
    if missing_position is not None:
        X_block[rows, missing_position] = 1.0

