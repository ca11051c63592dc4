"""Windows of a recording: their starts, labels, and the feature rows of one recording."""

import functools

import numpy as np
import pandas as pd

from emo_gbm.constants import EMOTIONS
from emo_gbm.data.recording import order_modalities
from emo_gbm.features._sets import _COUNT_TIE_BREAK
from emo_gbm.features._names import (
    F0_COLUMN, UNVOICED_CODES, VOICED_ONLY, feature_names, resolve_statistics, sanitize_column_names, summarised_columns,
    _column_plan, _is_positional,
)
from emo_gbm.features._statistics import _column_statistics, _divide, _window_sums


def window_starts(n_frames, length, hop):
    """First frame of each window covering a recording of ``n_frames`` frames.

    Windows start every ``hop`` frames; one last window is aligned to the end when the
    regular ones leave a tail uncovered, so every frame lies in at least one window. A
    recording shorter than ``length`` gets one window starting at 0 (the caller pads).

    Parameters
    ----------
    n_frames : int
        Number of frames of the recording.
    length : int
        Window length in frames.
    hop : int
        Step between window starts in frames.

    Returns
    -------
    starts : ndarray of shape (n_windows,), int64

    Examples
    --------
    >>> window_starts(1000, 400, 100).tolist()
    [0, 100, 200, 300, 400, 500, 600]
    >>> window_starts(950, 400, 100).tolist()
    [0, 100, 200, 300, 400, 500, 550]
    >>> window_starts(250, 400, 100).tolist()
    [0]
    """
    if length <= 0 or hop <= 0:
        raise ValueError(f"window length and hop must be positive, got {length} and {hop}")
    if n_frames <= length:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, n_frames - length + 1, hop, dtype=np.int64)
    if starts[-1] + length < n_frames:
        starts = np.append(starts, np.int64(n_frames - length))
    return starts




def window_labels(labels, agreement, starts, stops):
    """Agreement-weighted majority class and mean agreement of each window ``[start, stop)``.

    Returns ``(labels, weight)``: int8 class per window (-1 when ``labels`` is None) and float32
    mean agreement (1 when unknown).

    Examples
    --------
    >>> import numpy as np
    >>> classes, weight = window_labels(np.array([0, 0, 1, 1, 1]), np.array([1, 1, 0.2, 0.2, 0.2]),
    ...                                 np.array([0]), np.array([5]))
    >>> classes.tolist(), round(float(weight[0]), 2)
    ([0], 0.52)
    """
    n_classes = len(EMOTIONS)
    if labels is None:
        return np.full(len(starts), -1, dtype=np.int8), np.ones(len(starts), dtype=np.float32)
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"frame labels must lie in 0..{n_classes - 1}")
    if agreement is None:
        agreement = np.ones(labels.shape[0], dtype=np.float32)
    one_hot = np.zeros((labels.shape[0], n_classes), dtype=np.float64)
    one_hot[np.arange(labels.shape[0]), labels] = 1.0
    weighted = one_hot * (np.asarray(agreement, dtype=np.float64)[:, None] + _COUNT_TIE_BREAK)
    class_mass = _window_sums(weighted, starts, stops)
    window_labels = class_mass.argmax(axis=1).astype(np.int8)
    mean_agreement = _window_sums(np.asarray(agreement, dtype=np.float64), starts, stops)
    mean_agreement = mean_agreement / (stops - starts)
    return window_labels, mean_agreement.astype(np.float32)




def _matching_columns(recording, modality, expected):
    """Check that ``recording``'s columns of ``modality`` are ``expected`` (sanitised names).

    Positional names on either side (a file without a header, arrays without names) match
    any names of the same count.
    """
    width = np.shape(recording.streams[modality])[1]
    found = sanitize_column_names(recording.column_names(modality))
    if len(found) != width:
        raise ValueError(f"recording {recording.rec_id}: {modality} names {len(found)} columns for {width} features")
    if found == tuple(expected) or (len(found) == len(expected) and (_is_positional(found) or _is_positional(expected))):
        return
    if len(found) != len(expected):
        detail = f"{len(found)} feature columns, expected {len(expected)}"
    else:
        j = next(k for k, (a, b) in enumerate(zip(found, expected)) if a != b)
        detail = f"column {j + 1} is {found[j]!r}, expected {expected[j]!r}"
    raise ValueError(f"recording {recording.rec_id}: {modality} has other columns than the featurizer was fitted on "
                     f"({detail})")


@functools.lru_cache(maxsize=16)
def _names_of(modalities, statistics, columns, voicing):
    """:func:`feature_names` of one schema (tuples), worked out once per process: every
    recording of a split has the same."""
    return feature_names(modalities, statistics, dict(zip(modalities, columns)), voicing)


def with_voicing(stream, names):
    """``stream`` (frames x ``names``, NaN on missing frames) followed by the columns
    :func:`~emo_gbm.features.voicing_columns` names: the voiced-only descriptors with their
    unvoiced codes as NaN, then whether F0 is defined (1), undefined (0) or missing (NaN).

    Examples
    --------
    >>> import numpy as np
    >>> stream = np.array([[30.0, 1.0, -50.0], [0.0, 1.0, -201.0], [np.nan, np.nan, np.nan]])
    >>> with_voicing(stream, ("F0semitoneFrom27.5Hz_sma3nz", "Loudness_sma3", "F1amplitudeLogRelF0_sma3nz"))[:, 3:].tolist()
    [[30.0, -50.0, 1.0], [nan, nan, 0.0], [nan, nan, nan]]
    """
    names = tuple(names)
    positions = [j for j, name in enumerate(names) if name in VOICED_ONLY]
    if not positions:
        return stream
    values = stream[:, positions]
    unvoiced = np.isin(values, UNVOICED_CODES)
    added = [np.where(unvoiced, np.nan, values)]
    if F0_COLUMN in names:
        f0 = stream[:, names.index(F0_COLUMN)]
        added.append(np.where(np.isfinite(f0), (~np.isin(f0, UNVOICED_CODES)).astype(stream.dtype), np.nan)[:, None])
    return np.concatenate([stream] + added, axis=1)


def featurize_recording(recording, length=400, hop=100, stats="default", modalities=None, columns=None, voicing=False):
    """Window table of one recording: meta columns, then features (see :class:`WindowFeaturizer`).

    Parameters
    ----------
    recording : Recording
        An aligned recording.
    length, hop : int
        Window length and hop in frames.
    stats : str or list of str
        A feature set name or a list of statistic names.
    modalities : sequence of str, optional
        Modalities to summarise, in output order. None: those of ``columns``, else every
        modality of the recording (:func:`~emo_gbm.data.recording.order_modalities`).
    columns : dict of str to sequence of str, optional
        Modality -> the columns to expect (as fitted): a modality the recording lacks gets
        NaN statistics and missing fraction 1. None: the recording's own columns.
    voicing : bool or "both", default=False
        How openSMILE's voiced-only descriptors are read: as given, over voiced frames with
        the voiced share (True), or both (:func:`~emo_gbm.features.summarised_columns`).

    Returns
    -------
    windows : DataFrame
        Columns :data:`META_COLUMNS`, then the features (float32).

    Examples
    --------
    >>> import numpy as np
    >>> from emo_gbm.data.recording import Recording
    >>> rec = Recording.empty("id00000001", np.arange(500) / 100)
    >>> table = featurize_recording(rec, length=400, hop=100, stats="minimal")
    >>> table[["start", "stop", "audio__missing_frac", "audio__c000__mean"]].values.tolist()
    [[0.0, 400.0, 1.0, nan], [100.0, 500.0, 1.0, nan]]
    """
    statistics = resolve_statistics(stats)
    if modalities is None:
        modalities = list(columns) if columns is not None else order_modalities(recording.streams)
    if columns is None:
        columns = {m: recording.column_names(m) for m in modalities if m in recording.streams}
    columns = {m: sanitize_column_names(columns[m]) for m in modalities}
    n_frames = recording.n_frames
    starts = window_starts(n_frames, length, hop)
    stops = np.minimum(starts + length, n_frames)
    blocks = []
    for modality in modalities:
        labels, positions = summarised_columns(columns[modality], voicing)
        plan = _column_plan(modality, statistics, len(labels))
        if modality not in recording.streams:
            # a modality this recording does not have at all: absent on every frame
            blocks.append(np.ones((len(starts), 1)))
            n_stats = sum(len(indices) * len(stat_names) for indices, stat_names in plan)
            blocks.append(np.full((len(starts), n_stats), np.nan))
            continue
        _matching_columns(recording, modality, columns[modality])
        present = np.asarray(recording.present[modality], dtype=bool)
        missing = _divide(_window_sums(~present, starts, stops), stops - starts)
        # A frame with no data but a zero count would divide by zero: such windows are
        # only those of an empty recording, which are entirely missing.
        blocks.append(np.where(np.isfinite(missing), missing, 1.0)[:, None])
        stream = np.asarray(recording.streams[modality], dtype=np.float32)
        stream = np.where(present[:, None], stream, np.nan)
        if positions != tuple(range(stream.shape[1])):
            stream = with_voicing(stream, columns[modality])[:, positions]
        per_column = {}
        for indices, stat_names in plan:
            column_stats = _column_statistics(stream[:, indices], starts, stops, length, stat_names)
            for position, j in enumerate(indices):
                per_column[int(j)] = column_stats[:, position, :]
        if per_column:
            blocks.append(np.concatenate([per_column[j] for j in sorted(per_column)], axis=1))
    features = np.concatenate(blocks, axis=1).astype(np.float32)
    labels, weight = window_labels(recording.labels, recording.agreement, starts, stops)
    group = recording.meta.get("actor") if recording.meta else None
    meta = pd.DataFrame(
        {
            "rec_id": np.full(len(starts), recording.rec_id, dtype=object),
            "start": starts,
            "stop": stops,
            "group": np.full(len(starts), str(group if group is not None else recording.rec_id), dtype=object),
            "label": labels,
            "weight": weight,
        }
    )
    names = _names_of(tuple(modalities), tuple(statistics), tuple(columns[m] for m in modalities), voicing)
    return pd.concat([meta, pd.DataFrame(features, columns=names)], axis=1)
