"""Stacking of per-modality classifiers with grouped folds and modality dropout.

One base classifier per block of columns (one block per modality) is fitted; their
out-of-fold posteriors, together with each block's missing fraction, are the inputs of a
meta-learner, optionally with their temporal context: the same values averaged over the
row's whole sequence (recording), and at neighbouring positions in it. scikit-learn's
``StackingClassifier`` cannot pass ``groups`` to its splitter, and overlapping windows of one
recording (or one actor) must never sit on both sides of a fold, so this is its own small
estimator.
"""

import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, has_fit_parameter, validate_data

from emo_gbm.ensemble.pooling import PooledLogisticRegression

#: Base posteriors are clipped to this floor before the log, so one confident zero cannot
#: dominate the meta-learner's linear score.
PROBA_FLOOR = 1e-4


def default_base_estimator(random_state=0):
    """The default per-block classifier: a small, deterministic single-threaded LightGBM.

    300 rounds is a ceiling: the stacker (``tune_rounds``) and the single-model pipelines
    pick the number of rounds of each model by grouped cross-validation. 63 histogram bins
    and 30% of the columns per tree keep the ~900 face statistics fast.

    Parameters
    ----------
    random_state : int, default=0

    Returns
    -------
    LGBMClassifier

    Examples
    --------
    >>> default_base_estimator().get_params()["n_jobs"]
    1
    """
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        n_estimators=300,
        learning_rate=0.05,
        num_leaves=15,
        min_child_samples=20,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.3,
        max_bin=63,
        reg_lambda=1.0,
        n_jobs=1,
        random_state=random_state,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


def default_linear_expert(C=0.1):
    """A linear base classifier: mean-imputed, standardised multinomial logistic regression.

    Stacked beside a gradient-boosted model of the same modality (on that modality's window
    means), it adds a smooth, differently biased view whose errors the meta-learner can
    average out. Missing values are imputed with the training mean (a column never observed
    gets 0), so it accepts the NaN of absent modalities.

    Returns
    -------
    Pipeline

    Examples
    --------
    >>> [name for name, _ in default_linear_expert().steps]
    ['simpleimputer', 'standardscaler', 'logisticregression']
    """
    return make_pipeline(
        SimpleImputer(strategy="mean", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=C, max_iter=1000),
    )


def default_final_estimator():
    """The default meta-learner: a logistic regression around the product of the blocks' posteriors.

    A :class:`~emo_gbm.ensemble.pooling.PooledLogisticRegression`: each block's log-posteriors get
    one unpenalised weight, and the full linear model on all meta-features is penalised on
    top, so a strong penalty leaves a calibrated weighted product of the base models rather
    than the class prior. The stacker tells it which inputs are the blocks'
    log-posteriors, and chooses its ``C`` over :data:`META_C_GRID` by grouped
    cross-validation.

    Returns
    -------
    PooledLogisticRegression

    Examples
    --------
    >>> default_final_estimator().C
    0.001
    """
    return PooledLogisticRegression(C=0.001)


#: Inverse regularisation strengths of the default meta-learner (of its linear part beside
#: the product of the blocks' posteriors), chosen by grouped cross-validation.
META_C_GRID = (0.00001, 0.00003, 0.0001, 0.0003, 0.001)


def sequence_codes(sequences, n_rows):
    """Integer code 0..k-1 of each row's sequence; None makes every row its own sequence.

    Examples
    --------
    >>> sequence_codes(["b", "a", "b"], 3).tolist(), sequence_codes(None, 2).tolist()
    ([1, 0, 1], [0, 1])
    """
    if sequences is None:
        return np.arange(n_rows)
    return np.unique(np.asarray(sequences), return_inverse=True)[1].ravel()


def context_features(values, sequences=None, positions=None, offsets=(), sequence_mean=False):
    """Each row's values at neighbouring positions of its sequence, and the sequence's mean.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_values)
    sequences : array-like of shape (n_samples,), default=None
        Sequence (recording) of each row; None makes every row its own sequence.
    positions : array-like of shape (n_samples,), int, default=None
        Position of each row in its sequence (e.g. the window's first frame); None: the
        row's index.
    offsets : sequence of int, default=()
        For each offset, the values of the row of the same sequence at ``position +
        offset``; where there is none, the row whose position is nearest to it (at the
        ends of a sequence: its first or last row).
    sequence_mean : bool, default=False
        Append the mean of the values over each row's sequence.

    Returns
    -------
    context : ndarray of shape (n_samples, n_values * (len(offsets) + sequence_mean))

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([[1.0], [2.0], [3.0], [10.0]])
    >>> context_features(v, ["a", "a", "a", "b"], [0, 100, 200, 0], offsets=(-100, 100), sequence_mean=True).tolist()
    [[1.0, 2.0, 2.0], [1.0, 3.0, 2.0], [2.0, 3.0, 2.0], [10.0, 10.0, 10.0]]
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[0]
    codes = sequence_codes(sequences, n)
    positions = np.arange(n, dtype=np.int64) if positions is None else np.asarray(positions, dtype=np.int64)
    if codes.shape[0] != n or positions.shape[0] != n:
        raise ValueError(f"sequences and positions need one entry per row ({n})")
    parts = []
    if len(offsets) and n:
        order = np.lexsort((positions, codes))
        seq, pos = codes[order], positions[order]
        low, high = pos[np.searchsorted(seq, seq, "left")], pos[np.searchsorted(seq, seq, "right") - 1]
        span = int(pos.max() - pos.min()) + 1
        key = seq * span + (pos - pos.min())
        sorted_values = values[order]
        for offset in offsets:
            target = seq * span + (np.clip(pos + int(offset), low, high) - pos.min())
            right = np.searchsorted(key, target, "left")
            left = np.maximum(right - 1, 0)
            nearest = np.where(target - key[left] < key[right] - target, left, right)
            shifted = np.empty_like(values)
            shifted[order] = sorted_values[nearest]
            parts.append(shifted)
    if sequence_mean:
        counts = np.bincount(codes, minlength=codes.max() + 1 if n else 0)
        sums = np.zeros((counts.size, values.shape[1]))
        np.add.at(sums, codes, values)
        parts.append(sums[codes] / counts[codes, None])
    return np.hstack(parts) if parts else np.zeros((n, 0))


#: Numbers of boosting rounds at which out-of-fold posteriors are scored when the rounds are tuned.
ROUND_GRID = (10, 20, 30, 50, 75, 100, 150, 200, 250, 300, 400, 500, 700, 1000, 1500, 2000)


def boosting_rounds(estimator):
    """The number of rounds of a LightGBM or XGBoost classifier, else None.

    Only for these two can posteriors be read after fewer rounds than were fitted, which
    is what choosing the rounds by cross-validation needs.

    Examples
    --------
    >>> boosting_rounds(default_base_estimator())
    300
    >>> boosting_rounds(LogisticRegression()) is None
    True
    """
    module = type(estimator).__module__.split(".")[0]
    if module not in ("lightgbm", "xgboost"):
        return None
    rounds = estimator.get_params().get("n_estimators")
    return 100 if rounds is None else int(rounds)  # XGBoost's None means its default, 100


def round_checkpoints(n_rounds):
    """The rounds at which a model of ``n_rounds`` rounds is scored: :data:`ROUND_GRID` below it, then itself.

    Examples
    --------
    >>> round_checkpoints(120)
    [10, 20, 30, 50, 75, 100, 120]
    """
    return [r for r in ROUND_GRID if r < n_rounds] + [int(n_rounds)]


def staged_proba(model, X, checkpoints, n_classes, model_classes=None):
    """Posteriors (all classes) after each number of rounds in ``checkpoints``.

    Parameters
    ----------
    model : fitted LightGBM or XGBoost classifier, or any classifier when ``checkpoints`` is ``[None]``
    X : ndarray
    checkpoints : list of int, or ``[None]`` for the fitted model as it is
    n_classes : int
    model_classes : ndarray of int, optional
        Class index of each of the model's own labels (see :func:`_proba_all_classes`).

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
        out[i] = _proba_all_classes(model, X, n_classes, model_classes, **kwargs)
    return out


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
        delayed(_fit_block)(
            estimator, seed, X, y, sample_weight, train, no_blank, None, valid, n_classes, False, checkpoints
        )
        for train, valid in folds
    )
    return _choose_rounds(folds, results, checkpoints, y, sample_weight, tuned=max_rounds is not None)


def _choose_rounds(folds, results, checkpoints, y, sample_weight, tuned):
    """Out-of-fold posteriors at the best checkpoint, from the ``_fit_block`` results of each fold.

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


def _combinations(grid, what):
    """Every combination of a dict of parameter -> list of values, as a list of dicts.

    Examples
    --------
    >>> _combinations({"C": [1, 2], "tol": [0.1]}, "grid")
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


def _rows(values, rows):
    """``values[rows]``, or None when ``values`` is None."""
    return None if values is None else values[rows]


def _with_seed(estimator, seed):
    """A clone of ``estimator`` with its ``random_state`` (if any) set to ``seed``."""
    estimator = clone(estimator)
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=int(seed))
    return estimator


def _fit(estimator, X, y, sample_weight):
    """``fit``, with the sample weights when the estimator (or a Pipeline's last step) takes them."""
    if sample_weight is not None:
        if isinstance(estimator, Pipeline):
            name, last = estimator.steps[-1]
            if last != "passthrough" and has_fit_parameter(last, "sample_weight"):
                return estimator.fit(X, y, **{f"{name}__sample_weight": sample_weight})
        elif has_fit_parameter(estimator, "sample_weight"):
            return estimator.fit(X, y, sample_weight=sample_weight)
    return estimator.fit(X, y)


def _fit_and_predict(estimator, X, y, sample_weight, X_predict, n_classes):
    """Fit on (X, y) and return the posteriors of every class for ``X_predict``."""
    return _proba_all_classes(_fit(estimator, X, y, sample_weight), X_predict, n_classes)


def _proba_all_classes(estimator, X, n_classes, model_classes=None, **kwargs):
    """``predict_proba`` with one column per class 0..n_classes-1, zeros for classes the
    estimator never saw. ``model_classes`` maps the estimator's own labels 0..k-1 to class
    indices when it was fitted on re-encoded labels; ``kwargs`` go to ``predict_proba``."""
    proba = np.zeros((X.shape[0], n_classes), dtype=np.float64)
    own = np.asarray(estimator.classes_, dtype=np.int64)
    columns = own if model_classes is None else np.asarray(model_classes)[own]
    proba[:, columns] = estimator.predict_proba(X, **kwargs)
    return proba


def _fit_block(
    estimator, seed, X_block, y, sample_weight, train, blank_rows, missing_position, evaluate, n_classes, with_blank,
    checkpoints=(None,),
):
    """Fit one base model on ``train`` rows (``blank_rows`` of them blanked).

    Returns the model, the class index of each of its outputs, its posteriors on the
    ``evaluate`` rows at each of ``checkpoints`` (shape (n_checkpoints, n_rows, n_classes))
    and, if ``with_blank``, its posteriors for a blank input (shape (n_checkpoints, n_classes)).
    """
    X_train = X_block[train].copy()
    _blank(X_train, blank_rows, missing_position)
    weight = None if sample_weight is None else sample_weight[train]
    # Labels are re-encoded to 0..k-1 within the fold: XGBoost refuses gaps in class labels.
    model_classes, y_train = np.unique(y[train], return_inverse=True)
    if model_classes.size < 2:
        # Boosting libraries refuse a single class; the answer is then that class anyway.
        model = DummyClassifier(strategy="prior").fit(X_train, y_train)
    else:
        model = _fit(_with_seed(estimator, seed), X_train, y_train, weight)
    checkpoints = list(checkpoints)
    evaluated = blank_proba = None
    if evaluate is not None:
        evaluated = staged_proba(model, X_block[evaluate], checkpoints, n_classes, model_classes)
    if with_blank:
        blank_row = np.full((1, X_block.shape[1]), np.nan, dtype=X_block.dtype)
        _blank(blank_row, np.ones(1, dtype=bool), missing_position)
        blank_proba = staged_proba(model, blank_row, checkpoints, n_classes, model_classes)[:, 0]
    return model, model_classes, evaluated, blank_proba


def _blank(X_block, rows, missing_position):
    """Make ``rows`` of a block look like an absent modality: NaN features, missing fraction 1."""
    X_block[rows] = np.nan
    if missing_position is not None:
        X_block[rows, missing_position] = 1.0


class ModalityBlocks:
    """The blocks of a :class:`StackedModalityClassifier`, one set per modality, resolved at fit time.

    Given to the stacker's ``blocks``, it reads the modalities from the feature names of the
    window table (``<modality>__<column>__<statistic>`` and ``<modality>__missing_frac``,
    :mod:`emo_gbm.features`), so that every modality of the data gets its base models, a
    fifth one included. Per modality, in the order the modalities first appear:

    - a block named ``<modality>`` with every statistic of the modality (its missing fraction
      excluded), fitted by ``estimator``;
    - for each ``(suffix, statistic, expert, grid)`` of ``experts``, a block named
      ``<modality><suffix>`` with the modality's columns of that statistic (skipped when it
      has none), fitted by a clone of ``expert``, its settings chosen over ``grid``
      (the stacker's ``base_grid``; None: nothing to choose).

    Every block of a modality reads the modality's missing fraction (one dropout unit).

    Parameters
    ----------
    estimator : classifier
    experts : sequence of (str, str, classifier, dict or None), default=()

    Examples
    --------
    >>> names = ["eyes__missing_frac", "eyes__c000__mean", "eyes__c000__std",
    ...          "physio__missing_frac", "physio__eda__mean", "physio__eda__std"]
    >>> spec = ModalityBlocks(default_linear_expert(), [("_linear", "mean", default_linear_expert(), None)])(names)
    >>> spec["modality_columns"]["physio"], spec["modality_columns"]["physio_linear"]
    (['physio__eda__mean', 'physio__eda__std'], ['physio__eda__mean'])
    >>> spec["missing_columns"]["physio_linear"]
    'physio__missing_frac'
    """

    separator = "__"

    def __init__(self, estimator, experts=()):
        self.estimator = estimator
        self.experts = experts

    def __repr__(self):
        suffixes = ", ".join(repr(suffix) for suffix, *_ in self.experts)
        return f"ModalityBlocks({type(self.estimator).__name__}, experts=[{suffixes}])"

    def __call__(self, feature_names):
        """The stacker's ``modality_columns``, ``missing_columns``, ``estimator`` and ``base_grid``.

        Parameters
        ----------
        feature_names : sequence of str

        Returns
        -------
        dict
        """
        sep = self.separator
        by_modality = {}
        for name in feature_names:
            parts = str(name).split(sep)
            if len(parts) == 2 and parts[1] == "missing_frac":
                by_modality.setdefault(parts[0], {"missing": None, "columns": []})["missing"] = name
            elif len(parts) == 3:
                by_modality.setdefault(parts[0], {"missing": None, "columns": []})["columns"].append((name, parts[2]))
        if not by_modality:
            raise ValueError("no feature name of the form <modality>__<column>__<statistic>: cannot find the modalities")
        columns, missing, estimators, grid = {}, {}, {}, {}
        for modality, found in by_modality.items():
            own = []
            if found["columns"]:
                own.append(modality)
                columns[modality] = [name for name, _ in found["columns"]]
                estimators[modality] = self.estimator
            for suffix, statistic, expert, expert_grid in self.experts:
                chosen = [name for name, stat in found["columns"] if stat == statistic]
                if chosen:
                    block = f"{modality}{suffix}"
                    own.append(block)
                    columns[block] = chosen
                    estimators[block] = clone(expert)
                    if expert_grid:
                        grid[block] = {key: list(values) for key, values in expert_grid.items()}
            if found["missing"] is not None:
                for block in own:
                    missing[block] = found["missing"]
        return {"modality_columns": columns, "missing_columns": missing, "estimator": estimators, "base_grid": grid}


class StackedModalityClassifier(ClassifierMixin, BaseEstimator):
    """Per-modality base classifiers stacked under a meta-learner, with grouped folds.

    Parameters
    ----------
    estimator : classifier or dict of str to classifier, default=None
        The base classifier fitted on each block of columns, or one per block name; it must
        accept NaN (LightGBM, XGBoost, HistGradientBoosting, :func:`default_linear_expert`).
        ``None`` means :func:`default_base_estimator`. Its ``random_state`` (if any) is set
        from ``random_state`` for every clone.
    final_estimator : classifier, default=None
        The meta-learner; ``None`` means :func:`default_final_estimator`. Its inputs are the
        log of each block's posteriors (floored at :data:`PROBA_FLOOR`) followed by the
        blocks' missing fractions. A meta-learner with ``n_experts`` and
        ``n_expert_classes`` parameters (:class:`~emo_gbm.ensemble.pooling.PooledLogisticRegression`)
        gets them set to the number of blocks whose log-posteriors it sees and the number
        of classes (labels are then the class indices 0..n_classes-1).
    final_grid : dict of str to list, default=None
        Settings of the meta-learner to choose from by the (weighted) log-loss of its
        out-of-fold posteriors over the same grouped folds. ``None``: ``C`` over
        :data:`META_C_GRID` for the default meta-learner, nothing to choose otherwise.
    base_grid : dict of str to dict of str to list, default=None
        Settings of some blocks' base classifiers to choose from, as block name ->
        parameter -> values (every combination is a candidate). Each candidate's fold
        models give out-of-fold posteriors; the lowest (weighted) log-loss wins, and is used
        for the meta-learner's inputs and the refit (with ``tune_rounds``, the rounds are
        tuned for every candidate). ``None``: nothing to choose.
    modality_columns : dict of str to list of (str or int), default=None
        The blocks: block name -> the columns of ``X`` it owns (names when ``X`` is a
        DataFrame, else integer positions). ``None`` makes all columns one block.
    missing_columns : dict of str to (str or int), default=None
        Block name -> the column holding that block's missing fraction (1 = absent). It is
        also given to the meta-learner (once, when several blocks share it) and is set to 1
        when dropout blanks the block; a NaN in it is read as 1. Blocks sharing a column are
        one modality read by several base models: dropout blanks them together. ``None``:
        blocks have no missing-fraction column.
    cv : int, cross-validation splitter or iterable, default=5
        Folds for the out-of-fold posteriors. An int gives ``StratifiedGroupKFold`` when
        ``groups`` is passed to ``fit`` (so no group is on both sides of a fold), else
        ``StratifiedKFold``, both shuffled with ``random_state``; the number of folds is
        capped by the number of groups.
    modality_dropout : float, default=0.0
        Share of training rows in which one randomly chosen block (with the blocks sharing
        its missing-fraction column) is blanked (NaN
        features, missing fraction 1): for the base models, so they learn what an absent
        modality means, and separately for the meta-learner, whose row then gets the
        base model's posterior for a blank input. The meta-learner's dropout blanks the
        block in whole sequences (every row of a chosen sequence) when ``sequences`` are
        passed to ``fit``, as a modality missing from a whole recording would be, so its
        temporal context is blank too.
    context_offsets : sequence of int, default=()
        Temporal context of the meta-learner: for each offset, the block log-posteriors of
        the row at that distance in the same sequence (in the units of the ``positions``
        passed to ``fit`` and ``predict_proba``, e.g. frames; rows when none are passed),
        see :func:`context_features`.
    sequence_mean : bool or "auto", default=False
        Also give the meta-learner the mean of the block log-posteriors and of the missing
        fractions over each row's sequence (its recording): what the recording as a whole
        looks like to each modality. ``"auto"`` decides by grouped cross-validation: both
        are candidates of the meta-learner's grid (``final_grid``), scored alike.
    meta_per_absence : bool, default=False
        Also fit one meta-learner per set of absent modalities (each subset of the
        missing-fraction columns but the empty and the full one), on the meta-features
        without those modalities' inputs, with the meta-learner's chosen setting. A sequence
        (recording; a row, without ``sequences``) whose missing fraction is 1 on every row
        for some modalities is predicted by the meta-learner of exactly that set: it
        weighs the remaining modalities as if the absent ones had never existed, which a
        single linear meta-learner trained with dropout cannot fully do. Costs
        ``2**n_modalities - 2`` more meta-learner fits, plus fold fits for the sets absent
        in training sequences (their ``oof_proba_`` rows come from them).
    base_fallback : bool, default=False
        If one base model's out-of-fold posteriors have a lower (weighted) log-loss than the
        chosen meta-learner's, predict with that base model alone (``final_block_``): on a
        small training set a meta-learner can lose to its best input. With
        ``meta_per_absence``, the same choice is made for each set of absent modalities seen
        in training, on its rows, among the base models of the present modalities
        (``absence_blocks_``); without it, a row lacking the chosen model's modality gets
        that model's blank-input answer. The meta-learners are fitted either way.
    blocks : callable, default=None
        Resolves the blocks at fit time from the feature names of ``X`` (a DataFrame):
        called with them, it returns a dict with any of ``modality_columns``,
        ``missing_columns``, ``estimator`` and ``base_grid``, which then replace those
        parameters (e.g. :class:`ModalityBlocks`: one set of base models per modality
        present). None: the parameters as given.
    tune_rounds : bool, default=True
        For LightGBM and XGBoost base estimators, choose each block's number of boosting
        rounds by grouped cross-validation: the fold models are fitted with the
        estimator's ``n_estimators`` as a ceiling, their out-of-fold posteriors are scored
        (weighted log-loss) after each of :func:`round_checkpoints` rounds, and the best
        count is used for the out-of-fold posteriors and the refit. Other estimators are
        used as given.
    random_state : int, RandomState or None, default=None
        Seeds the folds, the dropout and the base estimators.
    n_jobs : int, default=1
        Base models fitted in parallel (joblib). Results do not depend on it as long as the
        base estimator is itself deterministic (the default LightGBM is single-threaded).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has feature names.
    blocks_ : dict of str to ndarray of int
        Column positions of each block (its missing-fraction column included).
    block_params_ : dict
        The ``modality_columns``, ``missing_columns``, ``estimator`` and ``base_grid`` used
        (those ``blocks`` resolved, or the parameters).
    missing_positions_ : dict of str to int or None
        Position of each block's missing-fraction column in ``X``.
    estimators_ : dict of str to classifier
        Base models refitted on all training rows.
    base_params_ : dict of str to dict
        The chosen setting of each block of ``base_grid`` (empty for the other blocks).
    base_scores_ : dict of str to list of dict
        For each block of ``base_grid``, every setting tried with its out-of-fold log-loss.
    n_rounds_ : dict of str to (int or None)
        Boosting rounds chosen for each block (None when not tuned).
    round_losses_ : dict of str to dict of int to float
        Out-of-fold log-loss of each block at each checkpoint (empty when not tuned).
    base_classes_ : dict of str to ndarray of int
        For each base model, the index in ``classes_`` of its own labels 0..k-1 (base
        models are fitted on labels re-encoded to be contiguous).
    final_estimator_ : classifier
        The meta-learner fitted on the out-of-fold meta-features.
    final_params_ : dict
        The chosen setting of ``final_grid`` (empty when there was nothing to choose).
    sequence_mean_ : bool
        Whether the meta-learner uses the sequence means (``sequence_mean``, or the choice
        made for ``"auto"``).
    final_scores_ : list of dict
        Every setting tried (``final_grid`` and ``sequence_mean``), with its out-of-fold
        log-loss.
    final_block_ : str or None
        With ``base_fallback``: the base model that predicts instead of the meta-learner, or
        None when the meta-learner scored better.
    absence_blocks_ : dict of int to str
        With ``base_fallback`` and ``meta_per_absence``: the sets of absent modalities (bit
        masks) predicted by a base model instead of their meta-learner.
    absence_estimators_ : dict of int to classifier
        With ``meta_per_absence``: the meta-learner of each set of absent modalities, keyed
        by a bit mask over ``absence_units_`` (bit ``i`` set: unit ``i`` absent).
    absence_units_ : list of tuple of str
        The blocks of each absence unit (blocks sharing a missing-fraction column), in the
        order of the bits of ``absence_estimators_``'s keys.
    blank_proba_ : dict of str to (ndarray of shape (n_classes,) or None)
        Each final base model's posterior for a blank (absent) input; None without dropout
        (the base estimator then need not accept NaN).
    folds_ : list of (ndarray, ndarray)
        The (train, validation) row indices used.
    oof_proba_ : ndarray of shape (n_samples, n_classes)
        Out-of-fold posteriors of the whole stack: for each fold, a meta-learner fitted on
        the other folds' meta-features predicts the fold's rows (without dropout), with the
        chosen ``final_params_`` (so slightly optimistic when there was a choice). Use it to
        tune what comes after the classifier.
    base_oof_proba_ : dict of str to ndarray of shape (n_samples, n_classes)
        Out-of-fold posteriors of each base model (without dropout).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 120)
    >>> X = np.c_[y + rng.normal(size=120), rng.normal(size=120), y - rng.normal(size=120)]
    >>> clf = StackedModalityClassifier(
    ...     estimator=HistGradientBoostingClassifier(max_iter=20),
    ...     final_estimator=LogisticRegression(),
    ...     modality_columns={"a": [0, 1], "b": [2]}, cv=3, random_state=0,
    ... ).fit(X, y, groups=np.arange(120) // 4)
    >>> clf.oof_proba_.shape, clf.predict(X[:3]).shape
    ((120, 2), (3,))
    """

    def __init__(
        self,
        estimator=None,
        final_estimator=None,
        final_grid=None,
        base_grid=None,
        modality_columns=None,
        missing_columns=None,
        cv=5,
        modality_dropout=0.0,
        context_offsets=(),
        sequence_mean=False,
        meta_per_absence=False,
        base_fallback=False,
        blocks=None,
        tune_rounds=True,
        random_state=None,
        n_jobs=1,
    ):
        self.estimator = estimator
        self.final_estimator = final_estimator
        self.final_grid = final_grid
        self.base_grid = base_grid
        self.modality_columns = modality_columns
        self.missing_columns = missing_columns
        self.cv = cv
        self.modality_dropout = modality_dropout
        self.context_offsets = context_offsets
        self.sequence_mean = sequence_mean
        self.meta_per_absence = meta_per_absence
        self.base_fallback = base_fallback
        self.blocks = blocks
        self.tune_rounds = tune_rounds
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # ------------------------------------------------------------------ validation

    def _column_position(self, column):
        if isinstance(column, (numbers.Integral, np.integer)) and not isinstance(column, bool):
            if not 0 <= column < self.n_features_in_:
                raise ValueError(f"column index {column} is out of range for {self.n_features_in_} features")
            return int(column)
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            raise ValueError(f"column {column!r} given by name, but X has no feature names")
        matches = np.flatnonzero(names == column)
        if matches.size == 0:
            raise ValueError(f"column {column!r} is not a column of X")
        return int(matches[0])

    def _block_params(self):
        """``modality_columns``, ``missing_columns``, ``estimator``, ``base_grid``: resolved by ``blocks`` or as given."""
        params = {
            "modality_columns": self.modality_columns, "missing_columns": self.missing_columns,
            "estimator": self.estimator, "base_grid": self.base_grid,
        }
        if self.blocks is not None:
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise ValueError("blocks resolves the blocks from feature names, but X has none (pass a DataFrame)")
            resolved = self.blocks([str(name) for name in names])
            unknown = sorted(set(resolved) - set(params))
            if unknown:
                raise ValueError(f"blocks returned unknown parameter(s) {unknown}")
            params.update(resolved)
        return params

    def _resolve_blocks(self):
        modality_columns = self.block_params_["modality_columns"]
        if modality_columns is None:
            blocks = {"all": np.arange(self.n_features_in_)}
        else:
            if not isinstance(modality_columns, dict) or not modality_columns:
                raise ValueError("modality_columns must be a non-empty dict of block name -> columns, or None")
            blocks = {}
            for name, columns in modality_columns.items():
                positions = [self._column_position(c) for c in columns]
                if not positions:
                    raise ValueError(f"block {name!r} has no columns")
                blocks[name] = np.asarray(positions, dtype=np.int64)
        missing = {name: None for name in blocks}
        for name, column in (self.block_params_["missing_columns"] or {}).items():
            if name not in blocks:
                raise ValueError(f"missing_columns names block {name!r}, which modality_columns does not define")
            missing[name] = self._column_position(column)
            if missing[name] not in blocks[name]:
                blocks[name] = np.append(blocks[name], missing[name])
        return blocks, missing

    def _make_folds(self, X, y, groups, rng):
        seed = int(rng.randint(2**31 - 1))
        if isinstance(self.cv, numbers.Integral) and not isinstance(self.cv, bool):
            if self.cv < 2:
                raise ValueError(f"cv must be at least 2, got {self.cv}")
            if groups is not None:
                n_groups = np.unique(groups).size
                if n_groups < 2:
                    raise ValueError("grouped folds need at least 2 distinct groups")
                splitter = StratifiedGroupKFold(min(self.cv, n_groups), shuffle=True, random_state=seed)
            else:
                smallest_class = np.bincount(y).min()
                if smallest_class >= 2:
                    splitter = StratifiedKFold(min(self.cv, smallest_class), shuffle=True, random_state=seed)
                else:
                    splitter = KFold(min(self.cv, X.shape[0]), shuffle=True, random_state=seed)
            folds = splitter.split(X, y, groups)
        elif hasattr(self.cv, "split"):
            folds = self.cv.split(X, y, groups)
        else:
            folds = self.cv
        folds = [(np.asarray(train), np.asarray(valid)) for train, valid in folds]
        if not folds:
            raise ValueError("cv produced no folds")
        covered = np.zeros(X.shape[0], dtype=bool)
        for _, valid in folds:
            covered[valid] = True
        if not covered.all():
            raise ValueError("every row must be in the validation part of a fold (cv must partition the rows)")
        return folds

    def _dropout_blocks(self, n_samples, n_units, rng):
        """Dropout unit (see :meth:`_dropout_units`) to blank for each row, -1 where nothing is blanked."""
        chosen = rng.randint(n_units, size=n_samples)
        return np.where(rng.random_sample(n_samples) < self.modality_dropout, chosen, -1)

    # ------------------------------------------------------------------ meta features

    def _meta_features(self, block_proba, missing_fractions, sequences, positions, sequence_mean, absent=0):
        """Log-posteriors of every block, the missing fractions, then their temporal context;
        without the blocks and missing fractions of the absence units in bit mask ``absent``."""
        kept = [i for i in range(len(self._missing_order())) if not absent >> i & 1]
        names = self._present_blocks(absent)
        logs = np.hstack([np.log(np.clip(block_proba[name], PROBA_FLOOR, 1.0)) for name in names])
        missing_fractions = missing_fractions[:, kept]
        parts = [logs, missing_fractions]
        if len(self.context_offsets):
            parts.append(context_features(logs, sequences, positions, offsets=self.context_offsets))
        if sequence_mean:
            means = context_features(np.hstack([logs, missing_fractions]), sequences, positions, sequence_mean=True)
            parts.append(means)
        return np.hstack(parts)

    def _check_sequences(self, X, sequences, positions):
        """Sequences and positions as arrays of one entry per row (or None)."""
        checked = []
        for name, values in (("sequences", sequences), ("positions", positions)):
            if values is not None:
                values = np.asarray(values)
                if values.ndim != 1 or values.shape[0] != X.shape[0]:
                    raise ValueError(f"{name} has shape {values.shape}, expected ({X.shape[0]},)")
                if name == "positions" and not np.issubdtype(values.dtype, np.integer):
                    raise ValueError(f"positions must be integers, got dtype {values.dtype}")
            checked.append(values)
        return checked

    def _missing_order(self):
        """The distinct missing-fraction columns, in the order of the blocks naming them."""
        order = []
        for position in self.missing_positions_.values():
            if position is not None and position not in order:
                order.append(position)
        return order

    def _present_blocks(self, absent):
        """The blocks outside the absence units in bit mask ``absent`` (bit ``i``: the ``i``-th
        missing-fraction column of :meth:`_missing_order`), in block order."""
        order = self._missing_order()
        return [
            name for name, position in self.missing_positions_.items()
            if position is None or not absent >> order.index(position) & 1
        ]

    def _absent_masks(self, missing_fractions, sequences):
        """Bit mask of the modalities (missing-fraction columns) absent from each row's whole
        sequence (from the row alone without sequences): missing fraction 1 on all its rows."""
        codes = sequence_codes(sequences, missing_fractions.shape[0])
        masks = np.zeros(missing_fractions.shape[0], dtype=np.int64)
        if not missing_fractions.shape[0]:
            return masks
        for i in range(missing_fractions.shape[1]):
            lowest = np.full(codes.max() + 1, np.inf)
            np.minimum.at(lowest, codes, missing_fractions[:, i])
            masks |= (lowest[codes] >= 1.0).astype(np.int64) << i
        return masks

    def _dropout_units(self):
        """Block name -> index of its dropout unit: blocks sharing a missing-fraction column
        (one modality read by several base models) are blanked together."""
        units, unit_of = [], {}
        for name, position in self.missing_positions_.items():
            key = ("missing", position) if position is not None else ("block", name)
            if key not in units:
                units.append(key)
            unit_of[name] = units.index(key)
        return unit_of

    def _block_estimator(self, name):
        """The base classifier of one block."""
        estimator = self.block_params_["estimator"]
        if isinstance(estimator, dict):
            if name not in estimator:
                raise ValueError(f"estimator is a dict without an entry for block {name!r}")
            return estimator[name]
        return default_base_estimator() if estimator is None else estimator

    def _missing_fractions(self, X):
        columns = [np.nan_to_num(X[:, position].astype(np.float64), nan=1.0) for position in self._missing_order()]
        return np.column_stack(columns) if columns else np.zeros((X.shape[0], 0))

    # ------------------------------------------------------------------ fit / predict

    def fit(self, X, y, sample_weight=None, groups=None, sequences=None, positions=None):
        """Fit the base models out of fold, the meta-learner, and refit the base models.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            May contain NaN.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to every estimator whose ``fit`` accepts ``sample_weight``.
        groups : array-like of shape (n_samples,), default=None
            Group of each row (actor, else recording); no group is split across a fold.
        sequences : array-like of shape (n_samples,), default=None
            Sequence (recording) of each row, for ``context_offsets`` and
            ``sequence_mean``; None: every row is its own sequence.
        positions : array-like of shape (n_samples,), int, default=None
            Position of each row in its sequence (a window's first frame); None: row index.

        Returns
        -------
        self : StackedModalityClassifier
        """
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=[np.float32, np.float64])
        check_classification_targets(y)
        if self.sequence_mean not in (True, False, "auto"):
            raise ValueError(f"sequence_mean must be True, False or 'auto', got {self.sequence_mean!r}")
        if not 0.0 <= self.modality_dropout < 1.0:
            raise ValueError(f"modality_dropout must be in [0, 1), got {self.modality_dropout!r}")
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape[0] != X.shape[0]:
                raise ValueError(f"groups has {groups.shape[0]} entries for {X.shape[0]} rows")
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        n_classes = self.classes_.size
        if n_classes < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes, got 1 class")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        sequences, positions = self._check_sequences(X, sequences, positions)
        self.block_params_ = self._block_params()
        self.blocks_, self.missing_positions_ = self._resolve_blocks()
        rng = check_random_state(self.random_state)
        self.folds_ = self._make_folds(X, y_encoded, groups, rng)
        block_names = list(self.blocks_)
        # Dropout blanks a modality: every block reading the same missing-fraction column.
        unit_of = self._dropout_units()
        n_units = max(unit_of.values()) + 1
        base_dropout = self._dropout_blocks(X.shape[0], n_units, rng)
        # The meta-learner's dropout blanks a modality in whole sequences (rows, without them).
        codes = sequence_codes(sequences, X.shape[0])
        meta_dropout = self._dropout_blocks(codes.max() + 1, n_units, rng)[codes]
        seeds = rng.randint(2**31 - 1, size=len(block_names))
        base_grid = self._base_grid(block_names)
        searched = set(self.block_params_["base_grid"] or {})  # blocks with settings to choose from
        # The candidate base classifiers of every block: one, or one per setting of base_grid.
        base_candidates = {
            name: [clone(self._block_estimator(name)).set_params(**params) for params in base_grid[name]]
            for name in block_names
        }
        all_rows = np.arange(X.shape[0])

        checkpoints = {}
        for name in block_names:
            max_rounds = boosting_rounds(base_candidates[name][0]) if self.tune_rounds else None
            checkpoints[name] = [None] if max_rounds is None else round_checkpoints(max_rounds)
        # Only the refits' answers for a blank input are used (the same in every fold's rows).
        with_blank = self.modality_dropout > 0
        block_X = {name: X[:, self.blocks_[name]] for name in block_names}
        missing_in_block = {name: self._position_in_block(name) for name in block_names}

        # The fold models of every candidate of every block, in parallel.
        jobs = [(b, name, k) for b, name in enumerate(block_names) for k in range(len(base_candidates[name]))]
        fold_results = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_block)(
                base_candidates[name][k], seeds[b], block_X[name], y_encoded, sample_weight, train,
                base_dropout[train] == unit_of[name], missing_in_block[name], valid, n_classes, False,
                checkpoints[name],
            )
            for b, name, k in jobs
            for train, valid in self.folds_
        )
        n_folds = len(self.folds_)
        self.base_oof_proba_, self.n_rounds_, self.round_losses_ = {}, {}, {}
        self.base_params_, self.base_scores_ = {}, {}
        estimators, chosen = {}, {}
        for j, (b, name, k) in enumerate(jobs):
            block_results = fold_results[j * n_folds : (j + 1) * n_folds]
            oof, rounds, losses = _choose_rounds(
                self.folds_, block_results, checkpoints[name], y_encoded, sample_weight,
                tuned=checkpoints[name] != [None],
            )
            loss = lowest_log_loss(oof[None], y_encoded, sample_weight)[1][0]
            if name in searched:
                self.base_scores_.setdefault(name, []).append(dict(base_grid[name][k], log_loss=float(loss)))
            if name not in chosen or loss < chosen[name]:
                chosen[name] = loss
                self.base_oof_proba_[name], self.n_rounds_[name], self.round_losses_[name] = oof, rounds, losses
                estimators[name] = base_candidates[name][k]
                if name in searched:
                    self.base_params_[name] = base_grid[name][k]

        # The refits on all rows, with the chosen rounds.
        refits = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_block)(
                with_rounds(estimators[name], self.n_rounds_[name]), seeds[b], block_X[name], y_encoded,
                sample_weight, all_rows, base_dropout == unit_of[name], missing_in_block[name], None, n_classes,
                with_blank,
            )
            for b, name in enumerate(block_names)
        )
        self.estimators_, self.base_classes_, self.blank_proba_ = {}, {}, {}
        oof_dropped = {}
        missing = self._missing_fractions(X)
        missing_dropped = missing.copy()
        for b, name in enumerate(block_names):
            model, model_classes, _, blank_proba = refits[b]
            self.estimators_[name], self.base_classes_[name] = model, model_classes
            self.blank_proba_[name] = None if blank_proba is None else blank_proba[0]
            column = None
            if self.missing_positions_[name] is not None:
                column = self._missing_order().index(self.missing_positions_[name])
                missing_dropped[meta_dropout == unit_of[name], column] = 1.0
            if self.blank_proba_[name] is not None:
                # A blank input says nothing, so its out-of-fold posterior is the same in every
                # fold: the refit's answer, as at prediction. Each fold model's own blank answer
                # would differ slightly by fold, a difference the meta-learner could only overfit.
                if column is not None:
                    self.base_oof_proba_[name][missing[:, column] >= 1.0] = self.blank_proba_[name]
                dropped = self.base_oof_proba_[name].copy()
                dropped[meta_dropout == unit_of[name]] = self.blank_proba_[name]
            else:
                dropped = self.base_oof_proba_[name]
            oof_dropped[name] = dropped

        # The meta-learner's settings: its grid, with and without the sequence means for "auto".
        options = (False, True) if self.sequence_mean == "auto" else (bool(self.sequence_mean),)
        meta_clean = {o: self._meta_features(self.base_oof_proba_, missing, sequences, positions, o) for o in options}
        meta_train = {o: self._meta_features(oof_dropped, missing_dropped, sequences, positions, o) for o in options}
        final = default_final_estimator() if self.final_estimator is None else self.final_estimator
        settings = [(option, params) for option in options for params in self._final_grid()]
        final_seed = int(rng.randint(2**31 - 1))
        candidates = [self._told_experts(clone(final).set_params(**params), 0) for _, params in settings]
        staged = np.zeros((len(candidates), X.shape[0], n_classes))
        jobs = []
        for train, valid in self.folds_:
            if np.unique(y_encoded[train]).size < 2:  # the same prior whatever the setting
                prior = DummyClassifier(strategy="prior").fit(meta_train[options[0]][train], y_encoded[train])
                staged[:, valid] = _proba_all_classes(prior, meta_clean[options[0]][valid], n_classes)
                continue
            weight = None if sample_weight is None else sample_weight[train]
            jobs += [(k, train, valid, weight) for k in range(len(candidates))]
        # Every (fold, setting) meta-learner in parallel.
        fold_probas = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_and_predict)(
                _with_seed(candidates[k], final_seed), meta_train[settings[k][0]][train], y_encoded[train], weight,
                meta_clean[settings[k][0]][valid], n_classes,
            )
            for k, train, valid, weight in jobs
        )
        for (k, _, valid, _), proba in zip(jobs, fold_probas):
            staged[k, valid] = proba
        best, losses = lowest_log_loss(staged, y_encoded, sample_weight)
        self.sequence_mean_, self.final_params_ = settings[best]
        self.final_scores_ = [
            dict(params, sequence_mean=option, log_loss=float(loss)) for (option, params), loss in zip(settings, losses)
        ]
        self.oof_proba_ = staged[best]
        self.final_estimator_ = _fit(
            _with_seed(candidates[best], final_seed), meta_train[self.sequence_mean_], y_encoded, sample_weight
        )
        order = self._missing_order()
        self.absence_units_ = [tuple(n for n in self.blocks_ if self.missing_positions_[n] == p) for p in order]
        self.absence_estimators_, self.absence_blocks_ = {}, {}
        masks = self._absent_masks(missing, sequences)
        if self.meta_per_absence and len(order) > 1:
            self._fit_absence_meta(
                candidates[best], final_seed, oof_dropped, missing_dropped, missing, y_encoded, sample_weight,
                sequences, positions, n_classes, masks,
            )
        # A base model alone, where its out-of-fold posteriors beat the meta-learner's.
        main_rows = ~np.isin(masks, list(self.absence_estimators_))
        self.final_block_ = self._fallback(np.flatnonzero(main_rows), 0, y_encoded, sample_weight)
        return self

    def _fallback(self, rows, absent, y, sample_weight):
        """With ``base_fallback``: the base model (of a modality not in bit mask ``absent``)
        whose out-of-fold posteriors on ``rows`` have a lower log-loss than ``oof_proba_``
        there, which then takes its place; else None."""
        if not self.base_fallback or not rows.size:
            return None
        weight = _rows(sample_weight, rows)
        best_loss = lowest_log_loss(self.oof_proba_[rows][None], y[rows], weight)[1][0]
        chosen = None
        for name in self._present_blocks(absent):
            loss = lowest_log_loss(self.base_oof_proba_[name][rows][None], y[rows], weight)[1][0]
            if loss < best_loss:
                best_loss, chosen = loss, name
        if chosen is not None:
            self.oof_proba_[rows] = self.base_oof_proba_[chosen][rows]
        return chosen

    def _fit_absence_meta(
        self, final, seed, oof_dropped, missing_dropped, missing, y, sample_weight, sequences, positions, n_classes,
        masks,
    ):
        """The meta-learner of each set of absent modalities (``meta_per_absence``), and the
        out-of-fold posteriors of the training rows whose sequence lacks such a set."""
        subsets = range(1, 2 ** len(self._missing_order()) - 1)
        meta = {
            mask: self._meta_features(oof_dropped, missing_dropped, sequences, positions, self.sequence_mean_, mask)
            for mask in subsets
        }
        jobs = [(mask, np.arange(y.shape[0]), None) for mask in subsets]
        for mask in np.unique(masks):
            if mask not in meta:
                continue
            for train, valid in self.folds_:
                rows = valid[masks[valid] == mask]
                if rows.size and np.unique(y[train]).size > 1:
                    jobs.append((mask, train, rows))
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit)(
                _with_seed(self._told_experts(final, mask), seed), meta[mask][train], y[train], _rows(sample_weight, train)
            )
            for mask, train, _ in jobs
        )
        for (mask, _, rows), model in zip(jobs, results):
            if rows is None:
                self.absence_estimators_[int(mask)] = model
            else:
                # Out-of-fold rows: the clean meta-features (no dropout), as for the main meta-learner.
                clean = self._meta_features(
                    {n: p[rows] for n, p in self.base_oof_proba_.items()}, missing[rows],
                    _rows(sequences, rows), _rows(positions, rows), self.sequence_mean_, mask,
                )
                self.oof_proba_[rows] = _proba_all_classes(model, clean, n_classes)
        for mask in np.unique(masks):
            if int(mask) in self.absence_estimators_:
                block = self._fallback(np.flatnonzero(masks == mask), int(mask), y, sample_weight)
                if block is not None:
                    self.absence_blocks_[int(mask)] = block

    def _told_experts(self, estimator, absent):
        """A meta-learner with ``n_experts`` and ``n_expert_classes`` parameters (as
        :class:`~emo_gbm.ensemble.pooling.PooledLogisticRegression`) told which of its inputs are the
        log-posteriors of the blocks outside the absence units in bit mask ``absent``."""
        params = estimator.get_params(deep=False)
        if "n_experts" not in params or "n_expert_classes" not in params:
            return estimator
        return clone(estimator).set_params(n_experts=len(self._present_blocks(absent)), n_expert_classes=self.classes_.size)

    def _final_grid(self):
        """The meta-learner settings to choose from: a list of parameter dicts."""
        grid = self.final_grid
        if grid is None:
            grid = {"C": list(META_C_GRID)} if self.final_estimator is None else {}
        return _combinations(grid, "final_grid")

    def _base_grid(self, block_names):
        """Block name -> the settings of its base classifier to choose from (``[{}]``: none)."""
        grid = self.block_params_["base_grid"]
        grid = {} if grid is None else grid
        if not isinstance(grid, dict):
            raise ValueError(f"base_grid must be a dict of block name -> dict of parameter -> values, got {grid!r}")
        for name in grid:
            if name not in block_names:
                raise ValueError(f"base_grid names block {name!r}, which modality_columns does not define")
        return {name: _combinations(grid.get(name, {}), f"base_grid[{name!r}]") for name in block_names}

    def _position_in_block(self, name):
        position = self.missing_positions_[name]
        return None if position is None else int(np.flatnonzero(self.blocks_[name] == position)[0])

    def _base_proba(self, X):
        n_classes = self.classes_.size
        names = list(self.blocks_)
        probas = Parallel(n_jobs=self.n_jobs)(
            delayed(_proba_all_classes)(self.estimators_[name], X[:, self.blocks_[name]], n_classes, self.base_classes_[name])
            for name in names
        )
        return dict(zip(names, probas))

    def predict_proba(self, X, sequences=None, positions=None):
        """Posterior of each class.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sequences, positions : array-like of shape (n_samples,), default=None
            As for :meth:`fit`: the temporal context of the meta-learner comes from the
            rows of the same sequence given here.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "final_estimator_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=[np.float32, np.float64])
        sequences, positions = self._check_sequences(X, sequences, positions)
        block_proba, missing = self._base_proba(X), self._missing_fractions(X)
        if self.final_block_ is not None:
            proba = block_proba[self.final_block_].copy()
        else:
            meta = self._meta_features(block_proba, missing, sequences, positions, self.sequence_mean_)
            proba = _proba_all_classes(self.final_estimator_, meta, self.classes_.size)
        if self.absence_estimators_:
            masks = self._absent_masks(missing, sequences)
            for mask in map(int, np.unique(masks)):
                if mask not in self.absence_estimators_:
                    continue
                rows = np.flatnonzero(masks == mask)
                if mask in self.absence_blocks_:
                    proba[rows] = block_proba[self.absence_blocks_[mask]][rows]
                    continue
                meta = self._meta_features(
                    {n: p[rows] for n, p in block_proba.items()}, missing[rows],
                    _rows(sequences, rows), _rows(positions, rows), self.sequence_mean_, mask,
                )
                proba[rows] = _proba_all_classes(self.absence_estimators_[mask], meta, self.classes_.size)
        return proba

    def predict(self, X, sequences=None, positions=None):
        """Most probable class.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sequences, positions : array-like of shape (n_samples,), default=None
            As for :meth:`predict_proba`.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "final_estimator_")
        return self.classes_[np.argmax(self.predict_proba(X, sequences, positions), axis=1)]
