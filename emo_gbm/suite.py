"""The suite: the reference and the default pipeline on every synthetic world and on real speech.

A model change counts only when it holds across datasets built on different hypotheses about
how emotion shows in the features (:data:`emo_gbm.data.synth.WORLDS`) and on real data (EmoDB in
the challenge layout). :func:`run_suite` generates each world at a reduced scale, trains every
named pipeline on its train split, scores each test split once, and writes
``reports/suite.json``, ``reports/suite.md`` and ``reports/figures/suite.png``.

Besides the test scores, each entry keeps the train split's out-of-fold frame WA of every
pipeline (``oof_WA``: grouped cross-validation over actors, the score the pipeline's own
smoother choice is made on), which is what model selection may look at; the test splits are
for reporting only.

The ceiling ``oracle_WA`` is the 4 s window oracle: every test window (the prediction hop)
predicts the agreement-weighted majority of its true frame labels, and frames take the argmax
of the overlap-added one-hot window labels. No model of fixed 4 s windows can do better.
"""

import json
import time
from pathlib import Path

import numpy as np

from emo_gbm.constants import ANSWERS_DIR, EMOTIONS, TEMPLATES_DIR
from emo_gbm.metrics import score_recordings
from emo_gbm.pipelines import WINDOW_LENGTH
from emo_gbm.smoothing import overlap_add
from emo_gbm.features import window_labels, window_starts
from emo_gbm.workflow import PREDICT_HOP, model_path, load_model, make_features, predict, train

#: Scale of each generated world (1 = the challenge's 312 / 143 / 126 recordings): 0.2 keeps
#: the whole suite within about 30 minutes on 2 cores.
SUITE_SCALE = 0.2

#: The pipelines the suite trains: the plain reference first, then the default.
SUITE_PIPELINES = ("reference", "stacked_gbm")

SUITE_JSON, SUITE_MD, SUITE_FIGURE = "suite.json", "suite.md", "figures/suite.png"


def window_oracle(labels, agreement, length, hop):
    """Frame labels of the fixed-window oracle of one recording.

    Each window of ``length`` frames (starts every ``hop``, the last aligned to the end)
    predicts the agreement-weighted majority of its true frame labels; each frame takes the
    argmax of the overlap-added one-hot labels of the windows covering it.

    Parameters
    ----------
    labels : ndarray of shape (n_frames,), int
    agreement : ndarray of shape (n_frames,)
    length, hop : int
        Window length and hop in frames.

    Returns
    -------
    oracle : ndarray of shape (n_frames,), int8

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0] * 300 + [1] * 500)
    >>> oracle = window_oracle(labels, np.ones(800), 400, 100)
    >>> int((oracle == labels).sum()), oracle.size
    (700, 800)
    """
    n_frames = len(labels)
    starts = window_starts(n_frames, length, hop)
    stops = np.minimum(starts + length, n_frames)
    majority, _ = window_labels(labels, agreement, starts, stops)
    one_hot = np.eye(len(EMOTIONS))[majority]
    return overlap_add(one_hot, starts, stops, n_frames).argmax(axis=1).astype(np.int8)


def _answers(data_dir, split):
    """Recording id -> (labels, agreement) of every template of ``split`` with an answer file."""
    from emo_gbm.data.io import csv_files, read_labels

    answers = Path(data_dir) / ANSWERS_DIR / split
    truths = {}
    for rec_id, template in csv_files(Path(data_dir) / split / TEMPLATES_DIR).items():
        _, labels, agreement = read_labels(answers / template.name)
        truths[rec_id] = (labels, agreement)
    return truths


def oracle_scores(truths):
    """WA / UA of the 4 s window oracle (:func:`window_oracle`) on a split's answers.

    ``truths``: recording id -> (labels, agreement). Windows have the pipelines' length and the
    prediction hop of the test splits.
    """
    predictions = {r: window_oracle(labels, agreement, WINDOW_LENGTH, PREDICT_HOP) for r, (labels, agreement)
                   in truths.items()}
    return score_recordings(predictions, truths)


def suite_datasets(data_root, emodb=None, worlds=None):
    """The datasets of the suite: (name, kind, path, world or None) for every world, then EmoDB.

    EmoDB is included when ``emodb`` names a folder holding ``train/``; otherwise it is left
    out (and :func:`run_suite` says so in its report).
    """
    from emo_gbm.data.synth import WORLDS

    names = list(WORLDS) if worlds is None else list(worlds)
    unknown = sorted(set(names) - set(WORLDS))
    if unknown:
        raise ValueError(f"unknown worlds {unknown}; known: {', '.join(WORLDS)}")
    datasets = [(name, "synthetic", Path(data_root) / name, name) for name in names]
    if emodb is not None and (Path(emodb) / "train").is_dir():
        datasets.append(("emodb", "real", Path(emodb), None))
    return datasets


def _generated(path, world, seed, scale):
    """Whether ``path`` already holds the world generated with this seed and scale."""
    info = Path(path) / "synth.json"
    if not info.is_file():
        return False
    written = json.loads(info.read_text())
    return (written.get("world"), written.get("seed"), written.get("scale")) == (world, seed, scale)


def _reused(build_dir, pipeline):
    """A model of ``pipeline`` that an earlier suite run trained on the current features, and
    its train time; (None, None) when there is none (or the features are newer)."""
    path = model_path(build_dir, pipeline)
    info = path.with_suffix(".suite.json")
    features = Path(build_dir) / "features" / "train.parquet"
    if not (path.is_file() and info.is_file()) or path.stat().st_mtime_ns < features.stat().st_mtime_ns:
        return None, None
    return path, json.loads(info.read_text())["train_s"]


def evaluate_dataset(name, kind, data_dir, build_dir, pipelines, seed=0, n_jobs=1, say=print, reuse=False):
    """Features, then train and score every pipeline on one dataset; one entry of ``suite.json``.

    With ``reuse``, the features of an earlier run are kept and a model that such a run trained
    on them is scored again instead of retrained (its train time is the earlier run's); meant
    for adding a pipeline to a finished suite, never for a change of the code under a model."""
    import warnings

    # joblib's note that nested workers run sequentially, not a bad-input warning
    warnings.filterwarnings("ignore", message=".*n_jobs=1.*", category=UserWarning)
    entry = {"name": name, "kind": kind, "data": str(data_dir), "pipelines": {}}
    started = time.perf_counter()
    cached = all((Path(build_dir) / "features" / f"{split}.parquet").is_file() for split in ("train", "test"))
    if not (reuse and cached):
        make_features(data_dir, build_dir, splits=("train", "test"), n_jobs=n_jobs)
    entry["features_s"] = round(time.perf_counter() - started, 1)
    truths = _answers(data_dir, "test")
    for pipeline in pipelines:
        path, train_s = _reused(build_dir, pipeline) if reuse else (None, None)
        if path is None:
            started = time.perf_counter()
            path = train(build_dir, pipeline, n_jobs=n_jobs, seed=seed)
            train_s = time.perf_counter() - started
            path.with_suffix(".suite.json").write_text(json.dumps({"train_s": train_s}) + "\n")
        model = load_model(path)
        scores = score_recordings(predict(build_dir, "test", pipeline, n_jobs=n_jobs), truths)
        entry["pipelines"][pipeline] = {
            "WA": scores["WA"], "UA": scores["UA"], "train_s": round(train_s, 1),
            "oof_WA": model.smoothing_scores_[model.smoothing_], "smoothing": model.smoothing_,
        }
        say(f"{name}: {pipeline} WA {scores['WA']:.4f} UA {scores['UA']:.4f} "
            f"(train out-of-fold {entry['pipelines'][pipeline]['oof_WA']:.4f}), trained in {train_s:.0f} s")
    oracle = oracle_scores(truths)
    entry.update(oracle_WA=oracle["WA"], oracle_UA=oracle["UA"], scored_frames=oracle["frames"],
                 test_recordings=oracle["recordings"])
    return entry


def _flatten(entry, default):
    """The required keys of a ``suite.json`` world: the reference's and the default's scores."""
    ref, main = entry["pipelines"]["reference"], entry["pipelines"][default]
    entry.update(
        reference_WA=ref["WA"], reference_UA=ref["UA"], WA=main["WA"], UA=main["UA"], train_s=main["train_s"],
        reference_oof_WA=ref["oof_WA"], oof_WA=main["oof_WA"], margin=main["WA"] - ref["WA"],
        oof_margin=main["oof_WA"] - ref["oof_WA"], oracle_gap=entry["oracle_WA"] - main["WA"],
    )
    return entry


def _run_dataset(name, kind, path, world, build_root, pipelines, scale, seed, n_jobs, say, reuse):
    from emo_gbm.data.synth import generate

    if world is not None and not _generated(path, world, seed, scale):
        say(f"{name}: generating (scale {scale:g}, seed {seed})")
        generate(path, seed=seed, scale=scale, n_jobs=n_jobs, world=world)
    return evaluate_dataset(name, kind, path, Path(build_root) / name, pipelines, seed, n_jobs, say, reuse)


def run_suite(data_root="data/worlds", build_root="build/suite", out_dir="reports", emodb=None,
              pipelines=SUITE_PIPELINES, worlds=None, scale=SUITE_SCALE, seed=0, n_jobs=1, command=None,
              say=print, parallel_datasets=1, reuse=False):
    """Generate every world, train and score ``pipelines`` on each dataset, write the reports.

    Parameters
    ----------
    data_root : path
        Where the worlds are generated (``DATA_ROOT/<world>``); a world already there with the
        same seed and scale (its ``synth.json``) is reused.
    build_root : path
        Features and models of each dataset go to ``BUILD_ROOT/<name>``.
    out_dir : path
        ``suite.json``, ``suite.md`` and ``figures/suite.png`` are written here.
    emodb : path or None
        EmoDB in the challenge layout; left out (with a note) when None or absent.
    pipelines : sequence of str
        ``"reference"`` first, then the default pipeline, then any others to compare.
    worlds : sequence of str or None
        Names of :data:`emo_gbm.data.synth.WORLDS`; None: all.
    scale : float
    seed : int
        Seed of the generated data and of training.
    n_jobs : int
        Workers in all; with ``parallel_datasets`` > 1 they are shared among the datasets.
    command : str or None
        The command line, recorded in the report.
    parallel_datasets : int, default=1
        Datasets processed at once (each in its own process); results do not depend on it,
        train times do (each dataset then has ``n_jobs // parallel_datasets`` workers).
    reuse : bool, default=False
        Keep an earlier run's features and the models it trained on them (see
        :func:`evaluate_dataset`).

    Returns
    -------
    dict
        The content of ``suite.json``.
    """
    from joblib import Parallel, delayed

    pipelines = list(pipelines)
    if pipelines[:1] != ["reference"] or len(pipelines) < 2:
        raise ValueError(f"pipelines must start with 'reference' and name the default next, got {pipelines}")
    started = time.perf_counter()
    datasets = suite_datasets(data_root, emodb, worlds)
    inner_jobs = max(1, n_jobs // parallel_datasets)
    entries = Parallel(n_jobs=parallel_datasets)(
        delayed(_run_dataset)(name, kind, path, world, build_root, pipelines, scale, seed, inner_jobs, say, reuse)
        for name, kind, path, world in datasets
    )
    result = {
        "command": command,
        "scale": scale,
        "seed": seed,
        "n_jobs": n_jobs,
        "parallel_datasets": parallel_datasets,
        "reuse": reuse,
        "emodb": None if emodb is None or not (Path(emodb) / "train").is_dir() else str(emodb),
        "seconds": round(time.perf_counter() - started, 1),
        "worlds": entries,
    }
    return write_suite(result, pipelines[1], out_dir, emodb)


def write_suite(result, default, out_dir="reports", emodb=None):
    """Name ``default`` the default pipeline of ``result`` and write ``suite.json``, ``suite.md``
    and the figure (also used to re-write a finished run's report for another default)."""
    result["default"] = default
    entries = [_flatten(entry, default) for entry in result["worlds"]]
    margins = [e["margin"] for e in entries]
    result["summary"] = {
        "mean_margin": float(np.mean(margins)),
        "min_margin": float(np.min(margins)),
        "mean_oof_margin": float(np.mean([e["oof_margin"] for e in entries])),
        "min_oof_margin": float(np.min([e["oof_margin"] for e in entries])),
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / SUITE_JSON).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    figure_suite(result, out_dir / SUITE_FIGURE)
    (out_dir / SUITE_MD).write_text(suite_markdown(result, emodb), encoding="utf-8")
    return result


def suite_markdown(result, emodb=None):
    """``reports/suite.md``: one row per dataset, then the margins and the other pipelines."""
    default = result["default"]
    lines = [
        "# The suite: reference and default on every world and on real speech",
        "",
        f"Produced by `{result['command']}` in {result['seconds'] / 60:.1f} min "
        f"(synthetic worlds at scale {result['scale']:g}, seed {result['seed']}; public test split of each dataset, "
        "scored once; frames with agreement > 0.6).",
        "",
        f"`reference`: one LightGBM on window mean, std, min, max, mean absolute difference and missing fraction, "
        f"window posteriors averaged per frame. `{default}`: the default pipeline. Oracle: every 4 s window "
        "predicts the majority of its true labels (the ceiling of fixed-window models). Out-of-fold (OOF): "
        "frame WA on the train split by grouped cross-validation, what model selection looks at.",
        "",
        "| dataset | kind | reference WA | default WA | margin | reference UA | default UA | oracle WA | "
        "gap to oracle | OOF reference | OOF default | default train (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in result["worlds"]:
        lines.append(
            f"| {e['name']} | {e['kind']} | {e['reference_WA']:.4f} | **{e['WA']:.4f}** | {e['margin']:+.4f} | "
            f"{e['reference_UA']:.4f} | {e['UA']:.4f} | {e['oracle_WA']:.4f} | {e['oracle_gap']:.4f} | "
            f"{e['reference_oof_WA']:.4f} | {e['oof_WA']:.4f} | {e['train_s']:.0f} |"
        )
    s = result["summary"]
    lines += [
        "",
        f"Margin of `{default}` over the reference on the test splits: mean {s['mean_margin']:+.4f}, "
        f"smallest {s['min_margin']:+.4f}; out of fold on the train splits: mean {s['mean_oof_margin']:+.4f}, "
        f"smallest {s['min_oof_margin']:+.4f}.",
    ]
    if result["emodb"] is None:
        lines += ["", f"EmoDB was not found ({emodb}); the real-speech row is missing from this run."]
    others = [p for p in result["worlds"][0]["pipelines"] if p not in ("reference", default)]
    if others:
        lines += ["", "## Other pipelines (test WA / out-of-fold WA)", "",
                  "| dataset | " + " | ".join(others) + " |", "| --- |" + " --- |" * len(others)]
        for e in result["worlds"]:
            cells = [f"{e['pipelines'][p]['WA']:.4f} / {e['pipelines'][p]['oof_WA']:.4f}" for p in others]
            lines.append(f"| {e['name']} | " + " | ".join(cells) + " |")
    lines += ["", "![suite](figures/suite.png)", ""]
    return "\n".join(lines)


def figure_suite(result, path):
    """Bar chart per dataset: reference, default and oracle WA on the test split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = result["worlds"]
    x = np.arange(len(entries))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(entries) + 2), 4.0), dpi=100, layout="constrained")
    bars = (("reference_WA", "reference", "#bbbbbb"), ("WA", result["default"], "#2ca02c"),
            ("oracle_WA", "4 s window oracle", "#1f77b4"))
    for k, (key, label, colour) in enumerate(bars):
        values = [e[key] for e in entries]
        ax.bar(x + (k - 1) * 0.27, values, 0.27, label=label, color=colour)
        for xi, v in zip(x + (k - 1) * 0.27, values):
            ax.text(xi, v + 0.01, f"{v:.2f}", ha="center", fontsize=7)
    ax.set_xticks(x, [f"{e['name']}\n({e['kind']})" for e in entries], fontsize=8)
    ax.set_ylabel("WA, public test")
    ax.set_ylim(0, 1.2)
    ax.legend(loc="upper center", fontsize=8, ncol=3, frameon=False)
    ax.set_title("Reference, default and the fixed-window oracle on each dataset of the suite")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
