"""Feature names: ``<modality>__<source column>__<statistic>``, and back from names to columns."""

import functools
import re

import numpy as np

from emo_gbm.constants import EYE_FLAG_COLUMNS, MODALITIES, N_FEATURES
from emo_gbm.data.recording import positional_columns
from emo_gbm.features._sets import CONTINUOUS_STATISTICS, FEATURE_SETS, FLAG_STATISTICS, STATISTICS


def resolve_statistics(stats):
    """The list of statistic names that ``stats`` stands for.

    Parameters
    ----------
    stats : str or list of str
        The name of a feature set of :data:`FEATURE_SETS`, or a list of statistic names
        from :data:`STATISTICS`.

    Returns
    -------
    statistics : list of str
        Without duplicates, in the order of :data:`STATISTICS`.

    Examples
    --------
    >>> resolve_statistics("minimal")
    ['mean', 'std']
    >>> resolve_statistics(["slope", "mean"])
    ['mean', 'slope']
    """
    if isinstance(stats, str):
        if stats not in FEATURE_SETS:
            raise ValueError(f"unknown feature set {stats!r}; known: {sorted(FEATURE_SETS)}")
        names = FEATURE_SETS[stats]
    else:
        names = list(stats)
    unknown = sorted(set(names) - set(STATISTICS))
    if unknown:
        raise ValueError(f"unknown statistics {unknown}; known: {list(STATISTICS)}")
    if not names:
        raise ValueError("stats must name at least one statistic")
    return [s for s in STATISTICS if s in names]


#: Separator of the parts of a feature name (modality, source column, statistic).
SEPARATOR = "__"

#: Characters a source column name cannot keep in a feature name: those LightGBM (JSON) and
#: XGBoost refuse in feature names, quotes, backslashes and white space.
_UNSAFE_CHARACTERS = re.compile(r'[\s"\',:\[\]{}<>\\]')


def sanitize_column_names(names):
    """Source column names made valid and unique as the middle part of feature names.

    Characters that LightGBM or XGBoost refuse in feature names (``"',:[]{}<>``, backslash,
    white space) become ``_``; runs of ``_`` (so the separator ``__``) become one ``_``, and
    ``_`` is stripped from both ends. An empty result takes the column's positional name
    (``c007``); a repeated one gets ``_2``, ``_3``, ... Names that need none of this are kept.

    Parameters
    ----------
    names : sequence of str

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> sanitize_column_names(["F0semitoneFrom27.5Hz_sma3nz", "hand__left", "x [m]", "", "x_m"])
    ('F0semitoneFrom27.5Hz_sma3nz', 'hand_left', 'x_m', 'c003', 'x_m_2')
    """
    return _sanitized(tuple(str(name) for name in names))


# Every recording of a split has the same columns: their names are worked out once per process.
@functools.lru_cache(maxsize=64)
def _sanitized(names):
    result, seen = [], set()
    for j, name in enumerate(names):
        clean = re.sub(r"_{2,}", "_", _UNSAFE_CHARACTERS.sub("_", name)).strip("_") or f"c{j:03d}"
        unique, k = clean, 2
        while unique in seen:
            unique, k = f"{clean}_{k}", k + 1
        seen.add(unique)
        result.append(unique)
    return tuple(result)


#: eGeMAPS descriptors that openSMILE computes on voiced frames only: it writes 0 on unvoiced
#: frames (-201 for the formant amplitudes relative to F0), codes for "undefined", not values
#: (the formant frequencies and bandwidth are computed on every frame and are not among them).
VOICED_ONLY = tuple(f"{name}_sma3nz" for name in (
    "F0semitoneFrom27.5Hz", "jitterLocal", "shimmerLocaldB", "HNRdBACF", "logRelF0-H1-H2", "logRelF0-H1-A3",
    "F1amplitudeLogRelF0", "F2amplitudeLogRelF0", "F3amplitudeLogRelF0"))

#: openSMILE's values of a voiced-only descriptor on an unvoiced frame.
UNVOICED_CODES = (0.0, -201.0)

#: The voiced-only descriptor whose code marks a frame as unvoiced.
F0_COLUMN = VOICED_ONLY[0]

#: Suffix of a voiced-only descriptor's reading over voiced frames (``<name>_voiced``).
_VOICED_SUFFIX = "_voiced"


def voicing_columns(names):
    """The columns ``voicing`` adds after a modality's (sanitised) columns ``names``.

    A voiced-only copy ``<name>_voiced`` of each column of :data:`VOICED_ONLY` among them
    (their unvoiced codes read as missing cells), then ``voiced`` (1 on voiced frames, 0 on
    unvoiced ones) when F0 is among them; none for other columns. Made unique against
    ``names`` like every column name (:func:`sanitize_column_names`).

    Examples
    --------
    >>> voicing_columns(["Loudness_sma3", "F0semitoneFrom27.5Hz_sma3nz", "HNRdBACF_sma3nz"])
    ('F0semitoneFrom27.5Hz_sma3nz_voiced', 'HNRdBACF_sma3nz_voiced', 'voiced')
    >>> voicing_columns(["c000", "c001"])
    ()
    """
    names = tuple(names)
    added = tuple(name + _VOICED_SUFFIX for name in names if name in VOICED_ONLY)
    if not added:
        return ()
    added += ("voiced",) if F0_COLUMN in names else ()
    return sanitize_column_names(names + added)[len(names):]


def summarised_columns(names, voicing=False):
    """The columns a featurizer summarises for a modality's (sanitised) columns ``names``, and
    the position of each among ``names`` followed by :func:`voicing_columns` (the columns
    :func:`~emo_gbm.features.featurize_recording` derives, in that order).

    ``voicing``: False, the columns as given; True, each voiced-only descriptor read over voiced
    frames (``<name>_voiced``, in the descriptor's place), then the voiced share; ``"both"``,
    the columns as given, then every column :func:`voicing_columns` names (what the features
    stage caches: either reading can be read from it).

    Examples
    --------
    >>> names = ("Loudness_sma3", "F0semitoneFrom27.5Hz_sma3nz", "F1frequency_sma3nz")
    >>> summarised_columns(names, voicing=True)
    (('Loudness_sma3', 'F0semitoneFrom27.5Hz_sma3nz_voiced', 'F1frequency_sma3nz', 'voiced'), (0, 3, 2, 4))
    >>> summarised_columns(names, voicing="both")[0][2:]
    ('F1frequency_sma3nz', 'F0semitoneFrom27.5Hz_sma3nz_voiced', 'voiced')
    """
    if voicing not in (False, True, "both"):
        raise ValueError(f"voicing must be False, True or 'both', got {voicing!r}")
    names = tuple(names)
    added = voicing_columns(names) if voicing else ()
    if not added or voicing == "both":
        labels = names + added
        return labels, tuple(range(len(labels)))
    copies = iter(range(len(names), len(names) + len(added)))
    positions = [next(copies) if name in VOICED_ONLY else j for j, name in enumerate(names)]
    positions += list(copies)  # the voiced share, when F0 is among the columns
    both = names + added
    return tuple(both[k] for k in positions), tuple(positions)


def _source_columns(names):
    """The columns of the data behind a window table's columns ``names`` of one modality:
    voiced-only readings (``<name>_voiced``) stand for their descriptor where it is not there
    itself, and the voiced share :func:`voicing_columns` adds last is dropped."""
    names = tuple(names)
    source = []
    for name in names:
        described = name.removesuffix(_VOICED_SUFFIX) if name.endswith(_VOICED_SUFFIX) else None
        if described in VOICED_ONLY:
            if described not in names:
                source.append(described)
            continue
        source.append(name)
    added = voicing_columns(source[:-1]) if F0_COLUMN in source[:-1] else ()
    # the share is there only beside F0's voiced reading: else a column of that name is the data's
    if added and added[-1] == source[-1] and added[0] in names:
        source.pop()
    return tuple(source)


def _is_positional(names):
    return tuple(names) == positional_columns(len(names))


def _column_plan(modality, statistics, n_columns=None):
    """Which columns of ``modality`` get which statistics.

    Returns a list of ``(column_indices, statistic_names)`` pairs. The eye flags get the flag
    statistics when the set has any and ``eyes`` has the contract's columns; otherwise they
    are summarised like continuous columns.
    """
    n_features = N_FEATURES[modality] if n_columns is None else int(n_columns)
    continuous = [s for s in statistics if s in CONTINUOUS_STATISTICS]
    flags = [s for s in statistics if s in FLAG_STATISTICS]
    if modality != "eyes" or not flags or n_features != N_FEATURES["eyes"]:
        return [(np.arange(n_features), continuous)] if continuous else []
    flag_columns = np.asarray(EYE_FLAG_COLUMNS)
    other_columns = np.setdiff1d(np.arange(n_features), flag_columns)
    plan = [(other_columns, continuous)] if continuous else []
    return plan + [(flag_columns, flags)]


def _default_columns(modalities):
    unknown = [m for m in modalities if m not in N_FEATURES]
    if unknown:
        raise ValueError(f"the columns of modality {unknown[0]!r} are not known: give them (from the data)")
    return {m: positional_columns(N_FEATURES[m]) for m in modalities}


def feature_names(modalities=MODALITIES, stats="default", columns=None, voicing=False):
    """Names of the feature columns :class:`WindowFeaturizer` produces, in order.

    Parameters
    ----------
    modalities : sequence of str
        Modalities, in output order.
    stats : str or list of str
        A feature set name or a list of statistic names.
    columns : dict of str to sequence of str, optional
        Modality -> its source column names (sanitised here, :func:`sanitize_column_names`).
        None: the four modalities of the challenge with their contract widths, positional names.
    voicing : bool or "both", default=False
        How openSMILE's voiced-only descriptors are read (:func:`summarised_columns`).

    Returns
    -------
    names : list of str
        Per modality: ``"<modality>__missing_frac"``, then ``"<modality>__<column>__<stat>"``
        for each column summarised and statistic.

    Examples
    --------
    >>> feature_names(["eyes"], "minimal")[:3]
    ['eyes__missing_frac', 'eyes__c000__mean', 'eyes__c000__std']
    >>> len(feature_names(["eyes"], "default"))  # 4 continuous x 10 + 2 flags x 2 + 1
    45
    >>> len(feature_names(["eyes"], "dynamics"))  # 4 continuous x 14 + 2 flags x 2 + 1
    61
    >>> feature_names(["physio"], ["mean"], columns={"physio": ["eda", "heart rate"]})
    ['physio__missing_frac', 'physio__eda__mean', 'physio__heart_rate__mean']
    """
    statistics = resolve_statistics(stats)
    columns = _default_columns(modalities) if columns is None else columns
    names = []
    for modality in modalities:
        names.append(f"{modality}{SEPARATOR}missing_frac")
        labels = summarised_columns(sanitize_column_names(columns[modality]), voicing)[0]
        per_column = {}
        for indices, stat_names in _column_plan(modality, statistics, len(labels)):
            for j in indices:
                per_column[int(j)] = [f"{modality}{SEPARATOR}{labels[j]}{SEPARATOR}{s}" for s in stat_names]
        for j in sorted(per_column):
            names.extend(per_column[j])
    return names


def columns_from_feature_names(names):
    """Modality -> source column names, read back from feature names (other names ignored).

    The inverse of :func:`feature_names` on a window table's columns: modalities and columns
    in the order they first appear; a reading of ``voicing`` (:func:`summarised_columns`) is
    read back to the data's own columns.

    Examples
    --------
    >>> columns_from_feature_names(["rec_id", "eyes__missing_frac", "eyes__c000__mean", "eyes__c000__std",
    ...                             "eyes__c001__mean", "physio__missing_frac", "physio__eda__mean"])
    {'eyes': ('c000', 'c001'), 'physio': ('eda',)}
    """
    columns = {}
    for name in names:
        parts = str(name).split(SEPARATOR)
        if len(parts) == 2 and parts[1] == "missing_frac":
            columns.setdefault(parts[0], {})
        elif len(parts) == 3 and parts[2] in STATISTICS:
            columns.setdefault(parts[0], {})[parts[1]] = None
    return {m: _source_columns(found) for m, found in columns.items()}
