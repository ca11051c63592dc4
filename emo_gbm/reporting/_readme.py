"""The report's README: headline, comparisons, tables and captions, in markdown."""

import datetime as _dt
import os
import platform
from pathlib import Path

from emo_gbm.constants import AGREEMENT_THRESHOLD, MODALITIES
from emo_gbm.reporting._bench import _bench_markdown
from emo_gbm.reporting._style import (
    DELETION_GAP_TARGET,
    FIGURES,
    MARGIN_TARGETS,
    MODALITY_TITLES,
    PUBLISHED_WA,
    _modality_rows,
    _published,
    condition_title,
)


def _fmt(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def _headline(inputs):
    lines = ["| system | WA | UA | scored frames | source |", "| --- | --- | --- | --- | --- |"]
    for model in inputs.models.values():
        if model.metrics is not None:
            lines.append(f"| {model.title} | {model.metrics['WA']:.4f} | {model.metrics['UA']:.4f} | "
                         f"{model.metrics.get('frames', '-')} | metrics.json |")
        elif model.available:
            lines.append(f"| {model.title} | {model.scores['WA']:.4f} | {model.scores['UA']:.4f} | "
                         f"{model.scores['frames']} | recomputed from the submission |")
        else:
            lines.append(f"| {model.title} | not run | | | |")
    lines.append(f"| challenge BiLSTM baseline, published (real data) | {PUBLISHED_WA['all']:.3f} | | | "
                 "DATA_FORMAT.md |")
    checks = []
    for model in inputs.models.values():
        if model.metrics is not None and model.available and abs(model.metrics["WA"] - model.scores["WA"]) > 1e-9:
            checks.append(f"Note: {model.title}'s metrics.json (WA {model.metrics['WA']:.4f}) differs from the "
                          f"score of its submission folder (WA {model.scores['WA']:.4f}); one of them is stale.")
    return "\n".join(lines + ([""] + checks if checks else []))


def _modality_markdown(table):
    rows = _modality_rows(table)
    lines = ["| condition | stack: deleted at test (WA / UA) | GBM trained on these modalities only (WA / UA) | "
             "BiLSTM: deleted at test (WA / UA) | BiLSTM trained alone (WA / UA) | published BiLSTM (real data, WA) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        cells = []
        for key in ("stack", "trained", "baseline", "baseline_trained"):
            result = row.get(key)
            cells.append(f"{result['WA']:.3f} / {result['UA']:.3f}" if result else "-")
        published = _published(row["condition"])
        lines.append(f"| {condition_title(row['condition'])} | " + " | ".join(cells) +
                     f" | {_fmt(published, 3)} |")
    return "\n".join(lines)


def comparison_rows(table):
    """The stack's margins, and what deleting each modality at test costs against a stack
    trained without it, each with its target.

    Parameters
    ----------
    table : dict
        The content of ``BUILD/modalities.json``.

    Returns
    -------
    list of dict
        ``what``, ``stack`` (WA of the stack: all modalities, or the one deleted at test),
        ``other`` (WA), ``value`` (margin, or the trained-without stack's WA minus the
        deleted one's), ``target`` and ``kind`` ("margin": value must be >= target; "drop":
        value must be <= target).

    Examples
    --------
    >>> table = {"conditions": [
    ...     {"condition": "all", "stack": {"WA": 0.60}},
    ...     {"condition": "without_audio", "stack": {"WA": 0.57}, "trained": {"WA": 0.575}},
    ...     {"condition": "only_audio", "trained": {"WA": 0.40}}],
    ...     "smoothing": {"argmax": {"WA": 0.58}, "viterbi": {"WA": 0.60}},
    ...     "early_fusion": {"WA": 0.59}}
    >>> [(r["what"], round(r["value"], 3), r["target"]) for r in comparison_rows(table)]
    [('over early fusion', 0.01, 0.02), ('over the best single modality (audio)', 0.2, 0.05), ('smoother over per-window argmax', 0.02, 0.01), ('audio deleted at test, against a stack trained without it', 0.005, 0.01)]
    """
    rows = {row["condition"]: row for row in table.get("conditions", [])}
    if "all" not in rows or not rows["all"].get("stack"):
        return []
    stack = rows["all"]["stack"]["WA"]
    out = []

    def add(what, other, value, target, kind, mine=stack):
        out.append({"what": what, "stack": mine, "other": other, "value": value, "target": target, "kind": kind})

    fusion = table.get("early_fusion")
    if fusion:
        add("over early fusion", fusion["WA"], stack - fusion["WA"], MARGIN_TARGETS["early_fusion"], "margin")
    singles = {m: rows[f"only_{m}"]["trained"]["WA"] for m in MODALITIES
               if (rows.get(f"only_{m}") or {}).get("trained")}
    if singles:
        best = max(singles, key=singles.get)
        add(f"over the best single modality ({MODALITY_TITLES.get(best, best)})", singles[best],
            stack - singles[best], MARGIN_TARGETS["single"], "margin")
    argmax = (table.get("smoothing") or {}).get("argmax")
    if argmax:
        add("smoother over per-window argmax", argmax["WA"], stack - argmax["WA"], MARGIN_TARGETS["smoother"], "margin")
    for m in MODALITIES:
        row = rows.get(f"without_{m}") or {}
        deleted, trained = row.get("stack"), row.get("trained")
        if deleted and trained:
            add(f"{MODALITY_TITLES.get(m, m)} deleted at test, against a stack trained without it", trained["WA"],
                trained["WA"] - deleted["WA"], DELETION_GAP_TARGET, "drop", mine=deleted["WA"])
    return out


def _comparison_markdown(table):
    lines = ["| comparison | stack WA | other WA | difference | target | met |", "| --- | --- | --- | --- | --- | --- |"]
    for row in comparison_rows(table):
        met = row["value"] >= row["target"] if row["kind"] == "margin" else row["value"] <= row["target"]
        bound = ">=" if row["kind"] == "margin" else "<="
        lines.append(f"| {row['what']} | {row['stack']:.4f} | {row['other']:.4f} | {row['value']:+.4f} | "
                     f"{bound} {row['target']:.2f} | {'yes' if met else 'no'} |")
    return "\n".join(lines)


def _versus_markdown(inputs):
    """The stack and the BiLSTM baseline side by side: scores, time and memory (None without both)."""
    stack, bilstm = inputs.models["stack"], inputs.models["bilstm"]
    if stack.metrics is None or bilstm.metrics is None:
        return None
    b = bilstm.metrics
    stages = (inputs.bench or {}).get("stages") or {}
    features, train, predict = (stages.get(name) or {} for name in ("features", "train", "submission"))
    stack_peak = max(s.get("median_peak_tree_rss_mb", 0) for s in (features, train, predict)) or None
    # like the BiLSTM's, the stack's training time includes reading the CSVs (its features stage)
    stack_train = (features["median_seconds"] + train["median_seconds"]
                   if "median_seconds" in features and "median_seconds" in train else None)
    lines = ["| model | WA | UA | train s | predict s (test split) | peak memory MB | source of times |",
             "| --- | --- | --- | --- | --- | --- | --- |",
             f"| {stack.title} | {stack.metrics['WA']:.4f} | {stack.metrics['UA']:.4f} | "
             f"{_fmt(stack_train, 1)} | {_fmt(predict.get('median_seconds'), 1)} | "
             f"{_fmt(stack_peak, 0)} | `make bench` medians: features (train and test CSVs) + train; submission |",
             f"| {bilstm.title} ({b.get('hidden_size', '?')} units, {b.get('epochs', '?')} epochs, best "
             f"{b.get('best_epoch', '?')}) | {b['WA']:.4f} | {b['UA']:.4f} | {_fmt(b.get('train_seconds'), 1)} | "
             f"{_fmt(b.get('predict_seconds'), 1)} | {_fmt(b.get('peak_rss_mb'), 0)} | one `make baseline` run, "
             f"--n-jobs {b.get('n_jobs', '?')}; train includes reading the CSVs, predict includes reading test |"]
    if b.get("median_epoch_seconds") is not None:
        lines += ["", f"BiLSTM: {b['median_epoch_seconds']:.1f} s per epoch (median), early stopping on held-out actors."]
    return "\n".join(lines)


def _write_readme(inputs, out_dir, captions, command, seconds):
    stack, bilstm = inputs.models["stack"], inputs.models["bilstm"]
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [
        "# Report",
        "",
        "Generated by",
        "",
        "```sh",
        command,
        "```",
        "",
        f"on {now} ({platform.node() or 'unknown host'}, {os.cpu_count()} cores, {seconds:.0f} s). Every number "
        "and figure below is computed from the files of the build and data folders named in the "
        "command; rerun the command to refresh it.",
        "",
        f"## Headline ({inputs.split}, frames with agreement > {AGREEMENT_THRESHOLD})",
        "",
        _headline(inputs),
        "",
        "The published figure is the challenge's own BiLSTM baseline on the real (proprietary) data, a "
        "guide to the difficulty of realistic data, not a score on this dataset.",
        "",
    ]
    if stack.available and bilstm.available:
        gap = stack.scores["WA"] - bilstm.scores["WA"]
        parts += [f"The {stack.title} is {abs(gap):.3f} WA {'above' if gap >= 0 else 'below'} the BiLSTM baseline "
                  "on the same frames.", ""]
    versus = _versus_markdown(inputs)
    if versus:
        parts += ["## The stack and the BiLSTM baseline", "", versus, ""]
    parts += ["## Figures", ""]
    for name, caption in captions.items():
        parts += [f"### {caption[0]}", "", f"![{caption[0]}](figures/{FIGURES[name][0]})", "", caption[1], ""]
    if inputs.modality_table is not None:
        parts += ["## Modality table", "", _modality_markdown(inputs.modality_table), "",
                  inputs.modality_table.get("method", ""), ""]
        if comparison_rows(inputs.modality_table):
            parts += ["## The stack against the alternatives", "",
                      "Public-test WA of the stack (all four modalities, its own smoother) against early fusion, the "
                      "best modality trained alone and the per-window argmax instead of the smoother; and, for each "
                      "modality deleted from the whole test set, the stack (its 'stack WA') against a stack trained "
                      "without that modality (its 'other WA'): what deleting costs beyond what the modality is worth. "
                      "All from the same `modalities.json`.", "",
                      _comparison_markdown(inputs.modality_table), ""]
    if inputs.bench is not None:
        parts += ["## Time and memory", "", f"From `{inputs.bench.get('command', 'make bench')}` "
                  "(details in [bench.md](bench.md)).", "", _bench_markdown(inputs.bench), ""]
        if Path(out_dir, "figures", "bench_scaling.png").is_file():
            parts += ["![time against dataset size](figures/bench_scaling.png)", "",
                      "Features and training time of the dataset at several sizes, log-log, with the fitted "
                      "slope (1 = linear); measured by the bench, drawn from bench.json.", ""]
    parts += ["## Missing inputs", ""]
    parts += [f"- {m}" for m in inputs.missing] if inputs.missing else ["Nothing: every input was found."]
    parts.append("")
    path = Path(out_dir) / "README.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    tmp.replace(path)
    return path


def _captions(inputs, timeline_id):
    stack, bilstm = inputs.models["stack"], inputs.models["bilstm"]

    def wa(model):
        return f"WA {model.scores['WA']:.3f}" if model.available else "not run"

    importance = inputs.importance
    top_modality = max(importance["by_modality"].items(), key=lambda kv: kv[1]) if importance else None
    return {
        "confusion": ("Confusion matrices",
                      f"Rows are the true class of the scored frames, normalised to 1; the diagonal is each class's "
                      f"recall. {stack.title} {wa(stack)} (left), {bilstm.title} {wa(bilstm)} (right)."),
        "recall": ("Per-class recall",
                   "Recall of each emotion for both systems; the dashed lines are their UA (mean recall). "
                   "A class a system never predicts shows as a bar at 0."),
        "modalities": ("Modality table",
                       "WA with modalities deleted from the whole test set (stack trained on all four), with a "
                       "pipeline trained on the remaining modalities only (the stack on three; each single-modality "
                       "pipeline alone), and the challenge's published BiLSTM figures on the real data (grey). "
                       "Lower block: one modality alone; upper: all, and all but one."),
        "missing": ("Accuracy against missing data",
                    "Left: accuracy of frames grouped by the share of modality cells missing within +-2 s (one "
                    "4 s window), 0 = all four present throughout; right: by the number of modalities present at "
                    "the frame. Grey bars: how many scored frames fall in each group."),
        "timeline": ("Timeline of one test recording",
                     f"Recording {timeline_id or '-'} (chosen: some modality comes and goes, accuracy near the "
                     "overall WA): true and predicted labels over time, where each system is right, the annotator "
                     "agreement (frames at or below 0.6 are not scored), and which modalities are present."),
        "importance": ("Gain importance",
                       "Total split gain of the stacked model's per-modality base models grouped by modality (left; "
                       "separate models, so a share is how much loss that modality's own model reduced), the "
                       "meta-learner's weight on each base model's posteriors (middle: how much the stack listens to "
                       "it), and gain by window statistic (right, summed over modalities and columns)"
                       + (f"; {MODALITY_TITLES.get(top_modality[0], top_modality[0])} has the largest gain share "
                          f"({top_modality[1]:.0%})." if top_modality else ".")),
        "bench": ("Time and memory",
                  "Median wall time and peak resident memory of each stage run as its own `emo-gbm` process, "
                  "with the issue's targets (features <= 60 s, train <= 5 min, submission <= 30 s, <= 4 GB)."),
    }
