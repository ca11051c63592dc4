"""The stack's meta-learner: its inputs, the choice of its setting by out-of-fold log-loss, the
meta-learners of sets of absent modalities, and the fall-back to a single base model.

Plain functions of the stacker's fitted pieces (its ``missing_positions_``, the base models'
out-of-fold posteriors, ...): they keep nothing, so nothing of theirs is stored in a model.
Bit mask ``absent``: bit ``i`` set, the ``i``-th missing-fraction column
(:func:`~emo_gbm.ensemble._absence.missing_order`) is absent.
"""

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.dummy import DummyClassifier

from emo_gbm.ensemble._absence import absent_masks, missing_order, present_blocks
from emo_gbm.ensemble._defaults import PROBA_FLOOR, default_final_estimator, final_grid
from emo_gbm.model_selection import (
    fit_and_predict,
    fit_weighted,
    lowest_log_loss,
    proba_all_classes,
    take_rows,
    with_seed,
)


def meta_features(block_proba, fractions, missing_positions, absent=0):
    """Log-posteriors of every block (floored at :data:`PROBA_FLOOR`), then the missing
    fractions; without the blocks and missing fractions of the modalities in bit mask ``absent``.

    Examples
    --------
    >>> import numpy as np
    >>> proba = {"a": np.array([[0.5, 0.5]]), "b": np.array([[1.0, 0.0]])}
    >>> meta_features(proba, np.array([[0.0, 0.25]]), {"a": 3, "b": 7}).round(3).tolist()
    [[-0.693, -0.693, 0.0, -9.21, 0.0, 0.25]]
    >>> meta_features(proba, np.array([[0.0, 0.25]]), {"a": 3, "b": 7}, absent=0b01).round(3).tolist()
    [[0.0, -9.21, 0.25]]
    """
    kept = [i for i in range(fractions.shape[1]) if not absent >> i & 1]
    names = present_blocks(missing_positions, absent)
    logs = [np.log(np.clip(block_proba[name], PROBA_FLOOR, 1.0)) for name in names]
    return np.hstack(logs + [fractions[:, kept]])


def told_experts(estimator, missing_positions, n_classes, absent=0):
    """A meta-learner with ``n_experts`` and ``n_expert_classes`` parameters (as
    :class:`~emo_gbm.ensemble.pooling.PooledLogisticRegression`) told which of its inputs are the
    log-posteriors of the blocks outside the modalities in bit mask ``absent`` (a clone); any
    other meta-learner as it is.

    Examples
    --------
    >>> from emo_gbm.ensemble.pooling import PooledLogisticRegression
    >>> told = told_experts(PooledLogisticRegression(), {"a": 3, "a_linear": 3, "b": 7}, 6, absent=0b10)
    >>> told.n_experts, told.n_expert_classes
    (2, 6)
    """
    params = estimator.get_params(deep=False)
    if "n_experts" not in params or "n_expert_classes" not in params:
        return estimator
    n_experts = len(present_blocks(missing_positions, absent))
    return clone(estimator).set_params(n_experts=n_experts, n_expert_classes=n_classes)


def blank_absent_rows(base_oof_proba, blank_proba, fractions, missing_positions):
    """Set, in place, each base model's out-of-fold posteriors of the rows lacking its modality
    (missing fraction 1) to its refit's answer for a blank input (``blank_proba``; None: left).

    A blank input says nothing, so its out-of-fold posterior is the same in every fold: the
    refit's answer, as at prediction. Each fold model's own blank answer would differ slightly
    by fold, a difference the meta-learner could only overfit.
    """
    order = missing_order(missing_positions)
    for name, blank in blank_proba.items():
        if blank is not None and missing_positions[name] is not None:
            base_oof_proba[name][fractions[:, order.index(missing_positions[name])] >= 1.0] = blank


def dropped_inputs(base_oof_proba, blank_proba, fractions, missing_positions, dropped):
    """The base models' out-of-fold posteriors and the missing fractions as the meta-learner is
    trained on them: blanked in the rows ``dropped`` (block name -> bool per row) by its dropout.

    A block without a blank answer (``blank_proba`` None, no dropout) keeps its posteriors (the
    same array); the others are copies. Returns ``(block_proba, fractions)``.
    """
    order = missing_order(missing_positions)
    oof_dropped, fractions_dropped = {}, fractions.copy()
    for name, rows in dropped.items():
        if missing_positions[name] is not None:
            fractions_dropped[rows, order.index(missing_positions[name])] = 1.0
        if blank_proba[name] is None:
            oof_dropped[name] = base_oof_proba[name]
            continue
        oof_dropped[name] = base_oof_proba[name].copy()
        oof_dropped[name][rows] = blank_proba[name]
    return oof_dropped, fractions_dropped


def fit_meta_learner(final, settings, missing_positions, meta_train, meta_clean, y, sample_weight, folds, seed,
                     n_jobs=1):
    """Choose the meta-learner's setting by its out-of-fold log-loss (every fold and setting in
    parallel) and fit it on all rows.

    Parameters
    ----------
    final : classifier
        The meta-learner.
    settings : list of dict
        Its settings to choose from (:func:`~emo_gbm.ensemble._defaults.final_grid`).
    missing_positions : dict of str to int or None
    meta_train, meta_clean : ndarray of shape (n_samples, n_meta)
        The meta-features with the meta-learner's dropout (to fit on) and without (to score).
    y : ndarray of int of shape (n_samples,)
        Class indices 0..n_classes-1.
    sample_weight : ndarray or None
    folds : list of (ndarray, ndarray)
    seed : int
    n_jobs : int, default=1

    Returns
    -------
    fitted : dict
        The stacker's attributes ``final_params_``, ``final_scores_``, ``oof_proba_`` and
        ``final_estimator_``.
    chosen : classifier
        The chosen setting's meta-learner, unfitted.
    """
    n_classes = int(y.max()) + 1
    candidates = [told_experts(clone(final).set_params(**params), missing_positions, n_classes) for params in settings]
    staged = np.zeros((len(candidates), meta_train.shape[0], n_classes))
    jobs = []
    for train, valid in folds:
        if np.unique(y[train]).size < 2:  # the same prior whatever the setting
            prior = DummyClassifier(strategy="prior").fit(meta_train[train], y[train])
            staged[:, valid] = proba_all_classes(prior, meta_clean[valid], n_classes)
            continue
        jobs += [(k, train, valid) for k in range(len(candidates))]
    fold_probas = Parallel(n_jobs=n_jobs)(
        delayed(fit_and_predict)(
            with_seed(candidates[k], seed), meta_train[train], y[train], take_rows(sample_weight, train),
            meta_clean[valid], n_classes,
        )
        for k, train, valid in jobs
    )
    for (k, _, valid), proba in zip(jobs, fold_probas):
        staged[k, valid] = proba
    best, losses = lowest_log_loss(staged, y, sample_weight)
    fitted = {
        "final_params_": settings[best],
        "final_scores_": [dict(params, log_loss=float(loss)) for params, loss in zip(settings, losses)],
        "oof_proba_": staged[best],
        "final_estimator_": fit_weighted(with_seed(candidates[best], seed), meta_train, y, sample_weight),
    }
    return fitted, candidates[best]


def fit_absence_meta(final, seed, train_inputs, clean_inputs, masks, missing_positions, oof_proba, y, sample_weight,
                     folds, n_jobs=1):
    """The meta-learner of each set of absent modalities (``meta_per_absence``).

    Each is ``final`` fitted on all rows of the meta-features without the set's inputs. The
    training rows whose sequence lacks such a set (bit mask ``masks``) get out-of-fold
    posteriors from it, written into ``oof_proba`` (in place).

    Parameters
    ----------
    final : classifier
        The chosen meta-learner, unfitted.
    seed : int
    train_inputs, clean_inputs : (dict of str to ndarray, ndarray)
        Block posteriors and missing fractions with the meta-learner's dropout (to fit on)
        and without (to predict the out-of-fold rows).
    masks : ndarray of int of shape (n_samples,)
    missing_positions : dict of str to int or None
    oof_proba : ndarray of shape (n_samples, n_classes)
    y, sample_weight, folds, n_jobs
        As for :func:`fit_meta_learner`.

    Returns
    -------
    estimators : dict of int to classifier
        Bit mask -> its fitted meta-learner.
    """
    n_classes = oof_proba.shape[1]
    subsets = range(1, 2 ** len(missing_order(missing_positions)) - 1)
    meta = {mask: meta_features(*train_inputs, missing_positions, mask) for mask in subsets}
    jobs = [(mask, np.arange(y.shape[0]), None) for mask in subsets]
    for mask in np.unique(masks):
        if mask in meta:
            for train, valid in folds:
                rows = valid[masks[valid] == mask]
                if rows.size and np.unique(y[train]).size > 1:
                    jobs.append((mask, train, rows))
    results = Parallel(n_jobs=n_jobs)(
        delayed(fit_weighted)(
            with_seed(told_experts(final, missing_positions, n_classes, mask), seed), meta[mask][train], y[train],
            take_rows(sample_weight, train),
        )
        for mask, train, _ in jobs
    )
    estimators = {}
    block_proba, fractions = clean_inputs
    for (mask, _, rows), model in zip(jobs, results):
        if rows is None:
            estimators[int(mask)] = model
        else:  # out-of-fold rows: the clean meta-features (no dropout), as for the main meta-learner
            clean = meta_features({n: p[rows] for n, p in block_proba.items()}, fractions[rows], missing_positions,
                                  mask)
            oof_proba[rows] = proba_all_classes(model, clean, n_classes)
    return estimators


def fallback(rows, names, oof_proba, base_oof_proba, y, sample_weight):
    """The base model among ``names`` whose out-of-fold posteriors on ``rows`` have the lowest
    (weighted) log-loss, if lower than ``oof_proba``'s there; its posteriors then replace
    ``oof_proba[rows]`` (in place). None when no base model beats it (or no rows).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 1])
    >>> oof = np.full((2, 2), 0.5)
    >>> base = {"a": np.array([[0.9, 0.1], [0.2, 0.8]]), "b": np.array([[0.6, 0.4], [0.4, 0.6]])}
    >>> fallback(np.arange(2), ["a", "b"], oof, base, y, None), oof.tolist()
    ('a', [[0.9, 0.1], [0.2, 0.8]])
    """
    if not rows.size:
        return None
    weight = take_rows(sample_weight, rows)
    best_loss = lowest_log_loss(oof_proba[rows][None], y[rows], weight)[1][0]
    chosen = None
    for name in names:
        loss = lowest_log_loss(base_oof_proba[name][rows][None], y[rows], weight)[1][0]
        if loss < best_loss:
            best_loss, chosen = loss, name
    if chosen is not None:
        oof_proba[rows] = base_oof_proba[chosen][rows]
    return chosen


def absence_fallbacks(masks, absence_estimators, missing_positions, oof_proba, base_oof_proba, y, sample_weight):
    """:func:`fallback` for the rows of each set of absent modalities with a meta-learner,
    among the base models of the modalities present; returns bit mask -> the base model chosen."""
    blocks = {}
    for mask in map(int, np.unique(masks)):
        if mask in absence_estimators:
            names = present_blocks(missing_positions, mask)
            block = fallback(np.flatnonzero(masks == mask), names, oof_proba, base_oof_proba, y, sample_weight)
            if block is not None:
                blocks[mask] = block
    return blocks


def absence_proba(proba, block_proba, fractions, masks, absence_estimators, absence_blocks, missing_positions):
    """Replace, in place, the posteriors ``proba`` of the rows whose sequence lacks a set of
    modalities (bit mask ``masks``) that has its own meta-learner by that meta-learner's, or
    by its base model's (``absence_blocks``)."""
    for mask in map(int, np.unique(masks)):
        if mask not in absence_estimators:
            continue
        rows = np.flatnonzero(masks == mask)
        if mask in absence_blocks:
            proba[rows] = block_proba[absence_blocks[mask]][rows]
            continue
        meta = meta_features({n: p[rows] for n, p in block_proba.items()}, fractions[rows], missing_positions, mask)
        proba[rows] = proba_all_classes(absence_estimators[mask], meta, proba.shape[1])


def fit_meta(stacker, fractions, dropped, y, sample_weight, sequences, seed):
    """The meta-learner of a stacker whose base models are fitted, on their out-of-fold
    posteriors (blanked in the rows ``dropped`` by its dropout), the meta-learners of the sets
    of absent modalities (``meta_per_absence``) and the fall-backs (``base_fallback``).

    Sets the rows of ``stacker.base_oof_proba_`` lacking their modality to the blank answer
    (:func:`blank_absent_rows`).

    Parameters
    ----------
    stacker : StackedModalityClassifier
        Its parameters and its fitted ``blocks_``, ``missing_positions_``, ``folds_``,
        ``base_oof_proba_`` and ``blank_proba_``.
    fractions : ndarray of shape (n_samples, n_modalities)
        The missing fractions (:func:`~emo_gbm.ensemble._absence.missing_fractions`).
    dropped : dict of str to ndarray of bool
        Block name -> the rows where the meta-learner's dropout blanks it.
    y : ndarray of int of shape (n_samples,)
        Class indices 0..n_classes-1.
    sample_weight : ndarray or None
    sequences : ndarray or None
        Sequence of each row (the unit of the absent modalities).
    seed : int

    Returns
    -------
    fitted : dict
        The stacker's attributes ``final_params_``, ``final_scores_``, ``oof_proba_``,
        ``final_estimator_``, ``absence_units_``, ``absence_estimators_``, ``absence_blocks_``
        and ``final_block_``.
    """
    positions, base_oof = stacker.missing_positions_, stacker.base_oof_proba_
    blank_absent_rows(base_oof, stacker.blank_proba_, fractions, positions)
    train_inputs = dropped_inputs(base_oof, stacker.blank_proba_, fractions, positions, dropped)
    final = default_final_estimator() if stacker.final_estimator is None else stacker.final_estimator
    fitted, chosen = fit_meta_learner(
        final, final_grid(stacker.final_grid, stacker.final_estimator), positions,
        meta_features(*train_inputs, positions), meta_features(base_oof, fractions, positions),
        y, sample_weight, stacker.folds_, seed, stacker.n_jobs,
    )
    order = missing_order(positions)
    fitted["absence_units_"] = [tuple(n for n in stacker.blocks_ if positions[n] == p) for p in order]
    fitted["absence_estimators_"], fitted["absence_blocks_"] = {}, {}
    masks = absent_masks(fractions, sequences)
    outputs = (fitted["oof_proba_"], base_oof, y, sample_weight)
    if stacker.meta_per_absence and len(order) > 1:
        fitted["absence_estimators_"] = fit_absence_meta(
            chosen, seed, train_inputs, (base_oof, fractions), masks, positions, fitted["oof_proba_"],
            y, sample_weight, stacker.folds_, stacker.n_jobs,
        )
        if stacker.base_fallback:
            fitted["absence_blocks_"] = absence_fallbacks(masks, fitted["absence_estimators_"], positions, *outputs)
    # A base model alone, where its out-of-fold posteriors beat the meta-learner's.
    main_rows = np.flatnonzero(~np.isin(masks, list(fitted["absence_estimators_"])))
    fitted["final_block_"] = fallback(main_rows, present_blocks(positions, 0), *outputs) if stacker.base_fallback else None
    return fitted
