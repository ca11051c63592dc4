"""Window statistics as NumPy reductions over sliding windows; NaN where a modality is missing."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from emo_gbm.constants import FRAME_RATE
from emo_gbm.features._sets import ACF_LAG, ACF_MIN_PAIRS, _FLAT_VARIANCE, _ORDER_STATISTICS, _QUANTILES


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
    needs = set(stat_names)
    finite, filled, centre, centred, column_count = _centred(values)
    count, centred_sum, mean_centred, results = _means(finite, centred, centre, starts, stops, needs)
    results.update(_spread(values, centred, column_count, count, mean_centred, starts, stops, needs))
    if "slope" in needs:
        results["slope"] = _slope(values.shape[0], finite, centred, count, centred_sum, starts, stops)
    step_results, n_steps = _step_statistics(finite, filled, count, starts, stops, needs)
    results.update(step_results)
    results.update(_window_statistics(values, starts, length, stat_names, results.get("mean"), count, n_steps))
    return np.stack([results[s] for s in stat_names], axis=-1)


def _centred(values):
    """Where ``values`` is finite, the values with 0 elsewhere (float64), each column's mean
    (``centre``, 0 for a column without values), the values minus it (0 where not finite) and
    each column's count of finite values: ``(finite, filled, centre, centred, column_count)``.

    Centring on the recording's mean keeps the cumulative sums small, so that the variance
    E[x^2] - E[x]^2 of a window does not lose its digits to cancellation.
    """
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0.0).astype(np.float64)
    column_count = finite.sum(axis=0)
    centre = _divide(filled.sum(axis=0), column_count)
    centre = np.where(np.isfinite(centre), centre, 0.0)
    centred = np.where(finite, filled - centre, 0.0)
    return finite, filled, centre, centred, column_count


def _means(finite, centred, centre, starts, stops, needs):
    """Each window's count of finite values and, when ``needs`` asks for a statistic made from
    them, its sum of the centred values and their mean; returns those three (None when not
    made) and the statistics ``mean``, ``mean_dev`` and ``half_diff`` among ``needs``."""
    results = {}
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
    centred_sum = mean_centred = None
    if needs & {"mean", "std", "slope", "mean_dev", "acf", "crossing_rate", "std_rel", "half_diff"}:
        sum_and_halves = _window_sums(centred, query_starts, query_stops)
        centred_sum = sum_and_halves[:n_windows]
        mean_centred = _divide(centred_sum, count)
        results["mean"] = mean_centred + centre
        results["mean_dev"] = mean_centred
    if "half_diff" in needs:
        half_means = _divide(sum_and_halves[n_windows:], count_and_halves[n_windows:])
        results["half_diff"] = half_means[n_windows:] - half_means[:n_windows]
    return count, centred_sum, mean_centred, results


def _spread(values, centred, column_count, count, mean_centred, starts, stops, needs):
    """The statistics ``std``, ``std_rel`` and ``acf`` among ``needs``, from the centred values
    and each window's count of finite values and mean of the centred values."""
    results = {}
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
    return results


def _slope(n_frames, finite, centred, count, centred_sum, starts, stops):
    """Least-squares slope of each window's values against time in seconds (NaN with fewer
    than 2 values); the frame index is taken relative to the window start so the sums stay small."""
    frame_index = np.arange(n_frames, dtype=np.float64)[:, None]
    sum_t = _window_sums(finite * frame_index, starts, stops)
    sum_tt = _window_sums(finite * frame_index**2, starts, stops)
    sum_tx = _window_sums(centred * frame_index, starts, stops)
    covariance = count * sum_tx - sum_t * centred_sum
    spread = count * sum_tt - sum_t**2
    slope = _divide(covariance, spread) * FRAME_RATE
    slope[count < 2] = np.nan
    return slope


def _step_statistics(finite, filled, count, starts, stops, needs):
    """The statistics of consecutive frames ``mean_abs_diff``, ``flag_frac`` and
    ``flag_rise_rate`` among ``needs``, and each window's number of steps between two finite
    frames (None unless ``mean_abs_diff`` or ``crossing_rate`` needs it)."""
    results, n_steps = {}, None
    # Step t joins frames t and t+1: it is inside [start, stop) when start <= t < stop - 1.
    step_stops = np.maximum(stops - 1, starts)
    if needs & {"mean_abs_diff", "crossing_rate"}:
        step_finite = finite[1:] & finite[:-1]
        n_steps = _window_sums(step_finite, starts, step_stops)
    if "mean_abs_diff" in needs:
        step = np.where(step_finite, np.abs(filled[1:] - filled[:-1]), 0.0)
        results["mean_abs_diff"] = _divide(_window_sums(step, starts, step_stops), n_steps)
    if needs & {"flag_frac", "flag_rise_rate"}:
        flag_set = finite & (filled > 0.5)
        results["flag_frac"] = _divide(_window_sums(flag_set, starts, stops), count)
        rise = flag_set[1:] & finite[:-1] & ~flag_set[:-1]
        rises = _window_sums(rise, starts, step_stops)
        results["flag_rise_rate"] = _divide(rises * FRAME_RATE, count)
    return results, n_steps


def _window_statistics(values, starts, length, stat_names, window_mean, count, n_steps):
    """The statistics read from a copy of every window: ``crossing_rate`` (crossings of
    ``window_mean``) and the order statistics, among ``stat_names``."""
    results = {}
    order_needed = [s for s in stat_names if s in _ORDER_STATISTICS]
    if not order_needed and "crossing_rate" not in stat_names:
        return results
    # One copy of the windows serves both: crossings read it in time order, then the
    # order statistics sort it in place.
    windows = _windows(values, starts, length)
    if "crossing_rate" in stat_names:
        crossings = _mean_crossings(windows, window_mean)
        rate = _divide(crossings * FRAME_RATE, count)
        results["crossing_rate"] = np.where(n_steps > 0, rate, np.nan)
    if order_needed:
        # NaN sort to the end, so the k finite values of a window are its first k entries.
        windows.sort(axis=-1)
        int_count = count.astype(np.int64)
        for name in order_needed:
            q = {"min": 0.0, "max": 1.0}.get(name, _QUANTILES.get(name))
            results[name] = _order_statistic(windows, int_count, q)
    return results
