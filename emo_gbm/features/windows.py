"""Windowing: cut aligned recordings into fixed-length windows and summarise them.

A window is ``length`` consecutive frames of the 100 fps grid. For every modality and
window, :class:`WindowFeaturizer` computes statistics of each feature over the frames where
the modality is present, plus the share of frames where it is missing. A statistic of a
modality that has no present frame in the window is NaN, never 0: zeros are the data's own
code for "missing" and must not come back as if they were measurements.

Feature sets are named plain lists of statistic names (:data:`FEATURE_SETS`); statistics
whose name starts with ``flag_`` describe the binary eye flags
(:data:`~emo_gbm.constants.EYE_FLAG_COLUMNS`), the others the continuous columns. The
``"default"`` set summarises the level and spread of each column; ``"dynamics"`` adds
:data:`DYNAMICS_STATISTICS`, which describe how the column moves within the window
(autocorrelation, mean crossings, drift between the halves, spread relative to the recording).

The modalities and their columns come from the data: a feature is named
``<modality>__<source column>__<statistic>`` (e.g. ``audio__F0semitoneFrom27.5Hz_sma3nz__mean``,
``face_nn__c000__mean`` for a file without a header), and each modality has
``<modality>__missing_frac``. :class:`WindowFeaturizer` learns them in ``fit``.
"""

import re

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from emo_gbm.constants import EMOTIONS, EYE_FLAG_COLUMNS, FRAME_RATE, MODALITIES, N_FEATURES
from emo_gbm.data.recording import order_modalities, positional_columns

#: Statistics of continuous columns, in the order their columns appear.
#: ``mean_dev`` is the window mean minus the mean of the whole recording (over its present
#: frames): the window relative to the actor's level in that recording, a per-recording
#: normalisation that does not depend on the hop.
#:
#: The statistics after ``mean_dev`` (:data:`DYNAMICS_STATISTICS`) are appended so the order of
#: the older ones, and hence the columns of the ``"default"`` set, stay as they were.
CONTINUOUS_STATISTICS = (
    "mean", "std", "min", "max", "q10", "q50", "q90", "mean_abs_diff", "slope", "mean_dev",
    "acf", "crossing_rate", "half_diff", "std_rel",
)

#: Statistics of a column's movement within the window, all over its present frames only
#: (``x`` the column, ``m`` the window mean, NaN where a statistic is undefined):
#:
#: ``acf``
#:     Lag-:data:`ACF_LAG` autocorrelation of ``x - m`` in its variogram form,
#:     ``1 - D / (2 * v)``: ``D`` is the mean of ``(x[t + k] - x[t])**2`` over the pairs of
#:     frames ``(t, t + k)`` both in the window and both present, ``v`` the window variance
#:     (``std**2``). It equals ``mean((x[t] - m) * (x[t + k] - m)) / v`` whenever both ends of
#:     the pairs spread like the whole window (without gaps: up to the ``k`` frames at each
#:     edge), and needs no window mean inside the sum, so it costs two cumulative sums. At
#:     most 1; clipped below at -1. NaN with fewer than :data:`ACF_MIN_PAIRS` pairs or when the
#:     window is flat.
#: ``crossing_rate``
#:     Crossings of the window mean per second of present frames: steps ``t -> t + 1``, both
#:     frames present, from ``x < m`` to ``x >= m`` or back (``m`` rounded to the stream's
#:     float32, so a frame at the mean counts as on or above it), times the frame rate,
#:     divided by the number of present frames. A held sample never crosses. NaN when the
#:     window has no two consecutive present frames.
#: ``half_diff``
#:     Mean of the second half of the window minus mean of the first half; the halves split
#:     ``[start, stop)`` at ``start + (stop - start) // 2``. NaN when a half has no present frame.
#: ``std_rel``
#:     ``std`` of the window divided by the (population) standard deviation of the column over
#:     the whole recording's present frames: the spread relative to the actor's spread in that
#:     recording, as ``mean_dev`` is the level relative to the recording. NaN when the column
#:     is constant over the recording; 0 for a window that is constant.
DYNAMICS_STATISTICS = ("acf", "crossing_rate", "half_diff", "std_rel")

#: Statistics of the binary eye flag columns: share of present frames with the flag set, and
#: 0 -> 1 transitions per second of present frames (blinks, fixation onsets).
FLAG_STATISTICS = ("flag_frac", "flag_rise_rate")

#: Every statistic known to :class:`WindowFeaturizer`.
STATISTICS = CONTINUOUS_STATISTICS + FLAG_STATISTICS

#: Named feature sets: plain lists of statistic names. ``"default"`` is what the shipped
#: models are trained on; ``"dynamics"`` is every statistic.
FEATURE_SETS = {
    "minimal": ["mean", "std"],
    "moments": ["mean", "std", "min", "max", "flag_frac", "flag_rise_rate"],
    # The plain reference model's statistics: level, spread, range and roughness (of the eye
    # flags, their share and rate of onsets: the mean and roughness of a 0/1 column).
    "reference": ["mean", "std", "min", "max", "mean_abs_diff", "flag_frac", "flag_rise_rate"],
    "default": [s for s in STATISTICS if s not in DYNAMICS_STATISTICS],
    "dynamics": list(STATISTICS),
}

#: Columns of a window table that are not features.
META_COLUMNS = ("rec_id", "start", "stop", "group", "label", "weight")

#: Lag of ``acf`` in frames: 0.1 s, longer than the 2-frame hold of the 50 fps streams so that
#: the hold alone does not make the autocorrelation ~1 (the 15 fps kinect holds 6-7 frames).
ACF_LAG = 10

#: Fewest lagged pairs of present frames for which ``acf`` is computed.
ACF_MIN_PAIRS = 20

#: A variance obtained as ``E[c**2] - E[c]**2`` loses about 1e-16 of ``E[c**2]`` to rounding;
#: below this share of ``E[c**2]`` it is taken as 0 (a flat signal) rather than as a tiny
#: spread whose ratio to another rounding error would be noise.
_FLAT_VARIANCE = 1e-12

_QUANTILES = {"q10": 0.10, "q50": 0.50, "q90": 0.90}
_ORDER_STATISTICS = ("min", "max") + tuple(_QUANTILES)

#: Added to the agreement mass of each class so that a window whose frames all have zero
#: agreement still gets the plain majority class instead of class 0.
_COUNT_TIE_BREAK = 1e-6


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
    result, seen = [], set()
    for j, name in enumerate(names):
        clean = re.sub(r"_{2,}", "_", _UNSAFE_CHARACTERS.sub("_", str(name))).strip("_") or f"c{j:03d}"
        unique, k = clean, 2
        while unique in seen:
            unique, k = f"{clean}_{k}", k + 1
        seen.add(unique)
        result.append(unique)
    return tuple(result)


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


def feature_names(modalities=MODALITIES, stats="default", columns=None):
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

    Returns
    -------
    names : list of str
        Per modality: ``"<modality>__missing_frac"``, then ``"<modality>__<column>__<stat>"``
        for each column and statistic.

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
        labels = sanitize_column_names(columns[modality])
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
    in the order they first appear.

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
    return {m: tuple(found) for m, found in columns.items()}


def _window_sums(values, starts, stops):
    """Sum of ``values`` rows over each window ``[start, stop)``, in float64.

    Overlapping windows share most of their frames, so the rows are summed once per segment
    between consecutive window boundaries (``np.add.reduceat``) and each window adds up its
    segments by differencing their cumulative sum: O(n_frames) instead of O(n_windows * length).
    """
    n_rows = values.shape[0]
    boundaries = np.unique(np.concatenate([starts, stops]))
    cuts = boundaries[boundaries < n_rows]
    cumulative = np.zeros((cuts.size + 1,) + values.shape[1:], dtype=np.float64)
    if cuts.size:
        # reduceat needs strictly increasing cuts (np.unique gives them); dtype keeps boolean
        # masks counting instead of or-ing.
        np.cumsum(np.add.reduceat(values, cuts, axis=0, dtype=np.float64), axis=0, out=cumulative[1:])
    edges = np.append(cuts, n_rows)
    return cumulative[np.searchsorted(edges, stops)] - cumulative[np.searchsorted(edges, starts)]


def _windows(values, starts, length):
    """Windows of ``values`` as a new array (n_windows, n_columns, length), in time order.

    A recording shorter than ``length`` is padded with NaN (missing frames).
    """
    n_frames = values.shape[0]
    if n_frames < length:
        padding = np.full((length - n_frames, values.shape[1]), np.nan, dtype=values.dtype)
        values = np.concatenate([values, padding])
    return sliding_window_view(values, length, axis=0)[starts]


def _mean_crossings(windows, window_mean):
    """Steps between consecutive present frames of each window that cross its mean.

    ``windows`` (n_windows, n_columns, length) is NaN where missing; ``window_mean``
    (n_windows, n_columns) is compared in the windows' dtype so that a frame equal to the
    mean up to the stream's precision is on its upper side whatever the float64 rounding.
    """
    level = window_mean.astype(windows.dtype)[..., None]
    upper = windows >= level  # NaN compares False, and is masked out by `steps` anyway
    steps = ~np.isnan(windows)
    steps = steps[..., 1:] & steps[..., :-1]
    steps &= upper[..., 1:] != upper[..., :-1]
    # A uint8 sum is several times faster than count_nonzero along an axis.
    return steps.view(np.uint8).sum(axis=-1, dtype=np.int32)


def _flat_guarded(variance, mean_square):
    """``variance`` with values within rounding error of 0 (see :data:`_FLAT_VARIANCE`) set to 0."""
    return np.where(variance > _FLAT_VARIANCE * mean_square, variance, 0.0)


def _lag_autocorrelation(values, variance, starts, stops, lag):
    """``acf`` of each window (see :data:`DYNAMICS_STATISTICS`) from cumulative sums.

    ``values`` (n_frames, n_columns) is NaN where missing; ``variance`` (n_windows, n_columns)
    is the window variance, already set to 0 where the window is flat.
    """
    n_pair_rows = max(values.shape[0] - lag, 0)
    # A jump is NaN unless both of its frames are present. It is squared in the stream's
    # float32 (a relative error of 1e-7, far below what a feature needs) and summed in
    # float64: half the memory traffic of a float64 pass, which is what this costs.
    jump = values[lag : lag + n_pair_rows] - values[:n_pair_rows]
    paired = ~np.isnan(jump)
    np.square(jump, out=jump)
    jump[~paired] = 0.0
    # Pair t joins frames t and t + lag: it is inside [start, stop) when start <= t < stop - lag.
    pair_starts = np.minimum(starts, n_pair_rows)
    pair_stops = np.maximum(stops - lag, pair_starts)
    n_pairs = _window_sums(paired, pair_starts, pair_stops)
    mean_square_jump = _divide(_window_sums(jump, pair_starts, pair_stops), n_pairs)
    acf = 1.0 - _divide(mean_square_jump, 2.0 * variance)
    acf[n_pairs < ACF_MIN_PAIRS] = np.nan
    return np.maximum(acf, -1.0)  # NaN stays NaN


def _order_statistic(sorted_windows, count, q):
    """Linear-interpolated quantile ``q`` of each window's finite values (NumPy's default).

    ``count`` (n_windows, n_columns) is the number of finite values; NaN where it is 0.
    """
    position = q * np.maximum(count - 1, 0)
    lower = np.floor(position).astype(np.int64)
    upper = np.minimum(lower + 1, np.maximum(count - 1, 0)).astype(np.int64)
    low = np.take_along_axis(sorted_windows, lower[..., None], axis=-1)[..., 0]
    high = np.take_along_axis(sorted_windows, upper[..., None], axis=-1)[..., 0]
    fraction = (position - lower).astype(sorted_windows.dtype)
    result = low + fraction * (high - low)
    return np.where(count > 0, result, np.nan)


def _divide(numerator, denominator):
    """``numerator / denominator``, NaN where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def _column_statistics(values, starts, stops, length, stat_names):
    """Statistics of the columns of ``values`` (n_frames, n_columns) over each window.

    ``values`` is NaN wherever the modality is missing. Returns (n_windows, n_columns,
    n_stats) float64.
    """
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0.0).astype(np.float64)
    # Centring on the recording's mean keeps the cumulative sums small, so that the variance
    # E[x^2] - E[x]^2 of a window does not lose its digits to cancellation.
    column_count = finite.sum(axis=0)
    centre = _divide(filled.sum(axis=0), column_count)
    centre = np.where(np.isfinite(centre), centre, 0.0)
    centred = np.where(finite, filled - centre, 0.0)
    results = {}
    needs = set(stat_names)
    n_windows = len(starts)
    if "half_diff" in needs:
        # The halves' counts and sums come out of the same cumulative sums as the windows'
        # (their middles are window starts already when the hop divides half the length).
        middles = starts + (stops - starts) // 2
        query_starts, query_stops = np.concatenate([starts, starts, middles]), np.concatenate([stops, middles, stops])
    else:
        query_starts, query_stops = starts, stops
    count_and_halves = _window_sums(finite, query_starts, query_stops)
    count = count_and_halves[:n_windows]
    if needs & {"mean", "std", "slope", "mean_dev", "acf", "crossing_rate", "std_rel", "half_diff"}:
        sum_and_halves = _window_sums(centred, query_starts, query_stops)
        centred_sum = sum_and_halves[:n_windows]
        mean_centred = _divide(centred_sum, count)
        results["mean"] = mean_centred + centre
        results["mean_dev"] = mean_centred
    if "half_diff" in needs:
        half_means = _divide(sum_and_halves[n_windows:], count_and_halves[n_windows:])
        results["half_diff"] = half_means[n_windows:] - half_means[:n_windows]
    if needs & {"std", "std_rel", "acf"}:
        mean_square = _divide(_window_sums(centred**2, starts, stops), count)
        variance = mean_square - mean_centred**2
        results["std"] = np.sqrt(np.maximum(variance, 0.0))
    if needs & {"std_rel", "acf"}:
        variance = _flat_guarded(np.maximum(variance, 0.0), mean_square)
    if "std_rel" in needs:
        # The recording's spread around its own mean, which ``centre`` is.
        recording_square = _divide((centred**2).sum(axis=0), column_count)
        recording_variance = _flat_guarded(recording_square - _divide(centred.sum(axis=0), column_count) ** 2,
                                           recording_square)
        results["std_rel"] = _divide(np.sqrt(variance), np.sqrt(recording_variance))
        results["std_rel"][count == 0] = np.nan
    if "acf" in needs:
        results["acf"] = _lag_autocorrelation(values, variance, starts, stops, ACF_LAG)
    if "slope" in needs:
        # Least-squares slope against time in seconds; the frame index is taken relative to
        # the window start so the sums stay small.
        frame_index = np.arange(values.shape[0], dtype=np.float64)[:, None]
        sum_t = _window_sums(finite * frame_index, starts, stops)
        sum_tt = _window_sums(finite * frame_index**2, starts, stops)
        sum_tx = _window_sums(centred * frame_index, starts, stops)
        covariance = count * sum_tx - sum_t * centred_sum
        spread = count * sum_tt - sum_t**2
        results["slope"] = _divide(covariance, spread) * FRAME_RATE
        results["slope"][count < 2] = np.nan
    if needs & {"mean_abs_diff", "crossing_rate"}:
        step_finite = finite[1:] & finite[:-1]
        # Step t joins frames t and t+1: it is inside [start, stop) when start <= t < stop - 1.
        step_stops = np.maximum(stops - 1, starts)
        n_steps = _window_sums(step_finite, starts, step_stops)
    if "mean_abs_diff" in needs:
        step = np.where(step_finite, np.abs(filled[1:] - filled[:-1]), 0.0)
        results["mean_abs_diff"] = _divide(_window_sums(step, starts, step_stops), n_steps)
    if needs & {"flag_frac", "flag_rise_rate"}:
        flag_set = finite & (filled > 0.5)
        results["flag_frac"] = _divide(_window_sums(flag_set, starts, stops), count)
        rise = flag_set[1:] & finite[:-1] & ~flag_set[:-1]
        step_stops = np.maximum(stops - 1, starts)
        rises = _window_sums(rise, starts, step_stops)
        results["flag_rise_rate"] = _divide(rises * FRAME_RATE, count)
    order_needed = [s for s in stat_names if s in _ORDER_STATISTICS]
    if order_needed or "crossing_rate" in needs:
        # One copy of the windows serves both: crossings read it in time order, then the
        # order statistics sort it in place.
        windows = _windows(values, starts, length)
    if "crossing_rate" in needs:
        crossings = _mean_crossings(windows, results["mean"])
        rate = _divide(crossings * FRAME_RATE, count)
        results["crossing_rate"] = np.where(n_steps > 0, rate, np.nan)
    if order_needed:
        # NaN sort to the end, so the k finite values of a window are its first k entries.
        windows.sort(axis=-1)
        sorted_windows = windows
        int_count = count.astype(np.int64)
        for name in order_needed:
            q = {"min": 0.0, "max": 1.0}.get(name, _QUANTILES.get(name))
            results[name] = _order_statistic(sorted_windows, int_count, q)
    return np.stack([results[s] for s in stat_names], axis=-1)


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


def featurize_recording(recording, length=400, hop=100, stats="default", modalities=None, columns=None):
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
        plan = _column_plan(modality, statistics, len(columns[modality]))
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
    names = feature_names(modalities, statistics, columns)
    return pd.concat([meta, pd.DataFrame(features, columns=names)], axis=1)


class WindowFeaturizer(TransformerMixin, BaseEstimator):
    """Summarise aligned recordings as tables of fixed-length windows.

    Parameters
    ----------
    length : int, default=400
        Window length in frames (400 = 4 s).
    hop : int, default=100
        Step between window starts in frames. A last window is aligned to the end of the
        recording so every frame is covered; a recording shorter than ``length`` gets one
        window padded with missing frames.
    stats : str or list of str, default="default"
        A feature set name from :data:`FEATURE_SETS` or a list of statistic names.
    modalities : sequence of str or None, default=None
        Modalities to summarise. None: every modality of the data ``fit`` sees.
    exclude : sequence of str, default=()
        Modalities left out (of those ``modalities`` selects).
    n_jobs : int, default=1
        Recordings featurised in parallel (joblib). The output does not depend on it.

    Attributes
    ----------
    statistics_ : list of str
        The resolved statistic names.
    modalities_ : list of str
        The modalities summarised, in output order (the challenge's four first, then the
        others by name; or the order of ``modalities``).
    columns_ : dict of str to tuple of str
        Each modality's source column names (sanitised, :func:`sanitize_column_names`).
    rates_ : dict of str to float
        Median sampling rate of each modality over the files ``fit`` saw (measured from
        their Time columns); empty when fitted without recordings.
    feature_names_out_ : ndarray of str
        The feature column names (meta columns excluded).

    Notes
    -----
    ``transform`` returns a DataFrame with the meta columns ``rec_id``, ``start``, ``stop``
    (frame indices, ``stop`` exclusive), ``group`` (the actor when the recording's meta
    names one, else the recording id), ``label`` (agreement-weighted majority class of the
    window's frames, -1 when unknown) and ``weight`` (mean agreement, 1 when unknown),
    followed by the float32 features: exactly the columns learned in ``fit``, whatever the
    transformed recordings hold. Statistics ignore missing frames; a modality with no
    present frame in a window, or that a recording lacks altogether, has NaN statistics
    and missing fraction 1. A modality ``fit`` did not see is ignored.

    Examples
    --------
    >>> import numpy as np
    >>> from emo_gbm.data.recording import Recording
    >>> rec = Recording.empty("id00000001", np.arange(1000) / 100)
    >>> rec.streams["eyes"][:] = 1.0
    >>> rec.present["eyes"][:] = True
    >>> table = WindowFeaturizer(stats="minimal", modalities=["eyes"]).fit_transform([rec])
    >>> table.shape
    (7, 19)
    >>> float(table["eyes__c000__mean"].iloc[0]), float(table["eyes__missing_frac"].iloc[0])
    (1.0, 0.0)

    A modality beyond the challenge's four, with its own column names:

    >>> rec = Recording.empty("id00000002", np.arange(500) / 100, columns={"physio": ["eda", "bvp"]})
    >>> featurizer = WindowFeaturizer(stats=["mean"]).fit([rec])
    >>> featurizer.modalities_, list(featurizer.get_feature_names_out())
    (['physio'], ['physio__missing_frac', 'physio__eda__mean', 'physio__bvp__mean'])
    """

    def __init__(self, length=400, hop=100, stats="default", modalities=None, exclude=(), n_jobs=1):
        self.length = length
        self.hop = hop
        self.stats = stats
        self.modalities = modalities
        self.exclude = exclude
        self.n_jobs = n_jobs

    def _validate(self):
        for name in ("length", "hop"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.modalities is not None and (isinstance(self.modalities, str) or not len(self.modalities)):
            raise ValueError(f"modalities must be None or a non-empty sequence of names, got {self.modalities!r}")
        self.statistics_ = resolve_statistics(self.stats)

    def fit_schema(self, columns, rates=None):
        """Learn the modalities and their columns from a schema: modality -> column names.

        ``modalities`` and ``exclude`` select among them, as in :meth:`fit`.

        Parameters
        ----------
        columns : dict of str to sequence of str
            E.g. another fitted featurizer's ``columns_``, or ``Recording.columns``.
        rates : dict of str to float, optional
            Kept as ``rates_``.

        Returns
        -------
        self : WindowFeaturizer

        Examples
        --------
        >>> WindowFeaturizer(stats=["mean"]).fit_schema({"physio": ["eda"]}).get_feature_names_out().tolist()
        ['physio__missing_frac', 'physio__eda__mean']
        """
        self._validate()
        available = order_modalities(columns) if self.modalities is None else list(self.modalities)
        missing = [m for m in available if m not in columns]
        if missing:
            raise ValueError(f"modality {missing[0]!r} is not in the data (found: {', '.join(columns) or 'none'})")
        self.modalities_ = [m for m in available if m not in set(self.exclude)]
        if not self.modalities_:
            raise ValueError(f"no modality left to summarise (data: {', '.join(columns) or 'none'}, "
                             f"modalities={self.modalities!r}, exclude={self.exclude!r})")
        self.columns_ = {m: sanitize_column_names(columns[m]) for m in self.modalities_}
        self.rates_ = {m: rates[m] for m in self.modalities_ if rates and m in rates}
        self.feature_names_out_ = np.asarray(
            feature_names(self.modalities_, self.statistics_, self.columns_), dtype=object
        )
        return self

    def fit(self, recordings=None, y=None):
        """Learn the modalities and their columns from ``recordings``.

        Parameters
        ----------
        recordings : list of Recording, optional
            Every modality found in any of them (with ``modalities=None``), with the column
            names of its recordings, which must agree. None (or empty): the four modalities
            of the challenge with their contract widths and positional names.
        y : None
            Ignored.

        Returns
        -------
        self : WindowFeaturizer

        Raises
        ------
        ValueError
            When recordings disagree on a modality's columns, or a modality asked for is in
            none of them.
        """
        self._validate()
        recordings = [] if recordings is None else list(recordings)
        if not recordings:
            wanted = MODALITIES if self.modalities is None else self.modalities
            return self.fit_schema(_default_columns(wanted))
        columns, owner, rates = {}, {}, {}
        for rec in recordings:
            for modality in rec.streams:
                names = sanitize_column_names(rec.column_names(modality))
                if modality not in columns:
                    columns[modality], owner[modality] = names, rec.rec_id
                elif names != columns[modality]:
                    raise ValueError(
                        f"recording {rec.rec_id}: {modality} has {len(names)} columns ({', '.join(names[:3])}, ...), "
                        f"recording {owner[modality]} has {len(columns[modality])} "
                        f"({', '.join(columns[modality][:3])}, ...)"
                    )
                if modality in rec.rates:
                    rates.setdefault(modality, []).append(rec.rates[modality])
        return self.fit_schema(columns, {m: float(np.median(r)) for m, r in rates.items()})

    def fit_columns(self, names):
        """Learn the modalities and their columns from the column names of a window table.

        For a table this featurizer's kind wrote (cached features): the modalities and
        columns are read back from the feature names (:func:`columns_from_feature_names`).

        Parameters
        ----------
        names : sequence of str
            E.g. ``windows.columns``; meta columns are ignored.

        Returns
        -------
        self : WindowFeaturizer

        Examples
        --------
        >>> names = ["rec_id", "eyes__missing_frac", "eyes__c000__mean", "physio__missing_frac",
        ...          "physio__eda__mean"]
        >>> WindowFeaturizer(stats=["mean"], exclude=["eyes"]).fit_columns(names).columns_
        {'physio': ('eda',)}
        """
        self._validate()
        return self.fit_schema(columns_from_feature_names(names))

    def transform(self, recordings):
        """Window table of ``recordings``, rows in input order, with exactly the fitted columns.

        Parameters
        ----------
        recordings : list of Recording

        Returns
        -------
        windows : DataFrame
        """
        check_is_fitted(self, "feature_names_out_")
        recordings = list(recordings)
        if not recordings:
            columns = list(META_COLUMNS) + list(self.feature_names_out_)
            return pd.DataFrame({c: pd.Series(dtype=np.float32) for c in columns})
        tables = Parallel(n_jobs=self.n_jobs)(
            delayed(featurize_recording)(rec, self.length, self.hop, self.statistics_, self.modalities_, self.columns_)
            for rec in recordings
        )
        return pd.concat(tables, axis=0, ignore_index=True)

    def get_feature_names_out(self, input_features=None):
        """Feature column names of the output (meta columns excluded).

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def feature_names_by_modality(self):
        """Feature column names grouped by modality, missing fraction included.

        Returns
        -------
        columns : dict of str to list of str
        """
        check_is_fitted(self, "feature_names_out_")
        return {m: [c for c in self.feature_names_out_ if c.startswith(f"{m}{SEPARATOR}")] for m in self.modalities_}
