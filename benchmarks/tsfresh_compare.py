"""tsfresh on the same recordings: its throughput, and a check that it computes the same values."""

import numpy as np
import pandas as pd

from benchmarks.process import _median_time
from emo_gbm.features import FLAG_STATISTICS, resolve_statistics, sanitize_column_names


def _tsfresh_parameters(statistics):
    """tsfresh feature calculators for the continuous statistics (flags have no equivalent)."""
    mapping = {
        "mean": ("mean", None), "std": ("standard_deviation", None), "min": ("minimum", None),
        "max": ("maximum", None), "mean_abs_diff": ("mean_abs_change", None),
        "slope": ("linear_trend", [{"attr": "slope"}]),
    }
    parameters = {}
    for name in statistics:
        if name in ("q10", "q50", "q90"):
            parameters.setdefault("quantile", []).append({"q": int(name[1:]) / 100})
        elif name in mapping:
            calculator, params = mapping[name]
            parameters[calculator] = params
    return parameters


def tsfresh_window_features(recordings, length=400, hop=100, stats="default"):
    """The continuous window statistics computed by tsfresh (for the throughput comparison).

    Windows come from ``roll_time_series`` (full windows of ``length`` frames every ``hop``
    frames), then ``extract_features`` computes mean, standard deviation, minimum, maximum,
    quantiles, mean absolute change and the linear-trend slope of every column over its
    present frames, single-process. The eye flags get the continuous statistics (tsfresh has
    no flag-rise calculator), mean absolute change joins consecutive present samples and the
    slope is per sample, not per second: the work is the same, a few definitions differ.

    Returns
    -------
    features : DataFrame
    """
    from tsfresh import extract_features
    from tsfresh.utilities.dataframe_functions import roll_time_series

    statistics = [s for s in resolve_statistics(stats) if s not in FLAG_STATISTICS]
    parameters = _tsfresh_parameters(statistics)
    wide = []
    for rec in recordings:
        blocks = {"id": np.full(rec.n_frames, rec.rec_id), "frame": np.arange(rec.n_frames)}
        for modality in rec.streams:
            stream = np.where(rec.present[modality][:, None], rec.streams[modality], np.nan)
            labels = sanitize_column_names(rec.column_names(modality))
            for j in range(stream.shape[1]):
                blocks[f"{modality}__{labels[j]}"] = stream[:, j].astype(np.float64)
        wide.append(pd.DataFrame(blocks))
    wide = pd.concat(wide, ignore_index=True)
    rolled = roll_time_series(wide, column_id="id", column_sort="frame", max_timeshift=length - 1,
                              min_timeshift=length - 1, rolling_direction=hop, n_jobs=0, disable_progressbar=True)
    # roll_time_series names each window by an (recording id, last frame) tuple
    rolled["id"] = rolled["id"].map(lambda window: f"{window[0]}@{window[1]}")
    long = rolled.melt(id_vars=["id", "frame"], var_name="kind", value_name="value").dropna(subset=["value"])
    return extract_features(long, default_fc_parameters=parameters, column_id="id", column_sort="frame",
                            column_kind="kind", column_value="value", n_jobs=0, disable_progressbar=True)


def _bench_tsfresh(recordings, featurizer, repeats, progress_bar):
    if not recordings:
        progress_bar.update(1)
        return {"status": "skipped (--quick)"}
    try:
        import tsfresh
    except ImportError:
        progress_bar.update(1)
        return {"status": "not installed (pip install -e '.[bench]')"}
    import logging
    import warnings

    logging.getLogger("tsfresh").setLevel(logging.ERROR)
    frames = int(sum(r.n_frames for r in recordings))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds, table = _median_time(lambda: tsfresh_window_features(recordings), repeats)
    ours, _ = _median_time(lambda: featurizer.transform(recordings), repeats)
    progress_bar.update(1)
    tsfresh_fps = frames / float(np.median(seconds))
    check = _compare_with_tsfresh(recordings, table, featurizer.length)
    featurizer_fps = frames / float(np.median(ours))
    return {
        "status": "measured",
        "version": tsfresh.__version__,
        "recordings": len(recordings),
        "frames": frames,
        "windows": int(len(table)),
        "features": int(table.shape[1]),
        "tsfresh_seconds": [round(s, 3) for s in seconds],
        "featurizer_seconds": [round(s, 4) for s in ours],
        "tsfresh_fps": tsfresh_fps,
        "featurizer_fps": featurizer_fps,
        "speedup": featurizer_fps / tsfresh_fps,
        "agreement": check,
    }


#: Windows of each recording featurised again to check tsfresh's values.
COMPARED_WINDOWS_PER_RECORDING = 3

#: Statistics that tsfresh defines exactly as the featurizer does, and their tsfresh names.
_TSFRESH_SAME = {"mean": "mean", "std": "standard_deviation", "min": "minimum", "max": "maximum",
                 "q10": "quantile__q_0.1", "q50": "quantile__q_0.5", "q90": "quantile__q_0.9"}


def _compare_with_tsfresh(recordings, theirs, length):
    """Largest relative difference between the featurizer and tsfresh on the shared statistics.

    tsfresh places its windows from the end of the longest series, so for each recording a
    few of its windows are featurised again by the featurizer on exactly the same frames.
    """
    from emo_gbm.data.recording import Recording
    from emo_gbm.features import featurize_recording

    differences, windows = [], 0
    for rec in recordings:
        ends = sorted(int(w.rsplit("@", 1)[1]) for w in theirs.index if w.rsplit("@", 1)[0] == rec.rec_id)
        for end in ends[:COMPARED_WINDOWS_PER_RECORDING]:
            frames = slice(end - length + 1, end + 1)
            window = Recording(rec.rec_id, rec.time[frames], {m: v[frames] for m, v in rec.streams.items()},
                               {m: p[frames] for m, p in rec.present.items()}, columns=dict(rec.columns))
            ours = featurize_recording(window, length=length, hop=length).iloc[0]
            windows += 1
            for column, value in ours.items():
                parts = str(column).split("__")
                if len(parts) != 3 or parts[2] not in _TSFRESH_SAME:
                    continue
                name = f"{parts[0]}__{parts[1]}__{_TSFRESH_SAME[parts[2]]}"
                if name not in theirs.columns:
                    continue  # tsfresh has no column for a feature never present in its input
                a, b = float(value), float(theirs.at[f"{rec.rec_id}@{end}", name])
                if np.isfinite(a) and np.isfinite(b):
                    differences.append(abs(a - b) / max(abs(b), 1.0))
    return {"windows": windows, "values": len(differences), "statistics": sorted(_TSFRESH_SAME),
            "max_relative_difference": max(differences, default=None)}
