"""The report: figures and a README from the outputs of the other stages.

:func:`write_report` reads only what the stages leave on disk, never a model's internals
except the fitted stacked model's gain importance:

- predictions from submission folders (``BUILD/submission/prediction/*.csv`` for the stacked
  GBM, ``BUILD/baseline/submission/prediction/*.csv`` for the BiLSTM baseline);
- the truth from ``DATA/answers/SPLIT`` and which modalities are present from the aligned
  test recordings (:func:`emo_gbm.data.io.load_recording`);
- scores from ``BUILD/metrics.json`` and ``BUILD/baseline/metrics.json``;
- the modality table from ``BUILD/modalities.json`` (written by :func:`run_modality_table`);
- timings from ``reports/bench.json`` (written by the bench, ``benchmarks/``, run by ``make bench``).

Whatever is missing becomes a panel that says "not run" and a line of the README's list of
missing inputs; the report never fails because a stage has not been run yet.

:func:`run_modality_table` produces ``BUILD/modalities.json``: the public test predicted by
the trained stacked model with modalities deleted, and by each single-modality pipeline.
"""

import sys
import time
from pathlib import Path

from emo_gbm.reporting._bench import figure_bench, figure_scaling
from emo_gbm.reporting._figures import figure_confusion, figure_missing, figure_modalities, figure_recall
from emo_gbm.reporting._importance import figure_importance
from emo_gbm.reporting._inputs import _collect
from emo_gbm.reporting._readme import _captions, _write_readme
from emo_gbm.reporting._timeline import figure_timeline


def write_report(data_dir, build_dir, out_dir="reports", split=None, timeline_id=None, n_jobs=1, progress=False,
                 command=None):
    """Regenerate ``OUT/README.md`` and ``OUT/figures/*.png`` from the current outputs.

    Parameters
    ----------
    data_dir : str or os.PathLike
        Dataset root (templates, answers and modality files of ``split``).
    build_dir : str or os.PathLike
        Build folder of the stages (submissions, metrics, models, modalities.json).
    out_dir : str or os.PathLike, default="reports"
        Where README.md and figures/ go; ``bench.json`` is read from here.
    split : str, optional
        The split to report on; default: the one ``BUILD/submission.json`` names, else ``"test"``.
    timeline_id : str, optional
        The recording of the timeline figure; default: chosen by
        :func:`choose_timeline_recording`.
    n_jobs : int, default=1
        Threads reading the test recordings.
    progress : bool, default=False
        Show a progress bar while reading.
    command : str, optional
        The command line to print in the README; default: this process's arguments.

    Returns
    -------
    dict
        ``readme`` (path), ``figures`` (name -> path), ``missing`` (list of str), ``scores``
        (system -> WA/UA, for the systems that could be scored).
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    inputs = _collect(data_dir, build_dir, out_dir, split, n_jobs, progress)
    figures = {
        "confusion": figure_confusion(inputs, out_dir),
        "recall": figure_recall(inputs, out_dir),
        "modalities": figure_modalities(inputs, out_dir),
        "missing": figure_missing(inputs, out_dir),
    }
    figures["timeline"], chosen = figure_timeline(inputs, out_dir, timeline_id)
    figures["importance"] = figure_importance(inputs, out_dir)
    figures["bench"] = figure_bench(inputs, out_dir)
    if inputs.bench is not None and (inputs.bench.get("scaling") or {}).get("points"):
        # redrawn from bench.json, so the figure follows the current drawing code
        figure_scaling(inputs.bench["scaling"], Path(out_dir) / "figures" / "bench_scaling.png")
    if command is None:
        command = "emo-gbm " + " ".join(sys.argv[1:]) if Path(sys.argv[0]).name == "emo-gbm" else " ".join(sys.argv)
    readme = _write_readme(inputs, out_dir, _captions(inputs, chosen), command,
                           time.perf_counter() - started)
    scores = {key: {"WA": m.scores["WA"], "UA": m.scores["UA"]} for key, m in inputs.models.items() if m.available}
    return {"readme": readme, "figures": figures, "missing": inputs.missing, "scores": scores}
