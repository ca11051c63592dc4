"""The stack's base models: fold models of every candidate of every block, the choice of each
block's candidate and boosting rounds by out-of-fold log-loss, the refits on all rows, and
their posteriors."""

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import clone

from emo_gbm.ensemble._blocks import block_grid
from emo_gbm.model_selection import (
    boosting_rounds,
    choose_rounds,
    fit_block,
    fit_cost,
    in_given_order,
    longest_first,
    lowest_log_loss,
    proba_all_classes,
    round_checkpoints,
    runs_alone,
    with_rounds,
)


def fit_base_models(estimators, base_grid, blocks, missing_positions, folds, X, y, sample_weight, seeds, blanked,
                    with_blank, n_jobs=1):
    """Fit and choose the base model of every block out of fold, then refit it on all rows.

    Parameters
    ----------
    estimators : dict of str to classifier
        Each block's base classifier.
    base_grid : dict or None
        Block name -> parameter -> values to choose from (the stacker's ``base_grid``).
    blocks : dict of str to ndarray of int
        Column positions of each block.
    missing_positions : dict of str to int or None
        Position of each block's missing-fraction column in ``X``.
    folds : list of (ndarray, ndarray)
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of int of shape (n_samples,)
        Class indices 0..n_classes-1.
    sample_weight : ndarray or None
    seeds : ndarray of int
        ``random_state`` of each block's models.
    blanked : dict of str to ndarray of bool
        Rows whose block is blanked (modality dropout).
    with_blank : bool
        Also record each refit's posterior for a blank input.
    n_jobs : int, default=1

    Returns
    -------
    fitted : dict
        The stacker's attributes ``base_oof_proba_``, ``n_rounds_``, ``round_losses_``,
        ``base_params_``, ``base_scores_``, ``estimators_``, ``base_classes_``, ``blank_proba_``.
    """
    n_classes, names = int(y.max()) + 1, list(blocks)
    grid = block_grid(base_grid, names)
    candidates = {n: [clone(estimators[n]).set_params(**params) for params in grid[n]] for n in names}
    checkpoints = {}
    for n in names:
        max_rounds = boosting_rounds(candidates[n][0])
        checkpoints[n] = [None] if max_rounds is None else round_checkpoints(max_rounds)
    block_X = {n: X[:, blocks[n]] for n in names}
    inner = {n: None if missing_positions[n] is None else int(np.flatnonzero(blocks[n] == missing_positions[n])[0])
             for n in names}
    jobs = [(b, n, k) for b, n in enumerate(names) for k in range(len(candidates[n]))]
    # The longest fits start first (the fitted models do not depend on the order).
    tasks = [(b, n, k, train, valid) for b, n, k in jobs for train, valid in folds]
    order = longest_first([fit_cost(candidates[n][k], block_X[n].shape[1]) for _, n, k, _, _ in tasks])
    fold_results = in_given_order(Parallel(n_jobs=n_jobs)(
        delayed(fit_block)(
            candidates[n][k], seeds[b], block_X[n], y, sample_weight, train, blanked[n][train], inner[n], valid,
            n_classes, False, checkpoints[n],
        )
        for b, n, k, train, valid in (tasks[i] for i in order)
    ), order)
    fitted, chosen = _choose_candidates(
        [(n, k) for _, n, k in jobs], fold_results, folds, checkpoints, candidates, grid, set(base_grid or {}), y,
        sample_weight,
    )
    # Only the refits' answers for a blank input are used (the same in every fold's rows).
    all_rows = np.arange(X.shape[0])
    final = {n: with_rounds(chosen[n], fitted["n_rounds_"][n]) for n in names}
    costs = [fit_cost(final[n], block_X[n].shape[1]) for n in names]
    order = longest_first(costs)
    # A refit that outweighs all the others runs first, alone, on every worker's thread (the
    # face block: one 200-round LightGBM on 1,001 columns, while the others are done in a third
    # of its time); the others then run side by side.
    workers = effective_n_jobs(n_jobs)
    batches = [(order[:1], workers), (order[1:], 1)] if runs_alone(costs, workers) else [(order, 1)]
    refits = []
    for batch, threads in batches:
        refits += Parallel(n_jobs=n_jobs)(
            delayed(fit_block)(
                final[n], seeds[b], block_X[n], y, sample_weight, all_rows, blanked[n], inner[n], None, n_classes,
                with_blank, n_threads=threads,
            )
            for b, n in ((b, names[b]) for b in batch)
        )
    refits = in_given_order(refits, order)
    fitted.update(estimators_={}, base_classes_={}, blank_proba_={})
    for n, (model, model_classes, _, blank_proba) in zip(names, refits):
        fitted["estimators_"][n], fitted["base_classes_"][n] = model, model_classes
        fitted["blank_proba_"][n] = None if blank_proba is None else blank_proba[0]
    return fitted


def _choose_candidates(jobs, fold_results, folds, checkpoints, candidates, grid, searched, y, sample_weight):
    """Each block's candidate (and its boosting rounds) of lowest out-of-fold log-loss.

    ``jobs`` are the ``(block, candidate index)`` of the fold fits, whose results are
    ``fold_results``, ``len(folds)`` for each job in turn; the first of equal losses wins.
    Returns the stacker's attributes ``base_oof_proba_``, ``n_rounds_``, ``round_losses_``,
    ``base_params_`` and ``base_scores_`` (those two for the blocks ``searched`` only), and
    block name -> the chosen candidate (unfitted).
    """
    fitted = {key: {} for key in ("base_oof_proba_", "n_rounds_", "round_losses_", "base_params_", "base_scores_")}
    chosen, lowest = {}, {}
    for j, (n, k) in enumerate(jobs):
        oof, rounds, losses = choose_rounds(
            folds, fold_results[j * len(folds) : (j + 1) * len(folds)], checkpoints[n], y, sample_weight,
            tuned=checkpoints[n] != [None],
        )
        loss = lowest_log_loss(oof[None], y, sample_weight)[1][0]
        if n in searched:
            fitted["base_scores_"].setdefault(n, []).append(dict(grid[n][k], log_loss=float(loss)))
        if n not in lowest or loss < lowest[n]:
            lowest[n], chosen[n] = loss, candidates[n][k]
            fitted["base_oof_proba_"][n], fitted["n_rounds_"][n], fitted["round_losses_"][n] = oof, rounds, losses
            if n in searched:
                fitted["base_params_"][n] = grid[n][k]
    return fitted, chosen


def base_proba(estimators, blocks, base_classes, X, n_classes, n_jobs=1):
    """Each base model's posteriors (all ``n_classes``) for the rows of ``X``, in parallel.

    Parameters
    ----------
    estimators : dict of str to classifier
        The refitted base models (the stacker's ``estimators_``).
    blocks : dict of str to ndarray of int
    base_classes : dict of str to ndarray of int
        The stacker's ``base_classes_``.
    X : ndarray of shape (n_samples, n_features)
    n_classes : int
    n_jobs : int, default=1

    Returns
    -------
    dict of str to ndarray of shape (n_samples, n_classes)
    """
    names = list(blocks)
    probas = Parallel(n_jobs=n_jobs)(
        delayed(proba_all_classes)(estimators[n], X[:, blocks[n]], n_classes, base_classes[n]) for n in names
    )
    return dict(zip(names, probas))
