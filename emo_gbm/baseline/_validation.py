"""Checks of the classifier's parameters and of the arrays handed to ``fit`` and ``predict``."""

from collections.abc import Mapping

import numpy as np
from scipy.sparse import issparse
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.multiclass import check_classification_targets

from emo_gbm.baseline._layers import DENSE_ACTIVATIONS
from emo_gbm.constants import MODALITIES

#: Name given to the single modality when ``X`` is one array instead of a dict.
SINGLE_INPUT = "x"


def check_params(estimator):
    """Raise ValueError naming the first invalid parameter of a BiLSTMClassifier."""
    if not (isinstance(estimator.hidden_size, (int, np.integer)) and estimator.hidden_size >= 2
            and estimator.hidden_size % 2 == 0):
        raise ValueError(f"hidden_size must be an even integer >= 2, got {estimator.hidden_size!r}")
    for name in ("dense_size", "batch_size", "max_epochs", "patience"):
        value = getattr(estimator, name)
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if estimator.dense_activation not in DENSE_ACTIVATIONS:
        raise ValueError(
            f"dense_activation must be one of {DENSE_ACTIVATIONS}, "
            f"got {estimator.dense_activation!r}"
        )
    if not estimator.learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {estimator.learning_rate!r}")
    n_jobs_ok = isinstance(estimator.n_jobs, (int, np.integer)) and (
        estimator.n_jobs >= 1 or estimator.n_jobs == -1
    )
    if not n_jobs_ok:
        raise ValueError(f"n_jobs must be a positive integer or -1, got {estimator.n_jobs!r}")
    if not 0 <= estimator.validation_fraction < 1:
        raise ValueError(
            f"validation_fraction must be in [0, 1), got {estimator.validation_fraction!r}"
        )


def as_modality_dict(X):
    """``X`` as a dict name -> 3-D array.

    A bare array is the single modality ``"x"``; a 2-D array (n_windows, n_features) holds
    windows of one time step. Arrays are checked with scikit-learn's ``check_array``
    (numeric, at least one window and one feature; NaN and infinite values pass).
    """
    if isinstance(X, Mapping) and not issparse(X):  # a DOK sparse matrix is a dict
        if not X:
            raise ValueError("X is an empty dict; it needs at least one modality")
        items = dict(X)
    else:
        items = {SINGLE_INPUT: X}
    out = {}
    for name, array in items.items():
        array = check_array(
            array, dtype="numeric", allow_nd=True, ensure_all_finite=False, input_name="X"
        )
        if array.ndim == 2:
            array = array[:, None, :]
        if array.ndim != 3:
            raise ValueError(
                f"X[{name!r}] must be 3-D (n_windows, n_steps, n_features) or 2-D "
                f"(n_windows, n_features), got shape {array.shape}"
            )
        if array.dtype.kind not in "fiub":
            raise ValueError(f"X[{name!r}] must be numeric, got dtype {array.dtype}")
        if min(array.shape) < 1:
            raise ValueError(f"X[{name!r}] has an empty dimension: shape {array.shape}")
        out[name] = array
    sizes = {len(a) for a in out.values()}
    if len(sizes) != 1:
        raise ValueError(f"every modality of X needs the same number of windows, got {sizes}")
    return out


def resolve_modalities(requested, available):
    """The modalities to use, in branch order (see ``BiLSTMClassifier.modalities``)."""
    if requested is None:
        known = [m for m in MODALITIES if m in available]
        return tuple(known + sorted(m for m in available if m not in known))
    requested = (requested,) if isinstance(requested, str) else tuple(requested)
    missing = [m for m in requested if m not in available]
    if missing:
        raise ValueError(f"X lacks the modalities {missing}; it has {sorted(available)}")
    if not requested:
        raise ValueError("modalities is empty")
    return requested



def check_targets(y, n):
    """``y`` as a 1-D array of class labels, one per window (a column vector is raveled,
    with a warning)."""
    y = column_or_1d(y, warn=True)
    if len(y) != n:
        raise ValueError(f"y must be 1-D with {n} entries (one per window), got {y.shape}")
    check_classification_targets(y)
    return y


def check_sample_weight(sample_weight, n):
    """Window weights as float64 (ones when ``sample_weight`` is None)."""
    if sample_weight is None:
        return np.ones(n)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), got {weights.shape}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    if weights.sum() <= 0:
        raise ValueError("sample_weight sums to zero; there is nothing to learn from")
    return weights


def check_groups(groups, n):
    """Group of every window (each window its own group when ``groups`` is None)."""
    groups = np.arange(n) if groups is None else np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must have shape ({n},), got {groups.shape}")
    return groups
