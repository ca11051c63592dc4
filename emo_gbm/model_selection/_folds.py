"""Cross-validation folds: grouped by actor (or recording) whenever groups are known, in one place."""

import numbers

import numpy as np
from sklearn.model_selection import KFold, StratifiedGroupKFold, StratifiedKFold


def grouped_folds(y, groups, n_splits, seed):
    """Stratified folds that never split a group, at most one per group.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    groups : ndarray of shape (n_samples,)
        Actor (else recording) of each row.
    n_splits : int
        Folds wanted; fewer when there are fewer groups.
    seed : int
        Shuffles the groups.

    Returns
    -------
    folds : list of (ndarray, ndarray)
        (train, validation) row indices.

    Examples
    --------
    >>> import numpy as np
    >>> folds = grouped_folds(np.array([0, 1, 0, 1]), np.array(["a", "a", "b", "b"]), 5, seed=0)
    >>> len(folds), sorted(int(i) for _, valid in folds for i in valid)
    (2, [0, 1, 2, 3])
    """
    groups = np.asarray(groups)
    n_groups = np.unique(groups).size
    if n_groups < 2:
        raise ValueError("grouped folds need at least 2 distinct groups (actors or recordings)")
    splitter = StratifiedGroupKFold(min(n_splits, n_groups), shuffle=True, random_state=seed)
    return [(np.asarray(t), np.asarray(v)) for t, v in splitter.split(np.zeros(len(y)), y, groups)]


def make_folds(cv, y, groups, seed):
    """The folds of a cross-validation given as scikit-learn's ``cv`` parameters are.

    Parameters
    ----------
    cv : int, splitter or iterable of (train, validation)
        An int: :func:`grouped_folds` when ``groups`` is given, else stratified folds (plain
        ones when a class has a single row).
    y : ndarray of int of shape (n_samples,)
    groups : ndarray of shape (n_samples,) or None
    seed : int
        Shuffles the rows or groups of an int ``cv``.

    Returns
    -------
    folds : list of (ndarray, ndarray)
        Their validation parts cover every row.
    """
    n_samples = len(y)
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be at least 2, got {cv}")
        if groups is not None:
            return _checked(grouped_folds(y, groups, cv, seed), n_samples)
        smallest_class = np.bincount(y).min()
        if smallest_class >= 2:
            splitter = StratifiedKFold(min(cv, smallest_class), shuffle=True, random_state=seed)
        else:
            splitter = KFold(min(cv, n_samples), shuffle=True, random_state=seed)
        folds = splitter.split(np.zeros(n_samples), y, groups)
    elif hasattr(cv, "split"):
        folds = cv.split(np.zeros(n_samples), y, groups)
    else:
        folds = cv
    return _checked(folds, n_samples)


def _checked(folds, n_samples):
    folds = [(np.asarray(train), np.asarray(valid)) for train, valid in folds]
    if not folds:
        raise ValueError("cv produced no folds")
    covered = np.zeros(n_samples, dtype=bool)
    for _, valid in folds:
        covered[valid] = True
    if not covered.all():
        raise ValueError("every row must be in the validation part of a fold (cv must partition the rows)")
    return folds
