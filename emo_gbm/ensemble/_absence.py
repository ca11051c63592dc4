"""Absent modalities in the stack: dropout units, which modalities a recording lacks, and routing.

A modality is a missing-fraction column: the blocks that share it are its base models. A
recording lacks a modality when the column is 1 on all of its rows; such recordings are
predicted by a meta-learner fitted without that modality's inputs (per-absence
meta-learners), or by the best base model of the modalities they have (fall-back).
"""

import numpy as np


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


def missing_order(missing_positions):
    """The distinct missing-fraction columns, in the order of the blocks naming them.

    Examples
    --------
    >>> missing_order({"a": 3, "a_linear": 3, "b": 7, "c": None})
    [3, 7]
    """
    order = []
    for position in missing_positions.values():
        if position is not None and position not in order:
            order.append(position)
    return order


def present_blocks(missing_positions, absent):
    """The blocks outside the modalities of bit mask ``absent`` (bit ``i``: the ``i``-th
    column of :func:`missing_order`), in block order.

    Examples
    --------
    >>> present_blocks({"a": 3, "a_linear": 3, "b": 7}, absent=0b01)
    ['b']
    """
    order = missing_order(missing_positions)
    return [
        name for name, position in missing_positions.items()
        if position is None or not absent >> order.index(position) & 1
    ]


def dropout_units(missing_positions):
    """Block name -> index of its dropout unit: blocks sharing a missing-fraction column
    (one modality read by several base models) are blanked together.

    Examples
    --------
    >>> dropout_units({"a": 3, "a_linear": 3, "b": 7, "c": None})
    {'a': 0, 'a_linear': 0, 'b': 1, 'c': 2}
    """
    units, unit_of = [], {}
    for name, position in missing_positions.items():
        key = ("missing", position) if position is not None else ("block", name)
        if key not in units:
            units.append(key)
        unit_of[name] = units.index(key)
    return unit_of


def draw_dropout(rng, n_samples, n_units, rate):
    """Dropout unit to blank for each of ``n_samples``, -1 where nothing is blanked (share ``rate``)."""
    chosen = rng.randint(n_units, size=n_samples)
    return np.where(rng.random_sample(n_samples) < rate, chosen, -1)


def draw_dropouts(rng, n_rows, unit_of, rate, sequences):
    """The dropout units blanked in each row (-1: none) for the base models, drawn per row, and
    for the meta-learner, drawn per sequence (per row without ``sequences``), in that order from
    ``rng``. With a single unit there is no other one to lean on: nothing is blanked then.

    Examples
    --------
    >>> import numpy as np
    >>> base, meta = draw_dropouts(np.random.RandomState(0), 4, {"a": 0, "b": 1}, 0.5, ["r", "r", "s", "s"])
    >>> base.shape, bool(meta[0] == meta[1]), bool(meta[2] == meta[3])
    ((4,), True, True)
    """
    n_units = max(unit_of.values()) + 1
    # With a single modality there is no other one to lean on: blanking it only corrupts training.
    rate = rate if n_units > 1 else 0.0
    base = draw_dropout(rng, n_rows, n_units, rate)
    codes = sequence_codes(sequences, n_rows)
    return base, draw_dropout(rng, codes.max() + 1, n_units, rate)[codes]


def one_per_row(X, values, name):
    """``values`` (e.g. the groups or sequences of the rows) as an array, checked to have one
    entry per row of ``X``."""
    values = np.asarray(values)
    if values.ndim != 1 or values.shape[0] != X.shape[0]:
        raise ValueError(f"{name} has shape {values.shape}, expected ({X.shape[0]},)")
    return values


def missing_fractions(X, missing_positions):
    """The missing-fraction columns of ``X`` in :func:`missing_order`, NaN read as 1 (absent)."""
    columns = [np.nan_to_num(X[:, p].astype(np.float64), nan=1.0) for p in missing_order(missing_positions)]
    return np.column_stack(columns) if columns else np.zeros((X.shape[0], 0))


def absent_masks(fractions, sequences):
    """Bit mask of the modalities absent from each row's whole sequence (from the row alone
    without sequences): missing fraction 1 on all of the sequence's rows.

    Examples
    --------
    >>> import numpy as np
    >>> fractions = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> absent_masks(fractions, ["r", "r", "s"]).tolist()
    [1, 1, 2]
    """
    codes = sequence_codes(sequences, fractions.shape[0])
    masks = np.zeros(fractions.shape[0], dtype=np.int64)
    if not fractions.shape[0]:
        return masks
    for i in range(fractions.shape[1]):
        lowest = np.full(codes.max() + 1, np.inf)
        np.minimum.at(lowest, codes, fractions[:, i])
        masks |= (lowest[codes] >= 1.0).astype(np.int64) << i
    return masks
