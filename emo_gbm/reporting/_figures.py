"""The figures of the scored frames: confusion, recall, modality table, accuracy against missing data."""

import numpy as np

from emo_gbm.constants import AGREEMENT_THRESHOLD, EMOTIONS, MODALITIES, N_CLASSES
from emo_gbm.metrics import scored_frames
from emo_gbm.reporting._inputs import neighbourhood_missing
from emo_gbm.reporting._style import (
    MISSING_BINS,
    MODEL_COLOURS,
    _figure,
    _model_label,
    _modality_rows,
    _not_run,
    _published,
    _save,
    condition_title,
)


def figure_confusion(inputs, out_dir):
    """Row-normalised confusion matrices of the two systems, side by side.

    Parameters
    ----------
    inputs : object
        What the report read (built by :func:`write_report` from the build and data folders).
    out_dir : str or os.PathLike
        Report folder; the figure goes to ``OUT/figures/``.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    plt, fig = _figure("confusion")
    axes = fig.subplots(1, len(inputs.models))
    image = None
    for ax, model in zip(np.atleast_1d(axes), inputs.models.values()):
        if not model.available:
            ax.set_title(model.title)
            _not_run(ax, f"{model.title}: {model.problem or 'no answers to score'}")
            continue
        counts = model.scores["confusion"].astype(np.float64)
        support = counts.sum(axis=1, keepdims=True)
        normalised = np.divide(counts, support, out=np.full_like(counts, np.nan), where=support > 0)
        image = ax.imshow(normalised, vmin=0, vmax=1, cmap="Blues")
        for i in range(N_CLASSES):
            for j in range(N_CLASSES):
                if np.isfinite(normalised[i, j]):
                    ax.text(j, i, f"{normalised[i, j]:.2f}", ha="center", va="center", fontsize=8,
                            color="white" if normalised[i, j] > 0.6 else "black")
        ax.set_xticks(range(N_CLASSES), EMOTIONS, rotation=45, ha="right")
        ax.set_yticks(range(N_CLASSES), [f"{e} ({int(s)})" for e, s in zip(EMOTIONS, support[:, 0])])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true (scored frames)")
        ax.set_title(_model_label(model), fontsize=10)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label="share of the true class")
    fig.suptitle(f"Confusion on {inputs.split}, frames with agreement > {AGREEMENT_THRESHOLD}, rows sum to 1")
    return _save(plt, fig, out_dir, "confusion")


def figure_recall(inputs, out_dir):
    """Per-class recall of both systems as grouped bars.

    Parameters
    ----------
    inputs : object
        What the report read (built by :func:`write_report` from the build and data folders).
    out_dir : str or os.PathLike
        Report folder; the figure goes to ``OUT/figures/``.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    plt, fig = _figure("recall")
    ax = fig.subplots()
    available = [m for m in inputs.models.values() if m.available]
    if not available:
        _not_run(ax, "no system scored (not run or no answers)")
    else:
        from matplotlib.patches import Patch

        width = 0.8 / len(inputs.models)
        x = np.arange(N_CLASSES)
        absent = []
        for k, model in enumerate(inputs.models.values()):
            offset = (k - (len(inputs.models) - 1) / 2) * width
            if not model.available:
                # the legend says the system is missing; its slot stays empty
                absent.append(Patch(facecolor="#eeeeee", edgecolor="#999999",
                                    label=f"{model.title}: {model.problem or 'not scored'}"))
                continue
            recall = [model.scores["recall"][e] if model.scores["recall"][e] is not None else np.nan for e in EMOTIONS]
            bars = ax.bar(x + offset, recall, width, label=_model_label(model), color=MODEL_COLOURS[model.key])
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
            ax.axhline(model.scores["UA"], color=MODEL_COLOURS[model.key], ls="--", lw=1)
        ax.set_xticks(x, EMOTIONS)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("recall (dashed: UA = mean recall)")
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=handles + absent, loc="upper right", fontsize=8)
    ax.set_title(f"Per-class recall on {inputs.split} (frames with agreement > {AGREEMENT_THRESHOLD})")
    return _save(plt, fig, out_dir, "recall")


def figure_modalities(inputs, out_dir):
    """WA per modality condition: stack (deleted at test / trained on the condition's modalities), BiLSTM,
    published.

    Parameters
    ----------
    inputs : object
        What the report read (built by :func:`write_report` from the build and data folders).
    out_dir : str or os.PathLike
        Report folder; the figure goes to ``OUT/figures/``.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    plt, fig = _figure("modalities")
    ax = fig.subplots()
    if inputs.modality_table is None:
        _not_run(ax, "modality table not run\n(emo-gbm modalities --data DATA --build BUILD)")
        ax.set_title("WA with modalities deleted")
        return _save(plt, fig, out_dir, "modalities")
    rows = _modality_rows(inputs.modality_table)
    series = [
        ("stack", f"{inputs.modality_table.get('pipeline', 'stacked_gbm')}, trained on all four, others deleted "
                  "at test", MODEL_COLOURS["stack"]),
        ("trained", "trained on these modalities only (the stack on three; one LightGBM alone)",
         MODEL_COLOURS["trained"]),
        ("baseline", "BiLSTM baseline, others deleted at test", MODEL_COLOURS["bilstm"]),
        ("baseline_trained", "BiLSTM baseline trained alone", MODEL_COLOURS["bilstm_trained"]),
        ("published", "challenge BiLSTM baseline, published (real data)", MODEL_COLOURS["published"]),
    ]
    values = {key: [] for key, _, _ in series}
    for row in rows:
        values["stack"].append((row.get("stack") or {}).get("WA"))
        values["trained"].append((row.get("trained") or {}).get("WA"))
        values["baseline"].append((row.get("baseline") or {}).get("WA"))
        values["baseline_trained"].append((row.get("baseline_trained") or {}).get("WA"))
        values["published"].append(_published(row["condition"]))
    shown = [s for s in series if any(v is not None for v in values[s[0]])]
    height = 0.8 / max(len(shown), 1)
    y = np.arange(len(rows))
    for k, (key, label, colour) in enumerate(shown):
        v = np.array([np.nan if x is None else x for x in values[key]], dtype=float)
        bars = ax.barh(y + (k - (len(shown) - 1) / 2) * height, v, height, label=label, color=colour)
        ax.bar_label(bars, labels=["" if np.isnan(x) else f"{x:.3f}" for x in v], fontsize=7, padding=2)
    ax.set_yticks(y, [condition_title(r["condition"]) for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"WA on {inputs.modality_table.get('split', inputs.split)} (frames with agreement > "
                  f"{AGREEMENT_THRESHOLD})")
    ax.axhline(len([r for r in rows if not r["condition"].startswith("only_")]) - 0.5, color="#999999", lw=0.8)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, fontsize=8, frameon=False)
    ax.set_title("Modalities deleted on the whole test set, against the challenge's published figures")
    return _save(plt, fig, out_dir, "modalities")


def _frame_arrays(inputs):
    """Concatenated per-frame arrays over the test recordings (for the scored-frame figures)."""
    order = sorted(inputs.frames)
    f = inputs.frames
    labels = np.concatenate([f[r]["labels"] for r in order])
    agreement = np.concatenate([f[r]["agreement"] for r in order])
    present = np.concatenate([f[r]["present"] for r in order])
    missing = np.concatenate([neighbourhood_missing(f[r]["present"]) for r in order])
    predictions = {
        key: np.concatenate([m.predictions[r] for r in order]) for key, m in inputs.models.items() if m.available
    }
    return labels, agreement, present, missing, predictions


def missing_accuracy(labels, agreement, group, predictions, n_groups):
    """Accuracy and scored-frame count of each group of frames (groups 0..n_groups-1).

    Parameters
    ----------
    labels, predictions : ndarray of shape (n_frames,), int
        True and predicted classes.
    agreement : ndarray of shape (n_frames,)
        Annotator agreement; only scored frames count.
    group : ndarray of shape (n_frames,), int
        Group of each frame.
    n_groups : int

    Returns
    -------
    accuracy : ndarray of shape (n_groups,)
        NaN for a group without a scored frame.
    counts : ndarray of shape (n_groups,), int
        Scored frames per group.

    Examples
    --------
    >>> import numpy as np
    >>> acc, n = missing_accuracy(np.array([0, 1, 1]), np.ones(3), np.array([0, 0, 1]), np.array([0, 0, 1]), 2)
    >>> acc.tolist(), n.tolist()
    ([0.5, 1.0], [2, 1])
    """
    scored = scored_frames(agreement)
    counts = np.bincount(group[scored], minlength=n_groups)
    hits = np.bincount(group[scored], weights=(predictions == labels)[scored], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
    return accuracy, counts


def figure_missing(inputs, out_dir):
    """Accuracy against the missing share around each frame, and against present modalities.

    Parameters
    ----------
    inputs : object
        What the report read (built by :func:`write_report` from the build and data folders).
    out_dir : str or os.PathLike
        Report folder; the figure goes to ``OUT/figures/``.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    plt, fig = _figure("missing")
    left, right = fig.subplots(1, 2)
    if not any(m.available for m in inputs.models.values()):
        _not_run(left, "no system scored")
        _not_run(right, "no system scored")
        return _save(plt, fig, out_dir, "missing")
    labels, agreement, present, missing, predictions = _frame_arrays(inputs)
    n_bins = len(MISSING_BINS) - 1
    bins = np.clip(np.digitize(missing, MISSING_BINS) - 1, 0, n_bins - 1)
    n_present = present.sum(axis=1)
    bin_names = ["0"] + [f"{MISSING_BINS[i]:.1f}-{MISSING_BINS[i + 1]:.1f}" for i in range(1, n_bins - 1)] + ["1"]
    bin_names[1] = f"0-{MISSING_BINS[2]:.1f}"
    bin_names[-2] = f"{MISSING_BINS[-3]:.1f}-1"
    for ax, group, n_groups, names, xlabel in (
        (left, bins, n_bins, bin_names, "share of (modality, frame) cells missing within +-2 s of the frame"),
        (right, n_present, len(MODALITIES) + 1, [str(k) for k in range(len(MODALITIES) + 1)],
         "modalities present at the frame"),
    ):
        counts = None
        for key, model in inputs.models.items():
            if key not in predictions:
                continue
            accuracy, counts = missing_accuracy(labels, agreement, group, predictions[key], n_groups)
            ax.plot(range(n_groups), accuracy, marker="o", color=MODEL_COLOURS[key], label=model.title)
        share = counts / max(counts.sum(), 1)
        twin = ax.twinx()
        bars = twin.bar(range(n_groups), share, color="#dddddd", zorder=0)
        twin.bar_label(bars, labels=[f"{c / 1000:.0f}k" if c >= 1000 else (str(c) if c else "") for c in counts],
                       fontsize=7, color="#888888")
        # bars in the lower third, under the accuracy curves; their counts are written on them
        twin.set_ylim(0, max(share.max() * 3, 0.01))
        twin.set_yticks([])
        twin.set_ylabel("scored frames per group (grey bars)", color="#888888")
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.set_xticks(range(n_groups), names, rotation=45 if n_groups > 6 else 0, fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel("accuracy on scored frames")
        ax.legend(loc="upper right", fontsize=8)
    left.set_title("Accuracy against missing data around the frame", fontsize=10)
    right.set_title("Accuracy against modalities present", fontsize=10)
    return _save(plt, fig, out_dir, "missing")
