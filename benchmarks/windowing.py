"""Windowing throughput: the featurizer against a pandas rolling reference (and tsfresh)."""

import numpy as np
import pandas as pd

from benchmarks.process import _median_time
from benchmarks.tsfresh_compare import _bench_tsfresh
from emo_gbm.constants import FRAME_RATE
from emo_gbm.data.recording import order_modalities
from emo_gbm.features import feature_names, resolve_statistics, sanitize_column_names, window_starts
from emo_gbm.features._names import _column_plan


def pandas_window_features(recording, length=400, hop=100, stats="default", modalities=None):
    """Reference implementation of :func:`emo_gbm.features.featurize_recording`'s features.

    The same statistics with pandas rolling windows: every rolling aggregate is evaluated at
    every frame, and the rows where a window of :func:`~emo_gbm.features.window_starts` ends
    are kept. It exists to measure the featurizer against the usual way of writing it, and
    to check that both agree.

    Parameters
    ----------
    recording : Recording
    length, hop : int
        Window length and hop in frames.
    stats : str or list of str
        A feature set name or a list of statistic names.
    modalities : sequence of str, optional
        Default: every modality of the recording.

    Returns
    -------
    features : DataFrame of shape (n_windows, n_features)
        Columns :func:`~emo_gbm.features.feature_names`, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from emo_gbm.data.recording import Recording
    >>> rec = Recording.empty("id00000001", np.arange(500) / 100)
    >>> rec.streams["eyes"][:, :] = np.arange(500)[:, None]
    >>> rec.present["eyes"][:] = True
    >>> table = pandas_window_features(rec, stats=["mean", "slope"], modalities=["eyes"])
    >>> table[["eyes__missing_frac", "eyes__c000__mean", "eyes__c000__slope"]].values.tolist()
    [[0.0, 199.5, 100.0], [0.0, 299.5, 100.0]]
    """
    statistics = resolve_statistics(stats)
    n_frames = recording.n_frames
    starts = window_starts(n_frames, length, hop)
    ends = np.minimum(starts + length, n_frames) - 1
    if modalities is None:
        modalities = order_modalities(recording.streams)
    columns = {}
    labels = {m: sanitize_column_names(recording.column_names(m)) for m in modalities}
    for modality in modalities:
        present = pd.Series(np.asarray(recording.present[modality], dtype=np.float64))
        columns[f"{modality}__missing_frac"] = (1.0 - present).rolling(length, min_periods=1).mean().to_numpy()[ends]
        stream = np.where(recording.present[modality][:, None], recording.streams[modality], np.nan)
        frame = pd.DataFrame(stream.astype(np.float64))
        for column_index, stat_names in _column_plan(modality, statistics, len(labels[modality])):
            block = frame.iloc[:, column_index]
            block.columns = [int(j) for j in column_index]
            for name, values in _pandas_statistics(block, stat_names, length).items():
                for j in block.columns:
                    columns[f"{modality}__{labels[modality][j]}__{name}"] = values[j].to_numpy()[ends]
    names = feature_names(modalities, statistics, labels)
    return pd.DataFrame({name: columns[name] for name in names})


def _pandas_statistics(frame, stat_names, length):
    """Rolling statistics of every column of ``frame`` (NaN = missing), one DataFrame each."""
    rolling = frame.rolling(length, min_periods=1)
    finite = frame.notna().astype(np.float64)
    count = finite.rolling(length, min_periods=1).sum()
    out = {}
    for name in stat_names:
        if name == "mean":
            out[name] = rolling.mean()
        elif name == "mean_dev":
            out[name] = rolling.mean() - frame.mean()  # the recording's mean over present frames
        elif name == "std":
            out[name] = rolling.std(ddof=0)
        elif name == "min":
            out[name] = rolling.min()
        elif name == "max":
            out[name] = rolling.max()
        elif name in ("q10", "q50", "q90"):
            out[name] = rolling.quantile(int(name[1:]) / 100, interpolation="linear")
        elif name == "mean_abs_diff":
            # the diff at frame t joins frames t-1 and t: a window of `length` frames holds
            # `length - 1` such steps
            out[name] = frame.diff().abs().rolling(length - 1, min_periods=1).mean()
        elif name == "slope":
            t = pd.DataFrame(np.repeat(np.arange(len(frame), dtype=np.float64)[:, None], frame.shape[1], axis=1),
                             columns=frame.columns).where(frame.notna())
            x = frame - frame.mean()  # centred, as the least-squares slope does not depend on it
            sum_t = t.rolling(length, min_periods=1).sum()
            sum_tt = (t * t).rolling(length, min_periods=1).sum()
            sum_x = x.rolling(length, min_periods=1).sum()
            sum_tx = (t * x).rolling(length, min_periods=1).sum()
            spread = count * sum_tt - sum_t**2
            slope = (count * sum_tx - sum_t * sum_x) / spread.where(spread > 0) * FRAME_RATE
            out[name] = slope.where(count >= 2)
        elif name == "flag_frac":
            flag = (frame > 0.5).astype(np.float64).where(frame.notna(), 0.0)
            out[name] = flag.rolling(length, min_periods=1).sum() / count.where(count > 0)
        elif name == "flag_rise_rate":
            flag = (frame > 0.5) & frame.notna()
            rise = (flag & frame.shift(1).notna() & ~flag.shift(1, fill_value=False)).astype(np.float64)
            rises = rise.rolling(length - 1, min_periods=1).sum()
            out[name] = rises * FRAME_RATE / count.where(count > 0)
        else:
            raise ValueError(f"no pandas reference for statistic {name!r}")
    return out


def bench_windowing(data_dir, repeats, n_recordings, tsfresh_recordings, progress_bar):
    """Frames per second of :class:`WindowFeaturizer`, the pandas reference and tsfresh.

    Measured in this process, single-threaded, on the first ``n_recordings`` train recordings
    (sorted ids), already aligned in memory, so reading files is not timed.

    Returns
    -------
    dict
        Frames per second of each implementation, their agreement, and tsfresh's figures.
    """
    from emo_gbm.data.io import list_recordings, load_recording, read_split_columns
    from emo_gbm.features import WindowFeaturizer

    ids = list_recordings(data_dir, "train")[:n_recordings]
    columns, _ = read_split_columns(data_dir, "train", skip_bad_files=True)
    recordings = [load_recording(data_dir, "train", r, skip_bad_files=True, columns=columns) for r in ids]
    frames = int(sum(r.n_frames for r in recordings))
    featurizer = WindowFeaturizer(n_jobs=1).fit(recordings)
    seconds, table = _median_time(lambda: featurizer.transform(recordings), repeats)
    progress_bar.update(1)
    reference_seconds, reference = _median_time(
        lambda: pd.concat([pandas_window_features(r) for r in recordings], ignore_index=True), repeats)
    progress_bar.update(1)
    names = list(featurizer.get_feature_names_out())
    ours = table[names].to_numpy(np.float64)
    theirs = reference[names].to_numpy(np.float64)
    same_nan = bool(np.array_equal(np.isnan(ours), np.isnan(theirs)))
    scale = np.maximum(np.abs(theirs), 1.0)
    with np.errstate(invalid="ignore"):
        relative = np.nanmax(np.abs(ours - theirs) / scale) if np.isfinite(theirs).any() else 0.0
    result = {
        "recordings": len(recordings),
        "frames": frames,
        "windows": int(len(table)),
        "features": len(names),
        "repeats": repeats,
        "featurizer_seconds": [round(s, 4) for s in seconds],
        "pandas_seconds": [round(s, 4) for s in reference_seconds],
        "featurizer_fps": frames / float(np.median(seconds)),
        "pandas_fps": frames / float(np.median(reference_seconds)),
        "agreement_with_pandas": {"same_missing_cells": same_nan, "max_relative_difference": float(relative)},
    }
    result["speedup_vs_pandas"] = result["featurizer_fps"] / result["pandas_fps"]
    result["tsfresh"] = _bench_tsfresh(recordings[:tsfresh_recordings], featurizer, repeats, progress_bar)
    return result
