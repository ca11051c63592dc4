"""The bench of emo_gbm: time and peak memory of every stage, windowing throughput, LightGBM
against XGBoost, and time against dataset size.

Not installed with the package: run it from the repository root with ``make bench`` or
``python -m benchmarks --help``. It depends on the library (``emo_gbm``, whose report reads
the ``bench.json`` it writes), never the reverse. Modules: :mod:`~benchmarks.cli` (the command
line), :mod:`~benchmarks.bench` (:func:`run_bench`), :mod:`~benchmarks.process` (one stage as a
process, its time and memory), :mod:`~benchmarks.stages` (the measured stages and scaling),
:mod:`~benchmarks.windowing` and :mod:`~benchmarks.tsfresh_compare` (windowing throughput),
:mod:`~benchmarks.markdown` (``bench.md``), :mod:`~benchmarks.config` (settings).
"""

from benchmarks.bench import run_bench
from benchmarks.process import StageError, run_stage
from benchmarks.windowing import pandas_window_features

__all__ = ["StageError", "pandas_window_features", "run_bench", "run_stage"]
