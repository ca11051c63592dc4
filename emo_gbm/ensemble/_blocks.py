"""The stack's blocks: which columns each base model reads, resolved from the window table's feature names."""

import numbers

import numpy as np
from sklearn.base import clone

from emo_gbm.ensemble._defaults import default_base_estimator
from emo_gbm.model_selection import param_combinations


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
    >>> from emo_gbm.ensemble import default_linear_expert
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


def resolve_block_params(stacker, n_features):
    """The stacker's ``modality_columns``, ``missing_columns``, ``estimator`` and ``base_grid``
    (resolved by its ``blocks`` from the feature names, or as given), with ``blocks``: block name
    -> column positions (its missing-fraction column included) and ``missing``: block name ->
    position of its missing-fraction column or None."""
    names = getattr(stacker, "feature_names_in_", None)
    params = {
        "modality_columns": stacker.modality_columns, "missing_columns": stacker.missing_columns,
        "estimator": stacker.estimator, "base_grid": stacker.base_grid,
    }
    if stacker.blocks is not None:
        if names is None:
            raise ValueError("blocks resolves the blocks from feature names, but X has none (pass a DataFrame)")
        resolved = stacker.blocks([str(name) for name in names])
        unknown = sorted(set(resolved) - set(params))
        if unknown:
            raise ValueError(f"blocks returned unknown parameter(s) {unknown}")
        params.update(resolved)

    def position(column):
        if isinstance(column, (numbers.Integral, np.integer)) and not isinstance(column, bool):
            if not 0 <= column < n_features:
                raise ValueError(f"column index {column} is out of range for {n_features} features")
            return int(column)
        if names is None:
            raise ValueError(f"column {column!r} given by name, but X has no feature names")
        matches = np.flatnonzero(names == column)
        if matches.size == 0:
            raise ValueError(f"column {column!r} is not a column of X")
        return int(matches[0])

    modality_columns = params["modality_columns"]
    if modality_columns is None:
        blocks = {"all": np.arange(n_features)}
    else:
        if not isinstance(modality_columns, dict) or not modality_columns:
            raise ValueError("modality_columns must be a non-empty dict of block name -> columns, or None")
        blocks = {}
        for name, columns in modality_columns.items():
            positions = [position(c) for c in columns]
            if not positions:
                raise ValueError(f"block {name!r} has no columns")
            blocks[name] = np.asarray(positions, dtype=np.int64)
    missing = {name: None for name in blocks}
    for name, column in (params["missing_columns"] or {}).items():
        if name not in blocks:
            raise ValueError(f"missing_columns names block {name!r}, which modality_columns does not define")
        missing[name] = position(column)
        if missing[name] not in blocks[name]:
            blocks[name] = np.append(blocks[name], missing[name])
    return dict(params, blocks=blocks, missing=missing)


def block_grid(base_grid, block_names):
    """Block name -> the settings of its base classifier to choose from (``[{}]``: none)."""
    grid = {} if base_grid is None else base_grid
    if not isinstance(grid, dict):
        raise ValueError(f"base_grid must be a dict of block name -> dict of parameter -> values, got {grid!r}")
    for name in grid:
        if name not in block_names:
            raise ValueError(f"base_grid names block {name!r}, which modality_columns does not define")
    return {name: param_combinations(grid.get(name, {}), f"base_grid[{name!r}]") for name in block_names}


def block_estimators(estimator, block_names):
    """Block name -> its base classifier: ``estimator`` for every block (None:
    :func:`~emo_gbm.ensemble._defaults.default_base_estimator`), or its entry when it is a dict.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> sorted(block_estimators(None, ["a", "b"]))
    ['a', 'b']
    >>> block_estimators({"a": LogisticRegression()}, ["a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: estimator is a dict without an entry for block 'b'
    """
    if not isinstance(estimator, dict):
        return {name: default_base_estimator() if estimator is None else estimator for name in block_names}
    for name in block_names:
        if name not in estimator:
            raise ValueError(f"estimator is a dict without an entry for block {name!r}")
    return {name: estimator[name] for name in block_names}
