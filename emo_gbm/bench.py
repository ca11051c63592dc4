"""The bench: time and peak memory of every stage, windowing throughput, LightGBM against
XGBoost, and how time grows with the size of the data.

Each stage runs as its own ``emo-gbm`` process, as ``make`` runs it, so its wall time includes
start-up and its memory is that of the process (and of its worker processes). Every
measurement is repeated and the median reported. :func:`run_bench` writes ``OUT/bench.md``,
its JSON twin ``OUT/bench.json`` (read by :mod:`emo_gbm.reporting`) and
``OUT/figures/bench_scaling.png``.
"""

import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from emo_gbm.constants import FRAME_RATE, LABELS_DIR, TEMPLATES_DIR
from emo_gbm.data.recording import order_modalities
from emo_gbm.features._names import _column_plan
from emo_gbm.features import (
    FLAG_STATISTICS,
    feature_names,
    resolve_statistics,
    sanitize_column_names,
    window_starts,
)
from emo_gbm.reporting import TARGETS, figure_scaling, fit_loglog_slope

#: Dataset sizes of the scaling measurement, as multiples of the full size (312/143/126
#: recordings), generated with ``emo-gbm synth --scale``; 1 stands for DATA itself, which is
#: always one of the points (its times are those of the stage measurement).
SCALES = (0.25, 0.5, 1.0, 2.0)
QUICK_SCALES = (0.03,)

#: Number of train recordings of the full-size dataset, to say what size DATA is.
FULL_SIZE_TRAIN_RECORDINGS = 312

#: Interval between two samples of a stage's process-tree memory, in seconds: one sample scans
#: /proc (about 2 ms), so finer polling would start to cost the measured stage CPU.
MEMORY_POLL_SECONDS = 0.1

#: Train recordings of the windowing throughput subset (full and --quick), and of tsfresh's,
#: whose rolling and per-window feature calculators are far slower.
WINDOWING_RECORDINGS = 24
TSFRESH_RECORDINGS = 2
QUICK_WINDOWING_RECORDINGS = 2

SEED = 0


# --------------------------------------------------------------------------- machine


def machine_info():
    """Cores, CPU model, memory, Python and date of this machine.

    Returns
    -------
    dict

    Examples
    --------
    >>> sorted(machine_info())
    ['cpu', 'date', 'memory_gb', 'nproc', 'platform', 'python']
    """
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        nproc = os.cpu_count()
    try:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory_gb = float("nan")
    return {
        "nproc": nproc,
        "cpu": cpu,
        "memory_gb": round(memory_gb, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }


# --------------------------------------------------------------------------- running stages


def _children_map():
    """Parent pid -> child pids of every process, from ``/proc``."""
    children = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name (field 2) may hold spaces and parentheses: parse after the last ')'
        fields = stat[stat.rfind(b")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree_rss_mb(pid):
    """Resident memory of a process and all its descendants, in MB (Linux; NaN elsewhere).

    Examples
    --------
    >>> import os
    >>> tree_rss_mb(os.getpid()) > 0
    True
    """
    if not os.path.isdir("/proc"):
        return float("nan")
    children = _children_map()
    page = os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm", encoding="ascii") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue  # the process ended between listing and reading
        stack.extend(children.get(current, ()))
    return total / 2**20


class _TreeMemorySampler(threading.Thread):
    """Polls the resident memory of a process tree and keeps the peak."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))
            self._done.wait(MEMORY_POLL_SECONDS)

    def stop(self):
        self._done.set()
        self.join()


class StageError(RuntimeError):
    """A stage run by the bench failed; the message names the command and ends with its log."""


def cli_command(args):
    """The argv running ``emo-gbm ARGS`` with this interpreter (no dependence on PATH)."""
    return [sys.executable, "-m", "emo_gbm.cli", "-q"] + [str(a) for a in args]


def run_stage(args, log_path):
    """Run ``emo-gbm ARGS`` as a child process; measure wall time and peak memory.

    Parameters
    ----------
    args : list of str
        Arguments after ``emo-gbm``.
    log_path : str or os.PathLike
        File receiving the child's stdout and stderr.

    Returns
    -------
    dict
        ``seconds`` (wall), ``peak_rss_mb`` (the child's own peak resident set, from
        ``wait4``'s ``ru_maxrss``), ``peak_tree_rss_mb`` (peak of the summed resident memory
        of the child and its worker processes, sampled every
        :data:`MEMORY_POLL_SECONDS`), ``user_seconds`` and ``system_seconds``.

    Raises
    ------
    StageError
        When the stage fails; the message ends with the tail of its log.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path, "w", encoding="utf-8") as log:
        started = time.perf_counter()
        process = subprocess.Popen(cli_command(args), stdout=log, stderr=subprocess.STDOUT, env=env)
        sampler = _TreeMemorySampler(process.pid)
        sampler.start()
        # wait4 gives this child's own resource usage; RUSAGE_CHILDREN would mix all children so far
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        sampler.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
        raise StageError(f"`emo-gbm {' '.join(map(str, args))}` failed with exit code {process.returncode}; "
                           f"log {log_path}:\n" + "\n".join(tail))
    # ru_maxrss is in kilobytes on Linux
    own_mb = usage.ru_maxrss / 1024
    return {
        "seconds": seconds,
        "peak_rss_mb": own_mb,
        "peak_tree_rss_mb": max(sampler.peak_mb, own_mb),
        "user_seconds": usage.ru_utime,
        "system_seconds": usage.ru_stime,
    }


def _summarise(runs, command, target=None):
    seconds = [r["seconds"] for r in runs]
    result = {
        "command": command,
        "seconds": [round(s, 3) for s in seconds],
        "median_seconds": float(np.median(seconds)),
        "peak_rss_mb": [round(r["peak_rss_mb"], 1) for r in runs],
        "peak_tree_rss_mb": [round(r["peak_tree_rss_mb"], 1) for r in runs],
        "median_peak_rss_mb": float(np.median([r["peak_rss_mb"] for r in runs])),
        "median_peak_tree_rss_mb": float(np.median([r["peak_tree_rss_mb"] for r in runs])),
        "median_cpu_seconds": float(np.median([r["user_seconds"] + r["system_seconds"] for r in runs])),
    }
    if target is not None:
        result["target_seconds"] = target
        result["meets_target"] = bool(result["median_seconds"] <= target)
    return result


def _show(args):
    return "emo-gbm " + " ".join(str(a) for a in args)


def _score_submission(submission, data_dir):
    """WA/UA of a submission, checked against the templates (None without answers)."""
    from emo_gbm.submission import check_submission

    scores = check_submission(submission, data_dir, "test").get("scores")
    return None if scores is None else {"WA": scores["WA"], "UA": scores["UA"]}


def dataset_frames(data_dir, splits=("train", "test")):
    """Recordings and frames of each split, counted from the label and template files.

    Examples
    --------
    >>> import tempfile
    >>> dataset_frames(tempfile.mkdtemp())
    {'recordings': {'train': 0, 'test': 0}, 'frames': {'train': 0, 'test': 0}}
    """
    recordings, frames = {}, {}
    for split in splits:
        folder = Path(data_dir) / split / (LABELS_DIR if split == "train" else TEMPLATES_DIR)
        paths = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        recordings[split] = len(paths)
        total = 0
        for path in paths:
            with open(path, "rb") as handle:
                total += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1
        frames[split] = total
    return {"recordings": recordings, "frames": frames}


# --------------------------------------------------------------------------- stages


def bench_stages(data_dir, build_dir, pipeline, repeats, n_jobs, progress_bar):
    """Median time and memory of features, train and submission on ``data_dir``.

    Every repeat starts from an empty feature cache, so features are really computed.
    """
    build_dir = Path(build_dir)
    logs = build_dir / "logs"
    features = ["features", "--data", data_dir, "--build", build_dir, "--splits", "train", "test",
                "--n-jobs", n_jobs]
    train = ["train", "--build", build_dir, "--pipeline", pipeline, "--seed", SEED, "--n-jobs", n_jobs]
    submission = ["submission", "--data", data_dir, "--build", build_dir, "--pipeline", pipeline,
                  "--n-jobs", n_jobs]
    runs = {"features": [], "train": [], "submission": []}
    digests = []
    for repeat in range(repeats):
        shutil.rmtree(build_dir / "features", ignore_errors=True)
        for name, args in (("features", features), ("train", train), ("submission", submission)):
            runs[name].append(run_stage(args, logs / f"{name}_{repeat}.log"))
            progress_bar.update(1)
        digests.append(hashlib.sha256((build_dir / "submission.zip").read_bytes()).hexdigest())
    stages = {name: _summarise(runs[name], _show(args), TARGETS[name])
              for name, args in (("features", features), ("train", train), ("submission", submission))}
    scores = _score_submission(build_dir / "submission.zip", data_dir)
    # Every repeat recomputes features, refits and predicts: the zips must be byte-identical.
    scores["submission_sha256"] = digests
    scores["identical_submissions"] = len(set(digests)) == 1
    return stages, scores


def bench_versus(data_dir, build_dir, pipeline, versus, repeats, n_jobs, stages, scores, progress_bar):
    """Train time and WA of two pipelines on the same cached features (LightGBM against XGBoost).

    The figures of ``pipeline`` are those of :func:`bench_stages` (the same commands);
    ``versus`` is trained ``repeats`` times, then predicted and scored once.
    """
    build_dir = Path(build_dir)
    logs = build_dir / "logs"
    train = ["train", "--build", build_dir, "--pipeline", versus, "--seed", SEED, "--n-jobs", n_jobs]
    runs = []
    for repeat in range(repeats):
        runs.append(run_stage(train, logs / f"train_{versus}_{repeat}.log"))
        progress_bar.update(1)
    out = build_dir / versus
    submission = ["submission", "--data", data_dir, "--build", build_dir, "--pipeline", versus,
                  "--out", out, "--n-jobs", n_jobs]
    predict = run_stage(submission, logs / f"submission_{versus}.log")
    progress_bar.update(1)
    other = _summarise(runs, _show(train))

    def entry(train_stage, submission_seconds, pipeline_scores):
        return {
            "command": train_stage["command"],
            "median_train_seconds": train_stage["median_seconds"],
            "train_seconds": train_stage["seconds"],
            "median_peak_tree_rss_mb": train_stage["median_peak_tree_rss_mb"],
            "submission_seconds": submission_seconds,
            **(pipeline_scores or {}),
        }

    return {
        pipeline: entry(stages["train"], stages["submission"]["median_seconds"], scores),
        versus: entry(other, round(predict["seconds"], 3),
                      _score_submission(out / "submission.zip", data_dir)),
    }


# --------------------------------------------------------------------------- windowing


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


def _median_time(function, repeats):
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def bench_windowing(data_dir, repeats, n_recordings, tsfresh_recordings, progress_bar):
    """Frames per second of :class:`WindowFeaturizer`, the pandas reference and tsfresh.

    Measured in this process, single-threaded, on the first ``n_recordings`` train recordings
    (sorted ids), already aligned in memory, so reading files is not timed.
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


#: Statistics that tsfresh defines exactly as the featurizer does, and their tsfresh names.
_TSFRESH_SAME = {"mean": "mean", "std": "standard_deviation", "min": "minimum", "max": "maximum",
                 "q10": "quantile__q_0.1", "q50": "quantile__q_0.5", "q90": "quantile__q_0.9"}


def _compare_with_tsfresh(recordings, theirs, length, per_recording=3):
    """Largest relative difference between the featurizer and tsfresh on the shared statistics.

    tsfresh places its windows from the end of the longest series, so for each recording a
    few of its windows are featurised again by the featurizer on exactly the same frames.
    """
    from emo_gbm.data.recording import Recording
    from emo_gbm.features import featurize_recording

    differences, windows = [], 0
    for rec in recordings:
        ends = sorted(int(w.rsplit("@", 1)[1]) for w in theirs.index if w.rsplit("@", 1)[0] == rec.rec_id)
        for end in ends[:per_recording]:
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


# --------------------------------------------------------------------------- scaling


def _synth_dataset(out_dir, scale, log_dir, n_jobs):
    """Generate ``emo-gbm synth --scale`` into ``out_dir`` unless it is already there."""
    out_dir = Path(out_dir)
    marker = out_dir / ".bench-synth.json"
    wanted = {"scale": scale, "seed": SEED}
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == wanted:
        return
    run_stage(["synth", "--out", out_dir, "--seed", SEED, "--scale", scale, "--n-jobs", n_jobs],
              Path(log_dir) / f"synth_{scale:g}.log")
    marker.write_text(json.dumps(wanted), encoding="utf-8")


def bench_scaling(data_dir, build_dir, pipeline, scales, repeats, n_jobs, stages, progress_bar):
    """Features + train time against dataset size; the DATA point reuses :func:`bench_stages`."""
    build_dir = Path(build_dir)
    logs = build_dir / "logs"
    data_frames = dataset_frames(data_dir)
    size = data_frames["recordings"]["train"] / FULL_SIZE_TRAIN_RECORDINGS
    points = [{
        "label": f"DATA ({size:.2g}x)", "scale": None, "data": str(data_dir),
        "frames": sum(data_frames["frames"].values()), "recordings": data_frames["recordings"],
        "features_seconds": stages["features"]["median_seconds"],
        "train_seconds": stages["train"]["median_seconds"],
        "runs": len(stages["features"]["seconds"]),
    }]
    for scale in scales:
        if scale == 1.0:
            continue  # DATA itself
        scaled_data = build_dir / "data" / f"scale_{scale:g}"
        scaled_build = build_dir / "scaling" / f"scale_{scale:g}"
        _synth_dataset(scaled_data, scale, logs, n_jobs)
        counts = dataset_frames(scaled_data)
        runs = {"features": [], "train": []}
        for repeat in range(repeats):
            shutil.rmtree(scaled_build / "features", ignore_errors=True)
            runs["features"].append(run_stage(
                ["features", "--data", scaled_data, "--build", scaled_build, "--splits", "train", "test",
                 "--n-jobs", n_jobs], logs / f"scaling_{scale:g}_features_{repeat}.log"))
            runs["train"].append(run_stage(
                ["train", "--build", scaled_build, "--pipeline", pipeline, "--seed", SEED, "--n-jobs", n_jobs],
                logs / f"scaling_{scale:g}_train_{repeat}.log"))
        progress_bar.update(1)
        points.append({
            "label": f"{scale:g}x", "scale": scale, "data": str(scaled_data),
            "frames": sum(counts["frames"].values()), "recordings": counts["recordings"],
            "features_seconds": float(np.median([r["seconds"] for r in runs["features"]])),
            "train_seconds": float(np.median([r["seconds"] for r in runs["train"]])),
            "runs": repeats,
        })
    points.sort(key=lambda p: p["frames"])
    for point in points:
        point["total_seconds"] = point["features_seconds"] + point["train_seconds"]
    frames = [p["frames"] for p in points]
    return {
        "points": points,
        "slope": fit_loglog_slope(frames, [p["total_seconds"] for p in points]),
        "slope_features": fit_loglog_slope(frames, [p["features_seconds"] for p in points]),
        "slope_train": fit_loglog_slope(frames, [p["train_seconds"] for p in points]),
    }


# --------------------------------------------------------------------------- report


def _times(n):
    return "once" if n == 1 else f"{n} times"


def _median_of(n):
    return "one run" if n == 1 else f"median of {n} runs"


def _markdown(result):
    m = result["machine"]
    lines = [
        "# Bench",
        "",
        "```sh",
        result["command"],
        "```",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB RAM, Python {m['python']}, "
        f"{m['platform']}; run {m['date']} in {result['seconds']:.0f} s."
        + (" **Quick smoke run: tiny data, one repeat; not a measurement.**" if result["quick"] else ""),
        "",
        f"Dataset `{result['data']}`: " + ", ".join(
            f"{split} {n} recordings / {result['dataset']['frames'][split]:,} frames"
            for split, n in result["dataset"]["recordings"].items()) + f"; `--n-jobs {result['n_jobs']}`.",
        "",
        "## Stages",
        "",
        f"Each stage is run as its own process (`emo-gbm ...`), {_times(result['repeats'])}"
        f"{', median shown' if result['repeats'] > 1 else ''}; the feature cache is deleted before every features "
        "run. Peak memory is the peak resident set of the process tree (the stage and its worker processes, "
        f"sampled every {MEMORY_POLL_SECONDS * 1000:.0f} ms); the stage process's own `ru_maxrss` (from `wait4`) "
        "is shown beside it. CPU s is user + system time of the stage and its finished workers.",
        "",
        "Issue targets, for the full-size dataset (312/143 train/test recordings) on 2 cores: features <= "
        f"{TARGETS['features']:.0f} s, train <= {TARGETS['train'] / 60:.0f} min, submission <= "
        f"{TARGETS['submission']:.0f} s, peak memory <= {TARGETS['peak_memory_mb'] / 1024:.0f} GB"
        + ("." if result["dataset"]["recordings"].get("train") == FULL_SIZE_TRAIN_RECORDINGS else
           "; **DATA is not full size**, so the 'meets' column is only indicative."),
        "",
        "| stage | median s | runs s | target s | meets | peak MB (tree) | own ru_maxrss MB | CPU s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, stage in result["stages"].items():
        lines.append(
            f"| {name} | {stage['median_seconds']:.1f} | {', '.join(f'{s:.1f}' for s in stage['seconds'])} | "
            f"{stage['target_seconds']:.0f} | {'yes' if stage['meets_target'] else '**no**'} | "
            f"{stage['median_peak_tree_rss_mb']:.0f} | {stage['median_peak_rss_mb']:.0f} | "
            f"{stage['median_cpu_seconds']:.1f} |")
    memory = result["memory"]
    lines += [
        "",
        f"Peak memory over all stages: {memory['peak_mb']:.0f} MB (target <= {TARGETS['peak_memory_mb']:.0f} MB: "
        f"{'met' if memory['meets_target'] else '**not met**'}).",
        "",
        "Commands:",
        "",
        "```sh",
    ] + [stage["command"] for stage in result["stages"].values()] + ["```", ""]
    if result.get("scores"):
        lines += [f"Public test of this run: WA {result['scores']['WA']:.4f}, UA {result['scores']['UA']:.4f}.", ""]
        digests = result["scores"].get("submission_sha256") or []
        if len(digests) > 1:
            lines += [f"Determinism: the {len(digests)} repeats (features recomputed, model refitted, test predicted) "
                      + ("wrote byte-identical `submission.zip` files" if result["scores"]["identical_submissions"]
                         else "**wrote different `submission.zip` files**")
                      + f" (sha256 {', '.join(d[:12] for d in digests)}).", ""]
    w = result["windowing"]
    lines += [
        "## Windowing throughput",
        "",
        f"In one process, single-threaded, on the first {w['recordings']} train recordings by id "
        f"({w['frames']:,} frames, {w['windows']:,} windows of 4 s every 1 s, {w['features']} features), "
        f"aligned in memory beforehand; {_median_of(w['repeats'])}.",
        "",
        "| implementation | frames/s | ratio (WindowFeaturizer / it) |",
        "| --- | --- | --- |",
        f"| WindowFeaturizer (NumPy: cumulative sums, sorted sliding windows) | {w['featurizer_fps']:,.0f} | 1 |",
        f"| pandas rolling, the same statistics (`bench.pandas_window_features`) | {w['pandas_fps']:,.0f} | "
        f"{w['speedup_vs_pandas']:.1f}x |",
    ]
    t = w["tsfresh"]
    if t.get("status") == "measured":
        lines += [
            f"| tsfresh {t['version']} `roll_time_series` + `extract_features`, {t['recordings']} recordings "
            f"({t['frames']:,} frames) | {t['tsfresh_fps']:,.0f} | {t['speedup']:.0f}x (WindowFeaturizer "
            f"{t['featurizer_fps']:,.0f} frames/s on the same recordings) |",
            "",
            "tsfresh computes the continuous statistics only (mean, standard deviation, min, max, 10/50/90% "
            "quantiles, mean absolute change, linear-trend slope) on full windows, single-process "
            "(`n_jobs=0`); its mean absolute change joins consecutive present samples and its slope is per "
            "sample, so the work is the same and a few definitions differ slightly.",
        ]
        check = t.get("agreement") or {}
        if check.get("max_relative_difference") is not None:
            lines += ["", f"Check: on {check['windows']} of tsfresh's windows, featurised again by WindowFeaturizer "
                      f"on the same frames, the {check['values']:,} values of mean, standard deviation, min, max "
                      f"and quantiles agree with tsfresh to {check['max_relative_difference']:.1e} (relative to "
                      "max(|value|, 1))."]
    else:
        lines += ["", f"tsfresh: {t.get('status')}."]
    agreement = w["agreement_with_pandas"]
    lines += [
        "",
        f"Check: WindowFeaturizer and the pandas reference agree (same missing cells: "
        f"{'yes' if agreement['same_missing_cells'] else '**no**'}; largest difference "
        f"{agreement['max_relative_difference']:.1e}, relative to max(|value|, 1)).",
        "",
    ]
    v = result["versus"]
    title = ("LightGBM against XGBoost (per-modality base models)"
             if (result["pipeline"], result["versus_pipeline"]) == ("stacked_gbm", "stacked_xgb")
             else f"{result['pipeline']} against {result['versus_pipeline']}")
    lines += [
        f"## {title}",
        "",
        f"Pipelines `{result['pipeline']}` and `{result['versus_pipeline']}`, trained on the same cached "
        f"features; train time: {_median_of(result['repeats'])} ({result['pipeline']}: the train "
        "stage above), WA/UA of one submission each on the public test.",
        "",
        "| pipeline | median train s | runs s | peak MB (tree) | submission s | WA | UA |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in v.items():
        lines.append(f"| {name} | {r['median_train_seconds']:.1f} | {', '.join(f'{s:.1f}' for s in r['train_seconds'])} "
                     f"| {r['median_peak_tree_rss_mb']:.0f} | {r['submission_seconds']:.1f} | "
                     f"{r.get('WA', float('nan')):.4f} | {r.get('UA', float('nan')):.4f} |")
    s = result["scaling"]
    lines += [
        "",
        "## Time against dataset size",
        "",
        f"Features (train + test) and train (`{result['pipeline']}`) at several dataset sizes, "
        f"x = multiples of the full size (312/143 train/test recordings). The DATA row is DATA itself (its "
        "times are the stage medians above); the others are `emo-gbm synth --scale S --seed 0` datasets. "
        "Slopes are least-squares fits of log time against log frames (1 = linear).",
        "",
        "| size | recordings (train/test) | frames | features s | train s | total s | runs |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in s["points"]:
        lines.append(f"| {p['label']} | {p['recordings']['train']}/{p['recordings']['test']} | {p['frames']:,} | "
                     f"{p['features_seconds']:.1f} | {p['train_seconds']:.1f} | {p['total_seconds']:.1f} | "
                     f"{p['runs']} |")

    def slope(value):
        return "-" if value is None else f"{value:.2f}"

    lines += [
        "",
        f"Fitted slope: features + train {slope(s['slope'])}, features {slope(s['slope_features'])}, "
        f"train {slope(s['slope_train'])}.",
        "",
        "![time against dataset size](figures/bench_scaling.png)",
        "",
    ]
    return "\n".join(lines)


#: File marking a folder as the bench's own scratch build folder.
BENCH_MARKER = ".emo-gbm-bench"


def _claim_build_dir(build_dir):
    """Create the bench's build folder, refusing a non-empty folder the bench did not create.

    The bench deletes the feature cache and overwrites models in its build folder, so it must
    never run in the project's own build folder.
    """
    build_dir = Path(build_dir)
    if build_dir.is_dir() and any(build_dir.iterdir()) and not (build_dir / BENCH_MARKER).is_file():
        raise ValueError(f"{build_dir} is not empty and was not created by the bench, which deletes and "
                         "overwrites features and models in its build folder; pass another --build")
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / BENCH_MARKER).write_text("scratch build folder of `emo-gbm bench`\n", encoding="utf-8")


def run_bench(data_dir, build_dir, out_dir="reports", repeats=3, n_jobs=2, quick=False, scales=None,
              pipeline="stacked_gbm", versus="stacked_xgb", windowing_recordings=None, tsfresh_recordings=None,
              scaling_repeats=None, progress=False, command=None):
    """Run the whole bench and write ``OUT/bench.md``, ``OUT/bench.json`` and the scaling figure.

    Parameters
    ----------
    data_dir : str or os.PathLike
        The dataset (full size for real measurements), with ``answers/test`` for the WA figures.
    build_dir : str or os.PathLike
        Scratch build folder of the bench (its features, models and generated datasets). A
        non-empty folder the bench did not create is refused: the bench would overwrite it.
    out_dir : str or os.PathLike, default="reports"
    repeats : int, default=3
        Runs of every measurement; medians are reported.
    n_jobs : int, default=2
        ``--n-jobs`` of every stage.
    quick : bool, default=False
        A smoke run: one repeat, two recordings for windowing, tsfresh skipped, scaling at
        :data:`QUICK_SCALES` only. Meant for tests on tiny data; not a measurement.
    scales : sequence of float, optional
        Dataset sizes of the scaling measurement (default :data:`SCALES`); DATA is always a
        point, and 1 stands for it.
    pipeline : str, default="stacked_gbm"
        The pipeline of the train and submission stages and of the scaling measurement.
    versus : str, default="stacked_xgb"
        The pipeline compared with ``pipeline`` (train time, WA).
    windowing_recordings, tsfresh_recordings : int, optional
        Size of the windowing subsets (defaults :data:`WINDOWING_RECORDINGS`,
        :data:`TSFRESH_RECORDINGS`).
    scaling_repeats : int, optional
        Runs per generated size; default ``repeats``.
    progress : bool, default=False
        Show a progress bar over the measurements.
    command : str, optional
        The command line written at the top of bench.md.

    Returns
    -------
    dict
        What ``bench.json`` holds.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    data_dir, build_dir, out_dir = Path(data_dir), Path(build_dir), Path(out_dir)
    if not (data_dir / "train").is_dir():
        raise FileNotFoundError(f"{data_dir}: no train/ folder; point --data at a dataset")
    if quick:
        repeats = 1
        scales = QUICK_SCALES if scales is None else scales
        windowing_recordings = windowing_recordings or QUICK_WINDOWING_RECORDINGS
        tsfresh_recordings = 0 if tsfresh_recordings is None else tsfresh_recordings
    scales = tuple(SCALES if scales is None else scales)
    windowing_recordings = windowing_recordings or WINDOWING_RECORDINGS
    tsfresh_recordings = TSFRESH_RECORDINGS if tsfresh_recordings is None else tsfresh_recordings
    scaling_repeats = repeats if scaling_repeats is None else scaling_repeats
    if repeats < 1 or scaling_repeats < 1:
        raise ValueError("repeats must be at least 1")
    _claim_build_dir(build_dir)
    total_steps = 3 * repeats + repeats + 1 + 3 + sum(1 for s in scales if s != 1.0)
    with tqdm(total=total_steps, desc="bench", unit="step", disable=not progress) as bar:
        stages, scores = bench_stages(data_dir, build_dir, pipeline, repeats, n_jobs, bar)
        compared = bench_versus(data_dir, build_dir, pipeline, versus, repeats, n_jobs, stages, scores, bar)
        windowing = bench_windowing(data_dir, repeats, windowing_recordings, tsfresh_recordings, bar)
        scaling = bench_scaling(data_dir, build_dir, pipeline, scales, scaling_repeats, n_jobs, stages, bar)
    peak = max(s["median_peak_tree_rss_mb"] for s in stages.values())
    result = {
        "command": command or "emo-gbm bench " + " ".join(sys.argv[1:]),
        "machine": machine_info(),
        "data": str(data_dir),
        "build": str(build_dir),
        "dataset": dict(dataset_frames(data_dir), description=f"{data_dir.name}, --n-jobs {n_jobs}"),
        "n_jobs": n_jobs,
        "repeats": repeats,
        "pipeline": pipeline,
        "versus_pipeline": versus,
        "quick": bool(quick),
        "targets": TARGETS,
        "stages": stages,
        "memory": {"peak_mb": peak, "target_mb": TARGETS["peak_memory_mb"],
                   "meets_target": bool(peak <= TARGETS["peak_memory_mb"])},
        "scores": scores,
        "windowing": windowing,
        "versus": compared,
        "scaling": scaling,
        "seconds": time.perf_counter() - started,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    figure_scaling(scaling, out_dir / "figures" / "bench_scaling.png")
    for name, text in (("bench.json", json.dumps(result, indent=2) + "\n"),
                       ("bench.md", _markdown(result))):
        tmp = out_dir / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / name)
    return result
