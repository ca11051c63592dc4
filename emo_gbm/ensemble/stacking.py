"""Stacking of per-modality classifiers with grouped folds and modality dropout.

One base classifier per block of columns (one block per modality, or several reading the same
modality) is fitted; their out-of-fold posteriors, with each modality's missing fraction, are
the inputs of a meta-learner. scikit-learn's ``StackingClassifier`` cannot pass ``groups`` to
its splitter, and overlapping windows of one recording (or one actor) must never sit on both
sides of a fold, so this is its own small estimator; ``fit`` delegates to the pieces it is
made of: grouped folds and round selection (:mod:`emo_gbm.model_selection`), the blocks
(:mod:`emo_gbm.ensemble._blocks`), the base models (:mod:`emo_gbm.ensemble._base_models`),
the meta-learners and fall-backs (:mod:`emo_gbm.ensemble._meta`), dropout and absent
modalities (:mod:`emo_gbm.ensemble._absence`).
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from emo_gbm.ensemble._absence import absent_masks, draw_dropouts, dropout_units, missing_fractions, one_per_row
from emo_gbm.ensemble._base_models import base_proba, fit_base_models
from emo_gbm.ensemble._blocks import block_estimators, resolve_block_params
from emo_gbm.ensemble._meta import absence_proba, fit_meta, meta_features
from emo_gbm.model_selection import make_folds, proba_all_classes


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
        for the meta-learner's inputs and the refit (the rounds of a LightGBM or XGBoost
        candidate are chosen for each). ``None``: nothing to choose.
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
        Share of training rows in which one randomly chosen modality (the blocks sharing
        a missing-fraction column; none when there is a single one) is blanked (NaN
        features, missing fraction 1): for the base models, so they learn what an absent
        modality means, and separately for the meta-learner, whose row then gets the
        base model's posterior for a blank input. The meta-learner's dropout blanks the
        block in whole sequences (every row of a chosen sequence) when ``sequences`` are
        passed to ``fit``, as a modality missing from a whole recording would be.
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
    final_scores_ : list of dict
        Every setting of ``final_grid`` tried, with its out-of-fold log-loss.
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
        meta_per_absence=False,
        base_fallback=False,
        blocks=None,
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
        self.meta_per_absence = meta_per_absence
        self.base_fallback = base_fallback
        self.blocks = blocks
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y, sample_weight=None, groups=None, sequences=None):
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
            Sequence (recording) of each row: the unit of the meta-learner's dropout and of
            the absent modalities; None: every row is its own sequence.

        Returns
        -------
        self : StackedModalityClassifier
        """
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=[np.float32, np.float64])
        check_classification_targets(y)
        if not 0.0 <= self.modality_dropout < 1.0:
            raise ValueError(f"modality_dropout must be in [0, 1), got {self.modality_dropout!r}")
        groups = None if groups is None else one_per_row(X, groups, "groups")
        sequences = None if sequences is None else one_per_row(X, sequences, "sequences")
        self.classes_, y = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes, got 1 class")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        self.block_params_ = resolve_block_params(self, X.shape[1])
        self.blocks_, self.missing_positions_ = self.block_params_.pop("blocks"), self.block_params_.pop("missing")
        rng = check_random_state(self.random_state)
        self.folds_ = make_folds(self.cv, y, groups, int(rng.randint(2**31 - 1)))
        # Dropout blanks a modality (every block of its missing-fraction column); the
        # meta-learner's dropout blanks it in whole sequences (rows, without them).
        unit_of = dropout_units(self.missing_positions_)
        base_dropout, meta_dropout = draw_dropouts(rng, X.shape[0], unit_of, self.modality_dropout, sequences)
        seeds = rng.randint(2**31 - 1, size=len(self.blocks_))
        fitted = fit_base_models(
            block_estimators(self.block_params_["estimator"], self.blocks_), self.block_params_["base_grid"],
            self.blocks_, self.missing_positions_, self.folds_, X, y, sample_weight, seeds,
            {n: base_dropout == unit_of[n] for n in self.blocks_}, with_blank=self.modality_dropout > 0,
            n_jobs=self.n_jobs,
        )
        for name, value in fitted.items():
            setattr(self, name, value)
        fractions = missing_fractions(X, self.missing_positions_)
        meta_dropped = {n: meta_dropout == unit_of[n] for n in self.blocks_}
        fitted = fit_meta(self, fractions, meta_dropped, y, sample_weight, sequences, int(rng.randint(2**31 - 1)))
        for name, value in fitted.items():
            setattr(self, name, value)
        return self

    def _base_proba(self, X):
        """Each base model's posteriors (all classes) for the rows of ``X``, in parallel."""
        return base_proba(self.estimators_, self.blocks_, self.base_classes_, X, self.classes_.size, self.n_jobs)

    def predict_proba(self, X, sequences=None):
        """Posterior of each class.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sequences : array-like of shape (n_samples,), default=None
            As for :meth:`fit`: a sequence lacking a modality on all of its rows given here
            is predicted by the meta-learner (or base model) of that absence.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "final_estimator_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=[np.float32, np.float64])
        sequences = None if sequences is None else one_per_row(X, sequences, "sequences")
        block_proba = self._base_proba(X)
        fractions = missing_fractions(X, self.missing_positions_)
        if self.final_block_ is not None:
            proba = block_proba[self.final_block_].copy()
        else:
            meta = meta_features(block_proba, fractions, self.missing_positions_)
            proba = proba_all_classes(self.final_estimator_, meta, self.classes_.size)
        if self.absence_estimators_:
            absence_proba(proba, block_proba, fractions, absent_masks(fractions, sequences), self.absence_estimators_,
                          self.absence_blocks_, self.missing_positions_)
        return proba

    def predict(self, X, sequences=None):
        """Most probable class.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sequences : array-like of shape (n_samples,), default=None
            As for :meth:`predict_proba`.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "final_estimator_")
        return self.classes_[np.argmax(self.predict_proba(X, sequences), axis=1)]
