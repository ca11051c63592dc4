"""Running one stage as its own ``emo-gbm`` process and measuring its time and peak memory.

Memory is sampled with psutil (``pip install -e '.[bench]'``), imported only when a stage runs.
"""

import datetime as _dt
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.config import MEMORY_POLL_SECONDS
from emo_gbm.constants import LABELS_DIR, TEMPLATES_DIR


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


def _psutil():
    """The psutil module, or an ImportError saying how to install it."""
    try:
        import psutil
    except ImportError:
        raise ImportError("the bench measures memory with psutil, which is not installed: "
                          "pip install -e '.[bench]' (or pip install 'psutil>=5.9')") from None
    return psutil


def tree_rss_mb(pid):
    """Resident memory of a process and all its descendants, in MB (0 once the process has ended).

    Parameters
    ----------
    pid : int

    Returns
    -------
    float

    Examples
    --------
    >>> import os
    >>> tree_rss_mb(os.getpid()) > 0
    True
    """
    psutil = _psutil()
    try:
        root = psutil.Process(pid)
        processes = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # the process ended between listing and reading
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
    """The argv running ``emo-gbm ARGS`` with this interpreter (no dependence on PATH).

    Parameters
    ----------
    args : sequence
        Arguments after ``emo-gbm`` (converted to str).

    Returns
    -------
    list of str
    """
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


def dataset_frames(data_dir):
    """Recordings and frames of each split, counted from the label and template files.

    Parameters
    ----------
    data_dir : str or os.PathLike

    Returns
    -------
    dict
        ``recordings`` and ``frames``, each split (train, test) -> count.

    Examples
    --------
    >>> import tempfile
    >>> dataset_frames(tempfile.mkdtemp())
    {'recordings': {'train': 0, 'test': 0}, 'frames': {'train': 0, 'test': 0}}
    """
    recordings, frames = {}, {}
    for split in ("train", "test"):
        folder = Path(data_dir) / split / (LABELS_DIR if split == "train" else TEMPLATES_DIR)
        paths = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        recordings[split] = len(paths)
        total = 0
        for path in paths:
            with open(path, "rb") as handle:
                total += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1
        frames[split] = total
    return {"recordings": recordings, "frames": frames}


def _median_time(function, repeats):
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return seconds, result
